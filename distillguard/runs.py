"""The ``runs`` table: each writer's record of a unit of work (a batch run, a flow stage).

A run is ``running`` from its start, then ``finished`` with its counts or ``failed`` with the
error. The row also keeps the writing process's pid and host (columns that default to the
session variables :meth:`distillguard.store.Store.open` sets), so the next writer can close a
row whose process died before recording its end (:meth:`Store.close_stale_runs`). Writers reach
these through :class:`distillguard.session.StoreSession`.

>>> import tempfile, pathlib
>>> from distillguard.store import Store
>>> with Store.open(pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb") as store:
...     run_id = start_run(store, "batch")
...     finish_run(store, run_id, {"records_read": 3, "flagged": 1})
...     store.frame("SELECT kind, status, records_read, flagged FROM runs").rows()
[('batch', 'finished', 3, 1)]
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from distillguard.store import Store

#: The counts a run's row keeps (``runs`` columns), filled in when it finishes.
RUN_COUNTS = ("records_read", "accepted", "inserted", "rejected", "duplicates", "flagged", "rings")


def utc_now() -> datetime:
    """Naive UTC, as the store keeps timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def start_run(store: Store, kind: str, *, run_id: str | None = None) -> str:
    """A ``running`` row in ``runs``; its id (``run_id``, or a new one)."""
    run_id = run_id or new_run_id()
    store.con.execute(
        "INSERT INTO runs (run_id, kind, started_at, status) VALUES (?, ?, ?, 'running')", [run_id, kind, utc_now()]
    )
    return run_id


def finish_run(store: Store, run_id: str, counts: dict) -> None:
    """Mark a run ``finished`` with its counts (:data:`RUN_COUNTS`) and ``message`` from ``counts``."""
    store.con.execute(
        f"UPDATE runs SET status = 'finished', finished_at = ?, {', '.join(f'{c} = ?' for c in RUN_COUNTS)}, message = ? "
        "WHERE run_id = ?",
        [utc_now(), *[counts.get(c) for c in RUN_COUNTS], counts.get("message"), run_id],
    )


def mark_failed(store: Store, run_id: str, exc: BaseException) -> None:
    """Mark a run ``failed`` with the error."""
    store.con.execute(
        "UPDATE runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ?",
        [utc_now(), f"{type(exc).__name__}: {exc}"[:4000], run_id],
    )


def record_failed_run(store: Store, kind: str, message: str) -> str:
    """A ``failed`` row for work that failed before it could start a run; its id."""
    run_id, now = new_run_id(), utc_now()
    store.con.execute(
        "INSERT INTO runs (run_id, kind, started_at, finished_at, status, message) VALUES (?, ?, ?, ?, 'failed', ?)",
        [run_id, kind, now, now, message[:4000]],
    )
    return run_id


@contextmanager
def recorded_run(store: Store, kind: str, *, run_id: str | None = None) -> Iterator[dict]:
    """A run for the ``with`` block: ``running``, then ``finished`` or ``failed`` with the error.

    The block may put counts (:data:`RUN_COUNTS`) and a ``message`` into the yielded dict, which
    also holds the ``run_id``.
    """
    counts: dict = {"run_id": start_run(store, kind, run_id=run_id)}
    try:
        yield counts
    except BaseException as exc:
        mark_failed(store, counts["run_id"], exc)
        raise
    finish_run(store, counts["run_id"], counts)
