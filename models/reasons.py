"""Reasons in words and numbers: why an account is flagged, relative to its peers.

Every sentence quotes a figure an analyst can recompute with SQL on ``events``.

>>> row = {"reasoning_share": 0.92, "reasoning_share_peer_median": 0.03, "n_requests": 18400}
>>> describe("reasoning_share", row)
'reasoning-trace requests in 92% of 18,400 requests; peers median 3%'
"""

from __future__ import annotations

from typing import Any, Callable

import polars as pl


def _pct(x: Any) -> str:
    return f"{100 * float(x or 0):.0f}%"


def _num(x: Any) -> str:
    x = float(x or 0)
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2g}"


def _peer(row: dict, name: str, fmt: Callable[[Any], str]) -> str:
    median = row.get(f"{name}_peer_median")
    return "" if median is None else f"; peers median {fmt(median)}"


TEMPLATES: dict[str, Callable[[dict], str]] = {
    "reasoning_share": lambda r: f"reasoning-trace requests in {_pct(r['reasoning_share'])} of {r['n_requests']:,} requests" + _peer(r, "reasoning_share", _pct),
    "rubric_share": lambda r: f"grader/rubric prompts in {_pct(r['rubric_share'])} of requests" + _peer(r, "rubric_share", _pct),
    "length_cut_share": lambda r: f"{_pct(r['length_cut_share'])} of answers cut at max_tokens (finish_reason=length)" + _peer(r, "length_cut_share", _pct),
    "logprobs_share": lambda r: f"token log-probabilities requested in {_pct(r['logprobs_share'])} of requests" + _peer(r, "logprobs_share", _pct),
    "multi_sample_share": lambda r: f"several completions per prompt (n>1) in {_pct(r['multi_sample_share'])} of requests" + _peer(r, "multi_sample_share", _pct),
    "distinct_prompt_share": lambda r: f"{_pct(r['distinct_prompt_share'])} of prompts are never repeated (a training-set sweep, not a test suite)" + _peer(r, "distinct_prompt_share", _pct),
    "slot_diversity": lambda r: f"templated prompts whose slots sweep new values ({_pct(r['slot_diversity'])} of slot words distinct)" + _peer(r, "slot_diversity", _pct),
    "interarrival_cv": lambda r: f"machine-regular timing: gaps vary by {_num(r['interarrival_cv'])} of their mean" + _peer(r, "interarrival_cv", _num),
    "n_requests": lambda r: f"{r['n_requests']:,} requests in the window" + _peer(r, "n_requests", _num),
    "account_age_days": lambda r: f"account created {float(r['account_age_days']):.1f} days before its first request",
    "rate_limited_share": lambda r: f"{_pct(r['rate_limited_share'])} of requests rate-limited (HTTP 429)" + _peer(r, "rate_limited_share", _pct),
    "n_system_prompts": lambda r: (
        f"{r['n_system_prompts']:,} distinct system prompts, {r['n_client_styles']:,} client styles and "
        f"{r['n_user_agents']:,} user agents behind one account (a proxy fronting many downstream clients)"
    ),
    "hour_entropy": lambda r: f"active round the clock (hour-of-day spread {_num(r['hour_entropy'])} of the maximum)",
}

#: Which features speak for each signature part, strongest evidence first.
PART_FEATURES: dict[str, list[tuple[str, Callable[[dict], bool]]]] = {
    "sig_harvest": [
        ("reasoning_share", lambda r: r["reasoning_share"] >= 0.3),
        ("rubric_share", lambda r: r["rubric_share"] >= 0.3),
        ("length_cut_share", lambda r: r["length_cut_share"] >= 0.2),
        ("logprobs_share", lambda r: r["logprobs_share"] >= 0.25),
        ("multi_sample_share", lambda r: r["multi_sample_share"] >= 0.25),
    ],
    "sig_novelty": [("distinct_prompt_share", lambda r: r["distinct_prompt_share"] >= 0.9 and r["prompt_logged_share"] >= 0.2)],
    "sig_coverage": [
        ("n_requests", lambda r: r["n_requests"] >= 3 * max(1.0, float(r.get("n_requests_peer_median") or 1.0)) or r["n_requests"] >= 3000),
        ("slot_diversity", lambda r: r["slot_diversity"] >= 0.45),
        ("interarrival_cv", lambda r: r["interarrival_cv"] <= 0.5 and r["n_requests"] >= 100),
        ("account_age_days", lambda r: r["account_age_days"] is not None and r["account_age_days"] <= 14),
        ("rate_limited_share", lambda r: r["rate_limited_share"] >= 0.05),
    ],
    "sig_downstream": [("n_system_prompts", lambda r: r["n_system_prompts"] >= 5)],
}


def describe(feature: str, row: dict) -> str:
    return TEMPLATES[feature](row)


def account_reasons(row: dict, max_reasons: int = 6) -> list[str]:
    """The few sentences that explain an account's signature, strongest parts first."""
    parts = sorted(PART_FEATURES, key=lambda p: -float(row.get(p) or 0.0))
    reasons: list[str] = []
    for part in parts:
        if float(row.get(part) or 0.0) < 0.3:
            continue
        for feature, applies in PART_FEATURES[part]:
            try:
                if applies(row):
                    reasons.append(describe(feature, row))
            except (KeyError, TypeError):
                continue
    ensemble = row.get("ensemble_z")
    if ensemble is not None and ensemble >= 3:
        reasons.append(f"unusual overall profile: outlier ensemble (IForest+ECOD+HBOS) {ensemble:.1f} robust SDs above the population")
    return reasons[:max_reasons]


def reasons_column(frame: pl.DataFrame) -> pl.Series:
    return pl.Series("reasons", [account_reasons(r) for r in frame.iter_rows(named=True)], dtype=pl.List(pl.String))
