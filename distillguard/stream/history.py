"""Which prompts each account already sent over the last day: repetition beyond the window.

The stream judges an account on its last hour, but "little repetition" is a statement about
longer spans: a benchmark runner works through a fixed question bank that can take longer than
an hour, and runs it again later in the day, so inside any one hour every prompt looks new. The
history keeps, per Kafka partition, each account's distinct prompts (by hash) with the first and
last time it sent them within ``history_s`` of event time; :meth:`PromptHistory.repeat_share`
says which share of a window's prompts the account had already sent before that window.

>>> import polars as pl
>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
>>> h = PromptHistory(history_s=86400)
>>> morning = pl.DataFrame({"account_id": ["bench"] * 3, "ts": [t0 + timedelta(minutes=i) for i in range(3)],
...                         "prompt": ["q1", "q2", "q3"]})
>>> h.add(morning, partition=0)
>>> evening = pl.DataFrame({"account_id": ["bench"] * 3, "_point": [0] * 3,
...                         "ts": [t0 + timedelta(hours=9, minutes=i) for i in range(3)], "prompt": ["q1", "q2", "new"]})
>>> h.add(evening.drop("_point"), partition=0)
>>> h.repeat_share(evening)["history_repeat_share"].round(3).to_list()
[0.667]
"""

from __future__ import annotations

import polars as pl

HISTORY_SCHEMA = pl.Schema({"account_id": pl.String(), "prompt_hash": pl.UInt64(), "first_ts": pl.Datetime("us", "UTC"),
                  "last_ts": pl.Datetime("us", "UTC")})


def _utc_us(expr: pl.Expr) -> pl.Expr:
    return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


class PromptHistory:
    """Per partition: ``(account_id, prompt_hash, first_ts, last_ts)`` over the last ``history_s``
    of each account's events; an account quiet for ``history_s`` plus ``quiet_grace_s`` by the
    partition's clock (its newest prompt) is forgotten, so the history does not grow with every
    account ever seen."""

    def __init__(self, history_s: int = 86_400, quiet_grace_s: int = 3600) -> None:
        self.history_s = history_s
        self.quiet_grace_s = quiet_grace_s
        self.partitions: dict[int, pl.DataFrame] = {}

    def add(self, events: pl.DataFrame, partition: int) -> None:
        """Merge the prompts of new events (``account_id``, ``ts``, ``prompt``) of one partition."""
        if events.height == 0 or "prompt" not in events.columns:
            return
        seen = (events.filter(pl.col("prompt").is_not_null())
                .group_by("account_id", pl.col("prompt").hash().alias("prompt_hash"))
                .agg(_utc_us(pl.col("ts")).min().alias("first_ts"), _utc_us(pl.col("ts")).max().alias("last_ts")))
        if seen.height == 0:
            return
        current = self.partitions.get(partition)
        merged = seen if current is None else pl.concat([current, seen.select(current.columns)])
        merged = (merged.group_by("account_id", "prompt_hash")
                  .agg(pl.col("first_ts").min(), pl.col("last_ts").max()))
        span = pl.duration(seconds=self.history_s)
        self.partitions[partition] = merged.filter(
            (pl.col("last_ts") >= pl.col("last_ts").max().over("account_id") - span)
            & (pl.col("last_ts") >= pl.col("last_ts").max() - span - pl.duration(seconds=self.quiet_grace_s)))

    def repeat_share(self, window: pl.DataFrame) -> pl.DataFrame:
        """Per ``_point`` of ``window`` (rows ``account_id``, ``_point``, ``ts``, ``prompt``): the
        share of its prompts the account first sent before the point's window began."""
        empty = pl.DataFrame(schema={"_point": window.schema.get("_point", pl.UInt32), "history_repeat_share": pl.Float64})
        frames = list(self.partitions.values())
        if not frames or window.height == 0:
            return empty
        history = frames[0] if len(frames) == 1 else pl.concat(frames)
        rows = (window.filter(pl.col("prompt").is_not_null())
                .select("account_id", "_point", _utc_us(pl.col("ts")).alias("ts"), pl.col("prompt").hash().alias("prompt_hash"))
                .with_columns(pl.col("ts").min().over("_point").alias("_start")))
        if rows.height == 0:
            return empty
        joined = rows.join(history.select("account_id", "prompt_hash", "first_ts"), on=["account_id", "prompt_hash"], how="left")
        return joined.group_by("_point").agg(
            (pl.col("first_ts") < pl.col("_start")).fill_null(False).mean().alias("history_repeat_share"))

    def frame_of(self, partition: int) -> pl.DataFrame | None:
        return self.partitions.get(partition)

    def put(self, partition: int, frame: pl.DataFrame | None) -> None:
        if frame is not None and frame.height:
            self.partitions[partition] = frame.cast(HISTORY_SCHEMA)
        else:
            self.partitions.pop(partition, None)

    def drop(self, partitions: list[int]) -> None:
        for p in partitions:
            self.partitions.pop(p, None)
