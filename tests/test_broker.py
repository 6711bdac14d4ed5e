"""The embedded Tansu broker: starts on a free loopback port, speaks Kafka, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from distillguard.broker import EmbeddedBroker
from distillguard.config import KafkaSettings
from distillguard.kafka_io import ensure_topics


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_produce_and_consume_compressed_records_through_the_session_broker(kafka_broker):
    producer = KafkaProducer(bootstrap_servers=[kafka_broker], compression_type="gzip")
    for i in range(50):
        producer.send("broker-roundtrip", key=f"k{i % 5}".encode(), value=f"v{i}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer("broker-roundtrip", bootstrap_servers=[kafka_broker], auto_offset_reset="earliest",
                             consumer_timeout_ms=3000)
    values = sorted(m.value for m in consumer)
    consumer.close()
    assert values == sorted(f"v{i}".encode() for i in range(50))


def test_topics_are_created_with_partitions(kafka_broker):
    kafka = KafkaSettings(bootstrap_servers=kafka_broker, topic_events="partitioned-logs",
                          topic_dead_letter="partitioned-logs.dlq", topic_alerts="partitioned-alerts")
    ensure_topics(kafka, partitions=3)
    ensure_topics(kafka, partitions=3)          # a second call finds them and does nothing
    consumer = KafkaConsumer(bootstrap_servers=[kafka_broker])
    assert consumer.partitions_for_topic("partitioned-logs") == {0, 1, 2}
    assert consumer.partitions_for_topic("partitioned-logs.dlq") == {0}
    consumer.close()


def test_context_manager_stops_the_broker_and_frees_the_port():
    with EmbeddedBroker() as broker:
        port = broker.port
        pid = broker.process.pid
        assert _port_open(port)
        consumer = KafkaConsumer(bootstrap_servers=[broker.bootstrap])
        assert consumer.topics() is not None
        consumer.close()
    assert not _port_open(port)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_broker_command_runs_until_sigterm():
    cli = Path(sys.executable).with_name("distillguard")
    proc = subprocess.Popen([str(cli), "broker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match, line
        port = int(match.group(1))
        assert _port_open(port)
        producer = KafkaProducer(bootstrap_servers=[f"127.0.0.1:{port}"])
        producer.send("cli-broker", b"hello").get(timeout=10)
        producer.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        deadline = time.monotonic() + 5
        while _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_open(port)
    finally:
        if proc.poll() is None:
            proc.kill()
