"""The session database's schema, as sqlite-utils migrations, and how a file is opened.

A file is ours when its `application_id` is APPLICATION_ID; anything else that already
holds tables is someone else's database and is refused, never migrated.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from speedrun_tui.errors import UserError

APPLICATION_ID = 0x53525455  # "SRTU"
BUSY_TIMEOUT_MS = 10_000


class StoreError(UserError):
    """A write the session database refused, in one line; `transient` when another writer holds the lock."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


def write_error(path: Path, err: sqlite3.Error) -> StoreError:
    """What a failed write means for the person: locked, disk full, read-only, or else."""
    text = str(err)
    if "locked" in text or "busy" in text:
        return StoreError(f"{path}: the session database is locked by another process ({text}); "
                          "everything recorded before is kept", transient=True)
    if "full" in text:
        return StoreError(f"{path}: the disk is full ({text}); free some space, then resume the session "
                          "(everything recorded before is kept)")
    if "readonly" in text or not _writable(path):
        return StoreError(f"{path}: the session database is read-only ({text}); pass --db with a writable file "
                          "(reading it still works)")
    return StoreError(f"{path}: cannot write the session database ({text})")


def _writable(path: Path) -> bool:
    path = Path(path)
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _full_without_wal(path: Path) -> bool:
    """No room for the -shm file a reader makes, and no -wal file whose pages an immutable read would miss."""
    try:
        room = os.statvfs(path.parent)
    except OSError:
        return False
    return room.f_bavail * room.f_frsize < 2**16 and not Path(f"{path}-wal").exists()


def _migrations():
    from sqlite_utils import Migrations

    migrations = Migrations("speedrun-tui")

    @migrations(name="0001_initial")
    def initial(db) -> None:
        db.execute("""
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                task TEXT NOT NULL, model TEXT NOT NULL, mode TEXT NOT NULL,
                scaffold TEXT NOT NULL, hints TEXT NOT NULL,
                status TEXT NOT NULL,          -- running, finished, unfinished
                ended TEXT NOT NULL DEFAULT '', -- SessionFinished.status: finished, stopped, failed
                created_ts REAL NOT NULL, updated_ts REAL NOT NULL,
                start_time_s REAL, target_time_s REAL, target_loss REAL,
                config TEXT NOT NULL DEFAULT '{}', version TEXT NOT NULL DEFAULT '',
                -- who writes it now: a dead pid (or a stale heartbeat elsewhere) means unfinished
                writer_pid INTEGER, writer_start TEXT, writer_host TEXT, heartbeat_ts REAL,
                n_events INTEGER NOT NULL DEFAULT 0, n_nodes INTEGER NOT NULL DEFAULT 0,
                tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
                best_time_s REAL, fsr REAL, times_source TEXT
            )""")
        db.execute("""
            CREATE TABLE nodes (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                id INTEGER NOT NULL, parent INTEGER, stage TEXT NOT NULL,
                status TEXT NOT NULL, code_sha TEXT, time_s REAL, val_loss REAL,
                PRIMARY KEY (session_id, id)
            ) WITHOUT ROWID""")
        db.execute("""
            CREATE TABLE events (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                seq INTEGER NOT NULL, kind TEXT NOT NULL, node INTEGER, ts REAL NOT NULL,
                payload TEXT NOT NULL,
                PRIMARY KEY (session_id, seq)
            ) WITHOUT ROWID""")
        db.execute("CREATE INDEX events_by_node ON events (session_id, node, seq)")
        db.execute("CREATE TABLE blobs (sha TEXT PRIMARY KEY, text TEXT NOT NULL, size INTEGER NOT NULL)")

    @migrations(name="0002_target_timing")
    def target_timing(db) -> None:
        # The next record's time measured in the session, and where each row's t_next came from.
        # Sessions stored before this had only the catalog's calibrated ratio.
        db.execute("ALTER TABLE sessions ADD COLUMN timed_target_s REAL")
        db.execute("ALTER TABLE sessions ADD COLUMN target_source TEXT")
        db.execute("UPDATE sessions SET target_source='calibrated'")

    @migrations(name="0003_verified_score")
    def verified_score(db) -> None:
        # The verified FSR (paired re-timing) is the headline `fsr` once a session has one; the
        # search-time FSR stays beside it. Sessions stored before this have only the search FSR.
        for column in ("search_fsr REAL", "fsr_low REAL", "fsr_high REAL", "verify_rounds INTEGER"):
            db.execute(f"ALTER TABLE sessions ADD COLUMN {column}")
        db.execute("UPDATE sessions SET search_fsr=fsr")

    @migrations(name="0004_fsr_times")
    def fsr_times(db) -> None:
        # The t_start and t_next the row's FSR used (the measured root, the timed or rescaled next
        # record), beside the catalog's: listing and scoring a session give the same times.
        from sessions.summary import rewrite

        for column in ("fsr_start_s REAL", "fsr_next_s REAL"):
            db.execute(f"ALTER TABLE sessions ADD COLUMN {column}")
        for (session_id,) in db.execute("SELECT id FROM sessions").fetchall():
            rewrite(db.conn, session_id)

    @migrations(name="0005_sweeps")
    def sweeps(db) -> None:
        # A sweep's grid, so the cells not started yet can be listed too, and the process running it,
        # so a second one does not start the same cells. A cell's session carries the sweep's name in
        # its config (written with the row, so no session is ever left untagged); indexed here.
        db.execute("""
            CREATE TABLE sweeps (
                name TEXT PRIMARY KEY,
                cells TEXT NOT NULL,            -- JSON list of the grid's cells
                settings TEXT NOT NULL DEFAULT '{}', source TEXT NOT NULL DEFAULT '',
                created_ts REAL NOT NULL, updated_ts REAL NOT NULL,
                writer_pid INTEGER, writer_start TEXT, writer_host TEXT, heartbeat_ts REAL
            )""")
        db.execute("CREATE INDEX sessions_by_sweep ON sessions (json_extract(config, '$.sweep'))")

    return migrations


class NeedsUpgrade(UserError):
    """A database made by an older speedrun-tui, opened read-only."""


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """An open, checked, migrated connection; UserError (one line) for anything not ours."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a session database")
    if readonly and not path.exists():
        raise UserError(f"{path}: no session database here (run a session first, or pass --db PATH)")
    if not readonly:
        path.parent.mkdir(parents=True, exist_ok=True)
    # A WAL database on read-only or full storage opens only as immutable (no -shm can be made next to it).
    immutable = readonly and (not _writable(path) or _full_without_wal(path))
    target = f"file:{quote(str(path.resolve()))}?mode=ro{'&immutable=1' if immutable else ''}" if readonly else str(path)
    try:
        conn = sqlite3.connect(target, uri=readonly, check_same_thread=False,
                               isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as err:
        raise UserError(f"{path}: cannot open the session database ({err})") from None
    try:
        _check_and_migrate(conn, path, readonly)
    except NeedsUpgrade:
        conn.close()
        if immutable:
            raise
        connect(path, readonly=False).close()  # a reader of an older file upgrades it first, once
        return connect(path, readonly=True)
    except UserError:
        conn.close()
        raise
    except sqlite3.OperationalError as err:
        conn.close()
        if "locked" in str(err) or "busy" in str(err):
            raise UserError(f"{path}: session database is locked by another process ({err})") from None
        if not readonly:
            raise write_error(path, err) from None
        raise UserError(f"{path}: cannot read the session database ({err})") from None
    except sqlite3.DatabaseError as err:
        conn.close()
        raise UserError(f"{path}: not a speedrun-tui session database ({err})") from None
    return conn


def _check_and_migrate(conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    if app_id != APPLICATION_ID and tables:
        shown = ", ".join(sorted(tables)[:4])
        raise UserError(f"{path}: not a speedrun-tui session database (another SQLite file, tables: {shown})")
    from sqlite_utils import Database

    db = Database(conn, execute_plugins=False, recursive_triggers=False)
    migrations = _migrations()
    if readonly:
        if not tables:
            raise UserError(f"{path}: no sessions yet (an empty database)")
        if migrations.pending(db):
            raise NeedsUpgrade(f"{path}: session database needs an upgrade and is read-only here; copy it "
                               "somewhere writable and pass that copy with --db")
        return
    if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
        raise UserError(f"{path}: cannot switch the session database to WAL mode")
    conn.execute("PRAGMA synchronous=NORMAL")
    # Hold the write lock while checking, so two writers opening a new file don't both migrate.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if migrations.pending(db):
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            migrations.apply(db)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
