"""First stage of every run: log files and account files into the store, with progress."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from distillguard.events import REJECTED_SCHEMA
from distillguard.logfiles import expand_log_paths, read_log_file
from distillguard.store import Store

if TYPE_CHECKING:
    from distillguard.config import IngestSettings

ACCOUNT_FIELDS = ["account_id", "created_at", "tier", "email_domain", "payment_fingerprint", "signup_ip", "country"]


@dataclass
class LoadReport:
    """Counts of one load: every record read is accepted, a duplicate, or rejected."""

    files: int = 0
    records: int = 0
    accepted: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def summary(self) -> str:
        return (
            f"{self.files} file(s), {self.records:,} records: {self.inserted:,} new events, "
            f"{self.accepted - self.inserted + self.duplicates:,} duplicates, {self.rejected:,} rejected"
        )


def progress_bar(disable: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=disable, transient=False,
    )


#: DuckDB's row group: an insert of this many rows or more goes straight into the database
#: file; smaller ones go through its write-ahead log and a checkpoint, about three times slower.
ROW_GROUP_ROWS = 122_880
#: Accepted events per insert: whole row groups. An insert that ends in a part-filled row group
#: leaves the checkpoint to merge ("vacuum") it with its neighbours, which rewrote a third of a
#: million-event load at the end of each batch (1.1-3.5 s; 0.03 s with whole row groups).
INSERT_ROWS = 2 * ROW_GROUP_ROWS
#: Rejected records per insert: a file's dead letters go in together (an insert costs ~13 ms
#: whatever its size; a block of a file with a few bad lines in it has a few of them).
REJECTED_ROWS = 10_000


class StoreWriter:
    """The store's inserts on one thread of their own, so the next blocks are read meanwhile.

    DuckDB inserts and Polars parsing both work outside the GIL; run one after the other they
    leave a core idle. At most one insert of events waits while the next one is gathered, so
    memory stays bounded. :meth:`close` waits for every insert and raises the first one's error.

    While it writes, DuckDB runs on one thread: the other core parses, and a parallel insert
    splits each batch of whole row groups into part-filled ones per thread, which the next
    checkpoint must merge again (measured on a million events: load 9.5 s and 17 CPU-s with
    DuckDB's default threads, 7.9 s and 13 CPU-s with one; the checkpoint after it 2.7 s and
    0.02 s).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.threads_before = store.scalar("SELECT current_setting('threads')")
        store.con.execute("SET threads = 1")
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self.writes: list[Future] = []
        self.event_writes: list[Future] = []

    def insert_events(self, frames: list[pl.DataFrame], source: str) -> None:
        if self.event_writes:
            self.event_writes[-1].result()                   # one insert of events in flight at a time
        if frames:
            self.event_writes.append(self.pool.submit(_insert_once, self.store, frames, source))
            self.writes.append(self.event_writes[-1])

    def insert_rejected(self, rejected: pl.DataFrame) -> None:
        if rejected.height:
            self.writes.append(self.pool.submit(self.store.insert_rejected, rejected))

    def close(self) -> int:
        """Wait for every insert; returns how many events were new."""
        self.pool.shutdown(wait=True)
        self.store.con.execute(f"SET threads = {int(self.threads_before)}")
        for future in self.writes:
            future.result()
        return sum(future.result() for future in self.event_writes)


def load_logs(
    paths: Sequence[Path | str], store: Store, *, show_progress: bool = True, ingest: "IngestSettings | None" = None,
) -> LoadReport:
    """Read, validate and store every log file under ``paths``; bad records become dead letters.

    No record stops the load: each is stored, counted as a repeat or rejected with its reason;
    ``ingest`` (default: the configuration's) sets the accepted time range."""
    files = expand_log_paths(paths)
    report = LoadReport(files=len(files))
    writer = StoreWriter(store)
    try:
        with progress_bar(disable=not show_progress) as progress:
            task = progress.add_task("loading logs", total=len(files))
            for path in files:
                source = str(path.resolve())
                pending: list[pl.DataFrame] = []
                rejected: list[pl.DataFrame] = []
                for batch in read_log_file(path, ingest):
                    report.records += batch.total
                    report.accepted += batch.events.height
                    report.duplicates += batch.duplicates
                    report.rejected += batch.rejected.height
                    if batch.rejected.height:
                        rejected.append(batch.rejected)
                    if sum(frame.height for frame in rejected) >= REJECTED_ROWS:
                        writer.insert_rejected(pl.concat(rejected, how="vertical"))
                        rejected = []
                    pending.append(batch.events)
                    if sum(frame.height for frame in pending) >= INSERT_ROWS:
                        whole, rest = split_whole_row_groups(pl.concat(pending, how="vertical"))
                        writer.insert_events([whole], source)
                        pending = [rest] if rest.height else []
                writer.insert_events(pending, source)
                if rejected:
                    writer.insert_rejected(pl.concat(rejected, how="vertical"))
                progress.advance(task)
    finally:
        report.inserted = writer.close()
    return report


def split_whole_row_groups(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``events`` cut after the last whole multiple of ``ROW_GROUP_ROWS``: ``(whole, rest)``.

    >>> whole, rest = split_whole_row_groups(pl.DataFrame({"x": range(ROW_GROUP_ROWS * 2 + 5)}))
    >>> whole.height == 2 * ROW_GROUP_ROWS, rest.height
    (True, 5)
    """
    cut = events.height - events.height % ROW_GROUP_ROWS
    return events.slice(0, cut), events.slice(cut)


def _insert_once(store: Store, frames: list[pl.DataFrame], source: str) -> int:
    """Insert gathered events, an event_id repeated across them once (the first)."""
    events = pl.concat(frames, how="vertical")
    return store.insert_events(events.filter(pl.col("event_id").is_first_distinct()), source=source)


def read_accounts(path: Path | str, ingest: "IngestSettings | None" = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Account records from CSV, JSONL or Parquet: ``(accounts, rejected)``.

    A later record for the same account replaces the earlier; unknown columns are ignored;
    a record without an account_id is rejected with the reason.
    """
    path = Path(path)
    source = str(path.resolve())
    name = path.name
    if name.endswith(".parquet"):
        frame = pl.read_parquet(path)
    elif name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        frame = pl.read_ndjson(path, infer_schema_length=None)
    else:
        frame = pl.read_csv(path, infer_schema_length=0)
    frame = frame.with_row_index("_pos", offset=1)
    cols = [pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c) for c in ACCOUNT_FIELDS]
    frame = frame.select(pl.col("_pos"), *cols)
    created = pl.col("created_at").str.to_datetime(strict=False, time_zone="UTC", time_unit="us")
    frame = frame.with_columns(created.alias("_created"))
    bad_id = pl.col("account_id").is_null() | (pl.col("account_id").str.len_chars() == 0) | (pl.col("account_id").str.len_chars() > 128)
    bad_ts = pl.col("created_at").is_not_null() & pl.col("_created").is_null()
    rejected = frame.filter(bad_id | bad_ts).select(
        pl.lit(source).alias("source"),
        pl.col("_pos").cast(pl.Int64).alias("position"),
        pl.concat_str([pl.col(c).fill_null("") for c in ACCOUNT_FIELDS], separator=",").alias("raw"),
        pl.when(bad_id).then(pl.lit("missing_field")).otherwise(pl.lit("bad_timestamp")).alias("reason_code"),
        pl.when(bad_id).then(pl.lit("account record without a valid account_id"))
        .otherwise(pl.lit("created_at is not a date-time")).alias("reason"),
    ).cast(REJECTED_SCHEMA)
    accounts = (
        frame.filter(~(bad_id | bad_ts))
        .with_columns(pl.col("_created").alias("created_at"))
        .unique(subset="account_id", keep="last", maintain_order=True)
        .select(ACCOUNT_FIELDS)
    )
    return accounts, rejected


def load_accounts(path: Path | str, store: Store, *, ingest: "IngestSettings | None" = None) -> tuple[int, int]:
    """Store the account records of ``path`` (see :func:`read_accounts`): ``(stored, rejected)``."""
    accounts, rejected = read_accounts(path, ingest)
    store.upsert_accounts(accounts)
    store.insert_rejected(rejected)
    return accounts.height, rejected.height
