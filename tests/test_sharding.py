"""Sharded detection gives exactly the single-process output: in this process, and as the batch
flow on a real two-worker local Dask cluster through Prefect (issue 14, item 3)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from distillguard.config import Settings
from distillguard.detection import LoadedWindow, _utc, load_window
from distillguard.load import load_accounts, load_logs
from distillguard.sharding import ShardedWindow, shard_count
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.store import Store

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

#: A small population that still holds every kind of ring (coordinated, mimicry, burners, resellers).
POPULATION = SimulationConfig(seed=104, scale=0.15, n_days=1)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sharding") / "traffic"
    paths = write_traffic(simulate(POPULATION), out, seed=POPULATION.seed)
    return {"logs": out, "accounts": paths["accounts"]}


@pytest.fixture(scope="module")
def store(traffic, tmp_path_factory):
    """The population loaded once for the in-process tests."""
    db = tmp_path_factory.mktemp("store") / "dg.duckdb"
    with Store.open(db) as store:
        load_logs([traffic["logs"]], store, show_progress=False)
        load_accounts(traffic["accounts"], store)
        yield store


def test_shards_give_the_single_process_scores_and_rings(store):
    settings = Settings(execution={"min_shards": 5})
    accounts = _utc(store.frame("SELECT * FROM accounts"), "created_at")
    one = LoadedWindow(_utc(load_window(store, None), "ts"))
    scored = one.score(accounts, settings)
    rings, members = one.find_rings(scored, accounts, settings, exclude=set())
    with ShardedWindow.export(store, settings, None) as window:
        shard_dirs = sorted(p.name for p in (Path(window.plan.directory) / "events").iterdir())
        sharded_scored = window.score(accounts, settings)
        sharded_rings, sharded_members = window.find_rings(sharded_scored, accounts, settings, exclude=set())
    assert not Path(window.plan.directory).exists()          # the shards go with the run
    assert shard_dirs == [f"shard={k}" for k in range(5)]
    assert rings, "the population has rings to compare"
    assert_frame_equal(sharded_scored, scored)                   # every feature, peer median, evidence and score
    assert sharded_rings == rings
    assert_frame_equal(sharded_members.sort("account_id"), members.sort("account_id"))


def test_run_detection_shards_a_large_window_in_this_process(store):
    """The CLI's path: no cluster, the shards one after another, the same results."""
    from distillguard.detection import run_detection

    results = {}
    for name, below in (("one", 10**12), ("shards", 0)):
        run_detection(store, Settings(execution={"in_process_below_events": below}), run_id="r", show_progress=False)
        results[name] = {table: store.frame(sql) for table, sql in RESULT_QUERIES.items()}
    assert results["one"]["rings"].height > 0
    for table in RESULT_QUERIES:
        assert_frame_equal(results["shards"][table], results["one"][table], check_exact=True)
    assert not list(Path(store.path).parent.glob("distillguard-shards-*"))  # removed after the run


def test_a_shard_holds_only_its_accounts(store):
    settings = Settings(execution={"min_shards": 3})
    with ShardedWindow.export(store, settings, None) as window:
        per_shard = [pl.scan_parquet(Path(window.plan.directory) / "events" / f"shard={k}" / "*.parquet", hive_partitioning=False)
                     .select("account_id").unique().collect()["account_id"].to_list() for k in range(3)]
        assert sum(map(len, per_shard)) == len(set().union(*per_shard)) == store.scalar("SELECT count(DISTINCT account_id) FROM events")
        assert window.plan.n_events == store.count("events")


def test_shards_grow_with_the_window_to_fit_the_memory_budget():
    execution = Settings().execution
    assert shard_count(10, execution) == execution.min_shards
    assert shard_count(40_000_000, execution) == 2 * shard_count(20_000_000, execution)
    assert shard_count(20_000_000, execution.model_copy(update={"memory_budget_mb": 3072})) == 2 * shard_count(20_000_000, execution)


# -- the batch flow on a two-worker Dask cluster ------------------------------------------------
RESULT_QUERIES = {
    "flagged": "SELECT account_id, score, reasons, ring_id, severity, kind_guess, n_requests, first_seen, last_seen, evidence "
               "FROM flagged_accounts ORDER BY account_id",
    "rings": "SELECT * EXCLUDE (run_id) FROM rings ORDER BY ring_id",
    "members": "SELECT * FROM ring_members ORDER BY ring_id, account_id",
    "features": "SELECT * EXCLUDE (run_id) FROM account_features ORDER BY account_id",
}


def _results(db: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: pl.from_arrow(con.sql(sql).to_arrow_table()) for name, sql in RESULT_QUERIES.items()}


@pytest.fixture
def prefect_home(tmp_path):
    """The flows' temporary Prefect server in a home of its own when no test server is configured
    (as on a first run), given time to start on a busy machine."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_HOME,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={PREFECT_HOME: str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED: False,
                                     PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 300}):
        yield


@pytest.mark.slow
def test_batch_flow_on_a_two_worker_dask_cluster_matches_one_process(traffic, tmp_path, monkeypatch, prefect_home):
    from distillguard.flows.batch import batch_flow

    monkeypatch.setenv("DISTILLGUARD_EXECUTION__N_WORKERS", "2")
    monkeypatch.setenv("DISTILLGUARD_EXECUTION__MIN_SHARDS", "4")
    one_process = batch_flow(logs=[str(traffic["logs"])], db=str(tmp_path / "one.duckdb"), accounts=str(traffic["accounts"]))
    monkeypatch.setenv("DISTILLGUARD_EXECUTION__IN_PROCESS_BELOW_EVENTS", "0")        # shard every window
    monkeypatch.setenv("DISTILLGUARD_EXECUTION__SCRATCH_DIR", str(tmp_path / "scratch"))
    on_dask = batch_flow(logs=[str(traffic["logs"])], db=str(tmp_path / "dask.duckdb"), accounts=str(traffic["accounts"]))

    assert one_process["shards"] == 0 and on_dask["shards"] == 4
    assert on_dask["flagged"] == one_process["flagged"] > 0 and on_dask["rings"] == one_process["rings"] > 0
    expected, got = _results(tmp_path / "one.duckdb"), _results(tmp_path / "dask.duckdb")
    for name in RESULT_QUERIES:
        assert_frame_equal(got[name], expected[name], check_exact=True), name
    assert list((tmp_path / "scratch").iterdir()) == []                             # shards removed after the run
    with duckdb.connect(str(tmp_path / "dask.duckdb"), read_only=True) as con:
        assert con.sql("SELECT kind, status, message FROM runs").fetchall() == [
            ("batch", "finished", f"{on_dask['accounts_scored']} accounts scored in 4 shards")]
