"""The log event of the contract, and the reader that turns raw records into a Polars frame.

Every record is validated against ``contract/api-log-event.schema.json``; a record that is
not valid JSON, not an object, lacks a required field, has a wrong type, an out-of-range or
oversized value, an unparseable timestamp or non-UTF-8 bytes is set aside with its reason.
Unknown fields are ignored. The same :func:`parse_records` serves files and Kafka values.

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

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Iterable, Sequence

import msgspec
import polars as pl

Str128 = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]


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
    n: Annotated[int, msgspec.Meta(ge=1)] | None = None
    stream: bool | None = None
    logprobs: bool | None = None
    top_logprobs: NonNegInt | None = None
    tools: NonNegInt | None = None
    response_format: str | None = None
    conversation_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    turn: Annotated[int, msgspec.Meta(ge=1)] | None = None
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
_LOCATION = re.compile(r"at `\$\.(\w+)")


@dataclass
class ParsedBatch:
    """What one chunk of raw records became: accepted events and rejected records."""

    events: pl.DataFrame
    rejected: pl.DataFrame
    duplicates: int = 0
    positions: list[int] = field(default_factory=list)

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

    good, good_idx, bad = _split_valid(lines)
    frame = _frame_from_lines(good)
    frame = frame.with_columns(
        pl.col("ts").str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC", time_unit="us").alias("_ts"),
        pl.Series("_pos", [line_pos[i] for i in good_idx], dtype=pl.Int64),
        pl.Series("_idx", good_idx, dtype=pl.Int64),
    )
    bad_ts = frame.filter(pl.col("_ts").is_null())
    for idx, ts in zip(bad_ts["_idx"].to_list(), bad_ts["ts"].to_list()):
        bad.append((idx, "bad_timestamp", f"ts {ts!r} is not an RFC 3339 date-time"))
    frame = frame.filter(pl.col("_ts").is_not_null())
    before = frame.height
    frame = frame.unique(subset="event_id", keep="first", maintain_order=True)
    duplicates = before - frame.height
    kept_positions = frame["_pos"].to_list()
    events = frame.with_columns(pl.col("_ts").alias("ts")).select(EVENT_COLUMNS)

    bad.sort()
    rejected = pl.DataFrame(
        {
            "source": [source] * len(bad),
            "position": [line_pos[i] for i, _, _ in bad],
            "raw": [_raw_text(lines[i]) for i, _, _ in bad],
            "reason_code": [code for _, code, _ in bad],
            "reason": [reason for _, _, reason in bad],
        },
        schema=REJECTED_SCHEMA,
    )
    return ParsedBatch(events=events, rejected=rejected, duplicates=duplicates, positions=kept_positions)


def concat_batches(batches: Iterable[ParsedBatch]) -> ParsedBatch:
    """One batch from many, with duplicates across them removed (first wins)."""
    batches = list(batches)
    if not batches:
        return ParsedBatch(empty_events(), empty_rejected())
    events = pl.concat([b.events for b in batches], how="vertical")
    before = events.height
    events = events.unique(subset="event_id", keep="first", maintain_order=True)
    return ParsedBatch(
        events=events,
        rejected=pl.concat([b.rejected for b in batches], how="vertical"),
        duplicates=sum(b.duplicates for b in batches) + before - events.height,
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
        positions=good["_pos"].to_list(),
    )
