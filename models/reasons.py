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

from distillguard.features.families import FEATURES_BY_NAME
from distillguard.features.registry import Feature
from distillguard.models.policy import COUNTER, PolicySettings

SHOW_FROM = 0.3      # a family's evidence from which its sentences are shown


class Figure:
    """One feature's figure in a sentence: ``{name}`` prints the row's value as the registry
    says (:meth:`Feature.format`), ``{name.vs_peers}`` adds "; peers median X" when the peers'
    median is known and reads differently from the account's own figure.

    >>> f"{Figure(FEATURES_BY_NAME['reasoning_share'], {'reasoning_share': 0.5, 'reasoning_share_peer_median': 0.04}).vs_peers}"
    '; peers median 4%'
    """

    def __init__(self, feature: Feature, row: dict) -> None:
        self.feature, self.row = feature, row
        self.value = row[feature.name]            # KeyError: the row lacks the figure, the sentence is not said

    def __format__(self, spec: str) -> str:
        return self.feature.format(self.value)

    @property
    def vs_peers(self) -> str:
        median = self.row.get(f"{self.feature.name}_peer_median")
        if median is None or self.feature.format(median) == self.feature.format(self.value):
            return ""
        return f"; peers median {self.feature.format(median)}"


class _Figures(dict):
    def __init__(self, row: dict) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, name: str) -> Figure:
        return Figure(FEATURES_BY_NAME[name], self.row)


def say(template: str, row: dict) -> str:
    """``template`` with each ``{feature}`` replaced by the row's figure, printed as the registry says.

    >>> say("{n_requests} requests, {reasoning_share} asking for reasoning{reasoning_share.vs_peers}",
    ...     {"n_requests": 18400, "reasoning_share": 0.92, "reasoning_share_peer_median": 0.03})
    '18,400 requests, 92% asking for reasoning; peers median 3%'
    """
    return template.format_map(_Figures(row))


def reason_of(feature: str) -> Callable[[dict], str]:
    """The sentence the registry gives ``feature`` (:attr:`Feature.reason`), as a function of the row."""
    template = FEATURES_BY_NAME[feature].reason
    if not template:
        raise ValueError(f"feature {feature!r} has no reason sentence in the registry")
    return lambda row: say(template, row)


def figure(row: dict, feature: str, value: Any = None) -> str:
    """``feature``'s value in ``row`` (or ``value``), printed as the registry says."""
    return FEATURES_BY_NAME[feature].format(row[feature] if value is None else value)


Condition = Callable[[dict, PolicySettings], bool]
Sentence = tuple[str, Condition, Callable[[dict], str]]

# Per family: (feature, shown when, sentence). "Shown when" is the low end of the policy's ramp;
# the sentences are the features' own (``reason`` in the registry), but for the outlier models'.
FAMILY_SENTENCES: dict[str, list[Sentence]] = {
    "elicitation": [
        ("reasoning_share", lambda r, s: r["reasoning_share"] > s.reasoning_share[0], reason_of("reasoning_share")),
        ("rubric_share", lambda r, s: r["rubric_share"] > s.rubric_share[0], reason_of("rubric_share")),
        ("fixed_format_share", lambda r, s: r["fixed_format_share"] > s.fixed_format_share[0], reason_of("fixed_format_share")),
    ],
    "answer_depth": [
        ("long_answer_share", lambda r, s: r["long_answer_share"] > s.long_answer_share[0], reason_of("long_answer_share")),
        ("length_cut_share", lambda r, s: r["length_cut_share"] > s.length_cut_share[0], reason_of("length_cut_share")),
        ("answer_question_ratio", lambda r, s: r["long_answer_share"] > s.long_answer_share[0]
         and (r.get("answer_question_ratio") or 0.0) > 2.0 * max(r.get("completion_prompt_ratio") or 0.0, 10 ** s.answer_prompt_log_ratio[0]),
         reason_of("answer_question_ratio")),
    ],
    "sampling": [
        ("logprobs_share", lambda r, s: r["logprobs_share"] > s.logprobs_share[0], reason_of("logprobs_share")),
        ("multi_sample_share", lambda r, s: r["multi_sample_share"] > s.multi_sample_share[0], reason_of("multi_sample_share")),
        ("hot_reask_share", lambda r, s: r["hot_reask_share"] > s.hot_reask_share[0], reason_of("hot_reask_share")),
    ],
    "coverage": [
        ("prompt_growth", lambda r, s: r["prompt_growth"] > s.prompt_growth[0], reason_of("prompt_growth")),
        ("slot_diversity", lambda r, s: r["slot_diversity"] > s.slot_diversity[0] and r["top_skeleton_share"] > s.top_skeleton_share[0],
         reason_of("slot_diversity")),
    ],
    "scale": [
        ("requests_per_day", lambda r, s: r["requests_per_day"] >= 10 ** s.requests_per_day_log10[0], reason_of("requests_per_day")),
        ("requests_per_active_hour", lambda r, s: r["requests_per_active_hour"] >= 10 ** s.requests_per_active_hour_log10[0],
         reason_of("requests_per_active_hour")),
        ("completion_tokens_total",
         lambda r, s: r["requests_per_day"] * r["completion_tokens_median"] >= 10 ** s.answer_tokens_per_day_log10[0],
         reason_of("completion_tokens_total")),
    ],
    "timing": [
        ("interarrival_cv", lambda r, s: 1 - r["interarrival_cv"] > s.regularity[0], reason_of("interarrival_cv")),
        ("hour_entropy", lambda r, s: r["hour_entropy"] > s.round_the_clock[0], reason_of("hour_entropy")),
    ],
    "freshness": [
        ("account_age_days", lambda r, s: r["account_age_days"] is not None and r["account_age_days"] < s.fresh_days,
         reason_of("account_age_days")),
    ],
    "rate_pressure": [
        ("rate_limited_share", lambda r, s: r["rate_limited_share"] > s.rate_limited_share[0], reason_of("rate_limited_share")),
    ],
    "infrastructure": [
        ("n_prefixes", lambda r, s: r["n_prefixes"] >= 10 ** s.prefixes_log10[0], reason_of("n_prefixes")),
    ],
    "anomaly": [
        ("anomaly_z", lambda r, s: r.get("anomaly_z") is not None,
         lambda r: f"unusual for a {str(r.get('peer_group') or 'comparable').split('-')[-1]} account: outlier models "
                   f"(PyOD IForest+ECOD+HBOS on the shape of its use) put it {float(r['anomaly_z']):.1f} robust deviations from its peers"),
    ],
    "downstream": [
        ("n_system_prompts", lambda r, s: (r.get("ev_downstream") or 0.0) > 0.0, reason_of("n_system_prompts")),
    ],
}

COUNTER_SENTENCES: dict[str, Callable[[dict], str]] = {
    "rerun": lambda r: f"weighs against: {figure(r, 'cold_reask_share', r['cold_reask_share'] + r['hot_reask_share'])} of requests "
                       f"re-run earlier prompts while the prompt set stops growing ({figure(r, 'prompt_growth')} new later on: "
                       "a fixed bank, as benchmarks do)",
    "conversation": lambda r: say("weighs against: conversational or agent use (mean turn {mean_turn}, tools in {tool_share} of requests)", r),
    "product": lambda r: say("weighs against: one product serving {n_end_users} end users", r),
    "evaluation": lambda r: say("weighs against: greedy decoding in {deterministic_share} of requests with short answers "
                                "(median {completion_tokens_median} tokens), as evaluations and labelling jobs do", r),
    "one_sitting": lambda r: say("weighs against: the window's traffic is one sitting ({n_requests} requests, active in {active_hours} "
                                 "clock hour(s)) of an account neither new nor rate-limited, as a job run once (an evaluation) is", r),
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
