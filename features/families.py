"""Per-account behavioural features, family by family, as named Polars aggregations.

Each expression is evaluated inside ``group_by("account_id")`` over events sorted by time.
The helper columns it reads (``_gap_s``, ``_hour``, ``_prompt_key``, ``_asks_reasoning``...) are
added by :func:`features.prepare_events`; those that depend on one event alone (the prompt's
lexicon matches among them) the stream derives once, when the event joins its window.

This file is the feature registry: besides its expression a feature carries its label, how its
values print, its place among the peer-compared columns, the models' inputs and the report's
table, and the sentence the reasons say of it (see :class:`~distillguard.features.registry.Feature`).
Those lists are derived from here (:func:`~distillguard.features.registry.placed_names`).

>>> placed_names(ALL_FEATURES, "peers")[:3]
['n_requests', 'reasoning_share', 'rubric_share']
>>> FEATURES_BY_NAME["hour_entropy"].format(0.87), FEATURES_BY_NAME["n_ips"].title
('87%', 'client IPs')
"""

from __future__ import annotations

import polars as pl

from distillguard.features.registry import Feature, family, logged_share, normalised_entropy, placed_names, share

__all__ = ["ALL_FEATURES", "FEATURES_BY_NAME", "WINDOW_FEATURES", "placed_names"]

_gap = pl.col("_gap_s").drop_nulls()
_answered_opening = (pl.col("status") < 400) & (pl.col("turn").fill_null(1) <= 1)

QUESTION_TOKENS_FLOOR = 64   # the fewest prompt tokens counted as "the question" (unless the median prompt is shorter)


def question_tokens(prompt_median: pl.Expr, prompt_p05: pl.Expr) -> pl.Expr:
    """Prompt tokens that vary between an account's prompts: its median prompt less its shortest
    (5th percentile), at least :data:`QUESTION_TOKENS_FLOOR` or the whole median prompt when shorter.

    >>> df = pl.DataFrame({"median": [50.0, 700.0, 3000.0], "p05": [30.0, 650.0, 1500.0]})
    >>> df.select(question_tokens(pl.col("median"), pl.col("p05"))).to_series().to_list()
    [50.0, 64.0, 1500.0]
    """
    return pl.max_horizontal(prompt_median - prompt_p05, pl.min_horizontal(prompt_median, pl.lit(float(QUESTION_TOKENS_FLOOR))), pl.lit(1.0))


def answer_question_ratio(completion_tokens: pl.Expr, prompt_tokens: pl.Expr) -> pl.Expr:
    """Median answer over :func:`question_tokens` (an aggregation over one account's requests)."""
    prompts = prompt_tokens.cast(pl.Float64)
    return completion_tokens.cast(pl.Float64).median() / question_tokens(prompts.median(), prompts.quantile(0.05, "linear"))

VOLUME = family(
    "volume",
    Feature("n_requests", "requests in the window", pl.len(), "count",
            label="requests in the window", log_scale=True, peers=1, online_model=1, report=1, profile=1),
    Feature("active_hours", "distinct clock hours with at least one request", pl.col("_hour_bucket").n_unique(), "count",
            label="active hours", profile=3),
    Feature("requests_per_active_hour",
            "requests per hour the account was active (activity counted in 10-minute slots, so a burst is measured at its own pace)",
            pl.len() / (pl.col("_minute").dt.truncate("10m").n_unique() / 6.0), "ratio",
            label="requests per active hour", log_scale=True, peers=17, online_model=2, report=2, profile=2,
            reason="{requests_per_active_hour} requests per active hour{requests_per_active_hour.vs_peers}"),
    Feature("requests_per_day", "requests per day of the window (a window under a day counts as one day)",
            pl.len() / (pl.col("_window_hours").first() / 24.0).clip(1.0, None), "ratio",
            label="requests per day", peers=16,
            reason="{requests_per_day} requests a day{requests_per_day.vs_peers}"),
    Feature("completion_tokens_total", "completion tokens received", pl.col("completion_tokens").sum(), "count",
            label="completion tokens",
            reason="{completion_tokens_total} answer tokens taken: {requests_per_day} requests a day, median answer "
                   "{completion_tokens_median} tokens"),
    Feature("completion_prompt_ratio",
            "median completion tokens per prompt token, over requests that open a conversation or stand alone "
            "(a later turn's prompt tokens count the history before it, not what was asked)",
            (pl.col("completion_tokens") / (pl.col("prompt_tokens") + 1)).filter(pl.col("turn").fill_null(1) <= 1).median(), "ratio",
            label="completion / prompt tokens", log_scale=True, anomaly_model=19, anomaly_log=True, online_model=3),
    Feature("answer_question_ratio",
            "median answer tokens per token of what varies between the account's prompts: its median prompt less its "
            f"shortest prompts (5th percentile), at least {QUESTION_TOKENS_FLOOR} tokens or the median prompt when shorter, over "
            "answered requests that open a conversation or stand alone. A long instruction block sent with every prompt "
            "is not what was asked, so it does not hide answers many times the question",
            answer_question_ratio(pl.col("completion_tokens").filter(_answered_opening),
                                  pl.col("prompt_tokens").filter(_answered_opening)), "ratio",
            label="answer / question tokens", log_scale=True,
            reason="answers {answer_question_ratio}x the part of its prompts that varies ({completion_prompt_ratio}x the whole prompt; "
                   "the rest is the same in every prompt)"),
    Feature("rate_limited_share", "requests answered 429 (rate limited)", share(pl.col("status") == 429),
            label="rate-limited requests (429)", peers=10, anomaly_model=18, online_model=4, report=13, profile=14,
            reason="{rate_limited_share} of requests rate-limited (HTTP 429){rate_limited_share.vs_peers}"),
)

TIMING = family(
    "timing",
    Feature("interarrival_cv", "variation of gaps between requests (low = scripted metronome)",
            (_gap.std() / (_gap.mean() + 1e-9)).fill_null(0.0), "ratio",
            label="timing irregularity (low = scripted)", peers=9, anomaly_model=14, anomaly_log=True, online_model=5, report=11, profile=12,
            reason="machine-regular timing: gaps vary by {interarrival_cv} of their mean{interarrival_cv.vs_peers}"),
    Feature("hour_entropy", "spread of requests over the 24 hours of the day (1 = round the clock)",
            normalised_entropy(pl.col("_hour_of_day"), 24), "ratio",
            label="hour-of-day spread", shown_as="percent", anomaly_model=15, report=12, profile=13,
            reason="active round the clock (hour-of-day spread {hour_entropy} of the maximum)"),
    Feature("day_coverage", "share of the window's hours in which the account was active",
            pl.col("_hour_bucket").n_unique() / pl.col("_window_hours").first(), "share",
            label="active share of the window's hours"),
    Feature("burstiness", "burstiness of request gaps (-1 regular, 0 random, 1 bursty)",
            ((_gap.std() - _gap.mean()) / (_gap.std() + _gap.mean() + 1e-9)).fill_null(0.0), "ratio",
            label="burstiness"),
    Feature("peak_minute_share", "largest share of requests in a single minute",
            pl.col("_minute").value_counts().struct.field("count").max() / pl.len(), "share",
            label="busiest minute's share", online_model=6),
    Feature("weekend_share", "requests sent on a Saturday or Sunday, UTC (near 2/7 without a weekly rhythm; read over a week or more)",
            share(pl.col("ts").dt.weekday() >= 6),
            label="weekend requests", peers=18, report=17, profile=22),
)

#: Temperature at or above which a repeated prompt is a new sample, not a deterministic re-run
#: (an unset temperature is the API's default, which samples).
SAMPLING_TEMPERATURE = 0.5
#: Completion tokens from which an answer counts as long (a worked solution, an essay, a trace).
LONG_ANSWER_TOKENS = 800

#: Whether a request samples (temperature at or above SAMPLING_TEMPERATURE, or unset).
SAMPLING_REQUEST = pl.col("temperature").fill_null(1.0) >= SAMPLING_TEMPERATURE
_repeat = pl.col("_idx") != pl.col("_first_idx")
_hot = SAMPLING_REQUEST
_later_half = pl.col("_idx") >= pl.len() / 2
_answered = pl.col("status") < 400
_logged_prompts = pl.col("_prompt_key").drop_nulls()

PROMPTS = family(
    "prompts",
    Feature("distinct_prompt_share", "prompts not repeated (ignoring case and surrounding white space)",
            _logged_prompts.n_unique() / _logged_prompts.len().clip(1), "share",
            label="never-repeated prompts", peers=7, anomaly_model=11, online_model=7, report=9, profile=9),
    Feature("distinct_prompts", "distinct prompts asked", _logged_prompts.n_unique(), "count",
            label="distinct prompts"),
    Feature("prompt_logged_share", "requests whose prompt was logged", share(pl.col("prompt").is_not_null()),
            label="prompts logged"),
    Feature("prompt_growth",
            "requests of the later half of the window asking a prompt not asked in the earlier half "
            "(a harvest keeps growing; a benchmark re-runs its bank)",
            (pl.col("_first_idx") >= pl.len() / 2)
            .filter(_later_half & pl.col("_first_idx").is_not_null()).cast(pl.Float64).mean().fill_null(0.0),
            label="new prompts later in the window", peers=15, anomaly_model=10,
            reason="a prompt set that keeps growing: {distinct_prompts} distinct prompts, {prompt_growth} of the "
                   "later requests ask prompts not asked before"),
    Feature("hot_reask_share", "logged requests re-asking an earlier prompt while sampling (best-of-n at temperature >= 0.5)",
            logged_share(_repeat & _hot),
            label="re-asked while sampling", peers=14, anomaly_model=8,
            reason="{hot_reask_share} of requests re-ask an earlier prompt while sampling (best-of-n harvesting)"),
    Feature("cold_reask_share", "logged requests re-asking an earlier prompt deterministically (temperature < 0.5: a re-run)",
            logged_share(_repeat & ~_hot),
            label="re-run deterministically", anomaly_model=9),
)

ELICITATION = family(
    "elicitation",
    Feature("reasoning_share", "logged prompts asking for reasoning traces or step-by-step work", logged_share(pl.col("_asks_reasoning")),
            label="reasoning-trace requests", peers=2, anomaly_model=1, online_model=8, report=3, profile=4,
            reason="reasoning-trace requests in {reasoning_share} of {n_requests} requests{reasoning_share.vs_peers}"),
    Feature("fixed_format_share", "prompts or requests demanding a fixed answer format",
            share(pl.col("_asks_fixed_format") | pl.col("response_format").is_in(["json_object", "json_schema"])),
            label="fixed answer formats demanded", anomaly_model=2, report=4,
            reason="a fixed answer format demanded in {fixed_format_share} of requests"),
    Feature("rubric_share", "logged prompts that are grader / rubric prompts", logged_share(pl.col("_asks_rubric")),
            label="grader / rubric prompts", peers=3, anomaly_model=3, online_model=9, report=5, profile=5,
            reason="grader/rubric prompts in {rubric_share} of requests{rubric_share.vs_peers}"),
    Feature("completion_tokens_median", "median completion tokens of an answered request",
            pl.col("completion_tokens").filter(_answered).median().fill_null(0.0), "count",
            label="median answer length (tokens)", peers=12, anomaly_model=20, anomaly_log=True),
    Feature("long_answer_share", f"answered requests with at least {LONG_ANSWER_TOKENS} completion tokens",
            share(_answered & (pl.col("completion_tokens") >= LONG_ANSWER_TOKENS)),
            label="long answers", peers=13, anomaly_model=7,
            reason="long worked answers: median {completion_tokens_median} completion tokens, "
                   "{completion_prompt_ratio}x the prompt{completion_tokens_median.vs_peers}"),
    Feature("max_tokens_median", "median max_tokens requested (0 when never set)", pl.col("max_tokens").median().fill_null(0.0), "count",
            label="median max_tokens"),
)

SAMPLING = family(
    "sampling",
    Feature("logprobs_share", "requests for token log-probabilities", share(pl.col("logprobs") | (pl.col("top_logprobs") > 0)),
            label="log-probabilities requested", peers=5, anomaly_model=4, online_model=10, report=6, profile=7,
            reason="token log-probabilities requested in {logprobs_share} of requests{logprobs_share.vs_peers}"),
    Feature("multi_sample_share", "requests for several completions (n > 1)", share(pl.col("n") > 1),
            label="several completions per prompt", peers=6, anomaly_model=5, online_model=11, report=7, profile=8,
            reason="several completions per prompt (n>1) in {multi_sample_share} of requests{multi_sample_share.vs_peers}"),
    Feature("length_cut_share", "answers cut at max_tokens (finish_reason = length)", share(pl.col("finish_reason") == "length"),
            label="answers cut at max_tokens", peers=4, anomaly_model=6, online_model=12, report=8, profile=6,
            reason="{length_cut_share} of answers run to max_tokens (finish_reason=length){length_cut_share.vs_peers}"),
    Feature("temperature_distinct", "distinct temperatures used", pl.col("temperature").n_unique(), "count",
            label="distinct temperatures"),
    Feature("deterministic_share", "requests asking for greedy decoding (temperature 0.2 or lower, set explicitly)",
            share(pl.col("temperature") <= 0.2),
            label="greedy decoding"),
    Feature("temperature_median", "median sampling temperature requested (null when never set)", pl.col("temperature").median(), "ratio",
            label="median temperature"),
)

MODELS = family(
    "models",
    Feature("top_model_share", "share of requests on the account's most used model",
            pl.col("model").value_counts().struct.field("count").max() / pl.len(),
            label="most used model's share"),
)

INFRASTRUCTURE = family(
    "infrastructure",
    Feature("n_ips", "distinct client IPs", pl.col("client_ip").n_unique(), "count",
            label="client IPs", log_scale=True, report=14, profile=16),
    Feature("n_prefixes", "distinct /24 (IPv4) or /48 (IPv6) networks", pl.col("_prefix").n_unique(), "count",
            label="client networks",
            reason="traffic from {n_prefixes} networks ({n_ips} IPs)"),
    Feature("n_asns", "distinct autonomous systems", pl.col("asn").drop_nulls().n_unique(), "count",
            label="autonomous systems"),
    Feature("n_user_agents", "distinct user agents", pl.col("user_agent").drop_nulls().n_unique(), "count",
            label="user agents", log_scale=True, online_model=15, profile=17),
    Feature("n_api_keys", "distinct API keys", pl.col("api_key_id").n_unique(), "count",
            label="API keys"),
)

DOWNSTREAM = family(
    "downstream",
    Feature("n_end_users", "distinct caller-supplied end users", pl.col("end_user_id").drop_nulls().n_unique(), "count",
            label="end users", profile=18),
    Feature("n_system_prompts", "distinct system prompts", pl.col("system_prompt_hash").drop_nulls().n_unique(), "count",
            label="distinct system prompts", log_scale=True, peers=11, online_model=13, report=15, profile=19,
            reason="{n_system_prompts} distinct system prompts, {n_client_styles} client styles and {n_user_agents} user agents "
                   "behind one account (a proxy fronting many downstream clients)"),
    Feature("n_client_styles", "distinct client styles (user agent x sampling settings)", pl.col("_client_style").n_unique(), "count",
            label="client styles", log_scale=True, online_model=14, profile=20),
    Feature("system_prompt_entropy", "spread of traffic over system prompts (0 = one prompt)",
            normalised_entropy(pl.col("system_prompt_hash").fill_null(""), 64), "ratio",
            label="system-prompt spread"),
)

CONVERSATION = family(
    "conversation",
    Feature("mean_turn", "mean conversation turn of a request", pl.col("turn").fill_null(1).mean(), "ratio",
            label="mean turn"),
    Feature("single_turn_share", "requests that open a conversation (turn 1 or none)", share(pl.col("turn").fill_null(1) <= 1),
            label="single-turn requests", anomaly_model=16, profile=15),
    Feature("continued_turn_share",
            "later-turn requests whose conversation was seen earlier in the window "
            "(a real conversation sends its turns one by one; a pasted history claims turns never sent)",
            pl.col("_conversation_seen").filter(pl.col("turn").fill_null(1) > 1).cast(pl.Float64).mean().fill_null(0.0),
            label="continued conversations"),
    Feature("turn_gap_median_s",
            "median seconds between consecutive turns of a conversation "
            "(a person reads the answer and types; a script sends the next turn at once; null without conversations)",
            pl.col("_turn_gap_s").median(), "seconds",
            label="median seconds between turns"),
    Feature("tool_share", "requests sending tool definitions", share(pl.col("tools") > 0),
            label="requests with tools", anomaly_model=17),
)

#: Computed from a sample of the account's prompts by :func:`distillguard.features.text.template_features`.
TEXT = family(
    "text",
    Feature("template_word_share", "share of prompt words that belong to the account's template", None,
            label="template words"),
    Feature("top_skeleton_share", "share of prompts with the account's most common template skeleton", None,
            label="prompts on the top template", anomaly_model=13, profile=11),
    Feature("slot_diversity", "distinct slot words / slot words (systematic sweeps rarely repeat a slot)", None,
            label="distinct template slot values", peers=8, anomaly_model=12, report=10, profile=10,
            reason="templated prompts ({top_skeleton_share} share one skeleton) whose slots sweep new values "
                   "({slot_diversity} of slot words distinct)"),
)

#: From the accounts file, by :func:`distillguard.features.metadata_features`.
METADATA = family(
    "metadata",
    Feature("account_age_days", "days from the account's creation to its first request in the window", None, "days",
            label="account age at first request (days)", log_scale=True, report=16, profile=21,
            reason="account created {account_age_days} days before its first request"),
)

#: Features aggregated over the window's events, in the order of their columns.
WINDOW_FEATURES: list[Feature] = VOLUME + TIMING + PROMPTS + ELICITATION + SAMPLING + MODELS + INFRASTRUCTURE + DOWNSTREAM + CONVERSATION
#: Every feature column of :func:`distillguard.features.account_features`.
ALL_FEATURES: list[Feature] = WINDOW_FEATURES + TEXT + METADATA
FEATURES_BY_NAME = {f.name: f for f in ALL_FEATURES}
