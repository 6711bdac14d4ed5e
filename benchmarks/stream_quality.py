"""Streaming alert quality on simulated days replayed through a real Kafka (embedded Tansu).

For each (seed, mix, vocabulary): simulate one day, load the accounts file into the store,
produce every event (keyed by account_id, in event-time order) to the log topic, run one
``stream`` consumer until the topic is drained, and compare its alerts with the truth: how many
single-account extractors (bulk extractors, burners) were alerted within 10 minutes of event
time after their first request, and how many benign accounts and hard negatives got any alert.

    python benchmarks/stream_quality.py --seeds 21 22 --mixes default hard_negative_heavy --scale 0.3 [--record [README]]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import add_record_option, peak_rss_mb, record_latest  # noqa: E402

from distillguard.broker import EmbeddedBroker  # noqa: E402
from distillguard.config import KafkaSettings, Settings, StoreSettings, StreamSettings  # noqa: E402
from distillguard.evaluate import evaluate_alerts  # noqa: E402
from distillguard.kafka_io import ensure_topics, event_records, send_records  # noqa: E402
from distillguard.simulator import SimulationConfig, simulate  # noqa: E402
from distillguard.store import Store  # noqa: E402
from distillguard.stream import run_stream  # noqa: E402


def stream_one_day(bootstrap: str, folder: Path, seed: int, mix: str, vocabulary: str, scale: float,
                   with_accounts: bool = True) -> dict:
    """Simulate, replay through Kafka, stream, evaluate; returns the metrics."""
    sim = simulate(SimulationConfig(seed=seed, scale=scale, n_days=1, mix=mix, vocabulary=vocabulary))
    name = f"q{seed}-{mix}-{vocabulary}".replace("_", "-")
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_events=f"{name}-logs", topic_dead_letter=f"{name}-dlq",
                            topic_alerts=f"{name}-alerts", group_id=f"{name}-group", max_poll_interval_ms=8000,
                            session_timeout_ms=6000, poll_timeout_ms=200),
        store=StoreSettings(db_path=folder / f"{name}.duckdb"),
        stream=StreamSettings(checkpoint_dir=folder / f"{name}-ckpt"),
    )
    if with_accounts:
        with Store.open(settings.store.db_path) as store:
            store.upsert_accounts(sim.accounts)
    ensure_topics(settings.kafka, partitions=4)
    sent = send_records(settings.kafka, settings.kafka.topic_events, event_records(sim.events))
    started = time.perf_counter()
    report = run_stream(settings, stop_when_idle_s=5)
    seconds = time.perf_counter() - started
    with Store.open(settings.store.db_path, read_only=True) as store:
        alerts = store.frame("SELECT account_id, ts FROM alerts")
    first_seen = sim.events.group_by("account_id").agg(pl.col("ts").min().dt.replace_time_zone(None).alias("first_ts"))
    metrics = evaluate_alerts(sim.truth, alerts, first_seen)
    sim.truth.write_csv(folder / f"{name}-truth.csv")          # beside the database, for --keep
    metrics.update(seed=seed, mix=mix, vocabulary=vocabulary, events=sent, alerts=alerts.height,
                   stream_seconds=round(seconds, 1), events_per_s=round(report.records / max(seconds, 1e-9)))
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[21, 22])
    parser.add_argument("--mixes", nargs="+", default=["default", "hard_negative_heavy"])
    parser.add_argument("--vocabularies", nargs="+", default=["alt"])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--no-accounts", action="store_true", help="stream without the accounts file")
    parser.add_argument("--json", type=Path, help="also write every run's metrics here")
    parser.add_argument("--keep", type=Path, help="keep each day's DuckDB file (alerts, events) in this folder to inspect")
    add_record_option(parser)
    args = parser.parse_args()

    console = Console()
    table = Table(title="Streaming alert quality (one simulated day through Kafka)")
    for col in ("seed", "mix", "vocab", "events", "fast kinds", "within 10 min", "max delay s", "attack alerted",
                "benign alerted", "hard neg alerted", "ev/s"):
        table.add_column(col, justify="right")
    runs = []
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep)
        for seed in args.seeds:
            for mix in args.mixes:
                for vocabulary in args.vocabularies:
                    m = stream_one_day(broker.bootstrap, Path(tmp), seed, mix, vocabulary, args.scale, not args.no_accounts)
                    runs.append(m)
                    table.add_row(str(seed), mix, vocabulary, f"{m['events']:,}", str(m["fast_kind_accounts"]),
                                  f"{m['fast_kinds_within_deadline']:.3f}", f"{m['fast_kind_delay_max_s'] or 0:.0f}",
                                  f"{m['attack_alert_rate']:.3f}", f"{m['benign_alert_rate']:.4f}",
                                  f"{m['hard_negative_alert_rate']:.4f}", f"{m['events_per_s']:,}")
                    for late in m["late_or_missed"]:
                        console.print(f"  late or missed: {late}")
                    alerted = [k for k in m["per_kind"] if k["label"] != "attack" and k["alerted"]]
                    for k in alerted:
                        console.print(f"  benign kind alerted: {k['kind']} {k['alerted']}/{k['accounts']}")
    console.print(table)
    console.print(f"peak RSS {peak_rss_mb():,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2, default=str))
    if args.record:
        record_latest(__file__, [day_figures(m) for m in runs], args.record)


def day_figures(m: dict) -> dict[str, object]:
    """One streamed day's row of the recorded table (the columns printed)."""
    return {"seed": str(m["seed"]), "mix": m["mix"], "vocabulary": m["vocabulary"], "events": m["events"],
            "fast kinds": m["fast_kind_accounts"], "within 10 min": m["fast_kinds_within_deadline"],
            "max delay s": m["fast_kind_delay_max_s"] or 0.0, "attack alerted": m["attack_alert_rate"],
            "benign alerted": m["benign_alert_rate"], "hard negatives alerted": m["hard_negative_alert_rate"],
            "events/s": m["events_per_s"]}


if __name__ == "__main__":
    main()
