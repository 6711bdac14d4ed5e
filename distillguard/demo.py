"""The one-command demo: a simulated population through a real Kafka broker into every path.

1. simulate a labelled population (every attack kind and every hard negative), with bad lines;
2. start the embedded Tansu broker and replay the traffic into the log topic;
3. run the streaming consumer (alerts), then ``batch`` and ``rings`` as Prefect flow runs;
4. print what an analyst wants first, and stop every process it started.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from distillguard.config import Settings, load_settings

SAMPLE_QUERIES = [
    ("Why is an account flagged, and who else is in its ring?",
     "SELECT f.account_id, f.score, f.ring_id, f.reasons FROM flagged_accounts f ORDER BY f.score DESC LIMIT 5;"),
    ("The rings, largest first, with the evidence that links them",
     "SELECT ring_id, kind, n_accounts, round(score, 2) AS score, reasons FROM rings ORDER BY n_accounts DESC;"),
    ("Prompts of the top flagged account, as it sent them",
     "SELECT ts, model, prompt FROM events WHERE account_id = (SELECT account_id FROM flagged_accounts ORDER BY score DESC LIMIT 1) ORDER BY ts LIMIT 10;"),
]


def _table(title: str, frame: pl.DataFrame, widths: dict[str, int] | None = None, lines: bool = True) -> Table:
    table = Table(title=title, show_lines=lines, title_justify="left")
    for col in frame.columns:
        table.add_column(col, max_width=(widths or {}).get(col), overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row])
    return table


def quiet_prefect(home: Path) -> None:
    """A private Prefect home and no telemetry, before Prefect is first imported."""
    os.environ.setdefault("PREFECT_HOME", str(home.resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def run_demo(out_dir: Path = Path("demo-output"), *, seed: int = 7, scale: float = 0.3, keep: bool = False) -> dict:
    """Run the whole demo; returns the detection metrics."""
    if out_dir.exists() and not keep:
        shutil.rmtree(out_dir)
    (out_dir / ".prefect").mkdir(parents=True, exist_ok=True)     # before Prefect is imported, which creates its home
    quiet_prefect(out_dir / ".prefect")
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)   # kafka-python's event-loop timing chatter
    from distillguard.broker import EmbeddedBroker
    from distillguard.evaluate import evaluate_store, read_truth, render_report
    from distillguard.flows import batch_flow, rings_flow, stream_flow
    from distillguard.kafka_io import replay_lines_to_kafka
    from distillguard.simulator import SimulationConfig, simulate, write_traffic
    from distillguard.store import Store

    console = Console()
    started = time.perf_counter()
    traffic_dir = out_dir / "traffic"
    db = (out_dir / "distillguard.duckdb").resolve()

    console.rule("[bold]1. Simulating a labelled population")
    traffic = simulate(SimulationConfig(seed=seed, scale=scale, n_days=1))
    paths = write_traffic(traffic, traffic_dir, fmt="jsonl.gz", garbage_rate=0.002, seed=seed)
    kinds = traffic.truth.group_by("kind", "label").agg(pl.len().alias("accounts")).sort("label", "kind")
    console.print(f"{traffic.events.height:,} events from {traffic.accounts.height:,} accounts "
                  f"({(traffic.truth['label'] == 'attack').sum():,} attackers), plus malformed lines, in {traffic_dir}")
    console.print(_table("population", kinds, lines=False))

    with EmbeddedBroker() as broker:
        console.rule(f"[bold]2. Streaming through Kafka (Tansu at {broker.bootstrap})")
        # Flows read their settings from the environment, as a deployed worker would.
        os.environ.update({
            "DISTILLGUARD_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap,
            "DISTILLGUARD_KAFKA__MAX_POLL_INTERVAL_MS": "10000",
            "DISTILLGUARD_KAFKA__SESSION_TIMEOUT_MS": "6000",
            "DISTILLGUARD_STORE__DB_PATH": str(db),
            "DISTILLGUARD_STREAM__CHECKPOINT_DIR": str((out_dir / "checkpoints").resolve()),
        })
        settings: Settings = load_settings()
        sent = replay_lines_to_kafka(sorted(traffic_dir.glob("events-*.jsonl.gz")), settings.kafka)
        console.print(f"produced {sent:,} records (valid and malformed) to topic {settings.kafka.topic_events!r}")
        report = stream_flow(db=str(db), max_seconds=240, stop_when_idle_s=8)
        console.print(f"stream: {report['records']:,} records in {report['batches']} micro-batches -> {report['inserted']:,} new "
                      f"events, {report['rejected']:,} dead-lettered, {report['duplicates']:,} duplicate event ids, "
                      f"{report['alerts']:,} alerts ({report['seconds']:.0f} s)")

    console.rule("[bold]3. Batch detection and ring clustering as Prefect flow runs")
    batch_flow(logs=[str(traffic_dir)], db=str(db), accounts=str(paths["accounts"]))
    rings_flow(db=str(db))

    console.rule("[bold]4. What an analyst sees first")
    with Store.open(db, read_only=True) as store:
        top = store.frame("SELECT account_id, round(score, 2) AS score, ring_id, reasons FROM flagged_accounts ORDER BY score DESC LIMIT 8")
        rings = store.frame("SELECT ring_id, kind, n_accounts, round(score, 2) AS score, split_part(reasons, chr(10), 2) AS top_evidence FROM rings ORDER BY n_accounts DESC")
        alerts = store.frame("SELECT ts, account_id, round(score, 2) AS score, severity, split_part(reasons, chr(10), 1) AS reason FROM alerts ORDER BY ts LIMIT 10")
        counts = store.frame("SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM rejected_events) AS rejected, "
                             "(SELECT count(*) FROM flagged_accounts) AS flagged, (SELECT count(*) FROM rings) AS rings, "
                             "(SELECT count(*) FROM alerts) AS alerts")
        metrics = evaluate_store(store, read_truth(paths["truth"]))
    console.print(_table("top flagged accounts", top, {"reasons": 90}))
    console.print(_table("rings", rings, {"top_evidence": 70}))
    console.print(_table(f"first streaming alerts (of {counts['alerts'][0]:,})", alerts, {"reason": 70}))
    console.print(render_report(metrics))
    console.print(_table("store", counts))
    lines = [f"DuckDB file: [bold]{db}[/bold]", f"Query it with: .venv/bin/distillguard sql --db {db} \"SELECT ...\"", ""]
    for question, sql in SAMPLE_QUERIES:
        lines += [f"-- {question}", sql, ""]
    console.print(Panel("\n".join(lines), title="Try next"))
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s; every process it started has stopped.")
    return metrics
