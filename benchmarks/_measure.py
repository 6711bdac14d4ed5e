"""Shared measuring helpers for the benchmark scripts: wall time, throughput, peak RSS."""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM belongs to the process image (a spawned child starts afresh); ``ru_maxrss``
    would carry over the parent's peak from before the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def stage(name: str, n_events: int | None = None) -> Iterator[dict]:
    """Time a stage and print its figures when it ends."""
    figures: dict = {}
    start = time.perf_counter()
    yield figures
    seconds = time.perf_counter() - start
    n = figures.get("events", n_events)
    rate = f"{n / seconds:,.0f} events/s" if n else ""
    print(f"{name:<36} {seconds:8.2f} s  {rate:>18}  peak RSS {peak_rss_mb():,.0f} MiB", flush=True)
    figures["seconds"] = seconds
