"""Throughput and latency of one ``distillguard stream`` process against a real Kafka (embedded Tansu).

1. **Sustained throughput**: a backlog of simulated traffic (every kind of account, bad records
   mixed in by the simulator's writer are not needed here) sits in the log topic; one consumer
   drains it. Printed: events/s over the draining (first to last micro-batch) and per second of
   processing, peak RSS.
2. **Latency at a steady rate**: the consumer runs while a producer in its own process (as the
   gateway would be) sends at ``--rate`` events/s.
   Printed: p50/p95/p99 from a record's arrival at the broker to its micro-batch being durable
   (events, alerts, offsets), and from the arrival of the record that triggered an alert to the
   alert's arrival on the alerts topic.
3. **Replicas** (``--replicas 1,2``): the same backlog drained by one ``stream`` process, then by
   two processes in one consumer group (each its own OS process, as deployed). Printed per run:
   drain time (first micro-batch of any replica to the last of any), events/s, and each replica's
   records, seconds spent waiting for another process's DuckDB lock while draining (events go to
   the event lake, the rest to the replica's outbox files, and DuckDB is only tried without
   waiting: this should be 0), seconds waited at start and at the clean exit (which folds the
   outbox; allowed), and how often the file was busy so a fold was skipped.

    python benchmarks/stream_throughput.py --scale 1.0 --rate 5000 --seconds 60
    python benchmarks/stream_throughput.py --scale 1.0 --skip-throughput --latency-mode none --replicas 1,2

``--record [README]`` also writes the figures as the script's latest section of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import pickle
import re
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
from kafka import KafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, peak_rss_mb, record_latest  # noqa: E402

from distillguard.broker import EmbeddedBroker  # noqa: E402
from distillguard.config import KafkaSettings, Settings, StoreSettings, StreamSettings  # noqa: E402
from distillguard.kafka_io import ensure_topics, event_records, send_records  # noqa: E402
from distillguard.simulator import SimulationConfig, simulate  # noqa: E402
from distillguard.store import Store  # noqa: E402
from distillguard.stream import run_stream  # noqa: E402


def settings_for(bootstrap: str, folder: Path, name: str) -> Settings:
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_events=f"{name}-logs", topic_dead_letter=f"{name}-dlq",
                            topic_alerts=f"{name}-alerts", group_id=f"{name}-group", max_poll_interval_ms=30000,
                            session_timeout_ms=10000, poll_timeout_ms=100),
        store=StoreSettings(db_path=folder / f"{name}.duckdb"),
        stream=StreamSettings(checkpoint_dir=folder / f"{name}-ckpt"),
    )


def percentiles(values) -> str:
    if len(values) == 0:
        return "n/a"
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99])
    return f"p50 {p50:,.0f} ms  p95 {p95:,.0f} ms  p99 {p99:,.0f} ms  (n={len(values):,})"


def percentile_figures(values) -> dict[str, object]:
    """The same percentiles as columns of a recorded row, in seconds."""
    if len(values) == 0:
        return {"latencies": 0}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99]) / 1000
    return {"latencies": len(values), "p50 s": float(p50), "p95 s": float(p95), "p99 s": float(p99)}


def sustained_throughput(bootstrap: str, folder: Path, sim) -> dict[str, object]:
    settings = settings_for(bootstrap, folder, "throughput")
    with Store.open(settings.store.db_path) as store:
        store.upsert_accounts(sim.accounts)
    ensure_topics(settings.kafka, partitions=4)
    started = time.perf_counter()
    sent = send_records(settings.kafka, settings.kafka.topic_events, event_records(sim.events))
    print(f"backlog: {sent:,} events produced in {time.perf_counter() - started:.1f} s", flush=True)
    report = run_stream(settings, stop_when_idle_s=3)
    span = (report.last_batch_at or 0) - (report.first_batch_at or 0)
    print(f"sustained throughput: {report.records:,} events in {span:.1f} s of draining = {report.records / max(span, 1e-9):,.0f} events/s "
          f"({report.records / max(report.busy_seconds, 1e-9):,.0f} events per second of processing); "
          f"{report.batches} micro-batches, {report.alerts} alerts; peak RSS {peak_rss_mb():,.0f} MiB", flush=True)
    return {"run": "one consumer drains a backlog", "events": report.records, "seconds": span,
            "events/s": report.records / max(span, 1e-9), "alerts": report.alerts, "peak RSS MiB": peak_rss_mb()}


def replica_run(settings: Settings, out) -> None:
    """One ``stream`` process of a group (its own OS process): drain until idle, send back its report."""
    # idle for longer than a rebalance can take (a member joining is waited for up to max_poll_interval_ms)
    report = run_stream(settings, stop_when_idle_s=2 * settings.kafka.max_poll_interval_ms / 1000)
    out.put({"records": report.records, "first": report.first_batch_at, "last": report.last_batch_at,
             "store_wait_s": report.store_wait_seconds, "start_stop_wait_s": report.start_stop_wait_seconds,
             "busy_skips": report.store_busy_skips, "busy_s": report.busy_seconds, "batches": report.batches,
             "inserted": report.inserted, "duplicates": report.duplicates})


def replicas_drain(bootstrap: str, folder: Path, sim, replicas: int) -> dict:
    """A fresh backlog of ``sim`` drained by ``replicas`` processes in one consumer group."""
    name = f"replicas{replicas}"
    settings = settings_for(bootstrap, folder, name)
    settings.kafka.max_poll_interval_ms = 10_000        # a member joining later is waited for at most this long
    with Store.open(settings.store.db_path) as store:
        store.upsert_accounts(sim.accounts)
    ensure_topics(settings.kafka, partitions=4)
    sent = send_records(settings.kafka, settings.kafka.topic_events, event_records(sim.events))
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=replica_run, args=(settings, out)) for _ in range(replicas)]
    for process in processes:
        process.start()
    results = [out.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join()
    firsts = [r["first"] for r in results if r["first"] is not None]
    lasts = [r["last"] for r in results if r["last"] is not None]
    drain = max(lasts) - min(firsts)
    records = sum(r["records"] for r in results)
    with Store.open(settings.store.db_path, read_only=True) as store:
        stored = store.count("events")
        alerts = store.count("alerts")
    per = "; ".join(f"replica {i + 1}: {r['records']:,} records in {r['batches']} micro-batches, "
                    f"{r['store_wait_s']:.2f} s waiting for the DuckDB lock while draining "
                    f"({r['start_stop_wait_s']:.2f} s at start/exit, {r['busy_skips']} folds skipped: file busy)"
                    for i, r in enumerate(results))
    complete = "" if records >= sent else f" INCOMPLETE: only {records:,} of {sent:,} records consumed;"
    print(f"{replicas} replica(s):{complete} {sent:,} events drained in {drain:.1f} s = {records / drain:,.0f} events/s "
          f"({stored:,} events in the lake's view, {alerts:,} alerts in DuckDB); {per}", flush=True)
    return {"replicas": replicas, "events": records, "seconds": drain, "events_per_s": records / drain, "complete": not complete,
            "store_wait_s": [r["store_wait_s"] for r in results]}


TS_FIELD = re.compile(rb'"ts":\s*"[^"]*"')


def restamped(records):
    """Each record with its event time set to the moment it is sent: a live gateway's traffic."""
    for key, value in records:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
        yield key, TS_FIELD.sub(b'"ts":"' + now + b'"', value, count=1)


def produce_at_rate(kafka, topic: str, records_path: str, rate: float, live: bool) -> None:
    """The producer's own process (as in production, where the gateway produces): paced sends."""
    with open(records_path, "rb") as handle:
        records = pickle.load(handle)
    send_records(kafka, topic, restamped(records) if live else records, rate=rate)


def steady_latency(bootstrap: str, folder: Path, sim, rate: float, seconds: float, live: bool) -> list[dict[str, object]]:
    settings = settings_for(bootstrap, folder, "latency-live" if live else "latency-replay")
    with Store.open(settings.store.db_path) as store:
        store.upsert_accounts(sim.accounts)
    ensure_topics(settings.kafka, partitions=4)
    records = event_records(sim.events)[: int(rate * seconds)]
    records_path = folder / "latency-records.pickle"
    records_path.write_bytes(pickle.dumps(records))
    stop = threading.Event()
    result: dict = {}
    consumer = threading.Thread(target=lambda: result.update(report=run_stream(settings, stop=stop)), daemon=True)
    consumer.start()
    time.sleep(6)                                               # the consumer joins its group first
    producer = multiprocessing.get_context("spawn").Process(
        target=produce_at_rate, args=(settings.kafka, settings.kafka.topic_events, str(records_path), rate, live))
    start = time.monotonic()
    producer.start()
    producer.join()
    achieved = len(records) / (time.monotonic() - start)
    time.sleep(5)
    stop.set()
    consumer.join(timeout=60)
    report = result["report"]
    verdict = "kept up" if report.records >= 0.99 * len(records) else "FELL BEHIND (latencies below include queueing)"
    mode = "live: event time = send time" if live else f"replay: {seconds:g} s carry the simulated day's event time"
    print(f"steady rate ({mode}): {len(records):,} events sent at {achieved:,.0f} events/s (a separate producer process, "
          f"start-up included); {report.records:,} consumed by 5 s after the last send: the consumer {verdict}", flush=True)
    print(f"arrival -> micro-batch durable: {percentiles(report.latency_ms)}", flush=True)
    run = f"{'live' if live else 'replay'} at {achieved:,.0f} events/s ({verdict.split(' (')[0]})"
    rows: list[dict[str, object]] = [{"run": f"{run}: arrival -> durable", **percentile_figures(report.latency_ms)}]

    # A record's arrival is its broker timestamp; an alert's trigger is the record with its account and event time.
    def read_all(topic: str) -> list:
        reader = KafkaConsumer(topic, bootstrap_servers=[bootstrap], auto_offset_reset="earliest", consumer_timeout_ms=3000)
        messages = list(reader)
        reader.close()
        return messages

    alerts = [(json.loads(m.value), m.timestamp) for m in read_all(settings.kafka.topic_alerts)]
    if alerts:
        logged = read_all(settings.kafka.topic_events)
        arrivals = pl.DataFrame({"account_id": [m.key.decode() for m in logged], "ts": [json.loads(m.value)["ts"] for m in logged],
                                 "sent_ms": [float(m.timestamp) for m in logged]})
        arrivals = arrivals.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC")).group_by("account_id", "ts").agg(pl.col("sent_ms").max())
        frame = pl.DataFrame({"account_id": [a["account_id"] for a, _ in alerts], "ts": [a["ts"] for a, _ in alerts],
                              "alert_ms": [float(t) for _, t in alerts]})
        joined = frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC")).join(arrivals, on=["account_id", "ts"])
        print(f"trigger arrival -> alert on its topic: {percentiles((joined['alert_ms'] - joined['sent_ms']).to_list())}", flush=True)
        rows.append({"run": f"{run}: trigger -> alert", **percentile_figures((joined["alert_ms"] - joined["sent_ms"]).to_list())})
    else:
        print("no alerts in the latency run", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--replicas", default="", help="comma-separated replica counts to drain the backlog with, e.g. 1,2")
    parser.add_argument("--latency-mode", choices=["live", "replay", "both", "none"], default="both",
                        help="live: records stamped with their send time, as a gateway's; replay: the simulated day's "
                             "event times, so a day of scoring is squeezed into --seconds; none: throughput only")
    add_record_option(parser)
    args = parser.parse_args()
    sim = simulate(SimulationConfig(seed=args.seed, scale=args.scale, n_days=1))
    print(f"simulated {sim.events.height:,} events of {sim.accounts.height:,} accounts", flush=True)
    figures: list[dict[str, object]] = []
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        if not args.skip_throughput:
            figures.append(sustained_throughput(broker.bootstrap, Path(tmp), sim))
        for live in {"live": [True], "replay": [False], "both": [True, False], "none": []}[args.latency_mode]:
            figures += steady_latency(broker.bootstrap, Path(tmp), sim, args.rate, args.seconds, live)
        runs = [replicas_drain(broker.bootstrap, Path(tmp), sim, int(n)) for n in args.replicas.split(",") if n.strip()]
        if len(runs) > 1 and all(r["complete"] for r in runs):
            first = runs[0]
            print("replicas: " + ", ".join(f"{r['replicas']}: {r['seconds']:.1f} s ({r['events_per_s']:,.0f} events/s, "
                                           f"x{first['seconds'] / r['seconds']:.2f})" for r in runs), flush=True)
    print(f"peak RSS {peak_rss_mb():,.0f} MiB")
    if args.record:
        figures += [{"run": f"{r['replicas']} replica(s) drain a backlog" + ("" if r["complete"] else " (INCOMPLETE)"),
                     "events": r["events"], "seconds": r["seconds"], "events/s": r["events_per_s"]} for r in runs]
        figures.append({"run": "the whole benchmark process", "peak RSS MiB": peak_rss_mb()})
        record_latest(__file__, figures, args.record)


if __name__ == "__main__":
    main()
