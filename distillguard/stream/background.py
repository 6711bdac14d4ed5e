"""One call on a thread of its own, whose result (or error) is collected later.

>>> job = Background(sum, [1, 2, 3], name="adding")
>>> job.result()
6
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class Background:
    """``fn(*args)`` on its own thread; :meth:`result` waits for it and raises what it raised."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "duckdb-writer") -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again by result()
            self._error = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
