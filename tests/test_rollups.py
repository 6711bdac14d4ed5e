"""Features from per-account hourly rollups equal features from raw events (features/rollups.py).

Exact features (counts, shares, gap statistics, re-asks, text sample...) are compared to 1e-9;
distinct counts within the HLL sketches' stated error, medians within KLL's rank error, and
``prompt_growth`` (the one feature whose split into window halves falls inside a minute) loosely.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from distillguard.features import account_features
from distillguard.features.families import question_tokens
from distillguard.features.rollups import (
    APPROXIMATE,
    APPROXIMATE_DISTINCT,
    APPROXIMATE_MEDIAN,
    APPROXIMATE_QUANTILE_RATIO,
    EXACT,
    KLL_COLUMNS,
    KLL_K,
    Rollups,
    distinct_count_error,
    features_from_rollups,
    hourly_rollup,
    median_rank_error,
    merge_rollups,
    rollup_files,
)
from distillguard.lake import Lake
from distillguard.simulator.population import SimulationConfig, simulate

TOL = 1e-9


@pytest.fixture(scope="module")
def traffic():
    return simulate(SimulationConfig(seed=3, scale=0.05))


@pytest.fixture(scope="module")
def raw(traffic):
    return account_features(traffic.events, traffic.accounts)


@pytest.fixture(scope="module")
def whole(traffic):
    return hourly_rollup(traffic.events)


@pytest.fixture(scope="module")
def from_rollups(whole, traffic):
    return features_from_rollups(whole, traffic.accounts)


def _assert_close(a: pl.DataFrame, b: pl.DataFrame, columns: list[str], tol: float = TOL) -> None:
    for c in columns:
        left, right = a[c], b[c]
        if left.dtype.is_numeric():
            diff = (left.cast(pl.Float64) - right.cast(pl.Float64)).abs()
            both_null = left.is_null() & right.is_null()
            bad = a.filter(~both_null & ((diff > tol * (1 + left.cast(pl.Float64).abs())) | diff.is_null()))
            assert bad.height == 0, f"{c}: {bad.height} accounts differ, e.g. {bad['account_id'].head(3).to_list()}"
        else:
            assert left.to_list() == right.to_list(), c


def test_every_feature_is_classified(raw):
    features = set(raw.columns) - {"account_id", "first_seen", "last_seen", "tier", "email_domain", "payment_fingerprint", "signup_ip"}
    assert features == set(EXACT) | set(APPROXIMATE)
    assert not set(EXACT) & set(APPROXIMATE)


def test_same_columns_and_accounts(raw, from_rollups):
    assert from_rollups.columns == raw.columns
    assert from_rollups["account_id"].to_list() == raw["account_id"].to_list()


def test_exact_features_equal_raw(raw, from_rollups):
    _assert_close(raw, from_rollups, ["first_seen", "last_seen", *EXACT, "tier", "email_domain", "payment_fingerprint", "signup_ip"])


def test_distinct_counts_within_sketch_error(raw, from_rollups):
    bound = distinct_count_error()            # 3 standard deviations
    for c in APPROXIMATE_DISTINCT:
        truth, estimate = raw[c].cast(pl.Float64), from_rollups[c].cast(pl.Float64)
        assert ((estimate - truth).abs() <= bound * truth + 0.5).all(), c


def test_medians_within_rank_error(traffic, raw, from_rollups):
    """A sketch's median is a value whose rank among the account's values lies within KLL's error of 1/2."""
    eps = median_rank_error()
    names = dict(zip(APPROXIMATE_MEDIAN, KLL_COLUMNS))
    medians = from_rollups.select("account_id", *APPROXIMATE_MEDIAN)
    for feature, column in names.items():
        values = traffic.events.select("account_id", KLL_COLUMNS[column].cast(pl.Float64).alias("v")).drop_nulls()
        ranks = (
            values.join(medians.select("account_id", pl.col(feature).alias("m")), on="account_id")
            .group_by("account_id")
            .agg((pl.col("v") < pl.col("m")).mean().alias("below"), (pl.col("v") <= pl.col("m")).mean().alias("upto"))
        )
        assert ranks.height > 0
        assert (ranks["below"] <= 0.5 + eps).all() and (ranks["upto"] >= 0.5 - eps).all(), feature


def test_answer_question_ratio_within_rank_error(traffic, raw, from_rollups):
    """A ratio of sketch quantiles (median answer over the median prompt less its 5th percentile) lies
    between the ratios of the raw quantiles at either end of KLL's rank error, and equals the raw
    feature for an account whose answered openings the sketch kept whole."""
    assert APPROXIMATE_QUANTILE_RATIO == ["answer_question_ratio"]
    eps = median_rank_error()
    opening = traffic.events.filter((pl.col("status") < 400) & (pl.col("turn").fill_null(1) <= 1))
    c, p = pl.col("completion_tokens").cast(pl.Float64), pl.col("prompt_tokens").cast(pl.Float64)
    bounds = opening.group_by("account_id").agg(
        pl.len().alias("n"),
        (c.quantile(max(0.0, 0.5 - eps), "lower") / question_tokens(p.quantile(0.5 + eps, "higher"), p.quantile(max(0.0, 0.05 - eps), "lower"))).alias("lo"),
        (c.quantile(0.5 + eps, "higher") / question_tokens(p.quantile(0.5 - eps, "lower"), p.quantile(0.05 + eps, "higher"))).alias("hi"),
    )
    judged = bounds.join(from_rollups.select("account_id", "answer_question_ratio"), on="account_id").join(
        raw.select("account_id", pl.col("answer_question_ratio").alias("exact")), on="account_id")
    assert judged.height > 0 and judged["answer_question_ratio"].null_count() == 0
    assert (judged["answer_question_ratio"] >= judged["lo"] - 1e-9).all() and (judged["answer_question_ratio"] <= judged["hi"] + 1e-9).all()
    kept_whole = judged.filter(pl.col("n") <= KLL_K)
    assert kept_whole.height > 0
    assert ((kept_whole["answer_question_ratio"] - kept_whole["exact"]).abs() <= 1e-9 * (1 + kept_whole["exact"].abs())).all()


def test_prompt_growth_close(raw, from_rollups):
    """Exact where the window's halves split between minutes; the split minute's requests are shared out."""
    diff = (raw["prompt_growth"] - from_rollups["prompt_growth"]).abs()
    assert diff.median() < TOL
    assert diff.max() <= 0.1


def test_halves_in_time_merge_to_the_whole(traffic, whole):
    """Two pieces split at a moment (a load, then the next): merged, the same rollup and features."""
    events = traffic.events.sort("ts")
    cut = events.height // 2
    merged = merge_rollups([hourly_rollup(events.head(cut)), hourly_rollup(events.tail(events.height - cut))])
    keys = {"prompts": ["account_id", "hour", "prompt_hash", "ring_hash"], "conversations": ["account_id", "hour", "conversation_hash"],
            "values": ["account_id", "hour", "kind", "value"]}
    for table, key in keys.items():
        assert getattr(merged, table).sort(key, nulls_last=True).equals(getattr(whole, table).sort(key, nulls_last=True)), table
    assert merged.sample.sort("account_id", "hour", "order", "text").equals(whole.sample.sort("account_id", "hour", "order", "text"))
    from_merged, from_whole = features_from_rollups(merged), features_from_rollups(whole)
    _assert_close(from_whole, from_merged, [c for c in EXACT if c != "account_age_days"] + ["prompt_growth"])
    bound = distinct_count_error()
    for c in APPROXIMATE_DISTINCT:
        assert ((from_merged[c].cast(pl.Float64) - from_whole[c].cast(pl.Float64)).abs() <= bound * from_whole[c] + 0.5).all(), c


def test_interleaved_micro_batches_merge_to_the_whole(traffic, whole):
    """Micro-batches whose events interleave in time (late arrivals, a stream's batches in arrival
    order): the merged rollup is the whole's, gaps included (they are read from the requests' times)."""
    events = traffic.events
    part = pl.col("event_id").hash(seed=1) % 3
    pieces = [hourly_rollup(events.filter(part == k)) for k in range(3)]
    merged = merge_rollups(pieces)
    counts = ["account_id", "hour", "n", "first_ts", "last_ts", "ts_us", "minute_counts", "n_rate_limited", "n_reasoning", "completion_tokens_sum"]
    assert merged.hours.select(counts).equals(whole.hours.select(counts))
    a, b = features_from_rollups(merged), features_from_rollups(whole)
    _assert_close(b, a, [c for c in EXACT if c != "account_age_days"] + ["prompt_growth"])


def test_weekend_share_and_turn_gaps_exact_across_days_hours_and_pieces(traffic):
    """``weekend_share`` (the hours' counts by UTC weekday) and ``turn_gap_median_s`` (each
    conversation's request times, kept per hour) equal the raw path's over a window that crosses
    Friday's midnight, from interleaved micro-batches: a conversation's consecutive turns in
    different hours or pieces meet again when the rollups merge."""
    events = traffic.events.with_columns(pl.col("ts") + timedelta(days=4, hours=12))   # Friday noon to Saturday noon, UTC
    raw = account_features(events)
    assert 0 < raw["weekend_share"].mean() < 1
    assert 0 < raw["turn_gap_median_s"].null_count() < raw.height          # accounts with turn gaps and without
    spans = (events.filter(pl.col("conversation_id").is_not_null())
             .group_by("account_id", "conversation_id").agg(pl.col("ts").dt.truncate("1h").n_unique().alias("hours")))
    assert (spans["hours"] > 1).sum() > 0                                     # conversations spanning hours
    part = pl.col("event_id").hash(seed=7) % 4
    merged = merge_rollups([hourly_rollup(events.filter(part == k)) for k in range(4)])
    assert merged.conversations["ts_us"].list.len().sum() == events["conversation_id"].is_not_null().sum()
    _assert_close(raw, features_from_rollups(merged), ["weekend_share", "turn_gap_median_s"])


def test_turn_gaps_rebuilt_across_an_hour_and_two_pieces():
    """Turns at 10:59:50 and 11:00:50 in one piece, 11:00:20 in another: gaps of 30 s each (not the
    60 s either piece sees alone); a conversation of one request or none gives no gap (null)."""
    from datetime import datetime, timezone

    t = [datetime(2026, 11, 7, 10, 59, 50, tzinfo=timezone.utc), datetime(2026, 11, 7, 11, 0, 50, tzinfo=timezone.utc),
         datetime(2026, 11, 7, 11, 0, 20, tzinfo=timezone.utc), datetime(2026, 11, 7, 11, 5, tzinfo=timezone.utc),
         datetime(2026, 11, 6, 23, 30, tzinfo=timezone.utc)]
    events = pl.DataFrame({
        "event_id": ["a", "b", "c", "d", "e"], "ts": t, "account_id": ["x", "x", "x", "x", "y"], "api_key_id": ["k"] * 5,
        "client_ip": ["10.0.0.1"] * 5, "endpoint": ["/v1/messages"] * 5, "model": ["m"] * 5, "status": [200] * 5,
        "prompt_tokens": [1] * 5, "completion_tokens": [5] * 5, "prompt": ["hi"] * 5, "conversation_id": ["c1", "c1", "c1", "c2", None],
    })
    merged = merge_rollups([hourly_rollup(events.filter(pl.col("event_id").is_in(["a", "b", "e"]))),
                            hourly_rollup(events.filter(pl.col("event_id").is_in(["c", "d"])))])
    got = features_from_rollups(merged).select("account_id", "turn_gap_median_s", "weekend_share")
    assert got.rows() == [("x", 30.0, 1.0), ("y", None, 0.0)]
    assert got.equals(account_features(events).select(got.columns))


@pytest.mark.parametrize("order", [[0, 1, 2], [1, 0, 2], [2, 1, 0]])
def test_a_prompt_asked_twice_at_one_moment_counts_its_deterministic_request_first(order):
    """Two requests of one prompt at the same instant (a window clipped at its end, a client that
    stamps whole seconds), one greedy and one sampling: in whichever order they arrive, the greedy
    one is the first ask and the sampling one a hot re-ask, raw and from rollups alike."""
    from datetime import datetime, timezone

    t = datetime(2026, 11, 7, 23, 59, 59, tzinfo=timezone.utc)
    rows = pl.DataFrame({
        "event_id": ["a", "b", "c"], "ts": [t, t, t.replace(second=0)], "account_id": ["x"] * 3, "api_key_id": ["k"] * 3,
        "client_ip": ["10.0.0.1"] * 3, "endpoint": ["/v1/messages"] * 3, "model": ["m"] * 3, "status": [200] * 3,
        "prompt_tokens": [1] * 3, "completion_tokens": [5] * 3, "prompt": ["same", "same", "other"],
        "temperature": [0.9, 0.2, 0.2],
    })
    events = rows[order]
    columns = ["hot_reask_share", "cold_reask_share"]
    raw = account_features(events).select(columns)
    assert raw.rows() == [(1 / 3, 0.0)]
    assert features_from_rollups(hourly_rollup(events)).select(columns).equals(raw)


def test_empty_events_give_empty_rollups(traffic):
    empty = hourly_rollup(traffic.events.head(0))
    assert isinstance(empty, Rollups) and all(getattr(empty, t).height == 0 for t in Rollups.tables())
    assert features_from_rollups(empty).height == 0


def test_lake_writers_keep_rollups_that_read_back_as_the_features(traffic, tmp_path):
    """``load`` and the stream write through :class:`LakeWriter`: with rollups on, micro-batches (a
    replayed one among them) leave rollup files whose merge gives the features of the lake's events."""
    from distillguard.features.rollups import delete_rollups_before, read_rollups
    from distillguard.lake import LakeWriter, maintain

    lake = Lake(str(tmp_path / "dg.lake"))
    writer = LakeWriter(lake, rollups=True)
    events = traffic.events.sort("ts")
    batches = [events.slice(i, 20_000) for i in range(0, events.height, 20_000)]
    for batch in batches + batches[1:2]:                 # the second batch replayed: written once
        writer.append(batch, source="test")
    in_lake = events.filter(pl.col("event_id").is_first_distinct())
    raw = account_features(in_lake, traffic.accounts)
    stored = read_rollups(lake)
    assert stored.hours["n"].sum() == in_lake.height
    _assert_close(raw, features_from_rollups(stored, traffic.accounts), ["first_seen", "last_seen", *EXACT])
    # retention: the prompt sample goes with the prompts, every table with the events
    cutoff = events["ts"].dt.replace_time_zone(None).min().replace(minute=0, second=0, microsecond=0) + timedelta(hours=6)
    maintain(lake, prompt_cutoff=cutoff)
    assert not rollup_files(lake, "sample", None, cutoff) and rollup_files(lake, "sample", cutoff)
    assert rollup_files(lake, "hours", None, cutoff)
    assert delete_rollups_before(lake, cutoff + timedelta(days=30)) > 0 and not rollup_files(lake, "hours")


def test_scoring_rollup_features_flags_the_same_accounts(raw, from_rollups):
    """The population-wide scoring (peers, outlier model, policy, population bar) over features from
    rollups flags exactly the accounts it flags over features from raw events (rings not compared:
    their linking still reads raw events)."""
    from distillguard.config import Settings
    from distillguard.detection import policy_for, score_features

    settings = Settings()

    def flagged(features: pl.DataFrame) -> set[str]:
        scored = score_features(features, settings)
        return set(scored.filter(pl.col("score") >= policy_for(settings).population_bar(scored["score"]))["account_id"].to_list())

    from_raw = flagged(raw)
    assert from_raw and flagged(from_rollups) == from_raw


#: How far a ring's score from rollups may sit from the raw-event path's: a reseller ring scores its
#: accounts' mean, and KLL medians move an account's score by up to about 0.005 between runs.
RING_SCORE_TOLERANCE = 0.01


def test_detection_window_from_rollups_flags_the_same_accounts_and_rings():
    """The whole detection (scoring, population bar, rings linked and judged) from rollups alone
    (:class:`distillguard.rollup_window.RollupWindow`) gives today's raw-event path's flags and rings.

    Ring scores agree within :data:`RING_SCORE_TOLERANCE`, not exactly: medians from rollups are KLL
    sketches, whose merge compacts at random, so an account's score moves by a few thousandths from
    run to run, and a reseller ring's score is its accounts' mean score."""
    from distillguard.config import Settings
    from distillguard.detection import LoadedWindow, policy_for
    from distillguard.rollup_window import RollupWindow

    traffic = simulate(SimulationConfig(seed=102, mix="ring_heavy", scale=0.1))
    events = traffic.events.filter(pl.col("event_id").is_first_distinct())
    settings = Settings()

    def detect(window) -> tuple[set[str], dict]:
        scored = window.score(traffic.accounts, settings)
        rings, members = window.find_rings(scored, traffic.accounts, settings)
        flagged = set(scored.filter(pl.col("score") >= policy_for(settings).population_bar(scored["score"]))["account_id"])
        return flagged | set(members["account_id"]), {r["ring_id"]: (r["kind"], r["n_accounts"], r["score"]) for r in rings}

    flagged_raw, rings_raw = detect(LoadedWindow(events))
    flagged_rollups, rings_rollups = detect(RollupWindow(hourly_rollup(events)))
    assert rings_raw and flagged_raw
    assert flagged_rollups == flagged_raw
    assert rings_rollups.keys() == rings_raw.keys()
    assert all(rings_rollups[r][:2] == rings_raw[r][:2] for r in rings_raw)
    assert all(abs(rings_rollups[r][2] - rings_raw[r][2]) < RING_SCORE_TOLERANCE for r in rings_raw)


@pytest.mark.slow
def test_batch_from_rollups_stores_the_same_flags_and_rings(tmp_path, monkeypatch):
    """``distillguard batch`` with ``[lake] rollups`` and ``[detection] from_rollups`` on: ``load``
    writes rollups beside the lake and detection reads them, not the events; the stored flags and
    rings are those of today's path (a second database over the same files)."""
    from distillguard.config import load_settings
    from distillguard.pipeline import run_batch
    from distillguard.simulator import write_traffic
    from distillguard.store import Store

    traffic = simulate(SimulationConfig(seed=102, mix="ring_heavy", scale=0.05))
    paths = write_traffic(traffic, tmp_path / "traffic", garbage_rate=0.001, seed=102)
    results = {}
    for name, on in (("raw", False), ("rollups", True)):
        monkeypatch.setenv("DISTILLGUARD_LAKE__ROLLUPS", "true" if on else "false")
        settings = load_settings()
        settings.detection.from_rollups = on
        db = tmp_path / f"{name}.duckdb"
        run_batch([tmp_path / "traffic"], db, accounts=paths["accounts"], settings=settings, show_progress=False)
        with Store.open(db, read_only=True) as store:
            flagged = store.frame("SELECT account_id, ring_id, kind_guess, n_requests FROM flagged_accounts ORDER BY account_id")
            rings = store.frame("SELECT ring_id, kind, n_accounts, n_requests FROM rings ORDER BY ring_id")
            results[name] = (flagged, rings, store.lake.root)
    (flagged_raw, rings_raw, raw_lake), (flagged_rollups, rings_rollups, rollup_lake) = results["raw"], results["rollups"]
    assert not rollup_files(Lake(raw_lake), "hours") and rollup_files(Lake(rollup_lake), "hours")
    assert flagged_raw.height and rings_raw.height
    assert flagged_rollups.equals(flagged_raw)
    assert rings_rollups.equals(rings_raw)


def test_compaction_merges_micro_batch_files_and_counts_each_row_once(traffic, tmp_path):
    """The stream leaves a file per micro-batch, table and hour; compaction merges an hour's files
    into one. A compaction that stopped before deleting what it merged is still read once."""
    from distillguard.features.rollups import compact_rollups, read_rollups, write_rollups
    from distillguard.lake import Lake

    lake = Lake(str(tmp_path / "dg.lake"))
    events = traffic.events.filter(pl.col("event_id").is_first_distinct()).sort("ts").head(30_000)
    for i in range(0, events.height, 3_000):            # micro-batches in arrival order
        write_rollups(lake, hourly_rollup(events.slice(i, 3_000)))
    before = features_from_rollups(read_rollups(lake))
    files = {t: rollup_files(lake, t) for t in Rollups.tables()}
    assert compact_rollups(lake, min_files=2) > 0
    assert sum(len(rollup_files(lake, t)) for t in Rollups.tables()) < sum(len(f) for f in files.values())
    after = features_from_rollups(read_rollups(lake))
    _assert_close(before, after, [c for c in EXACT if c != "account_age_days"] + ["prompt_growth"])
    # stopped midway: a merged file and the files it merged, side by side
    hours_file = rollup_files(lake, "hours")[0]
    folder = hours_file.rsplit("/", 1)[0]
    stray = f"{folder}/part-stray.parquet"
    lake.fs.copy_file(hours_file, stray)
    replaced = f"{folder}/part-replaced.parquet"
    lake.fs.copy_file(hours_file, replaced)
    lake.write_file(f"{folder}/compact-again.parquet", pl.read_parquet(hours_file),
                    metadata={"distillguard_replaces": f'["{hours_file.rsplit("/", 1)[-1]}", "part-replaced.parquet", "part-stray.parquet"]'})
    assert hours_file not in rollup_files(lake, "hours") and replaced not in rollup_files(lake, "hours")
    assert read_rollups(lake).hours["n"].sum() == events.height


def test_backfill_and_the_hour_aligned_window(traffic, tmp_path):
    """Rollups rebuilt from a lake written without them equal the raw path's features; a window of
    ``horizon_hours`` reads the whole hours from the hour of (newest request - horizon) on."""
    from datetime import datetime

    from distillguard.features.rollups import rebuild_rollups
    from distillguard.lake import LakeWriter
    from distillguard.rollup_window import RollupWindow

    lake = Lake(str(tmp_path / "dg.lake"))
    events = traffic.events.filter(pl.col("event_id").is_first_distinct())
    LakeWriter(lake).append(events, source="test")
    assert RollupWindow.from_lake(lake).n_events == 0
    assert rebuild_rollups(lake) == events.height
    window = RollupWindow.from_lake(lake)
    _assert_close(account_features(events, traffic.accounts), features_from_rollups(window.rollups, traffic.accounts),
                  ["first_seen", "last_seen", *EXACT])
    newest = events["ts"].max()
    assert isinstance(newest, datetime)
    recent = RollupWindow.from_lake(lake, horizon_hours=6)
    first_hour = (newest - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    assert recent.rollups.hours["hour"].min() == first_hour
    assert recent.n_events == events.filter(pl.col("ts") >= first_hour).height


def test_a_rollup_failure_does_not_fail_the_write_and_is_repaired(traffic, tmp_path, monkeypatch, caplog):
    """The events of a batch are in the lake before its rollups are built: a failure there is logged
    with the days to rebuild, and ``rebuild_rollups`` brings the rollups back."""
    import distillguard.features.rollups as rollups_module
    from distillguard.features.rollups import read_rollups, rebuild_rollups
    from distillguard.lake import LakeWriter

    lake = Lake(str(tmp_path / "dg.lake"))
    events = traffic.events.filter(pl.col("event_id").is_first_distinct()).head(5_000)

    def broken(_events):
        raise ValueError("boom")

    monkeypatch.setattr(rollups_module, "hourly_rollup", broken)
    assert LakeWriter(lake, rollups=True).append(events, source="test") == events.height
    monkeypatch.undo()
    assert "rebuild_rollups" in caplog.text and read_rollups(lake).hours.height == 0
    assert rebuild_rollups(lake) == events.height and read_rollups(lake).hours["n"].sum() == events.height


def test_stream_micro_batches_write_rollups_exact_despite_late_events(traffic, tmp_path):
    """The stream consumer's lake writer (``[lake] rollups`` on) given micro-batches in arrival order,
    1% of events up to half an hour late and one batch replayed, leaves rollups whose features equal
    the raw path's. (No broker here: the batches go straight to the writer a micro-batch uses.)"""
    import numpy as np

    from distillguard.config import Settings
    from distillguard.features.rollups import read_rollups
    from distillguard.stream.consumer import StreamConsumer

    settings = Settings(store={"db_path": tmp_path / "stream.duckdb"}, stream={"checkpoint_dir": tmp_path / "checkpoints"},
                        lake={"rollups": True})
    events = traffic.events.filter(pl.col("event_id").is_first_distinct()).sort("ts").head(30_000)
    rng = np.random.default_rng(0)
    delay_us = np.where(rng.random(events.height) < 0.01, rng.uniform(60, 1800, events.height), 0) * 1e6
    arrivals = (events.with_columns((pl.col("ts") + pl.Series(delay_us.astype("int64")).cast(pl.Duration("us"))).alias("_arrival"))
                .sort("_arrival").drop("_arrival"))
    consumer = StreamConsumer(settings)
    try:
        assert consumer.sink.lake_writer.rollups
        batches = [arrivals.slice(i, 1_000) for i in range(0, arrivals.height, 1_000)]
        for batch in batches + batches[3:4]:
            consumer.sink.lake_writer.append(batch, source="kafka:test")
        stored = read_rollups(consumer.sink.lake_writer.lake)
    finally:
        consumer.release_store()
    assert stored.hours["n"].sum() == events.height
    _assert_close(account_features(events), features_from_rollups(stored), ["first_seen", "last_seen", *[c for c in EXACT if c != "account_age_days"]])
