"""The contract reader: every record is accepted, counted as a duplicate, or rejected with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _columnar(records: list[bytes]):
    """The columnar path on records as lines of a file (small batches of parse_records go exact)."""
    from distillguard.events import parse_block

    return parse_block(b"\n".join(records), source="t", first_position=0)


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
    _assert_same(_columnar(records), _exact(records))


def test_strings_the_columnar_parse_would_invent_are_rejected_like_the_exact_path_does():
    records = [line(valid_event(event_id=f"e{i}", **change)) for i, change in enumerate([
        {"model": 7}, {"prompt": {"a": [1]}}, {"endpoint": ["x"]}, {"user_agent": True}, {"ts": 1700000000},
        {"asn": 2**64 - 1}, {"n": -0}, {"prompt": "12"}, {"prompt": "{looks like json}"}, {"client_ip": "10.0.0.1"},
    ])] + [line(valid_event(event_id="s")).replace(b'"acct-a"', b'"acct-\\ud83d"')]
    fast = _columnar(records)
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


def test_timestamps_outside_the_configured_range_are_rejected_with_the_range():
    from datetime import datetime, timezone

    from distillguard.config import IngestSettings

    ingest = IngestSettings(ts_min=datetime(2020, 1, 1, tzinfo=timezone.utc), ts_max_ahead_s=3600)
    stamps = ["2019-12-31T23:59:59Z", "2020-01-01T00:00:00Z", "2026-11-02T13:04:05+14:00", "9999-12-31T23:00:00-14:00",
              "0001-01-01T00:00:00+14:00", "0000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"]
    records = [line(valid_event(event_id=f"e{i}", ts=ts)) for i, ts in enumerate(stamps)]
    for batch in (parse_records(records, source="t", ingest=ingest), _exact_with(records, ingest)):
        assert batch.events["event_id"].to_list() == ["e1", "e2"]
        assert batch.rejected["reason_code"].to_list() == ["timestamp_out_of_range"] * 5
        assert batch.rejected["reason"][0].startswith("ts '2019-12-31T23:59:59Z' is before 2020-01-01T00:00:00Z")
        assert "is after" in batch.rejected["reason"][1]


def _exact_with(records, ingest):
    from distillguard.events import _parse_exact, accepted_ts_range

    return _parse_exact(records, range(len(records)), source="t", ts_range=accepted_ts_range(ingest))[0]


def test_the_default_range_runs_from_2000_to_a_day_ahead():
    from datetime import datetime, timedelta, timezone

    soon = (datetime.now(timezone.utc) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = (datetime.now(timezone.utc) + timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = [line(valid_event(event_id=f"e{i}", ts=ts)) for i, ts in enumerate(["1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", soon, late])]
    batch = parse_records(records, source="t")
    assert batch.events["event_id"].to_list() == ["e1", "e2"]
    assert batch.rejected["position"].to_list() == [0, 3]


def test_parquet_columns_of_a_type_the_contract_cannot_hold_reject_their_rows_and_nothing_is_coerced(tmp_path):
    from distillguard.logfiles import read_parquet

    base = [valid_event(event_id=f"p{i}") for i in range(3)]
    cases = {
        "list": (pl.lit([1, 2]).alias("prompt"), "wrong_type"),
        "binary": (pl.lit(b"\xff\xfe").alias("account_id"), "wrong_type"),
        "text for a boolean": (pl.lit("yes").alias("stream"), "wrong_type"),
        "integer event_id": (pl.Series("event_id", [1, 2, 3]), "wrong_type"),
        "1.5 tokens": (pl.lit(1.5).alias("prompt_tokens"), "wrong_type"),
        "'12' for an integer": (pl.lit("12").alias("prompt_tokens"), "wrong_type"),
        "2.5 for a boolean": (pl.lit(2.5).alias("logprobs"), "wrong_type"),
        "a date for ts": (pl.lit(datetime_date()).alias("ts"), "wrong_type"),
        "NaN latency": (pl.lit(float("nan")).alias("latency_ms"), "out_of_range"),
        "asn beyond 2^63": (pl.lit(2**64 - 1, dtype=pl.UInt64).alias("asn"), "out_of_range"),
    }
    for name, (column, code) in cases.items():
        path = tmp_path / f"{name}.parquet"
        pl.DataFrame(base).with_columns(column).write_parquet(path)
        [batch] = list(read_parquet(path))
        assert batch.events.height == 0, name
        assert batch.rejected["reason_code"].to_list() == [code] * 3, name
        assert batch.rejected["position"].to_list() == [0, 1, 2], name
    # the types the contract's fields can hold, as Parquet writes them, are taken as they are
    path = tmp_path / "fine.parquet"
    pl.DataFrame(base).with_columns(pl.col("model").cast(pl.Categorical), pl.lit(3, dtype=pl.UInt8).alias("tools"),
                                    pl.lit(1, dtype=pl.Int32).alias("temperature"), pl.lit(None).alias("asn"),
                                    pl.lit([1]).alias("unknown_list"), pl.lit(b"\x00").alias("unknown_binary")).write_parquet(path)
    [batch] = list(read_parquet(path))
    assert batch.events["event_id"].to_list() == ["p0", "p1", "p2"] and batch.rejected.height == 0
    assert batch.events["tools"].to_list() == [3, 3, 3] and batch.events["temperature"].to_list() == [1.0, 1.0, 1.0]


def datetime_date():
    import datetime as dt

    return dt.date(2026, 11, 2)


def test_a_parquet_file_of_hostile_columns_loads_without_stopping(tmp_path):
    from distillguard.load import load_logs
    from distillguard.store import Store

    frame = pl.DataFrame([valid_event(event_id=f"p{i}") for i in range(4)]).with_columns(
        pl.Series("stream", ["true", None, None, None]), pl.Series("ts", ["0000-01-01T00:00:00Z", "2026-11-02T13:04:05Z",
                                                                          "9999-12-31T23:00:00-14:00", "2026-11-02T13:04:05Z"]))
    (tmp_path / "logs").mkdir()
    frame.write_parquet(tmp_path / "logs" / "day.parquet")
    with Store.open(tmp_path / "dg.duckdb") as store:
        report = load_logs([tmp_path / "logs"], store, show_progress=False)
        stored = sorted(e for (e,) in store.con.execute("SELECT event_id FROM events").fetchall())
        codes = store.con.execute("SELECT position, reason_code FROM rejected_events ORDER BY position").fetchall()
    assert stored == ["p1", "p3"]
    assert codes == [(0, "wrong_type"), (2, "timestamp_out_of_range")]
    assert (report.inserted, report.rejected) == (2, 2)


def test_a_repeated_key_is_judged_on_the_value_that_would_be_stored():
    # msgspec reads the last of two equal keys, Polars (whose reading is stored) the first: the
    # stored reading must pass the rules, whichever path the record takes.
    doubled = line(valid_event(event_id="d")).replace(b'"status": 200', b'"status": 999, "status": 200')
    for records in ([doubled], [b"\xef\xbb\xbf" + doubled]):                 # columnar, then exact (a BOM)
        for batch in (_columnar(records), parse_records(records, source="t")):
            assert batch.events.height == 0
            assert batch.rejected["reason_code"].to_list() == ["out_of_range"]


def test_quoted_text_shaped_like_a_number_stays_on_the_columnar_path(monkeypatch):
    # numeric end-user ids are common: the raw line shows them quoted, so no exact judgement
    from distillguard import events

    judged = []
    exact = events._parse_exact
    monkeypatch.setattr(events, "_parse_exact", lambda lines, *a, **k: judged.extend(lines) or exact(lines, *a, **k))
    records = [line(valid_event(event_id=f"e{i}", end_user_id=str(5276201 + i), prompt="[1, 2]")) for i in range(50)]
    records.append(line(valid_event(event_id="n", end_user_id=5276201)))
    batch = _columnar(records)
    assert batch.events.height == 50 and batch.rejected["reason_code"].to_list() == ["wrong_type"]
    assert judged == [records[-1]]
