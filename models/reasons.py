"""Reasons in words and numbers: why an account scored what it did, family by family.

Every sentence quotes a figure an analyst can recompute with SQL on ``events``, and appears only
when that figure is past the policy's own cut-off for it (the low end of its ramp in
:class:`~distillguard.models.policy.PolicySettings`), so reasons and score never disagree. The
families that gave the most points come first; counter-evidence is said too.

>>> row = {"reasoning_share": 0.92, "reasoning_share_peer_median": 0.03, "n_requests": 18400, "ev_elicitation": 1.0}
>>> account_reasons(row)
['reasoning-trace requests in 92% of 18,400 requests; peers median 3%']
"""

from __future__ import annotations

from typing import Any, Callable

from distillguard.models.policy import COUNTER, PolicySettings

SHOW_FROM = 0.3      # a family's evidence from which its sentences are shown


def _pct(x: Any) -> str:
    return f"{100 * float(x or 0):.0f}%"


def _num(x: Any) -> str:
    x = float(x or 0)
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2g}"


def _peer(row: dict, name: str, fmt: Callable[[Any], str]) -> str:
    """"; peers median X" when the peers' median is known and reads differently from the account's own figure."""
    median = row.get(f"{name}_peer_median")
    if median is None or fmt(median) == fmt(row.get(name)):
        return ""
    return f"; peers median {fmt(median)}"


Sentence = tuple[str, Callable[[dict, PolicySettings], bool], Callable[[dict], str]]

# Per family: (feature, shown when, sentence). "Shown when" is the low end of the policy's ramp.
FAMILY_SENTENCES: dict[str, list[Sentence]] = {
    "elicitation": [
        ("reasoning_share", lambda r, s: r["reasoning_share"] > s.reasoning_share[0],
         lambda r: f"reasoning-trace requests in {_pct(r['reasoning_share'])} of {r['n_requests']:,} requests" + _peer(r, "reasoning_share", _pct)),
        ("rubric_share", lambda r, s: r["rubric_share"] > s.rubric_share[0],
         lambda r: f"grader/rubric prompts in {_pct(r['rubric_share'])} of requests" + _peer(r, "rubric_share", _pct)),
        ("fixed_format_share", lambda r, s: r["fixed_format_share"] > s.fixed_format_share[0],
         lambda r: f"a fixed answer format demanded in {_pct(r['fixed_format_share'])} of requests"),
    ],
    "answer_depth": [
        ("long_answer_share", lambda r, s: r["long_answer_share"] > s.long_answer_share[0],
         lambda r: f"long worked answers: median {_num(r['completion_tokens_median'])} completion tokens, "
                   f"{_num(r['completion_prompt_ratio'])}x the prompt" + _peer(r, "completion_tokens_median", _num)),
        ("length_cut_share", lambda r, s: r["length_cut_share"] > s.length_cut_share[0],
         lambda r: f"{_pct(r['length_cut_share'])} of answers run to max_tokens (finish_reason=length)" + _peer(r, "length_cut_share", _pct)),
    ],
    "sampling": [
        ("logprobs_share", lambda r, s: r["logprobs_share"] > s.logprobs_share[0],
         lambda r: f"token log-probabilities requested in {_pct(r['logprobs_share'])} of requests" + _peer(r, "logprobs_share", _pct)),
        ("multi_sample_share", lambda r, s: r["multi_sample_share"] > s.multi_sample_share[0],
         lambda r: f"several completions per prompt (n>1) in {_pct(r['multi_sample_share'])} of requests" + _peer(r, "multi_sample_share", _pct)),
        ("hot_reask_share", lambda r, s: r["hot_reask_share"] > s.hot_reask_share[0],
         lambda r: f"{_pct(r['hot_reask_share'])} of requests re-ask an earlier prompt while sampling (best-of-n harvesting)"),
    ],
    "coverage": [
        ("prompt_growth", lambda r, s: r["prompt_growth"] > s.prompt_growth[0],
         lambda r: f"a prompt set that keeps growing: {r['distinct_prompts']:,} distinct prompts, {_pct(r['prompt_growth'])} of the "
                   "later requests ask prompts not asked before"),
        ("slot_diversity", lambda r, s: r["slot_diversity"] > s.slot_diversity[0] and r["top_skeleton_share"] > s.top_skeleton_share[0],
         lambda r: f"templated prompts ({_pct(r['top_skeleton_share'])} share one skeleton) whose slots sweep new values "
                   f"({_pct(r['slot_diversity'])} of slot words distinct)"),
    ],
    "scale": [
        ("requests_per_day", lambda r, s: r["requests_per_day"] >= 10 ** s.requests_per_day_log10[0],
         lambda r: f"{_num(r['requests_per_day'])} requests a day" + _peer(r, "requests_per_day", _num)),
        ("requests_per_active_hour", lambda r, s: r["requests_per_active_hour"] >= 10 ** s.requests_per_active_hour_log10[0],
         lambda r: f"{_num(r['requests_per_active_hour'])} requests per active hour" + _peer(r, "requests_per_active_hour", _num)),
    ],
    "timing": [
        ("interarrival_cv", lambda r, s: 1 - r["interarrival_cv"] > s.regularity[0],
         lambda r: f"machine-regular timing: gaps vary by {_num(r['interarrival_cv'])} of their mean" + _peer(r, "interarrival_cv", _num)),
        ("hour_entropy", lambda r, s: r["hour_entropy"] > s.round_the_clock[0],
         lambda r: f"active round the clock (hour-of-day spread {_num(r['hour_entropy'])} of the maximum)"),
    ],
    "freshness": [
        ("account_age_days", lambda r, s: r["account_age_days"] is not None and r["account_age_days"] < s.fresh_days,
         lambda r: f"account created {float(r['account_age_days']):.1f} days before its first request"),
    ],
    "rate_pressure": [
        ("rate_limited_share", lambda r, s: r["rate_limited_share"] > s.rate_limited_share[0],
         lambda r: f"{_pct(r['rate_limited_share'])} of requests rate-limited (HTTP 429)" + _peer(r, "rate_limited_share", _pct)),
    ],
    "infrastructure": [
        ("n_prefixes", lambda r, s: r["n_prefixes"] >= 10 ** s.prefixes_log10[0],
         lambda r: f"traffic from {r['n_prefixes']:,} networks ({r.get('n_ips') or 0:,} IPs)"),
    ],
    "anomaly": [
        ("anomaly_z", lambda r, s: r.get("anomaly_z") is not None,
         lambda r: f"unusual for a {str(r.get('peer_group') or 'comparable').split('-')[-1]} account: outlier models "
                   f"(PyOD IForest+ECOD+HBOS on the shape of its use) put it {float(r['anomaly_z']):.1f} robust deviations from its peers"),
    ],
    "downstream": [
        ("n_system_prompts", lambda r, s: r["n_system_prompts"] >= 10 ** s.system_prompts_log10[0],
         lambda r: f"{r['n_system_prompts']:,} distinct system prompts, {r['n_client_styles']:,} client styles and "
                   f"{r['n_user_agents']:,} user agents behind one account (a proxy fronting many downstream clients)"),
    ],
}

COUNTER_SENTENCES: dict[str, Callable[[dict], str]] = {
    "rerun": lambda r: f"weighs against: {_pct(r['cold_reask_share'] + r['hot_reask_share'])} of requests re-run earlier prompts while the "
                       f"prompt set stops growing ({_pct(r['prompt_growth'])} new later on: a fixed bank, as benchmarks do)",
    "conversation": lambda r: f"weighs against: conversational or agent use (mean turn {_num(r['mean_turn'])}, tools in {_pct(r['tool_share'])} of requests)",
    "product": lambda r: f"weighs against: one product serving {r['n_end_users']:,} end users",
    "evaluation": lambda r: f"weighs against: greedy decoding in {_pct(r['deterministic_share'])} of requests with short answers "
                            f"(median {_num(r['completion_tokens_median'])} tokens), as evaluations and labelling jobs do",
}


def account_reasons(row: dict, settings: PolicySettings | None = None, max_reasons: int = 7) -> list[str]:
    """The sentences that explain an account's score, families giving the most points first."""
    s = settings or PolicySettings()
    weights = {**s.weights, **s.counter_weights}
    families = [f for f in FAMILY_SENTENCES if float(row.get(f"ev_{f}") or 0.0) >= SHOW_FROM]
    families.sort(key=lambda f: -weights.get(f, 1.0) * float(row.get(f"ev_{f}") or 0.0))
    reasons: list[str] = []
    for family in families:
        for _, applies, sentence in FAMILY_SENTENCES[family]:
            try:
                if applies(row, s):
                    reasons.append(sentence(row))
            except (KeyError, TypeError):
                continue
    reasons = reasons[:max_reasons]
    for name in COUNTER:
        if float(row.get(f"ev_{name}") or 0.0) >= SHOW_FROM:
            try:
                reasons.append(COUNTER_SENTENCES[name](row))
            except (KeyError, TypeError):
                continue
    return reasons
