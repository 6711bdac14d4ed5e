"""The extraction signature: a transparent score built from the behaviour families.

Distillation needs three things at once, and legitimate heavy users rarely have all three:

* **harvest intent**: prompts that elicit reasoning traces or grader output, answers run to the
  token cap, log-probabilities or several samples per prompt;
* **novelty**: almost no prompt is asked twice (benchmark runs and test suites repeat theirs);
* **coverage or industrial scale**: slot values that sweep a space of topics, machine-like
  timing, fresh accounts, or volume far above peers.

A reseller fronting many unrelated downstream clients is the other signature: many system
prompts and client styles behind one account. The score is a soft AND of these parts, so one
look-alike trait (an integration's volume, a benchmark's chain-of-thought prompts) is not enough.
A score of 1.0 or more reads "suspicious".

>>> import polars as pl
>>> f = pl.DataFrame({"account_id": ["x"], "n_requests": [9000], "reasoning_share": [0.9], "rubric_share": [0.0],
...     "length_cut_share": [0.3], "logprobs_share": [0.4], "multi_sample_share": [0.0], "distinct_prompt_share": [1.0],
...     "prompt_logged_share": [1.0], "slot_diversity": [0.8], "interarrival_cv": [0.1], "hour_entropy": [0.98],
...     "account_age_days": [2.0], "n_system_prompts": [1], "n_client_styles": [1], "n_end_users": [0], "n_user_agents": [1],
...     "rate_limited_share": [0.0], "requests_per_active_hour": [400.0], "top_skeleton_share": [0.9]})
>>> round(score_signature(f)["signature_score"][0], 2) >= 1.0
True
"""

from __future__ import annotations

import polars as pl


def _clip01(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0)


def _ramp(expr: pl.Expr, low: float, high: float) -> pl.Expr:
    """0 below ``low``, 1 above ``high``, linear between."""
    return _clip01((expr - low) / (high - low))


def harvest_intent() -> pl.Expr:
    return pl.max_horizontal(
        _ramp(pl.col("reasoning_share"), 0.15, 0.6),
        _ramp(pl.col("rubric_share"), 0.15, 0.6),
        _ramp(pl.col("length_cut_share"), 0.1, 0.4),
        _ramp(pl.col("logprobs_share"), 0.1, 0.5),
        _ramp(pl.col("multi_sample_share"), 0.1, 0.5),
    )


def novelty() -> pl.Expr:
    known = pl.col("prompt_logged_share") >= 0.2
    return pl.when(known).then(_ramp(pl.col("distinct_prompt_share"), 0.7, 0.97)).otherwise(pl.lit(0.5))


def coverage_or_scale() -> pl.Expr:
    sweep = _ramp(pl.col("slot_diversity"), 0.25, 0.6)
    scripted = _ramp(1.0 - pl.col("interarrival_cv"), 0.3, 0.8) * _ramp(pl.col("n_requests").cast(pl.Float64).log10(), 2.0, 3.0)
    fresh = pl.when(pl.col("account_age_days").is_not_null()).then(_ramp(30.0 - pl.col("account_age_days"), 0.0, 23.0)).otherwise(0.0)
    scale = _ramp(pl.col("n_requests").cast(pl.Float64).log10(), 2.5, 4.0)
    rate_limited = _ramp(pl.col("rate_limited_share"), 0.02, 0.15)
    return pl.max_horizontal(sweep, scripted, fresh, scale, rate_limited)


def downstream_heterogeneity() -> pl.Expr:
    """Many system prompts, client styles and end users behind one account: the reseller shape."""
    prompts = _ramp(pl.col("n_system_prompts").cast(pl.Float64).log10(), 0.6, 1.3)
    styles = _ramp(pl.col("n_client_styles").cast(pl.Float64).log10(), 0.6, 1.3)
    agents = _ramp(pl.col("n_user_agents").cast(pl.Float64).log10(), 0.3, 1.0)
    return prompts * pl.max_horizontal(styles, agents)


def sustained() -> pl.Expr:
    """Enough requests for the shares above to mean something (10 requests: 0, 50 or more: 1)."""
    return _ramp(pl.col("n_requests").cast(pl.Float64).log10(), 1.0, 1.7)


#: Weight of each part in the final score; parts are 0-1.
WEIGHTS = {"extraction": 1.9, "reseller": 1.3}


def score_signature(features: pl.DataFrame) -> pl.DataFrame:
    """Per account: the signature parts (0-1) and ``signature_score`` (>= 1.0 = suspicious)."""
    parts = features.select(
        "account_id",
        harvest_intent().alias("sig_harvest"),
        novelty().alias("sig_novelty"),
        coverage_or_scale().alias("sig_coverage"),
        downstream_heterogeneity().alias("sig_downstream"),
        sustained().alias("sig_sustained"),
    )
    # harvest intent on almost every never-repeated prompt, sustained, is extraction on its own;
    # coverage (sweeps, scripted timing, fresh accounts, scale) makes it certain.
    extraction = pl.col("sig_harvest") * pl.col("sig_novelty") * pl.col("sig_sustained") * (0.55 + 0.45 * pl.col("sig_coverage"))
    reseller = pl.col("sig_downstream") * (0.5 + 0.5 * pl.max_horizontal(pl.col("sig_harvest") * pl.col("sig_novelty"), _ramp(pl.col("sig_coverage"), 0.2, 0.8)))
    return parts.with_columns(
        (WEIGHTS["extraction"] * extraction).alias("sig_extraction"),
        (WEIGHTS["reseller"] * reseller).alias("sig_reseller"),
    ).with_columns(pl.max_horizontal("sig_extraction", "sig_reseller").alias("signature_score"))
