"""The scheduled deployments a single machine runs (``distillguard serve``).

=============  ==============  ============================================
deployment     schedule (UTC)  what
=============  ==============  ============================================
batch/hourly   5 * * * *       new log files -> detection
rings/daily    30 2 * * *      re-cluster over 7 days (low-and-slow rings)
calibrate/...  0 4 * * 0       refit models/thresholds (weekly, Sunday)
maintenance/.. 0 3 * * *       retention + CHECKPOINT (nightly)
stream/...     * * * * *       bounded consumer run (every minute)
=============  ==============  ============================================

Parameters (the DuckDB path, the logs folder) come from :class:`~distillguard.config.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distillguard.config import Settings


@dataclass(frozen=True)
class Schedule:
    flow: str
    deployment: str
    cron: str


SCHEDULES = {
    "batch": Schedule("batch", "hourly", "5 * * * *"),
    "rings": Schedule("rings", "daily", "30 2 * * *"),
    "calibrate": Schedule("calibrate", "weekly", "0 4 * * 0"),
    "maintenance": Schedule("maintenance", "nightly", "0 3 * * *"),
    "stream": Schedule("stream", "every-minute", "* * * * *"),
}
#: A bounded stream run ends before the next minute's run is due.
STREAM_MAX_SECONDS = 50.0


def deployment_parameters(settings: Settings, logs: list[Path] | None = None) -> dict[str, dict]:
    """Each flow's parameters: absolute paths so a run does not depend on its working directory."""
    db = str(Path(settings.store.db_path).resolve())
    return {
        "batch": {"logs": [str(Path(p).resolve()) for p in logs] if logs else None, "db": db},
        "rings": {"db": db},
        "calibrate": {"db": db},
        "maintenance": {"db": db},
        "stream": {"db": db, "max_seconds": STREAM_MAX_SECONDS, "stop_when_idle_s": 10.0},
    }


def build_deployments(settings: Settings, *, logs: list[Path] | None = None, include_stream: bool = True,
                      include_calibrate: bool = True) -> list:
    """``RunnerDeployment`` objects for :func:`prefect.serve`, one per scheduled flow."""
    from distillguard.flows.batch import batch_flow
    from distillguard.flows.calibrate import calibrate_flow
    from distillguard.flows.maintenance import maintenance_flow
    from distillguard.flows.rings import rings_flow
    from distillguard.flows.stream import stream_flow

    flows = {"batch": batch_flow, "rings": rings_flow, "calibrate": calibrate_flow, "maintenance": maintenance_flow,
             "stream": stream_flow}
    if not include_stream:
        flows.pop("stream")
    if not include_calibrate:
        flows.pop("calibrate")
    parameters = deployment_parameters(settings, logs)
    out = []
    for key, flow in flows.items():
        schedule = SCHEDULES[key]
        out.append(flow.to_deployment(
            name=schedule.deployment,
            cron=schedule.cron,
            parameters=parameters[key],
            concurrency_limit=1,
            tags=["distillguard"],
            description=flow.description,
        ))
    return out
