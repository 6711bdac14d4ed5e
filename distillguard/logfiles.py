"""Log files on disk: JSONL, JSONL.gz and Parquet, or directories of them.

>>> import gzip, pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.jsonl").write_text('{"event_id": 1}\\n')
>>> [p.name for p in expand_log_paths([d])]
['a.jsonl']
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import polars as pl

from distillguard.events import ParsedBatch, empty_rejected, parse_records, validate_frame

LOG_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz", ".parquet")
CHUNK_LINES = 100_000


class LogInputError(ValueError):
    """A path given as log input that cannot be read at all."""


def is_log_file(path: Path) -> bool:
    return path.is_file() and path.name.endswith(LOG_SUFFIXES)


def expand_log_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files named directly, plus every log file inside named directories (sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if is_log_file(p)))
        elif path.is_file():
            out.append(path)
        else:
            raise LogInputError(f"log path {path} does not exist")
    return out


def _open_text_lines(path: Path) -> Iterator[list[bytes]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        chunk: list[bytes] = []
        for line in handle:
            chunk.append(line)
            if len(chunk) >= CHUNK_LINES:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def read_jsonl(path: Path) -> Iterator[ParsedBatch]:
    """Parse a JSONL(.gz) file chunk by chunk; positions are 1-based line numbers."""
    source = str(path.resolve())
    first_line = 1
    try:
        for chunk in _open_text_lines(path):
            yield parse_records(chunk, source=source, positions=range(first_line, first_line + len(chunk)))
            first_line += len(chunk)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        # A truncated or corrupt gzip stream: what was read stands, the rest is one reject.
        rejected = empty_rejected().vstack(
            pl.DataFrame(
                {"source": [source], "position": [first_line], "raw": [""],
                 "reason_code": ["unreadable_file"], "reason": [f"file unreadable from line {first_line}: {exc}"]},
                schema=empty_rejected().schema,
            )
        )
        yield ParsedBatch(events=parse_records([], source=source).events, rejected=rejected)


def read_parquet(path: Path) -> Iterator[ParsedBatch]:
    """Validate a Parquet file of events with the same rules as JSONL."""
    source = str(path.resolve())
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any parquet decoding failure is a reject, not a crash
        rejected = pl.DataFrame(
            {"source": [source], "position": [0], "raw": [""],
             "reason_code": ["unreadable_file"], "reason": [f"not a readable Parquet file: {exc}"]},
            schema=empty_rejected().schema,
        )
        yield ParsedBatch(events=parse_records([], source=source).events, rejected=rejected)
        return
    yield validate_frame(frame, source=source)


def read_log_file(path: Path) -> Iterator[ParsedBatch]:
    if path.name.endswith(".parquet"):
        yield from read_parquet(path)
    else:
        yield from read_jsonl(path)


def read_log_bytes(data: bytes, *, source: str) -> ParsedBatch:
    """Parse an in-memory JSONL document (tests, HTTP uploads)."""
    return parse_records(data.splitlines(), source=source, positions=range(1, data.count(b"\n") + 2))


def file_sizes(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def read_logs(paths: Sequence[Path | str]) -> Iterator[ParsedBatch]:
    """Every batch from every file under ``paths``."""
    for path in expand_log_paths(paths):
        yield from read_log_file(path)

