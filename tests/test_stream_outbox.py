"""The stream's outbox: replicas write alerts, dead letters, offsets and published markers without
DuckDB's lock, and a fold puts every row into DuckDB exactly once (distillguard/stream/outbox.py)."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta

import polars as pl
import pytest
from kafka import KafkaConsumer

from distillguard.config import Settings
from distillguard.events import REJECTED_SCHEMA
from distillguard.kafka_io import ensure_topics
from distillguard.lake import writer_tag
from distillguard.session import StoreSession
from distillguard.store import Store
from distillguard.stream import run_stream
from distillguard.stream.microbatch import ALERT_SCHEMA, OFFSETS_SCHEMA
from distillguard.stream.outbox import OUTBOX_DIR, FoldReport, Outbox, fold_outbox, unpublished_alerts
from distillguard.stream.sink import StreamSink, insert_alerts
from tests.test_store import _hold
from tests.test_stream import read_store, stream_settings

T0 = datetime(2026, 11, 2, 10, 0)


def _alerts(prefix: str, n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "alert_id": [f"{prefix}-{i}" for i in range(n)], "ts": [T0 + timedelta(minutes=i) for i in range(n)],
        "account_id": [f"acct-{prefix}-{i}" for i in range(n)], "score": [1.5] * n, "reasons": ["account score 1.50"] * n,
        "severity": ["high"] * n, "first_event_ts": [T0] * n, "raised_at": [T0 + timedelta(minutes=i, seconds=1) for i in range(n)],
        "n_requests": [100] * n, "requests_per_active_hour": [50.0] * n, "signature_score": [0.9] * n,
    }, schema=ALERT_SCHEMA)


def _rejected(prefix: str, n: int) -> pl.DataFrame:
    return pl.DataFrame({"source": [f"kafka:logs/{prefix}"] * n, "position": list(range(n)), "raw": [f"bad {prefix} {i}" for i in range(n)],
                         "reason_code": ["invalid_json"] * n, "reason": ["not JSON"] * n}, schema=REJECTED_SCHEMA)


def _offsets(partitions: list[int], next_offset: int) -> pl.DataFrame:
    return pl.DataFrame({"group_id": ["g"] * len(partitions), "topic": ["logs"] * len(partitions), "partition": partitions,
                         "next_offset": [next_offset] * len(partitions), "max_event_ts": [T0] * len(partitions)}, schema=OFFSETS_SCHEMA)


NO_EVENTS = pl.DataFrame(schema={"_partition": pl.Int32})


def _tables(store: Store) -> dict[str, list]:
    return {
        "alerts": store.frame("SELECT alert_id, ts, account_id, score, reasons, published_at IS NOT NULL AS published FROM alerts ORDER BY alert_id").rows(),
        "rejected": store.frame("SELECT rejected_id, source, position, raw FROM rejected_events ORDER BY rejected_id").rows(),
        "offsets": store.frame('SELECT "partition", next_offset FROM stream_offsets ORDER BY "partition"').rows(),
    }


def test_two_writers_never_wait_for_a_held_file_and_a_fold_stores_every_row_once(tmp_path):
    db = tmp_path / "dg.duckdb"
    settings = Settings(store={"db_path": db}, stream={"checkpoint_dir": tmp_path / "checkpoints", "outbox_fold_every_s": 0.0})
    sinks = [StreamSink(settings, offsets_every_s=0.0) for _ in range(2)]
    for n, sink in enumerate(sinks):
        sink.start()                                           # before draining: may wait (nobody holds it yet)
        sink._outbox = Outbox(sink.lake, writer=f"replica{n}-{1000 + n}")
    holder = _hold(db, 60.0)                                   # a third process (a batch run, say) holds the file
    try:
        started = time.monotonic()
        for n, sink in enumerate(sinks):
            partitions = [2 * n, 2 * n + 1]
            sink.store_batch(NO_EVENTS, _rejected(f"w{n}", 3), _offsets(partitions, 10), source="kafka:logs")
            sink.store_batch(NO_EVENTS, _rejected(f"w{n}", 2), _offsets(partitions, 25), source="kafka:logs")   # 2 of 3 again
            assert sink.insert_alerts(_alerts(f"w{n}", 4)) == 4
            assert sink.insert_alerts(_alerts(f"w{n}", 4)) == 0                    # a replay raises the same ids
            sink.mark_published([f"w{n}-0", f"w{n}-1"])
            assert sink.unpublished_alerts()["alert_id"].to_list() == [f"w{n}-2", f"w{n}-3"]
            assert sink.tick(next_check_in_s=0.0, refresh=lambda store: None) is False    # busy: skipped, not waited for
        elapsed = time.monotonic() - started
        assert holder.poll() is None, "the holder let go early; the test proves nothing"
    finally:
        holder.kill()
        holder.wait()
    assert elapsed < 5.0, elapsed                              # the holder held it for 60 s
    for sink in sinks:
        assert sink.waited_s == 0.0 and sink.busy_skips == 1
    lake = sinks[0].lake
    assert {f.writer for f in Outbox(lake).files("alerts")} == {"replica0-1000", "replica1-1001"}
    copy = tmp_path / "outbox-copy"
    shutil.copytree(f"{lake.root}/{OUTBOX_DIR}", copy)

    with StoreSession(settings).writing() as store:
        report = fold_outbox(store, lake)
        assert report == FoldReport(files=2 * (2 + 2 + 1 + 1), alerts=8, published=4, rejected=6, offsets=4)
        folded = _tables(store)
    assert len(folded["alerts"]) == 8 and len({row[0] for row in folded["alerts"]}) == 8
    assert {row[0] for row in folded["alerts"] if row[-1]} == {"w0-0", "w0-1", "w1-0", "w1-1"}
    assert len(folded["rejected"]) == 6                        # 3 distinct records per writer
    assert folded["offsets"] == [(0, 25), (1, 25), (2, 25), (3, 25)]   # the newest of each partition
    assert not Outbox(lake).has_files()

    with StoreSession(settings).writing() as store:
        assert fold_outbox(store, lake) == FoldReport()        # folding again: nothing left, nothing changed
        assert _tables(store) == folded
        shutil.rmtree(f"{lake.root}/{OUTBOX_DIR}")
        shutil.copytree(copy, f"{lake.root}/{OUTBOX_DIR}")     # as if a fold died before deleting its files
        again = fold_outbox(store, lake)
        assert (again.files, again.alerts, again.published, again.rejected) == (12, 0, 0, 0)
        assert _tables(store) == folded


def test_the_scorers_memory_and_the_snapshot_include_the_outbox_not_yet_folded(tmp_path):
    db = tmp_path / "dg.duckdb"
    settings = Settings(store={"db_path": db}, stream={"checkpoint_dir": tmp_path / "checkpoints"})
    sink = StreamSink(settings, offsets_every_s=0.0)
    sink.start()
    with StoreSession(settings).writing() as store:
        insert_alerts(store, _alerts("old", 1).with_columns(pl.lit("acct-x").alias("account_id")))
    sink.insert_alerts(_alerts("new", 1).with_columns(pl.lit("acct-x").alias("account_id"), pl.lit(T0 + timedelta(hours=2)).alias("ts")))
    memory = sink.alert_memory(None)                           # no lock: the outbox only
    assert memory.rows() == [("acct-x", "high", 1.5, T0 + timedelta(hours=2))]
    with StoreSession(settings).writing() as store:
        both = sink.memory(store)[0]
    assert sorted(both["ts"].to_list()) == [T0, T0 + timedelta(hours=2)]
    # another replica's alert, before its partition moved here: known once the memory is read, not raised again
    Outbox(sink.lake, writer="other-1").write("alerts", _alerts("moved", 1))
    sink.alert_memory(None)
    assert sink.insert_alerts(_alerts("moved", 1)) == 0 and "moved-0" not in sink.unpublished_alerts()["alert_id"].to_list()
    info = StoreSession(settings).publish_snapshot()           # any writer's publication folds first
    assert info is not None and not Outbox(sink.lake).has_files()
    with Store.open(info.path.resolve(), read_only=True) as snapshot:
        assert sorted(snapshot.frame("SELECT alert_id FROM alerts")["alert_id"].to_list()) == ["moved-0", "new-0", "old-0"]


def test_a_starting_replica_publishes_what_neither_a_marker_nor_duckdb_says_is_published(tmp_path):
    db = tmp_path / "dg.duckdb"
    with Store.open(db) as store:
        lake = store.lake
        stored = _alerts("db", 2)
        insert_alerts(store, stored)
        store.con.execute("UPDATE alerts SET published_at = now()::TIMESTAMP WHERE alert_id = 'db-1'")
    dead = Outbox(lake, writer="elsewhere-4242")               # another host's replica that crashed
    dead.write("alerts", _alerts("dead", 3))
    dead.write("published", pl.DataFrame({"alert_id": ["dead-1", "db-0"], "published_at": [T0, T0]}))
    Outbox(lake, writer=writer_tag()).write("alerts", _alerts("live", 1))     # a live replica on this host: its own to publish
    with Store.open(db) as store:
        ids = unpublished_alerts(Outbox(lake), store)["alert_id"].to_list()
    assert ids == ["dead-0", "dead-2"]


@pytest.mark.kafka
def test_an_unmarked_outbox_alert_is_republished_at_start_and_a_marked_one_is_not(tmp_path, kafka_broker):
    settings = stream_settings(tmp_path, kafka_broker)
    with Store.open(settings.store.db_path) as store:
        lake = store.lake
    crashed = Outbox(lake, writer="crashedhost-777")           # a replica killed between its alert file and the send...
    crashed.write("alerts", _alerts("crash", 2))
    crashed.write("published", pl.DataFrame({"alert_id": ["crash-1"], "published_at": [T0]}))   # ...and one after its marker
    ensure_topics(settings.kafka, partitions=4)

    report = run_stream(settings, max_seconds=60, stop_when_idle_s=2)

    consumer = KafkaConsumer(settings.kafka.topic_alerts, bootstrap_servers=[kafka_broker], auto_offset_reset="earliest",
                             consumer_timeout_ms=3000)
    published = [json.loads(m.value) for m in consumer]
    consumer.close()
    assert [a["alert_id"] for a in published] == ["crash-0"]
    assert published[0]["reasons"] == "account score 1.50" and published[0]["account_id"] == "acct-crash-0"
    # the clean exit folded both into DuckDB, each marked published (the second at its marker's time)
    rows = read_store(settings, "SELECT alert_id, published_at FROM alerts ORDER BY alert_id").rows()
    assert [r[0] for r in rows] == ["crash-0", "crash-1"] and rows[1][1] == T0 and rows[0][1] is not None
    assert not Outbox(lake).has_files()
    assert report.store_wait_seconds == 0.0
