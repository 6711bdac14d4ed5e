"""``distillguard stream``: the Kafka consumer-group micro-batch loop.

This module is the Kafka shell: polling, rebalances, commits, the dead-letter topic and the
alerts topic. What a micro-batch's records *mean* (one frame of events, the rejects, the offsets,
windows, scoring and alert rows) is the pure part, :mod:`distillguard.stream.microbatch`, with no
Kafka and no files; making results durable (the event lake, the outbox of Parquet files, the DuckDB
file taken only when free, the analysts' snapshot) is :mod:`distillguard.stream.sink`.

Each poll (up to ``stream.max_batch_records`` records) is one micro-batch, validated as Polars
frames by the same reader as batch (:func:`distillguard.events.parse_records`; on the poll
thread, as it arrives, see :func:`parse_messages`). Its results
are made durable in this order, and only then are its offsets committed:

1. events appended to the event lake (:mod:`distillguard.lake`: files of this consumer's own, so
   no lock; a repeated event_id counts once), bad records with the partition offsets (those at
   most every :data:`OFFSETS_EVERY_S` when there are no bad records) into this consumer's outbox
   files (:mod:`distillguard.stream.outbox`: no lock either; folded into DuckDB's
   ``rejected_events`` and ``stream_offsets`` later, idempotently), on a writer thread while 2 and
   3 run; alerts wait for it;
2. bad records to the dead-letter topic (original bytes, reason in the headers), flushed;
3. windows and online scoring in event-time slices (:class:`~distillguard.stream.microbatch.PartitionScoring`);
   new alerts (deterministic alert_id) into an outbox file, then published to the alerts topic,
   then a published marker file;
4. per-partition checkpoints (windows, online model) every few seconds, each recording the
   offset it reflects, written on a thread (see :mod:`distillguard.stream.checkpoints`);
5. the offsets are committed to the group (by the poll thread, before its next poll).

After a micro-batch (and on idle polls) the consumer takes the DuckDB file only if no other
process holds it (:meth:`StreamSink.tick`): to fold every replica's outbox into it every
``stream.outbox_fold_every_s``, refresh the scorer's memory every :data:`MEMORY_REFRESH_S`, and
publish the analysts' snapshot when due; busy, it skips them all and tries again next time. So a
draining consumer never waits for another process's lock (``StreamReport.store_wait_seconds``);
only its start and its clean exit (which folds what is left) may wait.

Polling runs on its own thread (:mod:`distillguard.stream.poller`), so the next micro-batch is
fetched and decoded while this one is processed; a micro-batch fetched before a rebalance or a
replay is dropped, since its records come again.

Every codec a producer may use decodes (gzip, snappy raw or xerial-framed, lz4, zstd), and a
record batch that cannot be read (bad CRC, bytes that do not inflate, malformed records) reaches
this loop as one :class:`~distillguard.kafka_records.UndecodableBatch`: it is dead-lettered like
a bad record (its raw bytes, with topic, partition, first and last offset and the reason in the
headers; a ``rejected_events`` row at its first offset) and the partition goes on past it.

Rebalances never block kafka-python's IO thread (where its listener callbacks run): the
hand-over and take-over run on a helper thread (see :func:`_listener`). Partitions revoked in an
orderly rebalance are committed and checkpointed first; partitions *lost* (the group moved on
without this consumer, e.g. after a pause longer than ``max_poll_interval_ms``) are dropped
without a commit or checkpoint, the consumer rejoins, and whatever it is assigned resumes from
the committed offsets (or a checkpoint), so nothing is lost and idempotent writes store nothing
twice.

The report's counts add up: every record polled is exactly one of a new event, a dead letter
or a duplicate (an event_id already stored, or repeated within the micro-batch).

A crash anywhere replays from the last commit (or the older checkpoint) and writes nothing
twice: events and rejects are keyed, and the alert policy is reloaded from the ``alerts``
table and the outbox not yet folded, so an alert raised before the crash is not raised again.
An alert in the outbox without a published marker (nor ``published_at`` in DuckDB) is published
at the next start (:func:`distillguard.stream.outbox.unpublished_alerts`).

Several ``stream`` processes in one group split the partitions. Each appends its events to the
lake and its other rows to its outbox files without waiting for the others; whichever gets the
shared DuckDB file free folds every replica's outbox into it (:mod:`distillguard.stream.sink`);
a publication of the analysts' snapshot lists and counts the lake before it takes the file, so it
holds the lock only for the copy. They also share the checkpoint folder, so the consumer that
is assigned a partition after a rebalance (or after its owner died) continues that partition's
windows and model from its checkpoint. When the broker is unreachable the loop keeps retrying
with backoff, logs it, and catches up from the committed offsets when the broker is back.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field

import polars as pl
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from distillguard.config import IngestSettings, Settings
from distillguard.events import REJECTED_SCHEMA, ParsedBatch, concat_batches, parse_records
from distillguard.kafka_io import ensure_topics, make_producer
from distillguard.kafka_records import UndecodableBatch
from distillguard.store import Store
from distillguard.stream.background import Background
from distillguard.stream.checkpoints import CheckpointWriter, load_checkpoint
from distillguard.stream.deadletter import dead_letter_messages, empty_value_rejects
from distillguard.stream.microbatch import PartitionPoll, PartitionScoring, assemble
from distillguard.stream.poller import Poller
from distillguard.stream.scoring import StreamScorer
from distillguard.stream.sink import StreamSink

log = logging.getLogger("distillguard.stream")
CHECKPOINT_EVERY_S = 15.0     # wall-clock seconds between periodic checkpoints
OFFSETS_EVERY_S = 5.0         # stream_offsets (an audit: Kafka's commits are what consumers resume from) is
                              # written at least this often, and with every micro-batch that has rejects
MEMORY_REFRESH_S = 60.0       # how often dismissals and batch flags are re-read from DuckDB (when it is free)


@dataclass
class StreamReport:
    batches: int = 0
    records: int = 0
    inserted: int = 0
    rejected: int = 0
    duplicates: int = 0
    alerts: int = 0
    storms: int = 0
    broker_errors: int = 0
    seconds: float = 0.0
    partitions: list[int] = field(default_factory=list)
    busy_seconds: float = 0.0                                  # time spent processing micro-batches
    first_batch_at: float | None = None                        # monotonic clock at the first / last micro-batch
    last_batch_at: float | None = None
    latency_ms: list[float] = field(default_factory=list)     # broker arrival -> results durable, per record (last 200k)
    store_wait_seconds: float = 0.0                            # waiting for another process's DuckDB lock while draining (0)
    start_stop_wait_seconds: float = 0.0                       # the same at start and at the clean exit (allowed)
    store_busy_skips: int = 0                                  # folds / refreshes / snapshots skipped: the file was held

    def note_latencies(self, arrival_ms: list[int]) -> None:
        now_ms = time.time() * 1000.0
        self.latency_ms.extend(now_ms - t for t in arrival_ms if t and t > 0)
        if len(self.latency_ms) > 400_000:
            del self.latency_ms[:-200_000]

    def note_broker_error(self, exc: Exception) -> None:
        self.broker_errors += 1

    def summary(self) -> dict:
        """The figures a flow run logs and returns: counts, throughput, latency percentiles (ms)."""
        out = {name: getattr(self, name) for name in
               ("batches", "records", "inserted", "rejected", "duplicates", "alerts", "storms", "broker_errors", "partitions")}
        out["seconds"] = round(self.seconds, 1)
        out["store_wait_seconds"] = round(self.store_wait_seconds, 2)
        out["start_stop_wait_seconds"] = round(self.start_stop_wait_seconds, 2)
        out["store_busy_skips"] = self.store_busy_skips
        out["events_per_busy_second"] = round(self.records / self.busy_seconds) if self.busy_seconds else None
        if self.latency_ms:
            ordered = sorted(self.latency_ms)
            for q in (50, 95, 99):
                out[f"latency_p{q}_ms"] = round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))])
        return out

    def __str__(self) -> str:
        return (f"{self.records:,} records in {self.batches} micro-batches: {self.inserted:,} new events, "
                f"{self.rejected:,} dead-lettered, {self.duplicates:,} duplicates, {self.alerts:,} alerts ({self.seconds:.0f} s)")


class StreamConsumer:
    """One member of the consumer group, the Kafka shell around a micro-batch: its partitions'
    scoring state (:class:`~distillguard.stream.microbatch.PartitionScoring`), its sink
    (:class:`~distillguard.stream.sink.StreamSink`), its producer (dead letters, alerts) and the
    checkpoints of its partitions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.kafka.topic_events
        self.scoring = PartitionScoring(settings)
        self.sink = StreamSink(settings, offsets_every_s=OFFSETS_EVERY_S)
        self.report = StreamReport()
        self.last_checkpoint = time.monotonic()
        self.last_refresh = 0.0
        self.assigned_at = time.monotonic()
        self.consumer: KafkaConsumer | None = None
        self.producer: KafkaProducer | None = None
        self.checkpoints = CheckpointWriter(settings.stream.checkpoint_dir)

    @property
    def scorer(self) -> StreamScorer:
        return self.scoring.scorer

    @property
    def next_offset(self) -> dict[int, int]:
        return self.scoring.next_offset

    def release_store(self, *, wait: bool = True) -> None:
        """Let the DuckDB file go (``wait=False``: the close runs on a thread, see :class:`HeldStore`)."""
        self.sink.release(wait=wait)
        self.report.store_wait_seconds = self.sink.waited_s
        self.report.start_stop_wait_seconds = self.sink.start_stop_wait_s
        self.report.store_busy_skips = self.sink.busy_skips

    def tick(self, *, next_check_in_s: float, refresh: bool = False) -> bool:
        """The DuckDB file's work, if it is free (:meth:`StreamSink.tick`): the outbox folded, the
        scorer's memory refreshed (every :data:`MEMORY_REFRESH_S`, or ``refresh``), the analysts'
        snapshot published when due. Called after each micro-batch and on idle polls, so the last
        writes before a lull reach analysts too. Busy: the scorer keeps its memory, tried again
        next time; returns whether the memory was refreshed."""
        due = refresh or time.monotonic() - self.last_refresh > MEMORY_REFRESH_S
        refreshed: list[bool] = []

        def load(store: Store) -> None:
            self.scorer.load_memory(*self.sink.memory(store))
            self.last_refresh = time.monotonic()
            refreshed.append(True)

        self.sink.tick(next_check_in_s=next_check_in_s, refresh=load if due else None)
        if due and not refreshed:
            log.debug("the database is busy: the scorer keeps its memory until a later micro-batch")
        return bool(refreshed)

    # -- state shared through DuckDB --------------------------------------------------------
    def refresh_memory(self) -> None:
        """Re-read the scorer's memory if the DuckDB file is free; busy: only the alerts in the
        outbox not yet folded are added (no lock), the rest is kept."""
        if not self.tick(next_check_in_s=0.0, refresh=True):
            self.scorer.remember_alerts(self.sink.alert_memory(None))

    # -- checkpoints and rebalances ------------------------------------------------------------
    def checkpoint(self, partitions: list[int] | None = None, *, wait: bool = True) -> None:
        """Checkpoint the partitions' state (all held); ``wait=False``: written on a thread."""
        self.checkpoints.submit(self.scoring.checkpoints(self.topic, partitions))
        if wait:
            self.checkpoints.wait()
        self.last_checkpoint = time.monotonic()

    def take_over(self, partitions: list[int]) -> dict[int, int]:
        """Load the partitions' checkpoints; returns where to seek each one that had one (where its
        state ends); the others start from the group's committed offset."""
        self.assigned_at = time.monotonic()
        seeks: dict[int, int] = {}
        for p in partitions:
            ckpt = load_checkpoint(self.settings.stream.checkpoint_dir, self.topic, p)
            if ckpt is not None:
                seeks[p] = self.scoring.restore(ckpt)
        self.refresh_memory()
        log.info("assigned partitions %s of %s (%d window rows from checkpoints)", partitions, self.topic, self.scorer.windows.rows)
        return seeks

    def hand_over(self, partitions: list[int], *, lost: bool = False) -> None:
        """Checkpoint the partitions' state and drop it; ``lost``: drop it only (another consumer
        may own them already, so a checkpoint now could overwrite a newer one)."""
        if not lost:
            self.checkpoint(partitions)
        self.scoring.drop(partitions)
        if lost:
            log.warning("partitions %s of %s lost (the group went on without this consumer); "
                        "rejoining, the new owner resumes from the last commit", partitions, self.topic)
        else:
            log.info("partitions %s of %s handed over", partitions, self.topic)

    # -- one micro-batch -----------------------------------------------------------------------
    def process(self, polled: dict, parsed_polls: dict | None = None) -> dict[TopicPartition, OffsetAndMetadata]:
        """One micro-batch: ``polled`` ``{TopicPartition: [records]}``, ``parsed_polls`` what
        :func:`parse_messages` made of each poll's records (parsed here when absent)."""
        started = time.monotonic()
        settings = self.settings
        polls, dead = [], []
        for tp, messages in polled.items():
            parsed_parts = (parsed_polls or {}).get(tp) or [parse_messages(tp, messages, ingest=settings.ingest)]
            parsed = parsed_parts[0] if len(parsed_parts) == 1 else concat_batches(parsed_parts)
            if parsed.rejected.height:
                dead.extend(_dead_letters(tp, parsed.rejected, messages))
            polls.append(PartitionPoll(tp.topic, tp.partition, parsed, len(messages), messages[-1].offset + 1))
        batch = assemble(polls, group_id=settings.kafka.group_id)
        commits = {tp: OffsetAndMetadata(poll.next_offset, "", -1) for tp, poll in zip(polled, polls)}

        # 1. durable in the lake and the outbox (files of this consumer's own: no lock), on a thread
        #    while 2 and 3 run here; alerts are stored after it ends
        store_batch = functools.partial(self.sink.store_batch, source=f"kafka:{self.topic}")
        writing = Background(store_batch, batch.events, batch.rejected, batch.offsets)
        try:
            # 2. dead letters on their topic
            for value, headers in dead:
                self._producer().send(settings.kafka.topic_dead_letter, value=value, headers=headers)
            if dead:
                self._producer().flush(timeout=30)
            # 3. windows, scoring, alerts (outbox first, then the topic)
            alerts = self.scoring.alerts(batch.events)
        finally:
            inserted = writing.result()
            # counted once the records are stored (and again if the micro-batch is replayed: as duplicates)
            self.report.records += batch.records
            self.report.inserted += inserted
            self.report.rejected += batch.rejected.height
            self.report.duplicates += batch.repeats + batch.events.height - inserted
        self.report.storms = self.scorer.storms
        if alerts.height:
            self.report.alerts += self.sink.insert_alerts(alerts)
        if self.sink.unpublished_alerts().height:       # new ones, or kept from a failed send
            self.publish_alerts()
        self.scoring.advance(batch)
        # 4. checkpoints
        if time.monotonic() - self.last_checkpoint > CHECKPOINT_EVERY_S:
            self.checkpoint(wait=False)
        # the DuckDB file, if free: the outbox folded, the memory refreshed when due, and the analysts'
        # snapshot if it would be too old when the next micro-batch ends (a cycle like this one)
        self.tick(next_check_in_s=time.monotonic() - (self.report.last_batch_at or started))
        self.release_store(wait=False)
        self.report.batches += 1
        self.report.busy_seconds += time.monotonic() - started
        self.report.first_batch_at = self.report.first_batch_at or started
        self.report.last_batch_at = time.monotonic()
        self.report.note_latencies([m.timestamp for messages in polled.values() for m in messages])
        return commits

    def publish_alerts(self) -> int:
        """Send every alert in the outbox not yet published to the alerts topic, then write their
        published marker; kept for later when Kafka is down."""
        pending = self.sink.unpublished_alerts()
        if pending.height == 0:
            return 0
        producer = self._producer()
        try:
            values = pending.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson().splitlines()
            for account_id, value in zip(pending["account_id"].to_list(), values):
                producer.send(self.settings.kafka.topic_alerts, key=account_id.encode(), value=value.encode())
            producer.flush(timeout=30)
        except KafkaError as exc:
            log.warning("alerts topic unreachable (%s); %d alerts stay in the outbox and are retried", exc, pending.height)
            return 0
        self.sink.mark_published(pending["alert_id"].to_list())
        return pending.height

    def _producer(self) -> KafkaProducer:
        if self.producer is None:
            raise RuntimeError("the consumer has no producer yet (run_stream connects one)")
        return self.producer


def parse_messages(tp: TopicPartition, messages: list, *, ingest: IngestSettings | None = None) -> ParsedBatch:
    """One poll's records of one partition validated (accepted events; rejects, empty values and
    unreadable record batches included); run by the poll thread as records arrive
    (:class:`Poller`'s ``prepare``). ``ingest``: the stream's ``settings.ingest`` (the accepted
    time range; the configuration's when None)."""
    source = f"kafka:{tp.topic}/{tp.partition}"
    unreadable = [m for m in messages if type(m) is UndecodableBatch]
    if unreadable:
        messages = [m for m in messages if type(m) is not UndecodableBatch]
    values = [m.value for m in messages]
    offsets = [m.offset for m in messages]
    parsed = parse_records(values, source=source, positions=offsets, ingest=ingest)
    rejected = [parsed.rejected, empty_value_rejects(values, offsets, source)]
    if unreadable:
        rejected.append(unreadable_batch_rejects(unreadable, source))
    return ParsedBatch(parsed.events, pl.concat(rejected), parsed.duplicates)


def unreadable_batch_rejects(batches: list[UndecodableBatch], source: str) -> pl.DataFrame:
    """``rejected_events`` rows for record batches that could not be read, at their first offset
    (the raw bytes go to the dead-letter topic, not into DuckDB)."""
    return pl.DataFrame({
        "source": [source] * len(batches), "position": [b.first_offset for b in batches], "raw": [""] * len(batches),
        "reason_code": [b.reason_code for b in batches],
        "reason": [f"record batch at offsets {b.first_offset}-{b.offset} could not be read: {b.reason}" for b in batches],
    }, schema=REJECTED_SCHEMA)


def _dead_letters(tp: TopicPartition, rejected: pl.DataFrame, messages: list) -> list[tuple[bytes, list]]:
    """Dead-letter messages for a partition's rejects: the original bytes (a whole unreadable batch
    as fetched), with topic and partition added to the headers, and the last offset for a batch."""
    original, batches = {}, {}
    for m in messages:
        if type(m) is UndecodableBatch:
            original[m.first_offset] = m.value
            batches[m.first_offset] = m
        else:
            original[m.offset] = m.value
    topic = [("topic", tp.topic.encode()), ("partition", str(tp.partition).encode())]
    out = []
    for (value, headers), position in zip(dead_letter_messages(rejected, original), rejected["position"].to_list()):
        extra = [("last_offset", str(batches[position].offset).encode())] if position in batches else []
        out.append((value, headers + topic + extra))
    return out


def _listener(owner: StreamConsumer, poller: Poller, processing: threading.Lock, net) -> AsyncConsumerRebalanceListener:
    """Hand-over and take-over, each waiting for the micro-batch in progress.

    kafka-python 3 calls these on its IO thread, the event loop that also sends the heartbeats and
    carries every request: a blocking consumer call there (a commit) raises "Cannot block on
    net.run() from the IO thread itself", and any long wait there (the processing lock, a DuckDB
    lock, a checkpoint) stops the heartbeats. So each callback runs its work on a helper thread and
    yields to the loop (``net``, the consumer's event loop) until it is done; the seeks to
    checkpointed offsets, which need no network, are made on the loop afterwards.
    """
    async def off_loop(fn, *args):
        job = Background(fn, *args, name="rebalance")
        while not job.done():
            await net.sleep(0.01)
        return job.result()

    def hand_over(partitions, lost: bool) -> None:
        partitions = [tp for tp in partitions if tp.topic == owner.topic]
        with processing:
            if lost:
                poller.forget(partitions)          # not ours to commit any more
            else:
                poller.flush_commits()             # from this helper thread: the IO loop carries the commit
            owner.hand_over(sorted(tp.partition for tp in partitions), lost=lost)
            poller.rebalanced()

    def take_over(partitions) -> dict[int, int]:
        with processing:
            seeks = owner.take_over(sorted(tp.partition for tp in partitions if tp.topic == owner.topic))
            poller.rebalanced()
        return seeks

    class Rebalances(AsyncConsumerRebalanceListener):
        async def on_partitions_revoked(self, revoked):
            await off_loop(hand_over, revoked, False)

        async def on_partitions_lost(self, lost):
            await off_loop(hand_over, lost, True)

        async def on_partitions_assigned(self, assigned):
            seeks = await off_loop(take_over, assigned)
            for partition, offset in seeks.items():
                owner.consumer.seek(TopicPartition(owner.topic, partition), offset)

    return Rebalances()


def _until_ready(action, what: str, settings: Settings, stop: threading.Event, report: StreamReport):
    delay = 0.5
    while not stop.is_set():
        try:
            return action()
        except KafkaError as exc:
            report.broker_errors += 1
            log.warning("%s: Kafka at %s unreachable (%s); retrying in %.1f s", what, settings.kafka.bootstrap_servers, exc, delay)
            stop.wait(delay)
            delay = min(settings.kafka.retry_backoff_max_s, delay * 2)
    return None


def run_stream(settings: Settings, *, max_seconds: float | None = None, stop_when_idle_s: float | None = None,
               stop: threading.Event | None = None) -> StreamReport:
    """Consume the log topic in micro-batches until ``stop`` is set (or idle / out of time when bounded)."""
    stop = stop or threading.Event()
    started = time.monotonic()
    owner = StreamConsumer(settings)
    report = owner.report
    owner.scorer.load_memory(*owner.sink.start())                   # create / migrate, read the memory: may wait
    owner.last_refresh = time.monotonic()
    owner.release_store()
    _until_ready(lambda: ensure_topics(settings.kafka), "creating topics", settings, stop, report)
    owner.producer = _until_ready(lambda: make_producer(settings.kafka, linger_ms=5), "connecting a producer", settings, stop, report)
    consumer = _until_ready(lambda: KafkaConsumer(
        **settings.kafka.client_options(),
        group_id=settings.kafka.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.stream.max_batch_records,
        max_poll_interval_ms=settings.kafka.max_poll_interval_ms,
        session_timeout_ms=settings.kafka.session_timeout_ms,
        heartbeat_interval_ms=max(500, settings.kafka.session_timeout_ms // 3),
        max_partition_fetch_bytes=8 * 1024 * 1024,
        # every record batch's CRC-32C is checked (kafka-python's default), in C through the crc32c package
        check_crcs=True,
    ), "connecting the consumer", settings, stop, report)
    if consumer is None or owner.producer is None:
        return report
    owner.consumer = consumer
    owner.publish_alerts()                                          # an outbox left by a crash
    processing = threading.Lock()          # one micro-batch or one hand-over at a time
    poller = Poller(consumer, poll_timeout_ms=settings.kafka.poll_timeout_ms, max_records=settings.stream.max_batch_records,
                    backoff_max_s=settings.kafka.retry_backoff_max_s, on_broker_error=report.note_broker_error,
                    prepare=functools.partial(parse_messages, ingest=settings.ingest),
                    commit_timeout_ms=min(30_000, max(1000, settings.kafka.max_poll_interval_ms // 3)))
    # consumer._net: kafka-python 3's event loop, on which the listener waits for its helper thread
    consumer.subscribe([settings.kafka.topic_events], listener=_listener(owner, poller, processing, consumer._net))
    poller.start()
    last_data = time.monotonic()
    backoff = 0.5
    try:
        while not stop.is_set():
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                break
            batch = poller.next_batch(settings.kafka.poll_timeout_ms / 1000.0)
            if batch is None:
                with processing:
                    owner.tick(next_check_in_s=settings.kafka.poll_timeout_ms / 1000.0)
                    owner.release_store(wait=False)
                quiet_since = max(last_data, owner.assigned_at)
                if stop_when_idle_s is not None and time.monotonic() - quiet_since > stop_when_idle_s and poller.has_assignment:
                    break
                continue
            last_data = time.monotonic()
            with processing:
                if not poller.is_current(batch):
                    continue                # fetched before a rebalance: its records come again
                try:
                    poller.commit(owner.process(batch.records, batch.prepared))
                except KafkaError as exc:
                    # Dead letters could not be flushed: replay from the last commit when Kafka is back.
                    report.broker_errors += 1
                    log.warning("Kafka unavailable mid-batch (%s); the batch is replayed in %.1f s", exc, backoff)
                    poller.rewind()
                else:
                    backoff = 0.5
                    continue
            stop.wait(backoff)
            backoff = min(settings.kafka.retry_backoff_max_s, backoff * 2)
    finally:
        poller.close()
        report.partitions = sorted(owner.next_offset)
        try:
            owner.checkpoint()
            owner.sink.finish()                   # offsets left, and every outbox file folded (may wait)
            owner.release_store()
        finally:
            try:
                owner.producer.close(timeout=5)
            finally:
                consumer.close()
        report.seconds = time.monotonic() - started
    return report
