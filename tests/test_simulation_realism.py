"""The simulator's populations look like real traffic, seed by seed (realism properties)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from jsonschema import Draft202012Validator

from distillguard.events import parse_records
from distillguard.simulator import CORRUPTIONS, SimulationConfig, simulate, write_traffic

SCHEMA = json.loads((__import__("pathlib").Path(__file__).resolve().parents[1] / "distillguard/contract/api-log-event.schema.json").read_text())


@pytest.fixture(scope="module")
def pop_a():
    return simulate(SimulationConfig(seed=21, scale=0.25))


@pytest.fixture(scope="module")
def pop_b():
    return simulate(SimulationConfig(seed=22, scale=0.25))


def kind_of(traffic, kind: str) -> pl.DataFrame:
    ids = traffic.truth.filter(pl.col("kind") == kind)["account_id"]
    return traffic.events.filter(pl.col("account_id").is_in(ids.implode()))


def test_same_seed_same_traffic_different_seed_different_but_alike(pop_a, pop_b):
    again = simulate(SimulationConfig(seed=21, scale=0.25))
    assert again.events.equals(pop_a.events) and again.truth.equals(pop_a.truth)
    assert not pop_a.events["event_id"].equals(pop_b.events["event_id"])
    share_a = (pop_a.truth["label"] == "attack").mean()
    share_b = (pop_b.truth["label"] == "attack").mean()
    assert abs(share_a - share_b) < 0.05
    for kind in ("casual_chat", "production_integration", "developer"):
        med_a = kind_of(pop_a, kind).group_by("account_id").len()["len"].median()
        med_b = kind_of(pop_b, kind).group_by("account_id").len()["len"].median()
        assert 0.4 < med_a / med_b < 2.5, kind
    for pop in (pop_a, pop_b):      # extractors' volume is drawn per account (hundreds to tens of thousands a day)
        assert kind_of(pop, "bulk_extractor").group_by("account_id").len()["len"].min() > 200


def test_every_event_validates_against_the_contract_schema(pop_a):
    validator = Draft202012Validator(SCHEMA)
    sample = pop_a.events.sample(2000, seed=1).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    for row in sample.to_dicts():
        record = {k: v for k, v in row.items() if v is not None}
        errors = list(validator.iter_errors(record))
        assert not errors, (record, errors[0].message)


def test_casual_users_are_diurnal_in_their_own_time_and_volumes_heavy_tailed(pop_a):
    casual = kind_of(pop_a, "casual_chat")
    per_account = casual.group_by("account_id").len()["len"].to_numpy()
    assert np.percentile(per_account, 95) > 3 * np.median(per_account)        # heavy tail
    everyone = pop_a.events.group_by("account_id").len()["len"].to_numpy()
    assert everyone.max() > 50 * np.median(everyone)
    # per account, activity clusters in a part of the day rather than spreading evenly
    hours = casual.group_by("account_id").agg(pl.col("ts").dt.hour().n_unique().alias("hours"), pl.len().alias("n")).filter(pl.col("n") >= 30)
    assert hours["hours"].median() < 18


def test_integrations_reuse_one_template_for_many_end_users(pop_a):
    integ = kind_of(pop_a, "production_integration")
    per = integ.group_by("account_id").agg(pl.col("system_prompt_hash").n_unique().alias("sp"), pl.col("end_user_id").n_unique().alias("users"),
                                           pl.col("prompt").str.slice(0, 30).n_unique().alias("openings"))
    assert (per["sp"] == 1).all() and (per["users"] > 100).all() and (per["openings"] <= 2).all()


def test_campus_accounts_share_a_nat_address(pop_a):
    campus = kind_of(pop_a, "campus_member")
    by_ip = campus.group_by("client_ip").agg(pl.col("account_id").n_unique().alias("accounts"))
    assert by_ip["accounts"].max() >= 8


def test_ring_members_share_infrastructure_payment_and_templates(pop_a):
    truth = pop_a.truth.filter((pl.col("kind") == "coordinated_ring") & (pl.col("linkage") == "shared"))
    # the ring with the fewest bought (aged) accounts: a bought account comes with its own card and address
    ring = truth.group_by("ring_id").agg((pl.col("age") == "aged").mean().alias("aged")).sort("aged", "ring_id")["ring_id"][0]
    members = truth.filter(pl.col("ring_id") == ring)
    ids = members["account_id"]
    ev = pop_a.events.filter(pl.col("account_id").is_in(ids.implode()))
    ip_accounts = ev.group_by("client_ip").agg(pl.col("account_id").n_unique().alias("k"))
    assert ip_accounts["k"].max() >= 3
    acc = pop_a.accounts.filter(pl.col("account_id").is_in(ids.implode()))
    assert acc["payment_fingerprint"].n_unique() < len(ids)
    fresh = acc.filter(pl.col("account_id").is_in(members.filter(pl.col("age") == "fresh")["account_id"].implode()))
    assert fresh.height == 0 or fresh["email_domain"].n_unique() == 1       # made together on one throwaway domain
    with_system = members.filter(pl.col("system_prompt") == "yes")["account_id"]
    sent = ev.filter(pl.col("account_id").is_in(with_system.implode()))["system_prompt_hash"]
    assert sent.null_count() == 0 and sent.n_unique() <= max(1, len(with_system))


def test_disguised_ring_members_share_no_address_card_or_domain_only_how_they_ask(pop_a):
    """A disguised ring (axis ``linkage``): every member on its own residential address, card and webmail
    address, a stock system prompt strangers send too; what they share is the ring's template and schedule."""
    truth = pop_a.truth.filter((pl.col("kind") == "coordinated_ring") & (pl.col("linkage") == "disguised"))
    assert truth.height >= 3
    ids = truth["account_id"]
    ev = pop_a.events.filter(pl.col("account_id").is_in(ids.implode()))
    assert ev.group_by("client_ip").agg(pl.col("account_id").n_unique().alias("k"))["k"].max() == 1
    acc = pop_a.accounts.filter(pl.col("account_id").is_in(ids.implode()))
    assert acc["payment_fingerprint"].drop_nulls().is_unique().all()
    assert acc["signup_ip"].is_unique().all()
    strangers = pop_a.events.filter(~pl.col("account_id").is_in(ids.implode()))["system_prompt_hash"].drop_nulls().unique()
    assert ev["system_prompt_hash"].drop_nulls().is_in(strangers.implode()).all()


def test_reseller_accounts_front_many_system_prompts_and_clients(pop_a):
    """A proxy forwards its customers' system prompts, or strips them; it forwards their user agents, or calls with
    a client of its own; either way many end users stand behind it."""
    res = kind_of(pop_a, "reseller_ring").group_by("account_id").agg(
        pl.col("system_prompt_hash").drop_nulls().n_unique().alias("sp"), pl.col("user_agent").n_unique().alias("ua"),
        pl.col("end_user_id").n_unique().alias("users"))
    axes = res.join(pop_a.truth.select("account_id", "system_prompt", "proxy_client"), on="account_id")
    assert (axes.filter(pl.col("system_prompt") == "forwarded")["sp"] >= 20).all()
    assert (axes.filter(pl.col("system_prompt") == "stripped")["sp"] == 0).all()
    assert (axes.filter(pl.col("proxy_client") == "forwarded")["ua"] >= 20).all()
    assert (axes.filter(pl.col("proxy_client") == "own")["ua"] == 1).all()
    assert (axes["users"] >= 100).all() and axes["proxy_client"].n_unique() == 2


def test_strangers_send_the_same_default_system_prompt_and_are_linked_by_nothing(pop_a):
    """Chat users and developers often send a default system prompt (a front end's, an SDK example's)
    that many unrelated accounts send; linking joins none of them into a group through it (a system
    prompt links on its own only when few accounts send it: 34 of them were grouped before), nor through
    the VPN exit and HTTP client some of them share with attackers (variant ``shared_exit``: an ordinary
    account's networks and clients link nobody)."""
    from distillguard.config import Settings
    from distillguard.detection import score_accounts
    from distillguard.models.rings import link_groups, link_values

    benign = pop_a.truth.filter(pl.col("kind").is_in(["casual_chat", "developer"]))["account_id"]
    senders = (pop_a.events.filter(pl.col("account_id").is_in(benign.implode()) & pl.col("system_prompt_hash").is_not_null())
               .group_by("system_prompt_hash").agg(pl.col("account_id").n_unique().alias("accounts")))
    assert senders["accounts"].max() >= 8
    settings = Settings()
    scored = score_accounts(pop_a.events, pop_a.accounts, settings)
    groups = link_groups(link_values(pop_a.events, scored, settings.rings), settings.rings, scored=scored)
    assert not set(groups["account_id"].to_list()) & set(benign.to_list())


def test_alt_vocabulary_shares_no_surface_with_the_default():
    a = simulate(SimulationConfig(seed=5, scale=0.1))
    b = simulate(SimulationConfig(seed=5, scale=0.1, vocabulary="alt"))
    assert not set(a.events["user_agent"].drop_nulls().unique()) & set(b.events["user_agent"].drop_nulls().unique())
    assert not set(a.events["model"].unique()) & set(b.events["model"].unique())
    prefix = lambda s: {x[:4] for x in s}  # noqa: E731
    assert not prefix(a.truth["account_id"]) & prefix(b.truth["account_id"])

    def openings(t):  # the first three words: where templates put their fixed wording
        return set(t.events["prompt"].drop_nulls().str.to_lowercase().str.extract(r"^(\S+ \S+ \S+)", 1).drop_nulls())
    overlap = openings(a) & openings(b)
    assert len(overlap) < 0.02 * len(openings(a)), sorted(overlap)[:20]


def test_written_files_carry_every_corruption_kind_and_an_honest_manifest(tmp_path):
    traffic = simulate(SimulationConfig(seed=9, scale=0.05))
    paths = write_traffic(traffic, tmp_path, fmt="jsonl", garbage_rate=0.01, seed=9)
    manifest = json.loads(paths["corruption"].read_text())
    assert set(manifest["garbage"]) == set(CORRUPTIONS)
    lines = b"".join(p.read_bytes() for p in paths["events"]).splitlines()
    batch = parse_records(lines, source="sim")
    assert batch.rejected.height == sum(manifest["garbage"].values())
    assert batch.events.height == traffic.events["event_id"].n_unique()
    assert batch.duplicates == manifest["duplicates"]


# -- variation axes: each attack account draws its habits, and they show in its events -------------

AXES = ("reask_rate", "language", "reasoning", "age", "timing", "volume", "sampling", "system_prompt")
CONTRACT_TRUTH = ["account_id", "kind", "label", "hard_negative", "ring_id", "ring_kind"]
SCRIPT = {"zh": r"[\u4e00-\u9fff]", "ja": r"[\u3040-\u30ff]", "ko": r"[\uac00-\ud7af]", "ru": r"[\u0400-\u04ff]"}


@pytest.fixture(scope="module")
def pop_c():
    return simulate(SimulationConfig(seed=31, scale=0.5, mix="ring_heavy"))


def profile(traffic) -> pl.DataFrame:
    """Per account: what its events show, next to what the truth says it is."""
    ev = traffic.events.unique(subset="event_id", keep="first").sort("ts")
    ev = ev.with_columns((pl.int_range(pl.len()).over("account_id", "prompt") > 0).alias("repeat"),
                         (pl.col("ts").diff().over("account_id").dt.total_microseconds() / 1e6).alias("gap"))
    stats = ev.group_by("account_id").agg(
        pl.len().alias("requests"),
        pl.col("prompt").drop_nulls().len().alias("prompted"),
        pl.col("prompt").drop_nulls().n_unique().alias("distinct"),
        pl.col("temperature").filter(pl.col("repeat") & pl.col("prompt").is_not_null()).min().alias("repeat_temp_min"),
        pl.col("logprobs").fill_null(False).any().alias("any_logprobs"),
        (pl.col("n").fill_null(1) > 1).any().alias("any_multi"),
        pl.col("system_prompt_hash").null_count().alias("no_system"),
        pl.col("system_prompt_hash").n_unique().alias("system_prompts"),
        pl.col("prompt").drop_nulls().str.contains(r"[^\x00-\x7F]").mean().alias("non_ascii"),
        pl.col("max_tokens").min().alias("min_max_tokens"),
        pl.col("max_tokens").max().alias("max_max_tokens"),
        pl.col("completion_tokens").filter(pl.col("status") == 200).median().alias("median_completion"),
        pl.col("ts").min().alias("first_ts"),
        pl.col("ts").dt.hour().unique().sort().alias("hours"),
        (pl.col("gap").std() / pl.col("gap").mean()).alias("gap_cv"),
        pl.col("end_user_id").n_unique().alias("end_users"),
        pl.col("temperature").drop_nulls().unique().alias("temperatures"),
        (pl.col("response_format") == "json_object").mean().alias("json_share"),
        pl.col("prompt").drop_nulls().alias("prompts"),
        pl.col("conversation_id").drop_nulls().n_unique().alias("conversations"),
        pl.col("turn").min().alias("min_turn"),
        pl.col("turn").max().alias("max_turn"),
        pl.col("prompt_tokens").median().alias("median_prompt_tokens"),
        (pl.col("status") == 429).mean().alias("limited_share"),
        pl.col("user_agent").n_unique().alias("user_agents"),
        pl.col("client_ip").unique().alias("ips"),
        ((pl.col("ts").max() - pl.col("ts").min()).dt.total_seconds() / 3600).alias("span_hours"),
        (pl.col("end_user_id").drop_nulls().unique_counts().max() / pl.col("end_user_id").drop_nulls().len()).alias("top_user_share"),
    )
    return (traffic.truth.join(stats, on="account_id", how="left")
            .join(traffic.accounts.select("account_id", "created_at", "payment_fingerprint", "email_domain"), on="account_id", how="left")
            .with_columns(((pl.col("first_ts") - pl.col("created_at")).dt.total_seconds() / 86400).alias("age_at_onset_days")))


@pytest.fixture(scope="module")
def accounts(pop_a, pop_c):
    return pl.concat([profile(pop_a), profile(pop_c)], how="vertical_relaxed")


@pytest.fixture(scope="module")
def attackers(accounts):
    return accounts.filter(pl.col("label") == "attack")


def test_truth_keeps_the_contract_columns_and_names_every_attackers_axes(pop_a, pop_c, attackers, tmp_path):
    for t in (pop_a, pop_c):
        assert t.truth.columns[:6] == CONTRACT_TRUTH
        assert {"variant", *AXES} <= set(t.truth.columns)
        benign = t.truth.filter(pl.col("label") == "benign")
        assert (benign["variant"] != "-").all()
        for axis in ("reask_rate", "reasoning", "age", "timing", "volume", "sampling", "system_prompt"):
            assert (benign[axis] == "-").all(), axis
            assert (t.truth.filter(pl.col("label") == "attack")[axis] != "-").all(), axis
    for axis in AXES:          # drawn, not fixed: every axis takes several values among attackers
        assert attackers[axis].n_unique() >= 2, axis
    assert attackers["language"].n_unique() >= 5
    assert {"tens", "thousands"} <= set(attackers["volume"])
    # the evaluator still reads the truth file, extra columns and all
    from distillguard.evaluate import read_truth
    paths = write_traffic(pop_a, tmp_path, fmt="jsonl", seed=1)
    back = read_truth(paths["truth"])
    assert back.height == pop_a.truth.height and back["hard_negative"].sum() == pop_a.truth["hard_negative"].sum()
    assert back.columns == pop_a.truth.columns


def test_reask_rate_shows_as_repeated_prompts_sampled_warm(attackers):
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("prompted") >= 100))
    never = own.filter(pl.col("reask_rate") == "0")
    assert never.height >= 3 and (never["distinct"] == never["prompted"]).all()
    for bucket, lo, hi in (("0.1-0.3", 0.05, 0.4), ("0.3-0.6", 0.22, 0.68)):
        some = own.filter(pl.col("reask_rate") == bucket)
        assert some.height >= 3, bucket
        repeated = 1 - some["distinct"] / some["prompted"]
        assert ((repeated > lo) & (repeated < hi)).all(), (bucket, repeated.to_list())
        warm, greedy = some.filter(pl.col("greedy") == "no"), some.filter(pl.col("greedy") == "yes")
        assert (warm["repeat_temp_min"] >= 0.7).all()            # best-of-n: re-asked at temperature 0.7-1.0
        assert (greedy["repeat_temp_min"] == 0.0).all()          # a greedy harvester re-asks at temperature 0 too
        rate = some["reask_share"].cast(pl.Float64)       # the drawn rate: the share re-asked is a binomial draw around it
        spread = (4 * (rate * (1 - rate) / some["prompted"]).sqrt()).clip(0.05, None)
        assert ((repeated - rate).abs() < spread).all(), (repeated - rate).to_list()


def test_language_axis_writes_prompts_in_that_language(attackers):
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("prompted") >= 20))
    seen = set()
    for row in own.iter_rows(named=True):
        prompts = pl.Series(row["prompts"])
        lang = row["language"]
        if lang in SCRIPT:
            assert prompts.str.contains(SCRIPT[lang]).mean() > 0.95, (row["account_id"], lang)
        elif lang == "en":
            assert row["non_ascii"] < 0.01, row["account_id"]
        else:           # es, de, fr: Latin script, but accents and quotation marks English prompts lack
            assert row["non_ascii"] > 0.3, (row["account_id"], lang, prompts[:3].to_list())
        seen.add(lang)
    assert len(seen - {"en"}) >= 4


def test_reasking_in_passes_runs_the_list_or_its_batches_through_again_at_one_temperature(attackers):
    """Passes-style re-askers (k samples a prompt by running the list through k times) sample every request at one
    temperature; run through whole, the later half of the window asks only what is left of the first pass (with half
    the requests re-asks, nothing new: a fixed bank's shape, though sampled warm); a batch at a time, it asks more."""
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("prompted") >= 100) & (pl.col("greedy") == "no")
                           & (pl.col("conversation_wrapping") == "no"))
    passes = own.filter(pl.col("reask_style").str.starts_with("passes"))
    assert passes.height >= 3 and (passes["temperatures"].list.len() == 1).all()
    assert (passes["temperatures"].list.first() >= 0.7).all()

    def new_later(prompts: list[str]) -> float:
        half = len(prompts) // 2
        return sum(p not in set(prompts[:half]) for p in prompts[half:]) / (len(prompts) - half)

    def once_through(rate: float) -> float:     # the later half's new prompts when the whole list is run through once, then again
        return max(0.0, 1.0 - 2.0 * rate)

    whole = passes.filter(pl.col("reask_style") == "passes_of_list")
    batches = passes.filter(pl.col("reask_style") == "passes_of_batches")
    assert whole.height >= 1 and batches.height >= 1
    for row in whole.iter_rows(named=True):
        assert abs(new_later(row["prompts"]) - once_through(float(row["reask_share"]))) < 0.12, row["account_id"]
    for row in batches.iter_rows(named=True):
        assert new_later(row["prompts"]) > once_through(float(row["reask_share"])) + 0.1, row["account_id"]


def test_implicit_reasoning_attackers_ask_with_the_cap_not_with_words(attackers):
    from distillguard.simulator.vocabulary import DEFAULT, phrasing
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("prompted") >= 30) & (pl.col("target") != "grades"))
    implicit, explicit = own.filter(pl.col("reasoning") == "implicit"), own.filter(pl.col("reasoning") == "explicit")
    assert implicit.height >= 3 and explicit.height >= 3
    for row in own.iter_rows(named=True):
        phrases = [p.strip() for p in phrasing(DEFAULT, row["language"]).reasoning]
        asked = sum(any(p in prompt for p in phrases) for prompt in row["prompts"]) / len(row["prompts"])
        if row["reasoning"] == "implicit":
            assert asked == 0 and row["min_max_tokens"] >= 8192 and row["median_completion"] > 1500, row["account_id"]
        else:       # mimicry members word half their prompts or more: at tens of prompts, a draw can fall to 0.3
            assert asked > 0.25, (row["account_id"], asked)


def test_grade_harvesters_send_candidate_answers_and_take_short_judgements(pop_a, pop_c, attackers):
    """Reward-model harvesters (``target`` = grades): each prompt carries a question and one or two
    candidate answers, so it is longer than what comes back (a grade, a short justification, under
    a low cap); they ask no reasoning phrase of the answer-harvest set; every kind that harvests
    answers also harvests grades somewhere, rings as one operator."""
    from distillguard.simulator.vocabulary import DEFAULT, phrasing
    graders = attackers.filter((pl.col("target") == "grades") & (pl.col("prompted") >= 30))
    assert graders.height >= 3 and set(graders["kind"]) >= {"bulk_extractor"}
    for row in graders.iter_rows(named=True):
        assert row["median_prompt_tokens"] > row["median_completion"] and row["median_completion"] < 600, row["account_id"]
        assert row["max_max_tokens"] <= 1024, row["account_id"]
        phrases = [p.strip() for p in phrasing(DEFAULT, row["language"]).reasoning]
        assert not any(p in prompt for prompt in row["prompts"] for p in phrases), row["account_id"]
    for truth in (pop_a.truth, pop_c.truth):
        rings = truth.filter(pl.col("ring_id").is_not_null() & pl.col("target").is_in(["grades", "answers"]))
        assert rings.height > 0 and (rings.group_by("ring_id").agg(pl.col("target").n_unique())["target"] == 1).all()


def test_aged_accounts_are_old_at_onset_and_fresh_ones_new(attackers):
    aged, fresh = attackers.filter(pl.col("age") == "aged"), attackers.filter(pl.col("age") == "fresh")
    assert aged.height >= 3 and fresh.height >= 3
    assert (aged["age_at_onset_days"] >= 199).all()
    assert (fresh["age_at_onset_days"] < 40).all()
    burners = fresh.filter(pl.col("kind") == "burner")
    assert burners.height and (burners["age_at_onset_days"] < 0.2).all()       # first request within hours of sign-up


def _longest_quiet_hours(hours: list[int]) -> int:
    present = set(hours)
    best = run = 0
    for h in range(48):
        run = 0 if h % 24 in present else run + 1
        best = max(best, run)
    return min(best, 24)


def test_timing_axis_shapes_request_times(attackers):
    scripted = attackers.filter(pl.col("kind").is_in(["bulk_extractor", "burner"]) & (pl.col("requests") >= 200))
    flat, jittered = scripted.filter(pl.col("timing") == "flat"), scripted.filter(pl.col("timing") == "jittered")
    assert flat.height >= 2 and jittered.height >= 2
    assert (flat["gap_cv"] < 0.3).all(), flat["gap_cv"].to_list()                 # a metronome
    assert (jittered["gap_cv"] > 0.45).all(), jittered["gap_cv"].to_list()
    diurnal = attackers.filter((pl.col("timing") == "diurnal") & (pl.col("requests") >= 100)
                               & pl.col("kind").is_in(["bulk_extractor", "coordinated_ring", "mimicry_ring", "reseller_ring"]))
    assert diurnal.height >= 3
    for row in diurnal.iter_rows(named=True):                                    # its persona sleeps
        assert _longest_quiet_hours(row["hours"]) >= 6, (row["account_id"], row["kind"], row["hours"])
    day_long = attackers.filter((pl.col("kind") == "bulk_extractor") & (pl.col("timing") != "diurnal"))
    assert all(len(h) >= 20 for h in day_long["hours"])


def test_sampling_and_system_prompt_axes_show_in_requests(attackers):
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("requests") >= 30))
    expect = {"none": (False, False), "logprobs": (True, False), "multi": (False, True), "both": (True, True)}
    for value, (lp, multi) in expect.items():
        rows = own.filter(pl.col("sampling") == value)
        assert rows.height >= 1, value
        assert (rows["any_logprobs"] == lp).all() and (rows["any_multi"] == multi).all(), value
    with_sp, without = own.filter(pl.col("system_prompt") == "yes"), own.filter(pl.col("system_prompt") == "no")
    assert with_sp.height and without.height
    assert (with_sp["no_system"] == 0).all() and (without["no_system"] == without["requests"]).all()


def test_volume_axis_is_the_accounts_real_rate_and_big_rings_are_low_and_slow(attackers):
    steady = attackers.filter(pl.col("kind") != "burner")
    ratio = steady["requests"] / steady["requests_per_day"].cast(pl.Float64)
    assert ((ratio > 0.7) & (ratio < 1.3)).all()
    big = steady.filter(pl.col("ring_id").is_not_null()).group_by("ring_id").agg(pl.len().alias("members"), pl.col("requests").median().alias("median"))
    hydra = big.filter(pl.col("members") >= 40)
    assert hydra.height >= 1 and (hydra["median"] < 100).all()
    assert attackers["requests"].max() > 100 * attackers["requests"].min()


def test_hard_benign_variants_look_like_their_trade(accounts):
    lab = accounts.filter(pl.col("variant") == "multilingual_eval_lab")
    assert lab.height >= 2
    for row in lab.iter_rows(named=True):
        counts = pl.Series(row["prompts"]).value_counts()["count"]
        assert (counts >= 2).mean() > 0.95 and row["distinct"] <= row["prompted"] / 2      # one fixed bank, re-run (a logged prompt may be cut)
        assert row["non_ascii"] > 0.9 and row["language"] not in ("en", "-")
        assert set(row["temperatures"]) in ({0.0}, {0.8}) and (row["any_multi"] == (set(row["temperatures"]) == {0.8}))
        assert row["age_at_onset_days"] >= 199
    translation = accounts.filter(pl.col("variant") == "translation_product")
    assert translation.height >= 2
    assert (translation["end_users"] > 100).all() and (translation["non_ascii"] > 0.1).all() and (translation["system_prompts"] == 1).all()
    vendor = accounts.filter(pl.col("variant") == "label_vendor")
    assert vendor.height >= 2
    assert (vendor["requests"] >= 1500).all() and (vendor["json_share"] == 1).all() and (vendor["max_max_tokens"] <= 128).all()
    assert (vendor["distinct"] >= 0.99 * vendor["prompted"]).all() and (vendor["no_system"] == 0).all() and (vendor["system_prompts"] == 1).all()
    assert (vendor["age_at_onset_days"] >= 199).all() and (vendor["median_completion"] < 64).all()
    assert accounts.filter(pl.col("label") == "benign")["variant"].n_unique() >= 9
    assert (accounts.filter(pl.col("variant").is_in(["multilingual_eval_lab", "translation_product", "label_vendor"]))["hard_negative"]).all()


def test_conversation_id_formats_do_not_tell_kinds_apart(pop_c):
    ev = pop_c.events.filter(pl.col("conversation_id").is_not_null()).join(pop_c.truth.select("account_id", "kind"), on="account_id")
    style = (pl.when(pl.col("conversation_id").str.starts_with("conv_")).then(pl.lit("conv"))
             .when(pl.col("conversation_id").str.starts_with("thread-")).then(pl.lit("thread"))
             .when(pl.col("conversation_id").str.contains(r"^[0-9a-f]{32}$")).then(pl.lit("hex")).otherwise(pl.lit("account")))
    styles = ev.with_columns(style.alias("style")).group_by("kind").agg(pl.col("style").unique())
    by_kind = {k: set(v) for k, v in styles.iter_rows()}
    assert len(by_kind["casual_chat"]) >= 3
    assert by_kind["mimicry_ring"] <= by_kind["casual_chat"]


def test_account_ids_follow_creation_not_kind(pop_a):
    numbered = pop_a.truth.join(pop_a.accounts.select("account_id", "created_at"), on="account_id").sort("account_id")
    assert numbered["created_at"].is_sorted()
    attack_rank = numbered.with_row_index("rank").filter(pl.col("label") == "attack")["rank"]
    assert attack_rank.min() < numbered.height / 2          # bought, aged attack accounts sit among old ones


# -- newer attacker habits: posing as a product, as a chat, greedy, one extraction over several accounts --

NEW_AXES = ("fake_end_users", "conversation_wrapping", "greedy", "split_accounts", "split_shared")
GROUP_VARIANTS = ("enterprise_team", "research_lab", "agency", "load_tester")


def test_truth_names_the_new_axes_and_group_facets(pop_a, pop_c, accounts, attackers):
    for t in (pop_a, pop_c):
        assert {*NEW_AXES, "role", "group_size", "account_age"} <= set(t.truth.columns)
        benign = t.truth.filter(pl.col("label") == "benign")
        assert set(GROUP_VARIANTS) <= set(benign["variant"])
        groups = benign.filter(pl.col("variant").is_in(GROUP_VARIANTS))
        assert groups["hard_negative"].all() and (groups["role"] != "-").all() and (groups["account_age"] != "-").all()
        for axis in NEW_AXES:
            assert (benign[axis] == "-").all(), axis
    own = attackers.filter(pl.col("kind") != "reseller_ring")
    for axis, values in (("fake_end_users", {"no", "uniform", "skewed"}), ("conversation_wrapping", {"no", "fake_history", "threaded"}),
                         ("greedy", {"no", "yes"})):
        assert set(own[axis]) == values, axis
    assert set(attackers.filter(pl.col("kind") == "reseller_ring")["greedy"]) <= {"yes", "no"}
    bulk = attackers.filter(pl.col("kind") == "bulk_extractor")
    assert {"no"} < set(bulk["split_accounts"]) and (attackers.filter(pl.col("kind") != "bulk_extractor")["split_accounts"] == "-").all()


def test_greedy_harvesters_ask_everything_at_temperature_zero_for_long_answers(attackers):
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("requests") >= 30) & (pl.col("target") != "grades"))
    greedy, other = own.filter(pl.col("greedy") == "yes"), own.filter(pl.col("greedy") == "no")
    assert greedy.height >= 5 and other.height >= 5
    for row in greedy.iter_rows(named=True):
        assert list(row["temperatures"]) == [0.0] and not row["any_multi"], row["account_id"]
        assert row["median_completion"] > 700 and row["max_max_tokens"] >= 2048, row["account_id"]       # long answers still asked for
    assert (other["temperatures"].list.len() > 1).mean() > 0.3          # the others sample, or re-ask warm


def test_fake_end_user_harvesters_carry_many_ids_and_one_product_prompt(attackers):
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("requests") >= 50))
    uniform, skewed = own.filter(pl.col("fake_end_users") == "uniform"), own.filter(pl.col("fake_end_users") == "skewed")
    assert uniform.height >= 3 and skewed.height >= 3
    for row in pl.concat([uniform, skewed]).iter_rows(named=True):
        assert row["end_users"] >= min(20, row["requests"] // 5), (row["account_id"], row["end_users"], row["requests"])
        assert row["no_system"] == 0 and row["system_prompts"] == 1 and row["system_prompt"] == "yes", row["account_id"]
    assert (uniform["end_users"] > 0.3 * uniform["requests"]).all()                 # most ids seen once or twice
    assert skewed["top_user_share"].median() > 3 * uniform["top_user_share"].median()  # a few heavy "users"
    assert (own.filter(pl.col("fake_end_users") == "no")["end_users"] <= 1).all()    # null only


def test_wrapped_harvest_prompts_look_like_later_chat_turns(attackers):
    own = attackers.filter((pl.col("kind") != "reseller_ring") & (pl.col("requests") >= 50))
    history, threaded = own.filter(pl.col("conversation_wrapping") == "fake_history"), own.filter(pl.col("conversation_wrapping") == "threaded")
    assert history.height >= 3 and threaded.height >= 3
    assert (history["min_turn"] >= 2).all() and (history["conversations"] >= 0.9 * history["requests"]).all()
    assert (threaded["max_turn"] >= 3).all() and (threaded["conversations"] < threaded["requests"] / 2).all()
    plain = own.filter((pl.col("conversation_wrapping") == "no") & (pl.col("kind") != "mimicry_ring"))
    assert (plain["conversations"] == 0).all()
    # the earlier turns are sent along: a wrapped prompt costs more prompt tokens than a bare one
    assert history["median_prompt_tokens"].median() > 2 * plain["median_prompt_tokens"].median()
    from distillguard.simulator.vocabulary import DEFAULT, phrasing
    for row in pl.concat([history, threaded]).iter_rows(named=True):
        leads = phrasing(DEFAULT, row["language"]).followups
        share = sum(any(p.startswith(f) for f in leads) for p in row["prompts"]) / max(1, len(row["prompts"]))
        assert 0.1 < share < 0.95, (row["account_id"], share)


def test_split_extractors_spread_one_sweep_over_accounts_sharing_one_or_two_things(attackers):
    split = attackers.filter(pl.col("split_accounts").is_in(["3-4", "5-8"]))
    groups = split.group_by("ring_id").agg(pl.len().alias("k"), pl.col("split_shared").first(), pl.col("split_accounts").first(),
                                          pl.col("payment_fingerprint").n_unique().alias("cards"), pl.col("email_domain").n_unique().alias("domains"),
                                          pl.col("ips").list.explode(keep_nulls=False, empty_as_null=False).alias("ips"),
                                          pl.col("ips").list.len().sum().alias("ip_uses"),
                                          ((pl.col("created_at").max() - pl.col("created_at").min()).dt.total_seconds() / 3600).alias("signup_hours"),
                                          pl.col("age").first(), pl.col("requests").max().alias("largest"), pl.col("requests").sum().alias("total"))
    assert groups.height >= 3
    for g in groups.iter_rows(named=True):
        assert 3 <= g["k"] <= 8 and g["split_accounts"] == ("3-4" if g["k"] <= 4 else "5-8"), g
        parts = set(g["split_shared"].split("+"))
        assert (g["cards"] == 1) == ("payment" in parts), g
        assert (g["domains"] == 1) == ("domain" in parts) or g["k"] <= 3, g
        if "signup" in parts and g["age"] == "fresh":
            assert g["signup_hours"] < 1.5, g
        assert len(set(g["ips"])) == g["ip_uses"], g                      # no address shared between the accounts
        assert g["largest"] < 0.6 * g["total"], g                         # the volume is split, no account carries it
    assert split["requests"].min() > 200


# -- benign groups that look like rings or harvesters ---------------------------------------------------

def test_enterprise_teams_share_payment_domain_office_and_onboarding(accounts, pop_a, pop_c):
    team = accounts.filter(pl.col("variant") == "enterprise_team")
    teams = team.group_by("email_domain").agg(
        pl.len().alias("k"), pl.col("payment_fingerprint").drop_nulls().mode().first().alias("card"),
        pl.col("payment_fingerprint").alias("cards"), pl.col("created_at").sort().alias("created"),
        pl.col("ips").list.explode(keep_nulls=False, empty_as_null=False).alias("ips"), pl.col("role").unique().alias("roles"), pl.col("group_size").first())
    assert teams.height >= 4
    made_together = 0
    for g in teams.iter_rows(named=True):
        assert 5 <= g["k"] <= 30
        assert sum(c == g["card"] for c in g["cards"]) >= 0.6 * g["k"], g["email_domain"]     # the company card
        ips = pl.Series(g["ips"]).value_counts()
        assert ips["count"].max() >= min(3, g["k"]), g["email_domain"]                         # one office egress
        days = np.array([(c - g["created"][0]).total_seconds() / 86400 for c in g["created"]])
        together = max(((days >= d) & (days <= d + 2)).sum() for d in days)
        assert together >= 0.25 * g["k"], (g["email_domain"], days.round(1))                  # the onboarding day or two
        made_together += together < g["k"]                                                      # ... and others over months
    assert made_together >= 1
    assert set(team["role"]) == {"developer", "coding_agent", "chat", "internal_tool"}
    tool = team.filter(pl.col("role") == "internal_tool")
    assert (tool["end_users"] >= 10).all() and (tool["system_prompts"] == 1).all()
    for pop in (pop_a, pop_c):       # business hours in the office's time zone: the team's busiest 11 hours hold most of its traffic
        ids = pop.truth.filter(pl.col("variant") == "enterprise_team").join(pop.accounts.select("account_id", "email_domain"), on="account_id")
        ev = pop.events.join(ids.select("account_id", "email_domain"), on="account_id")
        for _, hours in ev.group_by("email_domain"):
            counts = np.bincount(hours["ts"].dt.hour().to_numpy(), minlength=24)
            best = max(np.roll(counts, -h)[:11].sum() for h in range(24))
            assert best > 0.6 * counts.sum()
    shared_prompt = team.filter(pl.col("no_system") < pl.col("requests")).group_by("email_domain").len()
    assert shared_prompt["len"].max() >= 2                                                       # an internal tool's prompt on several accounts


def test_research_labs_run_cot_evaluations_with_samples_and_logprobs(accounts):
    lab = accounts.filter(pl.col("variant") == "research_lab")
    labs = lab.group_by("email_domain").agg(pl.len().alias("k"), pl.col("payment_fingerprint").n_unique().alias("cards"))
    assert labs.height >= 3 and labs["k"].min() >= 3 and labs["k"].max() <= 12
    assert (labs["cards"] < labs["k"]).all()                                         # the grant card
    cot, sampled, calibration = (lab.filter(pl.col("role") == r) for r in ("cot_eval", "pass_at_k", "calibration"))
    assert cot.height and sampled.height and calibration.height
    assert (cot["median_completion"] > 500).all() and (cot["max_max_tokens"] >= 4096).all()
    assert sampled["any_multi"].all() and calibration["any_logprobs"].all() and not cot["any_logprobs"].any()
    for row in lab.iter_rows(named=True):
        from distillguard.simulator.vocabulary import DEFAULT, phrasing
        ph = phrasing(DEFAULT, row["language"])
        cues = [r.strip() for r in ph.reasoning] + [ph.bench_suffix.strip()]
        assert sum(any(c in p for c in cues) for p in row["prompts"]) == len(row["prompts"]), row["account_id"]   # chain of thought asked


def test_a_labs_benchmark_grows_over_the_window_in_bursts():
    from distillguard.simulator.behaviours import Account, Context, research_lab
    from distillguard.simulator.vocabulary import DEFAULT
    rng = np.random.default_rng(4)
    acct = Account("acct-1", "research_lab", "benign", True, tz=1.0, ips=["10.0.0.1"], asns=[1], country="DE", user_agents=["x"],
                   api_keys=["k"], tier="paid", variant="research_lab")
    run = {"temperature": 0.0, "n": 1, "max_tokens": 4096, "completion": 1500.0, "logprobs": False, "top_logprobs": 0, "models": ["m1", "m2"]}
    acct.extra.update(bank=[f"item {i}" for i in range(400)], bank_start=150, run=run, active_days=[0, 3], runs=6, shard=(0, 1))
    out = research_lab(acct, Context(vocab=DEFAULT, n_days=5, rng=rng), 1500)
    t = np.asarray(out["t"])
    day = (t // 86400).astype(int)
    assert set(day) <= {0, 3}                                                   # bursts on active days, idle days between
    runs = np.split(np.arange(len(t)), np.flatnonzero(np.diff(t) > 600) + 1)
    sizes = [len(set(out["prompt"][i] for i in r)) for r in runs]
    assert len(runs) >= 2 and sizes[-1] > sizes[0]                              # later runs carry the items added since


def test_agencies_front_a_few_stable_client_apps(accounts):
    agency = accounts.filter(pl.col("variant") == "agency")
    assert agency.height >= 2
    assert ((agency["system_prompts"] >= 2) & (agency["system_prompts"] <= 9)).all()
    assert ((agency["user_agents"] >= 2) & (agency["user_agents"] <= 4)).all()
    assert (agency["requests"] < 5000).all() and (agency["age_at_onset_days"] >= 4).all()


def test_load_testers_are_fresh_short_lived_scripted_and_rate_limited(accounts):
    load = accounts.filter(pl.col("variant") == "load_tester")
    assert load.height >= 2
    assert (load["requests"] >= 1000).all() and (load["span_hours"] <= 1.1).all() and (load["gap_cv"] < 1.5).all()
    assert (load["age_at_onset_days"] < 3.1).all() and (load["median_completion"] < 100).all()
    for row in load.iter_rows(named=True):
        openings = pl.Series(row["prompts"]).str.replace_all(r"\d+", "#").n_unique()
        assert openings <= 4, row["account_id"]
    assert (load["limited_share"] > 0.02).all() and load["limited_share"].max() > 0.3      # past the tier's per-minute cap
