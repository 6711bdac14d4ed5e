"""The stream's pure part (distillguard.stream.microbatch) with plain frames: no Kafka, no files."""

from __future__ import annotations

import zlib
from datetime import datetime

import polars as pl

from distillguard.config import Settings
from distillguard.events import ParsedBatch, empty_rejected, parse_records
from distillguard.kafka_io import event_records
from distillguard.simulator import SimulationConfig, simulate
from distillguard.stream.microbatch import ALERT_SCHEMA, PartitionPoll, PartitionScoring, assemble
from distillguard.stream.scoring import StreamScorer

PARTITIONS = 3


def _poll(partition: int, events: pl.DataFrame, next_offset: int, duplicates: int = 0) -> PartitionPoll:
    return PartitionPoll("logs", partition, ParsedBatch(events, empty_rejected(), duplicates), events.height + duplicates, next_offset)


def test_a_micro_batch_keeps_an_event_polled_on_two_partitions_once_and_counts_every_record():
    a = pl.DataFrame({"event_id": ["x", "y"], "ts": [datetime(2026, 11, 2, 9), datetime(2026, 11, 2, 11)]})
    b = pl.DataFrame({"event_id": ["y", "z"], "ts": [datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 8)]})
    batch = assemble([_poll(0, a, 40, duplicates=1), _poll(2, b, 7)], group_id="dg")
    assert batch.events.select("event_id", "_partition").rows() == [("x", 0), ("y", 0), ("z", 2)]
    assert (batch.records, batch.repeats) == (5, 2)                # every record: an event or a repeat
    assert batch.offsets.select("partition", "next_offset", "max_event_ts").rows() == [
        (0, 40, datetime(2026, 11, 2, 11)), (2, 7, datetime(2026, 11, 2, 10))]


def _micro_batches() -> list[list[PartitionPoll]]:
    """A small simulated day as polls of three partitions, in event-time order, 2,000 records a micro-batch."""
    sim = simulate(SimulationConfig(seed=5, scale=0.1, n_days=1))
    records = event_records(sim.events)
    batches, offsets = [], dict.fromkeys(range(PARTITIONS), 0)
    for start in range(0, len(records), 2000):
        chunk = records[start:start + 2000]
        polls = []
        for p in range(PARTITIONS):
            values = [value for key, value in chunk if zlib.crc32(key) % PARTITIONS == p]
            if values:
                parsed = parse_records(values, source=f"kafka:logs/{p}", positions=list(range(offsets[p], offsets[p] + len(values))))
                offsets[p] += len(values)
                polls.append(PartitionPoll("logs", p, parsed, len(values), offsets[p]))
        batches.append(polls)
    return batches


def test_partition_scoring_raises_the_alerts_the_stream_scorer_does_and_its_checkpoints_restore_its_state():
    """The pure part owns the scorer, it does not change it: the same alerts as StreamScorer.ingest
    over the same micro-batches; a partition's state comes back whole from its checkpoint."""
    settings = Settings()
    scoring, scorer = PartitionScoring(settings), StreamScorer(settings)
    raised, expected = [], []
    for polls in _micro_batches():
        batch = assemble(polls, group_id="dg")
        raised.append(scoring.alerts(batch.events))
        expected.append(pl.DataFrame(scorer.ingest(batch.events), schema=ALERT_SCHEMA))
        scoring.advance(batch)
    raised_all, expected_all = pl.concat(raised), pl.concat(expected)
    assert raised_all.schema == ALERT_SCHEMA
    assert raised_all.height > 0, "the simulated day should raise alerts"
    assert raised_all.drop("raised_at").equals(expected_all.drop("raised_at"))     # raised_at: the wall clock

    checkpoints = scoring.checkpoints("logs")
    assert sorted(c.partition for c in checkpoints) == scoring.partitions == list(range(PARTITIONS))
    windows = {p: scoring.scorer.windows.frame_of(p) for p in scoring.partitions}
    offsets = dict(scoring.next_offset)
    scoring.drop(scoring.partitions)
    assert scoring.partitions == [] and scoring.scorer.windows.rows == 0
    resumed = PartitionScoring(settings)
    assert {c.partition: resumed.restore(c) for c in checkpoints} == offsets == resumed.next_offset
    for p, frame in windows.items():
        assert resumed.scorer.windows.frame_of(p).select(frame.columns).equals(frame)


def test_a_micro_batch_without_events_raises_no_alerts():
    scoring = PartitionScoring(Settings())
    batch = assemble([_poll(1, pl.DataFrame(schema={"event_id": pl.String, "ts": pl.Datetime("us")}), 3)], group_id="dg")
    assert scoring.alerts(batch.events).height == 0
    scoring.advance(batch)
    assert scoring.next_offset == {1: 3}


def test_a_young_account_is_judged_every_minute_of_its_first_ten_and_then_as_its_window_grows():
    """One steady account, 20 requests a minute: in its first ten minutes of event time it is due at least once a
    minute (an alert is due within ten); later only when its count grew by half (or a quarter of an hour passed)."""
    scorer = StreamScorer(Settings())
    start = datetime(2026, 11, 2, 9)
    ts = pl.datetime_range(start, datetime(2026, 11, 2, 9, 40), interval="3s", eager=True, time_unit="us")
    events = pl.DataFrame({"account_id": ["a"] * ts.len(), "ts": ts, "_partition": [0] * ts.len()}).with_columns(pl.col("_partition").cast(pl.Int32))
    due = pl.concat([scorer.due_points(events.slice(i, 100)) for i in range(0, events.height, 100)])
    minutes = ((due["until"] - start).dt.total_seconds() / 60.0).to_list()
    early = [m for m in minutes if m <= 10]
    assert early and max(b - a for a, b in zip([0.0] + early, early + [10.0])) <= 1.5
    late = [m for m in minutes if m > 12]
    assert len(late) <= 3          # 12 -> 40 minutes: the count grows by half twice or so
