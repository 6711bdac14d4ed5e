"""Durable writes of the streaming path (:class:`StreamSink`): the event lake, the outbox, DuckDB and the analysts' snapshot.

A ``stream`` replica never waits for another process's DuckDB lock while it drains. Valid events
go to the event lake (:mod:`distillguard.lake`) with a writer of its own; dead letters, alerts,
published markers and the offsets audit go to the replica's own files in the outbox beside it
(:mod:`distillguard.stream.outbox`): no lock either. DuckDB, which has one writer process at a
time, is taken only through :meth:`~distillguard.session.StoreSession.try_open` while draining:
when no other process holds it, :meth:`StreamSink.tick` folds every replica's outbox into it
(every ``stream.outbox_fold_every_s``), refreshes the scorer's memory when asked and publishes the
analysts' snapshot when due, then lets it go; when it is busy, all of that is skipped and tried
again after the next micro-batch (or idle poll), and the scorer keeps the memory it has.

Only :meth:`StreamSink.start` (before draining: the database created and migrated, the lake
found, the alerts already raised and those left unpublished) and :meth:`StreamSink.finish` (a
clean exit: what is left in the outbox folded, so analysts see every alert in ``alerts``) wait for
the file, as before; their waits are counted apart from the draining's (:attr:`StreamSink.waited_s`,
which ``StreamReport.store_wait_seconds`` reports and which is 0 by construction).

Why the snapshot is still published by replicas (through the try-open, skipped when busy): the
fold brings alerts into the database, but analysts read the snapshot, which also pins the event
lake's files; with only ``stream`` replicas running (no batch run publishing) it would otherwise
stop showing new events and alerts. The lake is listed and counted before the try-open, so a
publication holds the file for the copy only.

The statements on the stream's tables (alerts and their outbox, offsets, the scorer's memory)
are the plain functions at the end, which the fold and tests call on any open :class:`Store`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import polars as pl

from distillguard.config import Settings
from distillguard.lake import Lake, LakeWriter
from distillguard.session import StoreSession
from distillguard.snapshot import pin_lake, snapshot_due
from distillguard.store import Store, sql_text
from distillguard.stream.background import Background
from distillguard.stream.microbatch import ALERT_SCHEMA
from distillguard.stream.outbox import (
    PUBLISHED_COLUMNS,
    FoldReport,
    Outbox,
    outbox_alert_memory,
)
from distillguard.stream.outbox import unpublished_alerts as outbox_unpublished_alerts

log = logging.getLogger("distillguard.stream")
#: Alert ids raised this long ago (wall clock) or later are remembered at start, so that a replayed
#: micro-batch's alerts are neither counted nor published again (the fold would ignore them anyway).
KNOWN_ALERTS_S = 86_400.0
#: The scorer's memory as :meth:`StreamScorer.load_memory` takes it.
Memory = tuple[pl.DataFrame, pl.DataFrame, set[str], pl.DataFrame | None]


class StreamSink:
    """Where one consumer makes a micro-batch durable: its events into the event lake, the rest into
    its outbox files (no lock for either), and, when it gets the file without waiting, the outbox
    into DuckDB and the analysts' snapshot (:meth:`tick`). See the module docstring.

    Rejects and the offsets audit are written by :meth:`store_batch` (offsets alone at most every
    ``offsets_every_s``), alerts by :meth:`insert_alerts` into the outbox the Kafka shell publishes
    from (:meth:`unpublished_alerts`, :meth:`mark_published`).
    """

    def __init__(self, settings: Settings, *, offsets_every_s: float) -> None:
        self.settings = settings
        self.session = StoreSession(settings, wait_forever=True)
        self.held = HeldStore(self.session)
        self.offsets_every_s = offsets_every_s
        self.fold_every_s = settings.stream.outbox_fold_every_s
        self.pending_offsets: pl.DataFrame | None = None     # offsets not yet in the outbox
        self.offsets_recorded_at = 0.0
        self.folded_at = time.monotonic()    # when the outbox was last folded (or found empty)
        self.last_fold: FoldReport | None = None
        self.last_publish_s = 0.0            # how long the last analyst snapshot took to publish
        self.unpublished_writes = False      # micro-batches stored since this consumer last published
        self.start_stop_wait_s = 0.0         # waits of start() and finish(), not of the draining
        self.busy_skips = 0                  # ticks that found the file held by another process
        self.known_alert_ids: set[str] = set()
        self.unpublished = pl.DataFrame(schema={c: ALERT_SCHEMA[c] for c in PUBLISHED_COLUMNS})
        self._lake: Lake | None = None
        self._outbox: Outbox | None = None
        self._lake_writer: LakeWriter | None = None

    @property
    def waited_s(self) -> float:
        """Seconds spent waiting for another process's DuckDB lock while draining (not at
        :meth:`start` or :meth:`finish`): every open in between is a :meth:`StoreSession.try_open`."""
        return self.session.waited_s - self.start_stop_wait_s

    # -- the file, waited for: before and after draining ----------------------------------------
    def store(self) -> Store:
        """The open store, waiting while another process holds it: for :meth:`start` and
        :meth:`finish` (and tests) only, never while draining."""
        return self.held.get()

    def release(self, *, wait: bool = True) -> None:
        self.held.release(wait=wait)

    def start(self) -> Memory:
        """Before draining (may wait for the file): create and migrate the database, find the lake,
        learn the alerts already raised and those left unpublished by a crash (to publish at once,
        :func:`distillguard.stream.outbox.unpublished_alerts`); returns the scorer's memory."""
        before = self.session.waited_s
        try:
            store = self.store()
            self._know_lake(store)
            self.unpublished = pl.concat([self.unpublished, outbox_unpublished_alerts(self.outbox, store)]).unique(
                "alert_id", keep="first", maintain_order=True)
            memory = self.memory(store)
            self.release()
        finally:
            self.start_stop_wait_s += self.session.waited_s - before
        return memory

    def finish(self) -> FoldReport | None:
        """A clean exit (may wait for the file): the offsets not yet written, then every outbox
        file (this replica's and any other's) folded into DuckDB, so analysts see every alert."""
        before = self.session.waited_s
        try:
            if self.pending_offsets is not None:
                self.record_pending()
            if self._lake is None:
                return None
            store = self.store()
            report = self.session.fold_outbox(store)
            self.release()
            return report
        finally:
            self.start_stop_wait_s += self.session.waited_s - before

    def _know_lake(self, store: Store) -> None:
        if self._lake is None:
            self._lake = store.lake
            self._outbox = Outbox(self._lake)

    @property
    def lake(self) -> Lake:
        """The event lake (found by :meth:`start`; opened here, waiting, if it was not called)."""
        if self._lake is None:
            self._know_lake(self.store())
        assert self._lake is not None
        return self._lake

    @property
    def outbox(self) -> Outbox:
        """This consumer's outbox (files named after this process) beside the lake."""
        if self._outbox is None:
            self._know_lake(self.store())
        assert self._outbox is not None
        return self._outbox

    @property
    def lake_writer(self) -> LakeWriter:
        """This consumer's writer into the event lake the database's ``events`` view reads."""
        if self._lake_writer is None:
            self._lake_writer = LakeWriter(self.lake, lookback_hours=self.settings.lake.dedupe_lookback_hours, rollups=self.settings.lake.rollups)
        return self._lake_writer

    # -- a micro-batch: the lake and the outbox, no lock -----------------------------------------
    def store_batch(self, events: pl.DataFrame, rejected: pl.DataFrame, offsets: pl.DataFrame, *, source: str) -> int:
        """A micro-batch's events (``_partition`` dropped) into the lake; its rejects and the partition
        offsets into the outbox (offsets alone at most every ``offsets_every_s``); returns the new events."""
        inserted = self.lake_writer.append(events.drop("_partition"), source=source) if events.height else 0
        if offsets.height:
            stamped = offsets.with_columns(pl.lit(datetime.now(timezone.utc).replace(tzinfo=None), dtype=pl.Datetime("us")).alias("recorded_at"))
            pending = stamped if self.pending_offsets is None else pl.concat([self.pending_offsets, stamped])
            self.pending_offsets = pending.unique(["group_id", "topic", "partition"], keep="last", maintain_order=True)
        if rejected.height or time.monotonic() - self.offsets_recorded_at >= self.offsets_every_s:
            self.record_pending(rejected)
        self.unpublished_writes = True
        return inserted

    def record_pending(self, rejected: pl.DataFrame | None = None) -> None:
        """Rejects and the offsets not yet recorded, into this consumer's outbox files."""
        if rejected is not None and rejected.height:
            self.outbox.write("rejected", rejected)
        if self.pending_offsets is not None:
            self.outbox.write("offsets", self.pending_offsets)
            self.pending_offsets = None
        self.offsets_recorded_at = time.monotonic()

    def insert_alerts(self, alerts: pl.DataFrame) -> int:
        """New alerts (ids not already known) into the outbox, to publish; returns how many were new."""
        new = alerts.filter(~pl.col("alert_id").is_in(list(self.known_alert_ids)))
        if new.height == 0:
            return 0
        self.outbox.write("alerts", new)          # durable before it is published
        self.known_alert_ids.update(new["alert_id"].to_list())
        self.unpublished = pl.concat([self.unpublished, new.select(PUBLISHED_COLUMNS).cast(self.unpublished.schema)])
        return new.height

    def unpublished_alerts(self) -> pl.DataFrame:
        """Alerts in the outbox not yet on the alerts topic: this consumer's, and at start those a
        crash left; oldest first."""
        return self.unpublished

    def mark_published(self, alert_ids: list[str]) -> None:
        """A published marker file for ``alert_ids`` (now on the alerts topic)."""
        if not alert_ids:
            return
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        self.outbox.write("published", pl.DataFrame({"alert_id": alert_ids, "published_at": [now] * len(alert_ids)}))
        self.unpublished = self.unpublished.filter(~pl.col("alert_id").is_in(alert_ids))

    # -- the scorer's memory ----------------------------------------------------------------------
    def memory(self, store: Store) -> Memory:
        """What the scorer remembers from DuckDB (``store``, open) and the outbox not yet folded:
        alerts raised, accounts dismissed, accounts batch flagged, account metadata
        (:meth:`StreamScorer.load_memory`'s arguments)."""
        flagged = set(store.frame("SELECT account_id FROM flagged_accounts")["account_id"].to_list())
        return self.alert_memory(store), dismissed_accounts(store), flagged, account_metadata(store)

    def alert_memory(self, store: Store | None) -> pl.DataFrame:
        """Per account the latest alert raised, in DuckDB (``store``; None: the outbox only) or in
        the outbox not yet folded (any replica's). Their ids (DuckDB's raised in the last
        :data:`KNOWN_ALERTS_S`) are remembered too, so that an alert another replica raised before
        a partition moved here is neither counted nor published again (:meth:`insert_alerts`)."""
        outboxed = self.outbox.read("alerts", self.outbox.files("alerts"))
        self.known_alert_ids.update(outboxed["alert_id"].to_list())
        pending = outbox_alert_memory(self.outbox, outboxed)
        parts = [pending]
        if store is not None:
            since = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=KNOWN_ALERTS_S)
            recent = store.frame("SELECT alert_id FROM alerts WHERE raised_at IS NULL OR raised_at >= ?", [since])
            self.known_alert_ids.update(recent["alert_id"].to_list())
            parts = [alert_memory(store), pending]
        return pl.concat([p.cast({"ts": pl.Datetime("us"), "score": pl.Float64}) for p in parts], how="vertical_relaxed")

    # -- the file, only when free: the fold, the memory, the snapshot ----------------------------
    def tick(self, *, next_check_in_s: float, refresh: Callable[[Store], None] | None = None) -> bool:
        """What a draining consumer does with the DuckDB file, only if it gets it at once
        (:meth:`HeldStore.try_get`): the outbox folded when ``outbox_fold_every_s`` has passed and
        it has files, ``refresh`` (the scorer's memory) when given, and the analysts' snapshot when
        it would be older than ``store.snapshot_interval_s`` ``next_check_in_s`` from now and this
        consumer stored micro-batches since it last published. Returns whether it had the file;
        False when another process holds it (or nothing was due): nothing is waited for, and the
        caller tries again next time. The file is closed on a thread (``release(wait=False)``)."""
        fold_due = time.monotonic() - self.folded_at >= self.fold_every_s
        if fold_due and not self.outbox.has_files():
            self.folded_at, fold_due = time.monotonic(), False
        lead_s = next_check_in_s + self.last_publish_s
        publish_due = self.unpublished_writes and snapshot_due(self.session.path, self.settings, lead_s=lead_s)
        if not (fold_due or publish_due or refresh is not None):
            return False
        pinned = pin_lake(self.lake) if publish_due else None     # listed and counted before the file is taken
        store = self.held.try_get()
        if store is None:
            self.busy_skips += 1
            log.debug("%s is held by another process; fold, memory and snapshot wait for a later micro-batch", self.session.path)
            return False
        try:
            if fold_due or publish_due:
                self.last_fold = self.session.fold_outbox(store)
                self.folded_at = time.monotonic()
            if refresh is not None:
                refresh(store)
            if publish_due:
                published = self.session.maybe_publish_snapshot(store, force=True, pinned=pinned, fold=False)
                if published is not None:
                    self.last_publish_s = published.seconds
                    self.unpublished_writes = False
        finally:
            self.held.release(wait=False)
        return True


class HeldStore:
    """The DuckDB file as a stream consumer holds it: opened when needed, let go after.

    :meth:`get` opens through ``session`` (an unbounded :class:`~distillguard.session.StoreSession`),
    waiting as long as another process holds the file: at a consumer's start and clean exit only.
    :meth:`try_get` opens only if no other process holds it (:meth:`StoreSession.try_open`), else
    returns None at once: what a draining consumer uses. A close (which folds the WAL into the
    file) runs on its own thread (:meth:`release` with ``wait=False``) while the next micro-batch is
    parsed and scored; opening again waits for that close (this process's own, never another's lock).
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
            self._store = self._prepared(self.session.open())
        return self._store

    def try_get(self) -> Store | None:
        """The open store, opened when none is and no other process holds the file; else None at once."""
        if self._store is None:
            self._await_close()
            store = self.session.try_open()
            if store is None:
                return None
            self._store = self._prepared(store)
        return self._store

    def _prepared(self, store: Store) -> Store:
        store.con.execute(f"SET checkpoint_threshold = '{int(self.session.settings.store.wal_checkpoint_mb)}MB'")
        return store

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
    """Alerts folded into DuckDB without ``published_at`` (a replica's start republishes them)."""
    return store.frame(sql_text("store/stream_unpublished_alerts.sql"))


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
