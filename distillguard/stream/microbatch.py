"""The pure part of a stream consumer: a micro-batch's parsed polls in, events, rejects, offsets and alerts out.

No Kafka and no files: what a poll of one partition made (:class:`PartitionPoll`, the
:class:`~distillguard.events.ParsedBatch` of its records and the offset after them) is joined into
one :class:`MicroBatch` (:func:`assemble`), and :class:`PartitionScoring` keeps each partition's
windows and online model (:class:`~distillguard.stream.scoring.StreamScorer`) and the offset its
state reflects, and turns a micro-batch's events into alert rows. The Kafka shell
(:mod:`distillguard.stream.consumer`) polls, makes the results durable (:mod:`distillguard.stream.sink`)
and commits; its checkpoints are this state (:mod:`distillguard.stream.checkpoints`).

>>> from datetime import datetime
>>> from distillguard.events import ParsedBatch, empty_rejected
>>> events = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2, 9), datetime(2026, 11, 2, 10)]})
>>> polls = [PartitionPoll("logs", 0, ParsedBatch(events, empty_rejected(), 0), records=2, next_offset=2),
...          PartitionPoll("logs", 1, ParsedBatch(events.head(1), empty_rejected(), 0), records=1, next_offset=8)]
>>> batch = assemble(polls, group_id="dg")
>>> batch.events.height, batch.repeats, batch.records, batch.offsets["next_offset"].to_list()
(2, 1, 3, [2, 8])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from distillguard.config import Settings
from distillguard.events import ParsedBatch
from distillguard.features import with_event_derived
from distillguard.stream.checkpoints import PartitionCheckpoint
from distillguard.stream.scoring import StreamScorer

#: The columns of an alert row (the ``alerts`` table's, less its outbox columns).
ALERT_SCHEMA = pl.Schema({
    "alert_id": pl.String(), "ts": pl.Datetime("us"), "account_id": pl.String(), "score": pl.Float64(),
    "reasons": pl.String(), "severity": pl.String(), "first_event_ts": pl.Datetime("us"), "raised_at": pl.Datetime("us"),
    "n_requests": pl.Int64(), "requests_per_active_hour": pl.Float64(), "signature_score": pl.Float64(),
})
#: The offsets audit's columns (``stream_offsets``).
OFFSETS_SCHEMA = pl.Schema({"group_id": pl.String(), "topic": pl.String(), "partition": pl.Int32(),
                            "next_offset": pl.Int64(), "max_event_ts": pl.Datetime("us")})


@dataclass(frozen=True)
class PartitionPoll:
    """What one micro-batch polled from one partition."""

    topic: str
    partition: int
    parsed: ParsedBatch          # its records validated (events, rejects, repeats within the poll)
    records: int                 # records polled (every one is an event, a reject or a repeat)
    next_offset: int             # the offset after the last record polled


@dataclass(frozen=True)
class MicroBatch:
    """A micro-batch's polls joined: the frames the sink stores and the scorer reads."""

    events: pl.DataFrame         # accepted events with a ``_partition`` column, each event_id once
    rejected: pl.DataFrame       # rejects of every partition (``rejected_events`` rows)
    offsets: pl.DataFrame        # :data:`OFFSETS_SCHEMA`, a row per partition
    records: int
    repeats: int                 # repeated event_ids within a poll and across partitions


def assemble(polls: list[PartitionPoll], *, group_id: str) -> MicroBatch:
    """Join the polls of a micro-batch; an event_id polled on two partitions (a producer that keyed
    its copies differently) is kept once, the other counted as a repeat."""
    parts, rejected, offsets = [], [], []
    records = repeats = 0
    for poll in polls:
        events = poll.parsed.events
        parts.append(events.with_columns(pl.lit(poll.partition, dtype=pl.Int32).alias("_partition")))
        rejected.append(poll.parsed.rejected)
        records += poll.records
        repeats += poll.parsed.duplicates
        max_ts = events["ts"].max() if events.height else None
        offsets.append({"group_id": group_id, "topic": poll.topic, "partition": poll.partition, "next_offset": poll.next_offset,
                        "max_event_ts": max_ts.replace(tzinfo=None) if isinstance(max_ts, datetime) else None})
    events = pl.concat(parts, how="vertical")
    if len(parts) > 1:
        before = events.height
        events = events.filter(pl.col("event_id").is_first_distinct())
        repeats += before - events.height
    return MicroBatch(events, pl.concat(rejected, how="vertical"), pl.DataFrame(offsets, schema=OFFSETS_SCHEMA),
                      records, repeats)


class PartitionScoring:
    """The scoring state of the partitions one consumer holds, and the offset each state reflects."""

    def __init__(self, settings: Settings) -> None:
        self.scorer = StreamScorer(settings)
        self.next_offset: dict[int, int] = {}          # partition -> first offset not yet in the state

    @property
    def partitions(self) -> list[int]:
        return sorted(self.next_offset)

    def alerts(self, events: pl.DataFrame) -> pl.DataFrame:
        """Windows and online scoring over a micro-batch's ``events`` (with ``_partition``); the new alert rows."""
        return pl.DataFrame(self.scorer.ingest(events), schema=ALERT_SCHEMA)

    def advance(self, batch: MicroBatch) -> None:
        """The micro-batch's partitions' state now reflects their records up to its offsets."""
        for partition, offset in zip(batch.offsets["partition"].to_list(), batch.offsets["next_offset"].to_list()):
            self.next_offset[partition] = offset

    def checkpoints(self, topic: str, partitions: list[int] | None = None) -> list[PartitionCheckpoint]:
        """The state of ``partitions`` (default: all held) to write as checkpoints."""
        scorer = self.scorer
        return [PartitionCheckpoint(topic, p, self.next_offset[p], scorer.windows.frame_of(p), scorer.models.get(p),
                                    scorer.first_seen.get(p, {}), scorer.history.frame_of(p))
                for p in (partitions if partitions is not None else list(self.next_offset)) if p in self.next_offset]

    def restore(self, checkpoint: PartitionCheckpoint) -> int:
        """Take over a partition's state from its checkpoint; returns the offset it reflects."""
        scorer, p = self.scorer, checkpoint.partition
        # a checkpoint written by an earlier version may lack helper columns this one derives per event
        scorer.windows.put(p, with_event_derived(checkpoint.window) if checkpoint.window is not None else None)
        scorer.history.put(p, checkpoint.history)
        if checkpoint.model is not None:
            scorer.models[p] = checkpoint.model
        scorer.first_seen[p] = checkpoint.first_seen
        self.next_offset[p] = checkpoint.next_offset
        return checkpoint.next_offset

    def drop(self, partitions: list[int]) -> None:
        """Forget the partitions' state (handed over or lost)."""
        self.scorer.drop(partitions)
        for p in partitions:
            self.next_offset.pop(p, None)
