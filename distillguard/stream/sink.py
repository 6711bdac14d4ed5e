"""Durable writes of the streaming path (:class:`StreamSink`): the event lake, DuckDB and the analysts' snapshot.

Valid events do not go to DuckDB: each consumer appends them to the event lake
(:mod:`distillguard.lake`) with a writer of its own, so replicas of a consumer group never wait for
one another to store events. A DuckDB file has one writer process at a time, and only the rest
goes there: dead letters, alerts, the offsets audit (``stream_offsets``) and the analysts'
snapshot. A consumer opens the file when a micro-batch has such rows, writes them (all
idempotent) and lets it go at once (:class:`HeldStore`); while another process (a second
``stream`` replica, a batch flow) holds the lock it waits with backoff
(:class:`distillguard.session.StoreSession`). To publish the snapshot a consumer lets the file go
first: the session lists and counts the lake without the lock and takes it for the copy only.
Analysts read the snapshot (``store.snapshot_path``) or open the file read-only between writes.
The statements on the stream's tables (alerts and their outbox, offsets, the scorer's memory)
are the plain functions at the end, which tests call on any open :class:`Store` too.
"""

from __future__ import annotations

import logging
import time

import polars as pl

from distillguard.config import Settings
from distillguard.lake import LakeWriter
from distillguard.session import StoreSession
from distillguard.snapshot import snapshot_due
from distillguard.store import Store, sql_text
from distillguard.stream.background import Background
from distillguard.stream.microbatch import ALERT_SCHEMA

log = logging.getLogger("distillguard.stream")



class StreamSink:
    """Where one consumer makes a micro-batch durable: its events into the event lake (a writer of
    its own, no lock), the rest into DuckDB (:class:`HeldStore`), and the analysts' snapshot.

    Rejects and the offsets audit are written by :meth:`store_batch` (offsets alone at most every
    ``offsets_every_s``), alerts by :meth:`insert_alerts` into the outbox the Kafka shell publishes
    from (:meth:`unpublished_alerts`, :meth:`mark_published`).
    """

    def __init__(self, settings: Settings, *, offsets_every_s: float) -> None:
        self.settings = settings
        self.session = StoreSession(settings, wait_forever=True)
        self.held = HeldStore(self.session)
        self.offsets_every_s = offsets_every_s
        self.pending_offsets: pl.DataFrame | None = None     # offsets not yet in stream_offsets
        self.offsets_recorded_at = 0.0
        self.last_publish_s = 0.0            # how long the last analyst snapshot took to publish
        self.unpublished_writes = False      # micro-batches stored since this consumer last published
        self._lake_writer: LakeWriter | None = None

    @property
    def waited_s(self) -> float:
        """Seconds spent waiting for another process's DuckDB lock."""
        return self.session.waited_s

    def store(self) -> Store:
        return self.held.get()

    def release(self, *, wait: bool = True) -> None:
        self.held.release(wait=wait)

    @property
    def lake_writer(self) -> LakeWriter:
        """This consumer's writer into the event lake the database's ``events`` view reads."""
        if self._lake_writer is None:
            lake = self.store().lake
            self._lake_writer = LakeWriter(lake, lookback_hours=self.settings.lake.dedupe_lookback_hours, rollups=self.settings.lake.rollups)
        return self._lake_writer

    def store_batch(self, events: pl.DataFrame, rejected: pl.DataFrame, offsets: pl.DataFrame, *, source: str) -> int:
        """A micro-batch's events (``_partition`` dropped) into the lake; its rejects and the partition
        offsets into DuckDB (offsets alone at most every ``offsets_every_s``); returns the new events."""
        inserted = self.lake_writer.append(events.drop("_partition"), source=source) if events.height else 0
        if offsets.height:
            pending = offsets if self.pending_offsets is None else pl.concat([self.pending_offsets, offsets])
            self.pending_offsets = pending.unique(["group_id", "topic", "partition"], keep="last", maintain_order=True)
        if rejected.height or time.monotonic() - self.offsets_recorded_at >= self.offsets_every_s:
            self.record_pending(rejected)
        self.unpublished_writes = True
        return inserted

    def record_pending(self, rejected: pl.DataFrame | None = None) -> None:
        """Rejects and the offsets not yet recorded into DuckDB."""
        store = self.store()
        if rejected is not None and rejected.height:
            store.insert_rejected(rejected)
        if self.pending_offsets is not None:
            record_offsets(store, self.pending_offsets)
            self.pending_offsets = None
        self.offsets_recorded_at = time.monotonic()

    def insert_alerts(self, alerts: pl.DataFrame) -> int:
        return insert_alerts(self.store(), alerts)

    def unpublished_alerts(self) -> pl.DataFrame:
        return unpublished_alerts(self.store())

    def mark_published(self, alert_ids: list[str]) -> None:
        mark_published(self.store(), alert_ids)

    def memory(self) -> tuple[pl.DataFrame, pl.DataFrame, set[str], pl.DataFrame | None]:
        """What the scorer remembers from DuckDB: alerts raised, accounts dismissed, accounts batch
        flagged, account metadata (:meth:`StreamScorer.load_memory`'s arguments)."""
        store = self.store()
        flagged = set(store.frame("SELECT account_id FROM flagged_accounts")["account_id"].to_list())
        return alert_memory(store), dismissed_accounts(store), flagged, account_metadata(store)

    def publish_snapshot(self, *, next_check_in_s: float) -> None:
        """Publish the analysts' snapshot (:mod:`distillguard.snapshot`) when this consumer stored
        micro-batches since it last did and, ``next_check_in_s`` from now, the snapshot would be older
        than ``store.snapshot_interval_s``. The file is let go first: the session lists and counts
        the event lake without the lock, then takes it for the copy only
        (:meth:`StoreSession.publish_snapshot`), so replicas do not wait on each other's listing."""
        lead_s = next_check_in_s + self.last_publish_s
        if not self.unpublished_writes or not snapshot_due(self.session.path, self.settings, lead_s=lead_s):
            return
        self.held.release()
        published = self.session.maybe_publish_snapshot(force=True)
        if published is not None:
            self.last_publish_s = published.seconds
            self.unpublished_writes = False


class HeldStore:
    """The DuckDB file as a stream consumer holds it: opened when a micro-batch needs it, let go after.

    Opened through ``session`` (an unbounded :class:`~distillguard.session.StoreSession`: a
    consumer must not give up on its database, its partitions would stall, so it waits on past
    ``store.lock_timeout_s`` with a warning). A close (which folds the WAL into the file) runs on
    its own thread (:meth:`release` with ``wait=False``) while the next micro-batch is parsed and
    scored; opening again waits for it.
    """

    def __init__(self, session: StoreSession) -> None:
        self.session = session
        self._store: Store | None = None
        self._closing: Background | None = None        # a close still running on its thread

    @property
    def is_open(self) -> bool:
        return self._store is not None

    def get(self) -> Store:
        """The open store, opened (waiting while another process writes) when none is."""
        if self._store is None:
            self._await_close()
            store = self.session.open()
            store.con.execute(f"SET checkpoint_threshold = '{int(self.session.settings.store.wal_checkpoint_mb)}MB'")
            self._store = store
        return self._store

    def release(self, *, wait: bool = True) -> None:
        """Close the store; ``wait=False``: on a thread, which the next :meth:`get` waits for."""
        if self._store is not None:
            store, self._store = self._store, None
            self._closing = Background(store.close, name="duckdb-close")
        if wait:
            self._await_close()

    def _await_close(self) -> None:
        if self._closing is not None:
            closing, self._closing = self._closing, None
            closing.result()


def insert_alerts(store: Store, alerts: pl.DataFrame) -> int:
    """Store new alerts (ignoring ids already there); returns how many were new."""
    if alerts.height == 0:
        return 0
    with store.registered("incoming_alerts", alerts.select(list(ALERT_SCHEMA)).cast(ALERT_SCHEMA)):
        before = store.count("alerts")
        store.con.execute(sql_text("store/stream_insert_alerts.sql"))
        return store.count("alerts") - before


def unpublished_alerts(store: Store) -> pl.DataFrame:
    return store.frame(sql_text("store/stream_unpublished_alerts.sql"))


def mark_published(store: Store, alert_ids: list[str]) -> None:
    if alert_ids:
        with store.registered("published_alerts", pl.DataFrame({"alert_id": alert_ids}, schema={"alert_id": pl.String})):
            store.con.execute(sql_text("store/stream_mark_published.sql"))


def record_offsets(store: Store, offsets: pl.DataFrame) -> None:
    """``offsets``: group_id, topic, partition, next_offset, max_event_ts."""
    if offsets.height:
        with store.registered("incoming_offsets", offsets):
            store.con.execute(sql_text("store/stream_upsert_offsets.sql"))


def alert_memory(store: Store) -> pl.DataFrame:
    return store.frame(sql_text("store/stream_alert_memory.sql"))


def dismissed_accounts(store: Store) -> pl.DataFrame:
    """Accounts an analyst dismissed (empty when the ``reviews`` relation does not exist yet)."""
    if not store.has_table("reviews"):
        return pl.DataFrame(schema={"account_id": pl.String, "score": pl.Float64, "rate": pl.Float64})
    return store.frame(sql_text("store/stream_dismissed_accounts.sql"))


def account_metadata(store: Store) -> pl.DataFrame | None:
    accounts = store.frame("SELECT * FROM accounts")
    return accounts if accounts.height else None
