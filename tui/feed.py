"""EventFeed: hands events from a worker thread to the UI, one batch per wake-up.

The producer (the controller's thread, a replay follower) calls `push` for every
event; the first push after a drain posts one EventsReady message, and the UI takes
everything queued since in one `drain`. A burst of ten thousand log events is thus
one repaint, not ten thousand.
"""

from __future__ import annotations

import threading

from textual.message import Message
from textual.message_pump import MessagePump

from sessions.events import Event


class EventsReady(Message):
    """Events are waiting in the feed; call `drain`."""


class EventFeed:
    def __init__(self, target: MessagePump):
        self._target = target
        self._lock = threading.Lock()
        self._queue: list[Event] = []
        self._signalled = False

    def push(self, event: Event) -> None:
        with self._lock:
            self._queue.append(event)
            if self._signalled:
                return
            self._signalled = True
        self._target.post_message(EventsReady())

    def drain(self) -> list[Event]:
        with self._lock:
            batch, self._queue = self._queue, []
            self._signalled = False
        return batch


class InOrder:
    """Applies events to a state strictly in seq order, whatever order they arrive in.

    Controller threads may deliver seq 12 before 11, and a replay may receive a stream
    it already jumped past; an event with a given seq is the same event from any source,
    so holding early ones back and dropping old ones is always right.
    """

    def __init__(self, state):
        self.state = state
        self._ahead: dict[int, Event] = {}

    def reset(self, state) -> None:
        self.state = state
        self._ahead = {seq: e for seq, e in self._ahead.items() if seq > state.last_seq}

    def take(self, events: list[Event]) -> list[Event]:
        """Apply what can be applied now; returns those events, in the order applied."""
        applied: list[Event] = []
        for event in events:
            if event.seq is None:
                self.state.apply(event)
                applied.append(event)
            elif event.seq > self.state.last_seq:
                self._ahead[event.seq] = event
        while (nxt := self._ahead.pop(self.state.last_seq + 1, None)) is not None:
            self.state.apply(nxt)
            applied.append(nxt)
        return applied
