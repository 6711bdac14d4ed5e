"""The ``batch`` flow: new log files -> load -> features -> models -> rings -> store.

With ``logs`` it loads the files under those paths that changed since the last finished batch
run and runs detection (:func:`distillguard.pipeline.run_batch`); with no new file it does
nothing. Without ``logs`` it re-detects over the events already stored (the last
``redetect_hours`` of them, or all when None).

>>> from distillguard.flows.batch import batch_flow
>>> batch_flow.name
'batch'
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import StageError, last_finished, new_log_files, open_store, record_failure


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


@task(name="load and detect", **IO_TASK_OPTIONS)
def load_and_detect(files: list[str], db: str, accounts: str | None) -> dict:
    """Load the files into the store and run batch detection over it."""
    from distillguard.pipeline import run_batch

    settings = flow_settings(db)
    if accounts is not None and not Path(accounts).is_file():
        raise StageError(f"accounts file {accounts} does not exist")
    result = run_batch(files, db, accounts=accounts, settings=settings, show_progress=False)
    get_run_logger().info(result.summary())
    return {
        "run_id": result.run_id, "files": result.load.files, "records": result.load.records,
        "inserted": result.load.inserted, "rejected": result.load.rejected, "duplicates": result.load.duplicates,
        "accounts_scored": result.detection.accounts_scored, "flagged": result.detection.flagged,
        "rings": result.detection.rings,
    }


@task(name="detect over stored events", **IO_TASK_OPTIONS)
def redetect(db: str, hours: float | None) -> dict:
    """Score the accounts seen in the last ``hours`` of stored events and replace flags and rings."""
    from distillguard.detection import run_detection
    from distillguard.flows.stages import recorded_run
    from distillguard.snapshot import maybe_publish_snapshot

    settings = flow_settings(db)
    with open_store(db) as store, recorded_run(store, "detect") as run:
        result = run_detection(store, settings, run_id=run["run_id"], show_progress=False, horizon_hours=hours)
        run.update(flagged=result.flagged, rings=result.rings, message=f"{result.accounts_scored} accounts scored")
    maybe_publish_snapshot(db, settings, force=True)                 # analysts see the new flags at once
    get_run_logger().info(
        "re-detected over %s: %d accounts scored, %d flagged, %d rings",
        f"the last {hours:g} h" if hours else "all stored events", result.accounts_scored, result.flagged, result.rings,
    )
    return {"run_id": run["run_id"], "accounts_scored": result.accounts_scored, "flagged": result.flagged,
            "rings": result.rings}


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
        return redetect(db, redetect_hours)
    try:
        files = find_new_files(logs, db, only_new)
    except StageError as exc:
        record_failure(db, "batch", f"{type(exc).__name__}: {exc}")
        raise
    if not files:
        return {"files": 0, "inserted": 0, "flagged": None, "rings": None}
    return load_and_detect(files, db, accounts)
