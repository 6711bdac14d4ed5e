"""The ``distillguard`` command line.

Start with ``distillguard simulate --out traffic/`` to make labelled traffic, then
``distillguard batch --logs traffic/ --accounts traffic/accounts.csv --db dg.duckdb`` and
``distillguard evaluate --db dg.duckdb --truth traffic/truth.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, NoReturn, Optional, cast

import typer
from rich.console import Console

app = typer.Typer(
    help="Catch distillation attacks on a hosted LLM API from its gateway logs.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()
EXIT_LOCKED = 75        # sysexits' EX_TEMPFAIL: the database is held by another writer; retry later
DEMO_DB = "demo-output/distillguard.duckdb"
DB_HINT = f"`make demo` writes {DEMO_DB}; give a database with --db PATH or set store.db_path"


def fail(message: str, hint: str | None = None, code: int = 2) -> NoReturn:
    """Print one line, ``error: message (hint: ...)``, on stderr and exit with ``code``."""
    from rich.markup import escape

    text = f"{message} (hint: {hint})" if hint else message
    console.print(f"[red]error:[/red] {escape(text)}", soft_wrap=True)
    raise typer.Exit(code)


def _database_or_exit(db: Path, settings) -> Path:
    """``db`` when it or its analyst snapshot exists; otherwise a one-line error naming the demo's database."""
    from distillguard.snapshot import snapshot_path_for

    if not db.exists() and not snapshot_path_for(db, settings).exists():
        fail(f"no database at {db}", DB_HINT)
    return db


def _parse_params(param: list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` options as a dict, or a one-line error."""
    bad = [p for p in param if "=" not in p]
    if bad:
        fail(f"--param needs NAME=VALUE, got {bad[0]!r}", "for example --param account_id=acct-00042")
    return dict(p.split("=", 1) for p in param)


def _terminal_width() -> int:
    return out.width if out.is_terminal else 100


@app.command()
def load(
    logs: List[Path] = typer.Option(..., "--logs", help="Log files (JSONL, JSONL.gz, Parquet) or directories of them."),
    db: Path = typer.Option(..., "--db", help="DuckDB database to write (created if missing)."),
    accounts: Optional[Path] = typer.Option(None, "--accounts", help="Account metadata (CSV, JSONL or Parquet)."),
) -> None:
    """Validate log files and store them: good events in `events`, bad records in `rejected_events`.

    Waits for another writer like `batch` does (exit code 75 when it does not let go in time).
    """

    from distillguard.load import load_accounts, load_logs
    from distillguard.logfiles import LogInputError
    from distillguard.store import DatabaseLocked

    settings = _settings_or_exit()
    try:
        with _writer_session(settings, db).writing() as store:
            report = load_logs(logs, store, ingest=settings.ingest)
            if accounts is not None:
                kept, bad = load_accounts(accounts, store, ingest=settings.ingest)
                console.print(f"accounts: {kept:,} stored, {bad:,} rejected")
    except DatabaseLocked as exc:
        fail(str(exc), code=EXIT_LOCKED)
    except LogInputError as exc:
        fail(str(exc), code=2)
    console.print(report.summary())


@app.command()
def batch(
    logs: List[Path] = typer.Option(..., "--logs", help="Log files (JSONL, JSONL.gz, Parquet) or directories of them."),
    db: Path = typer.Option(..., "--db", help="DuckDB database to write (created if missing, updated if present)."),
    accounts: Optional[Path] = typer.Option(None, "--accounts", help="Account metadata (CSV, JSONL or Parquet)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run the whole batch pipeline: load, features, outlier models, rings, results into DuckDB.

    While another process writes the database, waits up to store.lock_timeout_s for it, then
    exits with code 75 (EX_TEMPFAIL) and a one-line error.
    """

    from distillguard.logfiles import LogInputError
    from distillguard.pipeline import run_batch
    from distillguard.store import DatabaseLocked

    settings = _settings_or_exit()
    try:
        # Take the database first, waiting for another writer and closing the runs a killed process
        # left `running`; held for the whole run, so run_batch's own open shares this process's
        # DuckDB instance and no other writer can slip in between.
        with _writer_session(settings, db).writing():
            result = run_batch(logs, db, accounts=accounts, settings=settings, show_progress=not quiet)
    except DatabaseLocked as exc:
        fail(str(exc), code=EXIT_LOCKED)
    except LogInputError as exc:
        fail(str(exc), code=2)
    console.print(result.summary())


@app.command()
def simulate(
    out_dir: Path = typer.Option(Path("traffic"), "--out", help="Folder to write events, accounts.csv and truth.csv into."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same traffic."),
    days: int = typer.Option(1, help="Days of traffic."),
    mix: str = typer.Option("default", help="Population mix: default, ring_heavy, hard_negative_heavy."),
    scale: float = typer.Option(1.0, help="Multiplies the number of accounts."),
    volume: float = typer.Option(1.0, help="Multiplies per-account request rates."),
    vocabulary: str = typer.Option("default", help="Surface vocabulary: default or alt."),
    fmt: str = typer.Option("jsonl.gz", "--format", help="jsonl.gz, jsonl or parquet."),
    garbage_rate: float = typer.Option(0.0, help="Share of malformed lines to inject (JSONL only)."),
    to_kafka: Optional[str] = typer.Option(None, "--to-kafka", help="Replay into this Kafka topic instead of writing files."),
    rate: float = typer.Option(5000.0, help="With --to-kafka: events per second."),
) -> None:
    """Write a seeded, labelled population of API traffic (benign, hard negatives and attacks)."""
    from distillguard.simulator import SimulationConfig, write_traffic
    from distillguard.simulator import simulate as run_simulation

    config = SimulationConfig(seed=seed, n_days=days, mix=mix, scale=scale, volume=volume, vocabulary=vocabulary)
    with console.status("simulating traffic"):
        traffic = run_simulation(config)
    if to_kafka:
        from distillguard.config import load_settings
        from distillguard.kafka_io import replay_to_kafka

        sent = replay_to_kafka(traffic.events, to_kafka, load_settings().kafka, rate=rate)
        console.print(f"sent {sent:,} events to {to_kafka}")
        return
    paths = write_traffic(traffic, out_dir, fmt=fmt, garbage_rate=garbage_rate, seed=seed)
    console.print(
        f"{traffic.events.height:,} events from {traffic.accounts.height:,} accounts written to {out_dir} "
        f"({sum(traffic.truth['label'] == 'attack'):,} attack accounts)"
    )
    for key, value in paths.items():
        console.print(f"  {key}: {value}")


@app.command()
def evaluate(
    db: Path = typer.Option(..., "--db", help="DuckDB database written by batch/stream."),
    truth: Path = typer.Option(..., "--truth", help="Ground-truth CSV from simulate."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the metrics as JSON here."),
) -> None:
    """Score the flags and rings in a database against the simulator's truth."""
    from distillguard.evaluate import evaluate_store, metrics_json, read_truth, render_report
    from distillguard.store import Store

    if not db.exists():
        fail(f"no database at {db}", DB_HINT)
    if not truth.is_file():
        fail(f"no truth file at {truth}", "`distillguard simulate --out DIR` writes DIR/truth.csv (the demo: demo-output/traffic/truth.csv)")
    with Store.open(db, read_only=True) as store:
        metrics = evaluate_store(store, read_truth(truth))
    out.print(render_report(metrics))
    text = metrics_json(metrics)
    if json_out:
        json_out.write_text(text)
    out.print_json(text)


@app.command()
def serve(
    logs: Optional[List[Path]] = typer.Option(
        None, "--logs", help="Folder(s) where new log files arrive; without it the hourly batch re-detects over the last 24 h of stored events."),
    stream: bool = typer.Option(True, "--stream/--no-stream", help="Also run the Kafka consumer every minute as a bounded run."),
    port: int = typer.Option(4200, "--port", help="Port of the local Prefect server (when PREFECT_API_URL is unset)."),
) -> None:
    """Serve the scheduled flows (batch hourly, rings daily, calibrate weekly, maintenance nightly, stream)."""
    from distillguard.serve import ServerStartError
    from distillguard.serve import serve as run_serve

    try:
        run_serve(logs=logs, include_stream=stream, port=port)
    except ServerStartError as exc:
        fail(str(exc))


def _settings_or_exit():
    """The configuration, or a clear error and exit code 2 when it is invalid (e.g. hashing without a key)."""
    from pydantic import ValidationError

    from distillguard.config import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        fail(f"configuration error: {messages}", "see the Configuration section of README.md (DISTILLGUARD_CONFIG, DISTILLGUARD_<SECTION>__<FIELD>)")


def _writer_session(settings, db: Path):
    """The store session of ``load`` and ``batch``: waits up to store.lock_timeout_s for another
    writer, saying so on the terminal, then fails with DatabaseLocked (exit code 75)."""
    from distillguard.session import StoreSession

    return StoreSession(settings, db, on_wait=lambda message: console.print(message, markup=False, soft_wrap=True))


@app.command()
def sql(
    query: Optional[str] = typer.Argument(None, help="SQL to run; omit for an interactive prompt."),
    db: Optional[Path] = typer.Option(
        None, "--db", help="Database (default: store.db_path); its analyst snapshot is opened when one exists, else the database itself, read-only."),
    param: List[str] = typer.Option([], "--param", help="Bind a named parameter: --param account_id=acct-00042 (use $account_id in SQL)."),
    full: bool = typer.Option(False, "--full", help="Show every row and every cell whole (long cells are cut otherwise)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Query the analysts' relations read-only; parameters are bound, never pasted into SQL.

    Reads the analyst snapshot (published by batch and stream, see distillguard.snapshot), so it
    works while a writer holds the database; `.refresh` reopens the newest snapshot.
    """
    import duckdb
    import polars as pl

    from distillguard.queries import analyst_relations, explain_sql_error
    from distillguard.snapshot import SnapshotUnavailable, open_analyst_store

    _check_format(fmt)
    params = _parse_params(param)
    settings = _settings_or_exit()
    db = _database_or_exit(Path(db or settings.store.db_path), settings)

    def reopen():
        try:
            opened = open_analyst_store(db, settings)
        except SnapshotUnavailable as exc:
            fail(str(exc))
        console.print(f"reading {opened.describe()}", markup=False, soft_wrap=True)
        return opened

    source = [reopen()]

    def run(text: str) -> None:
        result = source[0].store.con.sql(text, params=params or None)
        if result is not None:
            frame = cast(pl.DataFrame, pl.from_arrow(result.to_arrow_table()))      # a table gives a frame
            _print_result(frame, fmt, full, count=False)

    def explain(exc: Exception) -> str:
        """One line: DuckDB's refusal or error without its caret drawing, and a hint."""
        if isinstance(exc, duckdb.Error):
            return explain_sql_error(exc, analyst_relations(source[0].store))
        return f"the result cannot be shown: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    try:
        if query:
            try:
                run(query)
            except (duckdb.Error, pl.exceptions.PolarsError) as exc:
                fail(explain(exc), code=1)
            return
        console.print("relations: flagged_accounts, rings, ring_members, alerts, events, rejected_events, accounts, account_features, runs, snapshot_info")
        while True:
            try:
                text = input("distillguard> ").strip()
            except EOFError:
                break
            if not text:
                continue
            if text in (".quit", "exit", "quit"):
                break
            if text == ".refresh":
                source[0].store.close()
                source[0] = reopen()
                continue
            try:
                run(text)
            except (duckdb.Error, pl.exceptions.PolarsError) as exc:
                from rich.markup import escape

                console.print(f"[red]error:[/red] {escape(explain(exc))}", soft_wrap=True)
    finally:
        source[0].store.close()


@app.command()
def report(
    db: Optional[Path] = typer.Option(None, "--db", help="Database (default: store.db_path); its analyst snapshot is read when one exists."),
    account: Optional[str] = typer.Option(None, "--account", help="Report on this account."),
    ring: Optional[str] = typer.Option(None, "--ring", help="Report on this ring."),
    out_file: Path = typer.Option(..., "--out", help="HTML file to write."),
) -> None:
    """Write a static HTML report (inline SVG, no JavaScript) for the whole run, one account or one ring."""
    import duckdb

    from distillguard.queries import explain_sql_error
    from distillguard.report import ReportError, write_report
    from distillguard.snapshot import SnapshotUnavailable

    settings = _settings_or_exit()
    database = _database_or_exit(Path(db or settings.store.db_path), settings)
    try:
        path, source = write_report(database, out_file, account=account, ring=ring, settings=settings)
    except ReportError as exc:
        fail(str(exc), "`distillguard query unreviewed_flags` lists flagged accounts, "
                       "`distillguard sql \"SELECT ring_id FROM rings\"` the rings")
    except SnapshotUnavailable as exc:
        fail(str(exc))
    except duckdb.Error as exc:
        fail(explain_sql_error(exc), code=1)
    console.print(f"report written to {path} (from {source})", markup=False)


@app.command()
def snapshot(
    db: Optional[Path] = typer.Option(None, "--db", help="Database to snapshot (default: store.db_path)."),
) -> None:
    """Publish the analyst snapshot now (batch and stream publish it themselves as they write)."""
    from distillguard.snapshot import publish_snapshot

    settings = _settings_or_exit()
    database = Path(db or settings.store.db_path)
    if not database.exists():
        fail(f"no database at {database}", DB_HINT)
    info = publish_snapshot(database, settings)
    hashed = " with identifiers hashed" if info.hashed_identifiers else ""
    console.print(f"analyst snapshot {info.path}{hashed}: {info.events:,} events, newest {info.source_max_event_ts}, "
                  f"published in {info.seconds:.1f} s", markup=False)


@app.command()
def broker(port: int = typer.Option(0, help="Loopback port (0 picks a free one).")) -> None:
    """Run the embedded Kafka-protocol broker (Tansu) until Ctrl-C."""
    import signal
    import time

    from distillguard.broker import EmbeddedBroker

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    with EmbeddedBroker(port or None) as running:
        out.print(f"Tansu broker on {running.bootstrap} (in-memory storage). "
                  f"export DISTILLGUARD_KAFKA__BOOTSTRAP_SERVERS={running.bootstrap}", soft_wrap=True, highlight=False)
        try:
            while not stop["now"] and running.process and running.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    console.print("broker stopped")


@app.command()
def stream(
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB database (default: store.db_path from the configuration)."),
    max_seconds: Optional[float] = typer.Option(None, help="Stop after this many seconds (default: run until stopped)."),
    stop_when_idle: Optional[float] = typer.Option(None, help="Stop after this many seconds without new records."),
) -> None:
    """Consume the log topic: validate, store, score windows online and raise alerts."""
    import logging
    import signal
    import threading

    from distillguard.stream import run_stream

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)    # event-loop timing chatter, not a problem
    settings = _settings_or_exit()
    if db is not None:
        settings = settings.model_copy(update={"store": settings.store.model_copy(update={"db_path": db})})
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())     # finish the micro-batch, checkpoint, leave the group
    report = run_stream(settings, max_seconds=max_seconds, stop_when_idle_s=stop_when_idle, stop=stop)
    console.print(str(report))


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the simulated traffic and the DuckDB file."),
    seed: int = typer.Option(7, help="Seed of the simulated population."),
    scale: float = typer.Option(0.3, help="Population size (1.0 is about 650 accounts)."),
) -> None:
    """Run the end-to-end demo: simulate, stream through an embedded Kafka broker, batch, rings, report."""
    from distillguard.demo import run_demo

    run_demo(out_dir, seed=seed, scale=scale)


@app.command()
def query(
    name: Optional[str] = typer.Argument(None, help="Query name (a file of sql/queries/); omit to list them."),
    db: Optional[Path] = typer.Option(
        None, "--db", help="Database (default: store.db_path); its analyst snapshot is read when one exists, else the database itself, read-only."),
    param: List[str] = typer.Option([], "--param", help="Bind a parameter the query declares: --param account_id=acct-00042."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    show_sql: bool = typer.Option(False, "--sql", help="Print the query's SQL instead of running it."),
    full: bool = typer.Option(False, "--full", help="Table format: show every row and every cell whole (long cells are cut otherwise)."),
) -> None:
    """Run a named analyst query (new flags, account profile/timeline/prompts, ring profile, similar accounts...)."""
    import duckdb

    from distillguard.queries import QueryError, explain_sql_error, missing_subject, query_info, query_names, run_query
    from distillguard.snapshot import SnapshotUnavailable, open_analyst_store

    if name is None:
        for known in query_names():
            info = query_info(known)
            usage = " ".join(f"--param {p}=..." for p in info.params)
            typer.echo(f"{known} {usage}".rstrip())
            typer.echo(f"    {info.description}")
        return
    try:
        info = query_info(name)
    except QueryError as exc:
        fail(str(exc), "`distillguard query` lists the queries with their parameters")
    if show_sql:
        typer.echo(info.sql)
        return
    _check_format(fmt)
    params = _parse_params(param)
    settings = _settings_or_exit()
    database = _database_or_exit(Path(db or settings.store.db_path), settings)
    try:
        with open_analyst_store(database, settings) as source:
            console.print(f"reading {source.describe()}", markup=False, soft_wrap=True)
            result = run_query(source.store, info.name, params)
            absent = missing_subject(source.store, params) if result.height == 0 else None
    except QueryError as exc:
        fail(str(exc), f"`distillguard query` lists each query's parameters; `distillguard query {info.name} --sql` shows its SQL")
    except SnapshotUnavailable as exc:
        fail(str(exc))
    except duckdb.Error as exc:
        fail(explain_sql_error(exc), code=1)
    if absent:
        fail(absent, "`distillguard query unreviewed_flags` lists flagged accounts; ring ids are in `rings`", code=1)
    _print_result(result, fmt, full)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json, not {fmt!r}", "csv or json for a file: --format csv > result.csv")


def _print_result(result, fmt: str, full: bool, count: bool = True) -> None:
    """A query's result on stdout as JSON, CSV (list cells joined with '; ') or a readable table."""
    import polars as pl

    from distillguard.tables import render_frame

    if fmt == "json":
        typer.echo(result.write_json())
    elif fmt == "csv":
        flat = result.with_columns(
            [pl.col(c).cast(pl.List(pl.String)).list.join("; ") for c, t in result.schema.items() if isinstance(t, pl.List)])
        typer.echo(flat.write_csv(), nl=False)
    else:
        typer.echo(render_frame(result, width=_terminal_width(), full=full))
        if count:
            console.print(f"{result.height:,} row(s)")


@app.command()
def review(
    subject: str = typer.Argument(..., help="Account id, or ring id with --ring."),
    verdict: str = typer.Option(..., "--verdict", help="confirmed, false_positive or needs_info."),
    analyst: str = typer.Option(..., "--analyst", help="Who decides (kept in the audit trail)."),
    note: Optional[str] = typer.Option(None, "--note", help="Why: what the analyst checked or knows."),
    ring: bool = typer.Option(False, "--ring", help="SUBJECT is a ring: the verdict covers its current members."),
    db: Optional[Path] = typer.Option(None, "--db", help="Database to write (default: store.db_path)."),
) -> None:
    """Record an analyst's verdict (append-only) with the evidence at review time; the next detection run honours it."""
    from distillguard.reviews import RATE_JUMP, SCORE_JUMP, ReviewError, record_review
    from distillguard.session import StoreSession
    from distillguard.snapshot import snapshot_path_for

    settings = _settings_or_exit()
    db = Path(db or settings.store.db_path)
    if not db.exists():
        fail(f"no database at {db}", DB_HINT)
    try:
        session = StoreSession(settings, db, wait_forever=True)     # waits while a batch or stream micro-batch writes
        with session.writing() as store:
            row = record_review(store, "ring" if ring else "account", subject, verdict, analyst, note)
            if snapshot_path_for(db, settings).exists():
                session.maybe_publish_snapshot(store, force=True)      # analysts' queries see the verdict at once
    except ReviewError as exc:
        fail(str(exc), "`distillguard query unreviewed_flags` lists the flagged accounts awaiting review")
    evidence = []
    if row["score_at_review"] is not None:
        evidence.append(f"score {row['score_at_review']:.2f}")
    if row["n_requests_at_review"] is not None:
        evidence.append(f"{row['n_requests_at_review']:,} requests")
    if row["rate_at_review"] is not None:
        evidence.append(f"{row['rate_at_review']:,.0f} requests per active hour")
    covered = f"; covers {row['accounts_covered']} account(s)" if ring else ""
    typer.echo(f"review {row['review_id']} recorded: {row['subject_type']} {row['subject_id']} {row['verdict']} by "
               f"{row['analyst']} at {row['reviewed_at']:%Y-%m-%d %H:%M:%S} UTC"
               f"{'; evidence: ' + ', '.join(evidence) if evidence else ''}{covered}")
    if verdict == "false_positive":
        typer.echo(f"from the next detection run it stays unflagged unless its score reaches {SCORE_JUMP}x or its requests "
                   f"per active hour {RATE_JUMP}x the figures above")
    elif verdict == "confirmed":
        typer.echo("from the next detection run it stays flagged even if its evidence falls below the bar")


def main(argv: Optional[List[str]] = None) -> int:
    """The console entry: every failure, a mistyped option included, ends in one line with a hint.

    Usage errors (unknown option or command, missing or bad value) name the command's ``--help``;
    an unexpected exception prints its type and message (``DISTILLGUARD_TRACEBACK=1`` shows the
    traceback). Returns the exit code.
    """
    import os

    click = _click_exceptions()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="distillguard", standalone_mode=False)
    except click.NoArgsIsHelpError as exc:
        typer.echo(exc.format_message())
        return 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "distillguard"
        return _one_line(exc.format_message(), f"`{where} --help` lists the options" if " " in where
                         else "`distillguard --help` lists the commands", exc.exit_code)
    except click.ClickException as exc:
        return _one_line(exc.format_message(), None, exc.exit_code)
    except typer.Abort:
        return _one_line("aborted", None, 130)
    except Exception as exc:
        if os.environ.get("DISTILLGUARD_TRACEBACK"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else ""
        return _one_line(f"{type(exc).__name__}: {message}", "DISTILLGUARD_TRACEBACK=1 shows where it happened", 1)
    return code if isinstance(code, int) else 0


def _click_exceptions():
    """The module of the usage errors Typer raises: recent Typer vendors Click as ``typer._click``."""
    try:
        from typer._click import exceptions
    except ImportError:                 # Typer before it vendored Click
        from click import exceptions
    return exceptions


def _one_line(message: str, hint: str | None, code: int) -> int:
    try:
        fail(message, hint, code)
    except typer.Exit as exc:
        return exc.exit_code
    return code  # pragma: no cover - fail always exits


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
