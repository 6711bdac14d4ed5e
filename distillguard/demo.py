"""The one-command demo: a simulated population through a real Kafka broker into every path.

1. simulate a labelled population (every attack kind and every hard negative), with bad lines;
2. store the accounts file, start the embedded Tansu broker and replay the traffic into the log topic;
3. run the streaming consumer (events, dead letters, alerts), then ``batch`` (re-detecting over
   the events the stream stored: loading the same files again would store each bad line a second
   time, under its file and line instead of its topic and offset) and ``rings`` as Prefect flow runs;
4. print what an analyst wants first and the commands to try next, and stop every process it started.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from distillguard.config import Settings, load_settings

#: What the demo suggests trying next: (what it answers, the command's arguments after
#: ``distillguard``), ``{db}`` and ``{account}`` filled in. tests/test_cli_demo.py runs each.
NEXT_COMMANDS = [
    ("The review queue: flagged accounts without a verdict, highest score first",
     'query unreviewed_flags --db {db}'),
    ("One account against its peers: standing and reasons once, then each feature",
     'query account_profile --db {db} --param account_id={account}'),
    ("The rings, largest first",
     'sql --db {db} "SELECT ring_id, kind, n_accounts, round(score, 2) AS score FROM rings ORDER BY n_accounts DESC"'),
    ("An HTML report on the top account, to attach to a case",
     'report --db {db} --account {account} --out {out}/top-account.html'),
]


def next_commands(db: Path, out_dir: Path, account: str, program: str = "distillguard") -> list[tuple[str, str]]:
    """The suggested commands, filled in, as ``(what it answers, command line)``."""
    return [(question, f"{program} " + args.format(db=db, account=account, out=out_dir)) for question, args in NEXT_COMMANDS]


def program_name(argv0: str) -> str:
    """How to call distillguard again from the current folder: ``.venv/bin/distillguard`` after
    ``make demo`` (not on PATH), plain ``distillguard`` when it was found on PATH.

    >>> program_name("distillguard")
    'distillguard'
    """
    path = Path(argv0)
    if path.name != "distillguard" or path.parent == Path(""):
        return "distillguard"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
    logging.getLogger("kafka.coordinator").setLevel(logging.ERROR)    # slow-rebalance notes when the demo's consumer stops
    from distillguard.broker import EmbeddedBroker
    from distillguard.evaluate import evaluate_store, read_truth, render_report
    from distillguard.flows import batch_flow, rings_flow, stream_flow
    from distillguard.kafka_io import replay_lines_to_kafka
    from distillguard.load import load_accounts
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
    with Store.open(db) as store:                 # the stream judges established customers by their age
        kept, bad = load_accounts(paths["accounts"], store)
    console.print(f"accounts file: {kept:,} accounts stored, {bad:,} rejected")

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
    batch_flow(db=str(db), redetect_hours=None)          # over every event the stream stored
    rings_flow(db=str(db))

    console.rule("[bold]4. What an analyst sees first")
    with Store.open(db, read_only=True) as store:
        top = store.frame("SELECT account_id, score, ring_id, reasons FROM flagged_accounts ORDER BY score DESC, account_id LIMIT 8")
        rings = store.frame("SELECT ring_id, kind, n_accounts, score, split_part(reasons, chr(10), 2) AS top_evidence "
                            "FROM rings ORDER BY n_accounts DESC, score DESC")
        alerts = store.frame("SELECT ts, account_id, score, severity, split_part(reasons, chr(10), 1) AS reason FROM alerts ORDER BY ts LIMIT 10")
        counts = store.frame("SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM rejected_events) AS rejected, "
                             "(SELECT count(*) FROM flagged_accounts) AS flagged, (SELECT count(*) FROM rings) AS rings, "
                             "(SELECT count(*) FROM alerts) AS alerts")
        metrics = evaluate_store(store, read_truth(paths["truth"]))
    console.print(_table("top flagged accounts", top, {"reasons": 90}))
    console.print(_table("rings", rings, {"top_evidence": 70}))
    console.print(_table(f"first streaming alerts (of {counts['alerts'][0]:,})", alerts, {"reason": 70}))
    console.print(render_report(metrics))
    console.print(_table("store", counts))
    print_next_steps(console, out_dir, top["account_id"][0] if top.height else "ACCOUNT_ID")
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s; every process it started has stopped.")
    return metrics


def print_next_steps(console: Console, out_dir: Path, account: str) -> None:
    """Where the database is and commands to try, each on a line of its own that the console never
    breaks (a long line wraps in the terminal but copies as one)."""
    db = out_dir / "distillguard.duckdb"
    console.rule("[bold]Try next")
    console.print(f"DuckDB file: {db} (analysts read its snapshot {db.with_name(db.stem + '.analyst.duckdb')})",
                  markup=False, soft_wrap=True)
    for question, command in next_commands(db, out_dir, account, program_name(sys.argv[0])):
        console.print(f"\n# {question}", markup=False, soft_wrap=True)
        console.print(command, markup=False, soft_wrap=True, highlight=False)
