"""Plain functions behind the flows: open the store, find new log files, keep retention, check Kafka.

The store is opened through :class:`distillguard.session.StoreSession` (:func:`flow_session`),
and runs are recorded with :mod:`distillguard.runs`.

Nothing here imports Prefect; the flows in this package wrap these functions in tasks.
Every failure is raised as a :class:`StageError` subclass whose message names the cause
(the path, the broker, the database), so a failed flow run says what went wrong.

>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb"
>>> with open_store(db) as store:
...     apply_retention(store, event_retention_days=30, prompt_retention_days=7)
RetentionReport(events_deleted=0, prompts_cleared=0, rejected_deleted=0)
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import ContextManager, Sequence

import duckdb

from distillguard.config import Settings, load_settings
from distillguard.logfiles import LogInputError, expand_log_paths
from distillguard.runs import mark_failed, record_failed_run, utc_now
from distillguard.session import StoreSession
from distillguard.store import Store, is_lock_error, sql_text


class StageError(RuntimeError):
    """A flow stage that cannot go on; the message names the cause."""

    #: Whether trying again later can help (a lock held by another writer, a broker restarting).
    transient = False


class StoreLocked(StageError):
    """Another process holds the DuckDB write lock."""

    transient = True


class StoreUnreadable(StageError):
    """The database file exists but is not a DuckDB database this version can open."""


class MissingLogPath(StageError):
    """A log path given to the batch flow does not exist."""


class BrokerUnreachable(StageError):
    """No Kafka bootstrap server accepted a connection."""


# -- the store --------------------------------------------------------------------------------
def flow_session(db: Path | str, settings: Settings | None = None) -> StoreSession:
    """The flows' :class:`StoreSession` on ``db``: waits up to ``store.lock_timeout_s`` for another
    writer and names its errors (:func:`stage_error`); ``settings`` default to the configuration,
    read in the process that runs the flow."""
    return StoreSession(settings or load_settings(), db, open_error=stage_error)


def stage_error(path: Path, exc: Exception) -> StageError | None:
    """The :class:`StageError` naming the file for an error opening it (None: not one of DuckDB's or the disk's)."""
    if isinstance(exc, duckdb.IOException):
        text = str(exc)
        if is_lock_error(exc):
            return StoreLocked(f"DuckDB store {path} is locked by another process (a writer is running): {text}")
        return StoreUnreadable(f"DuckDB store {path} cannot be opened (corrupt or not a DuckDB file?): {text}")
    if isinstance(exc, (duckdb.Error, OSError)):
        return StoreUnreadable(f"DuckDB store {path} cannot be opened: {type(exc).__name__}: {exc}")
    return None


def open_store(db: Path | str, settings: Settings | None = None) -> ContextManager[Store]:
    """The store for a ``with`` block, through :func:`flow_session` (migrated; runs left ``running``
    by a process that is gone are closed)."""
    return flow_session(db, settings).writing()


def fail_run(db: Path | str, run_id: str, exc: BaseException) -> None:
    """:func:`~distillguard.runs.mark_failed` through a fresh connection (best effort: the error itself is what matters)."""
    try:
        with open_store(db) as store:
            mark_failed(store, run_id, exc)
    except StageError:
        pass


def record_failure(db: Path | str, kind: str, message: str) -> None:
    """A ``failed`` row in ``runs`` for a stage that failed before it could start a run (best effort)."""
    try:
        with open_store(db) as store:
            record_failed_run(store, kind, message)
    except StageError:
        pass


# -- new log files ----------------------------------------------------------------------------
def last_finished(store: Store, kind: str) -> datetime | None:
    """When the newest ``finished`` run of ``kind`` started (None when there is none)."""
    return store.scalar("SELECT max(started_at) FROM runs WHERE kind = ? AND status = 'finished'", [kind])


def new_log_files(paths: Sequence[Path | str], since: datetime | None) -> list[Path]:
    """Log files under ``paths`` modified at or after ``since`` (naive UTC; None = all of them).

    A file written while a run was loading is seen again by the next run; reloading is harmless
    because a repeated ``event_id`` is stored once.
    """
    try:
        files = expand_log_paths(paths)
    except LogInputError as exc:
        raise MissingLogPath(f"{exc} (is the logs volume mounted?)") from exc
    if since is None:
        return files
    cutoff = since.replace(tzinfo=timezone.utc).timestamp()
    return [f for f in files if f.stat().st_mtime >= cutoff]


# -- retention --------------------------------------------------------------------------------
@dataclass
class RetentionReport:
    events_deleted: int = 0
    prompts_cleared: int = 0
    rejected_deleted: int = 0


def apply_retention(
    store: Store, *, event_retention_days: int, prompt_retention_days: int, now: datetime | None = None
) -> RetentionReport:
    """Delete events (and dead letters) older than the event retention; clear older prompts.

    Ages are measured from ``now`` (naive UTC, default: the wall clock) against event time.
    """
    now = now or utc_now()
    event_cutoff = now - timedelta(days=event_retention_days)
    prompt_cutoff = now - timedelta(days=prompt_retention_days)
    report = RetentionReport()
    store.con.execute("BEGIN TRANSACTION")
    try:
        report.events_deleted = _changed(store, "maintenance/delete_old_events.sql", {"cutoff": event_cutoff})
        report.prompts_cleared = _changed(store, "maintenance/clear_old_prompts.sql", {"cutoff": prompt_cutoff})
        report.rejected_deleted = _changed(store, "maintenance/delete_old_rejected.sql", {"cutoff": event_cutoff})
        store.con.execute("COMMIT")
    except Exception:
        store.con.execute("ROLLBACK")
        raise
    return report


def _changed(store: Store, name: str, params: dict) -> int:
    rows = store.con.execute(sql_text(name), params).fetchall()
    return int(rows[0][0]) if rows else 0


def checkpoint(store: Store) -> None:
    """Write the WAL into the database file and reclaim space from deleted rows."""
    store.con.execute(sql_text("maintenance/checkpoint.sql"))


# -- Kafka ------------------------------------------------------------------------------------
def broker_addresses(bootstrap_servers: str) -> list[tuple[str, int]]:
    """``"a:9092,b:9093"`` -> ``[("a", 9092), ("b", 9093)]`` (port 9092 when none is given).

    >>> broker_addresses("kafka:9092, 127.0.0.1")
    [('kafka', 9092), ('127.0.0.1', 9092)]
    """
    out = []
    for item in bootstrap_servers.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "9092")
        out.append((host.strip("[]"), int(port)))
    return out


def wait_for_broker(bootstrap_servers: str, *, budget_s: float = 30.0, connect_timeout_s: float = 2.0) -> str:
    """Return the first bootstrap server that accepts a TCP connection, trying with backoff for ``budget_s``.

    Raises :class:`BrokerUnreachable` naming every server and the last error when none answers.
    """
    addresses = broker_addresses(bootstrap_servers)
    if not addresses:
        raise BrokerUnreachable("no Kafka bootstrap servers configured (DISTILLGUARD_KAFKA__BOOTSTRAP_SERVERS)")
    deadline = time.monotonic() + budget_s
    delay = 0.5
    errors: dict[str, str] = {}
    while True:
        for host, port in addresses:
            try:
                with socket.create_connection((host, port), timeout=connect_timeout_s):
                    return f"{host}:{port}"
            except OSError as exc:
                errors[f"{host}:{port}"] = f"{type(exc).__name__}: {exc}"
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
    detail = "; ".join(f"{k} ({v})" for k, v in errors.items())
    raise BrokerUnreachable(f"Kafka broker unreachable after {budget_s:g}s: {detail}")
