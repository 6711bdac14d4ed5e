"""The log event of the contract, and the reader that turns raw records into a Polars frame.

Every record is validated against ``contract/api-log-event.schema.json``; a record that is
not valid JSON, not an object, lacks a required field, has a wrong type, an out-of-range or
oversized value, an unparseable timestamp or non-UTF-8 bytes is set aside with its reason.
Unknown fields are ignored. The same :func:`parse_records` serves files and Kafka values.

Records are parsed in two ways that agree on every record. The columnar path hands a whole
block of records to Polars' JSON reader and checks the contract's rules as column
expressions; a row that could break a rule the columnar parse cannot see (a number where a
string belongs, a lone surrogate escape) is a *suspect* and is re-checked record by record
with msgspec, the exact path. A block Polars cannot parse at all (invalid JSON somewhere)
is halved until the halves parse; small pieces that still fail go the exact path, so one
garbage line costs a few thousand lines of exact parsing, not the file.

>>> batch = parse_records([
...     b'{"event_id":"e1","ts":"2026-11-02T13:04:05.123Z","account_id":"a","api_key_id":"k",'
...     b'"client_ip":"10.0.0.1","endpoint":"/v1/messages","model":"m","status":200,'
...     b'"prompt_tokens":12,"completion_tokens":40,"extra_field":{"ignored":true}}',
...     b'{"event_id":"e2","ts":"yesterday"}',
...     b'not json',
... ], source="example")
>>> batch.events.height, batch.rejected.height
(1, 2)
>>> batch.rejected["reason_code"].to_list()
['missing_field', 'invalid_json']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Iterable, Sequence

import msgspec
import numpy as np
import polars as pl

#: Largest integer an event can carry: the store keeps integers as BIGINT.
MAX_INT = 2**63 - 1
Str128 = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]


class LogEvent(msgspec.Struct, forbid_unknown_fields=False):
    """One API request as the gateway logs it (mirror of api-log-event.schema.json)."""

    event_id: Str128
    ts: str
    account_id: Str128
    api_key_id: Str128
    client_ip: str
    endpoint: str
    model: str
    status: Annotated[int, msgspec.Meta(ge=100, le=599)]
    prompt_tokens: NonNegInt
    completion_tokens: NonNegInt
    end_user_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    asn: NonNegInt | None = None
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")] | None = None
    user_agent: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    latency_ms: Annotated[float, msgspec.Meta(ge=0)] | None = None
    finish_reason: str | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    max_tokens: NonNegInt | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)] | None = None
    stream: bool | None = None
    logprobs: bool | None = None
    top_logprobs: NonNegInt | None = None
    tools: NonNegInt | None = None
    response_format: str | None = None
    conversation_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    turn: Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)] | None = None
    system_prompt_hash: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    prompt: str | None = None


#: Column types of an accepted event, in contract order; ``ts`` is parsed to UTC.
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "ts": pl.String(),
    "account_id": pl.String(),
    "api_key_id": pl.String(),
    "end_user_id": pl.String(),
    "client_ip": pl.String(),
    "asn": pl.Int64(),
    "country": pl.String(),
    "user_agent": pl.String(),
    "endpoint": pl.String(),
    "model": pl.String(),
    "status": pl.Int64(),
    "latency_ms": pl.Float64(),
    "prompt_tokens": pl.Int64(),
    "completion_tokens": pl.Int64(),
    "finish_reason": pl.String(),
    "temperature": pl.Float64(),
    "top_p": pl.Float64(),
    "max_tokens": pl.Int64(),
    "n": pl.Int64(),
    "stream": pl.Boolean(),
    "logprobs": pl.Boolean(),
    "top_logprobs": pl.Int64(),
    "tools": pl.Int64(),
    "response_format": pl.String(),
    "conversation_id": pl.String(),
    "turn": pl.Int64(),
    "system_prompt_hash": pl.String(),
    "prompt": pl.String(),
}
EVENT_COLUMNS = list(EVENT_SCHEMA)
REQUIRED_FIELDS = tuple(f for f in LogEvent.__struct_fields__[:10])
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"

REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "position": pl.Int64(),
    "raw": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
}
MAX_RAW_CHARS = 10_000

_decode_event = msgspec.json.Decoder(LogEvent).decode
_decode_events = msgspec.json.Decoder(list[LogEvent]).decode
_decode_any = msgspec.json.Decoder().decode


@dataclass
class ParsedBatch:
    """What one chunk of raw records became: accepted events and rejected records."""

    events: pl.DataFrame
    rejected: pl.DataFrame
    duplicates: int = 0

    @property
    def total(self) -> int:
        return self.events.height + self.rejected.height + self.duplicates


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )


def empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTED_SCHEMA)


def classify_error(line: bytes) -> tuple[str, str]:
    """Why one raw record is not a valid event: ``(reason_code, human-readable reason)``."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "invalid_utf8", f"not valid UTF-8 (byte {exc.start})"
    try:
        value = _decode_any(line)
    except msgspec.DecodeError as exc:
        return "invalid_json", f"not valid JSON: {exc}"
    if not isinstance(value, dict):
        return "not_object", f"JSON {type(value).__name__} where an object was expected"
    try:
        _decode_event(line)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if message.startswith("Object missing required field"):
            return "missing_field", message
        if "length" in message:
            return "oversized_field", message
        if "Expected" in message and "got" in message:
            return "wrong_type", message
        return "out_of_range", message
    return "ok", ""


def _raw_text(line: bytes) -> str:
    return line[:MAX_RAW_CHARS].decode("utf-8", errors="backslashreplace")


def _split_valid(lines: Sequence[bytes]) -> tuple[list[bytes], list[int], list[tuple[int, str, str]]]:
    """Partition records into structurally valid ones and rejects (index, code, reason)."""
    try:
        decoded = _decode_events(b"[" + b",".join(lines) + b"]")
        if len(decoded) == len(lines):
            return list(lines), list(range(len(lines))), []
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        pass
    good: list[bytes] = []
    good_idx: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        code, reason = classify_error(line)
        if code == "ok":
            good.append(line)
            good_idx.append(i)
        else:
            bad.append((i, code, reason))
    return good, good_idx, bad


def _frame_from_lines(lines: list[bytes]) -> pl.DataFrame:
    if not lines:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    return pl.read_ndjson(b"\n".join(lines), schema=EVENT_SCHEMA)


def _parsed_ts() -> pl.Expr:
    return pl.col("ts").str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC", time_unit="us")


def _keep_first(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The frame with each event_id once (first wins), and how many repeats were dropped."""
    kept = frame.filter(pl.col("event_id").is_first_distinct())
    return kept, frame.height - kept.height


def rejected_frame(source: str, rows: list[tuple[int, str, str, str]]) -> pl.DataFrame:
    """Dead letters from ``(position, raw text, reason code, reason)`` rows."""
    return pl.DataFrame(
        {
            "source": [source] * len(rows),
            "position": [r[0] for r in rows],
            "raw": [r[1] for r in rows],
            "reason_code": [r[2] for r in rows],
            "reason": [r[3] for r in rows],
        },
        schema=REJECTED_SCHEMA,
    )


def _parse_exact(lines: Sequence[bytes], line_pos: Sequence[int], *, source: str) -> tuple[ParsedBatch, pl.Series]:
    """The exact path: msgspec validates record by record. Returns the batch and each event's position."""
    good, good_idx, bad = _split_valid(lines)
    frame = _frame_from_lines(good).with_columns(
        _parsed_ts().alias("_ts"),
        pl.Series("_pos", [line_pos[i] for i in good_idx], dtype=pl.Int64),
        pl.Series("_idx", good_idx, dtype=pl.Int64),
    )
    bad_ts = frame.filter(pl.col("_ts").is_null())
    for idx, ts in zip(bad_ts["_idx"].to_list(), bad_ts["ts"].to_list()):
        bad.append((idx, "bad_timestamp", f"ts {ts!r} is not an RFC 3339 date-time"))
    frame, duplicates = _keep_first(frame.filter(pl.col("_ts").is_not_null()))
    bad.sort()
    rejected = rejected_frame(source, [(line_pos[i], _raw_text(lines[i]), code, reason) for i, code, reason in bad])
    events = frame.with_columns(pl.col("_ts").alias("ts")).select(EVENT_COLUMNS)
    return ParsedBatch(events, rejected, duplicates), frame["_pos"]


#: Polars writes a JSON number, boolean, object or array found where a string belongs as text,
#: numbers in plain decimals; a string of one of these shapes may not have been a string.
_RESERIALISED = r"(?s)^(?:-?[0-9]+(?:\.[0-9]+)?|true|false|\{.*\}|\[.*\])$"
#: String fields whose own checks do not already catch such text (``ts`` must parse as a
#: date-time, ``country`` must be two capital letters).
_FREE_TEXT_FIELDS = [c for c, dtype in EVENT_SCHEMA.items() if dtype == pl.String() and c not in ("ts", "country")]


def _suspect_rows() -> pl.Expr:
    """Rows the columnar parse accepted that the exact path must judge.

    Every rule of :class:`LogEvent` that a column can break is checked here (missing,
    oversized and out-of-range values, bad timestamps); a row that breaks one, or whose
    text could have come from a non-string JSON value, is a suspect. Polars itself refuses
    the other type errors (text or fractions in integer fields, non-booleans in boolean
    fields, invalid JSON and UTF-8), so a row that is not a suspect is valid. Polars reads
    a lone UTF-16 surrogate escape (invalid JSON) as U+0000, so text with U+0000 in it is
    a suspect too.
    """
    checks = [bad.fill_null(False) for _, _, bad in _frame_violations()]
    checks.append(pl.col("_ts").is_null())
    for name in _FREE_TEXT_FIELDS:
        checks.append(pl.col(name).str.contains(_RESERIALISED).fill_null(False))
        checks.append(pl.col(name).str.contains("\x00", literal=True).fill_null(False))
    return pl.any_horizontal(checks)


def count_lines(block: bytes) -> int:
    """Lines in a block of text, a last line without its newline included (NumPy; the GIL is released)."""
    newlines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")))
    return newlines + (0 if not block or block.endswith(b"\n") else 1)


def _lines_at(block: bytes, indexes: list[int]) -> list[bytes]:
    """Lines ``indexes`` (0-based) of a block, without splitting the whole block into objects."""
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
    ends = np.append(ends, len(block))
    starts = np.concatenate(([0], ends[:-1] + 1))
    return [block[starts[i]:ends[i]] for i in indexes]


def _position_column(line_pos: Sequence[int]) -> pl.Series:
    if isinstance(line_pos, range) and line_pos.step == 1:
        return pl.int_range(line_pos.start, line_pos.stop, dtype=pl.Int64, eager=True).alias("_pos")
    return pl.Series("_pos", line_pos, dtype=pl.Int64)


def _parse_columnar(block: bytes, line_pos: Sequence[int], *, source: str) -> ParsedBatch | None:
    """The columnar path over a block with one record per line; None when Polars cannot parse it."""
    try:
        frame = pl.read_ndjson(block, schema=EVENT_SCHEMA)
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 - any failure sends the block the exact way
        return None
    if frame.height != len(line_pos):  # a blank line: rows no longer match lines
        return None
    frame = frame.with_columns(_parsed_ts().alias("_ts"), _position_column(line_pos))
    suspect = frame.select(_suspect_rows()).to_series()
    frame = frame.with_columns(pl.col("_ts").alias("ts")).select(*EVENT_COLUMNS, "_pos")
    rejected, repeats = empty_rejected(), 0
    if suspect.any():
        judged, judged_pos = _parse_exact(
            _lines_at(block, suspect.arg_true().to_list()), frame.filter(suspect)["_pos"].to_list(), source=source
        )
        rejected, repeats = judged.rejected, judged.duplicates
        frame = frame.filter(~suspect)
        if judged.events.height:
            frame = pl.concat([frame, judged.events.with_columns(judged_pos)], how="vertical").sort("_pos")
    frame, duplicates = _keep_first(frame)
    return ParsedBatch(frame.select(EVENT_COLUMNS), rejected, duplicates + repeats)


#: Below this many records a block that Polars cannot parse goes the exact path instead of being halved.
EXACT_BELOW_RECORDS = 2048


def _parse_block(block: bytes, line_pos: Sequence[int], *, source: str) -> ParsedBatch:
    """Records separated by newlines, one position per line, by the fastest path that is exact."""
    columnar = _parse_columnar(block, line_pos, source=source)
    if columnar is not None:
        return columnar
    middle = block.find(b"\n", len(block) // 2) + 1
    if len(line_pos) >= EXACT_BELOW_RECORDS and 0 < middle < len(block):
        split = block.count(b"\n", 0, middle)
        return concat_batches([_parse_block(block[:middle], line_pos[:split], source=source),
                               _parse_block(block[middle:], line_pos[split:], source=source)])
    lines = block.split(b"\n")
    if len(lines) == len(line_pos) + 1 and not lines[-1]:
        lines.pop()  # the block's final newline
    kept = [(pos, stripped) for pos, line in zip(line_pos, lines) if (stripped := line.strip())]
    return _parse_exact([line for _, line in kept], [pos for pos, _ in kept], source=source)[0]


def parse_block(block: bytes, *, source: str, first_position: int = 1, n_lines: int | None = None) -> ParsedBatch:
    """Validate a piece of a JSONL file: one record per line, positions are line numbers.

    >>> ok = b'{"event_id":"e1","ts":"2026-11-02T13:04:05Z","account_id":"a","api_key_id":"k",' \\
    ...      b'"client_ip":"10.0.0.1","endpoint":"/v1/messages","model":"m","status":200,' \\
    ...      b'"prompt_tokens":1,"completion_tokens":2}'
    >>> batch = parse_block(ok + b"\\n" + b'{"event_id": 5}' + b"\\n", source="f.jsonl", first_position=41)
    >>> batch.events["event_id"].to_list(), batch.rejected["position"].to_list()
    (['e1'], [42])
    """
    if n_lines is None:
        n_lines = count_lines(block)
    return _parse_block(block, range(first_position, first_position + n_lines), source=source)


def parse_records(
    records: Sequence[bytes],
    *,
    source: str,
    positions: Sequence[int] | None = None,
) -> ParsedBatch:
    """Validate raw records (JSON texts as bytes) into accepted events and rejects.

    ``positions`` names each record in its source (line number, Kafka offset); it defaults to
    the index. Blank records are skipped. Duplicate ``event_id``s inside the batch are kept
    once and counted.
    """
    if positions is None:
        positions = range(len(records))
    lines: list[bytes] = []
    line_pos: list[int] = []
    for pos, rec in zip(positions, records):
        if rec is None:
            continue
        stripped = rec.strip()
        if stripped:
            lines.append(stripped)
            line_pos.append(pos)
    block = b"\n".join(lines)
    if block.count(b"\n") != max(0, len(lines) - 1):  # a record with a newline inside it
        return _parse_exact(lines, line_pos, source=source)[0]
    return _parse_block(block, line_pos, source=source)


def concat_batches(batches: Iterable[ParsedBatch]) -> ParsedBatch:
    """One batch from many, with duplicates across them removed (first wins)."""
    batches = list(batches)
    if not batches:
        return ParsedBatch(empty_events(), empty_rejected())
    events, repeats = _keep_first(pl.concat([b.events for b in batches], how="vertical"))
    return ParsedBatch(
        events=events,
        rejected=pl.concat([b.rejected for b in batches], how="vertical"),
        duplicates=sum(b.duplicates for b in batches) + repeats,
    )


def normalise_event_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Coerce an events frame from Parquet (or the simulator) to the accepted-event schema."""
    columns: list[pl.Expr] = []
    for name, dtype in EVENT_SCHEMA.items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "ts":
            ts = frame.schema["ts"]
            if ts == pl.String:
                columns.append(pl.col("ts").str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC", time_unit="us"))
            elif not isinstance(ts, pl.Datetime):
                columns.append(pl.col("ts").cast(pl.String).str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC", time_unit="us"))
            elif ts.time_zone is None:
                columns.append(pl.col("ts").dt.replace_time_zone("UTC").dt.cast_time_unit("us"))
            else:
                columns.append(pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
        else:
            columns.append(pl.col(name).cast(dtype, strict=False))
    return frame.select(columns)


def to_contract_dict(row: dict[str, Any]) -> dict[str, Any]:
    """An accepted event row back to its JSON form (ts as RFC 3339 with Z)."""
    out = dict(row)
    ts = out.get("ts")
    if ts is not None and not isinstance(ts, str):
        out["ts"] = ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return out


def _frame_violations() -> list[tuple[str, str, pl.Expr]]:
    """Vectorised checks for rows that arrive already columnar (Parquet): code, reason, bad-when."""
    checks: list[tuple[str, str, pl.Expr]] = []
    for name in REQUIRED_FIELDS:
        checks.append(("missing_field", f"required field `{name}` is missing or null", pl.col(name).is_null()))
    for name in ("event_id", "account_id", "api_key_id"):
        checks.append(("oversized_field", f"`{name}` must be 1-128 characters", ~pl.col(name).str.len_chars().is_between(1, 128)))
    for name, limit in (("end_user_id", 256), ("user_agent", 1024), ("conversation_id", 256), ("system_prompt_hash", 128)):
        checks.append(("oversized_field", f"`{name}` longer than {limit} characters", pl.col(name).str.len_chars() > limit))
    checks.append(("out_of_range", "`status` outside 100-599", ~pl.col("status").is_between(100, 599)))
    for name in ("prompt_tokens", "completion_tokens", "asn", "max_tokens", "top_logprobs", "tools", "latency_ms", "temperature"):
        checks.append(("out_of_range", f"`{name}` is negative", pl.col(name) < 0))
    checks.append(("out_of_range", "`top_p` outside 0-1", ~pl.col("top_p").is_between(0, 1)))
    checks.append(("out_of_range", "`n` below 1", pl.col("n") < 1))
    checks.append(("out_of_range", "`turn` below 1", pl.col("turn") < 1))
    checks.append(("out_of_range", "`country` is not two capital letters", ~pl.col("country").str.contains("^[A-Z]{2}$")))
    return checks


def validate_frame(frame: pl.DataFrame, *, source: str) -> ParsedBatch:
    """Validate a columnar batch (e.g. a Parquet file) with the contract's rules, vectorised."""
    raw = frame.with_row_index("_pos")
    typed = normalise_event_frame(frame).with_columns(raw["_pos"].cast(pl.Int64))
    # First failing check wins: (code, reason, bad-when) in order of precedence.
    checks: list[tuple[str, str, pl.Expr]] = []
    for name in EVENT_COLUMNS:
        if name in frame.columns and (name == "ts" or frame.schema[name] != EVENT_SCHEMA[name]):
            # a value present in the file that did not survive the cast to the contract type
            typed = typed.with_columns((raw[name].is_not_null() & typed[name].is_null()).alias(f"_lost_{name}"))
            if name == "ts":
                checks.append(("bad_timestamp", "`ts` is not an RFC 3339 date-time", pl.col("_lost_ts")))
            else:
                checks.append(("wrong_type", f"`{name}` has the wrong type", pl.col(f"_lost_{name}")))
    checks.extend(_frame_violations())
    reason_code = pl.coalesce([pl.when(bad.fill_null(False)).then(pl.lit(code)) for code, _, bad in checks])
    reason = pl.coalesce([pl.when(bad.fill_null(False)).then(pl.lit(text)) for _, text, bad in checks])
    typed = typed.with_columns(reason_code.alias("_code"), reason.alias("_reason"))
    bad = typed.filter(pl.col("_code").is_not_null())
    good = typed.filter(pl.col("_code").is_null())
    before = good.height
    good = good.unique(subset="event_id", keep="first", maintain_order=True)
    bad_raw = raw.filter(pl.col("_pos").is_in(bad["_pos"].implode()))
    rejected = pl.DataFrame(
        {
            "source": [source] * bad.height,
            "position": bad["_pos"].to_list(),
            "raw": [msgspec.json.encode(r).decode()[:MAX_RAW_CHARS] for r in bad_raw.drop("_pos").to_dicts()],
            "reason_code": bad["_code"].to_list(),
            "reason": bad["_reason"].to_list(),
        },
        schema=REJECTED_SCHEMA,
    )
    return ParsedBatch(
        events=good.select(EVENT_COLUMNS),
        rejected=rejected,
        duplicates=before - good.height,
    )
