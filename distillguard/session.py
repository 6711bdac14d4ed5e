"""A writer's session with the DuckDB store: the one way the CLI, the flows and the stream open it.

A DuckDB file has one writing process at a time. A :class:`StoreSession` opens the file for its
writer, waiting while another process holds it (:func:`distillguard.store.connect_waiting`):

* a *bounded* session (``batch``, ``load``, the flows) waits up to ``store.lock_timeout_s`` and
  then raises :class:`~distillguard.store.DatabaseLocked`, a one-line error naming the holder's pid;
* an *unbounded* one (``wait_forever=True``: the stream at start and at its clean exit, an
  analyst's ``review``, an explicit ``snapshot``) waits as long as it takes, with a warning once it
  has waited ``store.lock_timeout_s``;
* and :meth:`StoreSession.try_open` does not wait at all: the store when no other process holds
  it, else None at once. A ``stream`` replica uses it while draining (folding its outbox,
  refreshing the scorer's memory, publishing the snapshot: each skipped when the file is busy and
  tried again later), so it never waits on another process's lock
  (:mod:`distillguard.stream.outbox`).

Each open closes ``runs`` rows left ``running`` by a process that is gone
(:meth:`Store.close_stale_runs`, after ``store.stale_run_after_s`` when the process cannot be
checked); :meth:`StoreSession.run` records a writer's own run (:mod:`distillguard.runs`); and
:meth:`StoreSession.publish_snapshot` publishes the analysts' snapshot (:mod:`distillguard.snapshot`),
listing and counting the event lake *before* it takes the lock, so that replicas sharing the file
wait on each other only for the copy. Every publication first folds the stream's outbox into the
database (:func:`distillguard.stream.outbox.fold_outbox`), so the snapshot a batch, rings,
maintenance or review run publishes carries every alert the stream has raised.

>>> import tempfile, pathlib
>>> from distillguard.config import Settings
>>> db = pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb"
>>> session = StoreSession(Settings(store={"db_path": db}))
>>> with session.run("calibrate") as (store, run):
...     run["message"] = "done"
>>> with session.writing() as store:
...     store.frame("SELECT kind, status, message FROM runs").rows()
[('calibrate', 'finished', 'done')]
>>> session.publish_snapshot().events
0
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from distillguard.config import Settings, load_settings
from distillguard.runs import recorded_run
from distillguard.store import DatabaseLocked, Store

if TYPE_CHECKING:
    from distillguard.lake import Lake
    from distillguard.snapshot import PinnedEvents, SnapshotInfo
    from distillguard.stream.outbox import FoldReport

log = logging.getLogger("distillguard.store")


class StoreSession:
    """How one writer opens ``db_path`` (default: ``settings.store.db_path``), records its runs and
    publishes the analysts' snapshot; see the module docstring for the two ways of waiting.

    ``on_wait``: called once with a one-line message when the open has to wait (default: nothing
    for a bounded session, a logged warning for an unbounded one). ``open_error``: turns an error
    of the open into the caller's own, or None to let it through (the flows name theirs,
    :func:`distillguard.flows.stages.stage_error`).
    """

    def __init__(self, settings: Settings | None = None, db_path: Path | str | None = None, *,
                 wait_forever: bool = False, on_wait: Callable[[str], None] | None = None,
                 open_error: Callable[[Path, Exception], Exception | None] | None = None) -> None:
        self.settings = settings or load_settings()
        self.path = Path(db_path if db_path is not None else self.settings.store.db_path)
        self.wait_forever = wait_forever
        self.on_wait = on_wait if on_wait is not None or not wait_forever else log.warning
        self.open_error = open_error
        self.waited_s = 0.0                    # seconds all opens waited for another process's lock
        self._lake: Lake | None = None         # the event lake, once an open has said which

    # -- the file ---------------------------------------------------------------------------------
    def open(self) -> Store:
        """The store, created and migrated, once no other process holds it (the caller closes it)."""
        try:
            return self._open(self.wait_forever, self.on_wait)
        except Exception as exc:
            named = self.open_error(self.path, exc) if self.open_error is not None else None
            if named is None:
                raise
            raise named from exc

    def try_open(self) -> Store | None:
        """The store when no other process holds it, else None at once: one attempt, no wait (and
        none counted in :attr:`waited_s`). For a writer that has something else to do meanwhile
        and tries again later (a ``stream`` replica folding its outbox)."""
        try:
            return self._open(False, None, lock_timeout_s=0.0)
        except DatabaseLocked:
            return None

    def _open(self, wait_forever: bool, on_wait: Callable[[str], None] | None, *,
              lock_timeout_s: float | None = None) -> Store:
        store_settings = self.settings.store
        if lock_timeout_s is None:
            lock_timeout_s = math.inf if wait_forever else store_settings.lock_timeout_s
        store = Store.open(
            self.path, lock_timeout_s=lock_timeout_s,
            on_wait=on_wait, announce_after_s=store_settings.lock_timeout_s if wait_forever else 0.0,
            stale_run_after_s=store_settings.stale_run_after_s, lake=self.settings.lake)
        self.waited_s += store.lock_wait_s
        self._lake = store.lake
        return store

    @contextmanager
    def writing(self) -> Iterator[Store]:
        """The store, open for the ``with`` block and closed after it."""
        with self.open() as store:
            yield store

    @contextmanager
    def run(self, kind: str, *, run_id: str | None = None) -> Iterator[tuple[Store, dict]]:
        """The store with a ``runs`` row of ``kind`` for the block: ``running``, then ``finished``
        with the counts put into the yielded dict, or ``failed`` with the error
        (:func:`distillguard.runs.recorded_run`)."""
        with self.writing() as store, recorded_run(store, kind, run_id=run_id) as counts:
            yield store, counts

    # -- the analysts' snapshot ---------------------------------------------------------------------
    def publish_snapshot(self, store: Store | None = None, *, pinned: PinnedEvents | None = None,
                         fold: bool = True) -> SnapshotInfo:
        """Publish the analysts' snapshot of the database (:func:`distillguard.snapshot.publish_snapshot`).

        Unless ``store`` is this writer's open store, the event lake is listed and counted first,
        without the lock, when this session knows the lake (any earlier open told it); then the
        database is opened, waiting as long as another process writes it (a publication is never
        given up for a lock, bounded session or not), and copied. ``pinned``: the lake as the caller
        listed it beforehand (with ``store``: so the lock is held for the copy only).

        ``fold``: the stream's outbox is folded into the database first (:meth:`fold_outbox`), so the
        snapshot shows every alert raised so far; a caller that has just folded passes False.
        """
        from distillguard.snapshot import pin_lake, publish_snapshot

        if store is not None:
            if fold:
                self.fold_outbox(store)
            return publish_snapshot(store, self.settings, pinned=pinned)
        pinned = pinned or (pin_lake(self._lake) if self._lake is not None else None)
        with self._open(True, self.on_wait or log.warning) as opened:
            if fold:
                self.fold_outbox(opened)
            return publish_snapshot(opened, self.settings, pinned=pinned)

    def fold_outbox(self, store: Store) -> FoldReport | None:
        """Fold the stream replicas' outbox files into ``store`` (this writer's open store;
        :func:`distillguard.stream.outbox.fold_outbox`). A failure is logged, not raised: the files
        stay and the next fold (any writer's) takes them; None then."""
        from distillguard.stream.outbox import FOLD_ERRORS, fold_outbox

        try:
            return fold_outbox(store, store.lake)
        except FOLD_ERRORS as exc:
            log.warning("could not fold the stream's outbox into %s (%s); the next fold retries", self.path, exc)
            return None

    def maybe_publish_snapshot(self, store: Store | None = None, *, force: bool = False, lead_s: float = 0.0,
                               pinned: PinnedEvents | None = None, fold: bool = True) -> SnapshotInfo | None:
        """:meth:`publish_snapshot` when :func:`~distillguard.snapshot.snapshot_due` (``lead_s``
        ahead) or ``force``; a failure is logged, not raised (the writer's own work is done and
        must not be replayed for it; the snapshot just ages)."""
        from distillguard.snapshot import SNAPSHOT_ERRORS, snapshot_due

        if not force and not snapshot_due(self.path, self.settings, lead_s=lead_s):
            return None
        try:
            return self.publish_snapshot(store, pinned=pinned, fold=fold)
        except SNAPSHOT_ERRORS as exc:
            log.warning("could not publish the analyst snapshot of %s (%s); analysts keep the previous one", self.path, exc)
            return None
