"""The stream's outbox: what a replica makes durable for DuckDB, as Parquet files it needs no lock for.

A DuckDB file has one writing process at a time. Events already go to the event lake without a
lock (:mod:`distillguard.lake`); the rest a ``stream`` replica keeps (its alerts, its dead letters,
the offsets audit, and which alerts are on the alerts topic) goes here first, as files of its own
under the lake's root, each made visible whole by :meth:`distillguard.lake.Lake.write_file` (a
hidden temporary name renamed into place; one PUT on an object store)::

    stream_outbox/alerts/<writer>-<stamp>-<uuid>.parquet       ALERT_SCHEMA rows (stream_insert_alerts.sql's columns)
    stream_outbox/published/<writer>-...parquet                alert_id, published_at: on the alerts topic
    stream_outbox/rejected/<writer>-...parquet                 REJECTED_SCHEMA rows (dead letters)
    stream_outbox/offsets/<writer>-...parquet                  group_id, topic, partition, next_offset, max_event_ts, recorded_at

``<writer>`` is host and pid (:func:`distillguard.lake.writer_tag`); no replica writes into
another's files, and a file is never changed once written, only deleted once folded.

**Folding** (:func:`fold_outbox`) puts every outbox file into DuckDB and then deletes the files:
alerts ``INSERT OR IGNORE`` (deterministic ids), dead letters idempotent by their key as before,
the offsets audit upserted (the newest row per partition wins), published markers set
``alerts.published_at``. It is plain and idempotent (a fold that dies before its deletes is done
again by the next one, which changes nothing twice), and any writer that holds the file may run it:

* a replica, every ``stream.outbox_fold_every_s``, when :meth:`~distillguard.session.StoreSession.try_open`
  gets the file without waiting (busy: it skips and tries again after its next micro-batch); it
  folds every replica's files, so a replica that rarely gets the file loses nothing;
* ``distillguard stream``'s clean exit (which may wait for the file, as at its start);
* every analysts' snapshot publication (:meth:`~distillguard.session.StoreSession.publish_snapshot`:
  batch, rings, maintenance, review, ``distillguard snapshot``) and the maintenance flow.

So analysts see an alert in DuckDB's ``alerts`` (and the snapshot) at most about
``stream.outbox_fold_every_s`` after it was raised while no other process holds the file for long
(a batch run holding it for minutes delays the fold until it lets go, and that run's own snapshot
publication folds first). The alerts topic gets it at once.

**Publication** keeps the outbox's semantics: an alert is durable (its outbox file) before it is
sent to the alerts topic; once sent, a ``published`` marker file is written. At start a replica
republishes every alert with neither a marker nor ``published_at`` in DuckDB
(:func:`unpublished_alerts`), except those whose writer is a live process on this host (it
publishes its own); alert ids are deterministic, so a republication after a crash between the send
and the marker (or of another host's replica still alive) is a duplicate on the topic, tolerated as
before.

>>> import tempfile, pathlib
>>> from distillguard.lake import Lake
>>> outbox = Outbox(Lake(str(pathlib.Path(tempfile.mkdtemp()) / "dg.lake")), writer="hostA-1")
>>> _ = outbox.write("published", pl.DataFrame({"alert_id": ["a1"], "published_at": [datetime(2026, 11, 2)]}))
>>> [f.writer for f in outbox.files("published")], outbox.read("published", outbox.files("published"))["alert_id"].to_list()
(['hostA-1'], ['a1'])
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Iterable, cast

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from distillguard.events import REJECTED_SCHEMA
from distillguard.lake import Lake, writer_tag
from distillguard.store import Store, _process_state, sql_text
from distillguard.stream.microbatch import ALERT_SCHEMA, OFFSETS_SCHEMA

log = logging.getLogger("distillguard.stream")

OUTBOX_DIR = "stream_outbox"
#: A published marker: the alert is on the alerts topic since ``published_at``.
PUBLISHED_SCHEMA = pl.Schema({"alert_id": pl.String(), "published_at": pl.Datetime("us")})
#: The offsets audit with the moment it was recorded (``stream_offsets.updated_at``; the newest wins).
OUTBOX_OFFSETS_SCHEMA = pl.Schema({**OFFSETS_SCHEMA, "recorded_at": pl.Datetime("us")})
#: Each outbox table and its rows' schema. Listed in this order by :func:`fold_outbox`: markers
#: before alerts, so every marker folded has its alert folded with it or before.
TABLES: dict[str, pl.Schema] = {
    "published": PUBLISHED_SCHEMA,
    "alerts": ALERT_SCHEMA,
    "rejected": REJECTED_SCHEMA,
    "offsets": OUTBOX_OFFSETS_SCHEMA,
}
#: The columns of an alert as published on the alerts topic.
PUBLISHED_COLUMNS = ["alert_id", "ts", "account_id", "score", "reasons", "severity", "first_event_ts", "raised_at"]
#: What a fold can fail with (the files stay; the next fold takes them).
FOLD_ERRORS = (OSError, duckdb.Error, pa.ArrowException)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class OutboxFile:
    table: str
    path: str              # in the lake's file system
    writer: str            # host-pid of the process that wrote it
    stamp: datetime        # when it was written (UTC, from its name)


@dataclass
class FoldReport:
    """What one :func:`fold_outbox` put into DuckDB (new rows) and how many files it folded."""

    files: int = 0
    alerts: int = 0
    published: int = 0
    rejected: int = 0
    offsets: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Outbox:
    """The outbox folders under ``lake``'s root; ``writer`` names the files this instance writes
    (default: this process, :func:`distillguard.lake.writer_tag`)."""

    def __init__(self, lake: Lake, *, writer: str | None = None) -> None:
        self.lake = lake
        self.writer = writer or writer_tag()

    def folder(self, table: str) -> str:
        if table not in TABLES:
            raise ValueError(f"no outbox table {table!r}")
        return f"{self.lake.root}/{OUTBOX_DIR}/{table}"

    def write(self, table: str, frame: pl.DataFrame) -> OutboxFile | None:
        """``frame`` (cast to the table's schema) as a new file of this writer; None when empty."""
        if frame.height == 0:
            return None
        schema = TABLES[table]
        rows = frame.select(list(schema)).cast(schema)
        stamp = _now()
        path = f"{self.folder(table)}/{self.writer}-{stamp:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
        self.lake.write_file(path, rows)
        return OutboxFile(table, path, self.writer, stamp)

    def files(self, table: str) -> list[OutboxFile]:
        """``table``'s files now (not those still being written), oldest first."""
        selector = pafs.FileSelector(self.folder(table), allow_not_found=True)
        found = []
        for info in self.lake.fs.get_file_info(selector):
            name = info.base_name
            if info.type != pafs.FileType.File or not name.endswith(".parquet") or name.startswith((".", "_")):
                continue
            parsed = _parse_name(name)
            if parsed is not None:
                found.append(OutboxFile(table, info.path, *parsed))
        return sorted(found, key=lambda f: (f.stamp, f.path))

    def has_files(self) -> bool:
        return any(self.files(table) for table in TABLES)

    def read(self, table: str, files: Iterable[OutboxFile], *, with_writer: bool = False) -> pl.DataFrame:
        """The rows of ``files`` of ``table`` (``with_writer``: plus a ``_writer`` column). A file
        gone meanwhile (folded by another writer: its rows are in DuckDB) is skipped."""
        schema = TABLES[table]
        parts = []
        for f in files:
            try:
                frame = cast(pl.DataFrame, pl.from_arrow(pq.read_table(f.path, filesystem=self.lake.fs)))
            except FileNotFoundError:
                continue
            frame = frame.select(list(schema)).cast(schema)
            parts.append(frame.with_columns(pl.lit(f.writer).alias("_writer")) if with_writer else frame)
        if not parts:
            empty = pl.DataFrame(schema=schema)
            return empty.with_columns(pl.lit(None, dtype=pl.String).alias("_writer")) if with_writer else empty
        return pl.concat(parts)

    def delete(self, files: Iterable[OutboxFile]) -> None:
        for f in files:
            try:
                self.lake.fs.delete_file(f.path)
            except FileNotFoundError:
                pass


def _parse_name(name: str) -> tuple[str, datetime] | None:
    """``(writer, stamp)`` of an outbox file name ``<host>-<pid>-<stamp>-<uuid>.parquet``.

    >>> _parse_name("hostA-42-20261102T101500123456-3f9c2a1b.parquet")
    ('hostA-42', datetime.datetime(2026, 11, 2, 10, 15, 0, 123456))
    """
    parts = name[: -len(".parquet")].rsplit("-", 2)
    if len(parts) != 3:
        return None
    try:
        return parts[0], datetime.strptime(parts[1], "%Y%m%dT%H%M%S%f")
    except ValueError:
        return None


def writer_alive(writer: str, written_at: datetime) -> bool:
    """Whether ``writer`` (host-pid) is a process still running on this host, the one that wrote at
    ``written_at`` (a pid reused by a later process is not). A writer on another host cannot be
    checked from here: False (its unmarked alerts are republished; a duplicate is tolerated)."""
    host, _, pid = writer.rpartition("-")
    if host != writer_tag().rpartition("-")[0] or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    state = _process_state(int(pid))
    if state is None or state[0] == "Z":
        return False
    started = state[1]
    return started is None or started <= written_at.replace(tzinfo=timezone.utc).timestamp() + 2.0


# -- what a starting replica republishes ----------------------------------------------------------
def unpublished_alerts(outbox: Outbox, store: Store | None) -> pl.DataFrame:
    """Alerts to publish at a replica's start: in the outbox or in DuckDB (``store``: the open
    database, None to look at the outbox only), with no published marker and no ``published_at``,
    except those in a live writer's files (it publishes them itself); oldest first, with
    :data:`PUBLISHED_COLUMNS`."""
    from distillguard.stream.sink import unpublished_alerts as stored_unpublished

    markers = outbox.read("published", outbox.files("published"))          # listed before the alerts
    files = [f for f in outbox.files("alerts") if not writer_alive(f.writer, f.stamp)]
    pending = [outbox.read("alerts", files).select(PUBLISHED_COLUMNS)]
    if store is not None:
        pending.append(stored_unpublished(store).select(PUBLISHED_COLUMNS).cast({c: ALERT_SCHEMA[c] for c in PUBLISHED_COLUMNS}))
    alerts = pl.concat(pending).unique("alert_id", keep="first", maintain_order=True)
    alerts = alerts.filter(~pl.col("alert_id").is_in(markers["alert_id"].implode()))
    if store is not None and alerts.height:
        with store.registered("outbox_candidates", alerts.select("alert_id")):
            done = store.frame("SELECT alert_id FROM alerts WHERE published_at IS NOT NULL "
                               "AND alert_id IN (SELECT alert_id FROM outbox_candidates)")
        alerts = alerts.filter(~pl.col("alert_id").is_in(done["alert_id"].implode()))
    return alerts.sort(["raised_at", "alert_id"], nulls_last=True)


def outbox_alert_memory(outbox: Outbox, alerts: pl.DataFrame | None = None) -> pl.DataFrame:
    """The outbox's alerts (not yet folded; ``alerts``: those rows, already read) as
    ``stream_alert_memory.sql`` gives DuckDB's: per account the latest alert's severity, score and time."""
    if alerts is None:
        alerts = outbox.read("alerts", outbox.files("alerts"))
    return (alerts.sort("ts").group_by("account_id", maintain_order=True)
            .agg(pl.col("severity").last(), pl.col("score").last(), pl.col("ts").last()))


# -- folding ------------------------------------------------------------------------------------
def fold_outbox(store: Store, lake: Lake) -> FoldReport:
    """Put every outbox file of ``lake`` into ``store`` (open for writing, its lock held) in one
    transaction, then delete the files; idempotent (see the module docstring). Returns the new rows."""
    from distillguard.stream.sink import insert_alerts

    outbox = Outbox(lake)
    listed = {table: outbox.files(table) for table in TABLES}          # markers first (TABLES' order)
    report = FoldReport(files=sum(len(files) for files in listed.values()))
    if report.files == 0:
        return report
    frames = {table: outbox.read(table, files) for table, files in listed.items()}
    store.con.execute("BEGIN TRANSACTION")
    try:
        report.alerts = insert_alerts(store, frames["alerts"])
        report.rejected = store.insert_rejected(frames["rejected"])
        report.offsets = _fold_offsets(store, frames["offsets"])
        report.published = _fold_published(store, frames["published"])
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    outbox.delete(f for files in listed.values() for f in files)
    log.debug("folded %d outbox files into %s: %s", report.files, store.path, report)
    return report


def _fold_offsets(store: Store, offsets: pl.DataFrame) -> int:
    if offsets.height == 0:
        return 0
    newest = offsets.sort("recorded_at").unique(["group_id", "topic", "partition"], keep="last")
    with store.registered("outbox_offsets", newest):
        store.con.execute(sql_text("store/stream_fold_offsets.sql"))
    return newest.height


def _fold_published(store: Store, markers: pl.DataFrame) -> int:
    if markers.height == 0:
        return 0
    with store.registered("outbox_published", markers):
        before = store.scalar("SELECT count(*) FROM alerts WHERE published_at IS NULL")
        store.con.execute(sql_text("store/stream_fold_published.sql"))
        return before - store.scalar("SELECT count(*) FROM alerts WHERE published_at IS NULL")
