"""Detection over per-account rollups instead of raw events: a third kind of detection window.

:class:`RollupWindow` does what :class:`distillguard.detection.LoadedWindow` (events in this
process) and :class:`distillguard.sharding.ShardedWindow` (events in shards) do, from the rollups
of :mod:`distillguard.features.rollups` alone: features (:func:`features_from_rollups`), the
population-wide scoring, and rings - linked through the values' request counts (``values``) and
judged on the members' active minutes and prompt hashes (``hours``' minute counts, ``prompts``).
No raw event is read.

>>> import polars as pl
>>> from distillguard.config import Settings
>>> from distillguard.simulator import SimulationConfig, simulate
>>> traffic = simulate(SimulationConfig(seed=3, scale=0.02))
>>> window = RollupWindow(hourly_rollup(traffic.events))
>>> window.n_events == traffic.events.height
True
>>> scored = window.score(traffic.accounts, Settings())
>>> scored.height == traffic.events["account_id"].n_unique()
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from distillguard.config import Settings
from distillguard.features.rollups import Rollups, features_from_rollups, hourly_rollup, read_rollups, rollup_files

if TYPE_CHECKING:
    from distillguard.lake import Lake


def _hour_of(path: str) -> datetime:
    """The hour a rollup file holds, from its ``date=.../hour=...`` folders."""
    date, hour = path.rsplit("/", 3)[1:3]
    return datetime.strptime(f"{date[len('date='):]} {hour[len('hour='):]}", "%Y-%m-%d %H")

__all__ = ["RollupWindow", "member_activity_from_rollups", "hourly_rollup"]


def member_activity_from_rollups(rollups: Rollups) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What ring evidence reads of members' events (``models.rings.member_activity``), from rollups:
    ``(account_id, minute)`` active minutes and ``(account_id, h, n)`` requests per prompt hash."""
    minutes = (
        rollups.hours.lazy().select("account_id", "hour", "minute_counts").explode("minute_counts").unnest("minute_counts")
        .filter(pl.col("n") > 0)
        .select("account_id", (pl.col("hour") + pl.duration(minutes=pl.col("minute").cast(pl.Int64))).alias("minute"))
        .unique()
        .collect()
    )
    prompts = rollups.prompts.group_by("account_id", pl.col("ring_hash").alias("h")).agg(pl.col("n").sum())
    return minutes, prompts


@dataclass
class RollupWindow:
    """A detection window read from rollups (see the module docstring).

    ``window_hours``: the span the window features describe (default: the rollups' own span).
    """

    rollups: Rollups
    window_hours: float | None = None

    @classmethod
    def from_lake(cls, lake: Lake, horizon_hours: float | None = None) -> "RollupWindow":
        """The lake's rollups: all of them (``horizon_hours`` None), or the whole hours from the hour
        of (newest request - ``horizon_hours``) on (the raw path cuts at that moment exactly)."""
        start = None
        if horizon_hours is not None:
            last_files = rollup_files(lake, "hours")[-1:]
            if last_files:
                newest_hour = _hour_of(last_files[0])
                newest = read_rollups(lake, newest_hour).hours["last_ts"].max()
                if isinstance(newest, datetime):
                    start = newest.replace(tzinfo=None) - timedelta(hours=horizon_hours)
        return cls(read_rollups(lake, start))

    @property
    def n_events(self) -> int:
        return int(self.rollups.hours["n"].sum() or 0)

    def score(self, accounts: pl.DataFrame | None, settings: Settings) -> pl.DataFrame:
        from distillguard.detection import score_features

        return score_features(features_from_rollups(self.rollups, accounts, self.window_hours), settings)

    def find_rings(self, scored: pl.DataFrame, accounts: pl.DataFrame | None, settings: Settings,
                   exclude: set[str] | None = None) -> tuple[list[dict], pl.DataFrame]:
        from distillguard.detection import rings_from_links
        from distillguard.models.rings import link_values

        counts = self.rollups.values.select("account_id", "kind", "value", "n")
        links = link_values(pl.DataFrame(), scored, settings.rings, counts=counts)
        activity = member_activity_from_rollups(self.rollups)
        return rings_from_links(links, lambda membership: activity, scored, accounts, settings, exclude=exclude)   # type: ignore[arg-type,return-value]
