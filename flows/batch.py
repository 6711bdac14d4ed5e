"""The ``batch`` flow: new log files -> load -> features -> models -> rings -> store.

With ``logs`` it loads the files under those paths that changed since the last finished batch
run and runs detection over the stored events; with no new file it does nothing. Without
``logs`` it re-detects over the events already stored (the last ``redetect_hours`` of them, or
all when None).

Detection over a window of ``[execution] in_process_below_events`` events or more is sharded by
account and mapped over a Dask cluster (:mod:`distillguard.flows.shards`: the cluster at
``[execution] scheduler_address``, or a local one started for the run); a smaller window is
scored in one task, in this process.

>>> from distillguard.flows.batch import batch_flow
>>> batch_flow.name
'batch'
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import (
    StageError,
    fail_run,
    flow_session,
    last_finished,
    new_log_files,
    open_store,
    record_failure,
)
from distillguard.runs import finish_run, mark_failed, start_run


@task(name="find new log files", **IO_TASK_OPTIONS)
def find_new_files(logs: list[str], db: str, only_new: bool) -> list[str]:
    """Files under ``logs`` modified since the last finished batch run started."""
    since = None
    if only_new:
        with open_store(db) as store:
            since = last_finished(store, "batch")
    files = new_log_files(logs, since)
    get_run_logger().info("%d new log file(s) under %s since %s", len(files), ", ".join(logs), since or "the beginning")
    return [str(f) for f in files]


@task(name="load new files", **IO_TASK_OPTIONS)
def load_files(files: list[str], db: str, accounts: str | None) -> dict:
    """Start a ``batch`` run and load the files (and the accounts file) into the store; the counts."""
    from distillguard.load import load_accounts, load_logs
    from distillguard.pipeline import import_in_background

    settings = flow_settings(db)
    if accounts is not None and not Path(accounts).is_file():
        raise StageError(f"accounts file {accounts} does not exist")
    import_in_background("distillguard.models.ensemble")        # the models' libraries load beside the logs
    with open_store(db) as store:
        run_id = start_run(store, "batch")
        try:
            report = load_logs(files, store, show_progress=False, ingest=settings.ingest)
            if accounts is not None:
                load_accounts(accounts, store)
        except BaseException as exc:
            mark_failed(store, run_id, exc)
            raise
    get_run_logger().info("run %s: %s", run_id, report.summary())
    return {"run_id": run_id, "files": report.files, "records_read": report.records, "accepted": report.accepted,
            "inserted": report.inserted, "rejected": report.rejected, "duplicates": report.duplicates}


@task(name="start a detection run", **IO_TASK_OPTIONS)
def start_detection_run(db: str) -> str:
    with open_store(db) as store:
        return start_run(store, "detect")


@task(name="count the window's events", **IO_TASK_OPTIONS)
def window_events(db: str, hours: float | None) -> int:
    """Events in the window detection will read (it decides between one process and shards)."""
    from distillguard.sharding import window_extent

    with open_store(db) as store:
        return int(window_extent(store, hours)[0])


@task(name="detect in one process", **IO_TASK_OPTIONS)
def detect_in_process(db: str, run_id: str, hours: float | None) -> dict:
    """Detection over a window small enough for one process."""
    from distillguard.detection import run_detection

    settings = flow_settings(db)
    with open_store(db) as store:
        result = run_detection(store, settings, run_id=run_id, show_progress=False, horizon_hours=hours)
    return {**asdict(result), "shards": 0}


def detect_on_dask(db: str, run_id: str, hours: float | None) -> dict:
    """Detection with the window's shards mapped over the configured Dask cluster (in the flow's
    process: it holds the store and does the population-wide steps between the two maps)."""
    from distillguard.detection import run_detection
    from distillguard.flows.shards import dask_shard_runner
    from distillguard.sharding import ShardedWindow

    settings = flow_settings(db)
    with open_store(db) as store, dask_shard_runner(settings.execution) as runner:
        with ShardedWindow.export(store, settings, hours, runner) as window:
            get_run_logger().info("%d events in %d shards on Dask (%s)", window.n_events, window.plan.shards,
                                  settings.execution.scheduler_address or f"local cluster of {settings.execution.n_workers} workers")
            result = run_detection(store, settings, run_id=run_id, show_progress=False, horizon_hours=hours, window=window)
    return {**asdict(result), "shards": window.plan.shards}


@task(name="record the run", **IO_TASK_OPTIONS)
def record_run(db: str, run_id: str, counts: dict) -> None:
    """Finish the run's row with its counts and publish the analysts' snapshot (they see the new flags at once)."""
    session = flow_session(db, flow_settings(db))
    with session.writing() as store:
        finish_run(store, run_id, counts)
    session.maybe_publish_snapshot(force=True)


def detect_stage(db: str, run_id: str, hours: float | None, counts: dict) -> dict:
    """Detection over the window (in one process or on Dask, by its size), then the run's row."""
    try:
        n_events = window_events(db, hours)
        settings = flow_settings(db)
        sharded = (n_events > 0 and n_events >= settings.execution.in_process_below_events
                   and not settings.detection.from_rollups)        # rollups are small: one process reads them
        detection = detect_on_dask(db, run_id, hours) if sharded else detect_in_process(db, run_id, hours)
        counts = {**counts, "flagged": detection["flagged"], "rings": detection["rings"]}
        counts.setdefault("message", f"{detection['accounts_scored']} accounts scored"
                          + (f" in {detection['shards']} shards" if detection["shards"] else ""))
        record_run(db, run_id, counts)
    except BaseException as exc:
        fail_run(db, run_id, exc)
        raise
    get_run_logger().info("run %s over %s: %d accounts scored, %d flagged, %d rings", run_id,
                          f"the last {hours:g} h" if hours else "all stored events", detection["accounts_scored"],
                          detection["flagged"], detection["rings"])
    return {"run_id": run_id, **{k: v for k, v in counts.items() if k != "message"}, **detection}


@flow(name="batch", description="New log files (or stored events) -> features -> models -> rings -> DuckDB.")
def batch_flow(
    logs: list[str] | None = None,
    db: str | None = None,
    accounts: str | None = None,
    only_new: bool = True,
    redetect_hours: float | None = 24.0,
) -> dict:
    """Run batch detection; see the module docstring for what ``logs`` and ``redetect_hours`` choose."""
    db = str(db or flow_settings().store.db_path)
    if not logs:
        return detect_stage(db, start_detection_run(db), redetect_hours, {})
    try:
        files = find_new_files(logs, db, only_new)
    except StageError as exc:
        record_failure(db, "batch", f"{type(exc).__name__}: {exc}")
        raise
    if not files:
        return {"files": 0, "inserted": 0, "flagged": None, "rings": None}
    loaded = load_files(files, db, accounts)
    result = detect_stage(db, loaded["run_id"], None, {k: v for k, v in loaded.items() if k != "run_id"})
    result["records"] = result["records_read"]
    return result
