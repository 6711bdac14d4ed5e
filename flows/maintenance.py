"""The ``maintenance`` flow: retention (old events and dead letters go, old prompts are cleared) and CHECKPOINT.

Retention ages come from ``store.event_retention_days`` and ``store.prompt_retention_days``;
the SQL is in ``sql/maintenance/``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import apply_retention, checkpoint, open_store, recorded_run
from distillguard.snapshot import maybe_publish_snapshot


@task(name="apply retention", **IO_TASK_OPTIONS)
def retention(db: str, as_of: datetime | None) -> dict:
    settings = flow_settings(db)
    with open_store(db, settings.store) as store, recorded_run(store, "maintenance") as run:
        report = apply_retention(
            store,
            event_retention_days=settings.store.event_retention_days,
            prompt_retention_days=settings.store.prompt_retention_days,
            now=as_of,
        )
        run["message"] = (
            f"{report.events_deleted} events deleted, {report.prompts_cleared} prompts cleared, "
            f"{report.rejected_deleted} dead letters deleted"
        )
    get_run_logger().info(run["message"])
    maybe_publish_snapshot(db, settings, force=True)        # the analysts' copy loses the cleared prompts too
    return {"run_id": run["run_id"], **asdict(report)}


@task(name="checkpoint", **IO_TASK_OPTIONS)
def checkpoint_store(db: str) -> None:
    with open_store(db) as store:
        checkpoint(store)


@flow(name="maintenance", description="Delete events past retention, clear old prompts, CHECKPOINT DuckDB.")
def maintenance_flow(db: str | None = None, as_of: datetime | None = None) -> dict:
    """``as_of`` (naive UTC) replaces the wall clock when measuring ages, for replays and tests."""
    db = str(db or flow_settings().store.db_path)
    report = retention(db, as_of)
    checkpoint_store(db)
    return report
