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


def _exact(records: list[bytes], first_position: int = 0):
    """The record-by-record msgspec path, the reference the columnar path must agree with."""
    from distillguard.events import _parse_exact

    kept = [(i, r.strip()) for i, r in enumerate(records, start=first_position) if r.strip()]
    return _parse_exact([r for _, r in kept], [i for i, _ in kept], source="t")[0]


def _assert_same(fast, exact):
    assert fast.events.equals(exact.events)
    assert fast.rejected.equals(exact.rejected)
    assert fast.duplicates == exact.duplicates


full_event = valid_event(
    end_user_id="u-1", asn=64500, country="DE", user_agent="client/1.0", latency_ms=812.5, finish_reason="stop",
    temperature=0.7, top_p=0.9, max_tokens=1024, n=1, stream=False, logprobs=False, top_logprobs=0, tools=0,
    response_format="text", conversation_id="c-1", turn=1, system_prompt_hash="h", prompt="Explain entropy.",
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(full_event)), json_values), min_size=1, max_size=6), st.data())
def test_the_columnar_path_agrees_with_the_exact_path_on_every_record(mutations, data):
    # Mostly valid events, each with one field set to an arbitrary JSON value: Polars parses most
    # such blocks, so this compares its verdicts (suspects included) with msgspec's, record by record.
    records = []
    for i, (key, value) in enumerate(mutations):
        records.append(line(dict(full_event, event_id=f"ok-{i}", prompt=data.draw(st.text(max_size=30)))))
        records.append(line({**full_event, "event_id": f"mut-{i}", key: value}))
    records.append(records[0])                                    # a repeat counts once
    _assert_same(parse_records(records, source="t"), _exact(records))


def test_strings_the_columnar_parse_would_invent_are_rejected_like_the_exact_path_does():
    records = [line(valid_event(event_id=f"e{i}", **change)) for i, change in enumerate([
        {"model": 7}, {"prompt": {"a": [1]}}, {"endpoint": ["x"]}, {"user_agent": True}, {"ts": 1700000000},
        {"asn": 2**64 - 1}, {"n": -0}, {"prompt": "12"}, {"prompt": "{looks like json}"}, {"client_ip": "10.0.0.1"},
    ])] + [line(valid_event(event_id="s")).replace(b'"acct-a"', b'"acct-\\ud83d"')]
    fast = parse_records(records, source="t")
    _assert_same(fast, _exact(records))
    assert fast.events["event_id"].to_list() == ["e7", "e8", "e9"]      # genuine strings that look like JSON stay
    assert fast.rejected["reason_code"].to_list() == ["wrong_type"] * 5 + ["out_of_range"] * 2 + ["invalid_unicode"]


def test_a_large_block_with_scattered_garbage_keeps_every_good_record_and_its_line_number():
    from distillguard.events import parse_block

    lines = [line(valid_event(event_id=f"e{i}")) for i in range(20_000)]
    for at in (3, 7_777, 19_999):
        lines[at] = b'{"event_id": "broken'
    lines[12_345] = b""                                                  # a blank line
    batch = parse_block(b"\n".join(lines) + b"\n", source="t", first_position=1)
    assert batch.events.height == 20_000 - 4
    assert batch.rejected["position"].to_list() == [4, 7_778, 20_000]
    assert batch.events["event_id"].to_list() == [f"e{i}" for i in range(20_000) if i not in (3, 7_777, 12_345, 19_999)]
    _assert_same(batch, _exact(lines, first_position=1))
