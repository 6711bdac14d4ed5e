"""The ``maintenance`` flow: the event lake compacted and its retention applied, old dead letters
deleted, DuckDB CHECKPOINTed.

Retention ages come from ``store.event_retention_days`` and ``store.prompt_retention_days``. The
lake (:func:`distillguard.lake.maintain`) is maintained without holding the DuckDB file, so the
stream keeps writing meanwhile: a partition wholly past the event retention is deleted; one with
``lake.compact_min_files`` files or more, or holding events or prompts past retention, is rewritten
into one file with each event once. Then, holding DuckDB, the stream replicas' outbox is folded
into it (:func:`distillguard.stream.outbox.fold_outbox`: alerts, dead letters, offsets audit and
published markers a replica could not fold because the file was busy), and the dead letters
(``sql/maintenance/``) past retention are deleted.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from prefect import flow, get_run_logger, task

from distillguard.flows.retry import IO_TASK_OPTIONS
from distillguard.flows.settings import flow_settings
from distillguard.flows.stages import apply_retention, checkpoint, flow_session, open_store, utc_now
from distillguard.lake import maintain


@task(name="maintain the event lake", **IO_TASK_OPTIONS)
def maintain_lake(db: str, as_of: datetime | None) -> dict:
    """Compaction and retention of the event lake (no DuckDB lock held while it runs)."""
    settings = flow_settings(db)
    with open_store(db, settings) as store:
        lake = store.lake
    now = as_of or utc_now()
    report = maintain(lake, event_cutoff=now - timedelta(days=settings.store.event_retention_days),
                      prompt_cutoff=now - timedelta(days=settings.store.prompt_retention_days),
                      min_files=settings.lake.compact_min_files)
    get_run_logger().info(
        "event lake %s: %d partitions compacted, %d dropped, files %d -> %d, %d repeats removed",
        lake.uri, report.partitions_compacted, report.partitions_dropped, report.files_before, report.files_after,
        report.duplicates_removed)
    return asdict(report)


@task(name="apply retention", **IO_TASK_OPTIONS)
def retention(db: str, as_of: datetime | None, lake: dict) -> dict:
    settings = flow_settings(db)
    session = flow_session(db, settings)
    with session.run("maintenance") as (store, run):
        folded = session.fold_outbox(store)            # before retention: a folded old dead letter is deleted too
        report = apply_retention(
            store,
            event_retention_days=settings.store.event_retention_days,
            prompt_retention_days=settings.store.prompt_retention_days,
            now=as_of,
        )
        report.events_deleted += lake["events_deleted"]
        report.prompts_cleared += lake["prompts_cleared"]
        run["message"] = (
            f"{report.events_deleted} events deleted, {report.prompts_cleared} prompts cleared, "
            f"{report.rejected_deleted} dead letters deleted"
        )
        if folded is not None and folded.files:
            run["message"] += (f", {folded.files} stream outbox files folded ({folded.alerts} alerts, "
                               f"{folded.rejected} dead letters)")
    get_run_logger().info(run["message"])
    session.maybe_publish_snapshot(force=True)        # the analysts' copy loses the cleared prompts and old files too
    return {"run_id": run["run_id"], **asdict(report), "lake": lake,
            "outbox": folded.as_dict() if folded is not None else None}


@task(name="checkpoint", **IO_TASK_OPTIONS)
def checkpoint_store(db: str) -> None:
    with open_store(db) as store:
        checkpoint(store)


@flow(name="maintenance", description="Compact the event lake and apply retention, delete old dead letters, CHECKPOINT DuckDB.")
def maintenance_flow(db: str | None = None, as_of: datetime | None = None) -> dict:
    """``as_of`` (naive UTC) replaces the wall clock when measuring ages, for replays and tests."""
    db = str(db or flow_settings().store.db_path)
    lake = maintain_lake(db, as_of)
    report = retention(db, as_of, lake)
    checkpoint_store(db)
    return report
