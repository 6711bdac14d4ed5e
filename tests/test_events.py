"""The contract reader: every record is accepted, counted as a duplicate, or rejected with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from hypothesis import given, settings, strategies as st

from distillguard.events import EVENT_COLUMNS, parse_records, validate_frame
from tests.helpers import line, valid_event

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract"
SHIPPED = Path(__file__).resolve().parents[1] / "distillguard" / "contract"


def test_shipped_schemas_match_the_contract():
    if not CONTRACT.is_dir():
        import pytest

        pytest.skip("shared/contract is not beside this checkout")
    for name in ("api-log-event.schema.json", "account.schema.json"):
        assert json.loads((SHIPPED / name).read_text()) == json.loads((CONTRACT / name).read_text())


def test_reader_fields_follow_the_schema():
    schema = json.loads((SHIPPED / "api-log-event.schema.json").read_text())
    assert set(EVENT_COLUMNS) == set(schema["properties"])
    from distillguard.events import REQUIRED_FIELDS

    assert set(REQUIRED_FIELDS) == set(schema["required"])


def test_valid_event_with_unknown_fields_is_accepted():
    batch = parse_records([line(valid_event(surprise={"nested": [1, 2]}, another="x"))], source="t")
    assert batch.events.height == 1 and batch.rejected.height == 0
    row = batch.events.row(0, named=True)
    assert row["status"] == 200 and row["ts"].year == 2026 and row["ts"].microsecond == 123000


def test_timestamps_with_offsets_are_normalised_to_utc():
    batch = parse_records([line(valid_event(ts="2026-11-02T15:04:05+02:00"))], source="t")
    assert batch.events["ts"][0].hour == 13


BAD_RECORDS = {
    "invalid_json": b'{"event_id": "x", ',
    "not_object": b"[1, 2, 3]",
    "missing_field": line({k: v for k, v in valid_event().items() if k != "account_id"}),
    "wrong_type": line(valid_event(status="200")),
    "bad_timestamp": line(valid_event(ts="2026-13-45T99:00:00Z")),
    "invalid_utf8": line(valid_event()).replace(b"acct-a", b"acct-\xff\xfe"),
    "oversized_field": line(valid_event(event_id="e" * 129)),
    "out_of_range": line(valid_event(prompt_tokens=-1)),
}


def test_every_kind_of_bad_record_is_rejected_with_its_reason_and_good_ones_survive():
    records, expected = [], []
    for i, (code, raw) in enumerate(BAD_RECORDS.items()):
        records.append(line(valid_event(event_id=f"good-{i}")))
        records.append(raw)
        expected.append(code)
    batch = parse_records(records, source="mixed")
    assert batch.events["event_id"].to_list() == [f"good-{i}" for i in range(len(BAD_RECORDS))]
    assert batch.rejected["reason_code"].to_list() == expected
    assert all(batch.rejected["reason"].str.len_chars() > 5)
    assert batch.rejected["position"].to_list() == [2 * i + 1 for i in range(len(BAD_RECORDS))]


def test_wrong_type_for_an_integer_field_is_not_silently_truncated():
    batch = parse_records([line(valid_event(prompt_tokens=1.5)), line(valid_event(event_id=7))], source="t")
    assert batch.events.height == 0
    assert batch.rejected["reason_code"].to_list() == ["wrong_type", "wrong_type"]


def test_duplicate_event_ids_count_once():
    batch = parse_records([line(valid_event()), line(valid_event()), line(valid_event(event_id="b"))], source="t")
    assert batch.events.height == 2 and batch.duplicates == 1


def test_joined_lines_cannot_smuggle_two_records_in_one():
    smuggled = line(valid_event(event_id="a")) + b"," + line(valid_event(event_id="b"))
    batch = parse_records([smuggled, line(valid_event(event_id="c"))], source="t")
    assert batch.events["event_id"].to_list() == ["c"]
    assert batch.rejected["reason_code"].to_list() == ["invalid_json"]


def test_parquet_rows_are_validated_with_the_same_rules():
    frame = pl.DataFrame([valid_event(event_id="p1"), valid_event(event_id="p2", status=999), valid_event(event_id="p3", ts="nope")])
    batch = validate_frame(frame, source="file.parquet")
    assert batch.events["event_id"].to_list() == ["p1"]
    assert sorted(batch.rejected["reason_code"].to_list()) == ["bad_timestamp", "out_of_range"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_arbitrary_bytes_never_crash_the_reader(records):
    batch = parse_records(records, source="fuzz")
    non_blank = sum(1 for r in records if r.strip())
    assert batch.events.height + batch.rejected.height + batch.duplicates == non_blank


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=10), st.data())
def test_arbitrary_json_and_mutated_events_never_crash_the_reader(values, data):
    records = [json.dumps(v).encode() for v in values]
    event = valid_event()
    key = data.draw(st.sampled_from(sorted(event)))
    event[key] = data.draw(json_values)
    records.append(json.dumps(event).encode())
    batch = parse_records(records, source="fuzz")
    assert batch.events.height + batch.rejected.height + batch.duplicates == len(records)
    assert set(batch.events.columns) == set(EVENT_COLUMNS)
