"""Session store speed: events/s written (batched) and replay-open time of a big session.

    .venv/bin/python bench/store_bench.py [--write-events 200000] [--replay-events 1000000]

Aims (issue #4): >= 50,000 events/s written; a 1,000,000-event session opens in < 1 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sessions import events as ev
from sessions.replay import Replay
from sessions.store import Store

NODES = 20


def write_session(store: Store, count: int) -> tuple[str, float]:
    """A session of `count` events shaped like training logs; returns (id, events/s)."""
    sid = store.new_session(ev.SessionStarted(task="micro/1", model="bench", scaffold="flat", hints="none",
                                              mode="auto", start_time_s=100.0, target_time_s=80.0))
    per_node = max(1, (count - 1) // NODES)
    begin = time.perf_counter()
    written = 1
    for node in range(NODES):
        store.append(sid, ev.NodeCreated(node=node, parent=None if node == 0 else 0, stage="draft"))
        written += 1
        step = 0
        while written < min(count, 1 + (node + 1) * per_node) or (node == NODES - 1 and written < count):
            step += 1
            if step % 10:
                store.append(sid, ev.LogLines(node=node, lines=[f"step:{step}/5000 train_loss:3.2 train_time:{step}ms"]))
            else:
                store.append(sid, ev.Metric(node=node, step=step, val_loss=3.3, train_time_ms=step * 1.0))
            written += 1
    store.flush()
    return sid, (written - 1) / (time.perf_counter() - begin)


def time_replay(db: Path, sid: str) -> None:
    begin = time.perf_counter()
    replay = Replay(db, sid)
    total = len(replay)
    first = replay.event(0)
    opened = time.perf_counter() - begin
    print(f"replay open ({total:,} events, first event read): {opened * 1000:.1f} ms (aim < 1000 ms)")
    for label, action in [("seek to event N/2", lambda: replay.seek(total // 2)),
                          ("seek to node 15", lambda: replay.seek_node(15)),
                          ("state_at(1500)", lambda: replay.state_at(1500)),
                          ("state_at(1501) (step forward)", lambda: replay.state_at(1501)),
                          ("state_at(1499) (step back)", lambda: replay.state_at(1499)),
                          ("state_at(last) (a far jump to the end)", lambda: replay.state_at(total - 1)),
                          ("state_at(last - 1) (step back at the end)", lambda: replay.state_at(total - 2)),
                          ("state_at(N/2) (a far jump back)", lambda: replay.state_at(total // 2)),
                          ("state_at(N/2 - 1) (step back)", lambda: replay.state_at(total // 2 - 1))]:
        begin = time.perf_counter()
        action()
        print(f"{label}: {(time.perf_counter() - begin) * 1000:.1f} ms")
    assert first.kind == "session_started"
    replay.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-events", type=int, default=200_000)
    parser.add_argument("--replay-events", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="where to put the bench DBs (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        with Store(folder / "write.db") as store:
            _, rate = write_session(store, args.write_events)
        print(f"write: {rate:,.0f} events/s batched ({args.write_events:,} events; aim >= 50,000/s)")
        db = folder / "replay.db"
        print(f"building a {args.replay_events:,}-event session ...", flush=True)
        with Store(db) as store:
            sid, rate = write_session(store, args.replay_events)
        print(f"  (written at {rate:,.0f} events/s, {db.stat().st_size / 2**20:.0f} MiB)")
        time_replay(db, sid)


if __name__ == "__main__":
    main()
