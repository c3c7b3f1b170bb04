"""Store: the SQLite file every session is written to and read back from.

One writer connection per Store, guarded by a lock so that the controller's threads
can append at once. Log lines and metrics are buffered and written by a background
flusher at least every FLUSH_INTERVAL_S; decision-type events (events.FLUSH_NOW_KINDS)
are committed before `append` returns. Readers (other processes, Replay) open their own
connections; WAL lets them read while a session is being written.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from sessions import events as ev
from sessions import schema, summary
from sessions.schema import StoreError
from sessions.writer import WriterIdentity, writer_alive
from speedrun_tui.errors import UserError

FLUSH_INTERVAL_S = 0.05
HEARTBEAT_INTERVAL_S = 5.0

_ENVELOPE = ("node", "ts", "seq")
_PAYLOAD_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True)
class SessionInfo:
    """One row of `speedrun-tui sessions`: what the sessions table knows without replay."""

    id: str
    task: str
    model: str
    mode: str
    scaffold: str
    hints: str
    status: str  # running, finished, unfinished
    ended: str  # how it ended, if it did: finished, stopped, failed
    created_ts: float
    updated_ts: float
    nodes: int
    events: int
    tokens: int
    cost_usd: float
    best_time_s: float | None
    fsr: float | None
    times_source: str | None
    target_source: str | None  # timed, calibrated or provisional (sessions.fsr)
    start_time_s: float | None  # t_start of the FSR: the measured root once it ran, else the catalog's
    target_time_s: float | None  # t_next of the FSR: timed, or rescaled to the measured root, else the catalog's
    config: dict
    search_fsr: float | None = None  # the paper's definition; `fsr` is the verified one when there is one
    fsr_low: float | None = None  # the verified FSR's 95 % interval
    fsr_high: float | None = None
    verify_rounds: int | None = None  # None: not verified

    def to_json(self) -> dict:
        return {"id": self.id, "task": self.task, "model": self.model, "mode": self.mode,
                "scaffold": self.scaffold, "hints": self.hints, "status": self.status,
                "ended": self.ended, "created": self.created_ts, "updated": self.updated_ts,
                "nodes": self.nodes, "events": self.events, "tokens": self.tokens,
                "cost_usd": self.cost_usd, "best_time_s": self.best_time_s, "fsr": self.fsr,
                "times_source": self.times_source, "target_source": self.target_source,
                "start_time_s": self.start_time_s, "target_time_s": self.target_time_s,
                "search_fsr": self.search_fsr, "fsr_low": self.fsr_low, "fsr_high": self.fsr_high,
                "verify_rounds": self.verify_rounds}


def _payload_json(event: ev.Event) -> str:
    names = _PAYLOAD_FIELDS.get(type(event))
    if names is None:
        names = tuple(f.name for f in fields(event) if f.name not in _ENVELOPE)
        _PAYLOAD_FIELDS[type(event)] = names
    return json.dumps({name: getattr(event, name) for name in names}, default=_json_default)


def _json_default(value):
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    if isinstance(value, (Path, set, tuple)):
        return str(value) if isinstance(value, Path) else list(value)
    raise TypeError(f"cannot store {type(value).__name__} in an event payload")


def blob_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Store:
    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._conn = schema.connect(self.path, readonly=readonly)
        self._lock = threading.RLock()
        self._pending: list[tuple] = []
        self._pending_events: list[tuple[str, ev.Event]] = []
        self._summaries = summary.Summaries()  # the reducer's state of each session this store writes
        self._next_seq: dict[str, int] = {}
        self._writer = WriterIdentity.current()
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_heartbeat = 0.0
        self._flush_error: BaseException | None = None
        self._closed = False

    # -- writing ------------------------------------------------------------------

    def new_session(self, started: ev.SessionStarted) -> str:
        """Create a session row and store `started` as its event 0 (one transaction); returns the new id."""
        self._require_writable()
        with self._lock:
            session_id = self._fresh_id()
            now = time.time()
            started.seq = 0
            event_row = (session_id, 0, started.kind, started.node, started.ts, _payload_json(started))
            with self._transaction():
                self._conn.execute(
                    "INSERT INTO sessions (id, task, model, mode, scaffold, hints, status, created_ts, "
                    "updated_ts, start_time_s, target_time_s, target_loss, config, version, writer_pid, "
                    "writer_start, writer_host, heartbeat_ts) VALUES (?,?,?,?,?,?,'running',?,?,?,?,?,?,?,?,?,?,?)",
                    (session_id, started.task, started.model, started.mode, started.scaffold, started.hints,
                     now, now, started.start_time_s, started.target_time_s, started.target_loss,
                     json.dumps(started.config, default=_json_default), started.version,
                     *self._writer.columns(), now))
                self._insert_events([event_row], [(session_id, started)])
            self._next_seq[session_id] = 1
        self._start_flusher()
        return session_id

    def resume_session(self, session_id: str) -> int:
        """Take over writing an existing session (resume); returns the seq its next event gets."""
        self._require_writable()
        session_id = self.resolve_session(session_id)
        with self._lock:
            self.flush()  # anything this Store still holds for it comes first
            self._next_seq[session_id] = self.event_count(session_id)
            self._execute_atomic(
                "UPDATE sessions SET status='running', ended='', writer_pid=?, writer_start=?, writer_host=?, "
                "heartbeat_ts=? WHERE id=?", (*self._writer.columns(), time.time(), session_id))
        self._start_flusher()
        return self._next_seq[session_id]

    def annotate(self, session_id: str, event: ev.Event) -> ev.Event:
        """Append `event` to a session nobody is writing (e.g. a judge score after the end), committed
        at once, leaving the session's status as it was."""
        self._require_writable()
        session_id = self.resolve_session(session_id)
        if self.session_status(session_id) == "running" and session_id not in self._next_seq:
            raise UserError(f"session {session_id} is being written by another process; try when it ends")
        with self._lock:
            if session_id not in self._next_seq:
                self._next_seq[session_id] = self.event_count(session_id)
            self.append(session_id, event)
            self.flush()
        return event

    def append(self, session_id: str, event: ev.Event) -> ev.Event:
        """Give `event` the session's next seq and queue it; decision kinds are committed at once."""
        if self._flush_error is not None:
            raise self._flush_error
        row_payload = _payload_json(event)
        with self._lock:
            seq = self._next_seq.get(session_id)
            if seq is None:
                raise ValueError(f"session {session_id} is not open for writing in this Store "
                                 "(new_session or resume_session first)")
            self._next_seq[session_id] = seq + 1
            event.seq = seq
            self._pending.append((session_id, seq, event.kind, event.node, event.ts, row_payload))
            if event.kind in summary.SUMMARY_KINDS:
                self._pending_events.append((session_id, event))
            if event.kind in ev.FLUSH_NOW_KINDS:
                try:
                    self.flush()
                except StoreError as err:
                    if not err.transient:
                        raise  # locked: it stays queued, and the flusher retries until the lock is gone
        return event

    def put_blob(self, text: str) -> str:
        """Store `text` once under its sha256 (committed at once); returns the hex digest."""
        self._require_writable()
        sha = blob_sha(text)
        with self._lock:
            self._execute_atomic("INSERT OR IGNORE INTO blobs (sha, text, size) VALUES (?,?,?)",
                                 (sha, text, len(text)))
        return sha

    def flush(self) -> None:
        """Commit every queued event now (one transaction)."""
        with self._lock:
            if not self._pending:
                return
            rows, summaries = self._pending, self._pending_events
            self._pending, self._pending_events = [], []
            try:
                with self._transaction():
                    self._insert_events(rows, summaries)
            except BaseException:
                # Nothing is lost: the batch goes back in front of what came since.
                self._pending[:0], self._pending_events[:0] = rows, summaries
                self._summaries.forget({row[0] for row in rows})
                raise

    def close(self) -> None:
        """Flush and close. Sessions left without SessionFinished read as 'unfinished'."""
        if self._closed:
            return
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            try:
                if not self.readonly:
                    self.flush()
                    open_ids = [sid for sid in self._next_seq]
                    if open_ids:
                        marks = ",".join("?" * len(open_ids))
                        self._execute_atomic(f"UPDATE sessions SET writer_pid=NULL WHERE id IN ({marks}) "
                                             "AND status='running'", open_ids)
            finally:  # closed even when the disk is full: the last batch is lost, nothing committed is
                self._conn.close()
                self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------

    def get_blob(self, sha: str) -> str:
        with self._lock:
            row = self._conn.execute("SELECT text FROM blobs WHERE sha=?", (sha,)).fetchone()
        if row is None:
            raise KeyError(f"no blob {sha[:12]} in {self.path}")
        return row[0]

    def event_count(self, session_id: str) -> int:
        """Events stored (committed) for the session; cheap (one primary-key lookup)."""
        with self._lock:
            last = self._conn.execute("SELECT max(seq) FROM events WHERE session_id=?", (session_id,)).fetchone()[0]
        return 0 if last is None else last + 1

    def read_events(self, session_id: str, start: int = 0, stop: int | None = None, *,
                    node: int | None = None, skip_kinds: tuple[str, ...] = (),
                    kinds: tuple[str, ...] = ()) -> list[ev.Event]:
        """Committed events with start <= seq < stop, in order (optionally one node's, or some kinds, only)."""
        sql = "SELECT seq, kind, node, ts, payload FROM events WHERE session_id=? AND seq>=?"
        params: list = [session_id, start]
        if stop is not None:
            sql += " AND seq<?"
            params.append(stop)
        if node is not None:
            sql += " AND node=?"
            params.append(node)
        if skip_kinds:
            sql += f" AND kind NOT IN ({','.join('?' * len(skip_kinds))})"
            params.extend(skip_kinds)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", params).fetchall()
        return [ev.decode(kind, payload, node_id, ts, seq) for seq, kind, node_id, ts, payload in rows]

    def iter_events(self, session_id: str, start: int = 0, stop: int | None = None, *,
                    skip_kinds: tuple[str, ...] = (), chunk: int = 2000) -> Iterator[ev.Event]:
        """read_events a chunk at a time; with stop None, up to the last event committed now."""
        stop = self.event_count(session_id) if stop is None else stop
        while start < stop:
            end = min(stop, start + chunk)
            yield from self.read_events(session_id, start, end, skip_kinds=skip_kinds)
            start = end

    def log_tail(self, session_id: str, node: int, start: int, stop: int, cap: int) -> list[str] | None:
        """The node's log lines in start <= seq < stop that its state keeps: at most the last `cap`,
        and none from before its last RunStarted there. None when there is no log event to keep."""
        chunks: list[list[str]] = []
        found = 0
        with self._lock:
            cursor = self._conn.execute(
                "SELECT kind, payload FROM events WHERE session_id=? AND node=? AND seq>=? AND seq<? "
                "ORDER BY seq DESC", (session_id, node, start, stop))
            for kind, payload in cursor:
                if kind == ev.RunStarted.kind or found >= cap:
                    break
                if kind == ev.LogLines.kind:
                    chunks.append(json.loads(payload)["lines"])
                    found += len(chunks[-1])
            cursor.close()
        if not chunks:
            return None
        return [line for chunk in reversed(chunks) for line in chunk][-cap:]

    def first_seq_of_node(self, session_id: str, node: int) -> int | None:
        with self._lock:
            return self._conn.execute("SELECT min(seq) FROM events WHERE session_id=? AND node=?",
                                      (session_id, node)).fetchone()[0]

    def session_status(self, session_id: str) -> str:
        """running, finished or unfinished (a dead writer's session is unfinished)."""
        with self._lock:
            cursor = self._conn.execute("SELECT * FROM sessions WHERE id=?", (session_id,))
            names = [d[0] for d in cursor.description]
            row = cursor.fetchone()
        if row is None:
            raise UserError(f"no session {session_id!r} in {self.path}")
        return _live_status(dict(zip(names, row)))

    def list_sessions(self) -> list[SessionInfo]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM sessions ORDER BY created_ts").fetchall()
            names = [d[0] for d in self._conn.execute("SELECT * FROM sessions LIMIT 0").description]
        return [self._info(dict(zip(names, row))) for row in rows]

    def session_info(self, session_id: str) -> SessionInfo:
        session_id = self.resolve_session(session_id)
        return next(info for info in self.list_sessions() if info.id == session_id)

    def resolve_session(self, text: str) -> str:
        """The full id of the one session whose id starts with `text`; UserError otherwise."""
        with self._lock:
            ids = [row[0] for row in self._conn.execute("SELECT id FROM sessions")]
        if text in ids:
            return text
        matches = [sid for sid in ids if sid.startswith(text.lower())] if text else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise UserError(f"session {text!r} is ambiguous: matches {', '.join(sorted(matches)[:8])}")
        close = difflib.get_close_matches(text.lower(), ids, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see `speedrun-tui sessions`)"
        raise UserError(f"no session {text!r} in {self.path}{hint}")

    # -- internals ------------------------------------------------------------------

    def _require_writable(self) -> None:
        if self.readonly:
            raise UserError(f"{self.path}: opened read-only")

    def _fresh_id(self) -> str:
        while True:
            candidate = secrets.token_hex(4)
            if not self._conn.execute("SELECT 1 FROM sessions WHERE id=?", (candidate,)).fetchone():
                return candidate

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction; a refused write (locked, disk full, read-only) is a one-line StoreError."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as err:
            raise schema.write_error(self.path, err) from err

    def _execute_atomic(self, sql: str, params) -> None:
        with self._transaction():
            self._conn.execute(sql, params)

    def _insert_events(self, rows: list[tuple], summaries: list[tuple[str, ev.Event]]) -> None:
        self._summaries.commit(self._conn, rows, summaries)

    def _start_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="store-flusher", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
                if time.monotonic() - self._last_heartbeat > HEARTBEAT_INTERVAL_S:
                    self._heartbeat()
            except BaseException as err:
                if isinstance(err, StoreError) and err.transient:
                    continue  # locked by another writer past the busy timeout: retry next tick
                self._flush_error = err  # surfaced on the next append
                return

    def _heartbeat(self) -> None:
        with self._lock:
            self._last_heartbeat = time.monotonic()
            ids = list(self._next_seq)
            if ids:
                marks = ",".join("?" * len(ids))
                self._execute_atomic(f"UPDATE sessions SET heartbeat_ts=? WHERE id IN ({marks}) "
                                     "AND status='running'", [time.time(), *ids])

    def _info(self, row: dict) -> SessionInfo:
        status = _live_status(row)
        return SessionInfo(
            id=row["id"], task=row["task"], model=row["model"], mode=row["mode"], scaffold=row["scaffold"],
            hints=row["hints"], status=status, ended=row["ended"],
            created_ts=row["created_ts"], updated_ts=row["updated_ts"], nodes=row["n_nodes"],
            events=row["n_events"], tokens=row["tokens"], cost_usd=row["cost_usd"],
            best_time_s=row["best_time_s"], fsr=row["fsr"], times_source=row["times_source"],
            target_source=row["target_source"],
            start_time_s=_first(row.get("fsr_start_s"), row["start_time_s"]),
            target_time_s=_first(row.get("fsr_next_s"), row["target_time_s"]),
            config=json.loads(row["config"] or "{}"), search_fsr=row.get("search_fsr"), fsr_low=row.get("fsr_low"),
            fsr_high=row.get("fsr_high"), verify_rounds=row.get("verify_rounds"))


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _live_status(row: dict) -> str:
    if row["status"] == "running" and not writer_alive(row):
        return "unfinished"
    return row["status"]
