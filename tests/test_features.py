"""Feature definitions on small hand-made event frames (plain data)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.events import normalise_event_frame
from distillguard.features import account_features, network_prefix
from distillguard.features.families import ALL_FEATURES
from distillguard.features.text import REASONING, sample_prompts, template_features

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def frame(rows: list[dict]) -> pl.DataFrame:
    base = {"api_key_id": "k", "client_ip": "198.51.100.7", "endpoint": "/v1/messages", "model": "m", "status": 200,
            "prompt_tokens": 20, "completion_tokens": 100}
    return normalise_event_frame(pl.DataFrame([{**base, **r} for r in rows]))


def events_of(account: str, n: int, gap_s: float, prompt, **extra) -> list[dict]:
    return [{"event_id": f"{account}-{i}", "ts": T0 + timedelta(seconds=gap_s * i), "account_id": account,
             "prompt": prompt(i), **extra} for i in range(n)]


def test_every_feature_has_a_name_and_a_meaning():
    names = [f.name for f in ALL_FEATURES]
    assert len(names) == len(set(names))
    assert all(f.meaning and f.family for f in ALL_FEATURES)


def test_scripted_timing_and_repetition_are_measured():
    rows = events_of("bot", 50, 6.0, lambda i: f"Describe city number {i} in detail")
    rows += events_of("tester", 50, 6.0, lambda i: "ping test prompt", client_ip="203.0.113.9")
    f = {r["account_id"]: r for r in account_features(frame(rows)).iter_rows(named=True)}
    assert f["bot"]["interarrival_cv"] < 0.01
    assert f["bot"]["distinct_prompt_share"] == 1.0
    assert f["tester"]["distinct_prompt_share"] == 1 / 50
    assert f["bot"]["n_requests"] == 50


def test_downstream_diversity_counts_system_prompts_users_and_clients():
    rows = [
        {"event_id": f"r{i}", "ts": T0 + timedelta(minutes=i), "account_id": "proxy", "prompt": "hi",
         "system_prompt_hash": f"sp{i % 7}", "end_user_id": f"u{i % 11}", "user_agent": f"client/{i % 5}"}
        for i in range(70)
    ]
    row = account_features(frame(rows)).row(0, named=True)
    assert (row["n_system_prompts"], row["n_end_users"], row["n_user_agents"]) == (7, 11, 5)
    assert row["n_client_styles"] == 5
    assert row["system_prompt_entropy"] > 0.4


def test_template_words_are_learned_per_account_and_slots_counted():
    topics = [f"{chr(97 + i % 26)}{chr(97 + i // 26)}x {chr(98 + i % 20)}{chr(97 + i // 20)}y" for i in range(60)]
    sample = sample_prompts(frame(events_of("t", 60, 1.0, lambda i: f"Write a lesson about {topics[i]} for experts")))
    out = template_features(sample).row(0, named=True)
    assert out["dominant_skeleton"] == "write a lesson about for experts"
    assert out["top_skeleton_share"] == 1.0
    assert out["template_word_share"] > 0.6


def test_reasoning_lexicon_matches_common_elicitation_phrasings():
    texts = pl.Series(["Think it through step-by-step.", "show your work", "what's the weather", "Lay out each step before giving the final answer"])
    assert pl.select(REASONING.matches(pl.lit(texts))).to_series().to_list() == [True, True, False, True]


def test_network_prefix_handles_ipv4_and_ipv6():
    ips = pl.Series(["192.0.2.33", "2001:db8:abcd:12::1", "not-an-ip"])
    assert pl.select(network_prefix(pl.lit(ips))).to_series().to_list() == ["192.0.2.0/24", "2001:db8:abcd::/48", "not-an-ip"]


def test_account_age_comes_from_the_accounts_file_when_present():
    rows = events_of("a", 5, 60.0, lambda i: f"q{i}")
    accounts = pl.DataFrame({"account_id": ["a"], "created_at": [T0 - timedelta(days=3)]})
    with_meta = account_features(frame(rows), accounts).row(0, named=True)
    without = account_features(frame(rows)).row(0, named=True)
    assert abs(with_meta["account_age_days"] - 3.0) < 1e-6
    assert without["account_age_days"] is None


def _normalised_by_definition(prompt: pl.Expr) -> pl.Expr:
    """Normalisation step by step: punctuation to spaces, then white space folded (the slow, obvious way)."""
    text = prompt.str.slice(0, 2000).str.to_lowercase().str.replace_all(r"\d+", "0")
    return text.str.replace_all(r"[^\w\s]", " ").str.replace_all(r"\s+", " ").str.strip_chars()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aZ1_ ,.!?-\t\n\u00a0\u2003é٣中½")), max_size=40), max_size=25))
def test_prompt_normalisation_equals_its_step_by_step_definition(prompts):
    from distillguard.features.text import normalised_prompt

    frame = pl.DataFrame({"prompt": prompts + [None, "x" * 2100 + " 7"]}, schema={"prompt": pl.String})
    fast = frame.select(normalised_prompt(pl.col("prompt")))["prompt"].to_list()
    assert fast == frame.select(_normalised_by_definition(pl.col("prompt")))["prompt"].to_list()
