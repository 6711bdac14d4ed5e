"""Per-account behavioural features, family by family, as named Polars aggregations.

Each expression is evaluated inside ``group_by("account_id")`` over events sorted by time.
The helper columns it reads (``_gap_s``, ``_hour``, ``_prompt_key``, ``_asks_reasoning``...) are
added by :func:`features.prepare_events`; those that depend on one event alone (the prompt's
lexicon matches among them) the stream derives once, when the event joins its window.
"""

from __future__ import annotations

import polars as pl

from distillguard.features.registry import Feature, family, normalised_entropy, share

_gap = pl.col("_gap_s").drop_nulls()

VOLUME = family(
    "volume",
    Feature("n_requests", "requests in the window", pl.len(), "count"),
    Feature("active_hours", "distinct clock hours with at least one request", pl.col("_hour_bucket").n_unique(), "count"),
    Feature("requests_per_active_hour", "requests per hour the account was active (activity counted in 10-minute slots, "
            "so a burst is measured at its own pace)", pl.len() / (pl.col("_minute").dt.truncate("10m").n_unique() / 6.0), "ratio"),
    Feature("requests_per_day", "requests per day of the window (a window under a day counts as one day)", pl.len() / (pl.col("_window_hours").first() / 24.0).clip(1.0, None), "ratio"),
    Feature("completion_tokens_total", "completion tokens received", pl.col("completion_tokens").sum(), "count"),
    Feature("completion_prompt_ratio", "median completion tokens per prompt token", (pl.col("completion_tokens") / (pl.col("prompt_tokens") + 1)).median(), "ratio"),
    Feature("rate_limited_share", "requests answered 429 (rate limited)", share(pl.col("status") == 429)),
)

TIMING = family(
    "timing",
    Feature("interarrival_cv", "variation of gaps between requests (low = scripted metronome)", (_gap.std() / (_gap.mean() + 1e-9)).fill_null(0.0), "ratio"),
    Feature("hour_entropy", "spread of requests over the 24 hours of the day (1 = round the clock)", normalised_entropy(pl.col("_hour_of_day"), 24), "ratio"),
    Feature("day_coverage", "share of the window's hours in which the account was active", pl.col("_hour_bucket").n_unique() / pl.col("_window_hours").first(), "share"),
    Feature("burstiness", "burstiness of request gaps (-1 regular, 0 random, 1 bursty)", ((_gap.std() - _gap.mean()) / (_gap.std() + _gap.mean() + 1e-9)).fill_null(0.0), "ratio"),
    Feature("peak_minute_share", "largest share of requests in a single minute", pl.col("_minute").value_counts().struct.field("count").max() / pl.len(), "share"),
)

#: Temperature at or above which a repeated prompt is a new sample, not a deterministic re-run
#: (an unset temperature is the API's default, which samples).
SAMPLING_TEMPERATURE = 0.5
#: Completion tokens from which an answer counts as long (a worked solution, an essay, a trace).
LONG_ANSWER_TOKENS = 800

_repeat = pl.col("_idx") > pl.col("_first_idx")
_hot = pl.col("temperature").fill_null(1.0) >= SAMPLING_TEMPERATURE
_later_half = pl.col("_idx") >= pl.len() / 2
_answered = pl.col("status") < 400

PROMPTS = family(
    "prompts",
    Feature("distinct_prompt_share", "prompts not repeated (ignoring case and surrounding white space)", (pl.col("_prompt_key").drop_nulls().n_unique() / pl.col("_prompt_key").drop_nulls().len().clip(1)), "share"),
    Feature("distinct_prompts", "distinct prompts asked", pl.col("_prompt_key").drop_nulls().n_unique(), "count"),
    Feature("prompt_logged_share", "requests whose prompt was logged", share(pl.col("prompt").is_not_null())),
    Feature("prompt_growth", "requests of the later half of the window asking a prompt not asked in the earlier half "
            "(a harvest keeps growing; a benchmark re-runs its bank)",
            (pl.col("_first_idx") >= pl.len() / 2).filter(_later_half & pl.col("_first_idx").is_not_null()).cast(pl.Float64).mean().fill_null(0.0)),
    Feature("hot_reask_share", "requests re-asking an earlier prompt while sampling (best-of-n at temperature >= 0.5)", share(_repeat & _hot)),
    Feature("cold_reask_share", "requests re-asking an earlier prompt deterministically (temperature < 0.5: a re-run)", share(_repeat & ~_hot)),
)

ELICITATION = family(
    "elicitation",
    Feature("reasoning_share", "prompts asking for reasoning traces or step-by-step work", share(pl.col("_asks_reasoning"))),
    Feature("fixed_format_share", "prompts or requests demanding a fixed answer format", share(pl.col("_asks_fixed_format") | pl.col("response_format").is_in(["json_object", "json_schema"]))),
    Feature("rubric_share", "grader / rubric prompts", share(pl.col("_asks_rubric"))),
    Feature("completion_tokens_median", "median completion tokens of an answered request", pl.col("completion_tokens").filter(_answered).median().fill_null(0.0), "count"),
    Feature("long_answer_share", f"answered requests with at least {LONG_ANSWER_TOKENS} completion tokens", share(_answered & (pl.col("completion_tokens") >= LONG_ANSWER_TOKENS))),
    Feature("max_tokens_median", "median max_tokens requested (0 when never set)", pl.col("max_tokens").median().fill_null(0.0), "count"),
)

SAMPLING = family(
    "sampling",
    Feature("logprobs_share", "requests for token log-probabilities", share(pl.col("logprobs") | (pl.col("top_logprobs") > 0))),
    Feature("multi_sample_share", "requests for several completions (n > 1)", share(pl.col("n") > 1)),
    Feature("length_cut_share", "answers cut at max_tokens (finish_reason = length)", share(pl.col("finish_reason") == "length")),
    Feature("temperature_distinct", "distinct temperatures used", pl.col("temperature").n_unique(), "count"),
    Feature("deterministic_share", "requests asking for greedy decoding (temperature 0.2 or lower, set explicitly)", share(pl.col("temperature") <= 0.2)),
    Feature("temperature_median", "median sampling temperature requested (null when never set)", pl.col("temperature").median(), "ratio"),
)

MODELS = family(
    "models",
    Feature("top_model_share", "share of requests on the account's most used model", pl.col("model").value_counts().struct.field("count").max() / pl.len()),
)

INFRASTRUCTURE = family(
    "infrastructure",
    Feature("n_ips", "distinct client IPs", pl.col("client_ip").n_unique(), "count"),
    Feature("n_prefixes", "distinct /24 (IPv4) or /48 (IPv6) networks", pl.col("_prefix").n_unique(), "count"),
    Feature("n_asns", "distinct autonomous systems", pl.col("asn").drop_nulls().n_unique(), "count"),
    Feature("n_user_agents", "distinct user agents", pl.col("user_agent").drop_nulls().n_unique(), "count"),
    Feature("n_api_keys", "distinct API keys", pl.col("api_key_id").n_unique(), "count"),
)

DOWNSTREAM = family(
    "downstream",
    Feature("n_end_users", "distinct caller-supplied end users", pl.col("end_user_id").drop_nulls().n_unique(), "count"),
    Feature("n_system_prompts", "distinct system prompts", pl.col("system_prompt_hash").drop_nulls().n_unique(), "count"),
    Feature("n_client_styles", "distinct client styles (user agent x sampling settings)", pl.col("_client_style").n_unique(), "count"),
    Feature("system_prompt_entropy", "spread of traffic over system prompts (0 = one prompt)", normalised_entropy(pl.col("system_prompt_hash").fill_null(""), 64), "ratio"),
)

CONVERSATION = family(
    "conversation",
    Feature("mean_turn", "mean conversation turn of a request", pl.col("turn").fill_null(1).mean(), "ratio"),
    Feature("single_turn_share", "requests that open a conversation (turn 1 or none)", share(pl.col("turn").fill_null(1) <= 1)),
    Feature("continued_turn_share", "later-turn requests whose conversation was seen earlier in the window "
            "(a real conversation sends its turns one by one; a pasted history claims turns never sent)",
            pl.col("_conversation_seen").filter(pl.col("turn").fill_null(1) > 1).cast(pl.Float64).mean().fill_null(0.0)),
    Feature("turn_gap_median_s", "median seconds between consecutive turns of a conversation (a person reads the answer "
            "and types; a script sends the next turn at once; null without conversations)", pl.col("_turn_gap_s").median(), "seconds"),
    Feature("tool_share", "requests sending tool definitions", share(pl.col("tools") > 0)),
)

ALL_FEATURES: list[Feature] = VOLUME + TIMING + PROMPTS + ELICITATION + SAMPLING + MODELS + INFRASTRUCTURE + DOWNSTREAM + CONVERSATION
FEATURES_BY_NAME = {f.name: f for f in ALL_FEATURES}
