"""ReplayScreen: a stored session in the same panes, stepped, jumped, played or followed live.

Every read goes through a thread worker. Jumps rebuild the state with Replay.state_at
(checkpointed); stepping forward, playing and following stream events through the
same EventFeed and in-order applier the live screen uses, so what is shown at event n
is what the live screen showed after event n.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, get_current_worker

from sessions.scoring import score_session
from sessions.state import SessionState
from tui.feed import EventFeed, EventsReady, InOrder
from tui.screens.failures import notify_failure
from tui.screens.help import HelpScreen
from tui.widgets.statusbar import StatusBar, status_of
from tui.widgets.timeline import Timeline, TimelineMarks
from tui.widgets.workspace import Workspace

SPEEDS: dict[str, float | None] = {"1": 1.0, "2": 10.0, "3": 100.0, "4": None}  # None: as fast as it goes
MAX_GAP_S = 5.0  # longest real pause between two events while playing (idle stretches are skipped)
CHUNK = 500


def speed_name(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}x"


class ReplayScreen(Screen):
    BINDINGS = [
        Binding("space", "play", "Play/pause"),
        Binding("right,l", "step(1)", "Step", key_display="→"),
        Binding("left,h", "step(-1)", "Back", key_display="←"),
        Binding("right_square_bracket", "node(1)", "Next node", key_display="]"),
        Binding("left_square_bracket", "node(-1)", "Prev node", key_display="["),
        Binding("home", "first", "First node"),
        Binding("end", "last", "Last"),
        Binding("b", "best", "Best node"),
        Binding("g", "goto", "Go to node"),
        Binding("1", "speed('1')", "Speed 1x", show=False),
        Binding("2", "speed('2')", "Speed 10x", show=False),
        Binding("3", "speed('3')", "Speed 100x", show=False),
        Binding("4", "speed('4')", "Speed max", show=False),
        Binding("f", "follow", "Follow live"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q,escape", "close", "Back"),
    ]

    def __init__(self, db_path: Path, session: str, *, start: str = "end"):
        super().__init__()
        self.db_path = Path(db_path)
        self.session_ref = session
        self.start = start  # "end" (default) or "start"
        self.replay = None
        self.total = 0
        self.state = SessionState(session_id=session)
        self.marks = TimelineMarks()
        self.speed: float | None = 10.0
        self.playing = False
        self.following = True
        self._order = InOrder(self.state)
        self._feed = EventFeed(self)
        self._state_lock = threading.Lock()  # Replay.state_at keeps checkpoints: one caller at a time
        self._stop_player = threading.Event()

    def compose(self) -> ComposeResult:
        yield Workspace()
        yield Input(placeholder="go to node #", id="goto")
        yield Timeline(id="timeline")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#goto", Input).display = False
        self._open()

    # -- workers -----------------------------------------------------------------------

    @work(thread=True, group="load", exit_on_error=False)
    def _open(self) -> None:
        from sessions.replay import Replay
        from sessions.store import Store

        replay = Replay(self.db_path, self.session_ref)
        total = len(replay)
        with Store(self.db_path, readonly=True) as store:
            marks = TimelineMarks()
            for event in store.read_events(replay.session_id, skip_kinds=("log_lines", "metric")):
                marks.note(event)
        count = total if self.start == "end" else 0
        with self._state_lock:
            state = replay.state_at(count - 1) if count else SessionState(replay.session_id)
        self.app.call_from_thread(self._opened, replay, total, marks, state)

    def _opened(self, replay, total: int, marks: TimelineMarks, state: SessionState) -> None:
        self.replay, self.total, self.marks = replay, total, marks
        self.query_one(Timeline).marks = marks
        self._set_state(state)

    @work(thread=True, group="load", exclusive=True, exit_on_error=False)
    def _load(self, count: int, pin: int | None) -> None:
        with self._state_lock:
            state = self.replay.state_at(count - 1) if count > 0 else SessionState(self.replay.session_id)
        self.app.call_from_thread(self._set_state, state, pin)

    @work(thread=True, group="player", exclusive=True, exit_on_error=False)
    def _player(self, start: int, stop: threading.Event, follow_only: bool) -> None:
        """Streams events from `start`, paced by `self.speed`; at the end, follows a live writer."""
        worker = get_current_worker()
        seq, last_ts = start, None
        while not follow_only and not stop.is_set() and not worker.is_cancelled:
            chunk = list(self.replay.events(seq, seq + CHUNK))
            if not chunk:
                break
            for event in chunk:
                if stop.is_set():
                    return
                if last_ts is not None and self.speed is not None:
                    stop.wait(min(MAX_GAP_S, max(0.0, event.ts - last_ts) / self.speed))
                last_ts = event.ts
                self._feed.push(event)
            seq = chunk[-1].seq + 1
        if self.following and not stop.is_set():
            for event in self.replay.follow(seq, stop=stop, poll_s=0.2):
                self._feed.push(event)
        self.app.call_from_thread(self._player_done, stop)

    @work(thread=True, group="load", exit_on_error=False)
    def _fetch_one(self, seq: int) -> None:
        for event in self.replay.events(seq, seq + 1):
            self._feed.push(event)

    # -- state in --------------------------------------------------------------------

    @property
    def position(self) -> int:
        """Events applied so far."""
        return self.state.last_seq + 1

    def _set_state(self, state: SessionState, pin: int | None = None) -> None:
        self.state = state
        self._order.reset(state)
        workspace = self.query_one(Workspace)
        workspace.pinned = pin
        workspace.show(state)
        if self.following and self.replay is not None and self.position >= self.total:
            self._start_player(follow_only=True)
        self._show_status()

    def on_events_ready(self, message: EventsReady) -> None:
        applied = self._order.take(self._feed.drain())
        if not applied:
            return
        for event in applied:
            self.marks.note(event)
        self.total = max(self.total, self.position)
        self.query_one(Workspace).show(self.state, applied)
        self._show_status()

    def _show_status(self) -> None:
        state = self.state
        activity = f"replay {speed_name(self.speed)} " + ("playing" if self.playing else "paused")
        if self.following and not self.playing and state.finished is None:
            activity = "replay · following live"
        score = score_session(state) if state.started else None
        self.query_one(StatusBar).show(status_of(state, mode=None, fsr=score.fsr if score else None,
                                                 now=state.last_ts or time.time(), activity=activity,
                                                 provisional=score is not None and score.provisional))
        node = self.query_one(Workspace).focus_node(state)
        caption = f"event {self.position}/{self.total}" + (f" · node {node}" if node is not None else "")
        self.query_one(Timeline).show(self.total, self.position, caption)

    # -- keys ------------------------------------------------------------------------

    def _start_player(self, *, follow_only: bool = False) -> None:
        self._stop_player.set()
        self._stop_player = threading.Event()
        self.playing = not follow_only
        self._player(self.position, self._stop_player, follow_only)
        self._show_status()

    def _stop(self) -> None:
        self._stop_player.set()
        self.playing = False

    def _player_done(self, stop: threading.Event) -> None:
        if stop is self._stop_player:
            self.playing = False
            self._show_status()

    def _jump(self, count: int, pin: int | None = None) -> None:
        if self.replay is None:
            return
        self._stop()
        self._load(max(0, min(count, self.total)), pin)

    def action_play(self) -> None:
        if self.replay is None:
            return
        if self.playing:
            self._stop()
            self._show_status()
        else:
            self._start_player()

    def action_speed(self, key: str) -> None:
        self.speed = SPEEDS[key]
        self.notify(f"Speed {speed_name(self.speed)}.")
        self._show_status()

    def action_step(self, delta: int) -> None:
        if self.replay is None:
            return
        if delta > 0 and self.position < self.total:
            self._stop()
            self._fetch_one(self.position)
        elif delta < 0 and self.position > 0:
            self._jump(self.position - 1)

    def _node_end(self, node_id: int) -> int:
        """Events to apply to see node `node_id` complete."""
        return self.marks.node_last[node_id] + 1

    def action_node(self, delta: int) -> None:
        nodes = sorted(self.marks.node_last)
        if not nodes:
            return
        current = self.query_one(Workspace).focus_node(self.state)
        later = [n for n in nodes if current is None or (n > current if delta > 0 else n < current)]
        if later:
            target = later[0] if delta > 0 else later[-1]
            self._jump(self._node_end(target), pin=target)

    def action_first(self) -> None:
        if self.marks.node_last:
            first = min(self.marks.node_last)
            self._jump(self._node_end(first), pin=first)

    def action_last(self) -> None:
        self._jump(self.total)

    def action_best(self) -> None:
        best = self.marks.best
        if best is None:
            self.notify("No valid node yet.", severity="warning")
            return
        self._jump(self._node_end(best), pin=best)

    def action_goto(self) -> None:
        box = self.query_one("#goto", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.input.display = False
        message.input.value = ""
        text = message.value.strip().lstrip("#")
        if not text.isdigit() or int(text) not in self.marks.node_last:
            self.notify(f"No node {message.value.strip()!r} in this session "
                        f"(nodes: {', '.join(map(str, sorted(self.marks.node_last))) or 'none'}).",
                        severity="error")
            return
        self._jump(self._node_end(int(text)), pin=int(text))

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following and not self.playing:
            self._start_player(follow_only=self.position >= self.total)
        elif not self.following:
            self._stop()
        self.notify("Following the live session." if self.following else "Not following.")
        self._show_status()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Replay", self.BINDINGS, commands=False))

    def action_close(self) -> None:
        goto = self.query_one("#goto", Input)
        if goto.has_focus:
            goto.display = False
            return
        self._stop()
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        notify_failure(self, event, title="Replay failed")

    def on_unmount(self) -> None:
        self._stop_player.set()
        if self.replay is not None:
            self.replay.close()
