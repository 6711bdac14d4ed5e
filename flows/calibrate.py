"""The ``calibrate`` flow: refit batch models and thresholds on recent clean traffic.

Analysts' verdicts count: accounts they confirmed as abusive are kept out of "clean" traffic,
and ones they dismissed are kept in (the work is :func:`distillguard.detection.calibrate`).
"""

from __future__ import annotations

import json

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import StageError, flow_session


def calibration_function():
    """``distillguard.detection.calibrate``, or a :class:`StageError` saying it is missing."""
    from distillguard import detection

    function = getattr(detection, "calibrate", None)
    if function is None:
        raise StageError("this distillguard has no distillguard.detection.calibrate: calibration cannot run")
    return function


@task(name="refit models and thresholds", **IO_TASK_OPTIONS)
def refit(db: str) -> dict:
    calibrate = calibration_function()
    settings = flow_settings(db)
    with flow_session(db, settings).run("calibrate") as (store, run):
        report = calibrate(store, settings) or {}
        run["message"] = json.dumps(report, default=str)[:4000]
    get_run_logger().info("calibration: %s", run["message"])
    return {"run_id": run["run_id"], **report}


@flow(name="calibrate", description="Refit batch models/thresholds on recent clean traffic, honouring verdicts.")
def calibrate_flow(db: str | None = None) -> dict:
    db = str(db or flow_settings().store.db_path)
    return refit(db)
