"""Log files on disk: JSONL, JSONL.gz and Parquet, or directories of them.

>>> import gzip, pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.jsonl").write_text('{"event_id": 1}\\n')
>>> [p.name for p in expand_log_paths([d])]
['a.jsonl']
"""

from __future__ import annotations

import threading
from pathlib import Path
from queue import Full, Queue
from typing import TYPE_CHECKING, BinaryIO, Iterable, Iterator, Sequence, TypeVar, cast

import polars as pl
from isal import igzip, isal_zlib

from distillguard.events import (
    ParsedBatch,
    _raw_text,
    empty_events,
    parse_block,
    rejected_frame,
    scan_block,
    validate_frame,
)

if TYPE_CHECKING:
    from distillguard.config import IngestSettings

T = TypeVar("T")
#: The class of isal's decompression errors (its stub declares ``error`` an instance of Exception).
IsalError = cast("type[Exception]", isal_zlib.error)
LOG_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz", ".parquet")


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


#: Bytes of decompressed text handed to the parser at a time (cut at a line end).
BLOCK_BYTES = 16 << 20
_READ_BYTES = 1 << 20


def _open_binary(path: Path) -> BinaryIO:
    # igzip (ISA-L) inflates about twice as fast as zlib and releases the GIL while it works.
    return igzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class UnreadableTail(Exception):
    """A file that could not be read to its end: ``error`` says why, ``tail`` is the partial last
    line that was read (not parsed: it is cut)."""

    def __init__(self, error: BaseException, tail: bytes) -> None:
        super().__init__(str(error))
        self.error = error
        self.tail = tail


def _inflate_after(path: Path, skip: int) -> bytes:
    """What a gzip file still yields after its first ``skip`` decompressed bytes, read as far as
    its data goes (as ``zcat`` does): igzip's reader drops the output of the read call that
    meets the cut or the corruption, up to a megabyte of text."""
    out: list[bytes] = []
    seen = 0
    inflater = isal_zlib.decompressobj(31)
    try:
        with open(path, "rb") as handle:
            while compressed := handle.read(_READ_BYTES):
                while compressed:
                    text = inflater.decompress(compressed)
                    if seen + len(text) > skip:
                        out.append(text[max(0, skip - seen):])
                    seen += len(text)
                    if not inflater.eof:
                        break
                    compressed = inflater.unused_data                 # the next gzip member
                    inflater = isal_zlib.decompressobj(31)
    except (OSError, IsalError):
        pass
    return b"".join(out)


def _text_blocks(path: Path) -> Iterator[bytes]:
    """Decompressed blocks of whole lines. A file that cannot be read to its end (a truncated or
    corrupt gzip stream) yields every whole line that can be read, then raises
    :class:`UnreadableTail` with the partial line after them."""
    pending: list[bytes] = []
    size = 0
    read = 0                                     # decompressed bytes received so far
    try:
        with _open_binary(path) as handle:
            while piece := handle.read(_READ_BYTES):
                pending.append(piece)
                size += len(piece)
                read += len(piece)
                if size >= BLOCK_BYTES and b"\n" in piece:
                    text = b"".join(pending)
                    cut = text.rfind(b"\n") + 1
                    yield text[:cut]
                    pending, size = [text[cut:]], len(text) - cut
    except (OSError, EOFError, IsalError) as exc:
        if path.name.endswith(".gz"):
            pending.append(_inflate_after(path, read))
        text = b"".join(pending)
        cut = text.rfind(b"\n") + 1
        if cut:
            yield text[:cut]
        raise UnreadableTail(exc, text[cut:]) from exc
    if rest := b"".join(pending):
        yield rest


def _prefetched(blocks: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The same items, made ahead by a thread so decompression (and scanning) overlaps parsing."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        queue.put(block, timeout=0.1)
                        break
                    except Full:
                        continue
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            queue.put(exc)
        queue.put(done)

    worker = threading.Thread(target=produce, name="log-decompress", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def read_jsonl(path: Path, ingest: "IngestSettings | None" = None) -> Iterator[ParsedBatch]:
    """Parse a JSONL(.gz) file block by block; positions are 1-based line numbers."""
    source = str(path.resolve())
    first_line = 1
    try:
        # each block's lines are found and screened on the reading thread, beside the parse of the last
        for block, scan in _prefetched((block, scan_block(block)) for block in _text_blocks(path)):
            yield parse_block(block, source=source, first_position=first_line, ingest=ingest, scan=scan)
            first_line += scan.n_lines
    except (UnreadableTail, OSError, EOFError, IsalError) as exc:
        # What was read stands; the rest is one reject, with the partial line it ends in.
        tail = exc.tail if isinstance(exc, UnreadableTail) else b""
        error = exc.error if isinstance(exc, UnreadableTail) else exc
        what = "truncated" if isinstance(error, EOFError) else "unreadable"
        reason = (f"file {what} after line {first_line - 1} ({type(error).__name__}: {error}); "
                  + (f"the {len(tail):,} bytes of line {first_line} read before the cut are not parsed"
                     if tail else "no part of a further line could be read"))
        rejected = rejected_frame(source, [(first_line, _raw_text(tail), "unreadable_file", reason)])
        yield ParsedBatch(events=empty_events(), rejected=rejected)


def read_parquet(path: Path, ingest: "IngestSettings | None" = None) -> Iterator[ParsedBatch]:
    """Validate a Parquet file of events with the same rules as JSONL (column types included)."""
    source = str(path.resolve())
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any parquet decoding failure is a reject, not a crash
        rejected = rejected_frame(source, [(0, "", "unreadable_file", f"not a readable Parquet file: {exc}")])
        yield ParsedBatch(events=empty_events(), rejected=rejected)
        return
    try:
        batch = validate_frame(frame, source=source, ingest=ingest)
    except Exception as exc:  # noqa: BLE001 - a column shape nobody foresaw stops this file, not the load
        reason = f"Parquet file not validated ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); none of its {frame.height:,} rows stored"
        batch = ParsedBatch(events=empty_events(), rejected=rejected_frame(source, [(0, "", "unreadable_file", reason)]))
    yield batch


def read_log_file(path: Path, ingest: "IngestSettings | None" = None) -> Iterator[ParsedBatch]:
    if path.name.endswith(".parquet"):
        yield from read_parquet(path, ingest)
    else:
        yield from read_jsonl(path, ingest)


def file_sizes(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def read_logs(paths: Sequence[Path | str], ingest: "IngestSettings | None" = None) -> Iterator[ParsedBatch]:
    """Every batch from every file under ``paths``."""
    for path in expand_log_paths(paths):
        yield from read_log_file(path, ingest)
