"""The reader's event struct, column types and column rules are the contract's JSON schema, field by field."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from typing import Any

import msgspec
import polars as pl
import pytest

from distillguard import events
from distillguard.events import (
    CONTRACT_PATH,
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    FIELDS,
    MAX_INT,
    REQUIRED_FIELDS,
    LogEvent,
    contract_fields,
    event_struct,
    parse_records,
    validate_frame,
)
from tests.helpers import line, valid_event

SCHEMA: dict[str, Any] = json.loads(CONTRACT_PATH.read_text())
PROPERTIES: dict[str, Any] = SCHEMA["properties"]
JSON_DTYPES = {"string": pl.String(), "integer": pl.Int64(), "number": pl.Float64(), "boolean": pl.Boolean()}
#: Keywords of a field this test checks below; a keyword the contract gains and this test does not
#: know fails :func:`test_every_keyword_of_the_contract_is_checked_here`.
CHECKED_KEYWORDS = {"type", "description", "format", "minLength", "maxLength", "minimum", "maximum", "pattern", "enum"}


def _json_types(spec: dict[str, Any]) -> tuple[str, bool]:
    types = [spec["type"]] if isinstance(spec["type"], str) else spec["type"]
    (kind,) = [t for t in types if t != "null"]
    return kind, "null" in types


def _struct_schema(struct: type) -> dict[str, Any]:
    """The struct's own idea of its JSON schema, as msgspec writes it."""
    schema = msgspec.json.schema(struct)
    return schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]


def test_every_keyword_of_the_contract_is_checked_here():
    used = {keyword for spec in PROPERTIES.values() for keyword in spec}
    assert used <= CHECKED_KEYWORDS, f"the contract uses {sorted(used - CHECKED_KEYWORDS)}: check them in this file"


def test_columns_follow_the_contract_field_by_field():
    assert EVENT_COLUMNS == list(PROPERTIES)                     # every field, in contract order
    assert list(REQUIRED_FIELDS) == [name for name in PROPERTIES if name in SCHEMA["required"]]
    for name, spec in PROPERTIES.items():
        kind, _ = _json_types(spec)
        assert EVENT_SCHEMA[name] == JSON_DTYPES[kind], name     # ts (date-time) is read as text
        assert events._KIND[name] == ("date-time" if spec.get("format") == "date-time" else kind), name


def test_struct_follows_the_contract_field_by_field():
    struct = _struct_schema(LogEvent)
    assert set(struct["properties"]) == set(PROPERTIES)
    assert set(struct["required"]) == set(SCHEMA["required"])
    assert not LogEvent.__struct_config__.forbid_unknown_fields   # fields not listed are ignored
    for name, spec in PROPERTIES.items():
        got = struct["properties"][name]
        kind, nullable = _json_types(spec)
        variants = got.get("anyOf", [got])
        assert ({"type": "null"} in variants) == nullable, name
        (typed,) = [v for v in variants if v != {"type": "null"}]
        expected = {k: v for k, v in spec.items() if k in ("minLength", "maxLength", "minimum", "maximum", "pattern", "enum")}
        if kind == "integer":                                    # the store's BIGINT bounds every integer
            expected.setdefault("maximum", MAX_INT)
            if "minimum" not in spec:
                expected["minimum"] = -MAX_INT - 1
        if "enum" in spec:
            assert typed.get("enum") == spec["enum"], name
        else:
            assert typed["type"] == kind, name
        assert {k: v for k, v in typed.items() if k != "type"} == expected, name
        assert ("default" in got) == (name not in SCHEMA["required"]), name


# --- each limit of each field, at its edge, on every path ----------------------------------------

def _outside(rule: events.FieldRule) -> list[tuple[str, Any]]:
    """A value breaking each of the field's limits, with the reason code it must get."""
    cases: list[tuple[str, Any]] = []
    step = 1 if rule.kind == "integer" else 0.5
    if rule.min_length:
        cases.append(("oversized_field", "x" * (rule.min_length - 1)))
    if rule.max_length is not None:
        cases.append(("oversized_field", "x" * (rule.max_length + 1)))
    if rule.minimum is not None:
        cases.append(("out_of_range", rule.minimum - step))
    if rule.maximum is not None:
        cases.append(("out_of_range", rule.maximum + step))
    if rule.pattern is not None:
        bad = next(v for v in ("", "!", "0", "a", "zz", "~~~") if not re.search(rule.pattern, v))
        cases.append(("out_of_range", bad))
    if rule.enum is not None:
        cases.append(("out_of_range", "not-one-of-the-values"))
    return cases


def _inside(rule: events.FieldRule) -> list[Any]:
    """Values at the edges of the field's limits, which must pass."""
    values: list[Any] = []
    if rule.min_length:
        values.append("x" * rule.min_length)
    if rule.max_length is not None:
        values.append("x" * rule.max_length)
    if rule.minimum is not None:
        values.append(rule.minimum)
    if rule.maximum is not None:
        values.append(rule.maximum)
    if rule.pattern is not None:
        good = {"^[A-Z]{2}$": "GB"}.get(rule.pattern)
        assert good is not None, f"give {rule.name}'s pattern a value it accepts here"
        values.append(good)
    if rule.enum is not None:
        values.append(rule.enum[0])
    return values


LIMITED = [rule for rule in FIELDS if _outside(rule)]


def _with(name: str, value: Any, i: int = 0) -> dict[str, Any]:
    return valid_event(event_id=f"e{i}", **{name: value}) if name != "event_id" else valid_event(event_id=value)


def test_every_field_with_a_limit_is_tested_here():
    limited = {name for name, spec in PROPERTIES.items() if set(spec) & {"minLength", "maxLength", "minimum", "maximum", "pattern", "enum"}}
    assert limited == {rule.name for rule in LIMITED}


@pytest.mark.parametrize("rule", LIMITED, ids=lambda rule: rule.name)
def test_each_limit_rejects_just_outside_and_accepts_its_edge_on_every_path(rule):
    outside, inside = _outside(rule), _inside(rule)
    records = [line(_with(rule.name, value, i)) for i, (_, value) in enumerate(outside)]
    records += [line(_with(rule.name, value, 100 + i)) for i, value in enumerate(inside)]
    expected = [code for code, _ in outside]
    exact = parse_records(records, source="exact")              # a small batch: record by record
    assert exact.rejected["reason_code"].to_list() == expected
    assert exact.events.height == len(inside)
    padding = [line(valid_event(event_id=f"pad-{i}")) for i in range(events.EXACT_BELOW_RECORDS)]
    columnar = parse_records(records + padding, source="columnar")
    assert columnar.rejected["reason_code"].to_list() == expected
    assert columnar.events.height == len(inside) + len(padding)
    # the same values as columns (Parquet): the column rules, with their reasons
    rows = [_with(rule.name, value, i) for i, value in enumerate([v for _, v in outside] + inside)]
    frame = pl.DataFrame(rows, schema={c: EVENT_SCHEMA[c] for c in rows[0]})
    frame = frame.with_columns(pl.lit(datetime(2026, 11, 2, tzinfo=timezone.utc)).alias("ts"))
    batch = validate_frame(frame, source="frame")
    assert batch.rejected["reason_code"].to_list() == expected
    assert all(f"`{rule.name}`" in reason for reason in batch.rejected["reason"].to_list())
    assert batch.events.height == len(inside)


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_each_required_field_is_required_on_every_path(name):
    event = valid_event()
    event.pop(name, None)
    assert parse_records([line(event)], source="t").rejected["reason_code"].to_list() == ["missing_field"]
    frame = pl.DataFrame([valid_event(event_id=f"e{i}") for i in range(2)]).with_columns(
        pl.Series(name, [None, None], dtype=EVENT_SCHEMA[name]))
    rejected = validate_frame(frame, source="t").rejected
    assert rejected["reason_code"].to_list() == ["missing_field"] * 2
    assert rejected["reason"][0] == f"required field `{name}` is missing or null"


# --- a contract change is picked up (or refused) in one place ------------------------------------

def test_a_field_added_to_the_contract_reaches_the_struct_and_its_rules():
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["cache_tokens"] = {"type": ["integer", "null"], "minimum": 0, "maximum": 10}
    schema["properties"]["tier"] = {"type": "string", "enum": ["free", "pro"]}
    schema["required"] = [*schema["required"], "tier"]
    fields = contract_fields(schema)
    struct = event_struct(fields)
    decode = msgspec.json.Decoder(struct).decode
    good = valid_event(tier="pro", cache_tokens=10)
    assert decode(line(good)).cache_tokens == 10
    for bad in ({**good, "cache_tokens": 11}, {**good, "tier": "gold"}, {k: v for k, v in good.items() if k != "tier"}):
        with pytest.raises(msgspec.ValidationError):
            decode(line(bad))
    rules = {f.name: f for f in fields}
    assert [c[2] for c in events.field_checks(rules["cache_tokens"])] == ["`cache_tokens` outside 0-10"]
    assert [c[2] for c in events.field_checks(rules["tier"])] == ["`tier` is not one of free, pro"]


@pytest.mark.parametrize("spec", [
    {"type": "string", "format": "uri"},                      # a format the reader does not check
    {"type": "integer", "exclusiveMinimum": 0},               # a keyword it does not apply
    {"type": "array"},                                        # a type it cannot hold
    {"type": ["string", "integer"]},                          # two types
    {"type": "integer", "maxLength": 3},                      # a limit of the wrong kind
])
def test_a_contract_change_the_reader_does_not_handle_fails_loudly(spec):
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["new_field"] = spec
    with pytest.raises(ValueError, match="new_field"):
        contract_fields(schema)


def test_a_required_field_that_may_be_null_fails_loudly():
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["new_field"] = {"type": ["string", "null"]}
    schema["required"] = [*schema["required"], "new_field"]
    with pytest.raises(ValueError, match="new_field"):
        contract_fields(schema)


def test_a_top_level_rule_the_reader_does_not_apply_fails_loudly():
    schema = {**copy.deepcopy(SCHEMA), "additionalProperties": False}
    with pytest.raises(ValueError, match="additionalProperties"):
        contract_fields(schema)
