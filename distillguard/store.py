"""The DuckDB store: versioned schema, idempotent writes, and the relations analysts query.

Migrations in ``sql/migrations/NNN_name.sql`` are applied in order when a database is
opened; a database another version created is migrated forward, never wiped.

A DuckDB file has one writing process at a time. :meth:`Store.open` can wait for another writer
to let go (``lock_timeout_s``) and then fails with :class:`DatabaseLocked`, a one-line error with
a hint. Every writable open records the writer's pid and host (session variables that the
``runs`` table's ``pid``/``host`` columns default to) and closes ``runs`` rows left ``running`` by a
process that is gone (:meth:`Store.close_stale_runs`). Analysts get :meth:`Store.open_analyst`: the
file read-only in a locked-down DuckDB session (:data:`ANALYST_SESSION_SETTINGS`).

>>> import tempfile, pathlib
>>> with Store.open(pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb") as store:
...     store.count("flagged_accounts")
0
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import duckdb
import polars as pl

from distillguard.events import REJECTED_SCHEMA, _raw_rows, _stamp, accepted_ts_range, empty_rejected

if TYPE_CHECKING:
    from distillguard.config import LakeSettings
    from distillguard.lake import Lake, LakeWriter

log = logging.getLogger("distillguard.store")

MIGRATION_NAME = re.compile(r"^(\d{3})_[\w-]+\.sql$")
#: A ``runs`` row still ``running`` this long after it started is closed as ``failed`` when its
#: process cannot be checked (another host, or no pid recorded); the default of
#: ``store.stale_run_after_s``. A run whose process is known to be gone is closed at once.
STALE_RUN_AFTER_S = 6 * 3600.0
#: DuckDB options an analyst session's instance starts with (see :meth:`Store.open_analyst`).
ANALYST_CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,   # no extension is downloaded because a query names it
    "autoload_known_extensions": False,      # nor loaded (parquet, json and icu are built in)
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "python_enable_replacements": False,     # a table name never reads a Python variable of this process
}
#: Then, once its database is open, these settings, in this order (DuckDB enforces them, not a
#: parser of ours; the order matters: the last two forbid changing any of them).
ANALYST_SESSION_SETTINGS: tuple[tuple[str, str], ...] = (
    ("TimeZone", "'UTC'"),
    ("temp_directory", "''"),                # nothing spills to disk: no files beside the database (and its
                                             # temp folder is not an allowed directory once access is off)
    ("allowed_directories", "[]"),           # no exceptions to the next setting (DuckDB itself re-adds the open
    ("allowed_paths", "[]"),                 # database's own files, which COPY cannot write)
    ("enable_external_access", "false"),     # no file but the open database, no URL: no read_csv/glob/read_blob...,
                                             # COPY TO/FROM, EXPORT/IMPORT, ATTACH of a file, INSTALL or LOAD
    ("lock_configuration", "true"),          # no SET/RESET can undo any of the above
)


class DatabaseLocked(duckdb.IOException):
    """Another process holds the database file (DuckDB allows one writer); a one-line message with a hint."""

    def __init__(self, path: Path, holder: str, waited_s: float) -> None:
        self.path, self.holder, self.waited_s = path, holder, waited_s
        waited = f"after waiting {waited_s:g} s " if waited_s > 0 else ""
        super().__init__(
            f"database {path} is locked by another process{holder} {waited}(DuckDB allows one writer at a time); "
            "hint: another batch, stream or flow run is writing it: retry when it is done, or wait longer "
            "with store.lock_timeout_s (DISTILLGUARD_STORE__LOCK_TIMEOUT_S)"
        )

    def __reduce__(self):                      # picklable (flow runners ship exceptions between processes)
        return type(self), (self.path, self.holder, self.waited_s)


#: DuckDB's words for a file another process holds ("Could not set lock on file", "Conflicting
#: lock is held in ... (PID n)"; "already open" from older versions). A word starting "lock" only:
#: "Could not read block" is not one.
_LOCK_WORDS = re.compile(r"\block|conflicting|already open", re.IGNORECASE)


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB refusing a file another process holds.

    >>> is_lock_error(duckdb.IOException("Could not set lock on file: Conflicting lock is held in python (PID 7)"))
    True
    >>> is_lock_error(duckdb.IOException("Could not read block 3"))
    False
    """
    return isinstance(exc, duckdb.Error) and bool(_LOCK_WORDS.search(str(exc)))


def _lock_holder(exc: BaseException) -> str:
    found = re.search(r"\(PID (\d+)\)", str(exc))
    return f" (pid {found.group(1)})" if found else ""


def connect_waiting(path: Path, *, read_only: bool = False, lock_timeout_s: float = 0.0,
                    on_wait: Callable[[str], None] | None = None,
                    announce_after_s: float = 0.0) -> tuple[duckdb.DuckDBPyConnection, float]:
    """``duckdb.connect``, retrying with backoff while another process holds the file; returns the
    connection and the seconds spent waiting for the lock.

    Gives up with :class:`DatabaseLocked` (naming the holder's pid) after ``lock_timeout_s``
    (``math.inf``: never). ``on_wait`` is called once, with a one-line message, when the wait has
    lasted ``announce_after_s``.

    >>> import tempfile, pathlib
    >>> con, waited = connect_waiting(pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb")
    >>> waited
    0.0
    >>> con.close()
    """
    started = time.monotonic()
    delay, announced, locked_at = 0.02, False, None
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise
            locked_at = locked_at or time.monotonic()
            waited = time.monotonic() - started
            if waited >= lock_timeout_s:
                raise DatabaseLocked(path, _lock_holder(exc), lock_timeout_s) from exc
            if on_wait is not None and not announced and waited >= announce_after_s:
                on_wait(_waiting_message(path, _lock_holder(exc), lock_timeout_s, waited))
                announced = True
            time.sleep(max(0.0, min(delay, lock_timeout_s - waited)))
            delay = min(1.0, delay * 2)
        else:
            return con, (time.monotonic() - locked_at if locked_at is not None else 0.0)


def _waiting_message(path: Path, holder: str, lock_timeout_s: float, waited_s: float) -> str:
    if math.isinf(lock_timeout_s):
        return (f"database {path} has been locked by another process{holder} for {waited_s:.0f} s "
                "(store.lock_timeout_s); still waiting")
    return (f"database {path} is locked by another process{holder}; "
            f"waiting up to {lock_timeout_s:g} s for it (store.lock_timeout_s)")


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``con``'s DuckDB instance an analyst session: :data:`ANALYST_SESSION_SETTINGS`.

    Call it once every database the session needs is open: with external access off nothing
    else can be opened. An instance this process already locked (the same file opened twice; Python's
    DuckDB shares the instance) is checked instead. Settings are global, so a second connection
    to the shared instance has them too.
    """
    if _setting(con, "lock_configuration"):
        if _setting(con, "enable_external_access"):
            raise RuntimeError("this DuckDB instance is locked with external access on; it cannot serve analysts")
        return
    for name, value in ANALYST_SESSION_SETTINGS:
        con.execute(f"SET GLOBAL {name} = {value}")


def sql_text(name: str) -> str:
    """The text of ``sql/<name>`` shipped with the package (e.g. ``store/insert_events.sql``)."""
    return resources.files("distillguard.sql").joinpath(name).read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    """``(version, file name, sql)`` of every migration, in order."""
    folder = resources.files("distillguard.sql").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for (version, first, _), (again, second, _) in zip(found, found[1:]):
        if version == again:      # the second would never be applied (schema_migrations is keyed by version)
            raise ValueError(f"migrations {first} and {second} share version {version}; renumber one")
    return found


class Store:
    """A DuckDB database file holding events, rejects, accounts and detections."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.con = con
        self.path = path
        self.lock_wait_s = 0.0          # how long the open waited for another process's lock
        self._lake: Lake | None = None  # the event lake `events` is a view over (distillguard.lake)
        self._lake_settings: LakeSettings | None = None
        self._lake_writer: LakeWriter | None = None

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False, lock_timeout_s: float = 0.0,
             on_wait: Callable[[str], None] | None = None, announce_after_s: float = 0.0,
             stale_run_after_s: float = STALE_RUN_AFTER_S, lake: "LakeSettings | None" = None) -> "Store":
        """The database at ``path`` (created and migrated unless ``read_only``).

        A writable open points the ``events`` view at the event lake (``lake``, default: the
        configuration's ``[lake]``; see :meth:`point_events_at_lake`).

        While another process holds the file, waits up to ``lock_timeout_s`` (``math.inf``: as long
        as it takes), calling ``on_wait`` once with a message when it has waited ``announce_after_s``,
        then raises :class:`DatabaseLocked` (:func:`connect_waiting`; the wait is kept in
        :attr:`lock_wait_s`). Writers open it through :class:`distillguard.session.StoreSession`,
        which takes these from the configuration. A writable open records this
        process as the writer of any ``runs`` row it inserts and closes stale ``running`` rows
        (:meth:`close_stale_runs`).
        """
        path = Path(path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con, waited = connect_waiting(path, read_only=read_only, lock_timeout_s=max(0.0, lock_timeout_s),
                                      on_wait=on_wait, announce_after_s=announce_after_s)
        store = cls(con, path)
        store.lock_wait_s = waited
        try:
            con.execute("SET TimeZone = 'UTC'")
            if not read_only:
                con.execute(f"SET VARIABLE dg_writer_pid = {int(os.getpid())}")
                con.execute(f"SET VARIABLE dg_writer_host = '{_host().replace(chr(39), chr(39) * 2)}'")
                store.migrate()
                store.point_events_at_lake(lake)
                store.close_stale_runs(older_than_s=stale_run_after_s)
        except BaseException:
            con.close()
            raise
        return store

    @classmethod
    def open_analyst(cls, path: Path | str) -> "Store":
        """``path`` read-only in an analyst session that cannot change or leave its data.

        The instance is opened read-only, so every database in it is read-only: ``ATTACH`` of the
        same file cannot make it writable, and no in-memory database can be attached to switch to
        while the file is detached and attached again writable (which a read-only ``ATTACH`` into
        an in-memory session would allow). It starts with :data:`ANALYST_CONNECT_CONFIG` and is
        locked down with :data:`ANALYST_SESSION_SETTINGS`: no other file, URL or extension can be
        reached and no setting changed. Refusals are DuckDB's own errors (``Permission Error``,
        ``read-only mode``, ``configuration has been locked``).

        When ``events`` is a view over the event lake, the session reads the lake's files through
        an Arrow dataset registered before the lock-down (:func:`distillguard.lake.register_for_analysts`):
        DuckDB's ``allowed_directories`` would let it read them but also write into the lake.
        """
        path = Path(path)
        con = duckdb.connect(str(path), read_only=True, config=ANALYST_CONNECT_CONFIG)
        try:
            uri = _recorded_lake_uri(con) if _relation_type(con, "events") == "VIEW" else None
            if uri is not None:
                from distillguard.lake import LAKE_FILES_TABLE, register_for_analysts

                pinned = None
                if _relation_type(con, LAKE_FILES_TABLE) is not None:       # a snapshot: the files it was published with
                    pinned = [row[0] for row in con.execute(f"SELECT path FROM {LAKE_FILES_TABLE}").fetchall()]
                register_for_analysts(con, uri, _configured_lake().storage_options, pinned)
            lock_down(con)
        except BaseException:
            con.close()
            raise
        return cls(con, path)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def db_file(self) -> Path:
        """The database file (an in-memory store has none, and so no lake beside it)."""
        if self.path is None:
            raise ValueError("this store has no database file")
        return self.path

    # -- schema -------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply every migration newer than the database; returns the versions applied."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row[0] for row in self.con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, text in migrations():
            if version in done:
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(text)
                self.con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name]
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        return self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations")

    # -- runs ---------------------------------------------------------------------------
    def close_stale_runs(self, *, older_than_s: float = STALE_RUN_AFTER_S) -> list[str]:
        """Mark ``failed`` every ``running`` row of ``runs`` whose process is gone; returns their run ids.

        A row written on this host with a pid is stale when that process no longer exists (or is a
        zombie, or the pid now names a process started after the run); the current process's own
        rows never are. A row from another host, or without a pid, is stale ``older_than_s`` after
        it started (its process cannot be checked from here).
        """
        rows = self.con.execute("SELECT run_id, kind, started_at, pid, host FROM runs WHERE status = 'running'").fetchall()
        if not rows:
            return []
        now = _utc_now()
        closed = []
        for run_id, kind, started_at, pid, host in rows:
            why = _why_stale(started_at, pid, host, now, older_than_s)
            if why is None:
                continue
            message = f"closed as failed at {now:%Y-%m-%d %H:%M:%S} UTC by the next writer (pid {os.getpid()} on {_host()}): {why}"
            self.con.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ? AND status = 'running'",
                [now, message, run_id],
            )
            log.warning("%s run %s: %s", kind, run_id, message)
            closed.append(run_id)
        return closed

    # -- writes -------------------------------------------------------------------------
    @contextmanager
    def registered(self, name: str, frame: pl.DataFrame) -> Iterator[None]:
        self.con.register(name, frame.to_arrow())
        try:
            yield
        finally:
            self.con.unregister(name)

    def _changes(self, sql: str, name: str, frame: pl.DataFrame, params: dict | None = None) -> int:
        if frame.height == 0:
            return 0
        with self.registered(name, frame):
            before = self.count(_target_table(sql))
            self.con.execute(sql, params or {})
            after = self.count(_target_table(sql))
        return after - before

    def insert_events(self, events: pl.DataFrame, *, source: str) -> int:
        """Append accepted events to the event lake; returns how many were new (repeated event_ids
        are not written again, see :class:`distillguard.lake.LakeWriter`). Takes no DuckDB lock."""
        return self.lake_writer().append(events, source=source)

    # -- the event lake ---------------------------------------------------------------------
    @property
    def lake(self) -> "Lake":
        """The event lake ``events`` reads (recorded in the database; opened on first use)."""
        if self._lake is None:
            from distillguard.lake import Lake, default_lake_uri

            settings = self._lake_settings or _configured_lake()
            uri = settings.uri or _recorded_lake_uri(self.con) or default_lake_uri(self.db_file())
            self._lake = Lake(uri, settings.storage_options)
        return self._lake

    def lake_writer(self) -> "LakeWriter":
        """This store's writer into the lake (it remembers the event_ids of files it has read)."""
        if self._lake_writer is None:
            from distillguard.lake import LakeWriter

            settings = self._lake_settings or _configured_lake()
            self._lake_writer = LakeWriter(self.lake, lookback_hours=settings.dedupe_lookback_hours, rollups=settings.rollups)
        return self._lake_writer

    def point_events_at_lake(self, settings: "LakeSettings | None" = None) -> "Lake":
        """Make ``events`` the view over the lake ``settings`` names (default: the configuration's;
        without a ``lake.uri``, the lake this database already points at, else one beside it).

        Rows of an ``events`` table left by an earlier version are moved into the lake first (a
        crash midway moves them again at the next open: the writer skips those already there);
        those stamped outside the accepted time range go to ``rejected_events`` instead
        (:func:`split_legacy_events`).
        """
        from distillguard.lake import Lake, LakeWriter, default_lake_uri, duckdb_source, to_lake_rows, view_select

        settings = settings or _configured_lake()
        self._lake_settings = settings
        recorded = _recorded_lake_uri(self.con)
        lake = Lake(settings.uri or recorded or default_lake_uri(self.db_file()), settings.storage_options)
        self._lake, self._lake_writer = lake, None
        kind = _relation_type(self.con, "events")
        if kind == "BASE TABLE":
            mover = LakeWriter(lake, lookback_hours=0)
            reader = self.con.sql("SELECT * FROM events").to_arrow_reader(LEGACY_MOVE_ROWS)
            ts_range, set_aside = accepted_ts_range(), [empty_rejected()]
            for batch in reader:
                rows, rejected = split_legacy_events(_as_frame(pl.from_arrow(batch)), ts_range)
                set_aside.append(rejected)
                mover.append(to_lake_rows(rows, source=None), source=None)
            self.insert_rejected(pl.concat(set_aside))             # once the reader's result is drained
            log.info("moved the events table of %s into the event lake %s", self.path, lake.uri)
        if kind != "VIEW" or recorded != lake.uri:
            self.con.execute("BEGIN TRANSACTION")
            try:
                if kind == "BASE TABLE":
                    self.con.execute("DROP TABLE events")
                self.con.execute(f"CREATE OR REPLACE VIEW events AS {view_select(duckdb_source(lake))}")
                self.con.execute("DELETE FROM event_lake")
                self.con.execute("INSERT INTO event_lake VALUES (?, now()::TIMESTAMP)", [lake.uri])
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
        return lake

    def insert_rejected(self, rejected: pl.DataFrame) -> int:
        return self._changes(sql_text("store/insert_rejected.sql"), "incoming_rejected", rejected)

    def upsert_accounts(self, accounts: pl.DataFrame) -> int:
        wanted = ["account_id", "created_at", "tier", "email_domain", "payment_fingerprint", "signup_ip", "country"]
        frame = accounts.select([
            pl.col(c) if c in accounts.columns else pl.lit(None, dtype=pl.String).alias(c) for c in wanted
        ])
        if frame.height == 0:
            return 0
        with self.registered("incoming_accounts", frame):
            self.con.execute(sql_text("store/upsert_accounts.sql"))
        return frame.height

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        """Replace every row of ``table`` with ``frame`` (columns by name) in one transaction."""
        with self.registered("incoming_rows", frame):
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(f"DELETE FROM {table}")
                if frame.height:
                    self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise

    # -- reads --------------------------------------------------------------------------
    def count(self, relation: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {relation}")

    def has_table(self, name: str) -> bool:
        """Whether a table or view ``name`` exists (a read-only database of an older version may lack one)."""
        return bool(self.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def scalar(self, sql: str, params: list | dict | None = None) -> Any:
        """The first value of the first row (the result is fully consumed)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def frame(self, sql: str, params: list | dict | None = None) -> pl.DataFrame:
        """A query's result as a Polars frame (DuckDB 2 returns Arrow; no ``.pl()``)."""
        return _as_frame(pl.from_arrow(self.con.sql(sql, params=params or None).to_arrow_table()))


def split_legacy_events(rows: pl.DataFrame, ts_range: tuple[datetime, datetime]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of an earlier version's ``events`` table (``ts`` naive UTC) split by the accepted time
    range: ``(rows inside it, dead letters for the others)``.

    A reader before the range stored any time stamp Polars parsed (year 0 to 10000 in UTC), which
    Python's datetime, and so the lake's partitions, cannot all hold; such a row becomes what
    today's reader makes of it, a ``timestamp_out_of_range`` reject with the row as its raw text.

    >>> from datetime import timezone
    >>> rows = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2), datetime(1, 1, 1)], "source": ["f", None]})
    >>> kept, rejected = split_legacy_events(rows, (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc)))
    >>> kept["event_id"].to_list(), rejected.select("source", "reason_code").row(0)
    (['a'], ('events table of an earlier version', 'timestamp_out_of_range'))
    """
    earliest, latest = (moment.astimezone(timezone.utc).replace(tzinfo=None) for moment in ts_range)
    inside = pl.col("ts").is_between(earliest, latest).fill_null(False)
    outside = rows.filter(~inside)
    if outside.height == 0:
        return rows, empty_rejected()
    span = f"{_stamp(earliest)} to {_stamp(latest)}"
    rejected = outside.select(
        pl.col("source").fill_null("events table of an earlier version") if "source" in outside.columns
        else pl.lit("events table of an earlier version").alias("source"),
        pl.lit(None, dtype=pl.Int64).alias("position"),
        pl.Series("raw", _raw_rows(outside), dtype=pl.String),
        pl.lit("timestamp_out_of_range").alias("reason_code"),
        pl.format("ts {} stored by an earlier version is outside the accepted range ({}); not moved into the event lake",
                  pl.col("ts").cast(pl.String), pl.lit(span)).alias("reason"),
    ).cast(REJECTED_SCHEMA)
    return rows.filter(inside), rejected


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> Any:
    row = con.execute("SELECT current_setting(?)", [name]).fetchone()
    return row[0] if row else None


def _as_frame(data: pl.DataFrame | pl.Series) -> pl.DataFrame:
    """``pl.from_arrow``'s result for a table (typed as frame or series)."""
    return data if isinstance(data, pl.DataFrame) else data.to_frame()


def _host() -> str:
    return socket.gethostname()


#: Rows per piece when an ``events`` table of an earlier version is moved into the lake.
LEGACY_MOVE_ROWS = 500_000


def _configured_lake() -> "LakeSettings":
    """The configuration's ``[lake]`` (its defaults when the configuration cannot be read here)."""
    from distillguard.config import LakeSettings, load_settings

    try:
        return load_settings().lake
    except Exception:                      # noqa: BLE001 - the command reading it reports a bad configuration
        return LakeSettings()


def _relation_type(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """``'BASE TABLE'``, ``'VIEW'`` or None: what ``name`` is in the open database's main schema."""
    rows = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = ? AND table_catalog = current_database()", [name]).fetchall()
    return rows[0][0] if rows else None


def _recorded_lake_uri(con: duckdb.DuckDBPyConnection) -> str | None:
    """Where this database's ``events`` view points (None before version 7 or before any open for writing)."""
    if _relation_type(con, "event_lake") is None:
        return None
    rows = con.execute("SELECT uri FROM event_lake LIMIT 1").fetchall()
    return rows[0][0] if rows else None


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _why_stale(started_at: datetime, pid: int | None, host: str | None, now: datetime, older_than_s: float) -> str | None:
    """Why a ``running`` row is stale, or None while its process may still be running it."""
    if pid is not None and host == _host():
        if pid == os.getpid():
            return None
        state = _process_state(pid)
        if state is None:
            return f"its process (pid {pid}) is gone: it was killed or crashed before recording the run's end"
        status, process_started = state
        if status == "Z":
            return f"its process (pid {pid}) has exited (a zombie) without recording the run's end"
        run_started = started_at.replace(tzinfo=timezone.utc).timestamp()
        if process_started is not None and process_started > run_started + 2.0:
            return f"its process (pid {pid}) is gone: pid {pid} now belongs to a process started after the run"
        return None
    age = (now - started_at).total_seconds()
    if age <= older_than_s:
        return None
    owner = f"pid {pid} on {host}" if pid is not None else "unknown: no pid recorded"
    return (f"still running {age / 3600:.1f} h after it started, longer than store.stale_run_after_s "
            f"({older_than_s:g} s), and its process ({owner}) cannot be checked from here")


def _process_state(pid: int) -> tuple[str, float | None] | None:
    """``(state letter, start time as a Unix time)`` of process ``pid`` on this host, None when there is none.

    The start time (from ``/proc``, Linux) tells a reused pid apart; elsewhere it is None and
    only the pid's existence counts.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass                                   # exists, owned by another user
    except OverflowError:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return "?", None


def _target_table(sql: str) -> str:
    match = re.search(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", sql, re.IGNORECASE)
    if not match:
        raise ValueError("statement has no INSERT INTO target")
    return match.group(1)
