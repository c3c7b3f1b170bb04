"""Sweeps in the session database: the grid of cells, which sessions are a sweep's, who runs it.

A cell is one configuration of the grid (task, model, scaffold, hints, mode, seed); each cell
is an ordinary session whose config carries the sweep's name (agent/config.py `sweep`), so
the tag is written with the session row itself. The `sweeps` table keeps the grid, so cells
not started yet can be shown, and the process running the sweep, so a second one is refused
rather than starting the same cells twice.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sessions import schema
from sessions.writer import WriterIdentity, writer_alive
from speedrun_tui.errors import UserError

TAG_SQL = "json_extract(config, '$.sweep')"  # the expression sessions_by_sweep indexes (schema 0005)


@dataclass(frozen=True)
class Cell:
    task: str
    model: str
    scaffold: str
    hints: str
    mode: str
    seed: int

    @property
    def key(self) -> tuple:
        return self.task, self.model, self.scaffold, self.hints, self.mode, self.seed

    @property
    def label(self) -> str:
        return f"{self.task} · {self.model} · {self.scaffold} · hints {self.hints} · {self.mode} · seed {self.seed}"

    @classmethod
    def of_session(cls, info) -> Cell:
        """The cell a stored session (a sessions.store.SessionInfo) is a run of."""
        return cls(info.task, info.model, info.scaffold, info.hints, info.mode, int(info.config.get("seed", 0)))


@dataclass(frozen=True)
class SweepRecord:
    name: str
    cells: tuple[Cell, ...]
    settings: dict
    source: str  # the sweep file it was last run from
    created_ts: float
    updated_ts: float
    driver_alive: bool  # a process runs it now


def session_ids(db, sweep_name: str) -> list[str]:
    """Ids of every session of sweep `sweep_name` (finished or not), oldest first; `db` is a path or a
    Store. A name that is neither a sweep nor on any session is a one-line UserError naming the sweeps."""
    path = Path(db.path if hasattr(db, "path") else db)
    with _reading(path) as conn:
        ids = [row[0] for row in conn.execute(
            f"SELECT id FROM sessions WHERE {TAG_SQL} = ? ORDER BY created_ts", (sweep_name,))]
        if not ids and not conn.execute("SELECT 1 FROM sweeps WHERE name=?", (sweep_name,)).fetchone():
            raise UserError(f"no sweep {sweep_name!r} in {path}; {_known(conn)}")
    return ids


def sweep_names(db_path: Path) -> list[str]:
    """The sweeps of the database, the most recently run first ([] without a database)."""
    if not Path(db_path).exists():
        return []
    with _reading(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM sweeps ORDER BY updated_ts DESC")]


def load_sweep(db_path: Path, name: str) -> SweepRecord:
    with _reading(db_path) as conn:
        cursor = conn.execute("SELECT * FROM sweeps WHERE name=?", (name,))
        row = cursor.fetchone()
        if row is None:
            raise UserError(f"no sweep {name!r} in {db_path}; {_known(conn)}")
        record = dict(zip([d[0] for d in cursor.description], row))
    return SweepRecord(name=name, cells=tuple(Cell(**cell) for cell in json.loads(record["cells"])),
                       settings=json.loads(record["settings"]), source=record["source"],
                       created_ts=record["created_ts"], updated_ts=record["updated_ts"],
                       driver_alive=writer_alive(record))


def claim(db_path: Path, name: str, cells: list[Cell], settings: dict, source: str) -> None:
    """Record the sweep's grid and this process as the one running it (one transaction); a one-line
    UserError when another live process runs it already."""
    now = time.time()
    writer = WriterIdentity.current()
    with _writing(db_path) as conn:
        cursor = conn.execute("SELECT * FROM sweeps WHERE name=?", (name,))
        row = cursor.fetchone()
        if row is not None:
            record = dict(zip([d[0] for d in cursor.description], row))
            if writer_alive(record) and (record["writer_pid"], record["writer_host"]) != (writer.pid, writer.host):
                raise UserError(f"sweep {name!r} is being run by process {record['writer_pid']} on "
                                f"{record['writer_host']}; wait for it to end (or stop it), then run it again")
        conn.execute(
            "INSERT INTO sweeps (name, cells, settings, source, created_ts, updated_ts, writer_pid, writer_start, "
            "writer_host, heartbeat_ts) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
            "cells=excluded.cells, settings=excluded.settings, source=excluded.source, updated_ts=excluded.updated_ts, "
            "writer_pid=excluded.writer_pid, writer_start=excluded.writer_start, writer_host=excluded.writer_host, "
            "heartbeat_ts=excluded.heartbeat_ts",
            (name, json.dumps([asdict(cell) for cell in cells]), json.dumps(settings), source, now, now,
             *writer.columns(), now))


def heartbeat(db_path: Path, name: str) -> None:
    """Say the process running the sweep is alive (read from other hosts, where its pid means nothing)."""
    with _writing(db_path) as conn:
        conn.execute("UPDATE sweeps SET heartbeat_ts=? WHERE name=?", (time.time(), name))


def release(db_path: Path, name: str) -> None:
    with _writing(db_path) as conn:
        conn.execute("UPDATE sweeps SET writer_pid=NULL, updated_ts=? WHERE name=?", (time.time(), name))


def _known(conn: sqlite3.Connection) -> str:
    names = [row[0] for row in conn.execute("SELECT name FROM sweeps ORDER BY name")]
    return f"sweeps there: {', '.join(names)}" if names else "it has no sweeps yet (run `speedrun-tui sweep FILE`)"


@contextlib.contextmanager
def _reading(db_path: Path) -> Iterator[sqlite3.Connection]:
    conn = schema.connect(Path(db_path), readonly=True)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def _writing(db_path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction on a connection of its own; a refused write is a one-line StoreError."""
    conn = schema.connect(Path(db_path), readonly=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as err:
        raise schema.write_error(Path(db_path), err) from err
    finally:
        conn.close()
