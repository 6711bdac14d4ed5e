"""The analyst snapshot: a read-only copy of the database that analysts query while writers run.

A DuckDB file has one writing process, and while it has the file open no other process can
open it, not even read-only. The stream holds the file for every micro-batch and a batch run
for minutes, so analysts would mostly see "could not set lock". Instead the writers publish a
snapshot: while holding the database they checkpoint it and copy the file (or, when identifiers
are hashed, ``COPY FROM DATABASE`` with the private columns rewritten) into a new, never again
written *version* file in ``<snapshot>.versions/``, then atomically point the symbolic link
``store.snapshot_path`` (default: ``<db stem>.analyst.duckdb`` beside the database) at it.
Readers resolve the link once and open the version file itself, read-only, in a locked analyst
session (:meth:`distillguard.store.Store.open_analyst`). Renaming a new file over one fixed path is
not enough: DuckDB opens the path more than once, and a rename between those opens hands it the
header of one file and the blocks of the next ("No more data remaining in MetadataReader"); a
version file never changes, so whatever a reader resolved stays whole. Superseded versions are
deleted ``SUPERSEDED_GRACE_S`` after the next one is published (a reader that already opened one
keeps reading it: the open file outlives its name).

The stream keeps the snapshot at most ``store.snapshot_interval_s`` old (:func:`snapshot_due`,
judged by the version file's age, which is its data's age, so replicas of a consumer group share
the budget): it publishes when the snapshot would be older than that before it next checks, after
a micro-batch or on an idle poll. A batch run publishes when it finishes. ``snapshot_info``
inside the snapshot records when it was taken and the newest event it holds, so staleness can be
measured. With ``privacy.hash_identifiers`` the snapshot carries keyed hashes instead of IPs and
end-user ids (:mod:`distillguard.privacy`); the database itself keeps them for the detectors.

>>> import tempfile, pathlib
>>> from distillguard.config import Settings
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> settings = Settings(store={"db_path": folder / "dg.duckdb"})
>>> info = publish_snapshot(folder / "dg.duckdb", settings)
>>> info.path.name, info.path.is_symlink(), info.path.resolve().parent.name
('dg.analyst.duckdb', True, 'dg.analyst.duckdb.versions')
>>> with open_analyst_store(folder / "dg.duckdb", settings) as source:
...     source.kind, source.store.count("flagged_accounts")
('snapshot', 0)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import ARROW, SPECIAL  # a UDF over Arrow arrays that is handed NULLs too

from distillguard.config import Settings, load_settings
from distillguard.lake import LAKE_FILES_TABLE, SCHEMA_FILE, Lake, view_select
from distillguard.privacy import DROPPED_COLUMNS, IDENTIFIER_COLUMNS, TEXT_COLUMN_PATTERN, KeyedHasher, require_key
from distillguard.store import Store, _relation_type

log = logging.getLogger("distillguard.snapshot")

SNAPSHOT_ALIAS = "dg_analyst_snapshot"
INFO_TABLE = "snapshot_info"
SUPERSEDED_GRACE_S = 30.0      # a superseded version stays this long for readers that resolved the link just before
ABANDONED_TMP_S = 3600.0       # a half-written version this old was left by a publisher that died


class SnapshotUnavailable(RuntimeError):
    """Neither a snapshot nor the database itself can be opened for analysts right now."""


@dataclass
class SnapshotInfo:
    path: Path
    published_at: datetime            # UTC: the data is as of this moment
    source_max_event_ts: datetime | None
    events: int
    hashed_identifiers: bool
    seconds: float                    # how long publishing took


def snapshot_path_for(db_path: Path | str, settings: Settings | None = None) -> Path:
    """``store.snapshot_path`` when configured, else ``<db stem>.analyst.duckdb`` beside ``db_path``."""
    settings = settings or load_settings()
    if settings.store.snapshot_path is not None:
        return Path(settings.store.snapshot_path)
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}.analyst.duckdb")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def snapshot_age_s(path: Path) -> float | None:
    """Seconds since the data of the snapshot at ``path`` was taken (None when there is none): a
    version file's modification time is set to its ``published_at``, when the copy began."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


def snapshot_due(db_path: Path | str, settings: Settings, *, lead_s: float = 0.0) -> bool:
    """Whether the snapshot of ``db_path`` is missing, or will be older than ``store.snapshot_interval_s``
    ``lead_s`` seconds from now (``lead_s`` capped at half the interval).

    A writer that checks again only after its next unit of work passes that work's expected
    duration (plus a publication's) as ``lead_s``, so the snapshot analysts read is never older
    than the interval; the cap keeps publications at most two per interval however slow its steps.
    """
    age = snapshot_age_s(snapshot_path_for(db_path, settings))
    interval = settings.store.snapshot_interval_s
    return age is None or age + min(max(lead_s, 0.0), interval / 2) >= interval


#: What a failed publication raises; :func:`maybe_publish_snapshot` logs these instead.
SNAPSHOT_ERRORS = (OSError, duckdb.Error)


def maybe_publish_snapshot(store_or_path: Store | Path | str, settings: Settings | None = None, *,
                           force: bool = False) -> SnapshotInfo | None:
    """Publish when :func:`snapshot_due` (missing, or older than ``store.snapshot_interval_s``) or ``force``.

    Given a path, the database is opened (waiting while another process writes) only when a
    snapshot is due, so calling this after every micro-batch is cheap. A failure to publish
    (disk full, say) is logged, not raised: the writer's own work is done and must not be
    replayed for it; the snapshot just ages, which ``snapshot_info`` shows
    (:meth:`distillguard.session.StoreSession.maybe_publish_snapshot`).
    """
    from distillguard.session import StoreSession

    if isinstance(store_or_path, Store):
        return StoreSession(settings, store_or_path.db_file()).maybe_publish_snapshot(store_or_path, force=force)
    return StoreSession(settings, store_or_path, wait_forever=True).maybe_publish_snapshot(force=force)


def publish_snapshot(store_or_path: Store | Path | str, settings: Settings | None = None, *,
                     pinned: PinnedEvents | None = None) -> SnapshotInfo:
    """Copy the database into a fresh DuckDB file and atomically rename it to the snapshot path.

    Given a path, the database is opened through :class:`distillguard.session.StoreSession`
    (waiting while another process writes). ``pinned``: the lake's files and their counts taken
    beforehand without the lock (:func:`pin_lake`; a session that has opened the database before
    does so), so that the lock is held only for the copy; None: taken here, under the lock."""
    settings = settings or load_settings()
    require_key(settings.privacy.hash_identifiers, settings.privacy.hash_key)
    if not isinstance(store_or_path, Store):
        from distillguard.session import StoreSession

        return StoreSession(settings, store_or_path, wait_forever=True).publish_snapshot()
    store = store_or_path
    target = snapshot_path_for(store.db_file(), settings)
    versions = versions_folder(target)
    versions.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    published_at = _now()
    version = versions / f"{published_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.duckdb"
    tmp = version.with_name(version.name + ".tmp")
    hasher = KeyedHasher(settings.privacy.hash_key) if settings.privacy.hash_identifiers else None
    pinned = pinned or pin_store_events(store)
    lake_files = pinned.files
    info = SnapshotInfo(target, published_at, pinned.max_event_ts, pinned.events, hasher is not None, 0.0)
    try:
        _copy_into(store, tmp, hasher, info, lake_files)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        taken = published_at.replace(tzinfo=timezone.utc).timestamp()
        os.utime(tmp, (taken, taken))            # the file's age is its data's age (snapshot_age_s)
        os.replace(tmp, version)
        _point_link_at(target, version)
        info.seconds = time.monotonic() - started
    except BaseException:
        version.unlink(missing_ok=True)
        raise
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    prune_versions(target)
    log.info("analyst snapshot %s published in %.2f s (%d events)", version, info.seconds, info.events)
    return info


def versions_folder(snapshot: Path) -> Path:
    """Where the version files behind the ``snapshot`` link live: ``<snapshot>.versions/``."""
    return snapshot.with_name(snapshot.name + ".versions")


def _point_link_at(link: Path, version: Path) -> None:
    """Atomically make ``link`` a relative symbolic link to ``version`` (replacing a file or an older link)."""
    staged = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.link")
    os.symlink(os.path.relpath(version, link.parent), staged)
    try:
        os.replace(staged, link)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def prune_versions(snapshot: Path, *, grace_s: float = SUPERSEDED_GRACE_S) -> list[Path]:
    """Delete versions superseded more than ``grace_s`` ago (never the one the link points at).

    A version is superseded when the next one is renamed into place, so it has been superseded
    for as long as the next version's inode was last changed (its ctime; its mtime is set back to
    when its copy began). Half-written versions older than ``ABANDONED_TMP_S`` go too.

    >>> import tempfile, pathlib
    >>> from distillguard.config import Settings
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> settings = Settings(store={"db_path": folder / "dg.duckdb"})
    >>> for _ in range(3):
    ...     _ = publish_snapshot(folder / "dg.duckdb", settings)
    >>> snapshot = snapshot_path_for(folder / "dg.duckdb", settings)
    >>> len(list(versions_folder(snapshot).glob("*.duckdb")))
    3
    >>> len(prune_versions(snapshot, grace_s=0)), [p.name for p in versions_folder(snapshot).iterdir()] == [snapshot.resolve().name]
    (2, True)
    """
    folder = versions_folder(snapshot)
    if not folder.is_dir():
        return []
    current = snapshot.resolve().name if snapshot.is_symlink() else None
    now = time.time()
    removed: list[Path] = []
    versions = sorted(folder.glob("*.duckdb"))          # names start with the publishing time
    for older, newer in zip(versions, versions[1:]):
        try:
            superseded_for = now - newer.stat().st_ctime
        except FileNotFoundError:
            continue
        if older.name != current and superseded_for > grace_s:
            older.unlink(missing_ok=True)
            removed.append(older)
    for tmp in folder.glob("*.tmp"):
        try:
            if now - tmp.stat().st_mtime > ABANDONED_TMP_S:
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed


def copy_without_dropping_locks(source: Path | str, target: Path | str) -> None:
    """Copy ``source`` to ``target`` in a child process.

    DuckDB guards its file with POSIX record locks, which belong to the process, and closing *any*
    descriptor of the file in that process drops them all: a ``shutil.copyfile`` of the open
    database would let a second writer in while this one still writes (its commits then fail on
    the WAL's lock, or worse). A child process's descriptors do not touch the parent's locks.
    """
    try:
        subprocess.run([sys.executable, "-c", "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])",
                        str(source), str(target)], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        raise OSError(f"copying {source} failed: {exc.stderr.decode(errors='replace').strip()}") from exc


@dataclass(frozen=True)
class PinnedEvents:
    """The events a snapshot holds: the event lake's files when it was listed (None: ``events`` is
    a table of an earlier version, not a view over the lake) and what they add up to."""

    files: list[str] | None
    max_event_ts: datetime | None
    events: int


def lake_files_now(lake: Lake) -> list[str]:
    """The lake's files now, with its schema file: a snapshot reads these and no later ones, so it
    shows its events as of its publication."""
    return [f"{lake.root}/{SCHEMA_FILE}", *(f.path for f in lake.files())]


def pin_lake(lake: Lake) -> PinnedEvents:
    """List ``lake`` and count its events in an in-memory DuckDB: no database file is locked while
    the lake is listed and read, so writers sharing the database do not wait on it.

    >>> import tempfile
    >>> pinned = pin_lake(Lake(tempfile.mkdtemp()))
    >>> len(pinned.files or []), pinned.events, pinned.max_event_ts
    (1, 0, None)
    """
    files = lake_files_now(lake)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        row = con.execute(f"SELECT max(ts), count(*) FROM {events_relation(None, files)}").fetchone()
    finally:
        con.close()
    return PinnedEvents(files, row[0] if row else None, int(row[1]) if row else 0)


def pin_store_events(store: Store) -> PinnedEvents:
    """:class:`PinnedEvents` of an open store, read through its connection (under its lock)."""
    files = lake_files_now(store.lake) if _relation_type(store.con, "events") == "VIEW" else None
    events = events_relation(store, files)
    return PinnedEvents(files, store.scalar(f"SELECT max(ts) FROM {events}"), store.scalar(f"SELECT count(*) FROM {events}"))


def events_relation(store: Store | None, lake_files: list[str] | None) -> str:
    """SQL for the events of ``lake_files`` (each once), or ``events`` itself when not pinned."""
    if lake_files is None:
        return "events"
    listed = ", ".join("'" + path.replace("'", "''") + "'" for path in lake_files)
    return f"({view_select(f'read_parquet([{listed}], hive_partitioning = true)')})"


def _copy_into(store: Store, tmp: Path, hasher: KeyedHasher | None, info: SnapshotInfo,
               lake_files: list[str] | None = None) -> None:
    con = store.con
    source = store.scalar("SELECT current_database()")
    if hasher is None:
        # Checkpointed, the database file holds everything and this process holds its only
        # writer: a byte copy is the snapshot, at disk speed (COPY FROM DATABASE re-encodes it).
        con.execute("CHECKPOINT")
        copy_without_dropping_locks(store.db_file(), tmp)
    con.execute(f"ATTACH '{_sql_string(tmp)}' AS {SNAPSHOT_ALIAS}")
    functions: list[str] = []
    try:
        if hasher is not None:
            functions = _register_hash_functions(con, hasher)
            con.execute(f'COPY FROM DATABASE "{source}" TO {SNAPSHOT_ALIAS} (SCHEMA)')
            for table, select in _private_selects(store, source):
                if table == "events" and lake_files is not None:
                    # the lake holds raw identifiers: the hashed snapshot gets its own events table
                    con.execute(f"DROP VIEW {SNAPSHOT_ALIAS}.main.events")
                    con.execute(f"CREATE TABLE {SNAPSHOT_ALIAS}.main.events AS SELECT {select} "
                                f"FROM {events_relation(store, lake_files)}")
                    continue
                con.execute(f'INSERT INTO {SNAPSHOT_ALIAS}.main."{table}" SELECT {select} FROM "{source}".main."{table}"')
        elif lake_files is not None:
            con.execute(f"CREATE OR REPLACE TABLE {SNAPSHOT_ALIAS}.main.{LAKE_FILES_TABLE} (path VARCHAR NOT NULL)")
            con.executemany(f"INSERT INTO {SNAPSHOT_ALIAS}.main.{LAKE_FILES_TABLE} VALUES (?)", [[p] for p in lake_files])
        con.execute(
            f"CREATE OR REPLACE TABLE {SNAPSHOT_ALIAS}.main.{INFO_TABLE} (published_at TIMESTAMP, source_path VARCHAR, "
            "source_schema_version INTEGER, source_max_event_ts TIMESTAMP, events BIGINT, hashed_identifiers BOOLEAN)"
        )
        con.execute(f"INSERT INTO {SNAPSHOT_ALIAS}.main.{INFO_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                    [info.published_at, str(store.db_file().resolve()), store.schema_version(), info.source_max_event_ts, info.events,
                     info.hashed_identifiers])
        con.execute(f"CHECKPOINT {SNAPSHOT_ALIAS}")
    finally:
        con.execute(f"DETACH {SNAPSHOT_ALIAS}")
        for name in functions:
            con.remove_function(name)


def _private_selects(store: Store, source: str) -> list[tuple[str, str]]:
    """Per table, a select list with identifiers hashed, quoted IPs hashed and raw rejects blanked."""
    columns = store.frame(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = $db AND schema_name = 'main' "
        "AND (table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = $db AND schema_name = 'main') "
        "OR table_name = 'events') "
        "ORDER BY table_name, column_index",
        {"db": source},
    )
    selects: dict[str, list[str]] = {}
    for table, column, dtype in columns.iter_rows():
        quoted = f'"{column}"'
        text = dtype in ("VARCHAR", "JSON")
        if text and (table, column) in DROPPED_COLUMNS:
            expr = f"NULL AS {quoted}"
        elif text and column in IDENTIFIER_COLUMNS:
            expr = f"dg_hash_identifier({quoted}) AS {quoted}"
        elif text and TEXT_COLUMN_PATTERN.search(column):
            expr = f"dg_hash_ips_in_text(CAST({quoted} AS VARCHAR)) AS {quoted}"
        else:
            expr = quoted
        selects.setdefault(table, []).append(expr)
    return [(table, ", ".join(exprs)) for table, exprs in selects.items()]


def _register_hash_functions(con: duckdb.DuckDBPyConnection, hasher: KeyedHasher) -> list[str]:
    def vectorised(fn):
        def apply(column: pa.Array) -> pa.Array:
            distinct = pc.unique(column)
            mapped = pa.array([None if v is None else fn(v) for v in distinct.to_pylist()], pa.string())
            return pc.take(mapped, pc.index_in(column, value_set=distinct))
        return apply

    names = {"dg_hash_identifier": hasher.hash, "dg_hash_ips_in_text": hasher.hash_ips_in_text}
    for name, fn in names.items():
        con.create_function(name, vectorised(fn), ["VARCHAR"], "VARCHAR", type=ARROW, null_handling=SPECIAL)
    return list(names)


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


# -- reading ----------------------------------------------------------------------------------

@dataclass
class AnalystSource:
    """What an analyst tool opened: the snapshot (preferred) or the database itself, read-only."""

    store: Store
    kind: str                         # "snapshot" | "database"
    path: Path
    published_at: datetime | None = None
    source_max_event_ts: datetime | None = None
    hashed_identifiers: bool = False

    def __enter__(self) -> "AnalystSource":
        return self

    def __exit__(self, *exc) -> None:
        self.store.close()

    def describe(self) -> str:
        if self.kind == "database":
            return f"database {self.path} (read-only; no analyst snapshot published yet)"
        age = (_now() - self.published_at).total_seconds() if self.published_at else float("nan")
        newest = f", newest event {self.source_max_event_ts:%Y-%m-%d %H:%M:%S}" if self.source_max_event_ts else ""
        hashed = ", identifiers hashed" if self.hashed_identifiers else ""
        return f"analyst snapshot {self.path} (published {self.published_at:%Y-%m-%d %H:%M:%S} UTC, {age:.0f} s ago{newest}{hashed})"


def open_analyst_store(db_path: Path | str, settings: Settings | None = None) -> AnalystSource:
    """The snapshot of ``db_path`` read-only when one exists, else ``db_path`` itself read-only.

    Either way the session is an analyst sandbox (:meth:`Store.open_analyst`): read-only, no
    other file, URL or extension reachable, configuration locked. With
    ``privacy.hash_identifiers`` on there is no fallback: the database holds raw identifiers.
    """
    settings = settings or load_settings()
    db_path = Path(db_path)
    snapshot = snapshot_path_for(db_path, settings)
    if snapshot.exists():
        store = _open_snapshot(snapshot)
        info = read_snapshot_info(store)
        return AnalystSource(store, "snapshot", snapshot, info.get("published_at"), info.get("source_max_event_ts"),
                             bool(info.get("hashed_identifiers")))
    if settings.privacy.hash_identifiers:
        raise SnapshotUnavailable(
            f"no analyst snapshot at {snapshot} yet, and identifiers are hashed for analysts (privacy.hash_identifiers), "
            f"so {db_path} is not opened directly; run `distillguard snapshot --db {db_path}` or wait for a writer to publish one"
        )
    if not db_path.exists():
        raise SnapshotUnavailable(f"no database at {db_path} (and no analyst snapshot at {snapshot})")
    try:
        store = Store.open_analyst(db_path)
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SnapshotUnavailable(
            f"{db_path} is being written by another process and no analyst snapshot exists yet ({reason}); "
            f"run `distillguard snapshot --db {db_path}` or retry shortly"
        ) from exc
    return AnalystSource(store, "database", db_path)


def _open_snapshot(path: Path, *, attempts: int = 3) -> Store:
    """The snapshot read-only, in an analyst sandbox (:meth:`Store.open_analyst`).

    The link is resolved first and the version file it names is opened: that file never
    changes, while the link may move to a newer version at any moment (and DuckDB opens its
    path more than once). A version deleted between resolving and opening (only after
    ``SUPERSEDED_GRACE_S``) is retried on the link's new target. Because a version file never
    changes, DuckDB handing back the instance another connection of this process already has
    open for it is harmless. The file is opened directly, read-only, rather than attached
    into an in-memory session: in a writable session an analyst could ``DETACH`` it and
    ``ATTACH`` it again writable.
    """
    for attempt in range(attempts):
        version = path.resolve()
        try:
            return Store.open_analyst(version)
        except duckdb.IOException:
            if attempt == attempts - 1 or version.exists():
                raise
    raise AssertionError("unreachable")


def read_snapshot_info(store: Store) -> dict:
    """The ``snapshot_info`` row of a snapshot (empty for a database that is not one)."""
    if not store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = $t", {"t": INFO_TABLE}):
        return {}
    rows = store.frame(f"SELECT * FROM {INFO_TABLE} ORDER BY published_at DESC LIMIT 1").to_dicts()
    return rows[0] if rows else {}
