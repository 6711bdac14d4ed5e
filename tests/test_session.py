"""StoreSession: the one way writers open the store, record their runs and publish the snapshot."""

from __future__ import annotations

import logging
import time

import polars as pl
import pytest

from distillguard.config import Settings
from distillguard.session import StoreSession
from distillguard.snapshot import open_analyst_store, pin_lake, pin_store_events
from distillguard.store import DatabaseLocked
from tests.test_store import _hold


def _settings(db, lock_timeout_s: float = 0.3) -> Settings:
    return Settings(store={"db_path": db, "lock_timeout_s": lock_timeout_s})


def _events(n: int) -> pl.DataFrame:
    from distillguard.simulator import SimulationConfig, simulate

    return simulate(SimulationConfig(seed=3, scale=0.05, n_days=1)).events.head(n)


def test_a_bounded_session_gives_up_naming_the_holder_and_an_unbounded_one_waits_and_says_so(tmp_path, caplog):
    db = tmp_path / "dg.duckdb"
    StoreSession(_settings(db)).open().close()
    holder = _hold(db, 2.0)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseLocked) as caught:
            StoreSession(_settings(db)).open()
        assert 0.25 < time.monotonic() - started < 1.8
        assert f"(pid {holder.pid})" in str(caught.value) and "\n" not in str(caught.value)

        caplog.set_level(logging.WARNING, logger="distillguard.store")
        waiting = StoreSession(_settings(db), wait_forever=True)
        with waiting.writing() as store:
            assert store.count("runs") == 0
        assert holder.poll() is not None                      # it opened once the holder let go
        assert 0.5 < waiting.waited_s < 10
        warnings = [r.getMessage() for r in caplog.records if "still waiting" in r.getMessage()]
        assert len(warnings) == 1 and f"(pid {holder.pid})" in warnings[0], warnings
    finally:
        holder.kill()
        holder.wait()


def test_a_run_is_recorded_finished_with_its_counts_or_failed_with_the_error(tmp_path):
    session = StoreSession(_settings(tmp_path / "dg.duckdb"))
    with session.run("rings") as (_, run):
        run.update(flagged=2, rings=1, message="horizon 168 h")
    with pytest.raises(ValueError), session.run("calibrate"):
        raise ValueError("no clean traffic")
    with session.writing() as store:
        rows = store.frame("SELECT kind, status, flagged, rings, message FROM runs ORDER BY started_at").rows()
    assert rows == [("rings", "finished", 2, 1, "horizon 168 h"), ("calibrate", "failed", None, None, "ValueError: no clean traffic")]


def test_the_lake_is_listed_and_counted_without_the_database_lock_and_the_snapshot_shows_it(tmp_path):
    db = tmp_path / "dg.duckdb"
    session = StoreSession(_settings(db))
    events = _events(300)
    with session.writing() as store:
        store.insert_events(events, source="test")
        under_lock = pin_store_events(store)
        lake = store.lake
    holder = _hold(db, 30.0)
    try:
        pinned = pin_lake(lake)                              # another process holds the database meanwhile
    finally:
        holder.kill()
        holder.wait()
    assert (pinned.files, pinned.events, pinned.max_event_ts) == (under_lock.files, under_lock.events, under_lock.max_event_ts)
    assert pinned.events == events["event_id"].n_unique()

    info = session.publish_snapshot()
    assert (info.events, info.source_max_event_ts) == (pinned.events, pinned.max_event_ts)
    with open_analyst_store(db, session.settings) as source:
        assert source.kind == "snapshot" and source.store.count("events") == pinned.events
