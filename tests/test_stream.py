"""The streaming path against a real Tansu broker: exactly-once into DuckDB, dead letters,
crash and restart, a consumer group losing a member, and the same features as batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.errors import KafkaTimeoutError

from distillguard.config import Settings
from distillguard.features import account_features
from distillguard.kafka_io import ensure_topics, event_records, send_records
from distillguard.simulator import SimulationConfig, simulate
from distillguard.store import Store
from distillguard.stream import consumer as consumer_module
from distillguard.stream import run_stream
from distillguard.stream.scoring import StreamScorer
from tests.helpers import committed_offsets, line, valid_event

BAD_RECORDS = [
    b"this is not json",
    b'{"event_id": "bad-1", "ts": "2026-11-02T00:10:00Z"}',                        # missing fields
    line(valid_event(event_id="bad-2", ts="yesterday at noon")),                    # unparseable timestamp
    line(valid_event(event_id="bad-3", status="ok")),                               # wrong type
    b"[1, 2, 3]",                                                                   # not an object
    b"\xff\xfe not utf-8",
    b"",                                                                            # empty value
]


@lru_cache(maxsize=1)
def sample_events() -> pl.DataFrame:
    """Ninety minutes of simulated traffic (every kind of account, attackers included)."""
    events = simulate(SimulationConfig(seed=11, scale=0.2, n_days=1)).events
    return events.filter(pl.col("ts") < pl.col("ts").min() + pl.duration(minutes=90))


def stream_settings(tmp_path: Path, bootstrap: str, **stream) -> Settings:
    name = f"t{uuid.uuid4().hex[:8]}"
    return Settings(
        kafka={"bootstrap_servers": bootstrap, "topic_events": f"{name}-logs", "topic_dead_letter": f"{name}-dlq",
               "topic_alerts": f"{name}-alerts", "group_id": f"{name}-group", "max_poll_interval_ms": 8000,
               "session_timeout_ms": 6000, "poll_timeout_ms": 200},
        store={"db_path": tmp_path / "stream.duckdb"},
        stream={"checkpoint_dir": tmp_path / "checkpoints", "max_batch_records": 2000, **stream},
    )


def produce(settings: Settings, records: list[tuple[bytes | None, bytes]]) -> int:
    ensure_topics(settings.kafka, partitions=4)
    return send_records(settings.kafka, settings.kafka.topic_events, records)


def traffic_with_bad_records(events: pl.DataFrame) -> list[tuple[bytes | None, bytes]]:
    records = event_records(events)
    step = len(records) // (len(BAD_RECORDS) + 1)
    for i, bad in enumerate(BAD_RECORDS):
        records.insert((i + 1) * step, (b"acct-bad", bad))
    records += records[100:150]                                 # a redelivered stretch: counted once
    return records


def read_store(settings: Settings, sql: str) -> pl.DataFrame:
    deadline = time.monotonic() + 30
    while True:
        try:
            with Store.open(settings.store.db_path, read_only=True) as store:
                return store.frame(sql)
        except duckdb.Error:                                   # a stream process is writing right now
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def dead_letters(settings: Settings) -> list:
    consumer = KafkaConsumer(settings.kafka.topic_dead_letter, bootstrap_servers=[settings.kafka.bootstrap_servers],
                             auto_offset_reset="earliest", consumer_timeout_ms=2000)
    messages = list(consumer)
    consumer.close()
    return messages


def assert_exactly_once(settings: Settings, events: pl.DataFrame) -> None:
    stored = read_store(settings, "SELECT event_id, count(*) AS n FROM events GROUP BY event_id")
    assert stored["n"].max() == 1
    assert set(stored["event_id"].to_list()) == set(events["event_id"].to_list())
    alerts = read_store(settings, "SELECT account_id, severity, ts FROM alerts ORDER BY ts")
    # no duplicated alert: the same account and severity never alerts twice inside the cooldown
    gaps = alerts.with_columns(pl.col("ts").diff().over("account_id", "severity").dt.total_seconds().alias("gap"))
    assert gaps.filter(pl.col("gap") < settings.stream.alert_cooldown_s).height == 0, gaps


def test_every_valid_event_once_and_every_bad_record_dead_lettered(tmp_path, kafka_broker):
    settings = stream_settings(tmp_path, kafka_broker)
    events = sample_events()
    produce(settings, traffic_with_bad_records(events))

    report = run_stream(settings, max_seconds=120, stop_when_idle_s=3)

    assert_exactly_once(settings, events)
    rejected = read_store(settings, "SELECT reason_code, raw, position, source FROM rejected_events")
    assert rejected.height == len(BAD_RECORDS)
    assert set(rejected["reason_code"]) >= {"invalid_json", "missing_field", "bad_timestamp", "wrong_type", "not_object",
                                            "invalid_utf8", "empty_record"}
    letters = dead_letters(settings)
    assert sorted(m.value for m in letters) == sorted(BAD_RECORDS)
    for m in letters:
        headers = dict(m.headers)
        assert headers["reason"] and headers["source"].decode().startswith(f"kafka:{settings.kafka.topic_events}/")
        assert int(headers["offset"]) >= 0
    assert report.rejected == len(BAD_RECORDS) and report.inserted == events["event_id"].n_unique()
    # every record is counted once: a new event, a dead letter or a duplicate (the redelivered stretch, repeats)
    assert report.records == len(traffic_with_bad_records(events))
    assert report.records == report.inserted + report.rejected + report.duplicates
    # alerts are on their topic too, with the same ids as in DuckDB
    stored_ids = set(read_store(settings, "SELECT alert_id FROM alerts WHERE published_at IS NOT NULL")["alert_id"])
    consumer = KafkaConsumer(settings.kafka.topic_alerts, bootstrap_servers=[kafka_broker], auto_offset_reset="earliest",
                             consumer_timeout_ms=2000)
    published = [json.loads(m.value) for m in consumer]
    consumer.close()
    assert {a["alert_id"] for a in published} == stored_ids
    assert all(a["reasons"] for a in published)

    # a second run of the same group finds nothing new and writes nothing twice
    again = run_stream(settings, max_seconds=30, stop_when_idle_s=2)
    assert again.inserted == 0
    assert_exactly_once(settings, events)


class _DeadLettersFailAtFirst:
    """A real producer whose first ``failures`` sends to ``topic`` fail as if the broker were unreachable
    (kafka-python raises ``KafkaTimeoutError`` when it cannot get the topic's metadata in time)."""

    def __init__(self, producer, topic: str, failures: int) -> None:
        self.producer, self.topic, self.failures = producer, topic, failures

    def send(self, topic, *args, **kwargs):
        if topic == self.topic and self.failures:
            self.failures -= 1
            raise KafkaTimeoutError("injected: the dead-letter topic is unreachable")
        return self.producer.send(topic, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.producer, name)


def test_a_failed_dead_letter_send_replays_the_micro_batch_without_loss_or_duplicates(tmp_path, kafka_broker, monkeypatch):
    settings = stream_settings(tmp_path, kafka_broker, max_batch_records=700)
    events = sample_events()
    produce(settings, traffic_with_bad_records(events))
    real = consumer_module.make_producer
    monkeypatch.setattr(consumer_module, "make_producer",
                        lambda *a, **k: _DeadLettersFailAtFirst(real(*a, **k), settings.kafka.topic_dead_letter, failures=2))

    report = run_stream(settings, max_seconds=120, stop_when_idle_s=3)

    assert report.broker_errors >= 2
    assert_exactly_once(settings, events)
    # every bad record reaches the dead-letter topic although its first sends failed (the topic is at-least-once)
    assert {m.value for m in dead_letters(settings)} == set(BAD_RECORDS)
    assert read_store(settings, "SELECT count(*) AS n FROM rejected_events")["n"][0] == len(BAD_RECORDS)


def _stream_process(settings: Settings, *extra: str, log_path: Path | None = None) -> subprocess.Popen:
    env = {**os.environ,
           "DISTILLGUARD_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
           "DISTILLGUARD_KAFKA__TOPIC_EVENTS": settings.kafka.topic_events,
           "DISTILLGUARD_KAFKA__TOPIC_DEAD_LETTER": settings.kafka.topic_dead_letter,
           "DISTILLGUARD_KAFKA__TOPIC_ALERTS": settings.kafka.topic_alerts,
           "DISTILLGUARD_KAFKA__GROUP_ID": settings.kafka.group_id,
           "DISTILLGUARD_KAFKA__MAX_POLL_INTERVAL_MS": str(settings.kafka.max_poll_interval_ms),
           "DISTILLGUARD_KAFKA__SESSION_TIMEOUT_MS": str(settings.kafka.session_timeout_ms),
           "DISTILLGUARD_KAFKA__POLL_TIMEOUT_MS": "200",
           "DISTILLGUARD_STORE__DB_PATH": str(settings.store.db_path),
           "DISTILLGUARD_STREAM__CHECKPOINT_DIR": str(settings.stream.checkpoint_dir),
           "DISTILLGUARD_STREAM__MAX_BATCH_RECORDS": str(settings.stream.max_batch_records)}
    cli = Path(sys.executable).with_name("distillguard")
    # stderr to a file, not a pipe nobody reads (a full pipe would stall the process), kept for the failure message
    log_path = log_path or settings.store.db_path.with_name(f"stream-{uuid.uuid4().hex[:6]}.log")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([str(cli), "stream", *extra], env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    proc.log_path = log_path
    return proc


def _tail(proc: subprocess.Popen, chars: int = 3000) -> str:
    return proc.log_path.read_text(errors="replace")[-chars:]


def _wait_for_stored(settings: Settings, at_least: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if settings.store.db_path.exists():
            try:
                n = read_store(settings, "SELECT count(*) AS n FROM events")["n"][0]
                if n >= at_least:
                    return n
            except duckdb.Error:
                pass
        time.sleep(0.2)
    raise AssertionError(f"fewer than {at_least} events stored after {timeout_s} s")


def _wait_for_committed(settings: Settings, at_least: int, timeout_s: float = 60) -> int:
    """Offsets the group committed (summed over partitions), read from the broker: unlike the
    DuckDB file, which a busy consumer keeps locked, they can be watched while it works."""
    admin = KafkaAdminClient(bootstrap_servers=[settings.kafka.bootstrap_servers])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            committed = admin.list_group_offsets(settings.kafka.group_id).get(settings.kafka.group_id, {})
            n = sum(meta.offset for tp, meta in committed.items() if tp.topic == settings.kafka.topic_events and meta.offset > 0)
            if n >= at_least:
                return n
            time.sleep(0.05)
    finally:
        admin.close()
    raise AssertionError(f"fewer than {at_least} offsets committed after {timeout_s} s")


def test_sigkill_mid_run_then_restart_loses_and_duplicates_nothing(tmp_path, kafka_broker):
    settings = stream_settings(tmp_path, kafka_broker, max_batch_records=500)
    events = sample_events()
    produce(settings, traffic_with_bad_records(events))

    proc = _stream_process(settings)
    try:
        _wait_for_committed(settings, at_least=events.height // 5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = read_store(settings, "SELECT count(*) AS n FROM events")["n"][0]
    assert 0 < stored < events["event_id"].n_unique(), "the run finished before it could be killed; the test proves nothing"

    run_stream(settings, max_seconds=120, stop_when_idle_s=3)

    assert_exactly_once(settings, events)
    assert read_store(settings, "SELECT count(*) AS n FROM rejected_events")["n"][0] == len(BAD_RECORDS)
    assert read_store(settings, "SELECT count(*) AS n FROM alerts WHERE published_at IS NULL")["n"][0] == 0


def test_a_group_member_dies_and_the_other_takes_over_its_partitions(tmp_path, kafka_broker):
    settings = stream_settings(tmp_path, kafka_broker, max_batch_records=300)
    events = sample_events()
    first, second = _stream_process(settings), _stream_process(settings)
    try:
        time.sleep(4)                                          # both join the group and split the partitions
        sent = produce(settings, traffic_with_bad_records(events))
        _wait_for_stored(settings, at_least=events.height // 5)
        assert second.poll() is None, _tail(second)
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
        try:
            # every record of every partition committed: the survivor took over the dead member's partitions
            _wait_for_committed(settings, at_least=sent, timeout_s=90)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the survivor's log:\n{_tail(first)}") from None
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0, _tail(first)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    assert_exactly_once(settings, events)
    committed = committed_offsets(settings)
    assert sorted(committed) == [0, 1, 2, 3] and sum(committed.values()) == sent
    # stream_offsets is an audit written every few seconds: a member killed between two writes leaves it
    # behind for its partitions, never ahead of what the group committed
    audit = read_store(settings, "SELECT \"partition\", next_offset FROM stream_offsets")
    assert audit.height >= 1
    assert all(row["next_offset"] <= committed[row["partition"]] for row in audit.iter_rows(named=True))


def test_stream_windows_give_the_same_features_as_batch():
    """Identical events through the stream's windows and through batch give identical features."""
    events = (sample_events().filter(pl.col("ts") < pl.col("ts").min() + pl.duration(minutes=50))
              .unique("event_id", keep="first", maintain_order=True))      # as stored: a repeated event_id counts once
    scorer = StreamScorer(Settings(stream={"window_long_s": 3600}))
    partitioned = events.with_columns((pl.col("account_id").hash() % 4).cast(pl.Int32).alias("_partition"))
    for chunk in partitioned.sort("ts").iter_slices(777):
        scorer.ingest(chunk)
    accounts = events["account_id"].unique().sort().to_list()
    streamed = scorer.score_frame(accounts).select(account_features(events).columns).sort("account_id")
    batch = account_features(events).sort("account_id")
    assert streamed.height == batch.height == len(accounts)
    for column in batch.columns:
        left, right = streamed[column], batch[column]
        if left.dtype.is_float():
            assert ((left - right).abs().fill_null(0) < 1e-9).all() and (left.is_null() == right.is_null()).all(), column
        else:
            assert left.to_list() == right.to_list(), column


def test_kafka_record_checksums_are_checked_in_c():
    """The consumer checks every record batch's CRC-32C; kafka-python's pure-Python fallback costs
    tens of microseconds a record (more than validating it), so the crc32c package must be in use."""
    from kafka.record import util
    from kafka.record._crc32c import crc as pure_python_crc

    assert util._crc32c is not pure_python_crc
    assert util.calc_crc32c(b"123456789") == 0xE3069283        # the CRC-32C check value
