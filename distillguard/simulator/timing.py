"""When requests happen: human sessions in local time, round-the-clock services, metronomes.

All functions return sorted float seconds since the start of the simulated window.

>>> import numpy as np
>>> t = metronome(np.random.default_rng(0), 10, 0.0, 100.0, jitter=0.0)
>>> np.diff(t).round(1).tolist()[:3]
[10.0, 10.0, 10.0]
"""

from __future__ import annotations

import numpy as np

DAY = 86400.0
#: Relative activity by local hour for people (quiet at night, peaks late morning and evening).
HUMAN_DAY = np.array([0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0, 0.9, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.1, 1.1, 1.0, 0.7, 0.4])
#: The same, for a script posing as a person: nothing while its persona sleeps (local 00-07).
AWAKE_DAY = np.where(np.arange(24) < 7, 0.0, HUMAN_DAY)
WORK_DAY = np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.1, 0.4, 0.9, 1.0, 1.0, 0.8, 0.6, 0.9, 1.0, 1.0, 0.9, 0.7, 0.4, 0.25, 0.2, 0.15, 0.08, 0.04])


def sessions(rng: np.random.Generator, n: int, n_days: int, tz_hours: float, mean_gap_s: float,
             per_session: float, day_shape: np.ndarray = HUMAN_DAY) -> np.ndarray:
    """``n`` requests in bursts (sessions) whose starts follow ``day_shape`` in local time."""
    n = max(1, int(n))
    n_sessions = max(1, int(np.ceil(n / max(1.0, per_session))))
    day = rng.integers(0, n_days, n_sessions)
    p = day_shape / day_shape.sum()
    hour = rng.choice(24, n_sessions, p=p)
    starts = day * DAY + (hour - tz_hours) * 3600.0 + rng.uniform(0, 3600, n_sessions)
    starts = np.mod(starts, n_days * DAY)
    owner = np.sort(rng.integers(0, n_sessions, n))
    gaps = rng.exponential(mean_gap_s, n)
    order = np.argsort(owner, kind="stable")
    owner = owner[order]
    first = np.r_[True, owner[1:] != owner[:-1]]
    gaps[first] = 0.0
    cum = np.cumsum(gaps)
    base = np.maximum.accumulate(np.where(first, cum, 0.0))
    t = starts[owner] + (cum - base)
    return np.sort(np.clip(t, 0, n_days * DAY - 1))


def round_the_clock(rng: np.random.Generator, n: int, n_days: int, swell: float = 0.4, tz_hours: float = 0.0) -> np.ndarray:
    """A service's traffic: Poisson-like all day with a diurnal swell of relative size ``swell``."""
    n = max(1, int(n))
    t = rng.uniform(0, n_days * DAY, n * 2)
    hour = np.mod(t / 3600.0 + tz_hours, 24.0)
    weight = 1.0 + swell * np.sin((hour - 9.0) / 24.0 * 2 * np.pi)
    keep = rng.uniform(0, 1 + swell, t.size) < weight
    t = t[keep][:n]
    return np.sort(t)


def metronome(rng: np.random.Generator, n: int, start: float, end: float, jitter: float = 0.05) -> np.ndarray:
    """Scripted, evenly spaced requests between ``start`` and ``end`` with relative ``jitter``."""
    n = max(1, int(n))
    gap = (end - start) / n
    gaps = gap * (1.0 + rng.uniform(-jitter, jitter, n))
    return start + np.cumsum(gaps) - gaps[0]


def windows(rng: np.random.Generator, n: int, starts: np.ndarray, length_s: float, jitter: float = 0.2) -> np.ndarray:
    """Requests spread evenly over scheduled job windows (shared by a ring's members)."""
    n = max(1, int(n))
    per = np.full(len(starts), n // len(starts))
    per[: n % len(starts)] += 1
    parts = [metronome(rng, k, s, s + length_s, jitter) for s, k in zip(starts, per) if k > 0]
    return np.sort(np.concatenate(parts))


def jittered(rng: np.random.Generator, n: int, start: float, end: float, shape: float = 1.0) -> np.ndarray:
    """``n`` requests between ``start`` and ``end`` with gamma-distributed gaps (``shape`` 1 = Poisson;
    below 1 bursty; above 1 more regular but far from a metronome)."""
    n = max(1, int(n))
    gaps = rng.gamma(max(0.2, shape), 1.0, n)
    cum = np.cumsum(gaps)
    return start + (cum - gaps[0]) / cum[-1] * (end - start)


def waking_intervals(start: float, end: float, tz_hours: float, first_hour: float = 8.0, last_hour: float = 23.0) -> np.ndarray:
    """The stretches of ``[start, end]`` that fall in waking hours (local ``first_hour``-``last_hour``) of a
    time zone, as an (k, 2) array of (from, to) seconds."""
    out = []
    for day in range(int(np.floor(start / DAY)) - 1, int(np.ceil(end / DAY)) + 2):
        lo = day * DAY + (first_hour - tz_hours) * 3600.0
        hi = day * DAY + (last_hour - tz_hours) * 3600.0
        lo, hi = max(lo, start), min(hi, end)
        if hi > lo:
            out.append((lo, hi))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def spread_over(intervals: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Map fractions ``u`` in [0, 1) onto the concatenation of ``intervals`` (in order)."""
    lengths = intervals[:, 1] - intervals[:, 0]
    cum = np.r_[0.0, np.cumsum(lengths)]
    pos = np.asarray(u) * cum[-1]
    k = np.clip(np.searchsorted(cum, pos, side="right") - 1, 0, len(lengths) - 1)
    return intervals[k, 0] + (pos - cum[k])


def waking(rng: np.random.Generator, n: int, start: float, end: float, tz_hours: float, first_hour: float = 8.0,
           last_hour: float = 23.0) -> np.ndarray:
    """``n`` requests between ``start`` and ``end`` only in the waking hours of a time zone (a script
    made to look like a person's day); everywhere in the span when it has no waking hour.

    >>> t = waking(np.random.default_rng(1), 500, 0.0, 2 * DAY, tz_hours=9.0)
    >>> bool((((t / 3600.0 + 9.0) % 24) >= 8.0).all() and (((t / 3600.0 + 9.0) % 24) < 23.0).all())
    True
    """
    n = max(1, int(n))
    spans = waking_intervals(start, end, tz_hours, first_hour, last_hour)
    if not len(spans):
        return np.sort(rng.uniform(start, end, n))
    return np.sort(spread_over(spans, rng.random(n)))
