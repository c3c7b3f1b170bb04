"""How fast the TUI takes in a training log, how quickly it answers keys meanwhile, how fast it starts.

    .venv/bin/python bench/tui_ingest.py [--lines 200000]

Prints, for a headless app (Textual's headless driver: layout and painting happen, the
terminal output is dropped):
  - log ingest: lines/s through the live path (controller thread -> EventFeed -> in-order
    reducer -> Workspace -> Log), for runner-sized batches and for the worst case where
    every line is a metric line (one LogLines event plus one Metric event per line);
  - input latency while ingesting at 50,000 lines/s: key press to its handler, median/p95/max;
  - cold start: a fresh `python` process to the first painted frame, and to a replayed
    session's panes filled in.
Targets: >= 50,000 lines/s, < 50 ms input latency, < 1 s to first paint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from textual.app import ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import Log  # noqa: E402

from sessions import events as ev  # noqa: E402
from sessions.state import SessionState  # noqa: E402
from tui.app import SpeedrunApp  # noqa: E402
from tui.feed import EventFeed, EventsReady, InOrder  # noqa: E402
from tui.widgets.workspace import Workspace  # noqa: E402

SIZE = (160, 45)


class IngestScreen(Screen):
    """The live screen's ingest path (feed, in-order reducer, workspace), without a controller."""

    BINDINGS = [Binding("x", "ping", "ping")]

    def __init__(self):
        super().__init__()
        self.state = SessionState("bench")
        self.order = InOrder(self.state)
        self.feed = EventFeed(self)
        self.pings: list[float] = []

    def compose(self) -> ComposeResult:
        yield Workspace()

    def on_events_ready(self, message: EventsReady) -> None:
        applied = self.order.take(self.feed.drain())
        if applied:
            self.query_one(Workspace).show(self.state, applied)

    def action_ping(self) -> None:
        self.pings.append(time.perf_counter())


def preamble() -> list[ev.Event]:
    return [ev.SessionStarted(task="micro/1", model="bench", scaffold="flat", hints="none", mode="auto",
                              target_loss=3.28),
            ev.NodeCreated(node=0, parent=None, stage="root"), ev.RunStarted(node=0, code_sha="")]


def log_events(lines: int, *, batch: int, metrics: bool) -> list[ev.Event]:
    out: list[ev.Event] = []
    for start in range(0, lines, batch):
        count = min(batch, lines - start)
        text = [f"step:{i}/{lines} train_loss:{4 - i / lines:.4f} train_time:{i * 10}ms step_avg:10.00ms"
                for i in range(start, start + count)]
        out.append(ev.LogLines(node=0, lines=text))
        if metrics:
            out.append(ev.Metric(node=0, step=start, train_loss=4.0, train_time_ms=start * 10.0))
    return out


def numbered(events: list[ev.Event]) -> list[ev.Event]:
    for seq, event in enumerate(events):
        event.seq = seq
    return events


def produce(feed: EventFeed, events: list[ev.Event], lines_per_s: float | None) -> None:
    """Push as fast as possible, or paced to `lines_per_s`."""
    start, sent = time.perf_counter(), 0
    for event in events:
        feed.push(event)
        if isinstance(event, ev.LogLines):
            sent += len(event.lines)
            if lines_per_s:
                ahead = sent / lines_per_s - (time.perf_counter() - start)
                if ahead > 0.002:
                    time.sleep(ahead)


async def shown(pilot, screen: IngestScreen, last_line: str) -> None:
    log = screen.query_one(Log)
    while not (log.lines and log.lines[-1] == last_line):
        await pilot.pause(0)
    await pilot.pause(0)  # and one paint


async def ingest_rate(lines: int, batch: int, metrics: bool) -> float:
    screen = IngestScreen()
    app = SpeedrunApp(lambda: screen)
    events = numbered(preamble() + log_events(lines, batch=batch, metrics=metrics))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        start = time.perf_counter()
        producer = threading.Thread(target=produce, args=(screen.feed, events, None))
        producer.start()
        await shown(pilot, screen, events[-2 if metrics else -1].lines[-1])
        elapsed = time.perf_counter() - start
        producer.join()
    return lines / elapsed


async def input_latency(lines_per_s: float, presses: int) -> list[float]:
    screen = IngestScreen()
    app = SpeedrunApp(lambda: screen)
    seconds = presses * 0.05 + 1.0
    events = numbered(preamble() + log_events(int(lines_per_s * seconds), batch=1, metrics=True))
    latencies = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        producer = threading.Thread(target=produce, args=(screen.feed, events, lines_per_s), daemon=True)
        producer.start()
        await pilot.pause(0.3)
        for _ in range(presses):
            before = len(screen.pings)
            pressed = time.perf_counter()
            await pilot.press("x")
            while len(screen.pings) == before:
                await pilot.pause(0)
            latencies.append((screen.pings[-1] - pressed) * 1000)
            await pilot.pause(0.03)
        producer.join()
    return latencies


COLD_START = """
import sys, time
from pathlib import Path
from tui.app import SpeedrunApp
from tui.screens.replay import ReplayScreen

class Timed(SpeedrunApp):
    def on_mount(self):
        self.call_after_refresh(lambda: print("painted", flush=True))
        self.set_interval(0.01, self.check)
    def check(self):
        screen = self.screen
        if isinstance(screen, ReplayScreen) and screen.replay is not None and screen.position == screen.total:
            self.call_after_refresh(lambda: (print("filled", flush=True), self.exit()))

Timed(lambda: ReplayScreen(Path(sys.argv[1]), sys.argv[2])).run(headless=True, size=(160, 45))
"""


def cold_start(db: Path, session: str, runs: int) -> tuple[list[float], list[float]]:
    painted, filled = [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", COLD_START, str(db), session], stdout=subprocess.PIPE,
                                 text=True, env=env, cwd=ROOT)
        for line in child.stdout:
            now = time.perf_counter() - start
            (painted if line.strip() == "painted" else filled).append(now)
        child.wait()
    return painted, filled


def bench_db(folder: Path) -> tuple[Path, str]:
    from tui_helpers import write_demo_session

    os.environ.setdefault("SPEEDRUN_TUI_HOME", str(folder / "home"))
    db = folder / "sessions.db"
    return db, write_demo_session(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000, help="log lines per ingest run")
    parser.add_argument("--presses", type=int, default=40, help="key presses for the latency test")
    parser.add_argument("--starts", type=int, default=5, help="cold starts to time")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, headless {SIZE[0]}x{SIZE[1]}")
    for batch, metrics, label in ((200, False, "batches of 200 lines (runner's MAX_BATCH)"),
                                  (1, True, "every line a metric line (LogLines + Metric per line)")):
        rate = asyncio.run(ingest_rate(args.lines, batch, metrics))
        print(f"log ingest, {label}: {rate:,.0f} lines/s ({args.lines:,} lines)")
    latencies = asyncio.run(input_latency(50_000, args.presses))
    print(f"input latency while ingesting 50,000 lines/s (1 line per event + metric): "
          f"median {statistics.median(latencies):.1f} ms, "
          f"p95 {sorted(latencies)[int(0.95 * (len(latencies) - 1))]:.1f} ms, max {max(latencies):.1f} ms")
    with tempfile.TemporaryDirectory() as folder:
        db, session = bench_db(Path(folder))
        painted, filled = cold_start(db, session, args.starts)
    print(f"cold start (new python process, `replay` screen): first paint median {statistics.median(painted):.2f} s"
          f" (max {max(painted):.2f} s); session panes filled median {statistics.median(filled):.2f} s")


if __name__ == "__main__":
    main()
