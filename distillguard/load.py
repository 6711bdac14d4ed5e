"""First stage of every run: log files and account files into the store, with progress."""

from __future__ import annotations

import io
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import msgspec
import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from distillguard.events import (
    BOM,
    REJECTED_SCHEMA,
    Str128,
    _bare,
    _raw_rows,
    _raw_text,
    _stamp,
    _utf8,
    accepted_ts_range,
    empty_rejected,
    judge_record,
    rejected_frame,
)
from distillguard.logfiles import LogInputError, UnreadableTail, _text_blocks, expand_log_paths, read_log_file
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


# --- account files ------------------------------------------------------------------------------

class AccountRecord(msgspec.Struct, forbid_unknown_fields=False):
    """One account as the contract's ``account.schema.json`` has it: ``account_id`` of 1-128
    characters, every other field text or null; fields not listed are ignored."""

    account_id: Str128
    created_at: str | None = None
    tier: str | None = None
    email_domain: str | None = None
    payment_fingerprint: str | None = None
    signup_ip: str | None = None
    country: str | None = None


_decode_account = msgspec.json.Decoder(AccountRecord).decode
ACCOUNT_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
#: Text of an account record for its dead letter when the file gives no line of it (CSV, Parquet).
_FIELDS_AS_TEXT = pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in ACCOUNT_FIELDS], separator=",")


def read_accounts(path: Path | str, ingest: "IngestSettings | None" = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Account records from CSV, JSONL(.gz) or Parquet: ``(accounts, rejected)``.

    A later record for the same account replaces the earlier; unknown fields are ignored. Each
    record the contract refuses is rejected with its reason, the records around it kept: no
    valid account_id (missing_field, oversized_field), a field that is not text (wrong_type;
    a Parquet column of another type, nothing converted), a created_at that is not a date-time
    (bad_timestamp) or outside ``ingest``'s accepted time range (timestamp_out_of_range), and in
    JSONL whatever the events reader refuses in any field (:func:`~distillguard.events.judge_record`:
    invalid JSON or UTF-8, lone surrogates, nesting deeper than 64, numbers beyond 128 bits or
    1e308). A BOM is ignored; a truncated .gz is read to its last whole line. A file that cannot
    be read as its format is one ``unreadable_file`` reject; a missing file is a :class:`LogInputError`.
    Positions are line numbers (Parquet: row numbers).
    """
    path = Path(path)
    if not path.is_file():
        raise LogInputError(f"accounts file {path} does not exist")
    source = str(path.resolve())
    if path.name.endswith(".parquet"):
        frame, rejected = _parquet_accounts(path, source)
    elif path.name.endswith(ACCOUNT_JSONL_SUFFIXES):
        frame, rejected = _jsonl_accounts(path, source)
    else:
        frame, rejected = _csv_accounts(path, source)
    return _checked_accounts(frame, rejected, source, accepted_ts_range(ingest))


def _account_frame(positions: list[int], raw: list[str] | None, columns: dict[str, list]) -> pl.DataFrame:
    frame = pl.DataFrame({"_pos": positions, **columns}, schema={"_pos": pl.Int64, **{c: pl.String for c in ACCOUNT_FIELDS}})
    return frame.with_columns(pl.Series("_raw", raw, dtype=pl.String)) if raw is not None else frame


def _jsonl_accounts(path: Path, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each line judged as the events reader judges a record, typed as :class:`AccountRecord`."""
    positions: list[int] = []
    raws: list[str] = []
    columns: dict[str, list] = {c: [] for c in ACCOUNT_FIELDS}
    bad: list[tuple[int, str, str, str]] = []
    position = 0
    try:
        for block in _text_blocks(path):
            lines = block.split(b"\n")
            for line in lines[:-1] if block.endswith(b"\n") else lines:
                position += 1
                record = _bare(line)
                if not record:
                    if line.strip():                                # a byte-order mark and nothing else
                        bad.append((position, _raw_text(line), "invalid_json", "not valid JSON: a byte-order mark and no record"))
                    continue
                verdict = judge_record(record, _decode_account)
                if verdict is not None:
                    bad.append((position, _raw_text(line), *verdict))
                    continue
                account = _decode_account(record)
                positions.append(position)
                raws.append(_raw_text(line))
                for name in ACCOUNT_FIELDS:
                    columns[name].append(getattr(account, name))
    except UnreadableTail as exc:
        reason = (f"file unreadable after line {position} ({type(exc.error).__name__}: {exc.error}); "
                  f"the {len(exc.tail):,} bytes of line {position + 1} read before the cut are not parsed")
        bad.append((position + 1, _raw_text(exc.tail), "unreadable_file", reason))
    return _account_frame(positions, raws, columns), rejected_frame(source, bad)


def _parquet_accounts(path: Path, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of a Parquet file, each column checked against the contract's type (text; a Parquet
    timestamp for created_at): a row with a value in a column of another type is rejected."""
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a reject, not a crash
        reason = f"not a readable Parquet file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return _account_frame([], None, {c: [] for c in ACCOUNT_FIELDS}), rejected_frame(source, [(0, "", "unreadable_file", reason)])
    columns, wrong = [], []
    for name in ACCOUNT_FIELDS:
        dtype = frame.schema.get(name)
        if dtype is None or dtype in (pl.String, pl.Null) or isinstance(dtype, (pl.Categorical, pl.Enum)):
            columns.append(pl.col(name).cast(pl.String) if dtype is not None else pl.lit(None, dtype=pl.String).alias(name))
        elif name == "created_at" and isinstance(dtype, pl.Datetime):
            zoned = pl.col(name).dt.replace_time_zone("UTC") if dtype.time_zone is None else pl.col(name).dt.convert_time_zone("UTC")
            columns.append(zoned.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").alias(name))
        else:
            wanted = "a date-time (text or a timestamp)" if name == "created_at" else "text"
            wrong.append((f"`{name}` has type {dtype} in the file; the account contract requires {wanted}", pl.col(name).is_not_null()))
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
    reasons = pl.coalesce([pl.when(bad).then(pl.lit(reason)) for reason, bad in wrong]) if wrong else pl.lit(None, dtype=pl.String)
    checked = frame.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_pos"), *columns, reasons.alias("_wrong"))
    failing = checked["_wrong"].is_not_null()
    rejected = pl.DataFrame({
        "source": source, "position": checked.filter(failing)["_pos"], "raw": _raw_rows(frame.filter(failing)),
        "reason_code": "wrong_type", "reason": checked.filter(failing)["_wrong"],
    }, schema=REJECTED_SCHEMA) if failing.any() else empty_rejected()
    return checked.filter(~failing).drop("_wrong"), rejected


def _csv_accounts(path: Path, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Polars' CSV reader, every column as text; lines that are not UTF-8 are rejected first (the
    reader would refuse the whole file), a BOM dropped. Positions are line numbers (the header is
    line 1) unless a quoted field spans lines, then record numbers + 1."""
    data = path.read_bytes()
    if data.startswith(BOM):
        data = data[len(BOM):]
    bad: list[tuple[int, str, str, str]] = []
    line_numbers = None
    if not _utf8(data):
        kept, line_numbers = [], []
        for number, line in enumerate(data.split(b"\n"), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad.append((number, _raw_text(line), "invalid_utf8", f"not valid UTF-8 (byte {exc.start})"))
                continue
            kept.append(line)
            line_numbers.append(number)
        data = b"\n".join(kept)
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema_length=0)
    except Exception as exc:  # noqa: BLE001 - a file Polars cannot read as CSV is one reject, not a crash
        reason = f"not a readable CSV file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return _account_frame([], None, {c: [] for c in ACCOUNT_FIELDS}), rejected_frame(source, [*bad, (0, "", "unreadable_file", reason)])
    record_lines = [n for n, line in zip(line_numbers, kept) if line.strip()][1:] if line_numbers else []
    positions = (pl.Series("_pos", record_lines, dtype=pl.Int64) if len(record_lines) == frame.height
                 else pl.int_range(2, frame.height + 2, dtype=pl.Int64, eager=True).alias("_pos"))
    columns = [pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c) for c in ACCOUNT_FIELDS]
    return frame.select(*columns).with_columns(positions), rejected_frame(source, bad)


def _checked_accounts(frame: pl.DataFrame, rejected: pl.DataFrame, source: str,
                      ts_range: tuple[datetime, datetime]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rules every format shares: a valid account_id, a created_at that is a date-time in the
    accepted range; the last record of each account wins."""
    earliest, latest = ts_range
    span = f"the accepted range is {_stamp(earliest)} to {_stamp(latest)}"
    created = pl.col("created_at").str.to_datetime(strict=False, time_zone="UTC", time_unit="us")
    frame = frame.with_columns(created.alias("_created"))
    checks = [                                   # (code, reason, failing when), the first failing one counts
        ("missing_field", pl.lit("account record without a valid account_id (1-128 characters)"),
         pl.col("account_id").is_null() | ~pl.col("account_id").str.len_chars().is_between(1, 128)),
        ("bad_timestamp", pl.format("created_at {} is not a date-time", pl.col("created_at")),
         pl.col("created_at").is_not_null() & pl.col("_created").is_null()),
        ("timestamp_out_of_range", pl.format(f"created_at {{}} is before {_stamp(earliest)} ({span})", pl.col("created_at")),
         pl.col("_created") < earliest),
        ("timestamp_out_of_range", pl.format(f"created_at {{}} is after {_stamp(latest)} ({span})", pl.col("created_at")),
         pl.col("_created") > latest),
    ]
    frame = frame.with_columns(
        pl.coalesce([pl.when(bad.fill_null(False)).then(pl.lit(code)) for code, _, bad in checks]).alias("_code"),
        pl.coalesce([pl.when(bad.fill_null(False)).then(reason) for _, reason, bad in checks]).alias("_reason"),
    )
    raw = pl.col("_raw") if "_raw" in frame.columns else _FIELDS_AS_TEXT
    more = frame.filter(pl.col("_code").is_not_null()).select(
        pl.lit(source).alias("source"), pl.col("_pos").alias("position"), raw.alias("raw"),
        pl.col("_code").alias("reason_code"), pl.col("_reason").alias("reason"),
    ).cast(REJECTED_SCHEMA)
    accounts = (
        frame.filter(pl.col("_code").is_null())
        .with_columns(pl.col("_created").alias("created_at"))
        .unique(subset="account_id", keep="last", maintain_order=True)
        .select(ACCOUNT_FIELDS)
    )
    return accounts, pl.concat([rejected, more]).sort("position")


def load_accounts(path: Path | str, store: Store, *, ingest: "IngestSettings | None" = None) -> tuple[int, int]:
    """Store the account records of ``path`` (see :func:`read_accounts`): ``(stored, rejected)``."""
    accounts, rejected = read_accounts(path, ingest)
    store.upsert_accounts(accounts)
    store.insert_rejected(rejected)
    return accounts.height, rejected.height
