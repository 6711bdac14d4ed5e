"""The configured ``[ingest]`` time range reaches the reader from the entry points (issue 16), not
only the process-wide default the reader falls back on (read once, at its first use)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.config import IngestSettings
from distillguard.events import configured_ingest
from distillguard.store import Store
from distillguard.stream.consumer import parse_messages
from tests.helpers import valid_event

EARLY, LATE = "2026-11-02T13:04:05Z", "2026-11-20T13:04:05Z"
#: A range that refuses EARLY and keeps LATE (the defaults keep both).
NARROW = IngestSettings(ts_min=datetime(2026, 11, 10, tzinfo=timezone.utc))


def test_cli_load_reads_with_the_configured_range(tmp_path, monkeypatch):
    configured_ingest()                                 # the process default, read before the setting changes
    logs = tmp_path / "day.jsonl"
    logs.write_text("\n".join(json.dumps(valid_event(event_id=e, ts=ts)) for e, ts in (("early", EARLY), ("late", LATE))) + "\n")
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text(json.dumps({"account_id": "a1", "created_at": EARLY}) + "\n")
    monkeypatch.setenv("DISTILLGUARD_INGEST__TS_MIN", NARROW.ts_min.isoformat())
    result = CliRunner().invoke(app, ["load", "--logs", str(logs), "--accounts", str(accounts), "--db", str(tmp_path / "dg.duckdb")])
    assert result.exit_code == 0, result.output
    with Store.open(tmp_path / "dg.duckdb", read_only=True) as store:
        assert store.frame("SELECT event_id FROM events")["event_id"].to_list() == ["late"]
        assert store.frame("SELECT reason_code FROM rejected_events")["reason_code"].to_list() == ["timestamp_out_of_range"] * 2
        assert store.count("accounts") == 0


def test_the_stream_parses_a_poll_with_the_range_it_is_given():
    records = [ConsumerRecord(topic="t", partition=0, leader_epoch=0, offset=offset, timestamp=0, timestamp_type=0, key=None,
                              value=json.dumps(valid_event(event_id=e, ts=ts)).encode(), headers=[], checksum=None,
                              serialized_key_size=-1, serialized_value_size=0, serialized_header_size=0)
               for offset, (e, ts) in enumerate((("early", EARLY), ("late", LATE)))]
    default = parse_messages(TopicPartition("t", 0), records)
    narrow = parse_messages(TopicPartition("t", 0), records, ingest=NARROW)
    assert default.events["event_id"].to_list() == ["early", "late"]
    assert narrow.events["event_id"].to_list() == ["late"]
    assert narrow.rejected.select("position", "reason_code").rows() == [(0, "timestamp_out_of_range")]
