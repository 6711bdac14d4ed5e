"""Per-account behavioural features over a window of API log events.

The same definitions serve batch detection and the streaming path: both call
:func:`account_features` on a frame of events (the stream on its sliding windows).

>>> import polars as pl
>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
>>> events = pl.DataFrame({
...     "event_id": [f"e{i}" for i in range(30)], "ts": [t0 + timedelta(seconds=10 * i) for i in range(30)],
...     "account_id": ["a"] * 30, "api_key_id": ["k"] * 30, "client_ip": ["198.51.100.4"] * 30,
...     "endpoint": ["/v1/messages"] * 30, "model": ["m"] * 30, "status": [200] * 30,
...     "prompt_tokens": [20] * 30, "completion_tokens": [800] * 30,
...     "prompt": [f"Explain topic {i} step by step" for i in range(30)]})
>>> row = account_features(events).row(0, named=True)
>>> row["n_requests"], row["reasoning_share"], round(row["interarrival_cv"], 3)
(30, 1.0, 0.0)
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from distillguard.events import EVENT_SCHEMA
from distillguard.features.families import ALL_FEATURES, FEATURES_BY_NAME, METADATA, SAMPLING_REQUEST, TEXT, WINDOW_FEATURES
from distillguard.features.registry import COLLECT_ENGINE, Feature
from distillguard.features.text import (
    FIXED_FORMAT,
    REASONING,
    RUBRIC,
    lexicon_text,
    normalised_prompt,
    prompt_identity,
    sample_prompts,
    template_features,
)

__all__ = ["account_features", "prepare_events", "with_event_derived", "ALL_FEATURES", "FEATURES_BY_NAME", "Feature", "network_prefix"]

TEXT_FEATURES = [f.name for f in TEXT]
METADATA_FEATURES = [f.name for f in METADATA]


def network_prefix(ip: pl.Expr) -> pl.Expr:
    """The /24 of an IPv4 address or the /48 of an IPv6 address (as text)."""
    v4 = ip.str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", 1) + ".0/24"
    v6 = ip.str.to_lowercase().str.extract(r"^([0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f]{0,4})", 1) + "::/48"
    return pl.coalesce(v4, v6, ip)


def _with_contract_columns(events: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in EVENT_SCHEMA.items() if c not in events.columns]
    return events.with_columns(missing) if missing else events


#: An eager or a lazy frame (what :func:`add_event_derived` takes, it returns).
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
#: The transient column of each prompt's :func:`lexicon_text` the lexicon columns read (made once for all of them).
LEXICON_TEXT = "_lexicon_text"
#: The helper columns that read :data:`LEXICON_TEXT`.
LEXICON_COLUMNS = ("_asks_reasoning", "_asks_fixed_format", "_asks_rubric")


def event_derived_columns() -> dict[str, pl.Expr]:
    """Helper columns that depend on one event alone (costly text work, done once per event); the
    lexicon columns read :data:`LEXICON_TEXT` (:func:`add_event_derived` makes it)."""
    return {
        # what makes two prompts "the same" for repetition: case and surrounding white space ignored
        "_prompt_key": prompt_identity(pl.col("prompt"), pl.col("prompt_tokens")).str.to_lowercase().str.strip_chars(),
        "_text": normalised_prompt(pl.col("prompt")),
        # what the prompt asks for (regular expressions over the whole prompt: the costliest test per event)
        "_asks_reasoning": REASONING.matches_read(pl.col(LEXICON_TEXT)),
        "_asks_fixed_format": FIXED_FORMAT.matches_read(pl.col(LEXICON_TEXT)),
        "_asks_rubric": RUBRIC.matches_read(pl.col(LEXICON_TEXT)),
        "_prefix": network_prefix(pl.col("client_ip")),
        "_client_style": pl.concat_str(
            [pl.col("user_agent").fill_null("-"), pl.col("temperature").cast(pl.String).fill_null("-"),
             pl.col("max_tokens").cast(pl.String).fill_null("-"), pl.col("response_format").fill_null("-")],
            separator="|",
        ),
    }


def add_event_derived(frame: FrameT, present: list[str], skip: tuple[str, ...] = ()) -> FrameT:
    """``frame`` (eager or lazy) with the helper columns of :func:`event_derived_columns` that are not
    ``present`` (nor in ``skip``); the lexicons read one lower-cased copy of each prompt, made once.

    >>> f = pl.DataFrame({"prompt": ["Think step by step, then answer.", None], "prompt_tokens": [8, None],
    ...                   "client_ip": ["10.0.0.1", "10.0.0.2"], "user_agent": ["a", "b"], "temperature": [0.0, 1.0],
    ...                   "max_tokens": [100, 200], "response_format": [None, None]})
    >>> add_event_derived(f, f.columns, skip=("_text",))["_asks_reasoning"].to_list()
    [True, False]
    """
    derived = {name: expr for name, expr in event_derived_columns().items() if name not in present and name not in skip}
    if not derived:
        return frame
    reads = any(name in LEXICON_COLUMNS for name in derived)
    if reads:
        frame = frame.with_columns(lexicon_text(pl.col("prompt")).alias(LEXICON_TEXT))
    frame = frame.with_columns(expr.alias(name) for name, expr in derived.items())
    return frame.drop(LEXICON_TEXT) if reads else frame


def with_event_derived(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` with the per-event helper columns added (those already there are kept): the
    stream derives them once when an event joins its window, not at every re-scoring."""
    events = _with_contract_columns(events)
    return add_event_derived(events, events.columns)


def is_sorted_by_account_and_time(events: pl.DataFrame) -> bool:
    """Whether rows already run account by account, each in time order (sorting again costs a full pass)."""
    account, ts = pl.col("account_id"), pl.col("ts")
    in_order = (account > account.shift()) | ((account == account.shift()) & (ts >= ts.shift()))
    return bool(events.select(in_order.fill_null(True).all()).item())


def events_span_s(events: pl.DataFrame) -> float:
    """Seconds from the first event to the last (0 without events), computed in Polars: a stored
    time stamp Python's datetime cannot hold (year 0 or 10000, from an older reader) is a number here.

    >>> from datetime import datetime
    >>> events_span_s(pl.DataFrame({"ts": [datetime(2026, 11, 2), datetime(2026, 11, 2, 1, 0, 0, 500_000)]}))
    3600.5
    """
    micros = pl.col("ts").dt.epoch("us").cast(pl.Float64)
    span = events.select((micros.max() - micros.min()) / 1e6).item()
    return span if span is not None else 0.0


def prepare_events(events: pl.DataFrame, window_hours: float | None = None) -> pl.LazyFrame:
    """Events sorted per account by time, with the helper columns the features read.

    ``window_hours``: the span the features describe (default: the events' own span, at least 1 h).
    """
    events = _with_contract_columns(events)
    if window_hours is None:
        window_hours = max(1.0, events_span_s(events) / 3600.0)
    lazy = events.lazy() if is_sorted_by_account_and_time(events) else events.lazy().sort("account_id", "ts")
    return (
        add_event_derived(lazy, events.columns, skip=("_text",))
        .with_columns(
            (pl.col("ts").diff().over("account_id").dt.total_milliseconds() / 1000.0).alias("_gap_s"),
            pl.col("ts").dt.truncate("1h").alias("_hour_bucket"),
            pl.col("ts").dt.truncate("1m").alias("_minute"),
            pl.col("ts").dt.hour().alias("_hour_of_day"),
            pl.lit(window_hours).alias("_window_hours"),
        )
        .with_columns(pl.int_range(pl.len()).over("account_id").alias("_idx"))
        .with_columns(
            # where in the account's own sequence its prompt was first asked (null: prompt not logged);
            # of requests tied at the earliest time, a deterministic one comes first (the rollups' rule)
            pl.when(pl.col("_prompt_key").is_not_null())
            .then(pl.col("_idx").sort_by("ts", SAMPLING_REQUEST).first().over("account_id", pl.col("_prompt_key").hash(seed=3)))
            .alias("_first_idx"),
            # whether an earlier request of this conversation was seen (a pasted history claims turns never sent)
            pl.when(pl.col("conversation_id").is_not_null())
            .then(pl.col("_idx") > pl.col("_idx").min().over("account_id", "conversation_id"))
            .otherwise(False)
            .alias("_conversation_seen"),
            # seconds since the previous request of the same conversation (null for its first, or without one)
            pl.when(pl.col("conversation_id").is_not_null())
            .then(pl.col("ts").diff().over("account_id", "conversation_id").dt.total_milliseconds() / 1000.0)
            .alias("_turn_gap_s"),
        )
    )


def metadata_features(features: pl.DataFrame, accounts: pl.DataFrame | None) -> pl.DataFrame:
    """Account age at first request, tier and payment/e-mail facts from the accounts file (null when absent)."""
    cols = ["account_id", "created_at", "tier", "email_domain", "payment_fingerprint", "signup_ip"]
    if accounts is None or accounts.height == 0:
        meta = pl.DataFrame(schema={"account_id": pl.String, "created_at": pl.Datetime("us", "UTC"), "tier": pl.String,
                                    "email_domain": pl.String, "payment_fingerprint": pl.String, "signup_ip": pl.String})
    else:
        meta = accounts.select([pl.col(c) if c in accounts.columns else pl.lit(None, dtype=pl.String).alias(c) for c in cols])
        if meta.schema["created_at"] == pl.String:
            meta = meta.with_columns(pl.col("created_at").str.to_datetime(strict=False, time_zone="UTC", time_unit="us"))
        elif isinstance(meta.schema["created_at"], pl.Datetime) and meta.schema["created_at"].time_zone is None:
            meta = meta.with_columns(pl.col("created_at").dt.replace_time_zone("UTC"))
        meta = meta.with_columns(pl.col("created_at").dt.cast_time_unit("us"))
    return features.join(meta, on="account_id", how="left").with_columns(
        ((pl.col("first_seen") - pl.col("created_at")).dt.total_seconds() / 86400.0).clip(0).alias("account_age_days")
    ).drop("created_at")


def account_features(
    events: pl.DataFrame,
    accounts: pl.DataFrame | None = None,
    features: list[Feature] | None = None,
    window_hours: float | None = None,
) -> pl.DataFrame:
    """One row per account with every behavioural feature (see ``FEATURES_BY_NAME`` for meanings).

    ``window_hours``: the span the window features describe (default: the events' own span).
    """
    features = features or WINDOW_FEATURES
    if events.height == 0:
        return pl.DataFrame(schema={"account_id": pl.String})
    prepared = prepare_events(events, window_hours)
    base = (
        prepared.group_by("account_id")
        .agg(
            pl.col("ts").min().alias("first_seen"),
            pl.col("ts").max().alias("last_seen"),
            *[f.aggregation() for f in features if f.expr is not None],
        )
        .collect(engine=COLLECT_ENGINE)
    )
    text = template_features(sample_prompts(events))
    out = base.join(text, on="account_id", how="left").with_columns(
        [pl.col(c).fill_null(0.0) for c in TEXT_FEATURES]
    )
    return metadata_features(out, accounts).sort("account_id")
