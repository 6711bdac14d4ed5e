"""The ``rings`` flow: re-cluster over a long horizon (a week by default) to catch low-and-slow rings.

An hourly batch sees a ring that sends a few requests a day per account as noise; over seven
days its shared infrastructure and prompt templates add up.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import flow_session

WEEK_HOURS = 168.0


@task(name="detect rings over the horizon", **IO_TASK_OPTIONS)
def detect_over_horizon(db: str, horizon_hours: float) -> dict:
    from distillguard.detection import run_detection

    settings = flow_settings(db)
    session = flow_session(db, settings)
    with session.run("rings") as (store, run):
        result = run_detection(store, settings, run_id=run["run_id"], show_progress=False, horizon_hours=horizon_hours)
        run.update(flagged=result.flagged, rings=result.rings, message=f"horizon {horizon_hours:g} h")
    session.maybe_publish_snapshot(force=True)                 # analysts see the new rings at once
    get_run_logger().info(
        "%d accounts over %g h: %d flagged, %d rings", result.accounts_scored, horizon_hours, result.flagged, result.rings
    )
    return {"run_id": run["run_id"], "accounts_scored": result.accounts_scored, "flagged": result.flagged,
            "rings": result.rings}


@flow(name="rings", description="Re-cluster accounts over a long horizon to catch low-and-slow rings.")
def rings_flow(db: str | None = None, horizon_hours: float = WEEK_HOURS) -> dict:
    db = str(db or flow_settings().store.db_path)
    return detect_over_horizon(db, horizon_hours)
