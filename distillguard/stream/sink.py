"""Durable writes of the streaming path into DuckDB, shared with the batch flows.

Valid events do not go to DuckDB: each consumer appends them to the event lake
(:mod:`distillguard.lake`) with a writer of its own, so replicas of a consumer group never wait for
one another to store events. A DuckDB file has one writer process at a time, and only the rest
goes there: dead letters, alerts, the offsets audit (``stream_offsets``) and the analysts'
snapshot. A consumer opens the file when a micro-batch has such rows, writes them (all
idempotent) and lets it go at once; while another process (a second ``stream`` replica, a batch
flow) holds the lock it waits with backoff. Analysts read the snapshot (``store.snapshot_path``)
or open the file read-only between writes.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import duckdb
import polars as pl

from distillguard.config import StoreSettings
from distillguard.store import Store, sql_text

if TYPE_CHECKING:
    from distillguard.config import LakeSettings

log = logging.getLogger("distillguard.stream")

ALERT_SCHEMA = {
    "alert_id": pl.String, "ts": pl.Datetime("us"), "account_id": pl.String, "score": pl.Float64,
    "reasons": pl.String, "severity": pl.String, "first_event_ts": pl.Datetime("us"), "raised_at": pl.Datetime("us"),
    "n_requests": pl.Int64, "requests_per_active_hour": pl.Float64, "signature_score": pl.Float64,
}


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "already open" in text


@contextmanager
def open_store(path: Path, settings: StoreSettings | None = None, lake: "LakeSettings | None" = None,
               waited: list[float] | None = None) -> Iterator[Store]:
    """The store at ``path``, waiting (with backoff, without limit) while another process writes it.

    ``settings`` (default: :class:`StoreSettings`' defaults): a consumer must not give up on its
    database (its partitions would stall), so unlike ``batch`` it waits on past
    ``lock_timeout_s``, with a warning once it has waited that long; the open closes ``runs``
    rows left ``running`` for longer than ``stale_run_after_s`` (:meth:`Store.close_stale_runs`).
    ``lake``: the event lake's settings (default: the configuration's); ``waited``: a list the
    seconds spent waiting for another process's lock are appended to.
    """
    settings = settings or StoreSettings()
    started = time.monotonic()
    delay, warned, locked_at = 0.02, False, None
    while True:
        try:
            store = Store.open(path, stale_run_after_s=settings.stale_run_after_s, lake=lake)
            break
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise
            locked_at = locked_at or time.monotonic()
            if not warned and time.monotonic() - started > settings.lock_timeout_s:
                log.warning("DuckDB file %s has been locked by another process for %.0f s (store.lock_timeout_s); "
                            "still waiting", path, settings.lock_timeout_s)
                warned = True
            time.sleep(delay)
            delay = min(1.0, delay * 2)
    if waited is not None:
        waited.append(time.monotonic() - locked_at if locked_at is not None else 0.0)
    try:
        yield store
    finally:
        store.close()


def insert_alerts(store: Store, alerts: pl.DataFrame) -> int:
    """Store new alerts (ignoring ids already there); returns how many were new."""
    if alerts.height == 0:
        return 0
    with store.registered("incoming_alerts", alerts.select(list(ALERT_SCHEMA)).cast(ALERT_SCHEMA)):
        before = store.count("alerts")
        store.con.execute(sql_text("store/stream_insert_alerts.sql"))
        return store.count("alerts") - before


def unpublished_alerts(store: Store) -> pl.DataFrame:
    return store.frame(sql_text("store/stream_unpublished_alerts.sql"))


def mark_published(store: Store, alert_ids: list[str]) -> None:
    if alert_ids:
        with store.registered("published_alerts", pl.DataFrame({"alert_id": alert_ids}, schema={"alert_id": pl.String})):
            store.con.execute(sql_text("store/stream_mark_published.sql"))


def record_offsets(store: Store, offsets: pl.DataFrame) -> None:
    """``offsets``: group_id, topic, partition, next_offset, max_event_ts."""
    if offsets.height:
        with store.registered("incoming_offsets", offsets):
            store.con.execute(sql_text("store/stream_upsert_offsets.sql"))


def alert_memory(store: Store) -> pl.DataFrame:
    return store.frame(sql_text("store/stream_alert_memory.sql"))


def dismissed_accounts(store: Store) -> pl.DataFrame:
    """Accounts an analyst dismissed (empty when the ``reviews`` relation does not exist yet)."""
    if not store.has_table("reviews"):
        return pl.DataFrame(schema={"account_id": pl.String, "score": pl.Float64, "rate": pl.Float64})
    return store.frame(sql_text("store/stream_dismissed_accounts.sql"))


def account_metadata(store: Store) -> pl.DataFrame | None:
    accounts = store.frame("SELECT * FROM accounts")
    return accounts if accounts.height else None
