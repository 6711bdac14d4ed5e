"""The log event of the contract, and the reader that turns raw records into a Polars frame.

Every record is validated against ``contract/api-log-event.schema.json``; a record that is
not valid JSON, not an object, lacks a required field, has a wrong type, an out-of-range or
oversized value, an unparseable or implausible timestamp, non-UTF-8 bytes or a lone UTF-16
surrogate escape, nesting deeper than :data:`MAX_DEPTH` or a number no parser here can hold
(anywhere in the record, known field or not) is set aside with its reason. Unknown fields are
otherwise ignored; a UTF-8 byte-order mark before a record is ignored too. The same
:func:`parse_records` serves files and Kafka values, and no single record can make it raise.

Records are parsed in two ways that agree on every record. The columnar path hands pieces of
a block (:data:`PIECE_LINES` records) to Polars' JSON reader and checks the contract's rules
as column expressions; the exact path, :func:`judge_record`, decides one record at a time
with msgspec and is the reference (small batches of :func:`parse_records` go this way
only). Cheap byte screens over the whole block (:func:`scan_block`: a line that is not
``{...}``, invalid UTF-8, a UTF-16 surrogate escape, more opening brackets than
:data:`MAX_DEPTH`) send the lines they catch the exact way before Polars sees them; a row
the columnar parse accepted but that could break a rule it cannot see (a value out of
range, a number where a string belongs that the raw line does not show quoted) is a
*suspect* and is judged exactly as well. A piece Polars refuses (a wrong type in a typed
field, say) is searched for the value Polars names, else with a typed msgspec decode of its
numeric fields, and parsed again without the lines found: a bad line costs a few
milliseconds at most, not a re-parse of its block.

>>> batch = parse_records([
...     b'{"event_id":"e1","ts":"2026-11-02T13:04:05.123Z","account_id":"a","api_key_id":"k",'
...     b'"client_ip":"10.0.0.1","endpoint":"/v1/messages","model":"m","status":200,'
...     b'"prompt_tokens":12,"completion_tokens":40,"extra_field":{"ignored":true}}',
...     b'{"event_id":"e2","ts":"yesterday"}',
...     b'not json',
...     b'{"event_id":"e3","x":' + b'[' * 1000 + b']' * 1000 + b'}',
... ], source="example")
>>> batch.events.height, batch.rejected.height
(1, 3)
>>> batch.rejected["reason_code"].to_list()
['missing_field', 'invalid_json', 'too_deep']
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterable, Literal, Optional, Sequence

import msgspec
import numpy as np
import polars as pl

if TYPE_CHECKING:
    from distillguard.config import IngestSettings

#: Largest integer an event can carry: the store keeps integers as BIGINT.
MAX_INT = 2**63 - 1
#: Deepest nesting of objects and arrays in a record, the record's own object counting as 1.
#: Events are flat; a limit keeps a 2 KB line of brackets from exhausting any parser's stack.
MAX_DEPTH = 64
#: Integers the columnar parser can hold (128 bits): a JSON integer beyond them, in any field,
#: is rejected; so is any number beyond the 64-bit float range (1e400).
MIN_JSON_INT, MAX_JSON_INT = -(2**127), 2**128 - 1
#: A UTF-8 byte-order mark, ignored before a record (editors put one at the start of a file).
BOM = b"\xef\xbb\xbf"

#: An id of 1-128 characters (the account contract's ``account_id``: :mod:`distillguard.load`).
Str128 = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]

# --- the contract: the event struct, the column types and the column rules come from it ----------

#: The log-event contract (a copy of shared/contract); everything below that knows a field reads it
#: from here, so a change to the contract is picked up in one place.
CONTRACT_PATH = Path(__file__).resolve().parent / "contract" / "api-log-event.schema.json"

#: The keywords the reader understands: at the top of the schema and in a field. Any other keyword
#: (``exclusiveMinimum``, ``additionalProperties``, ...) fails the import rather than be ignored.
_TOP_KEYWORDS = frozenset({"$schema", "$id", "title", "description", "type", "required", "properties"})
_FIELD_KEYWORDS = frozenset({"type", "description", "format", "minLength", "maxLength", "minimum", "maximum", "pattern", "enum"})
#: JSON types of a field and the reader's column type for each (``format: date-time`` is text on reading).
_DTYPES: dict[str, pl.DataType] = {"string": pl.String(), "integer": pl.Int64(), "number": pl.Float64(), "boolean": pl.Boolean()}
_PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
#: Patterns in words, for the reasons of the column rules (another pattern is quoted as it is).
_PATTERN_WORDS = {"^[A-Z]{2}$": "two capital letters"}


@dataclass(frozen=True)
class FieldRule:
    """One field of the contract as the reader applies it.

    ``kind`` is the field's JSON type, or ``"date-time"`` for a string of that format; the
    limits are the schema's (``None`` when it sets none).
    """

    name: str
    kind: str
    required: bool
    nullable: bool
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None

    @property
    def dtype(self) -> pl.DataType:
        """The column type the reader reads the field as."""
        return _DTYPES["string" if self.kind == "date-time" else self.kind]


def _field_rule(name: str, spec: dict[str, Any], required: bool) -> FieldRule:
    """A field's schema as a :class:`FieldRule`; a keyword or combination the reader does not
    apply raises ``ValueError`` (the contract changed in a way this module must follow)."""
    unknown = set(spec) - _FIELD_KEYWORDS
    if unknown:
        raise ValueError(f"contract field `{name}`: keyword(s) {sorted(unknown)} not handled by the reader")
    types = spec.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in types
    kinds = [t for t in types if t != "null"]
    if len(kinds) != 1 or kinds[0] not in _DTYPES:
        raise ValueError(f"contract field `{name}`: type {spec.get('type')!r} not handled by the reader "
                         "(one of string, integer, number, boolean, optionally with null)")
    kind = kinds[0]
    if required and nullable:
        raise ValueError(f"contract field `{name}`: a required field that may be null is not handled by the reader")
    if "format" in spec:
        if spec["format"] != "date-time" or kind != "string" or set(spec) & {"minLength", "maxLength", "pattern", "enum"}:
            raise ValueError(f"contract field `{name}`: format {spec['format']!r} (with {sorted(spec)}) not handled by the reader")
        kind = "date-time"
    if kind != "string" and set(spec) & {"minLength", "maxLength", "pattern"}:
        raise ValueError(f"contract field `{name}`: text limits on a {kind} field")
    if kind not in ("integer", "number") and set(spec) & {"minimum", "maximum"}:
        raise ValueError(f"contract field `{name}`: numeric limits on a {kind} field")
    if "enum" in spec and (set(spec) & {"minLength", "maxLength", "pattern", "minimum", "maximum"}
                           or not all(isinstance(v, (int, float) if kind == "number" else _PYTHON_TYPES[kind]) for v in spec["enum"])):
        raise ValueError(f"contract field `{name}`: an enum with other limits or values not of type {kind}")
    return FieldRule(
        name=name, kind=kind, required=required, nullable=nullable,
        min_length=spec.get("minLength"), max_length=spec.get("maxLength"),
        minimum=spec.get("minimum"), maximum=spec.get("maximum"),
        pattern=spec.get("pattern"), enum=tuple(spec["enum"]) if "enum" in spec else None,
    )


def contract_fields(schema: dict[str, Any]) -> tuple[FieldRule, ...]:
    """The fields of a log-event JSON schema, in its order."""
    unknown = set(schema) - _TOP_KEYWORDS
    if unknown or schema.get("type") != "object":
        raise ValueError(f"contract: top-level keyword(s) {sorted(unknown)} or type {schema.get('type')!r} not handled by the reader")
    properties: dict[str, Any] = schema["properties"]
    required = set(schema.get("required", ()))
    if required - set(properties):
        raise ValueError(f"contract: required field(s) {sorted(required - set(properties))} not among the properties")
    return tuple(_field_rule(name, spec, name in required) for name, spec in properties.items())


def _msgspec_type(rule: FieldRule) -> Any:
    """The field's type for msgspec, with the contract's limits (an integer also within BIGINT)."""
    if rule.enum is not None:
        base: Any = Literal[rule.enum]
    elif rule.kind == "integer":
        ge = -MAX_INT - 1 if rule.minimum is None else max(rule.minimum, -MAX_INT - 1)
        le = MAX_INT if rule.maximum is None else min(rule.maximum, MAX_INT)
        base = Annotated[int, msgspec.Meta(ge=ge, le=le)]
    else:
        limits: dict[str, Any] = {
            "min_length": rule.min_length, "max_length": rule.max_length, "pattern": rule.pattern,
            "ge": rule.minimum, "le": rule.maximum,
        }
        limits = {key: value for key, value in limits.items() if value is not None}
        py_type = str if rule.kind == "date-time" else _PYTHON_TYPES[rule.kind]
        base = Annotated[py_type, msgspec.Meta(**limits)] if limits else py_type
    return Optional[base] if rule.nullable else base


def event_struct(fields: Sequence[FieldRule]) -> type[msgspec.Struct]:
    """The msgspec struct of the fields: required ones first (no default), the others default to
    None; unknown fields ignored."""
    specs: list[tuple[str, Any] | tuple[str, Any, Any]] = [(f.name, _msgspec_type(f)) for f in fields if f.required]
    specs += [(f.name, _msgspec_type(f), None) for f in fields if not f.required]
    return msgspec.defstruct(
        "LogEvent", specs, module=__name__, forbid_unknown_fields=False,
        namespace={"__doc__": "One API request as the gateway logs it (built from api-log-event.schema.json)."},
    )


CONTRACT: dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
#: The contract's fields, in its order.
FIELDS: tuple[FieldRule, ...] = contract_fields(CONTRACT)
#: One API request as the gateway logs it: the contract's types and limits.
LogEvent = event_struct(FIELDS)

#: Column types of an accepted event, in contract order; ``ts`` is parsed to UTC.
EVENT_SCHEMA: dict[str, pl.DataType] = {f.name: f.dtype for f in FIELDS}
EVENT_COLUMNS = list(EVENT_SCHEMA)
_SCHEMA = pl.Schema(EVENT_SCHEMA)
REQUIRED_FIELDS = tuple(f.name for f in FIELDS if f.required)
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"

#: Columns of a dead letter (a Polars schema: frames are cast to it).
REJECTED_SCHEMA = pl.Schema({
    "source": pl.String(),
    "position": pl.Int64(),
    "raw": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
})
MAX_RAW_CHARS = 10_000

#: The typed (non-string) fields of :class:`LogEvent` with its limits, every one optional: a
#: cheap decode that finds the lines Polars refuses in a piece (wrong types, syntax errors).
_TypedFields = msgspec.defstruct(
    "_TypedFields",
    [(f.name, Optional[f.type], None) for f in msgspec.structs.fields(LogEvent) if EVENT_SCHEMA[f.name] != pl.String()],
)

_decode_event = msgspec.json.Decoder(LogEvent).decode
_decode_typed_fields = msgspec.json.Decoder(_TypedFields).decode
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
    return pl.DataFrame(schema={**EVENT_SCHEMA, "ts": pl.Datetime("us", "UTC")})


def empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTED_SCHEMA)


# --- the accepted time range -------------------------------------------------------------

@lru_cache(maxsize=1)
def configured_ingest() -> "IngestSettings":
    """The ``[ingest]`` settings of this process's configuration (read once)."""
    from distillguard.config import load_settings

    return load_settings().ingest


def accepted_ts_range(ingest: "IngestSettings | None" = None, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``(earliest, latest)`` event time accepted now (UTC), from ``ingest`` or the configuration.

    >>> from distillguard.config import IngestSettings
    >>> lo, hi = accepted_ts_range(IngestSettings(), now=datetime(2026, 11, 2, tzinfo=timezone.utc))
    >>> lo.isoformat(), hi.isoformat()
    ('2000-01-01T00:00:00+00:00', '2026-11-03T00:00:00+00:00')
    """
    ingest = ingest if ingest is not None else configured_ingest()
    earliest = ingest.ts_min if ingest.ts_min.tzinfo else ingest.ts_min.replace(tzinfo=timezone.utc)
    latest = (now or datetime.now(timezone.utc)) + timedelta(seconds=ingest.ts_max_ahead_s)
    return earliest.astimezone(timezone.utc), latest.astimezone(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _ts_checks(ts_range: tuple[datetime, datetime]) -> list[tuple[str, str, pl.Expr]]:
    """Checks of the parsed ``_ts`` column: unparseable, before or after the accepted range."""
    earliest, latest = ts_range
    span = f"the accepted range is {_stamp(earliest)} to {_stamp(latest)}"
    micros = pl.col("_ts").cast(pl.Int64)
    return [
        ("bad_timestamp", "`ts` is not an RFC 3339 date-time", pl.col("_ts").is_null()),
        ("timestamp_out_of_range", f"`ts` is before {_stamp(earliest)} ({span})", micros < _micros(earliest)),
        ("timestamp_out_of_range", f"`ts` is after {_stamp(latest)} ({span})", micros > _micros(latest)),
    ]


# --- the exact path: one record at a time ---------------------------------------------------

#: A JSON string (an unterminated one runs to the end of the record).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.S)
_NUMBER = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: Digits enough for an integer beyond 128 bits, or an exponent of three digits: a number that
#: may break a limit (in a string too: such records are judged in full).
_RISKY_NUMBER = re.compile(rb"[0-9]{39}|[eE][+-]?[0-9]{3}")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.S)


def _skeleton(record: bytes) -> bytes:
    """The record with every string emptied: its brackets and numbers, nothing quoted."""
    return _STRING.sub(b'""', record)


def _depth(skeleton: bytes) -> int:
    """Deepest nesting of objects and arrays (NumPy, no recursion however deep)."""
    folded = np.frombuffer(skeleton, dtype=np.uint8) | 0x20          # '[' -> '{', ']' -> '}'
    step = (folded == 0x7B).astype(np.int8) - (folded == 0x7D).astype(np.int8)
    return int(step.cumsum(dtype=np.int32).max(initial=0))


def _lone_surrogate(text: str) -> re.Match | None:
    """The first ``\\uD800``-``\\uDFFF`` escape that is not half of a surrogate pair."""
    pending: re.Match | None = None
    for m in _ESCAPE.finditer(text):
        code = int(m.group(1), 16) if m.group(1) else -1
        if pending is not None:
            if 0xDC00 <= code <= 0xDFFF and m.start() == pending.end():
                pending = None
                continue
            return pending
        if 0xD800 <= code <= 0xDBFF:
            pending = m
        elif 0xDC00 <= code <= 0xDFFF:
            return m
    return pending


def _shown(literal: bytes) -> str:
    text = literal.decode("ascii")
    return text if len(text) <= 24 else f"{text[:12]}...{text[-4:]} ({len(text)} characters)"


def _number_problem(skeleton: bytes) -> str | None:
    """Why a number in the record cannot be held, or None (strings are out of the skeleton)."""
    for m in _NUMBER.finditer(skeleton):
        literal = m.group()
        if any(c in literal for c in b".eE"):
            if not math.isfinite(float(literal)):
                return f"number {_shown(literal)} is beyond the 64-bit float range (about 1.8e308)"
        elif len(literal.lstrip(b"-")) > 39 or not MIN_JSON_INT <= int(literal) <= MAX_JSON_INT:
            return f"integer {_shown(literal)} is beyond 128 bits"
    return None


def _typed_problem(exc: msgspec.ValidationError) -> tuple[str, str]:
    message = str(exc)
    if message.startswith("Object missing required field"):
        return "missing_field", message
    if "length" in message:
        return "oversized_field", message
    if "Expected" in message and "got" in message:
        return "wrong_type", message
    return "out_of_range", message


def judge_record(record: bytes, decode_typed: Callable[[bytes], Any] = _decode_event) -> tuple[str, str] | None:
    """Why one raw record (stripped, no BOM) is not a valid event: ``(reason_code, reason)``, or None.

    The record's time stamp is checked apart (by the caller, as a column). Checks run cheapest
    and most fundamental first, and none can recurse or overflow: the depth is counted before
    any parser descends, numbers are judged from their text. ``decode_typed``: the typed decode
    of the record's contract (another struct's decoder judges another kind of record, e.g. an
    account: :func:`distillguard.load.read_accounts`).

    >>> judge_record(b'{"event_id": "e", "x": "\\\\ud800"}')
    ('invalid_unicode', 'lone UTF-16 surrogate escape \\\\ud800 at byte 24 (not a Unicode character)')
    >>> judge_record(b'{"x": 1e400}')[0], judge_record(b'{"x": ' + b'9' * 400 + b'}')[1]
    ('number_out_of_range', 'integer 999999999999...9999 (400 characters) is beyond 128 bits')
    """
    if ((record.isascii() or _utf8(record)) and record.count(b"{") + record.count(b"[") <= MAX_DEPTH
            and _RISKY_NUMBER.search(record) is None):
        # the common case, quickly: no nesting or number that could break a limit, so the typed
        # decode (strict JSON, lone surrogates refused even in skipped strings) decides alone
        try:
            decode_typed(record)
            return None
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            pass                                            # the full judgement gives the reason
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "invalid_utf8", f"not valid UTF-8 (byte {exc.start})"
    skeleton = _skeleton(record)
    depth = _depth(skeleton)
    if depth > MAX_DEPTH:
        return "too_deep", f"objects and arrays nested {depth} levels deep; at most {MAX_DEPTH} are accepted"
    if _SURROGATE_ESCAPE.search(record) and (lone := _lone_surrogate(text)) is not None:
        at = len(text[: lone.start()].encode("utf-8"))
        return "invalid_unicode", f"lone UTF-16 surrogate escape {lone.group()} at byte {at} (not a Unicode character)"
    try:
        value = _decode_any(record)
    except msgspec.ValidationError as exc:                  # msgspec's own number limits
        return "number_out_of_range", _number_problem(skeleton) or str(exc)
    except msgspec.DecodeError as exc:
        return "invalid_json", f"not valid JSON: {exc}"
    except RecursionError:
        return "too_deep", "objects and arrays nested too deep to read"
    if not isinstance(value, dict):
        return "not_object", f"JSON {type(value).__name__} where an object was expected"
    if (problem := _number_problem(skeleton)) is not None:
        return "number_out_of_range", problem
    try:
        decode_typed(record)
    except msgspec.ValidationError as exc:
        return _typed_problem(exc)
    except (msgspec.DecodeError, RecursionError) as exc:  # not reached: the untyped decode passed
        return "invalid_json", f"not valid JSON: {exc}"
    return None


def classify_error(line: bytes) -> tuple[str, str]:
    """:func:`judge_record` as ``("ok", "")`` or ``(reason_code, reason)`` (time stamp not checked)."""
    return judge_record(_bare(line)) or ("ok", "")


def _bare(record: bytes) -> bytes:
    """A record without surrounding white space and a leading byte-order mark."""
    record = record.strip()
    return record[3:].strip() if record.startswith(BOM) else record


def _raw_text(line: bytes) -> str:
    return line[:MAX_RAW_CHARS].decode("utf-8", errors="backslashreplace")


def _columnar_refusal(exc: BaseException) -> tuple[str, str]:
    """A reason for a record Polars alone refuses (the exact checks let it through)."""
    message = str(exc).split("\n", 1)[0][:300]
    if "InvalidNumber" in message:
        return "number_out_of_range", f"a number the reader cannot hold ({message})"
    if "InvalidUtf8" in message:
        return "invalid_utf8", f"not valid UTF-8 ({message})"
    if "InvalidUnicodeCodepoint" in message:
        return "invalid_unicode", f"an escape that is not a Unicode character ({message})"
    if "DepthLimit" in message:
        return "too_deep", f"nested too deep ({message})"
    if "cannot parse" in message:
        return "wrong_type", message
    return "invalid_json", f"not valid JSON for the columnar reader ({message})"


def _read_json_lines(lines: list[bytes]) -> tuple[pl.DataFrame, list[int], list[tuple[int, str, str]]]:
    """Records msgspec accepted as a frame: ``(frame, kept indexes, refused (index, code, reason))``.

    Polars is stricter than msgspec in corners (an exponent of twenty digits, say); a record
    it refuses alone is rejected with Polars' reason instead of failing the others.
    """
    if not lines:
        return pl.DataFrame(schema=EVENT_SCHEMA), [], []
    try:
        frame = pl.read_ndjson(b"\n".join(lines), schema=EVENT_SCHEMA)
        if frame.height == len(lines):
            return frame, list(range(len(lines))), []
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 - found line by line below
        pass
    frames, kept, refused = [], [], []
    for i, line in enumerate(lines):
        try:
            frame = pl.read_ndjson(line, schema=EVENT_SCHEMA)
            if frame.height != 1:
                raise ValueError(f"{frame.height} rows from one record")
        except (Exception, pl.exceptions.PanicException) as exc:  # noqa: BLE001
            refused.append((i, *_columnar_refusal(exc)))
            continue
        frames.append(frame)
        kept.append(i)
    frame = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=EVENT_SCHEMA)
    return frame, kept, refused


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


@lru_cache(maxsize=1)
def _violation_any() -> pl.Expr:
    """Whether a row breaks any of :func:`_frame_violations` (null when it cannot tell)."""
    return pl.any_horizontal([bad for _, _, bad in _frame_violations()])


def _first_failure(frame: pl.DataFrame, *check_lists: list[tuple[str, str, pl.Expr]] | None) -> pl.DataFrame:
    """``frame`` with ``_code`` and ``_reason``: the first failing check of each row (null if
    none), lists in order; ``None`` stands for :func:`_frame_violations`."""
    checks = [check for checks in check_lists for check in (_frame_violations() if checks is None else checks)]
    if not checks or frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.String).alias("_code"), pl.lit(None, pl.String).alias("_reason"))
    failed = frame.select([bad.fill_null(False).alias(f"_check{k}") for k, (_, _, bad) in enumerate(checks)]).to_numpy()
    first = failed.argmax(axis=1)
    none = ~failed[np.arange(len(first)), first]
    codes = np.array([code for code, _, _ in checks], dtype=object)[first]
    reasons = np.array([reason for _, reason, _ in checks], dtype=object)[first]
    codes[none] = None
    reasons[none] = None
    return frame.with_columns(pl.Series("_code", codes.tolist(), dtype=pl.String),
                              pl.Series("_reason", reasons.tolist(), dtype=pl.String))


def _parse_exact(
    lines: Sequence[bytes],
    line_pos: Sequence[int],
    *,
    source: str,
    ts_range: tuple[datetime, datetime] | None = None,
) -> tuple[ParsedBatch, list[int]]:
    """The exact path: :func:`judge_record` on each record (blank ones skipped), then the time
    stamps. Returns the batch and, for each accepted event, the index of its line in ``lines``."""
    ts_range = ts_range or accepted_ts_range()
    good: list[bytes] = []
    good_idx: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        record = _bare(line)
        if not record:
            if line.strip():                                    # a byte-order mark and nothing else
                bad.append((i, "invalid_json", "not valid JSON: a byte-order mark and no record"))
            continue
        verdict = judge_record(record)
        if verdict is None:
            good.append(record)
            good_idx.append(i)
        else:
            bad.append((i, *verdict))
    if not good:                                        # nothing accepted: no frame to build
        bad.sort()
        rejected = rejected_frame(source, [(line_pos[i], _raw_text(lines[i]), code, reason) for i, code, reason in bad])
        return ParsedBatch(empty_events(), rejected), []
    frame, kept, refused = _read_json_lines(good)
    bad.extend((good_idx[k], code, reason) for k, code, reason in refused)
    good_idx = [good_idx[k] for k in kept]
    # The rules again as columns: the stored row is Polars' reading of the record, so it must
    # pass them too (a repeated key is read first-wins by Polars, last-wins by msgspec).
    ts_checks = _ts_checks(ts_range)
    ts_failure = pl.coalesce([pl.when(check).then(pl.lit(k)) for k, (_, _, check) in enumerate(ts_checks)])
    frame = (
        frame.lazy()
        .with_columns(_parsed_ts().alias("_ts"), pl.Series("_idx", good_idx, dtype=pl.Int64))
        .with_columns(_violation_any().fill_null(False).alias("_broken"), ts_failure.alias("_ts_failure"))
        .with_columns((pl.col("_broken") | pl.col("_ts_failure").is_not_null()).alias("_bad"))
        .with_columns((pl.when(~pl.col("_bad")).then(pl.col("event_id")).is_first_distinct() & ~pl.col("_bad")).alias("_first"))
        .select(pl.col("_ts").alias("ts"), pl.col("ts").alias("_ts_text"), pl.exclude("ts"))
        .collect(engine="in-memory")
    )
    n_bad = int(frame["_bad"].sum())
    if n_bad:                                   # the reasons, for the few rows that need them
        failing = frame.filter(pl.col("_bad"))
        broken = failing.filter(pl.col("_broken"))
        if broken.height:                       # a rule broken (a repeated key): the first, in order
            broken = _first_failure(broken.with_columns(pl.col("_ts_text").alias("ts")), None, ts_checks)
            bad.extend(broken.select("_idx", "_code", "_reason").iter_rows())
        for idx, stamp, k in failing.filter(~pl.col("_broken")).select("_idx", "_ts_text", "_ts_failure").iter_rows():
            code, reason, _ = ts_checks[k]
            bad.append((idx, code, f"ts {stamp!r} is not an RFC 3339 date-time" if k == 0
                        else reason.replace("`ts`", f"ts {stamp!r}", 1)))
    duplicates = frame.height - n_bad - int(frame["_first"].sum())
    if n_bad or duplicates:
        frame = frame.filter(pl.col("_first"))
    bad.sort()
    rejected = rejected_frame(source, [(line_pos[i], _raw_text(lines[i]), code, reason) for i, code, reason in bad])
    return ParsedBatch(frame.select(EVENT_COLUMNS), rejected, duplicates), frame["_idx"].to_list()


# --- the columnar path: blocks of lines -------------------------------------------------------

#: Polars writes a JSON number, boolean, object or array found where a string belongs as text,
#: numbers in plain decimals; a string of one of these shapes may not have been a string.
_RESERIALISED = r"(?s)^(?:-?[0-9]+(?:\.[0-9]+)?|true|false|\{.*\}|\[.*\])$"
#: String fields whose own checks do not already catch such text: all but date-times (``ts`` must
#: parse) and enums of no such value. (A pattern may or may not allow such text; a value it refuses
#: makes the row a suspect anyway, so such fields cost a check, never a verdict.)
_FREE_TEXT_FIELDS = [
    f.name for f in FIELDS
    if f.kind == "string" and not (f.enum is not None and not any(re.search(_RESERIALISED, v) for v in f.enum))
]
_QUOTED_KEYS = [f'"{name}"'.encode() for name in _FREE_TEXT_FIELDS]


@lru_cache(maxsize=1)
def _rules_broken() -> pl.Expr:
    """Whether a row breaks one of the contract's rules a column can show (time stamps apart)."""
    return pl.any_horizontal([bad for _, _, bad in _frame_violations()])


@lru_cache(maxsize=1)
def _reserialised_mask() -> pl.Expr:
    """Which free-text fields (bit k for ``_FREE_TEXT_FIELDS[k]``) hold text of a shape Polars
    writes for a JSON number, boolean, object or array."""
    return pl.sum_horizontal([
        pl.col(name).str.contains(_RESERIALISED).fill_null(False).cast(pl.Int32) * (1 << k)
        for k, name in enumerate(_FREE_TEXT_FIELDS)
    ])


def _suspect_rows(ts_range: tuple[datetime, datetime]) -> pl.Expr:
    """Rows the columnar parse accepted that the exact path must judge: ``_suspect`` (a rule
    broken, the time stamp bad or out of range) and ``_reserialised`` (the fields whose text
    could have come from a non-string JSON value, judged from the raw line first).

    Every rule of :class:`LogEvent` that a column can break is checked here. Polars itself
    refuses the other type errors (text or fractions in integer fields, non-booleans in
    boolean fields), and the byte screens keep invalid UTF-8, surrogate escapes (which Polars
    would read as U+0000) and deep nesting from it, so a row that is not a suspect is valid.
    """
    return pl.any_horizontal([_rules_broken(), *(bad for _, _, bad in _ts_checks(ts_range))]).fill_null(False)


_KEY_END = re.compile(rb"\s*:\s*")


def _strings_in_raw(line: bytes, mask: int) -> bool:
    """Whether each free-text field in ``mask`` holds a JSON string in the raw line (not a number,
    boolean, object or array that Polars wrote as text): its key once in the line, a quote after
    the colon. A numeric end-user id is text that looks like a number, and common."""
    for k, key in enumerate(_QUOTED_KEYS):
        if mask & (1 << k):
            if line.count(key) != 1:
                return False
            at = line.find(key) + len(key)
            colon = _KEY_END.match(line, at)
            if colon is None or b":" not in colon.group() or line[colon.end():colon.end() + 1] != b'"':
                return False
    return True


def count_lines(block: bytes) -> int:
    """Lines in a block of text, a last line without its newline included (NumPy; the GIL is released)."""
    newlines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")))
    return newlines + (0 if not block or block.endswith(b"\n") else 1)


#: Records per Polars call. A piece Polars refuses (a wrong type in a typed field) costs most
#: of its parse again, ~4 us a line; each call costs ~1 ms. With B lines a block and one such
#: line in it the extra is B/P ms + P * 4 us, least near P = 2,000 for 16 MB blocks (a block of
#: 21k lines: ~5 ms more than one call when clean; a refused piece ~8 ms).
PIECE_LINES = 2048
#: Bytes a scan compares at a time: pieces that stay in the CPU's cache (a 16 MB block scans in
#: ~8 ms in pieces of 256 KB, ~18 ms at once: each comparison is a pass over memory).
_SCAN_BYTES = 256 << 10


@dataclass
class BlockScan:
    """Where a block's lines are, and the bytes the screens look at (one pass over the block)."""

    arr: np.ndarray          # the block's bytes
    starts: np.ndarray       # each line's first byte
    ends: np.ndarray         # each line's end (its newline, or the block's end)
    opens: np.ndarray        # every '{' and '['
    backslashes: np.ndarray  # every '\\'
    plain: np.ndarray | None = None   # lines the columnar parse may take (:func:`_screened_lines`)

    @property
    def n_lines(self) -> int:
        return len(self.ends)


def scan_block(block: bytes, *, joined: bool = False, screen: bool = True) -> BlockScan:
    """One pass of NumPy over ``block`` (the GIL released): newlines, opening brackets,
    backslashes, and (``screen``) the lines the columnar parse may take. A file reader runs it
    on its reading thread, beside the parse of the block before.

    A block is JSONL text (a final newline ends the last line) or, ``joined``, records joined
    by newlines (n - 1 newlines for n records, an empty last record included)."""
    arr = np.frombuffer(block, dtype=np.uint8)
    hits, more = np.empty(min(len(arr), _SCAN_BYTES), bool), np.empty(min(len(arr), _SCAN_BYTES), bool)
    folded = more.view(np.uint8)
    found_at = []
    for start in range(0, len(arr), _SCAN_BYTES):
        part = arr[start:start + _SCAN_BYTES]
        h, m, f = hits[:len(part)], more[:len(part)], folded[:len(part)]
        np.equal(part, 10, out=h)                          # newlines,
        np.bitwise_or(part, 0x20, out=f)
        np.equal(f, 0x7B, out=m)                           # '{' and '[' ('[' | 0x20 == '{'),
        np.logical_or(h, m, out=h)
        np.equal(part, 0x5C, out=m)                        # backslashes
        np.logical_or(h, m, out=h)
        found_at.append(np.flatnonzero(h) + start)
    at = np.concatenate(found_at) if found_at else np.zeros(0, dtype=np.int64)
    found = arr[at]
    ends = at[found == 10]
    if joined or (block and not block.endswith(b"\n")):
        ends = np.append(ends, len(block))
    starts = np.zeros(len(ends), dtype=np.int64)
    starts[1:] = ends[:-1] + 1
    scan = BlockScan(arr, starts, ends, at[(found | 0x20) == 0x7B], at[found == 0x5C])
    if screen:
        scan.plain = _screened_lines(block, scan)
    return scan


_BAD_UTF8_AT = re.compile(r"Invalid UTF8 sequence at string index (\d+)")


def _lines_not_utf8(block: bytes, starts: np.ndarray, ends: np.ndarray) -> list[int]:
    """Lines of ``block`` that are not valid UTF-8, found by Arrow's SIMD check without decoding
    the block (~10 ms for 16 MB of non-ASCII text; Python's decoder takes ~40 ms and a copy)."""
    if block.isascii():
        return []
    import pyarrow as pa

    offsets = np.empty(len(starts) + 1, dtype=np.int64)
    offsets[:-1], offsets[-1] = starts, ends[-1]
    lines = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(block))
    found: list[int] = []
    first = 0
    while first < len(starts):
        try:
            lines.slice(first).validate(full=True)
            break
        except pa.ArrowInvalid as exc:
            at = _BAD_UTF8_AT.search(str(exc))
            if at is None or len(found) >= 64:        # unexpected, or many: each line on its own
                found.extend(i for i in range(first, len(starts)) if not _utf8(block[starts[i]:ends[i]]))
                break
            found.append(first + int(at.group(1)))
            first = found[-1] + 1
    return found


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _screened_lines(block: bytes, scan: BlockScan) -> np.ndarray:
    """Lines the columnar parse may take: ``{...}`` (CR before the newline allowed), valid UTF-8,
    no UTF-16 surrogate escape, at most :data:`MAX_DEPTH` opening brackets."""
    arr, starts, ends, size = scan.arr, scan.starts, scan.ends, len(block)
    if size == 0:
        return np.zeros(len(ends), dtype=bool)
    last = np.maximum(ends - 1, 0)
    last = last - ((arr[last] == 13) & (last > starts))                # a CR before the newline
    plain = (ends - starts >= 2) & (arr[np.minimum(starts, size - 1)] == 0x7B) & (arr[last] == 0x7D)
    # invalid UTF-8
    bad_utf8 = _lines_not_utf8(block, starts, ends)
    if bad_utf8:
        plain[bad_utf8] = False
    # a surrogate escape (\uD800-\uDFFF): lone ones are invalid, Polars reads them in known fields as U+0000
    bs = scan.backslashes[scan.backslashes + 3 < size]
    if len(bs):
        hex_digit = arr[bs + 3]
        surrogate = ((arr[bs + 1] == 0x75) & ((arr[bs + 2] | 0x20) == 0x64)
                     & (((hex_digit | 0x20) - 0x61 < 6) | (hex_digit == 0x38) | (hex_digit == 0x39)))
        if surrogate.any():
            plain[np.searchsorted(ends, bs[surrogate])] = False
    # more opening brackets than MAX_DEPTH (counted in strings too: the exact path decides)
    if len(scan.opens) > MAX_DEPTH:
        per_line = np.searchsorted(scan.opens, ends) - np.searchsorted(scan.opens, starts)
        plain &= per_line <= MAX_DEPTH
    return plain


def _joined_runs(block: bytes, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray) -> bytes:
    """Lines ``idx`` of a block, one per line: a slice of it, or a join of its runs of lines
    (a few screened lines leave a few gaps: a join of 2,048 lines costs ~10x more)."""
    breaks = np.flatnonzero(np.diff(idx) != 1)
    firsts = np.concatenate(([idx[0]], idx[breaks + 1]))
    lasts = np.concatenate((idx[breaks], [idx[-1]]))
    if len(firsts) == 1:
        return block[starts[firsts[0]]:ends[lasts[0]]]
    return b"\n".join([block[starts[a]:ends[b]] for a, b in zip(firsts.tolist(), lasts.tolist())])


#: Polars' message for a value of the wrong type: the value as text, and its JSON kind.
_REFUSED_VALUE = re.compile(r"cannot parse '(.*)' \((\w+)\) as ")


def _typed_fields_ok(line: bytes) -> bool:
    try:
        _decode_typed_fields(line)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return False
    return True


def _lines_refused(lines: list[bytes], error: BaseException | None) -> list[int]:
    """Lines of a piece Polars refused that a typed decode of their numeric fields refuses too:
    first only those holding the value Polars names (a wrong type), then, if none, every line."""
    hint = _REFUSED_VALUE.search(str(error)) if error is not None else None
    if hint is not None:
        value, kind = hint.groups()
        text = msgspec.json.encode(value) if kind == "string" else value.encode()
        needles = (b":" + text, b": " + text)             # the value after a key, as JSON writers space it
        found = [j for j, line in enumerate(lines)
                 if (needles[0] in line or needles[1] in line) and not _typed_fields_ok(line)]
        if found:
            return found
    return [j for j, line in enumerate(lines) if not _typed_fields_ok(line)]


def _parse_piece(block: bytes, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray) -> tuple[pl.DataFrame, list[int]]:
    """Screened lines ``idx`` through Polars: ``(frame with _idx, lines for the exact path)``.

    A piece Polars refuses is parsed again without the lines a typed decode refuses (a few
    rounds: one per wrong value Polars names); if it is still refused, every line goes exact.
    """
    lines: list[bytes] | None = None
    piece = _joined_runs(block, starts, ends, idx)
    refused: list[int] = []
    for _ in range(4):
        error: BaseException | None = None
        try:
            frame = pl.read_ndjson(piece, schema=_SCHEMA)
            if frame.height == len(idx):
                return frame.with_columns(pl.Series("_idx", idx, dtype=pl.Int64)), refused
        except (Exception, pl.exceptions.PanicException) as exc:  # noqa: BLE001 - searched below
            error = exc
        if lines is None:
            lines = [block[s:e] for s, e in zip(starts[idx].tolist(), ends[idx].tolist())]
        found = _lines_refused(lines, error)
        if not found:
            break
        keep = np.ones(len(idx), dtype=bool)
        keep[found] = False
        refused.extend(idx[~keep].tolist())
        idx, lines = idx[keep], [line for line, k in zip(lines, keep) if k]
        if not lines:
            return pl.DataFrame(schema={**EVENT_SCHEMA, "_idx": pl.Int64()}), refused
        piece = b"\n".join(lines)
    return pl.DataFrame(schema={**EVENT_SCHEMA, "_idx": pl.Int64()}), refused + idx.tolist()


def _parse_block(
    block: bytes,
    line_pos: Sequence[int],
    *,
    source: str,
    ts_range: tuple[datetime, datetime],
    scan: BlockScan | None = None,
    exact: dict[int, bytes] | None = None,
) -> ParsedBatch:
    """Records separated by newlines, one position per line; ``exact``: lines (by index) to
    judge record by record whatever their place in the block holds."""
    n = len(line_pos)
    if n == 0:
        return ParsedBatch(empty_events(), empty_rejected())
    scan = scan or scan_block(block)
    if scan.n_lines != n:
        raise ValueError(f"{n} positions for a block of {scan.n_lines} lines")
    starts, ends = scan.starts, scan.ends
    plain = (scan.plain if scan.plain is not None else _screened_lines(block, scan)).copy()
    to_judge = set(np.flatnonzero(~plain & (ends > starts)).tolist())
    if exact:
        plain[list(exact)] = False
        to_judge.update(exact)
    frames = []
    good = np.flatnonzero(plain)
    for at in range(0, len(good), PIECE_LINES):
        frame, refused = _parse_piece(block, starts, ends, good[at:at + PIECE_LINES])
        frames.append(frame)
        to_judge.update(refused)
    frame = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema={**EVENT_SCHEMA, "_idx": pl.Int64()})
    frame = (
        frame.lazy()
        .with_columns(_parsed_ts().alias("_ts"))
        .select(pl.col("_ts").alias("ts"), pl.exclude("ts", "_ts"), _suspect_rows(ts_range).alias("_suspect"),
                _reserialised_mask().alias("_reserialised"), pl.col("event_id").is_first_distinct().alias("_first"))
        .collect(engine="in-memory")
    )
    if frame["_reserialised"].max():
        # text shaped like a number (say) is a suspect unless the raw line shows it quoted
        maybe = frame.filter((pl.col("_reserialised") != 0) & ~pl.col("_suspect")).select("_idx", "_reserialised")
        unquoted = [i for i, mask in maybe.iter_rows() if not _strings_in_raw(block[starts[i]:ends[i]], mask)]
        if unquoted:
            frame = frame.with_columns(pl.col("_suspect") | pl.col("_idx").is_in(unquoted))
    any_suspect = bool(frame["_suspect"].any())
    if any_suspect:
        to_judge.update(frame.lazy().filter(pl.col("_suspect")).select("_idx").collect()["_idx"].to_list())
    rejected, judged_events, repeats = empty_rejected(), None, 0
    if to_judge:
        order = sorted(to_judge)
        lines = [exact[i] if exact and i in exact else block[starts[i]:ends[i]] for i in order]
        judged, kept = _parse_exact(lines, [line_pos[i] for i in order], source=source, ts_range=ts_range)
        rejected, repeats = judged.rejected, judged.duplicates
        if judged.events.height:
            judged_events = judged.events.with_columns(pl.Series("_idx", [order[k] for k in kept], dtype=pl.Int64))
    if judged_events is None:                   # the usual case: each row kept or dropped in one pass
        ok = ~pl.col("_suspect")
        keep = (pl.when(ok).then(pl.col("event_id")).is_first_distinct() & ok) if any_suspect else pl.col("_first")
        frame = frame.with_columns(keep.alias("_keep"))
        n_kept = int(frame["_keep"].sum())
        duplicates = (frame.height - int(frame["_suspect"].sum())) - n_kept
        if n_kept == frame.height:
            return ParsedBatch(frame.select(EVENT_COLUMNS), rejected, duplicates + repeats)
        # (in memory: the streaming engine hands a filter's rows back in ~50 pieces a block,
        # and DuckDB inserts a frame of many pieces ~25% slower)
        events = frame.lazy().filter(pl.col("_keep")).select(EVENT_COLUMNS).collect(engine="in-memory")
        return ParsedBatch(events, rejected, duplicates + repeats)
    frame = frame.lazy().filter(~pl.col("_suspect")).select(*EVENT_COLUMNS, "_idx").collect(engine="in-memory")
    frame = pl.concat([frame, judged_events], how="vertical").sort("_idx")
    frame, duplicates = _keep_first(frame)
    return ParsedBatch(frame.select(EVENT_COLUMNS), rejected, duplicates + repeats)


def parse_block(
    block: bytes,
    *,
    source: str,
    first_position: int = 1,
    n_lines: int | None = None,
    ingest: "IngestSettings | None" = None,
    scan: BlockScan | None = None,
) -> ParsedBatch:
    """Validate a piece of a JSONL file: one record per line, positions are line numbers.

    ``scan``: the block's :func:`scan_block`, if the caller already made it (to count its lines).

    >>> ok = b'{"event_id":"e1","ts":"2026-11-02T13:04:05Z","account_id":"a","api_key_id":"k",' \\
    ...      b'"client_ip":"10.0.0.1","endpoint":"/v1/messages","model":"m","status":200,' \\
    ...      b'"prompt_tokens":1,"completion_tokens":2}'
    >>> batch = parse_block(ok + b"\\n" + b'{"event_id": 5}' + b"\\n", source="f.jsonl", first_position=41)
    >>> batch.events["event_id"].to_list(), batch.rejected["position"].to_list()
    (['e1'], [42])
    """
    scan = scan or scan_block(block)
    if n_lines is None:
        n_lines = scan.n_lines
    return _parse_block(block, range(first_position, first_position + n_lines), source=source,
                        ts_range=accepted_ts_range(ingest), scan=scan)


#: Batches of fewer records go record by record (the exact path): below this the columnar
#: path's fixed cost (~5 ms: a Polars read and its ~50 checks) is more than the records' own.
EXACT_BELOW_RECORDS = 32


def parse_records(
    records: Sequence[bytes],
    *,
    source: str,
    positions: Sequence[int] | None = None,
    ingest: "IngestSettings | None" = None,
) -> ParsedBatch:
    """Validate raw records (JSON texts as bytes) into accepted events and rejects.

    ``positions`` names each record in its source (line number, Kafka offset); it defaults to
    the index. Blank records are skipped. Duplicate ``event_id``s inside the batch are kept
    once and counted. No record makes it raise: each is an event, a repeat or a reject.
    """
    if positions is None:
        positions = range(len(records))
    lines: list[bytes] = []
    line_pos: list[int] = []
    exact: dict[int, bytes] = {}
    for pos, rec in zip(positions, records):
        if rec is None:
            continue
        if isinstance(rec, str):
            rec = rec.encode("utf-8", "surrogatepass")        # a lone surrogate stays invalid UTF-8
        elif not isinstance(rec, bytes):
            try:
                rec = bytes(memoryview(rec))
            except TypeError:
                rec = repr(rec).encode("utf-8", "backslashreplace")
        stripped = rec.strip()
        if not stripped:
            continue
        if b"\n" in stripped:                                   # a record with a newline inside it
            exact[len(lines)] = stripped
            stripped = b""
        lines.append(stripped)
        line_pos.append(pos)
    ts_range = accepted_ts_range(ingest)
    if len(lines) < EXACT_BELOW_RECORDS:            # a small poll: record by record is as quick
        return _parse_exact([exact.get(i, line) for i, line in enumerate(lines)], line_pos,
                            source=source, ts_range=ts_range)[0]
    block = b"\n".join(lines)
    return _parse_block(block, line_pos, source=source, ts_range=ts_range,
                        scan=scan_block(block, joined=True), exact=exact)


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
    """Coerce an events frame (the simulator's, a test's) to the accepted-event schema.

    Casts what it can; input from outside goes through :func:`validate_frame`, which refuses
    what this would coerce.
    """
    columns: list[pl.Expr] = []
    for name, dtype in EVENT_SCHEMA.items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "ts":
            columns.append(_ts_column(frame.schema["ts"]))
        else:
            columns.append(pl.col(name).cast(dtype, strict=False))
    return frame.select(columns)


def _ts_column(ts: pl.DataType) -> pl.Expr:
    if ts == pl.String:
        return pl.col("ts").str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC", time_unit="us")
    if not isinstance(ts, pl.Datetime):
        return pl.col("ts").cast(pl.String).str.to_datetime(TS_FORMAT, strict=False, time_zone="UTC", time_unit="us")
    if ts.time_zone is None:
        return pl.col("ts").dt.replace_time_zone("UTC").dt.cast_time_unit("us")
    return pl.col("ts").dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def to_contract_dict(row: dict[str, Any]) -> dict[str, Any]:
    """An accepted event row back to its JSON form (ts as RFC 3339 with Z)."""
    out = dict(row)
    ts = out.get("ts")
    if ts is not None and not isinstance(ts, str):
        out["ts"] = ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return out


def _number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


#: The kinds of limit a field can have, in the order :func:`_frame_violations` checks them.
LIMIT_KINDS = ("length", "range", "pattern", "enum")


def field_checks(rule: FieldRule) -> list[tuple[str, str, str, pl.Expr]]:
    """The column checks of one field's limits (not its presence): kind of limit (one of
    :data:`LIMIT_KINDS`), reason code, reason, bad-when."""
    col, name = pl.col(rule.name), rule.name
    checks: list[tuple[str, str, str, pl.Expr]] = []
    lo, hi = rule.min_length, rule.max_length
    if lo is not None and hi is not None:
        checks.append(("length", "oversized_field", f"`{name}` must be {lo}-{hi} characters", ~col.str.len_chars().is_between(lo, hi)))
    elif hi is not None:
        checks.append(("length", "oversized_field", f"`{name}` longer than {hi} characters", col.str.len_chars() > hi))
    elif lo is not None:
        checks.append(("length", "oversized_field", f"`{name}` shorter than {lo} characters", col.str.len_chars() < lo))
    low, high = rule.minimum, rule.maximum
    if low is not None and high is not None:
        checks.append(("range", "out_of_range", f"`{name}` outside {_number(low)}-{_number(high)}", ~col.is_between(low, high)))
    elif low == 0:
        checks.append(("range", "out_of_range", f"`{name}` is negative", col < 0))
    elif low is not None:
        checks.append(("range", "out_of_range", f"`{name}` below {_number(low)}", col < low))
    elif high is not None:
        checks.append(("range", "out_of_range", f"`{name}` above {_number(high)}", col > high))
    if rule.pattern is not None:
        words = _PATTERN_WORDS.get(rule.pattern, f"matching the pattern {rule.pattern}")
        checks.append(("pattern", "out_of_range", f"`{name}` is not {words}", ~col.str.contains(rule.pattern)))
    if rule.enum is not None:
        listed = ", ".join(map(str, rule.enum))
        checks.append(("enum", "out_of_range", f"`{name}` is not one of {listed}", ~col.is_in(list(rule.enum))))
    return checks


@lru_cache(maxsize=1)
def _frame_violations() -> list[tuple[str, str, pl.Expr]]:
    """Vectorised checks of the contract's rules (time stamps apart): code, reason, bad-when.

    A row's reason is its first failing check: a required field missing, then a text length, a
    numeric range, a pattern, an enum (:data:`LIMIT_KINDS`), each kind in contract order."""
    checks = [("missing_field", f"required field `{name}` is missing or null", pl.col(name).is_null()) for name in REQUIRED_FIELDS]
    limits = [check for rule in FIELDS for check in field_checks(rule)]
    limits.sort(key=lambda check: LIMIT_KINDS.index(check[0]))        # stable: contract order within a kind
    return checks + [(code, reason, bad) for _, code, reason, bad in limits]


# --- columnar input (Parquet) ----------------------------------------------------------------

#: What the contract's JSON schema allows in each field: its JSON type, or ``date-time``.
_KIND = {f.name: f.kind for f in FIELDS}


def _typed_input(name: str, dtype: pl.DataType) -> tuple[pl.Expr, list[tuple[str, str, pl.Expr]]]:
    """Column ``name`` of type ``dtype`` as the contract's type, and the checks its values must
    pass (on the input column). A type the contract's cannot hold is refused, never converted:
    an integer event_id, a fraction or text in an integer field, a number for a boolean."""
    col, kind = pl.col(name), _KIND[name]
    if dtype == pl.Null:
        return pl.lit(None, dtype=EVENT_SCHEMA[name]).alias(name), []
    article = "an" if kind[0] in "ai" else "a"
    wrong = [("wrong_type", f"`{name}` has type {dtype} in the file; the contract requires {article} {kind}", col.is_not_null())]
    nothing = pl.lit(None, dtype=EVENT_SCHEMA[name]).alias(name)
    if kind == "string":
        if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
            return col.cast(pl.String), []
        return nothing, wrong
    if kind == "integer":
        if dtype.is_integer():
            typed = col.cast(pl.Int64, strict=False)
            return typed, [("out_of_range", f"`{name}` is larger than {MAX_INT}", col.is_not_null() & typed.is_null())]
        return nothing, wrong
    if kind == "number":
        if dtype.is_numeric():
            typed = col.cast(pl.Float64, strict=False)
            return typed, [("out_of_range", f"`{name}` is not a finite number", col.is_not_null() & ~typed.is_finite().fill_null(False))]
        return nothing, wrong
    if kind == "boolean":
        return (col, []) if dtype == pl.Boolean else (nothing, wrong)
    # date-time: RFC 3339 text or a Parquet timestamp (a timestamp without a zone is taken as UTC)
    if dtype == pl.String or isinstance(dtype, pl.Datetime):
        typed = _ts_column(dtype)
        return typed, [("bad_timestamp", "`ts` is not an RFC 3339 date-time", col.is_not_null() & typed.is_null())]
    return pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias(name), wrong


def _raw_rows(frame: pl.DataFrame) -> list[str]:
    """Rows of an input frame as JSON text for the dead letters (temporal values as text, so a
    date Python cannot hold still shows)."""
    try:
        frame = frame.with_columns(pl.col(pl.Datetime, pl.Date).cast(pl.String))
        rows = frame.to_dicts()
    except Exception as exc:  # noqa: BLE001 - a column Python cannot hold: say so instead of the row
        return [f"(row not representable: {exc})"[:MAX_RAW_CHARS]] * frame.height
    out = []
    for row in rows:
        try:
            out.append(msgspec.json.encode(row).decode()[:MAX_RAW_CHARS])
        except Exception:  # noqa: BLE001 - e.g. an integer beyond 64 bits
            out.append(repr(row)[:MAX_RAW_CHARS])
    return out


def validate_frame(frame: pl.DataFrame, *, source: str, ingest: "IngestSettings | None" = None) -> ParsedBatch:
    """Validate a columnar batch (e.g. a Parquet file) with the contract's rules, vectorised.

    Each column's type is checked against the contract's first: a column whose type cannot
    hold the field's values (a list, binary, text for a boolean, a fraction for an integer)
    rejects each row that has a value in it, with the reason; nothing is converted.
    """
    ts_range = accepted_ts_range(ingest)
    index = "_pos"
    while index in frame.columns:                        # an input column of that name stays as it is
        index = f"_{index}"
    raw = frame.with_row_index(index)
    columns: list[pl.Expr] = []
    checks: list[tuple[str, str, pl.Expr]] = []         # first failing check wins, in this order
    for name in EVENT_COLUMNS:
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=pl.Datetime("us", "UTC") if name == "ts" else EVENT_SCHEMA[name]).alias(name))
            continue
        typed, column_checks = _typed_input(name, frame.schema[name])
        columns.append(typed.alias(name))
        for k, (code, reason, bad_when) in enumerate(column_checks):
            flag = f"_bad_{name}_{k}"
            columns.append(bad_when.alias(flag))
            checks.append((code, reason, pl.col(flag)))
    rows = raw.select(pl.col(index).cast(pl.Int64).alias("_pos"), *columns).with_columns(pl.col("ts").alias("_ts"))
    rows = _first_failure(rows, checks, None, _ts_checks(ts_range)[1:])   # unparseable ts: a column check
    bad = rows.filter(pl.col("_code").is_not_null())
    good = rows.filter(pl.col("_code").is_null())
    before = good.height
    good = good.unique(subset="event_id", keep="first", maintain_order=True)
    bad_raw = raw.filter(pl.col(index).is_in(bad["_pos"].implode())).drop(index)
    rejected = pl.DataFrame(
        {
            "source": [source] * bad.height,
            "position": bad["_pos"].to_list(),
            "raw": _raw_rows(bad_raw),
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
