"""Per-account sliding windows of recent events (by event time), held per Kafka partition.

Events are keyed by account_id, so a partition owns its accounts: the windows of one
partition move as a whole when the partition moves to another consumer (see
:mod:`distillguard.stream.checkpoints`). A window keeps the last ``window_s`` seconds of event
time before the account's newest event; an out-of-order event inside that span joins the
window in its place, a later-than-the-window event is stored (by the consumer) but no longer
changes the window. A repeated event_id counts once.

>>> import polars as pl
>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
>>> w = WindowState(window_s=120)
>>> ev = pl.DataFrame({"account_id": ["a"] * 5, "ts": [t0 + timedelta(minutes=i) for i in (0, 1, 4, 3, 2)],
...                    "event_id": list("vwxyz")})
>>> w.add(ev, partition=0)
>>> w.events_of(["a"])["event_id"].to_list()      # minutes 2, 3, 4: the last 120 s before minute 4
['z', 'y', 'x']
"""

from __future__ import annotations

from datetime import datetime

import polars as pl


class WindowState:
    """Recent events per account, at most ``max_per_account`` each (the newest are kept)."""

    def __init__(self, window_s: int, max_per_account: int = 20_000) -> None:
        self.window_s = window_s
        self.max_per_account = max_per_account
        self.partitions: dict[int, pl.DataFrame] = {}

    def add(self, events: pl.DataFrame, partition: int, *, evict: bool = True) -> None:
        """Merge new events of one partition into its windows (and evict what fell out, unless
        ``evict`` is False: the consumer adds a whole micro-batch, scores it slice by slice with
        ``events_of(..., until=...)`` and evicts once at the end)."""
        if events.height == 0:
            return
        events = events.with_columns(pl.col("ts").dt.cast_time_unit("us"))
        current = self.partitions.get(partition)
        frame = events if current is None else pl.concat([current, events], how="diagonal_relaxed")
        touched = events["account_id"].unique().implode()
        keep = frame.filter(~pl.col("account_id").is_in(touched))
        changed = frame.filter(pl.col("account_id").is_in(touched)).unique("event_id", keep="first", maintain_order=True)
        self.partitions[partition] = pl.concat([keep, changed], how="vertical_relaxed") if keep.height else changed
        if evict:
            self.evict([partition])

    def evict(self, partitions: list[int] | None = None) -> None:
        """Drop events older than each account's newest event minus the window (and over the cap)."""
        for p in partitions if partitions is not None else list(self.partitions):
            frame = self.partitions.get(p)
            if frame is None:
                continue
            frame = frame.filter(pl.col("ts") >= pl.col("ts").max().over("account_id") - pl.duration(seconds=self.window_s))
            if frame.height > self.max_per_account:
                frame = frame.sort("account_id", "ts").filter(
                    pl.int_range(pl.len()).over("account_id") >= pl.len().over("account_id") - self.max_per_account)
            self.partitions[p] = frame

    def events_of(self, accounts: list[str], until: datetime | None = None, *, trim: bool = True) -> pl.DataFrame:
        """The window events of ``accounts``: each account's last ``window_s`` of event time, as of
        its newest event (at or before ``until`` when given); ``trim=False``: every event held."""
        frames = list(self.partitions.values())
        if not frames:
            return pl.DataFrame()
        frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
        frame = frame.filter(pl.col("account_id").is_in(pl.Series(accounts, dtype=pl.String).implode()))
        if until is not None:
            frame = frame.filter(pl.col("ts") <= until)
        if not trim:
            return frame.sort("account_id", "ts")
        return (frame.filter(pl.col("ts") >= pl.col("ts").max().over("account_id") - pl.duration(seconds=self.window_s))
                .sort("account_id", "ts"))

    def frame_of(self, partition: int) -> pl.DataFrame | None:
        return self.partitions.get(partition)

    def put(self, partition: int, frame: pl.DataFrame | None) -> None:
        if frame is not None and frame.height:
            self.partitions[partition] = frame
        else:
            self.partitions.pop(partition, None)

    def drop(self, partitions: list[int]) -> None:
        for p in partitions:
            self.partitions.pop(p, None)

    @property
    def accounts(self) -> int:
        """Accounts with at least one event in their window."""
        return sum(f["account_id"].n_unique() for f in self.partitions.values())

    @property
    def rows(self) -> int:
        return sum(f.height for f in self.partitions.values())
