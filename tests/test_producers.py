"""The stream against producers it does not share code with, and against what goes wrong in a
real cluster: a librdkafka producer (confluent-kafka) with every codec and headers, record
batches that fail their checksum or do not inflate, and a consumer that loses its partitions.

Events here are built directly (tests.helpers), not simulated, so each test knows exactly what
must be stored; every test checks that the stream's counters add up (records = new events +
dead letters + duplicates).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import confluent_kafka
import duckdb
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.record.default_records import DefaultRecordBatch

import distillguard.kafka_io  # noqa: F401 - the stream's record decoding, as the stream applies it
from distillguard.config import Settings
from distillguard.kafka_io import ensure_topics
from distillguard.stream import run_stream
from tests.helpers import committed_offsets, line, valid_event
from tests.test_stream import read_store

pytestmark = pytest.mark.kafka

CODECS = ["gzip", "snappy", "lz4", "zstd"]
BAD_VALUES = [b"not json at all", b'{"event_id": "x-missing"}', b""]


def settings_for(tmp_path: Path, bootstrap: str, **kafka) -> Settings:
    name = f"p{uuid.uuid4().hex[:8]}"
    return Settings(
        kafka={"bootstrap_servers": bootstrap, "topic_events": f"{name}-logs", "topic_dead_letter": f"{name}-dlq",
               "topic_alerts": f"{name}-alerts", "group_id": f"{name}-group", "max_poll_interval_ms": 6000,
               "session_timeout_ms": 6000, "poll_timeout_ms": 200, **kafka},
        store={"db_path": tmp_path / "stream.duckdb"},
        stream={"checkpoint_dir": tmp_path / "checkpoints", "max_batch_records": 1000},
    )


def make_events(n: int, *, prefix: str, accounts: int = 40, start: datetime | None = None) -> list[dict]:
    """``n`` valid events over ``accounts`` accounts, a second or so apart, with unique ids."""
    start = start or datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        ts = start + timedelta(milliseconds=900 * i)
        out.append(valid_event(event_id=f"{prefix}-{i}", account_id=f"acct-{i % accounts}", api_key_id=f"key-{i % accounts}",
                               ts=ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", prompt_tokens=10 + i % 90,
                               completion_tokens=20 + i % 300))
    return out


def assert_stored_once(settings: Settings, event_ids: set[str]) -> None:
    stored = read_store(settings, "SELECT event_id, count(*) AS n FROM events GROUP BY event_id")
    assert stored.height == len(event_ids), f"{stored.height} stored, {len(event_ids)} expected"
    assert stored["n"].max() == 1
    assert set(stored["event_id"].to_list()) == event_ids


def dead_letters(settings: Settings) -> list:
    consumer = KafkaConsumer(settings.kafka.topic_dead_letter, bootstrap_servers=[settings.kafka.bootstrap_servers],
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    messages = list(consumer)
    consumer.close()
    return messages


def count_codec_calls(monkeypatch) -> dict[str, int]:
    """Count how often each codec's decoder runs in this process (the stream's, when in-process)."""
    from kafka.record import default_records

    calls = {codec: 0 for codec in CODECS}
    for codec in CODECS:
        real = getattr(default_records, f"{codec}_decode")

        def counted(data, _real=real, _codec=codec):
            calls[_codec] += 1
            return _real(data)

        monkeypatch.setattr(default_records, f"{codec}_decode", counted)
    return calls


def test_a_librdkafka_producer_with_every_codec_and_headers_is_stored_exactly_once(tmp_path, kafka_broker, monkeypatch):
    settings = settings_for(tmp_path, kafka_broker)
    ensure_topics(settings.kafka, partitions=4)
    topic = settings.kafka.topic_events
    events = make_events(4000, prefix="librdkafka")
    repeats = events[100:400]                                        # sent twice: stored once, counted as duplicates
    produced = 0
    for i, codec in enumerate(CODECS):
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka_broker, "compression.type": codec,
                                             "linger.ms": 20, "acks": "all", "enable.idempotence": False})
        share = events[i::len(CODECS)] + (repeats if codec == "snappy" else []) + [{"bad": v} for v in BAD_VALUES[:1]]
        for event in share:
            value = event["bad"] if "bad" in event else line(event)
            key = event.get("account_id", "acct-bad").encode()
            producer.produce(topic, key=key, value=value,
                             headers=[("producer", b"librdkafka"), ("codec", codec.encode()), ("trace-id", uuid.uuid4().bytes)])
            produced += 1
            producer.poll(0)
        assert producer.flush(30) == 0
    # and Java's snappy framing (xerial), which kafka-python's own producer writes too
    java_style = make_events(500, prefix="xerial", start=datetime(2026, 11, 2, 10, 30, tzinfo=timezone.utc))
    producer = KafkaProducer(bootstrap_servers=[kafka_broker], compression_type="snappy", linger_ms=20)
    for event in java_style:
        producer.send(topic, key=event["account_id"].encode(), value=line(event), headers=[("producer", b"kafka-python")])
        produced += 1
    producer.flush()
    producer.close()
    calls = count_codec_calls(monkeypatch)

    report = run_stream(settings, max_seconds=120, stop_when_idle_s=3)

    assert all(calls[codec] > 0 for codec in CODECS), calls               # every codec was really on the wire
    valid = {e["event_id"] for e in events + java_style}
    assert_stored_once(settings, valid)
    assert report.records == produced
    assert report.records == report.inserted + report.rejected + report.duplicates
    assert (report.inserted, report.rejected, report.duplicates) == (len(valid), len(CODECS), len(repeats))
    assert sorted(m.value for m in dead_letters(settings)) == [BAD_VALUES[0]] * len(CODECS)
    assert read_store(settings, "SELECT count(*) AS n FROM rejected_events")["n"][0] == len(CODECS)


def _produce_one_batch(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=[bootstrap], compression_type="gzip", linger_ms=50, batch_size=1 << 20)
    futures = [producer.send(topic, value=v, key=b"acct-0", partition=0) for v in values]
    producer.flush()
    for future in futures:
        future.get(timeout=10)
    producer.close()


def test_a_batch_that_fails_its_checksum_or_does_not_inflate_is_dead_lettered_and_the_partition_goes_on(
        tmp_path, kafka_broker, monkeypatch):
    """Tansu, like a disk or a buggy proxy, hands out whatever bytes it holds: one batch with a
    wrong CRC-32C and one whose gzip body is garbage (with a right CRC) sit between good ones."""
    from kafka.record import default_records

    settings = settings_for(tmp_path, kafka_broker)
    ensure_topics(settings.kafka, partitions=1)
    topic = settings.kafka.topic_events
    before, bad_crc, bad_gzip, after = (make_events(n, prefix=p) for n, p in
                                        ((300, "before"), (50, "crc"), (40, "gzip"), (300, "after")))
    _produce_one_batch(kafka_broker, topic, [line(e) for e in before])
    real_crc, real_gzip = default_records.calc_crc32c, default_records.gzip_encode
    monkeypatch.setattr(default_records, "calc_crc32c", lambda data: real_crc(data) ^ 0x5A5A)
    _produce_one_batch(kafka_broker, topic, [line(e) for e in bad_crc])
    monkeypatch.setattr(default_records, "calc_crc32c", real_crc)
    monkeypatch.setattr(default_records, "gzip_encode", lambda data: b"\x1f\x8b\x08 this is not deflate data")
    _produce_one_batch(kafka_broker, topic, [line(e) for e in bad_gzip])
    monkeypatch.setattr(default_records, "gzip_encode", real_gzip)
    _produce_one_batch(kafka_broker, topic, [line(e) for e in after])

    report = run_stream(settings, max_seconds=90, stop_when_idle_s=3)

    assert_stored_once(settings, {e["event_id"] for e in before + after})
    rejected = read_store(settings, "SELECT source, position, reason_code, reason FROM rejected_events ORDER BY position")
    assert rejected["reason_code"].to_list() == ["crc_mismatch", "undecodable_batch"]
    assert rejected["position"].to_list() == [300, 350]                     # each batch's first offset
    assert rejected["source"].to_list() == [f"kafka:{topic}/0"] * 2
    assert "300-349" in rejected["reason"][0] and "350-389" in rejected["reason"][1]
    letters = sorted(dead_letters(settings), key=lambda m: int(dict(m.headers)["offset"]))
    assert len(letters) == 2
    for letter, (first, last, code) in zip(letters, [(300, 349, "crc_mismatch"), (350, 389, "undecodable_batch")]):
        headers = dict(letter.headers)
        assert (headers["topic"].decode(), headers["partition"], headers["offset"], headers["last_offset"], headers["reason_code"]) == \
            (topic, b"0", str(first).encode(), str(last).encode(), code.encode())
        assert headers["reason"]
        batch = DefaultRecordBatch(letter.value)                              # the raw batch, as the broker holds it
        assert (batch.base_offset, batch.last_offset) == (first, last)
        assert batch.validate_crc() is (code != "crc_mismatch")
    # the partition went on: everything after the bad batches is stored and committed
    assert committed_offsets(settings) == {0: 690}
    assert report.records == 300 + 1 + 1 + 300 == report.inserted + report.rejected + report.duplicates
    assert report.rejected == 2


def _stream_process(settings: Settings, out_dir: Path) -> subprocess.Popen:
    env = {**os.environ,
           "DISTILLGUARD_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
           "DISTILLGUARD_KAFKA__TOPIC_EVENTS": settings.kafka.topic_events,
           "DISTILLGUARD_KAFKA__TOPIC_DEAD_LETTER": settings.kafka.topic_dead_letter,
           "DISTILLGUARD_KAFKA__TOPIC_ALERTS": settings.kafka.topic_alerts,
           "DISTILLGUARD_KAFKA__GROUP_ID": settings.kafka.group_id,
           "DISTILLGUARD_KAFKA__MAX_POLL_INTERVAL_MS": str(settings.kafka.max_poll_interval_ms),
           "DISTILLGUARD_KAFKA__SESSION_TIMEOUT_MS": str(settings.kafka.session_timeout_ms),
           "DISTILLGUARD_KAFKA__POLL_TIMEOUT_MS": str(settings.kafka.poll_timeout_ms),
           "DISTILLGUARD_STORE__DB_PATH": str(settings.store.db_path),
           "DISTILLGUARD_STREAM__CHECKPOINT_DIR": str(settings.stream.checkpoint_dir),
           "DISTILLGUARD_STREAM__MAX_BATCH_RECORDS": str(settings.stream.max_batch_records),
           "COLUMNS": "300"}
    cli = Path(sys.executable).with_name("distillguard")
    stdout, stderr = out_dir / f"stream-{uuid.uuid4().hex[:6]}.out", out_dir / f"stream-{uuid.uuid4().hex[:6]}.log"
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = subprocess.Popen([str(cli), "stream"], env=env, stdout=out, stderr=err)
    proc.stdout_path, proc.log_path = stdout, stderr
    return proc


def _file_free(path: Path) -> bool:
    try:
        duckdb.connect(str(path), read_only=True).close()
        return True
    except duckdb.Error:
        return False


def _wait_for(what: str, condition, procs: list[subprocess.Popen], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        for proc in procs:
            assert proc.poll() is None, f"a stream process died ({what}):\n{proc.log_path.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"timed out waiting: {what}\n" + "\n".join(p.log_path.read_text()[-3000:] for p in procs)
        time.sleep(0.1)


def test_a_consumer_that_loses_its_partitions_survives_rejoins_and_resumes_exactly(tmp_path, kafka_broker):
    """Consumer A is frozen (SIGSTOP: a VM pause, a swap storm) while consumer B joins the group,
    so the group moves on without A and gives B every partition; thawed, A finds its partitions
    lost. kafka-python runs the rebalance listener on its IO thread, where the blocking commit
    that A's listener made raised and killed the process; now A must survive, rejoin, share the
    partitions with B, take them all over when B is killed, and between them store every event
    of a librdkafka producer that keeps writing exactly once."""
    settings = settings_for(tmp_path, kafka_broker, max_poll_interval_ms=3000, session_timeout_ms=3000)
    ensure_topics(settings.kafka, partitions=4)
    events = make_events(9000, prefix="lost")
    head, tail = events[:3000], events[3000:]

    def produce(chunk: list[dict], rate: float) -> None:
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka_broker, "compression.type": "snappy", "linger.ms": 10})
        started = time.monotonic()
        for i, event in enumerate(chunk):
            producer.produce(settings.kafka.topic_events, key=event["account_id"].encode(), value=line(event),
                             headers=[("producer", b"librdkafka")])
            producer.poll(0)
            if i % 100 == 0:
                time.sleep(max(0.0, i / rate - (time.monotonic() - started)))
        assert producer.flush(30) == 0

    produce(head, rate=1e9)
    a = _stream_process(settings, tmp_path)
    b = None
    try:
        # frozen while it does not hold the DuckDB file (one writer at a time: B would wait for it)
        _wait_for("A stores the first events", lambda: sum(committed_offsets(settings).values()) >= len(head), [a], 60)
        _wait_for("A lets the DuckDB file go", lambda: _file_free(settings.store.db_path), [a], 30)
        a.send_signal(signal.SIGSTOP)
        b = _stream_process(settings, tmp_path)
        _wait_for("B is assigned A's partitions", lambda: "assigned partitions [0, 1, 2, 3]" in b.log_path.read_text(), [b], 60)
        produce(tail[:2000], rate=1000.0)                                # while A is frozen: B's
        a.send_signal(signal.SIGCONT)
        _wait_for("A finds its partitions lost", lambda: re.search(r"partitions \[[\d, ]+\] of \S+ lost", a.log_path.read_text()),
                  [a, b], 60)
        produce(tail[2000:4000], rate=1000.0)                            # while A rejoins and shares the partitions with B
        _wait_for("A rejoins", lambda: a.log_path.read_text().count("assigned partitions") >= 2, [a, b], 60)
        b.send_signal(signal.SIGKILL)
        b.wait(timeout=10)
        produce(tail[4000:], rate=1000.0)                                # while A takes over B's partitions
        _wait_for("A takes over B's partitions", lambda: a.log_path.read_text().count("assigned partitions [0, 1, 2, 3]") >= 2, [a], 60)
        _wait_for("A stores the rest", lambda: sum(committed_offsets(settings).values()) >= len(events), [a], 90)
        a.send_signal(signal.SIGTERM)
        assert a.wait(timeout=30) == 0, a.log_path.read_text()[-4000:]
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
    log_text = a.log_path.read_text()
    assert "Traceback" not in log_text and "RuntimeError" not in log_text, log_text[-4000:]
    assert_stored_once(settings, {e["event_id"] for e in events})
    summary = re.search(r"([\d,]+) records in \d+ micro-batches: ([\d,]+) new events, ([\d,]+) dead-lettered, ([\d,]+) duplicates",
                        a.stdout_path.read_text() + log_text)
    assert summary, a.stdout_path.read_text() + log_text[-2000:]
    records, new, dead, duplicates = (int(g.replace(",", "")) for g in summary.groups())
    assert records == new + dead + duplicates and dead == 0 and len(head) <= new < len(events)


def test_a_micro_batch_slower_than_the_poll_interval_does_not_cost_the_consumer_its_partitions(
        tmp_path, kafka_broker, monkeypatch, caplog):
    """One micro-batch takes longer than ``max_poll_interval_ms`` (a DuckDB lock held by a batch
    flow, say) while the next one is already full: the poll thread keeps polling with every
    partition paused, so the group keeps the consumer and nothing is replayed."""
    from distillguard.stream import consumer as consumer_module

    settings = settings_for(tmp_path, kafka_broker, max_poll_interval_ms=3000, session_timeout_ms=3000)
    ensure_topics(settings.kafka, partitions=4)
    events = make_events(4000, prefix="slow")
    producer = confluent_kafka.Producer({"bootstrap.servers": kafka_broker, "compression.type": "zstd"})
    for event in events:
        producer.produce(settings.kafka.topic_events, key=event["account_id"].encode(), value=line(event))
        producer.poll(0)
    assert producer.flush(30) == 0
    real = consumer_module.StreamConsumer.process
    calls = []

    def slow_second_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            time.sleep(2.5 * settings.kafka.max_poll_interval_ms / 1000)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(consumer_module.StreamConsumer, "process", slow_second_batch)
    caplog.set_level("INFO", logger="distillguard.stream")

    report = run_stream(settings, max_seconds=90, stop_when_idle_s=3)

    assert len(calls) >= 3
    assert_stored_once(settings, {e["event_id"] for e in events})
    stream_log = [r.getMessage() for r in caplog.records if r.name == "distillguard.stream"]
    assert sum("assigned partitions" in m for m in stream_log) == 1, stream_log          # no rebalance, no loss
    assert not [m for m in stream_log if " lost " in m], stream_log
    assert (report.records, report.inserted, report.duplicates, report.rejected) == (len(events), len(events), 0, 0)
