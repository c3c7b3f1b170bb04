"""Replay against real SQLite files: exact round trip, seek, state at any point."""

import random

import pytest

from sessions import events as ev
from sessions.replay import Replay
from sessions.state import SessionState
from sessions.store import Store
from sessions_helpers import full_session, node_events


def test_replay_gives_back_exactly_the_events_written(tmp_path):
    with Store(tmp_path / "s.db") as store:
        sid, written = full_session(store)
    with Replay(tmp_path / "s.db", sid) as replay:
        assert len(replay) == len(written)
        assert list(replay.events()) == written
        assert list(replay.events(5, 9)) == written[5:9]


def test_seek_to_event_and_to_node(tmp_path):
    with Store(tmp_path / "s.db") as store:
        sid, written = full_session(store)
    with Replay(tmp_path / "s.db", sid[:4]) as replay:
        assert replay.session_id == sid
        assert replay.seek(12) == written[12]
        assert replay.position == 12
        seq = replay.seek_node(2)
        assert written[seq].kind == "node_created" and written[seq].node == 2
        assert all(e.node != 2 for e in written[:seq])
        assert replay.seek(10_000) == written[-1]


@pytest.mark.parametrize("log_cap", [2, 2000])
def test_state_at_matches_reducer_forwards_and_backwards(tmp_path, monkeypatch, log_cap):
    # Small checkpoints and log cap: state_at must take its far-jump path (log tails only) too.
    monkeypatch.setattr("sessions.replay.MIN_CHECKPOINT_EVERY", 7)
    monkeypatch.setattr("sessions.state.LOG_CAP", log_cap)
    with Store(tmp_path / "s.db") as store:
        sid, written = full_session(store, times=(100.0, 90.0, None, 85.0, 70.0, None), log_lines=5)
        # a second run of node 2 (a retry) restarts its log
        written += [store.append(sid, e) for e in node_events(2, 0, "draft", "sha2b", 95.0, log_lines=4)[3:]]

    def expected(n: int) -> SessionState:
        state = SessionState(sid)
        for event in written[: n + 1]:
            state.apply(event)
        return state

    with Replay(tmp_path / "s.db", sid) as replay:
        for n in [len(written) - 1, 3, 20, 19, 40, 8, 0, len(written) - 2, 30, len(written) - 9]:
            assert replay.state_at(n) == expected(n), n
    with Replay(tmp_path / "s.db", sid) as replay:  # fresh checkpoints, random access
        order = list(range(len(written)))
        random.Random(log_cap).shuffle(order)
        for n in order:
            assert replay.state_at(n) == expected(n), n
    with Replay(tmp_path / "s.db", sid) as replay:
        final = replay.state_at(len(written) - 1)
        final.nodes[0].children.append(99)  # a returned state is the caller's own
        assert replay.state_at(len(written) - 1) == expected(len(written) - 1)
    assert final.best_node == 4 and final.best_time_s == 70.0
    assert final.logs[2] == [f"line {i} of node 2" for i in range(4)][-log_cap:]
    finished = next(e for e in written if e.kind == "session_finished")
    assert final.finished == ev.SessionFinished(ts=finished.ts, seq=finished.seq)
