"""The consumer's poll loop on its own thread: the next micro-batch is fetched and decoded while
the current one is processed.

kafka-python decodes records in Python; on its own thread that work overlaps the micro-batch's
Polars, DuckDB and river work, which mostly runs outside the GIL. So does ``prepare`` (the
consumer validates each poll's records into Polars frames there): a micro-batch arrives parsed.
The :class:`Poller` is the only thread that touches the ``KafkaConsumer``: the processing thread
asks it to commit (after a micro-batch is durable) or to rewind (to replay a micro-batch whose
side effects failed), and it applies both before its next poll.

A micro-batch handed over before a rebalance, or before a rewind, is *stale*: the consumer's
positions were reset behind it, so its records come again, and :meth:`Poller.next_batch` skips
it. While the processing thread is busy, polls are merged into one pending micro-batch (up to
``max_records``), so it takes everything that arrived in one go: pipelining adds no queueing.

Rebalance callbacks run inside ``poll``, on kafka-python's IO thread (the event loop that also
sends heartbeats), where no blocking consumer call may be made. The caller's listener
(``stream.consumer``) therefore does its work on a helper thread while the IO loop waits
without blocking: it takes the processing lock, so a hand-over waits for the micro-batch in
progress, and calls :meth:`Poller.flush_commits` first, so the offsets of what was processed are
committed while the partitions are still ours; for partitions already *lost* (the group moved
on without this consumer) it calls :meth:`Poller.forget` instead, since their new owner replays
from the last commit.

While the pending micro-batch is full (the processing thread is slow: a long DuckDB lock wait,
say), this thread keeps polling with every partition paused every
:data:`KEEPALIVE_EVERY_S`, so the group does not count the consumer as stalled and take its
partitions (``max_poll_interval_ms``); records fetched meanwhile wait in kafka-python's buffers.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

log = logging.getLogger("distillguard.stream")
KEEPALIVE_EVERY_S = 1.0       # while the pending micro-batch is full: a paused poll at least this often


@dataclass
class HandedBatch:
    """Polled records (merged over polls), what ``prepare`` made of each poll's records per
    partition, and the rewind / rebalance epochs they were polled in."""

    records: dict
    rewinds: int
    rebalances: int
    prepared: dict = field(default_factory=dict)           # {TopicPartition: [prepare(tp, records) per poll]}


class Poller:
    """Polls ``consumer`` on a thread; the processing thread takes what arrived as one micro-batch
    (``{TopicPartition: [records]}``) with :meth:`next_batch`."""

    def __init__(self, consumer: KafkaConsumer, *, poll_timeout_ms: int, max_records: int, backoff_max_s: float,
                 on_broker_error=None, prepare=None, commit_timeout_ms: int | None = None) -> None:
        self.consumer = consumer
        self.commit_timeout_ms = commit_timeout_ms          # a commit that cannot finish sooner is retried later
        self.prepare = prepare                              # (TopicPartition, [records]) -> anything, on this thread
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.backoff_max_s = backoff_max_s
        self.stop = threading.Event()
        self.on_broker_error = on_broker_error or (lambda exc: None)
        self.has_assignment = False
        self.error: BaseException | None = None
        self._lock = threading.Lock()                       # guards everything below
        self._changed = threading.Condition(self._lock)
        self._pending: HandedBatch | None = None
        self._pending_records = 0
        self._commits: dict[TopicPartition, OffsetAndMetadata] = {}
        self._rewind_requested = False
        self._rewinds = 0                                   # bumped by rewind(): records polled before are stale
        self._rebalances = 0                                # bumped by a rebalance: records polled before are stale
        self._unprocessed_from: dict[TopicPartition, int] = {}   # first offset polled and not yet committed
        self._polled_until: dict[TopicPartition, int] = {}
        self._last_poll = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="kafka-poller", daemon=True)

    # -- the processing thread's side --------------------------------------------------------
    def start(self) -> "Poller":
        self._thread.start()
        return self

    def next_batch(self, timeout_s: float) -> HandedBatch | None:
        """Everything polled so far as one micro-batch, or None when nothing (current) arrived
        within ``timeout_s``. Check :meth:`is_current` again once holding the processing lock: a
        rebalance may come between."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._pending is not None or self.error is not None, timeout=timeout_s):
                return None
            if self.error is not None:
                raise RuntimeError("the Kafka poll thread failed") from self.error
            batch, self._pending, self._pending_records = self._pending, None, 0
            self._changed.notify_all()
        return batch if batch is not None and self.is_current(batch) else None

    def is_current(self, batch: HandedBatch) -> bool:
        with self._lock:
            return self._is_current(batch)

    def _is_current(self, batch: HandedBatch) -> bool:
        return batch.rewinds == self._rewinds and batch.rebalances == self._rebalances

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        """Commit these offsets (their micro-batch is durable) before the next poll."""
        with self._lock:
            self._commits.update(offsets)

    def rewind(self) -> None:
        """Replay everything polled but not committed (a micro-batch's side effects failed)."""
        with self._lock:
            self._rewinds += 1
            self._rewind_requested = True

    def close(self) -> None:
        """Stop polling, commit what was processed, and wait for the thread."""
        self.stop.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(timeout=60)

    # -- the rebalance listener's side (its helper thread, while this thread waits in ``poll``) --
    def rebalanced(self) -> None:
        """Called by the rebalance listener: what was polled before is stale."""
        with self._lock:
            self._rebalances += 1
            self._unprocessed_from.clear()
            self._polled_until.clear()

    def forget(self, partitions) -> None:
        """Drop the offsets waiting to be committed for ``partitions`` (lost: they are not ours to commit)."""
        with self._lock:
            for tp in partitions:
                self._commits.pop(tp, None)

    # -- the poll thread -----------------------------------------------------------------------
    def flush_commits(self) -> None:
        """Commit pending offsets now (also from the rebalance listener's helper thread, while the
        partitions are still ours; never from kafka-python's IO thread)."""
        with self._lock:
            commits, self._commits = self._commits, {}
            self._forget_committed(commits)
        if not commits:
            return
        try:
            self.consumer.commit(offsets=commits, timeout_ms=self.commit_timeout_ms)
        except CommitFailedError as exc:
            # The group rebalanced first: the partitions' new owner replays from the last commit,
            # and idempotent writes keep that exact.
            log.warning("offset commit rejected after a rebalance (%s); the new owner replays the batch", exc)
        except KafkaError as exc:
            self.on_broker_error(exc)
            log.warning("offset commit failed (%s); retried before the next poll", exc)
            with self._lock:
                for tp, meta in commits.items():
                    if tp not in self._commits or self._commits[tp].offset < meta.offset:
                        self._commits[tp] = meta

    def _forget_committed(self, commits: dict[TopicPartition, OffsetAndMetadata]) -> None:
        for tp, meta in commits.items():
            if self._polled_until.get(tp, -1) > meta.offset:
                self._unprocessed_from[tp] = meta.offset
            else:
                self._unprocessed_from.pop(tp, None)
                self._polled_until.pop(tp, None)

    def _apply_rewind(self) -> None:
        with self._lock:
            if not self._rewind_requested:
                return
            self._rewind_requested = False
            targets, self._unprocessed_from, self._polled_until = dict(self._unprocessed_from), {}, {}
            self._pending, self._pending_records = None, 0
        assigned = self.consumer.assignment()
        for tp, offset in targets.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)

    def _merge(self, polled: dict, rewinds: int, prepared: dict) -> None:
        """Add one poll's records to the pending micro-batch (records polled before a rewind or
        rebalance are dropped; their offsets are noted first, so a rewind polls them again)."""
        with self._changed:
            for tp, messages in polled.items():
                self._unprocessed_from.setdefault(tp, messages[0].offset)
                self._polled_until[tp] = messages[-1].offset + 1
            if rewinds != self._rewinds:
                return
            if self._pending is not None and not self._is_current(self._pending):
                self._pending, self._pending_records = None, 0
            if self._pending is None:
                self._pending = HandedBatch({}, self._rewinds, self._rebalances)
            for tp, messages in polled.items():
                self._pending.records.setdefault(tp, []).extend(messages)
                self._pending_records += len(messages)
                if tp in prepared:
                    self._pending.prepared.setdefault(tp, []).append(prepared[tp])
            self._changed.notify_all()

    def _room(self) -> int:
        """Records the pending micro-batch can still take, waiting a little while it is full."""
        with self._changed:
            self._changed.wait_for(lambda: self._pending_records < self.max_records or self.stop.is_set(), timeout=0.2)
            return self.max_records - self._pending_records

    def _run(self) -> None:
        backoff = 0.5
        try:
            while not self.stop.is_set():
                self.flush_commits()
                self._apply_rewind()
                room = self._room()
                paused = ()
                if room <= 0:
                    if time.monotonic() - self._last_poll < KEEPALIVE_EVERY_S:
                        continue
                    # full: poll with every partition paused, so the group still sees this consumer alive
                    paused = tuple(self.consumer.assignment() or ())
                    self.consumer.pause(*paused)
                with self._lock:
                    rewinds = self._rewinds
                try:
                    polled = self.consumer.poll(timeout_ms=self.poll_timeout_ms if not paused else min(self.poll_timeout_ms, 100),
                                                max_records=max(room, 1))
                    backoff = 0.5
                except KafkaError as exc:
                    self.on_broker_error(exc)
                    log.warning("poll failed (%s); retrying in %.1f s", exc, backoff)
                    self.stop.wait(backoff)
                    backoff = min(self.backoff_max_s, backoff * 2)
                    continue
                finally:
                    self._last_poll = time.monotonic()
                    if paused:                  # (those still assigned: a rebalance may come during the poll)
                        self.consumer.resume(*(set(paused) & set(self.consumer.assignment() or ())))
                self.has_assignment = bool(self.consumer.assignment())
                if polled:
                    # (a paused poll returns records only from partitions assigned during it: kept too,
                    # since the consumer's position has moved past them)
                    prepared = {tp: self.prepare(tp, messages) for tp, messages in polled.items()} if self.prepare else {}
                    self._merge(polled, rewinds, prepared)
            self.flush_commits()
        except BaseException as exc:  # surfaced to the processing thread by next_batch
            with self._changed:
                self.error = exc
                self._changed.notify_all()
            log.exception("the Kafka poll thread failed")
            raise
