"""Retry policy for tasks that touch the outside world.

Only transient failures are retried, with growing delays: a DuckDB file locked by another
writer, a broker that is restarting, a network error. A missing path or a corrupt database
fails the run at once, with the message that names it.
"""

from __future__ import annotations

from typing import Any

from distillguard.flows.stages import StageError

#: Seconds to wait before the 1st, 2nd and 3rd retry of an I/O task.
IO_RETRY_DELAYS = [2.0, 10.0, 30.0]


def is_transient(exc: BaseException | None) -> bool:
    """Whether trying again later can help."""
    if exc is None:
        return False
    if isinstance(exc, StageError):
        return exc.transient
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return False
    return isinstance(exc, ConnectionError | TimeoutError | OSError)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the failure was transient."""
    data = getattr(state, "data", None)
    exc = data if isinstance(data, BaseException) else None
    if exc is None:
        try:
            result = state.result(raise_on_failure=False)
        except Exception:  # noqa: BLE001 - an unreadable result is not a reason to retry
            return False
        exc = result if isinstance(result, BaseException) else None
    return is_transient(exc)


#: Keyword arguments for ``@task`` on stages that do I/O.
IO_TASK_OPTIONS: dict[str, Any] = {
    "retries": len(IO_RETRY_DELAYS),
    "retry_delay_seconds": IO_RETRY_DELAYS,
    "retry_condition_fn": retry_transient,
}
