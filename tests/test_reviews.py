"""Analysts' verdicts feed back into real batch runs: dismissed accounts stay out unless their
behaviour changes materially, confirmed ones stay in, ring verdicts cover the members, rings
stay consistent with flagged_accounts, and the audit trail keeps every verdict."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.pipeline import run_batch
from distillguard.reviews import NOTE_PREFIX
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.store import Store, sql_text

SEED, SCALE = 104, 0.05


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reviews")
    traffic = simulate(SimulationConfig(seed=SEED, scale=SCALE, mix="known_patterns"))
    paths = write_traffic(traffic, folder / "traffic", seed=SEED)
    db = folder / "base.duckdb"
    run_batch([folder / "traffic"], db, accounts=paths["accounts"], show_progress=False)
    return {"folder": folder, "db": db, "traffic": traffic, "logs": folder / "traffic", "accounts": paths["accounts"]}


def copy_db(base, name):
    path = base["folder"] / f"{name}.duckdb"
    shutil.copy(base["db"], path)
    return path


def rerun(base, db, extra_logs=()):
    run_batch([base["logs"], *extra_logs], db, accounts=base["accounts"], show_progress=False)
    with Store.open(db, read_only=True) as store:
        return {
            "flagged": store.frame("SELECT * FROM flagged_accounts ORDER BY account_id"),
            "rings": store.frame("SELECT * FROM rings ORDER BY ring_id"),
            "members": store.frame("SELECT * FROM ring_members ORDER BY ring_id, account_id"),
            "reviews": store.frame("SELECT * FROM reviews ORDER BY review_id"),
            "evidence": store.frame("SELECT * FROM review_evidence ORDER BY review_id, account_id"),
        }


def read(db, sql, params=None):
    with Store.open(db, read_only=True) as store:
        return store.frame(sql, params)


def review(db, *args):
    result = CliRunner().invoke(app, ["review", *args, "--db", str(db)])
    return result


def assert_contract(state):
    """Every ring member is flagged with that ring id; ring sizes match their members."""
    flagged_ring = dict(zip(state["flagged"]["account_id"].to_list(), state["flagged"]["ring_id"].to_list()))
    for ring_id, account_id in state["members"].iter_rows():
        assert flagged_ring.get(account_id) == ring_id, (ring_id, account_id)
    sizes = state["members"].group_by("ring_id").len()
    assert dict(zip(sizes["ring_id"].to_list(), sizes["len"].to_list())) == dict(
        zip(state["rings"]["ring_id"].to_list(), state["rings"]["n_accounts"].to_list()))
    tagged = state["flagged"].filter(pl.col("ring_id").is_not_null())
    assert set(zip(tagged["ring_id"].to_list(), tagged["account_id"].to_list())) == set(state["members"].iter_rows())


def test_dismissed_stays_out_until_its_behaviour_jumps(base):
    db = copy_db(base, "dismiss")
    before = read(db, "SELECT * FROM flagged_accounts ORDER BY account_id")
    # the clearest lone extractor: its score stays over the population's bar when its volume changes
    loner = before.filter(pl.col("ring_id").is_null()).sort("score", descending=True)["account_id"][0]
    ring = read(db, "SELECT ring_id, n_accounts FROM rings ORDER BY n_accounts DESC, ring_id LIMIT 1").row(0, named=True)
    members = read(db, "SELECT account_id FROM ring_members WHERE ring_id = ?", [ring["ring_id"]])["account_id"].to_list()
    member = max(members)                          # the ring id derives from the smallest member: keep it stable

    result = review(db, loner, "--verdict", "false_positive", "--analyst", "alice", "--note", "known eval customer")
    assert result.exit_code == 0, result.output
    assert "review 1 recorded" in result.stdout
    con = duckdb.connect(str(db))                   # plain SQL works too; id and time default
    con.execute("INSERT INTO reviews (subject_type, subject_id, verdict, analyst, note) "
                "VALUES ('account', ?, 'false_positive', 'bob', 'shared lab account')", [member])
    con.close()

    second = rerun(base, db)                        # same logs, same behaviour
    flagged = set(second["flagged"]["account_id"].to_list())
    assert loner not in flagged and member not in flagged
    assert flagged == set(before["account_id"].to_list()) - {loner, member}
    assert_contract(second)
    kept = second["members"].filter(pl.col("ring_id") == ring["ring_id"])["account_id"].to_list()
    assert sorted(kept) == sorted(set(members) - {member})
    assert second["rings"].filter(pl.col("ring_id") == ring["ring_id"])["n_accounts"].to_list() == [ring["n_accounts"] - 1]
    captured = second["evidence"].filter(pl.col("review_id") == 2).row(0, named=True)     # the SQL verdict's baseline
    assert captured["captured_by"] == "detection" and captured["account_id"] == member
    assert captured["score"] == pytest.approx(before.filter(pl.col("account_id") == member)["score"][0])
    reviews_then = second["reviews"]

    # the dismissed account doubles its extraction rate: fresh prompts in the same hours
    mine = base["traffic"].events.unique("event_id").filter(pl.col("account_id") == loner)
    again = mine.with_columns((pl.col("event_id") + "-again").alias("event_id"), (pl.col("ts") + timedelta(seconds=1)).alias("ts"),
                              (pl.col("prompt") + " Continue with case " + pl.int_range(pl.len()).cast(pl.String)).alias("prompt"))
    extra = base["folder"] / "extra"
    extra.mkdir()
    again.write_parquet(extra / "more.parquet")
    third = rerun(base, db, [extra])
    row = third["flagged"].filter(pl.col("account_id") == loner)
    assert row.height == 1 and row["n_requests"][0] == 2 * mine.height
    note = row["reasons"][0].splitlines()[0]
    assert note.startswith(NOTE_PREFIX + "dismissed as a false positive by alice") and "requests per active hour" in note
    assert member not in set(third["flagged"]["account_id"].to_list())     # unchanged behaviour: still dismissed
    assert_contract(third)
    assert third["reviews"].equals(reviews_then)                            # append-only: runs never touch verdicts


def test_confirmed_stays_flagged_below_the_bar_and_ring_verdicts_cover_members(base):
    db = copy_db(base, "confirm")
    before = read(db, "SELECT * FROM flagged_accounts ORDER BY account_id")
    loner = before.filter(pl.col("ring_id").is_null()).sort("account_id")["account_id"][0]
    old_reasons = before.filter(pl.col("account_id") == loner)["reasons"][0]
    rings = read(db, "SELECT ring_id FROM rings ORDER BY ring_id")["ring_id"].to_list()
    dismissed_ring = rings[0]
    ring_members = read(db, "SELECT account_id FROM ring_members WHERE ring_id = ?", [dismissed_ring])["account_id"].to_list()

    assert review(db, loner, "--verdict", "confirmed", "--analyst", "carol", "--note", "matches takedown").exit_code == 0
    result = review(db, dismissed_ring, "--ring", "--verdict", "false_positive", "--analyst", "carol", "--note", "one university lab")
    assert result.exit_code == 0, result.output
    assert f"covers {len(ring_members)} account(s)" in result.stdout
    with Store.open(db) as store:                  # raise the bar far above every score (as calibrate would store it)
        store.con.execute(sql_text("store/create_calibration.sql"))
        store.con.execute("INSERT INTO calibration VALUES (now() AT TIME ZONE 'UTC', 0, 0, 0, 0, 0, 50.0)")

    state = rerun(base, db)
    assert_contract(state)
    row = state["flagged"].filter(pl.col("account_id") == loner).row(0, named=True)
    lines = row["reasons"].splitlines()
    assert lines[0].startswith(NOTE_PREFIX + "confirmed by carol") and lines[0].endswith("matches takedown")
    assert "below the flagging bar 50.00" in lines[1]
    assert "\n".join(lines[2:2 + len(old_reasons.splitlines())]) == old_reasons           # reasons at review time kept
    assert dismissed_ring not in state["rings"]["ring_id"].to_list()
    assert not set(ring_members) & set(state["flagged"]["account_id"].to_list())
    other_rings = set(rings) - {dismissed_ring}
    assert other_rings <= set(state["rings"]["ring_id"].to_list())                         # untouched rings stay

    # the latest verdict wins: asking for more information lifts the confirmation, and the bar bites
    assert review(db, loner, "--verdict", "needs_info", "--analyst", "dave").exit_code == 0
    state = rerun(base, db)
    assert loner not in state["flagged"]["account_id"].to_list()
    assert_contract(state)


def test_audit_trail_keeps_every_verdict_and_the_cli_checks_its_input(base):
    db = copy_db(base, "audit")
    account = read(db, "SELECT min(account_id) AS a FROM flagged_accounts")["a"][0]
    assert CliRunner().invoke(app, ["snapshot", "--db", str(db)]).exit_code == 0       # analysts read a snapshot
    for verdict, analyst in (("needs_info", "erin"), ("false_positive", "frank"), ("confirmed", "erin")):
        assert review(db, account, "--verdict", verdict, "--analyst", analyst, "--note", f"step {verdict}").exit_code == 0
    audit = read(db, "SELECT * FROM review_audit WHERE subject_id = ? ORDER BY review_id", [account])
    assert audit["verdict"].to_list() == ["needs_info", "false_positive", "confirmed"]
    assert audit["previous_verdict"].to_list() == [None, "needs_info", "false_positive"]
    assert audit["is_current"].to_list() == [False, False, True]
    assert audit["reviewed_at"].to_list() == sorted(audit["reviewed_at"].to_list())
    shown = CliRunner().invoke(app, ["query", "review_history", "--param", f"subject_id={account}", "--format", "json", "--db", str(db)])
    assert shown.exit_code == 0, shown.output                      # the review republished the snapshot
    assert [r["verdict"] for r in json.loads(shown.stdout)] == ["needs_info", "false_positive", "confirmed"]
    current = read(db, "SELECT * FROM current_verdicts WHERE subject_id = ?", [account]).row(0, named=True)
    assert (current["verdict"], current["analyst"], current["n_reviews"]) == ("confirmed", "erin", 3)
    stored = read(db, "SELECT score, n_requests FROM flagged_accounts WHERE account_id = ?", [account]).row(0, named=True)
    evidence = read(db, "SELECT score_at_review, n_requests_at_review, rate_at_review FROM reviews WHERE subject_id = ?", [account])
    assert evidence["score_at_review"].to_list() == [pytest.approx(stored["score"])] * 3
    assert evidence["n_requests_at_review"].to_list() == [stored["n_requests"]] * 3 and evidence["rate_at_review"].null_count() == 0

    assert review(db, "acct-nobody", "--verdict", "confirmed", "--analyst", "erin").exit_code == 2
    assert review(db, "ring-nothing", "--ring", "--verdict", "confirmed", "--analyst", "erin").exit_code == 2
    assert review(db, account, "--verdict", "probably", "--analyst", "erin").exit_code == 2
    con = duckdb.connect(str(db))
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO reviews (subject_type, subject_id, verdict, analyst) VALUES ('account', 'x', 'maybe', 'z')")
    con.close()
    assert read(db, "SELECT count(*) AS n FROM reviews")["n"][0] == 3                  # nothing half-written
