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
    for kind in ("casual_chat", "production_integration", "bulk_extractor"):
        med_a = kind_of(pop_a, kind).group_by("account_id").len()["len"].median()
        med_b = kind_of(pop_b, kind).group_by("account_id").len()["len"].median()
        assert 0.4 < med_a / med_b < 2.5, kind


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
    truth = pop_a.truth.filter(pl.col("kind") == "coordinated_ring")
    ring = truth["ring_id"][0]
    members = truth.filter(pl.col("ring_id") == ring)["account_id"]
    ev = pop_a.events.filter(pl.col("account_id").is_in(members.implode()))
    ip_accounts = ev.group_by("client_ip").agg(pl.col("account_id").n_unique().alias("k"))
    assert ip_accounts["k"].max() >= 3
    acc = pop_a.accounts.filter(pl.col("account_id").is_in(members.implode()))
    assert acc["payment_fingerprint"].n_unique() < len(members)
    assert acc["email_domain"].n_unique() == 1
    assert ev["system_prompt_hash"].n_unique() == 1


def test_reseller_accounts_front_many_system_prompts_and_clients(pop_a):
    res = kind_of(pop_a, "reseller_ring").group_by("account_id").agg(
        pl.col("system_prompt_hash").n_unique().alias("sp"), pl.col("user_agent").n_unique().alias("ua"))
    assert (res["sp"] >= 20).all() and (res["ua"] >= 20).all()


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
