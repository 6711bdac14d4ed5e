"""Every analyst query of sql/queries/ on a database written by `distillguard batch`, checked
against the simulator's ground truth (its events, accounts and truth files)."""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.features.families import ALL_FEATURES
from distillguard.features.registry import placed_names
from distillguard.queries import QueryError, query_info, query_names, run_query
from distillguard.reviews import record_review
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.store import Store, sql_text

SEED, SCALE = 104, 0.05
#: The queries this file exercises; a new query file must be added here (and tested).
EXERCISED = {"new_flags_since", "account_profile", "account_timeline", "account_prompts", "ring_profile",
             "similar_accounts", "alerts_by_severity", "review_history", "unreviewed_flags"}


def _naive_utc(frame: pl.DataFrame, column: str = "ts") -> pl.DataFrame:
    """As stored: naive UTC, milliseconds (the log files carry milliseconds)."""
    return frame.with_columns(pl.col(column).dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.truncate("1ms"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyst")
    traffic = simulate(SimulationConfig(seed=SEED, scale=SCALE, mix="known_patterns"))
    paths = write_traffic(traffic, folder / "traffic", seed=SEED)
    db = folder / "dg.duckdb"
    before = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=1)
    result = CliRunner().invoke(app, ["batch", "--logs", str(folder / "traffic"), "--accounts", str(paths["accounts"]),
                                      "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output
    after = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=1)
    events = _naive_utc(traffic.events.unique("event_id"))
    store = Store.open(db, read_only=True)
    yield {"db": db, "store": store, "events": events, "truth": traffic.truth, "accounts": traffic.accounts,
           "before": before, "after": after, "folder": folder}
    store.close()


def writable_copy(world, name: str):
    path = world["folder"] / f"{name}.duckdb"
    shutil.copy(world["db"], path)
    return Store.open(path)


def flagged(store: Store) -> pl.DataFrame:
    return store.frame("SELECT * FROM flagged_accounts ORDER BY account_id")


def test_every_query_file_is_documented_and_exercised():
    names = set(query_names())
    assert names == EXERCISED, f"untested or missing query files: {names ^ EXERCISED}"
    for name in names:
        info = query_info(name)
        header = [line for line in info.sql.splitlines() if line.startswith("--")]
        declared = next(line for line in header if line.lower().startswith("-- parameters:"))
        assert sorted(re.findall(r"\$(\w+)", declared)) == info.params, name
        assert len(info.description) > 60, name


def test_parameters_are_bound_and_checked(world):
    store = world["store"]
    with pytest.raises(QueryError, match="missing account_id"):
        run_query(store, "account_timeline", {})
    with pytest.raises(QueryError, match="unknown limit"):
        run_query(store, "account_timeline", {"account_id": "x", "limit": "3"})
    # a hostile value is data, not SQL: it matches no account and drops nothing
    hostile = "x'; DROP TABLE events; --"
    assert run_query(store, "account_timeline", {"account_id": hostile}).height == 0
    assert store.count("events") == world["events"].height


def test_new_flags_since_lists_exactly_the_flagged_accounts(world):
    store = world["store"]
    now_flagged = flagged(store)
    truth = world["truth"]
    attacks = set(truth.filter(pl.col("label") == "attack")["account_id"].to_list())
    result = run_query(store, "new_flags_since", {"since": world["before"].isoformat(sep=" ")})
    assert sorted(result["account_id"].to_list()) == now_flagged["account_id"].to_list()
    assert result["score"].to_list() == sorted(result["score"].to_list(), reverse=True)
    assert len(set(result["account_id"]) & attacks) >= 0.9 * result.height       # what was flagged is mostly attacks
    assert run_query(store, "new_flags_since", {"since": world["after"].isoformat(sep=" ")}).height == 0
    # through the CLI, as an analyst runs it
    cli = CliRunner().invoke(app, ["query", "new_flags_since", "--db", str(world["db"]), "--param",
                                   f"since={world['before']:%Y-%m-%d %H:%M:%S}", "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert sorted(r["account_id"] for r in json.loads(cli.stdout)) == now_flagged["account_id"].to_list()


def test_account_profile_matches_features_peers_and_flags(world):
    store = world["store"]
    truth = world["truth"]
    features = store.frame("SELECT * FROM account_features")
    ring_member = store.scalar("SELECT min(account_id) FROM ring_members")
    benign = truth.filter((pl.col("label") == "benign") & ~pl.col("hard_negative"))["account_id"].sort()[0]
    for account in (ring_member, benign):
        profile = run_query(store, "account_profile", {"account_id": account})
        row = features.filter(pl.col("account_id") == account).row(0, named=True)
        # score, signature score and anomaly z, then the registry's profile features in their order
        assert profile["feature"].to_list() == ["score", "signature_score", "anomaly_z", *placed_names(ALL_FEATURES, "profile")]
        assert set(profile["account_id"]) == {account}
        values = dict(zip(profile["feature"].to_list(), profile["value"].to_list()))
        for feature in ("score", "n_requests", "reasoning_share", "logprobs_share", "interarrival_cv"):
            assert values[feature] == pytest.approx(float(row[feature]))
        medians = dict(zip(profile["feature"].to_list(), profile["peer_median"].to_list()))
        for feature in ("n_requests", "reasoning_share", "logprobs_share", "distinct_prompt_share", "interarrival_cv"):
            assert medians[feature] == pytest.approx(row[f"{feature}_peer_median"])     # the medians reasons quote
        assert values["n_requests"] == world["events"].filter(pl.col("account_id") == account).height
    member = run_query(store, "account_profile", {"account_id": ring_member}).row(0, named=True)
    stored = store.frame("SELECT * FROM flagged_accounts WHERE account_id = ?", [ring_member]).row(0, named=True)
    assert member["flagged"] and member["ring_id"] == stored["ring_id"] and member["reasons"] == stored["reasons"]
    assert member["flagged_score"] == pytest.approx(stored["score"]) and member["ring_kind"] in ("coordinated", "reseller")
    quiet = run_query(store, "account_profile", {"account_id": benign}).row(0, named=True)
    assert not quiet["flagged"] and quiet["reasons"] is None and quiet["ring_id"] is None


def test_account_timeline_counts_every_request_per_hour(world):
    store = world["store"]
    events = world["events"]
    account = flagged(store).sort("n_requests", descending=True)["account_id"][0]
    timeline = run_query(store, "account_timeline", {"account_id": account})
    mine = events.filter(pl.col("account_id") == account).with_columns(pl.col("ts").dt.truncate("1h").alias("hour"))
    expected = mine.group_by("hour").agg(pl.len().alias("n"), (pl.col("status") == 429).sum().alias("limited"))
    got = dict(zip(timeline["hour"].to_list(), timeline["requests"].to_list()))
    assert {h: n for h, n in got.items() if n} == dict(zip(expected["hour"].to_list(), expected["n"].to_list()))
    hours = timeline["hour"].to_list()
    assert hours == sorted(hours) and all(b - a == timedelta(hours=1) for a, b in zip(hours, hours[1:]))
    assert timeline["rate_limited"].sum() == expected["limited"].sum()
    assert timeline["completion_tokens"].sum() == mine["completion_tokens"].sum()


def test_account_prompts_belong_to_the_account(world):
    store = world["store"]
    events = world["events"]
    for account in flagged(store)["account_id"].to_list()[:5]:
        sample = run_query(store, "account_prompts", {"account_id": account})
        logged = events.filter((pl.col("account_id") == account) & pl.col("prompt").is_not_null())
        assert sample.height == min(25, logged.height) > 0
        source = logged.filter(pl.col("event_id").is_in(sample["event_id"].implode()))
        assert source.height == sample.height                        # every sampled event is this account's
        by_id = dict(zip(source["event_id"].to_list(), source["prompt"].to_list()))
        assert all(by_id[e] == p for e, p in zip(sample["event_id"].to_list(), sample["prompt"].to_list()))
        counts = logged.group_by("prompt").agg(pl.len().alias("n"))
        times = dict(zip(counts["prompt"].to_list(), counts["n"].to_list()))
        assert all(times[p] == t for p, t in zip(sample["prompt"].to_list(), sample["times_sent"].to_list()))
        assert sample["ts"].to_list() == sorted(sample["ts"].to_list())
    again = run_query(store, "account_prompts", {"account_id": account})
    assert again["event_id"].to_list() == sample["event_id"].to_list()            # deterministic sample


def test_ring_profile_lists_exactly_its_members(world):
    store = world["store"]
    events = world["events"]
    truth = world["truth"]
    true_ring = dict(zip(truth["account_id"].to_list(), truth["ring_id"].to_list()))
    rings = store.frame("SELECT * FROM rings")
    assert rings.height >= 3
    for ring in rings.iter_rows(named=True):
        profile = run_query(store, "ring_profile", {"ring_id": ring["ring_id"]})
        assert profile.height == 1
        row = profile.row(0, named=True)
        members = store.frame("SELECT account_id FROM ring_members WHERE ring_id = ? ORDER BY 1", [ring["ring_id"]])["account_id"].to_list()
        assert row["members"] == members == row["flagged_with_ring_id"]
        assert row["n_accounts"] == len(members)
        assert len({true_ring[a] for a in members}) == 1 and true_ring[members[0]] is not None     # one true ring
        theirs = events.filter(pl.col("account_id").is_in(members))
        assert row["combined_requests"] == theirs.height
        assert (row["first_request"], row["last_request"]) == (theirs["ts"].min(), theirs["ts"].max())
        logged = theirs.filter(pl.col("prompt").is_not_null())
        assert row["distinct_prompts"] == logged["prompt"].n_unique()
        assert row["joint_distinct_prompt_share"] == pytest.approx(logged["prompt"].n_unique() / logged.height)
        shared = json.loads(ring["shared"])["values"]
        assert row["shared_values"] == [v["value"] for v in shared]
        assert row["reasons"] == ring["reasons"]
    assert run_query(store, "ring_profile", {"ring_id": "ring-does-not-exist"}).height == 0


def test_similar_accounts_finds_its_true_ring_and_nearest_behaviour(world):
    store = world["store"]
    truth = world["truth"]
    accounts = world["accounts"]
    ring_truth = truth.filter(pl.col("kind") == "coordinated_ring")
    target = ring_truth["account_id"].sort()[0]
    partners = set(ring_truth.filter(pl.col("ring_id") == ring_truth.filter(pl.col("account_id") == target)["ring_id"][0])["account_id"]) - {target}
    similar = run_query(store, "similar_accounts", {"account_id": target})
    assert target not in similar["account_id"].to_list()
    sharing = set(similar.filter(pl.col("shared_kinds") >= 1)["account_id"].to_list())
    assert partners <= sharing
    assert similar["shared_kinds"].to_list() == sorted(similar["shared_kinds"].to_list(), reverse=True)
    payment = dict(zip(accounts["account_id"].to_list(), accounts["payment_fingerprint"].to_list()))
    for account, shared in zip(similar["account_id"].to_list(), similar["shared"].to_list()):
        for item in shared:
            if item.startswith("payment:"):
                assert payment[account] == payment[target] == item.split(":", 1)[1].rsplit(" [", 1)[0]
    # nearest by behaviour: recompute the robust distance for the ten nearest
    features = store.frame("SELECT * FROM account_features")
    columns = {
        "log_requests": (pl.col("n_requests") + 1).log10(), "log_rate": (pl.col("requests_per_active_hour") + 1).log10(),
        **{c: pl.col(c).cast(pl.Float64) for c in ("reasoning_share", "rubric_share", "length_cut_share", "logprobs_share",
           "multi_sample_share", "distinct_prompt_share", "slot_diversity", "interarrival_cv", "hour_entropy",
           "single_turn_share", "rate_limited_share")},
        "log_system_prompts": (pl.col("n_system_prompts") + 1).log10(), "log_end_users": (pl.col("n_end_users") + 1).log10(),
        "log_ips": (pl.col("n_ips") + 1).log10(),
    }
    x = features.select("account_id", *[e.alias(n) for n, e in columns.items()])
    for name in columns:
        values = x[name].drop_nulls()
        centre = values.median()
        spread = 1.4826 * (values - centre).abs().median() or values.std(ddof=0) or 1.0
        x = x.with_columns(((pl.col(name) - centre) / spread).alias(name))
    me = x.filter(pl.col("account_id") == target).row(0, named=True)
    nearest = similar.filter(pl.col("distance_rank") <= 10).sort("distance_rank")
    assert nearest.height == 10 and nearest["distance"].to_list() == sorted(nearest["distance"].to_list())
    for account, distance in zip(nearest["account_id"].to_list(), nearest["distance"].to_list()):
        other = x.filter(pl.col("account_id") == account).row(0, named=True)
        assert distance == pytest.approx(math.sqrt(sum((other[n] - me[n]) ** 2 for n in columns)), rel=1e-9)


def test_alerts_by_severity_counts_alerts_accounts_flags_and_dismissals(world):
    with writable_copy(world, "alerts") as store:
        now_flagged = flagged(store)["account_id"].to_list()
        benign = world["truth"].filter(pl.col("label") == "benign")["account_id"].sort().to_list()[:4]
        t0 = world["events"]["ts"].min()
        rows = []
        for i, account in enumerate(now_flagged[:9] + benign):
            severity = "low" if account in benign else ("critical", "high", "medium")[i % 3]
            for k in range(1 + i % 3):                              # one to three alerts per account
                rows.append({"alert_id": f"a-{account}-{k}", "ts": t0 + timedelta(minutes=10 * i + k), "account_id": account,
                             "score": 1.0 + i / 10 + k / 100, "reasons": "test alert", "severity": severity,
                             "first_event_ts": t0, "raised_at": t0 + timedelta(minutes=10 * i + k),
                             "n_requests": 200 + i, "requests_per_active_hour": 100.0 + i, "signature_score": 1.0 + i / 10})
        alerts = pl.DataFrame(rows)
        with store.registered("incoming_alerts", alerts):
            store.con.execute(sql_text("store/stream_insert_alerts.sql"))     # the stream's own statement
        record_review(store, "account", benign[0], "false_positive", "carol", "school lab")
        result = run_query(store, "alerts_by_severity")
    assert result["severity"].to_list() == ["critical", "high", "medium", "low"]
    for row in result.iter_rows(named=True):
        mine = alerts.filter(pl.col("severity") == row["severity"])
        assert row["alerts"] == mine.height and row["accounts"] == mine["account_id"].n_unique()
        assert row["max_score"] == pytest.approx(mine["score"].max())
        assert row["first_alert"] == mine["ts"].min().replace(tzinfo=None)
        assert row["accounts_flagged_now"] == len(set(mine["account_id"]) & set(now_flagged))
        assert row["accounts_dismissed"] == (1 if row["severity"] == "low" else 0)
        best = mine.group_by("account_id").agg(pl.col("score").max()).sort(["score", "account_id"], descending=[True, False])
        assert row["top_accounts"] == best["account_id"].to_list()[:5]


def test_review_queue_and_history_follow_the_verdicts(world):
    with writable_copy(world, "queue") as store:
        queue = run_query(store, "unreviewed_flags")
        assert sorted(queue["account_id"].to_list()) == flagged(store)["account_id"].to_list()
        ring_id = store.scalar("SELECT min(ring_id) FROM rings")
        members = set(store.frame("SELECT account_id FROM ring_members WHERE ring_id = ?", [ring_id])["account_id"].to_list())
        member = min(members)
        loner = store.scalar("SELECT min(account_id) FROM flagged_accounts WHERE ring_id IS NULL")
        record_review(store, "account", member, "needs_info", "dana", "ask billing")
        record_review(store, "ring", ring_id, "confirmed", "erin", "same operator")
        record_review(store, "account", loner, "false_positive", "erin")
        queue = run_query(store, "unreviewed_flags")
        left = set(queue["account_id"].to_list())
        assert left == set(flagged(store)["account_id"].to_list()) - members    # confirmed by the ring verdict
        assert queue.filter(pl.col("account_id") == loner)["current_verdict"].to_list() == ["false_positive"]
        history = run_query(store, "review_history", {"subject_id": member})
        assert history["verdict"].to_list() == ["needs_info", "confirmed"]
        assert history["via_ring"].to_list() == [False, True] and history["previous_verdict"].to_list() == [None, None]
        ring_history = run_query(store, "review_history", {"subject_id": ring_id})
        assert ring_history.height == 1 and ring_history["n_accounts_at_review"][0] == len(members)
        assert ring_history["is_current"].to_list() == [True]
