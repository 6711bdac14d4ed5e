"""The detection policy: evidence per family, one score, the bars, severity and kind.

Batch and stream both judge accounts through :class:`DetectionPolicy`; nothing else combines
evidence or holds a threshold. Each *family* turns a few per-account features into bounded
evidence (0-1); the score adds the families' weighted evidence, so no single trait decides and
the absence of one family lowers a score but never zeroes it:

* **purpose** families (what is taken): ``elicitation`` (prompts asking for reasoning traces, grader
  output, fixed formats), ``answer_depth`` (long worked answers, read from token counts in any
  language), ``sampling`` (log-probabilities, n > 1, re-asking a prompt
  while sampling), ``coverage`` (a prompt set that keeps growing, templated sweeps);
* **operation** families (how it is taken): ``scale``, ``timing``, ``freshness``,
  ``rate_pressure``, ``infrastructure``, ``anomaly`` (the outlier models' voice). Their
  points are capped together (:attr:`PolicySettings.operation_cap`): a production integration is
  large, regular and unusual, and that alone must not flag it;
* ``downstream``: many system prompts and client styles behind one account (the reseller shape);
* **counter-evidence**: behaviour a harvester cannot cheaply share with a legitimate user lowers
  the score (deterministic re-runs of a fixed bank, greedy decoding of short answers,
  conversations and agents whose tools loop, one product serving many end users, a window that is
  one modest sitting of an account not made that day); it is bounded too, so it never clears an account on its own.

A score of 1.0 is the flagging bar (in batch) and the alert bar (in the stream).

>>> import polars as pl
>>> policy = DetectionPolicy()
>>> harvester = {"account_id": "h", "n_requests": 9000, "requests_per_active_hour": 400.0, "requests_per_day": 9000.0,
...     "reasoning_share": 0.9, "rubric_share": 0.0, "fixed_format_share": 0.2, "long_answer_share": 0.8,
...     "completion_tokens_median": 1300.0, "completion_prompt_ratio": 20.0, "length_cut_share": 0.1,
...     "logprobs_share": 0.0, "multi_sample_share": 0.0, "hot_reask_share": 0.3, "cold_reask_share": 0.0,
...     "prompt_growth": 0.6, "distinct_prompts": 6000, "slot_diversity": 0.5, "top_skeleton_share": 0.4,
...     "interarrival_cv": 0.2, "hour_entropy": 0.9, "account_age_days": 400.0, "rate_limited_share": 0.0,
...     "n_prefixes": 1, "n_system_prompts": 0, "n_client_styles": 1, "n_user_agents": 1, "n_end_users": 0,
...     "mean_turn": 1.0, "tool_share": 0.0, "anomaly": 0.5}
>>> chat = {**harvester, "account_id": "c", "n_requests": 40, "requests_per_active_hour": 8.0, "requests_per_day": 40.0,
...     "reasoning_share": 0.05, "long_answer_share": 0.0, "completion_tokens_median": 250.0, "completion_prompt_ratio": 3.0,
...     "hot_reask_share": 0.0, "prompt_growth": 0.9, "distinct_prompts": 38, "interarrival_cv": 2.0, "anomaly": 0.0,
...     "mean_turn": 2.5}
>>> scored = policy.score(pl.DataFrame([harvester, chat]))
>>> scored.select("account_id", (pl.col("score") >= 1.0).alias("flagged"), "severity").rows()
[('h', True, 'critical'), ('c', False, 'low')]
>>> no_reasoning_words = pl.DataFrame([{**harvester, "reasoning_share": 0.0}])   # one habit dropped: still flagged
>>> policy.score(no_reasoning_words)["score"][0] >= 1.0
True
"""

from __future__ import annotations

import math
from typing import Callable

import polars as pl
from pydantic import BaseModel, Field


class PolicySettings(BaseModel):
    """Every threshold of the policy, with one home: ``Settings().policy``, shared by batch and stream.

    Evidence is in *points*; an account's score is its points over :attr:`flag_points`.
    """

    # -- the bars ----------------------------------------------------------------------------
    flag_points: float = 2.8            # points at which an account is flagged / alerted (score 1.0)
    operation_cap: float = 1.6          # most points the operation families give together
    counter_cap: float = 1.2            # most points counter-evidence takes away
    population_shift_quantile: float = 0.1   # batch: the bar rises by the score this share of all accounts reaches (a population-wide
                                             # shift); 0.1 holds while up to nine accounts in ten attack
    high_severity: float = 1.4          # score from which a flag or alert is 'high'
    critical_severity: float = 1.8      # score from which it is 'critical'
    min_requests: int = 10              # below this many requests an account's shares mean nothing: its points are scaled down
    full_requests: int = 30             # from this many requests its points count in full

    # -- the stream's windows and the analysts' verdicts ---------------------------------------
    established_days: float = 30.0      # accounts older than this (by the accounts file) are established customers ...
    established_extra: float = 0.0      # ... and need this much more score to alert from a stream window
    teach_below: float = 0.2            # a stream window under this score may teach the online model what normal is
    reopen_score_factor: float = 1.5    # a dismissed account is judged again when its score reaches this multiple ...
    reopen_rate_factor: float = 2.0     # ... or its requests per active hour this multiple of the figures at review time

    # -- weights (points of full evidence) ----------------------------------------------------
    weights: dict[str, float] = Field(default_factory=lambda: {
        "elicitation": 1.0, "answer_depth": 1.1, "sampling": 0.9, "coverage": 0.9, "downstream": 1.6,
        "scale": 0.8, "timing": 0.5, "freshness": 0.8, "rate_pressure": 0.5, "infrastructure": 0.3, "anomaly": 1.0,
    })
    counter_weights: dict[str, float] = Field(default_factory=lambda: {"rerun": 1.2, "conversation": 0.8, "product": 0.8, "evaluation": 0.8,
                                                                        "one_sitting": 1.2})

    # -- elicitation (what the prompts ask) and answer depth (what comes back) -------------------
    reasoning_share: tuple[float, float] = (0.1, 0.5)        # share of prompts asking for reasoning: no evidence .. full
    reasoning_without_depth: float = 0.3                     # what asking for reasoning is worth when the answers stay short
    rubric_share: tuple[float, float] = (0.1, 0.5)           # share of grader / rubric prompts
    answer_tokens: tuple[float, float] = (200.0, 800.0)      # median completion tokens: short .. a worked answer
    long_answer_share: tuple[float, float] = (0.2, 0.6)      # share of answers of LONG_ANSWER_TOKENS or more
    answer_prompt_log_ratio: tuple[float, float] = (0.3, 1.0)  # log10(completion / prompt tokens): 2x .. 10x the prompt
    length_cut_share: tuple[float, float] = (0.1, 0.4)       # answers cut at a large max_tokens
    fixed_format_share: tuple[float, float] = (0.3, 0.8)     # fixed answer formats (weak alone: integrations use JSON)
    fixed_format_part: float = 0.25                          # most a fixed format adds to elicitation
    length_cut_part: float = 0.7                             # most answers cut at the cap give answer depth
    very_long_answer_tokens: tuple[float, float] = (1500.0, 3000.0)  # median completion tokens that are depth even after a long prompt
    unknown_ratio_part: float = 0.5                          # long answers count this much when no request opens a conversation
                                                             # (every prompt carries a history, so answer/prompt cannot be read)

    # -- sampling ------------------------------------------------------------------------------
    logprobs_share: tuple[float, float] = (0.1, 0.5)
    multi_sample_share: tuple[float, float] = (0.1, 0.5)
    hot_reask_share: tuple[float, float] = (0.05, 0.3)       # re-asking earlier prompts while sampling (best-of-n)
    temperatures_varied: tuple[float, float] = (2.0, 4.0)    # distinct temperatures: one fixed setting (a re-run) .. several per bank (sampling for diversity)
    rerun_sampling_part: float = 0.3                         # what sampling evidence is worth when the prompt set stopped growing (pass@k on a fixed bank)
    harvest_bank_log10: tuple[float, float] = (3.5, 4.0)     # distinct prompts re-asked: a benchmark bank's size (3,000 and under) .. no
                                                             # evaluation's (10,000): a set that large sampled again is a harvest's passes

    # -- coverage --------------------------------------------------------------------------------
    prompt_growth: tuple[float, float] = (0.2, 0.6)          # later-half requests asking new prompts (best-of-n halves it)
    min_logged_share: float = 0.05                           # below this share of prompts logged, re-asks and growth are read as logged
    distinct_prompts_log10: tuple[float, float] = (1.3, 2.7)  # 20 .. 500 distinct prompts
    slot_diversity: tuple[float, float] = (0.25, 0.6)
    top_skeleton_share: tuple[float, float] = (0.2, 0.5)

    # -- operation -------------------------------------------------------------------------------
    requests_per_day_log10: tuple[float, float] = (3.0, 4.3)      # 1,000 .. 20,000 a day
    requests_per_active_hour_log10: tuple[float, float] = (2.3, 3.3)  # 200 .. 2,000 an active hour
    answer_tokens_per_day_log10: tuple[float, float] = (6.0, 7.3)  # 1M .. 20M answer tokens a day (requests a day x median answer)
    regularity: tuple[float, float] = (0.3, 0.8)             # 1 - coefficient of variation of gaps
    round_the_clock: tuple[float, float] = (0.85, 0.97)      # hour-of-day entropy
    timing_requests_log10: tuple[float, float] = (2.0, 3.0)  # timing means something from 100 .. 1,000 requests
    fresh_days: float = 21.0                                 # accounts younger than three weeks at their first request ...
    fresh_full_days: float = 5.0                             # ... count as fresh in full at this age or less
    rate_limited_share: tuple[float, float] = (0.02, 0.15)
    prefixes_log10: tuple[float, float] = (0.3, 1.0)         # 2 .. 10 distinct networks
    anomaly: tuple[float, float] = (0.3, 1.0)                # the models' anomaly (0-1) -> evidence

    # -- downstream (reseller shape) ---------------------------------------------------------
    system_prompts_log10: tuple[float, float] = (0.6, 1.3)   # 4 .. 20 distinct system prompts
    proxy_system_prompts_log10: tuple[float, float] = (1.3, 1.6)  # 20 .. 40 distinct system prompts are a proxy's alone, whatever
                                                             # client calls (an agency's apps are a handful: at most 10 seen)
    client_styles_log10: tuple[float, float] = (0.6, 1.3)
    user_agents_log10: tuple[float, float] = (0.3, 1.0)

    # -- counter-evidence ------------------------------------------------------------------------
    reask_share: tuple[float, float] = (0.2, 0.6)            # re-asks of earlier prompts (counter-evidence when the set stops growing)
    rerun_growth: tuple[float, float] = (0.15, 0.45)         # prompt growth of a fixed bank re-run (about 0) .. a harvest whose order is shuffled
    mean_turn: tuple[float, float] = (1.5, 3.0)              # conversations, not one-shot harvesting
    continued_turn_share: tuple[float, float] = (0.3, 0.7)   # later turns whose conversation was seen earlier: pasted .. real
    unconfirmed_turn_part: float = 0.3                       # what later turns are worth when their conversations were never seen
    turn_gap_s: tuple[float, float] = (3.0, 15.0)            # median seconds between a conversation's turns: scripted .. a person's pace
    unpaced_turn_part: float = 0.3                           # what conversations are worth when their turns follow at a script's pace
    metronome_turn_part: float = 0.3                         # ... and when the account's requests arrive at evenly spaced gaps
    tool_share: tuple[float, float] = (0.2, 0.6)             # agents with tools ...
    agent_turns: tuple[float, float] = (1.5, 3.0)            # ... looping: mean turns per conversation (tool results sent back)
    end_users_log10: tuple[float, float] = (1.5, 2.5)        # 30 .. 300 end users of one product
    fresh_product_discount: float = 0.7                      # share of the product counter a fresh account loses (end-user ids cost nothing)
    harvest_product_discount: float = 0.5                    # ... and an account whose prompts harvest in three purpose families or more
    harvest_breadth: tuple[float, float] = (2.0, 3.0)        # purpose families at full strength: two .. three ...
    harvest_family_strength: tuple[float, float] = (0.5, 0.9)  # ... each family's evidence counted from 0.5, in full at 0.9
    deterministic_share: tuple[float, float] = (0.5, 0.9)    # greedy decoding of short answers: scoring an evaluation or labelling
    sitting_hours: tuple[float, float] = (3.0, 8.0)          # clock hours with requests: one sitting (a job run once) .. a working day
    sitting_window_hours: tuple[float, float] = (12.0, 24.0)  # hours the window spans: too short to tell a sitting .. long enough
    sitting_requests_log10: tuple[float, float] = (3.0, 3.5)  # requests in that sitting: a benchmark's size (1,000) .. a harvest's (3,000)
    sitting_account_days: tuple[float, float] = (1.0, 3.0)   # account age: made for this sitting (a burner) .. made days before it


def _clip01(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0)


def ramp(expr: pl.Expr, bounds: tuple[float, float]) -> pl.Expr:
    """0 at or below ``bounds[0]``, 1 at or above ``bounds[1]``, linear between (nulls: 0).

    >>> pl.DataFrame({"x": [0.0, 0.5, 2.0, None]}).select(ramp(pl.col("x"), (0.0, 1.0))).to_series().to_list()
    [0.0, 0.5, 1.0, 0.0]
    """
    low, high = bounds
    return _clip01((expr.cast(pl.Float64) - low) / (high - low))


def log_ramp(expr: pl.Expr, bounds: tuple[float, float]) -> pl.Expr:
    """:func:`ramp` on log10 of a count or ratio (0 and below count as 1)."""
    return ramp(expr.cast(pl.Float64).fill_null(0.0).clip(1.0, None).log10(), bounds)


def _col(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)


# -- the families: each a function of the settings returning a 0-1 expression over feature columns --

def answer_length(s: PolicySettings) -> pl.Expr:
    """0-1: how far the median answer is from short to a worked answer (``answer_tokens``)."""
    return ramp(_col("completion_tokens_median"), s.answer_tokens)


def elicitation(s: PolicySettings) -> pl.Expr:
    """What the prompts ask for: reasoning traces, grades, fixed formats (lexicons in several languages).
    Asking for reasoning counts more when the answers really are long."""
    depth = answer_length(s)
    asks = pl.max_horizontal(
        ramp(_col("reasoning_share"), s.reasoning_share) * (s.reasoning_without_depth + (1.0 - s.reasoning_without_depth) * depth),
        ramp(_col("rubric_share"), s.rubric_share),
    )
    return _clip01(asks + s.fixed_format_part * ramp(_col("fixed_format_share"), s.fixed_format_share))


def answer_depth(s: PolicySettings) -> pl.Expr:
    """What comes back: long worked answers, many times the prompt, or answers run to a large cap.
    Read from token counts alone, so it speaks whatever the language and wording of the prompts."""
    depth = answer_length(s)
    many_long = ramp(_col("long_answer_share"), s.long_answer_share)
    times_question = pl.max_horizontal(_col("completion_prompt_ratio"), _col("answer_question_ratio"))   # a shared preamble is no question
    unread = pl.col("completion_prompt_ratio").is_null() & pl.col("answer_question_ratio").is_null()     # unknown, not short
    long_answers = many_long * pl.when(unread).then(s.unknown_ratio_part).otherwise(
        ramp(times_question.clip(1e-3, None).log10(), s.answer_prompt_log_ratio))
    very_long = many_long * ramp(_col("completion_tokens_median"), s.very_long_answer_tokens)   # whatever the prompt's length
    return pl.max_horizontal(long_answers, very_long, s.length_cut_part * ramp(_col("length_cut_share"), s.length_cut_share) * depth)


def _logged(s: PolicySettings) -> pl.Expr:
    """The account's share of requests whose prompt was logged (unknown or under ``min_logged_share``: 1)."""
    p = pl.col("prompt_logged_share").cast(pl.Float64)
    return pl.when(p.is_null() | p.is_nan() | (p < s.min_logged_share)).then(1.0).otherwise(p.clip(None, 1.0))


def growth(s: PolicySettings) -> pl.Expr:
    """``prompt_growth`` as if every prompt had been logged. A gateway that logs a share ``p`` of the
    prompts at random hides the earlier copy of a re-asked prompt with probability about ``1 - p``, so
    re-asks look new: the observed growth is about ``g + (1 - g)(1 - p)``, and ``g = (observed - (1 - p)) / p``.

    >>> f = pl.DataFrame({"prompt_growth": [0.55, 0.55, 1.0], "prompt_logged_share": [0.5, 1.0, 0.5]})
    >>> f.select(growth(PolicySettings())).to_series().round(2).to_list()     # a re-run bank, half logged; fully logged; a harvest
    [0.1, 0.55, 1.0]
    """
    p = _logged(s)
    return _clip01((_col("prompt_growth") - (1.0 - p)) / p)


def reasks(s: PolicySettings, column: str) -> pl.Expr:
    """A re-ask share (over logged prompts) as if every prompt had been logged: a re-ask is seen only when
    an earlier copy was logged too, about ``p`` of the time."""
    return _clip01(_col(column) / _logged(s))


def varied_settings(s: PolicySettings) -> pl.Expr:
    """0-1: how many temperatures the account samples at. An evaluation re-runs its bank at one fixed
    setting; a harvester re-asking for diverse answers varies it (``temperatures_varied``)."""
    return ramp(_col("temperature_distinct"), s.temperatures_varied)


def beyond_a_bank(s: PolicySettings) -> pl.Expr:
    """0-1: what the account asks again is not one evaluation's bank, whether or not it still grows: it samples
    at several settings, or the set is larger than any evaluation's (``harvest_bank_log10``: a harvest run
    through several times, k samples a prompt)."""
    return pl.max_horizontal(varied_settings(s), log_ramp(_col("distinct_prompts"), s.harvest_bank_log10))


def new_data(s: PolicySettings) -> pl.Expr:
    """0-1: what the account samples is not one benchmark's bank re-run: its prompt set keeps growing, or it is
    beyond a bank (:func:`beyond_a_bank`).

    >>> f = pl.DataFrame({"prompt_growth": [0.0, 0.0, 0.9], "prompt_logged_share": [1.0] * 3, "temperature_distinct": [1] * 3,
    ...                   "distinct_prompts": [800, 27000, 800]})
    >>> f.select(new_data(PolicySettings())).to_series().round(2).to_list()   # a bank re-run; a harvest's second pass; a harvest
    [0.0, 1.0, 1.0]
    """
    return pl.max_horizontal(ramp(growth(s), s.prompt_growth), beyond_a_bank(s))


def sampling(s: PolicySettings) -> pl.Expr:
    """Several samples or the token distribution of one: log-probabilities, n > 1, re-asking while sampling.
    It counts less when the prompt set stopped growing and the settings stay fixed: pass@k or
    calibration re-run over a fixed bank, not best-of-n or log-probabilities collected over a harvest
    that keeps growing or is run through again (:func:`new_data`), nor one bank sampled again and again at
    several temperatures."""
    growing = s.rerun_sampling_part + (1.0 - s.rerun_sampling_part) * new_data(s)
    return growing * pl.max_horizontal(
        ramp(_col("logprobs_share"), s.logprobs_share),
        ramp(_col("multi_sample_share"), s.multi_sample_share),
        ramp(reasks(s, "hot_reask_share"), s.hot_reask_share),
    )


def coverage(s: PolicySettings) -> pl.Expr:
    """A prompt set that keeps growing, or templated prompts whose slots sweep a space, at some size."""
    size = log_ramp(_col("distinct_prompts"), s.distinct_prompts_log10)
    growing = ramp(growth(s), s.prompt_growth)
    sweep = ramp(_col("slot_diversity"), s.slot_diversity) * ramp(_col("top_skeleton_share"), s.top_skeleton_share)
    return size * pl.max_horizontal(growing, sweep)


def scale(s: PolicySettings) -> pl.Expr:
    """Volume far beyond ordinary use: requests a day, the rate while active, or the answer tokens
    taken a day (what a distiller trains on: a few thousand requests of long answers are as much
    as tens of thousands of short ones)."""
    return pl.max_horizontal(
        log_ramp(_col("requests_per_day"), s.requests_per_day_log10),
        log_ramp(_col("requests_per_active_hour"), s.requests_per_active_hour_log10),
        log_ramp(_col("requests_per_day") * _col("completion_tokens_median"), s.answer_tokens_per_day_log10),
    )


def metronome(s: PolicySettings) -> pl.Expr:
    """0-1: requests at evenly spaced gaps (``regularity``), once there are enough of them to tell."""
    return log_ramp(_col("n_requests"), s.timing_requests_log10) * ramp(1.0 - _col("interarrival_cv"), s.regularity)


def timing(s: PolicySettings) -> pl.Expr:
    """Scripted timing: metronome gaps or round-the-clock activity, once there are enough requests."""
    enough = log_ramp(_col("n_requests"), s.timing_requests_log10)
    return pl.max_horizontal(metronome(s), enough * ramp(_col("hour_entropy"), s.round_the_clock))


def freshness(s: PolicySettings) -> pl.Expr:
    """Working at scale soon after the account was created (unknown age: no evidence)."""
    age = pl.col("account_age_days").cast(pl.Float64)
    return pl.when(age.is_not_null()).then(ramp(s.fresh_days - age, (0.0, s.fresh_days - s.fresh_full_days))).otherwise(0.0)


def rate_pressure(s: PolicySettings) -> pl.Expr:
    """Pushing against the rate limit."""
    return ramp(_col("rate_limited_share"), s.rate_limited_share)


def infrastructure(s: PolicySettings) -> pl.Expr:
    """Traffic spread over many networks (proxy pools)."""
    return log_ramp(_col("n_prefixes"), s.prefixes_log10)


def anomaly(s: PolicySettings) -> pl.Expr:
    """The outlier models' voice (PyOD in batch, river in the stream), 0-1 in column ``anomaly``."""
    return ramp(_col("anomaly"), s.anomaly)


def downstream(s: PolicySettings) -> pl.Expr:
    """Many customers' apps behind one account, a proxy fronting them: many system prompts with many
    clients or sampling styles, or, from a proxy that strips its customers' system prompts, many
    user agents each with their own settings. Any two of the three; one alone is an app or a tool,
    but for system prompts by the score (``proxy_system_prompts_log10``): a gateway that calls with
    its own client forwards its customers' prompts, and no one app or agency has that many.

    >>> f = pl.DataFrame({"n_system_prompts": [40, 0, 40, 1, 8], "n_client_styles": [30, 30, 1, 2, 1], "n_user_agents": [25, 25, 1, 1, 1]})
    >>> f.select(downstream(PolicySettings())).to_series().round(2).to_list()   # forwarded, stripped, own client, one app, an agency
    [1.0, 1.0, 1.0, 0.0, 0.0]
    """
    prompts = log_ramp(_col("n_system_prompts"), s.system_prompts_log10)
    styles = log_ramp(_col("n_client_styles"), s.client_styles_log10)
    agents = log_ramp(_col("n_user_agents"), s.user_agents_log10)
    many_prompts = log_ramp(_col("n_system_prompts"), s.proxy_system_prompts_log10)
    return pl.max_horizontal(prompts * pl.max_horizontal(styles, agents), styles * agents, many_prompts)


def rerun(s: PolicySettings) -> pl.Expr:
    """Counter-evidence: a fixed bank re-run (a benchmark, greedy or pass@k), not a growing harvest:
    re-asks while the prompt set stops growing, at one fixed setting (re-asking one bank at several
    temperatures is sampling it for diverse answers, not re-running it), of a bank no larger than an
    evaluation's (``harvest_bank_log10``)."""
    repeated = reasks(s, "cold_reask_share") + reasks(s, "hot_reask_share")
    return ramp(repeated, s.reask_share) * (1.0 - ramp(growth(s), s.rerun_growth)) * (1.0 - beyond_a_bank(s))


def conversation(s: PolicySettings) -> pl.Expr:
    """Counter-evidence: conversations and tool use (people and agents at work). Later turns count in full
    only when the conversation's earlier requests were seen (a history pasted into each request is cheap)
    and when they follow at a person's pace (a script threading its prompts sends the next turn at once;
    agents, as fast, show their tools). An unknown pace (no conversation ids) is not held against it.
    Nor do they count in full from an account whose requests arrive like a metronome: people, one or
    many, do not converse at evenly spaced gaps; a script pacing threaded prompts does. Tools are an
    agent at work when it loops (its tools' results come back as later turns of conversations seen
    earlier); tool definitions sent with one fresh request after another cost nothing, and are how
    agentic traces are harvested.

    >>> f = pl.DataFrame({"tool_share": [1.0, 1.0], "mean_turn": [40.0, 1.0], "continued_turn_share": [1.0, 0.0],
    ...                   "turn_gap_median_s": [6.0, None], "n_requests": [900, 900], "interarrival_cv": [1.0, 1.0]})
    >>> f.select(conversation(PolicySettings())).to_series().round(2).to_list()   # a coding agent; tools on one-shot requests
    [1.0, 0.0]
    """
    continued = s.unconfirmed_turn_part + (1.0 - s.unconfirmed_turn_part) * ramp(_col("continued_turn_share"), s.continued_turn_share)
    gap = pl.col("turn_gap_median_s").cast(pl.Float64)
    paced = pl.when(gap.is_null()).then(1.0).otherwise(s.unpaced_turn_part + (1.0 - s.unpaced_turn_part) * ramp(gap, s.turn_gap_s))
    people = ramp(_col("mean_turn"), s.mean_turn) * continued * paced * (1.0 - (1.0 - s.metronome_turn_part) * metronome(s))
    agents = ramp(_col("tool_share"), s.tool_share) * ramp(_col("mean_turn"), s.agent_turns) * continued
    return pl.max_horizontal(people, agents)


def one_sitting(s: PolicySettings) -> pl.Expr:
    """Counter-evidence: the account's whole window is one sitting of modest size, as when an evaluation
    or a labelling job is run once, on an account not made for it that day and not pushing its rate
    limit. A harvest is sustained (its prompt set keeps growing across hours and days); a harvester that
    works in short sittings needs many of them or many accounts (:mod:`models.rings` judges those
    together), and a burner is made hours before it is used or runs into the rate limit. Only a
    window long enough to tell speaks (a stream window of an hour is all one sitting).

    >>> f = pl.DataFrame({"active_hours": [1, 1, 30], "day_coverage": [1 / 48, 1.0, 30 / 48], "n_requests": [450, 450, 450],
    ...                   "account_age_days": [400.0] * 3, "rate_limited_share": [0.0] * 3})
    >>> f.select(one_sitting(PolicySettings())).to_series().round(2).to_list()   # one hour of two days; a one-hour window; sustained
    [1.0, 0.0, 0.0]
    """
    hours = _col("active_hours")
    window = pl.when(_col("day_coverage") > 0).then(hours / _col("day_coverage")).otherwise(0.0)
    modest = 1.0 - log_ramp(_col("n_requests"), s.sitting_requests_log10)
    # unknown age (no accounts file): judged on size, hours and rate pressure alone, as freshness then says nothing
    # (treating it as made that day: recall +0.01, research labs flagged 0/31 -> 4/31 on `--no-accounts` seed 11)
    made_before = pl.when(pl.col("account_age_days").is_not_null()).then(ramp(pl.col("account_age_days"), s.sitting_account_days)).otherwise(1.0)
    return (1.0 - ramp(hours, s.sitting_hours)) * ramp(window, s.sitting_window_hours) * modest * made_before * (1.0 - rate_pressure(s))


def harvest_breadth(s: PolicySettings) -> pl.Expr:
    """0-1: how many purpose families speak at once (``harvest_breadth``): one or two is a product's or
    an evaluation's shape, three or four a harvest's. Reads their evidence (``ev_<family>``), which the
    policy computes before the counter-evidence: an ablated family does not count."""
    strong = pl.sum_horizontal([ramp(pl.col(f"ev_{name}"), s.harvest_family_strength) for name in PURPOSE])
    return ramp(strong, s.harvest_breadth)


def product(s: PolicySettings) -> pl.Expr:
    """Counter-evidence: one product (one or two system prompts) serving many end users. End-user ids are
    the caller's word: on an account created hours ago (a product does not launch at full traffic on
    its first day), or whose traffic harvests in three purpose families at once, they count for less."""
    return (log_ramp(_col("n_end_users"), s.end_users_log10) * (1.0 - downstream(s)) * (1.0 - s.fresh_product_discount * freshness(s))
            * (1.0 - s.harvest_product_discount * harvest_breadth(s)))


def evaluation(s: PolicySettings) -> pl.Expr:
    """Counter-evidence: greedy decoding of short answers, the way evaluations and labelling jobs score
    a model (a harvester wants worked answers; one at temperature 0 still has them long)."""
    return ramp(_col("deterministic_share"), s.deterministic_share) * (1.0 - answer_length(s))


Family = Callable[[PolicySettings], pl.Expr]
PURPOSE: dict[str, Family] = {"elicitation": elicitation, "answer_depth": answer_depth, "sampling": sampling, "coverage": coverage}
OPERATION: dict[str, Family] = {"scale": scale, "timing": timing, "freshness": freshness, "rate_pressure": rate_pressure,
                                "infrastructure": infrastructure, "anomaly": anomaly}
RESELLER: dict[str, Family] = {"downstream": downstream}
COUNTER: dict[str, Family] = {"rerun": rerun, "conversation": conversation, "product": product, "evaluation": evaluation,
                              "one_sitting": one_sitting}
#: Every evidence family, by name (what ``ablate_families`` names; the robustness report leaves each out).
FAMILIES: tuple[str, ...] = tuple(PURPOSE) + tuple(OPERATION) + tuple(RESELLER)
#: The feature columns the policy reads.
INPUT_COLUMNS = [
    "n_requests", "requests_per_day", "requests_per_active_hour", "reasoning_share", "rubric_share", "fixed_format_share",
    "long_answer_share", "completion_tokens_median", "completion_prompt_ratio", "answer_question_ratio", "length_cut_share", "logprobs_share",
    "multi_sample_share", "hot_reask_share", "cold_reask_share", "temperature_distinct", "prompt_growth", "prompt_logged_share", "distinct_prompts",
    "slot_diversity",
    "top_skeleton_share", "interarrival_cv", "hour_entropy", "account_age_days", "rate_limited_share", "n_prefixes",
    "n_system_prompts", "n_client_styles", "n_user_agents", "n_end_users", "mean_turn", "continued_turn_share", "turn_gap_median_s",
    "tool_share", "anomaly",
    "deterministic_share", "active_hours", "day_coverage",
]


class DetectionPolicy:
    """Evidence per family -> points -> score, severity and kind; one object for batch and stream."""

    def __init__(self, settings: PolicySettings | None = None, ablate: list[str] | tuple[str, ...] = ()) -> None:
        """``ablate``: families whose evidence is set to 0 (the robustness report's leave-one-out rows)."""
        self.settings = settings or PolicySettings()
        self.ablate = frozenset(ablate)
        unknown = self.ablate - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown evidence families to ablate: {sorted(unknown)}; known: {', '.join(FAMILIES)}")
        self._stages = self._build()

    def _build(self) -> list[list[pl.Expr]]:
        """The policy's expressions, stage by stage (built once: the stream judges every micro-batch)."""
        s = self.settings
        w, cw = s.weights, s.counter_weights
        evidence = [(pl.lit(0.0) if name in self.ablate else family(s)).alias(f"ev_{name}")
                    for name, family in {**PURPOSE, **OPERATION, **RESELLER}.items()]
        # counter-evidence may read the evidence above (the product counter weighs how broadly the account harvests)
        counter = [family(s).alias(f"ev_{name}") for name, family in COUNTER.items()]
        points = [
            pl.sum_horizontal([w[n] * pl.col(f"ev_{n}") for n in PURPOSE]).alias("points_purpose"),
            pl.sum_horizontal([w[n] * pl.col(f"ev_{n}") for n in OPERATION]).clip(0.0, s.operation_cap).alias("points_operation"),
            pl.sum_horizontal([w[n] * pl.col(f"ev_{n}") for n in RESELLER]).alias("points_reseller"),
            pl.sum_horizontal([cw[n] * pl.col(f"ev_{n}") for n in COUNTER]).clip(0.0, s.counter_cap).alias("points_counter"),
            # few requests: shares mean little alone (rings judge such accounts together)
            log_ramp(_col("n_requests"), (math.log10(s.min_requests), math.log10(s.full_requests))).alias("sustained"),
        ]
        raw_points = (pl.col("points_purpose") + pl.col("points_operation") + pl.col("points_reseller")
                      - pl.col("points_counter")).clip(0.0, None)
        scores = [(pl.col("sustained") * raw_points / s.flag_points).alias("score"),
                  (raw_points / s.flag_points).alias("score_ignoring_volume")]
        return [evidence, counter, points, scores, [self.severity_expr(pl.col("score")).alias("severity"), self.kind_expr().alias("kind_guess")]]

    def _with_inputs(self, features: pl.DataFrame) -> pl.DataFrame:
        missing = [pl.lit(None, dtype=pl.Float64).alias(c) for c in INPUT_COLUMNS if c not in features.columns]
        return features.with_columns(missing) if missing else features

    def evidence(self, features: pl.DataFrame) -> pl.DataFrame:
        """``features`` with ``ev_<family>`` (0-1) for every family and counter-evidence added."""
        return self._with_inputs(features).with_columns(self._stages[0]).with_columns(self._stages[1])

    def score(self, features: pl.DataFrame) -> pl.DataFrame:
        """Evidence, points per group, ``score`` (1.0 = the bar), ``severity`` and ``kind_guess``."""
        frame = self._with_inputs(features).lazy()
        for stage in self._stages:
            frame = frame.with_columns(stage)
        return frame.collect()

    def rescore(self, row: dict, anomaly: float) -> float:
        """The score of a row :meth:`score` judged, with its ``anomaly`` replaced (the stream's online
        model speaks per window, after the vectorised pass); ``row`` gets the new ``ev_anomaly``.

        >>> p = DetectionPolicy()
        >>> row = p.score(pl.DataFrame([{"n_requests": 500, "reasoning_share": 0.9, "completion_tokens_median": 900.0}])).row(0, named=True)
        >>> p.rescore(row, 1.0) > row["score"]
        True
        """
        s = self.settings
        low, high = s.anomaly
        evidence = 0.0 if "anomaly" in self.ablate else min(1.0, max(0.0, (anomaly - low) / (high - low)))
        row["ev_anomaly"] = evidence
        operation = sum(s.weights[n] * float(row[f"ev_{n}"] or 0.0) for n in OPERATION)
        points = float(row["sustained"]) * (float(row["points_purpose"]) + min(operation, s.operation_cap)
                                            + float(row["points_reseller"]) - float(row["points_counter"]))
        return max(0.0, points) / s.flag_points

    # -- bars, severity, kind -------------------------------------------------------------------
    def severity_expr(self, score: pl.Expr) -> pl.Expr:
        s = self.settings
        return (pl.when(score >= s.critical_severity).then(pl.lit("critical"))
                .when(score >= s.high_severity).then(pl.lit("high"))
                .when(score >= 1.0).then(pl.lit("medium")).otherwise(pl.lit("low")))

    def severity(self, score: float) -> str:
        """``medium`` from the bar (1.0), then ``high`` and ``critical`` at the configured scores.

        >>> DetectionPolicy().severity(1.5), DetectionPolicy().severity(0.4)
        ('high', 'low')
        """
        s = self.settings
        return "critical" if score >= s.critical_severity else "high" if score >= s.high_severity else "medium" if score >= 1.0 else "low"

    def kind_expr(self) -> pl.Expr:
        """Which pattern the evidence fits best: reseller, burner (fresh and rate-limited) or bulk extractor
        (ring membership is decided by the rings, which relabel their members)."""
        return (pl.when(pl.col("points_reseller") >= pl.col("points_purpose")).then(pl.lit("reseller"))
                .when((pl.col("ev_freshness") >= 0.8) & (pl.col("ev_rate_pressure") >= 0.3)).then(pl.lit("burner"))
                .otherwise(pl.lit("bulk_extractor")))

    def window_bar(self, row: dict) -> float:
        """The score a stream window must reach to alert: 1.0, and ``1 + established_extra`` for an
        established customer (a window under a day sees a benchmark burst or a batch job without its
        history; batch judges the whole window and needs no margin).

        >>> p = DetectionPolicy()
        >>> p.window_bar({"account_age_days": 2.0}), p.window_bar({"account_age_days": 400.0})
        (1.0, 1.0)
        """
        s = self.settings
        return 1.0 + s.established_extra if (row.get("account_age_days") or 0.0) >= s.established_days else 1.0

    def population_bar(self, scores: pl.Series) -> float:
        """The batch flagging bar: 1.0, raised by the score the lowest ``population_shift_quantile`` of
        accounts reach. Ordinary accounts score about 0, so the bar stays at 1.0 whatever share of the
        population attacks; when a change upstream (a new SDK, a logging change) lifts every account,
        the bar moves with them and flags nobody new. (A bar of median + k robust deviations rose to
        1.4-3.4 in populations where two accounts in five were ring members, unflagging attackers.)

        >>> p = DetectionPolicy()
        >>> ordinary, attackers = [0.0] * 60, [1.5] * 40
        >>> p.population_bar(pl.Series(ordinary + attackers))
        1.0
        >>> round(p.population_bar(pl.Series([x + 0.6 for x in ordinary + attackers])), 2)   # everyone lifted by 0.6
        1.6
        >>> p.population_bar(pl.Series([0.0] * 15 + [0.6] * 85))   # a small population, mostly a ring's members
        1.0
        """
        values = scores.drop_nulls()
        if values.len() == 0:
            return 1.0
        shift = values.quantile(self.settings.population_shift_quantile, interpolation="linear")
        return 1.0 + max(0.0, float(shift or 0.0))


__all__ = ["DetectionPolicy", "PolicySettings", "FAMILIES", "INPUT_COLUMNS", "ramp", "log_ramp", "beyond_a_bank"]
