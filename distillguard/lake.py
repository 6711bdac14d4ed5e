"""The event lake: valid events as hive-partitioned Parquet that any number of writers append to.

Layout, under the lake's root (``lake.uri``; default ``<db folder>/<db stem>.lake``)::

    events/date=2026-11-02/hour=10/part-20261202T143102-4711-3f9c2a1b.parquet
    events/date=1970-01-01/hour=00/_schema.parquet        (no rows: keeps the glob and the schema whole)

Every writer (a stream replica, ``distillguard load``, ``batch``'s load step) writes files of its
own, named uniquely, and makes each visible in one step (written under a hidden name, then renamed;
a single PUT on an object store): no writer waits for another, and a reader sees a file whole or not
at all. Nothing is ever appended to an existing file.

A repeated ``event_id`` counts once:

1. **at write**: a writer drops the events whose id it finds in the partitions of the
   ``lake.dedupe_lookback_hours`` of event time before them (the file ids it has read once are
   remembered: files never change, so a stream replica reads each new file's ids once);
2. **in the view**: two writers that write the same event at the same moment (a replica that lost
   its partitions still finishing a micro-batch that the new owner replays) both find it absent;
   the ``events`` view (``sql/store/events_view.sql``) shows every event_id once anyway, the copy
   written first (``ingested_at``, then file name);
3. **at compaction**: :func:`compact` rewrites a partition's files into one, each event once, and
   applies retention (:func:`maintain`).

>>> import tempfile, pathlib, polars as pl
>>> from datetime import datetime
>>> lake = Lake(str(pathlib.Path(tempfile.mkdtemp()) / "dg.lake"))
>>> batch = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2, 10, 5), datetime(2026, 11, 2, 11, 0)],
...                       "account_id": ["x", "x"], "api_key_id": ["k", "k"], "client_ip": ["1.2.3.4"] * 2,
...                       "endpoint": ["/v1/messages"] * 2, "model": ["m"] * 2, "status": [200, 200],
...                       "prompt_tokens": [1, 1], "completion_tokens": [1, 1]})
>>> LakeWriter(lake).append(batch, source="doc"), LakeWriter(lake).append(batch, source="doc")
(2, 0)
>>> sorted(lake.partitions())
[('2026-11-02', '10'), ('2026-11-02', '11')]
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, cast

import polars as pl
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

log = logging.getLogger("distillguard.lake")

#: The ``events`` relation's columns and types, in order (``sql/migrations/001_base.sql``).
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(), "ts": pl.Datetime("us"), "account_id": pl.String(), "api_key_id": pl.String(),
    "end_user_id": pl.String(), "client_ip": pl.String(), "asn": pl.Int64(), "country": pl.String(),
    "user_agent": pl.String(), "endpoint": pl.String(), "model": pl.String(), "status": pl.Int32(),
    "latency_ms": pl.Float64(), "prompt_tokens": pl.Int64(), "completion_tokens": pl.Int64(),
    "finish_reason": pl.String(), "temperature": pl.Float64(), "top_p": pl.Float64(), "max_tokens": pl.Int64(),
    "n": pl.Int32(), "stream": pl.Boolean(), "logprobs": pl.Boolean(), "top_logprobs": pl.Int32(),
    "tools": pl.Int32(), "response_format": pl.String(), "conversation_id": pl.String(), "turn": pl.Int32(),
    "system_prompt_hash": pl.String(), "prompt": pl.String(), "source": pl.String(), "ingested_at": pl.Datetime("us"),
}
#: Each row also names the file it was written in (the view's tie-break between two copies of an event).
FILE_COLUMN = "lake_file"
LAKE_SCHEMA: dict[str, pl.DataType] = {**EVENT_SCHEMA, FILE_COLUMN: pl.String()}
EVENTS_DIR = "events"
#: The empty file that keeps the ``events`` glob matching (and typed) in a lake with no events yet.
SCHEMA_FILE = f"{EVENTS_DIR}/date=1970-01-01/hour=00/_schema.parquet"
PARQUET_COMPRESSION = "zstd"
#: Name of the Arrow dataset an analyst session reads the lake through (see :func:`register_for_analysts`).
ANALYST_RELATION = "dg_lake_events"
#: A snapshot's table of the lake files it reads (its events as of its publication; distillguard/snapshot.py).
LAKE_FILES_TABLE = "snapshot_lake_files"

Partition = tuple[str, str]          # ("2026-11-02", "10")


def default_lake_uri(db_path: Path | str) -> str:
    """The lake beside a database: ``<db folder>/<db stem>.lake`` (absolute).

    >>> default_lake_uri("/data/dg.duckdb")
    '/data/dg.lake'
    """
    db = Path(db_path).absolute()
    return str(db.with_name(db.stem + ".lake"))


def filesystem_for(uri: str, storage_options: dict | None = None) -> tuple[pafs.FileSystem, str]:
    """``(file system, root path in it)`` of a lake URI: a local folder or ``s3://bucket/prefix``
    (``storage_options``: :class:`pyarrow.fs.S3FileSystem` keywords).

    >>> filesystem_for("/tmp/x.lake")[1]
    '/tmp/x.lake'
    """
    if uri.startswith("s3://"):
        return pafs.S3FileSystem(**(storage_options or {})), uri[len("s3://"):].rstrip("/")
    if "://" in uri and not uri.startswith("file://"):
        fs, root = pafs.FileSystem.from_uri(uri)
        return fs, root.rstrip("/")
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    return pafs.LocalFileSystem(), str(Path(path).absolute())


def partition_of(ts: datetime) -> Partition:
    """The partition an event time falls in.

    >>> partition_of(datetime(2026, 11, 2, 9, 59))
    ('2026-11-02', '09')
    """
    return f"{ts:%Y-%m-%d}", f"{ts:%H}"


def partition_start(partition: Partition) -> datetime:
    return datetime.strptime(f"{partition[0]} {partition[1]}", "%Y-%m-%d %H")


def to_lake_rows(events: pl.DataFrame, *, source: str | None, ingested_at: datetime | None = None) -> pl.DataFrame:
    """``events`` with the lake's columns and types (a column it lacks is null; ``ts`` naive UTC);
    ``source`` and ``ingested_at`` set unless ``source`` is None (rows that already carry them)."""
    frame = events
    if frame.schema.get("ts") is not None and getattr(frame.schema["ts"], "time_zone", None):
        frame = frame.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    if source is not None:
        now = ingested_at or datetime.now(timezone.utc).replace(tzinfo=None)
        frame = frame.with_columns(pl.lit(source, dtype=pl.String).alias("source"), pl.lit(now, dtype=pl.Datetime("us")).alias("ingested_at"))
    return frame.select([
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in EVENT_SCHEMA.items()
    ])


def _with_partition(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_date"), pl.col("ts").dt.strftime("%H").alias("_hour"))


def writer_tag() -> str:
    """What names a writer in its files: host and process (files stay unique through a uuid)."""
    host = "".join(c for c in socket.gethostname() if c.isalnum())[:16] or "host"
    return f"{host}-{os.getpid()}"


@dataclass(frozen=True)
class LakeFile:
    path: str                # in the lake's file system
    partition: Partition
    size: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Lake:
    """A lake root: where its files are and how to list, write and delete them."""

    def __init__(self, uri: str, storage_options: dict | None = None) -> None:
        self.uri = uri if "://" in uri else str(Path(uri).absolute())
        self.fs, self.root = filesystem_for(uri, storage_options)
        self.local = isinstance(self.fs, pafs.LocalFileSystem)
        self.ensure()

    def __repr__(self) -> str:
        return f"Lake({self.uri!r})"

    # -- layout -------------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the root and the schema file (idempotent)."""
        schema_path = f"{self.root}/{SCHEMA_FILE}"
        if self.fs.get_file_info(schema_path).type == pafs.FileType.NotFound:
            self.write_file(schema_path, pl.DataFrame(schema=LAKE_SCHEMA))

    def partition_dir(self, partition: Partition) -> str:
        return f"{self.root}/{EVENTS_DIR}/date={partition[0]}/hour={partition[1]}"

    def glob(self) -> str:
        """The pattern every data file (and the schema file) matches, as DuckDB reads it."""
        base = self.uri.rstrip("/") if "://" in self.uri else self.root
        return f"{base}/{EVENTS_DIR}/date=*/hour=*/*.parquet"

    def files(self, dates: Iterable[str] | None = None) -> list[LakeFile]:
        """Data files (not the schema file, not files still being written), of ``dates`` or all."""
        wanted = None if dates is None else set(dates)
        found: list[LakeFile] = []
        top = pafs.FileSelector(f"{self.root}/{EVENTS_DIR}", allow_not_found=True)
        for date_dir in self.fs.get_file_info(top):
            name = date_dir.base_name
            if date_dir.type != pafs.FileType.Directory or not name.startswith("date="):
                continue
            date = name[len("date="):]
            if date == "1970-01-01" or (wanted is not None and date not in wanted):
                continue
            for info in self.fs.get_file_info(pafs.FileSelector(date_dir.path, recursive=True, allow_not_found=True)):
                parent = info.path.rsplit("/", 2)
                if (info.type != pafs.FileType.File or not info.base_name.endswith(".parquet")
                        or info.base_name.startswith(("_", ".")) or len(parent) < 3 or not parent[1].startswith("hour=")):
                    continue
                found.append(LakeFile(info.path, (date, parent[1][len("hour="):]), info.size or 0))
        return found

    def partitions(self) -> dict[Partition, list[LakeFile]]:
        out: dict[Partition, list[LakeFile]] = {}
        for f in self.files():
            out.setdefault(f.partition, []).append(f)
        return out

    # -- files ----------------------------------------------------------------------------------
    def write_file(self, path: str, frame: pl.DataFrame, metadata: dict[str, str] | None = None,
                   encodings: dict[str, str] | None = None) -> None:
        """Write ``frame`` to ``path`` so that it appears whole: a hidden temporary name renamed into
        place on a local disk; one PUT (atomic by itself) on an object store. ``metadata``: key-value
        pairs kept in the file's footer; ``encodings``: Parquet encodings of some columns (the rest
        dictionary-encoded as by default), e.g. ``{"ts_us": "DELTA_BINARY_PACKED"}`` for sorted integers."""
        table = frame.to_arrow()
        if metadata:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}})
        options: dict = {"compression": PARQUET_COMPRESSION}
        if encodings:
            options.update(use_dictionary=[c for c in frame.columns if c not in encodings], column_encoding=encodings)
        if not self.local:
            pq.write_table(table, path, filesystem=self.fs, **options)
            return
        folder, name = path.rsplit("/", 1)
        os.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            pq.write_table(table, tmp, **options)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def new_file_path(self, partition: Partition, kind: str = "part") -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        return f"{self.partition_dir(partition)}/{kind}-{stamp}-{writer_tag()}-{uuid.uuid4().hex[:8]}.parquet"

    def read(self, files: list[LakeFile], columns: list[str] | None = None) -> pl.DataFrame:
        """The rows of ``files`` (lake columns, or ``columns``)."""
        if not files:
            return pl.DataFrame(schema={c: LAKE_SCHEMA[c] for c in (columns or LAKE_SCHEMA)})
        table = ds.dataset([f.path for f in files], format="parquet", filesystem=self.fs,
                           schema=pl.DataFrame(schema=LAKE_SCHEMA).to_arrow().schema).to_table(columns=columns)
        return cast(pl.DataFrame, pl.from_arrow(table))             # a table: a frame, never a series

    def delete(self, files: Iterable[LakeFile]) -> None:
        for f in files:
            try:
                self.fs.delete_file(f.path)
            except FileNotFoundError:
                pass

    def analyst_dataset(self, paths: list[str] | None = None) -> ds.Dataset:
        """``paths`` (default: the lake's files as they are now) as an Arrow dataset (read by pyarrow,
        not by DuckDB); the schema file is left out (it holds no rows)."""
        chosen = [f.path for f in self.files()] if paths is None else [p for p in paths if not p.endswith(SCHEMA_FILE)]
        return ds.dataset(chosen, format="parquet", filesystem=self.fs, schema=pl.DataFrame(schema=LAKE_SCHEMA).to_arrow().schema)


class LakeWriter:
    """Appends batches of valid events to a lake, each event_id once (see the module docstring).

    One per writing process (or thread): it remembers the files it has read, so the next batch
    only reads files that are new since. What it remembers of a file is two 64-bit hashes of each
    event_id (16 bytes an event, :func:`id_keys`), not the ids: a batch is checked by probing
    those keys, which costs a load of 20 million events about as much per event as one of 2
    million (the ids themselves, concatenated and hashed again for every batch, made the check
    grow with everything already loaded). Two ids are taken for the same only when both hashes
    agree (a false match among a billion events in the look-back is about 10^-20 likely).

    >>> import tempfile, pathlib
    >>> from datetime import datetime
    >>> lake = Lake(str(pathlib.Path(tempfile.mkdtemp()) / "dg.lake"))
    >>> writer = LakeWriter(lake)
    >>> batch = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2, 10, 5)] * 2, "account_id": ["x", "x"]})
    >>> writer.append(batch, source="doc"), writer.known_ids(batch["event_id"], batch["ts"]).sort().to_list()
    (2, ['a', 'b'])
    """

    def __init__(self, lake: Lake, *, lookback_hours: float = 72.0, rollups: bool = False) -> None:
        self.lake = lake
        self.lookback = timedelta(hours=max(0.0, lookback_hours))
        #: whether each batch's new events also update the per-account rollups (``lake.rollups``)
        self.rollups = rollups
        self._keys: dict[str, pl.DataFrame] = {}        # file path -> id_keys of its event_ids

    def append(self, events: pl.DataFrame, *, source: str | None) -> int:
        """Write the events not already in the lake; returns how many were written.

        ``source`` names where they came from (None: the rows carry ``source`` and ``ingested_at``).
        """
        if events.height == 0:
            return 0
        rows = to_lake_rows(events, source=source)
        rows = rows.filter(pl.col("event_id").is_first_distinct())
        known = self.known_ids(rows["event_id"], rows["ts"])
        if known.len():
            rows = rows.filter(~pl.col("event_id").is_in(known.implode()))
        written = 0
        for (date, hour), part in _with_partition(rows).group_by(["_date", "_hour"]):
            path = self.lake.new_file_path((date, hour))
            part = part.drop("_date", "_hour").with_columns(pl.lit(path.rsplit("/", 1)[-1]).alias(FILE_COLUMN))
            self.lake.write_file(path, part)
            self._keys[path] = id_keys(part["event_id"])
            written += part.height
        if self.rollups and rows.height:
            self._write_rollups(rows)
        return written

    def _write_rollups(self, rows: pl.DataFrame) -> None:
        """The rollups of the events just written. Their events are in the lake already: a failure here
        must not fail the batch (a retry would find the events known and skip them, rollups too), so it
        is logged with the days ``rebuild_rollups`` repairs."""
        from distillguard.features.rollups import hourly_rollup, write_rollups

        try:
            write_rollups(self.lake, hourly_rollup(rows))
        except Exception:                       # noqa: BLE001 - logged with its repair; the events are safe
            dates = sorted(rows.select(pl.col("ts").dt.strftime("%Y-%m-%d").unique())["ts"].to_list())
            log.exception("rollups of %d events not written: distillguard.features.rollups.rebuild_rollups(lake, dates=%s) "
                          "rebuilds them from the lake", rows.height, dates)

    def known_ids(self, event_ids: pl.Series, ts: pl.Series) -> pl.Series:
        """Those of ``event_ids`` already in the lake's partitions from ``lookback`` before the
        earliest of ``ts`` (their events' times) to its latest hour."""
        empty = pl.Series("event_id", [], dtype=pl.String)
        if ts.len() == 0 or ts.null_count() == ts.len():
            return empty
        hours = ts.dt.truncate("1h").unique().to_list()
        wanted: set[Partition] = set()
        steps = int(self.lookback.total_seconds() // 3600)
        for hour in hours:
            wanted.update(partition_of(hour - timedelta(hours=k)) for k in range(steps + 1))
        files = [f for f in self.lake.files({d for d, _ in wanted}) if f.partition in wanted]
        kept: dict[str, pl.DataFrame] = {}
        for f in files:
            keys = self._keys.get(f.path)
            if keys is None:
                try:
                    table = pq.read_table(f.path, columns=["event_id"], filesystem=self.lake.fs)
                    keys = id_keys(cast(pl.DataFrame, pl.from_arrow(table))["event_id"])
                except (FileNotFoundError, OSError):
                    continue                     # compacted away meanwhile: its rows are in the new file
            kept[f.path] = keys
        self._keys = kept                        # files out of the look-back (or deleted) are forgotten
        if not kept:
            return empty
        known = pl.concat(list(kept.values()), rechunk=False)
        incoming = id_keys(event_ids).with_columns(event_ids.alias("event_id"))
        candidates = known.filter(pl.col("h1").is_in(incoming["h1"].implode()))
        return incoming.join(candidates, on=["h1", "h2"], how="semi")["event_id"].unique()


def id_keys(event_ids: pl.Series) -> pl.DataFrame:
    """Two independent 64-bit hashes of each id (columns ``h1``, ``h2``): what a :class:`LakeWriter`
    keeps of the ids it has seen.

    >>> id_keys(pl.Series(["a", "b", "a"])).n_unique()
    2
    """
    return pl.DataFrame({"h1": event_ids.hash(seed=0x5EED), "h2": event_ids.hash(seed=0xD157)})


# -- the DuckDB side: the `events` view ---------------------------------------------------------
def view_select(source: str) -> str:
    """The ``events`` view's query over ``source`` (a relation with the lake's columns).

    >>> "GROUP BY" in view_select("t")
    True
    """
    from distillguard.store import sql_text

    columns = ", ".join(f'"{c}"' for c in EVENT_SCHEMA)
    return sql_text("store/events_view.sql").replace("{columns}", columns).replace("{source}", source).strip().rstrip(";")


def duckdb_source(lake: Lake) -> str:
    """``read_parquet`` of every lake file, as the stored view reads it (new files show at once)."""
    pattern = lake.glob().replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = true)"


def register_for_analysts(con, uri: str, storage_options: dict | None = None, paths: list[str] | None = None) -> None:
    """In an analyst session (before it is locked down): ``events`` as a temporary view over the
    lake's files read through Arrow, so DuckDB itself needs no access to any file.

    DuckDB's ``allowed_directories`` would let the session read the lake, but also write into it
    (``COPY ... TO`` a path under it); an Arrow dataset is read-only. The file list is the one at
    opening, or ``paths`` (a snapshot's: its events as of its publication). A file compacted away
    since fails a query: open the session again (the maintenance flow publishes a new snapshot).
    """
    dataset = Lake(uri, storage_options).analyst_dataset(paths)
    con.register(ANALYST_RELATION, dataset)
    con.execute(f"CREATE OR REPLACE TEMP VIEW events AS {view_select(ANALYST_RELATION)}")


# -- maintenance --------------------------------------------------------------------------------
@dataclass
class MaintenanceReport:
    events_deleted: int = 0
    prompts_cleared: int = 0
    duplicates_removed: int = 0
    partitions_compacted: int = 0
    partitions_dropped: int = 0
    files_before: int = 0
    files_after: int = 0
    rollup_files_deleted: int = 0
    rollup_files_compacted: int = 0


def maintain(lake: Lake, *, event_cutoff: datetime | None = None, prompt_cutoff: datetime | None = None,
             min_files: int = 4) -> MaintenanceReport:
    """Compact and apply retention, partition by partition: a partition wholly older than
    ``event_cutoff`` is deleted; one with at least ``min_files`` files, or holding events older than
    ``event_cutoff`` or prompts older than ``prompt_cutoff`` (naive UTC), is rewritten into one file
    with each event once (:func:`compact`). Rows and their values are otherwise unchanged.
    """
    report = MaintenanceReport()
    for partition, files in sorted(lake.partitions().items()):
        report.files_before += len(files)
        start = partition_start(partition)
        end = start + timedelta(hours=1)
        if event_cutoff is not None and end <= event_cutoff:
            report.events_deleted += lake.read(files, ["event_id"])["event_id"].n_unique()
            lake.delete(files)
            report.partitions_dropped += 1
            continue
        needs_retention = ((event_cutoff is not None and start < event_cutoff)
                           or (prompt_cutoff is not None and start < prompt_cutoff and _has_prompts(lake, files)))
        if len(files) >= max(1, min_files) or needs_retention:
            kept, deleted, cleared, duplicates = compact(lake, partition, files, event_cutoff=event_cutoff, prompt_cutoff=prompt_cutoff)
            report.events_deleted += deleted
            report.prompts_cleared += cleared
            report.duplicates_removed += duplicates
            report.partitions_compacted += 1
            report.files_after += 1 if kept else 0
        else:
            report.files_after += len(files)
    from distillguard.features.rollups import compact_rollups, delete_rollups_before

    report.rollup_files_compacted = compact_rollups(lake, min_files=max(1, min_files))
    if event_cutoff is not None:                     # rollups follow the events' retention, their prompt sample the prompts'
        report.rollup_files_deleted += delete_rollups_before(lake, event_cutoff)
    if prompt_cutoff is not None:
        report.rollup_files_deleted += delete_rollups_before(lake, prompt_cutoff, ["sample"])
    return report


def compact(lake: Lake, partition: Partition, files: list[LakeFile], *, event_cutoff: datetime | None = None,
            prompt_cutoff: datetime | None = None) -> tuple[int, int, int, int]:
    """Rewrite ``files`` of ``partition`` into one file: each event_id once (the copy written
    first), events before ``event_cutoff`` dropped, prompts before ``prompt_cutoff`` cleared.
    The new file appears before the old ones go (meanwhile the view shows each event once).
    Returns ``(rows kept, events deleted, prompts cleared, duplicates removed)``."""
    rows = lake.read(files)
    unique = rows.sort(["ingested_at", FILE_COLUMN], nulls_last=True).filter(pl.col("event_id").is_first_distinct())
    duplicates = rows.height - unique.height
    kept = unique.filter(pl.col("ts") >= event_cutoff) if event_cutoff is not None else unique
    deleted = unique.height - kept.height
    cleared = 0
    if prompt_cutoff is not None:
        old_prompt = (pl.col("ts") < prompt_cutoff) & pl.col("prompt").is_not_null()
        cleared = kept.select(old_prompt.sum()).item()
        kept = kept.with_columns(pl.when(pl.col("ts") < prompt_cutoff).then(None).otherwise(pl.col("prompt")).alias("prompt"))
    if kept.height:
        path = lake.new_file_path(partition, kind="compact")
        kept = kept.sort("ts").with_columns(pl.lit(path.rsplit("/", 1)[-1]).alias(FILE_COLUMN))
        lake.write_file(path, kept.select(list(LAKE_SCHEMA)))
    lake.delete(files)
    return kept.height, deleted, cleared, duplicates


def _has_prompts(lake: Lake, files: list[LakeFile]) -> bool:
    """Whether any of ``files`` holds a prompt (from the Parquet statistics when they say)."""
    for f in files:
        try:
            meta = pq.ParquetFile(f.path, filesystem=lake.fs).metadata
        except (FileNotFoundError, OSError):
            continue
        index = meta.schema.names.index("prompt")
        for g in range(meta.num_row_groups):
            column = meta.row_group(g).column(index)
            stats = column.statistics
            if stats is None or not stats.has_null_count or stats.null_count < meta.row_group(g).num_rows:
                return True
    return False
