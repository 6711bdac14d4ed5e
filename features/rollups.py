"""Incremental per-account rollups: what the behavioural features need, kept per account and hour.

A window's features (:func:`distillguard.features.account_features`) read every raw event of the
window. Rollups keep, per account and clock hour, only the counts, sums and sketches the features
are made of, so a day's batch or a 7-day re-detection merges hours instead of re-reading events.
Five tables, each mergeable (:func:`merge_rollups`: any split of the events into pieces - stream
micro-batches, ``load`` runs - merges to the rollup of the whole):

``hours``          one row per (account, hour): counts and sums of every share, the requests'
                   times (microseconds into the hour: gaps need their order), per-minute counts,
                   model and system-prompt counts, and serialized sketches from `Apache
                   DataSketches <https://datasketches.apache.org>`_: HLL for distinct counts, KLL
                   for medians.
``prompts``        one row per (account, hour, prompt hash, hash of the prompt as sent): requests,
                   sampling requests and the first request's time: re-asks are "every request of a
                   prompt but its first"; ring evidence counts distinct prompts as sent.
``conversations``  one row per (account, hour, conversation hash): the same for conversation turns,
                   and the conversation's request times in the hour (sorted, as in ``hours``): the
                   gaps between its consecutive turns, across hours and pieces, come back from them.
``sample``         per (account, hour) the prompts whose event_id hashes lowest (at most
                   :data:`SAMPLE_PROMPTS_PER_ACCOUNT`): the lowest of a window are among them, so the
                   text features read exactly the sample the raw path draws.
``values``         per (account, hour) requests by client IP, system prompt and user agent: the
                   values rings link accounts through (:mod:`distillguard.rollup_window`).

How each feature comes back (:func:`features_from_rollups`; :data:`EXACT`, :data:`APPROXIMATE`):

* exact: every count, share, sum and ratio of counts, the gap statistics (``interarrival_cv``,
  ``burstiness``: from the requests' times, whatever order the pieces arrived in),
  hour entropy, day coverage, ``weekend_share`` (the hours' counts by UTC weekday: an hour lies in
  one day), peak minute, requests per active hour, top model share, system prompt entropy, distinct
  prompts and re-ask shares (from the prompt table), continued turns, ``turn_gap_median_s`` (the
  median of the gaps between consecutive requests of a conversation, rebuilt from the conversation
  table's request times: a conversation's turns in different hours or pieces meet again at the
  merge), first/last seen, the text features and the account metadata;
* approximate: distinct counts of IPs, networks, ASNs, user agents, keys, end users, client styles
  and temperatures (HLL, relative error :func:`distinct_count_error`; exact in practice for a few
  hundred values), medians (KLL, normalised rank error :func:`median_rank_error`; exact while an
  account's window holds at most :data:`KLL_K` values, all of which the sketch then keeps), and
  ``prompt_growth``, whose split of the window into halves falls inside one minute: the requests of
  that minute are shared out in proportion (exact when the split falls between minutes).

"Exact" is up to float rounding, 64-bit hash collisions, and requests of one account stamped with the
same microsecond (their order, which the raw path leaves open too, decides a re-ask's temperature:
here the earliest request counts as sampling only if all of its tied requests do).

Storage (:func:`write_rollups`, :func:`read_rollups`): under the lake's root, ``rollups/<table>/
date=.../hour=.../*.parquet``, new files only, merged at read. Every :class:`distillguard.lake.LakeWriter`
writes them for the events it adds when ``[lake] rollups`` is on (``load``, the stream's micro-batches);
the maintenance flow merges an hour's files (:func:`compact_rollups`) and applies retention
(:func:`delete_rollups_before`: the prompt sample goes with the prompts). Detection reads them when
``[detection] from_rollups`` is on (:mod:`distillguard.rollup_window`).

Known limits: prompt and conversation keys are 64-bit BLAKE2b hashes (:func:`stable_hash`); the
sample's order is the raw path's Polars hash, stable within one Polars version only: after an
upgrade, hours written before and after are sampled by different orders (each still a
deterministic sample, no longer the raw path's exactly until the window has passed). Two writers
that write the same event at the same moment both count it (the lake's view shows it once). The
``prompts`` and ``sample`` tables grow with distinct prompts (about 20 and 11 bytes an event on the
simulator), and the conversation table keeps a time per request that has a conversation:
rollups are not much smaller than compressed events, only cheaper to read.

>>> import polars as pl
>>> from datetime import datetime, timedelta, timezone
>>> from distillguard.features import account_features
>>> t0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
>>> events = pl.DataFrame({
...     "event_id": [f"e{i}" for i in range(40)], "ts": [t0 + timedelta(minutes=3 * i) for i in range(40)],
...     "account_id": ["a"] * 40, "api_key_id": ["k"] * 40, "client_ip": ["198.51.100.4"] * 40,
...     "endpoint": ["/v1/messages"] * 40, "model": ["m"] * 40, "status": [200] * 40,
...     "prompt_tokens": [20] * 40, "completion_tokens": [800] * 40,
...     "prompt": [f"Explain topic {i % 25} step by step" for i in range(40)]})
>>> whole = hourly_rollup(events)
>>> halves = merge_rollups([hourly_rollup(events.head(17)), hourly_rollup(events.tail(23))])
>>> merged, raw = features_from_rollups(halves), account_features(events)
>>> [(merged[c].item(), raw[c].item()) for c in ("n_requests", "hot_reask_share", "active_hours")]
[(40, 40), (0.375, 0.375), (2, 2)]
>>> abs(merged["interarrival_cv"].item() - raw["interarrival_cv"].item()) < 1e-9
True
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import polars as pl
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from datasketches import hll_sketch, hll_union, kll_doubles_sketch, tgt_hll_type

from distillguard.features.families import ALL_FEATURES, FEATURES_BY_NAME, LONG_ANSWER_TOKENS, SAMPLING_REQUEST, question_tokens
from distillguard.features.registry import COLLECT_ENGINE
from distillguard.features.text import SAMPLE_PROMPTS_PER_ACCOUNT, normalised_prompt, prompt_identity, template_features
from distillguard.lake import EVENTS_DIR

if TYPE_CHECKING:
    from distillguard.lake import Lake

__all__ = [
    "Rollups", "hourly_rollup", "merge_rollups", "features_from_rollups", "EXACT", "APPROXIMATE",
    "distinct_count_error", "median_rank_error", "HLL_LG_K", "KLL_K", "write_rollups", "read_rollups", "delete_rollups_before",
    "compact_rollups", "merge_table", "rollup_files", "rebuild_rollups",
]

#: log2 of an HLL sketch's buckets: 4,096 buckets, about 1.6 % relative standard error.
HLL_LG_K = 12
#: KLL's accuracy parameter: about 1.65 % normalised rank error (single-sided, 99th percentile).
KLL_K = 200
_HLL_TYPE = tgt_hll_type.HLL_8
#: Seed of the hash the raw path orders prompts by to sample them (``text.sample_prompts``).
SAMPLE_HASH_SEED = 17
#: What ring evidence counts as one prompt across a group's members (``models.rings.ring_evidence``).
RING_PROMPT_TEXT = prompt_identity(pl.col("prompt"), pl.col("prompt_tokens"))


def _blake2b64(values: pl.Series) -> pl.Series:
    digest = [None if v is None else int.from_bytes(hashlib.blake2b(v.encode(), digest_size=8).digest(), "little") for v in values.to_list()]
    return pl.Series(values.name, digest, dtype=pl.UInt64)


def stable_hash(text: pl.Expr) -> pl.Expr:
    """64-bit BLAKE2b of a text column: the same on every machine and every version (Polars' own
    ``hash`` is stable within one Polars version only), so keys written today match keys written
    after an upgrade. About 1 us a value, in Python.

    >>> pl.select(stable_hash(pl.lit("hi"))).item()
    1586464442446408464
    """
    return text.map_batches(_blake2b64, return_dtype=pl.UInt64)

KEYS = ["account_id", "hour"]

#: Distinct counts kept as HLL sketches: column of the hours table -> what is counted (nulls never
#: counted; ``temperature``'s "unset" is a value of its own, kept in ``n_temperature_null``).
HLL_COLUMNS: dict[str, pl.Expr] = {
    "hll_ip": pl.col("client_ip"),
    "hll_prefix": pl.col("_prefix"),
    "hll_asn": pl.col("asn").cast(pl.String),
    "hll_user_agent": pl.col("user_agent"),
    "hll_api_key": pl.col("api_key_id"),
    "hll_end_user": pl.col("end_user_id"),
    "hll_client_style": pl.col("_client_style"),
    "hll_temperature": pl.col("temperature").cast(pl.String),
}
_ANSWERED_OPENING = (pl.col("status") < 400) & (pl.col("turn").fill_null(1) <= 1)
#: Quantiles kept as KLL sketches: column -> the values (nulls dropped, as Polars' median drops them).
KLL_COLUMNS: dict[str, pl.Expr] = {
    "kll_completion_prompt_ratio": pl.when(pl.col("turn").fill_null(1) <= 1).then(pl.col("completion_tokens") / (pl.col("prompt_tokens") + 1)),
    "kll_completion_tokens_answered": pl.when(pl.col("status") < 400).then(pl.col("completion_tokens")),
    "kll_max_tokens": pl.col("max_tokens"),
    "kll_temperature": pl.col("temperature"),
    "kll_opening_completion": pl.when(_ANSWERED_OPENING).then(pl.col("completion_tokens")),
    "kll_opening_prompt": pl.when(_ANSWERED_OPENING).then(pl.col("prompt_tokens")),
}

_hot = SAMPLING_REQUEST
_turn = pl.col("turn").fill_null(1)
#: A request's time as microseconds into its hour (``hours`` and ``conversations`` keep them, sorted).
_TS_US = (pl.col("ts") - pl.col("hour")).dt.total_microseconds().cast(pl.UInt32)
#: The times of a rollup row's requests merged with its pieces' (sorted: the pieces interleave in time).
_MERGED_TS_US = pl.col("ts_us").list.explode(keep_nulls=False, empty_as_null=False).sort()


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.fill_null(False).cast(pl.Int64).sum()


#: Additive counts of the hours table: column -> per-event condition (or value) summed.
SUMS: dict[str, pl.Expr] = {
    "n_rate_limited": _count(pl.col("status") == 429),
    "n_prompt_logged": _count(pl.col("prompt").is_not_null()),
    "n_reasoning": _count(pl.col("_asks_reasoning")),
    "n_fixed_format": _count(pl.col("_asks_fixed_format") | pl.col("response_format").is_in(["json_object", "json_schema"])),
    "n_rubric": _count(pl.col("_asks_rubric")),
    "n_long_answer": _count((pl.col("status") < 400) & (pl.col("completion_tokens") >= LONG_ANSWER_TOKENS)),
    "n_logprobs": _count(pl.col("logprobs") | (pl.col("top_logprobs") > 0)),
    "n_multi_sample": _count(pl.col("n") > 1),
    "n_length_cut": _count(pl.col("finish_reason") == "length"),
    "n_deterministic": _count(pl.col("temperature") <= 0.2),
    "n_temperature_null": _count(pl.col("temperature").is_null()),
    "n_single_turn": _count(_turn <= 1),
    "n_later_turn": _count(_turn > 1),
    "n_tools": _count(pl.col("tools") > 0),
    "completion_tokens_sum": pl.col("completion_tokens").cast(pl.Int64).sum(),
    "turn_sum": _turn.cast(pl.Int64).sum(),
}

#: Features computed exactly from rollups (equal to the raw path's up to float rounding and to
#: ties of time stamps, whose order the raw path leaves open too).
EXACT = [
    "n_requests", "active_hours", "requests_per_active_hour", "requests_per_day", "completion_tokens_total",
    "rate_limited_share", "interarrival_cv", "hour_entropy", "day_coverage", "burstiness", "peak_minute_share", "weekend_share",
    "distinct_prompt_share", "distinct_prompts", "prompt_logged_share", "hot_reask_share", "cold_reask_share",
    "reasoning_share", "fixed_format_share", "rubric_share", "long_answer_share", "logprobs_share",
    "multi_sample_share", "length_cut_share", "deterministic_share", "top_model_share", "n_system_prompts",
    "system_prompt_entropy", "mean_turn", "single_turn_share", "continued_turn_share", "turn_gap_median_s", "tool_share",
    "template_word_share", "top_skeleton_share", "slot_diversity", "dominant_skeleton", "prompt_frames", "account_age_days",
]
#: Distinct counts from HLL sketches (within :func:`distinct_count_error`).
APPROXIMATE_DISTINCT = ["n_ips", "n_prefixes", "n_asns", "n_user_agents", "n_api_keys", "n_end_users", "n_client_styles", "temperature_distinct"]
#: Medians from KLL sketches (rank within :func:`median_rank_error` of one half).
APPROXIMATE_MEDIAN = ["completion_prompt_ratio", "completion_tokens_median", "max_tokens_median", "temperature_median"]
#: Ratios of KLL quantiles (exact while an account's window holds at most :data:`KLL_K` answered openings).
APPROXIMATE_QUANTILE_RATIO = ["answer_question_ratio"]
#: Every approximate feature; ``prompt_growth`` is exact when the window's halves split between minutes.
APPROXIMATE = APPROXIMATE_DISTINCT + APPROXIMATE_MEDIAN + APPROXIMATE_QUANTILE_RATIO + ["prompt_growth"]


def distinct_count_error(num_std_devs: int = 3, lg_k: int = HLL_LG_K) -> float:
    """The HLL sketches' a-priori relative error bound (upper side, merged sketches) at ``num_std_devs``.

    >>> round(distinct_count_error(), 3)
    0.05
    """
    return max(abs(float(hll_sketch.get_rel_err(upper, True, lg_k, num_std_devs))) for upper in (True, False))


def median_rank_error(k: int = KLL_K) -> float:
    """KLL's normalised rank error (single-sided, 99th percentile of trials): a median from the
    sketch is a value whose rank in the data lies within this of one half.

    >>> round(median_rank_error(), 4)
    0.0133
    """
    return float(kll_doubles_sketch.get_normalized_rank_error(k, False))


@dataclass(frozen=True)
class Rollups:
    """The rollup tables (see the module docstring)."""

    hours: pl.DataFrame
    prompts: pl.DataFrame
    conversations: pl.DataFrame
    sample: pl.DataFrame
    values: pl.DataFrame

    @staticmethod
    def tables() -> list[str]:
        return [f.name for f in fields(Rollups)]

    def size_bytes(self) -> int:
        """In-memory size of the four tables (Arrow buffers)."""
        return sum(getattr(self, t).estimated_size() for t in self.tables())


# -- building ----------------------------------------------------------------------------------------
def _rollup_events(events: pl.DataFrame) -> pl.DataFrame:
    """Events with the helper columns the rollup reads (the costly text ones only when absent)."""
    from distillguard.features import _with_contract_columns, add_event_derived

    events = _with_contract_columns(events)
    return (
        add_event_derived(events.lazy(), events.columns, skip=("_text",))
        .with_columns(pl.col("ts").dt.truncate("1h").alias("hour"))
        .sort("account_id", "ts")
        .collect(engine=COLLECT_ENGINE)
    )


def _sketch_groups(frame: pl.DataFrame, keys: list[str], value: pl.Expr) -> tuple[pl.DataFrame, list[np.ndarray]]:
    """Per group of ``keys`` (in key order) the non-null values of ``value``, as numpy arrays."""
    values = frame.lazy().select(*keys, value.alias("_v")).drop_nulls("_v").sort(keys, maintain_order=True).collect(engine=COLLECT_ENGINE)
    groups = values.group_by(keys, maintain_order=True).agg(pl.len().alias("_n"))
    flat = values["_v"].to_numpy()
    return groups.drop("_n"), np.split(flat, np.cumsum(groups["_n"].to_numpy())[:-1]) if groups.height else []


def _hll_bytes(values: Iterable) -> bytes:
    sketch = hll_sketch(HLL_LG_K, _HLL_TYPE)
    for v in values:
        sketch.update(v)
    return sketch.serialize_compact()


def _kll_bytes(values: np.ndarray) -> bytes:
    sketch = kll_doubles_sketch(KLL_K)
    sketch.update(values.astype(np.float64))
    return sketch.serialize()


def _sketch_column(frame: pl.DataFrame, name: str, value: pl.Expr, kind: str) -> pl.DataFrame:
    if kind == "hll":        # distinct values first: a sketch sees each value once per hour
        groups, arrays = _sketch_groups(frame.lazy().select(*KEYS, value.alias("_d")).unique().collect(), KEYS, pl.col("_d"))
        blobs = [_hll_bytes(a.tolist()) for a in arrays]
    else:
        groups, arrays = _sketch_groups(frame, KEYS, value)
        blobs = [_kll_bytes(a) for a in arrays]
    return groups.with_columns(pl.Series(name, blobs, dtype=pl.Binary))


def hourly_rollup(events: pl.DataFrame, sample_per_account: int = SAMPLE_PROMPTS_PER_ACCOUNT) -> Rollups:
    """The rollups of a frame of events (contract columns; any order, any span).

    >>> import polars as pl
    >>> from datetime import datetime
    >>> ev = pl.DataFrame({"event_id": ["a", "b", "c"], "ts": [datetime(2026, 11, 2, 10, m) for m in (0, 1, 59)],
    ...                    "account_id": ["x"] * 3, "api_key_id": ["k"] * 3, "client_ip": ["10.0.0.1"] * 3,
    ...                    "endpoint": ["/v1/messages"] * 3, "model": ["m"] * 3, "status": [200, 429, 200],
    ...                    "prompt_tokens": [1] * 3, "completion_tokens": [5] * 3, "prompt": ["hi", "Hi ", "bye"]})
    >>> r = hourly_rollup(ev)
    >>> r.hours.select("n", "n_rate_limited", "ts_us").row(0)
    (3, 1, [0, 60000000, 3540000000])
    >>> r.prompts.group_by("prompt_hash").agg(pl.col("n").sum())["n"].sort().to_list()   # "hi" and "Hi " are one prompt
    [1, 2]
    >>> r.prompts.height                                  # but two to ring evidence, which reads the prompt as sent
    3
    """
    ev = _rollup_events(events)
    if ev.height == 0:
        return _empty_rollups(events)
    minutes = (
        ev.lazy()
        .group_by(*KEYS, pl.col("ts").dt.minute().cast(pl.Int8).alias("minute"))
        .agg(pl.len().cast(pl.Int64).alias("n"), _count(pl.col("prompt").is_not_null()).alias("n_logged"))
        .sort(*KEYS, "minute")
        .group_by(KEYS, maintain_order=True)
        .agg(pl.struct("minute", "n", "n_logged").alias("minute_counts"))
    )
    models = _counts_list(ev.lazy(), pl.col("model"), "model", "model_counts")
    system_prompts = _counts_list(ev.lazy(), pl.col("system_prompt_hash").fill_null(""), "system_prompt_hash", "system_prompt_counts")
    hours = (
        ev.lazy()
        .group_by(KEYS, maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
            _TS_US.sort().alias("ts_us"),
            *[expr.alias(name) for name, expr in SUMS.items()],
        )
        .join(minutes, on=KEYS, how="left")
        .join(models, on=KEYS, how="left")
        .join(system_prompts, on=KEYS, how="left")
        .collect(engine=COLLECT_ENGINE)
    )
    for name, value in HLL_COLUMNS.items():
        hours = hours.join(_sketch_column(ev, name, value, "hll"), on=KEYS, how="left")
    for name, value in KLL_COLUMNS.items():
        hours = hours.join(_sketch_column(ev, name, value, "kll"), on=KEYS, how="left")
    return Rollups(hours.sort(KEYS), _prompt_table(ev), _conversation_table(ev), _sample_table(ev, sample_per_account), _value_table(ev))


def _counts_list(ev: pl.LazyFrame, value: pl.Expr, name: str, alias: str) -> pl.LazyFrame:
    return (
        ev.group_by(*KEYS, value.alias(name)).agg(pl.len().cast(pl.Int64).alias("n"))
        .sort(*KEYS, name, nulls_last=True)
        .group_by(KEYS, maintain_order=True)
        .agg(pl.struct(name, "n").alias(alias))
    )


def _at_first(flag: pl.Expr, ts: str) -> pl.Expr:
    """``flag`` of the group's earliest request; of requests tied at that time, false wins (the raw
    path leaves their order open: this makes every split of the events merge to one answer)."""
    return flag.filter(pl.col(ts) == pl.col(ts).min()).min()


def _prompt_table(ev: pl.DataFrame) -> pl.DataFrame:
    """Per (account, hour, prompt key): requests, sampling requests, and the first one's time and temperature."""
    return (
        ev.lazy()
        .filter(pl.col("_prompt_key").is_not_null())
        .group_by(*KEYS, "_prompt_key", RING_PROMPT_TEXT.alias("_ring_text"))
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            _count(_hot).alias("n_hot"),
            pl.col("ts").min().alias("first_ts"),
            _at_first(_hot, "ts").alias("first_hot"),
        )
        .select(*KEYS, stable_hash(pl.col("_prompt_key")).alias("prompt_hash"), stable_hash(pl.col("_ring_text")).alias("ring_hash"),
                "n", "n_hot", "first_ts", "first_hot")
        .sort(*KEYS, "prompt_hash", "ring_hash")
        .collect(engine=COLLECT_ENGINE)
    )


def _value_table(ev: pl.DataFrame) -> pl.DataFrame:
    """Per (account, hour) requests by client IP, system prompt and user agent: the values rings
    link accounts through (``models.rings.value_counts``: the same counts over raw events)."""
    from distillguard.models.rings import value_counts

    return value_counts(ev, by=KEYS)


def _conversation_table(ev: pl.DataFrame) -> pl.DataFrame:
    """Per (account, hour, conversation): later-turn requests, whether the first request was one, and
    the requests' times (microseconds into the hour, sorted: the turn gaps are read from them)."""
    return (
        ev.lazy()
        .filter(pl.col("conversation_id").is_not_null())
        .group_by(*KEYS, "conversation_id")
        .agg(
            _count(_turn > 1).alias("n_later"),
            pl.col("ts").min().alias("first_ts"),
            _at_first(_turn > 1, "ts").alias("first_later"),
            _TS_US.sort().alias("ts_us"),
        )
        .select(*KEYS, stable_hash(pl.col("conversation_id")).alias("conversation_hash"), "n_later", "first_ts", "first_later", "ts_us")
        .sort(*KEYS, "conversation_hash")
        .collect(engine=COLLECT_ENGINE)
    )


def _sample_table(ev: pl.DataFrame, per_account: int) -> pl.DataFrame:
    """Per (account, hour) the ``per_account`` eligible prompts of lowest event_id hash, normalised
    (as :func:`distillguard.features.text.sample_prompts` draws them over a whole window)."""
    eligible = pl.col("prompt").str.slice(0, 2000).str.contains(r"\w")
    if "_text" in ev.columns:
        eligible, text = pl.col("_text").str.len_chars() > 0, pl.col("_text")
    else:
        text = normalised_prompt(pl.col("prompt"))
    return (
        ev.lazy()
        .filter(pl.col("prompt").is_not_null() & eligible)
        .with_columns(pl.col("event_id").hash(seed=SAMPLE_HASH_SEED).alias("order"))
        .sort(*KEYS, "order")
        .filter(pl.int_range(pl.len()).over(KEYS) < per_account)
        .select(*KEYS, "order", text.alias("text"))
        .collect(engine=COLLECT_ENGINE)
    )


def _empty_rollups(events: pl.DataFrame) -> Rollups:
    ts = events.schema.get("ts", pl.Datetime("us"))
    tiny = events.head(0)
    one = pl.DataFrame({"event_id": ["_"], "ts": pl.Series([0], dtype=pl.Int64).cast(ts), "account_id": ["_"], "prompt": ["x"],
                        "conversation_id": ["c"]})
    template = hourly_rollup(pl.concat([tiny.select([c for c in tiny.columns if c in one.columns]), one], how="diagonal_relaxed")
                             if tiny.width else one)
    return Rollups(*[getattr(template, t).head(0) for t in Rollups.tables()])


# -- merging -----------------------------------------------------------------------------------------
def _union_hll(blobs: Sequence[bytes | None]) -> bytes | None:
    present = [b for b in blobs if b is not None]
    if len(present) <= 1:
        return present[0] if present else None
    union = hll_union(HLL_LG_K)
    for b in present:
        union.update(hll_sketch.deserialize(b))
    return union.get_result(_HLL_TYPE).serialize_compact()


def _merge_kll(blobs: Sequence[bytes | None]) -> bytes | None:
    present = [b for b in blobs if b is not None]
    if len(present) <= 1:
        return present[0] if present else None
    sketch = kll_doubles_sketch.deserialize(present[0])
    for b in present[1:]:
        sketch.merge(kll_doubles_sketch.deserialize(b))
    return sketch.serialize()


def _merge_sketch_lists(lists: pl.Series, kind: str) -> pl.Series:
    merge = _union_hll if kind == "hll" else _merge_kll
    return pl.Series([merge(blobs) for blobs in lists.to_list()], dtype=pl.Binary)


def _merge_counts(frame: pl.DataFrame, keys: list[str], column: str, name: str, extra: Sequence[str] = ()) -> pl.DataFrame:
    return (
        frame.lazy().select(*keys, column).explode(column).unnest(column)
        .group_by(*keys, name).agg(pl.col("n").sum(), *[pl.col(e).sum() for e in extra])
        .sort(*keys, name, nulls_last=True)
        .group_by(keys, maintain_order=True)
        .agg(pl.struct(name, "n", *extra).alias(column))
        .collect(engine=COLLECT_ENGINE)
    )


def _merge_hours(hours: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Rows of ``hours`` with equal ``keys`` as one (times merged in order, sketches merged)."""
    if hours.height == 0 or hours.select(pl.struct(keys).is_unique().all()).item():
        return hours
    sums = ["n", *SUMS]
    base = (
        hours.sort(*keys, "first_ts").group_by(keys, maintain_order=True)
        .agg(pl.col("first_ts").min(), pl.col("last_ts").max(),
             _MERGED_TS_US,                                                                  # the pieces' times, in order
             *[pl.col(c).sum() for c in sums], *[pl.col(c) for c in [*HLL_COLUMNS, *KLL_COLUMNS]])
    )
    base = base.with_columns(
        [_merge_sketch_lists(base[c], "hll").alias(c) for c in HLL_COLUMNS]
        + [_merge_sketch_lists(base[c], "kll").alias(c) for c in KLL_COLUMNS]
    )
    merged = (
        base.join(_merge_counts(hours, keys, "minute_counts", "minute", ["n_logged"]), on=keys, how="left")
        .join(_merge_counts(hours, keys, "model_counts", "model"), on=keys, how="left")
        .join(_merge_counts(hours, keys, "system_prompt_counts", "system_prompt_hash"), on=keys, how="left")
    )
    return merged.select(hours.columns).sort(keys)


def _merge_first(frame: pl.DataFrame, keys: list[str], sums: list[str], first_flag: str) -> pl.DataFrame:
    times = [_MERGED_TS_US] if "ts_us" in frame.columns else []
    return (
        frame.lazy()
        .group_by(keys)
        .agg(*[pl.col(c).sum() for c in sums], pl.col("first_ts").min(), _at_first(pl.col(first_flag), "first_ts"), *times)
        .select(frame.columns)
        .sort(keys)
        .collect(engine=COLLECT_ENGINE)
    )


def merge_rollups(pieces: Sequence[Rollups], sample_per_account: int = SAMPLE_PROMPTS_PER_ACCOUNT) -> Rollups:
    """One rollup from several (micro-batches, files of one hour): equal to the rollup of all their events.

    >>> import polars as pl
    >>> from datetime import datetime
    >>> ev = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2, 10, 0), datetime(2026, 11, 2, 10, 30)],
    ...                    "account_id": ["x"] * 2, "api_key_id": ["k"] * 2, "client_ip": ["10.0.0.1", "10.0.0.2"],
    ...                    "endpoint": ["/v1/messages"] * 2, "model": ["m"] * 2, "status": [200] * 2,
    ...                    "prompt_tokens": [1] * 2, "completion_tokens": [5] * 2})
    >>> merge_rollups([hourly_rollup(ev.tail(1)), hourly_rollup(ev.head(1))]).hours.select("n", "ts_us").row(0)
    (2, [0, 1800000000])
    """
    pieces = [p for p in pieces if p.hours.height] or list(pieces[:1])
    if len(pieces) == 1 and pieces[0].hours.select(pl.struct(KEYS).is_unique().all()).item():
        return pieces[0]
    return Rollups(**{t: merge_table(t, pl.concat([getattr(p, t) for p in pieces], how="vertical_relaxed"), sample_per_account)
                      for t in Rollups.tables()})


def merge_table(table: str, frame: pl.DataFrame, sample_per_account: int = SAMPLE_PROMPTS_PER_ACCOUNT) -> pl.DataFrame:
    """Rows of one rollup table (``table``: a field of :class:`Rollups`) merged: one row per key."""
    if table == "hours":
        return _merge_hours(frame, KEYS)
    if table == "prompts":
        return _merge_first(frame, [*KEYS, "prompt_hash", "ring_hash"], ["n", "n_hot"], "first_hot")
    if table == "conversations":
        return _merge_first(frame, [*KEYS, "conversation_hash"], ["n_later"], "first_later")
    if table == "sample":                  # pieces hold distinct events (the lake's writers see to it)
        return frame.sort(*KEYS, "order", "text").filter(pl.int_range(pl.len()).over(KEYS) < sample_per_account)
    if table == "values":
        return frame.group_by(*KEYS, "kind", "value").agg(pl.col("n").sum()).sort(*KEYS, "kind", "value", nulls_last=True)
    raise ValueError(f"no rollup table {table!r}")


# -- features ----------------------------------------------------------------------------------------
def _with_sketch_columns(hours: pl.DataFrame) -> pl.DataFrame:
    """Rollups written before a sketch column existed read as having no values for it."""
    missing = [c for c in [*HLL_COLUMNS, *KLL_COLUMNS] if c not in hours.columns]
    return hours.with_columns(pl.lit(None, dtype=pl.Binary).alias(c) for c in missing) if missing else hours


def _hll_estimate(blobs: list[bytes | None]) -> float:
    merged = _union_hll(blobs)
    return 0.0 if merged is None else float(hll_sketch.deserialize(merged).get_estimate())


def _kll_quantile(blobs: list[bytes | None], q: float = 0.5) -> float | None:
    merged = _merge_kll(blobs)
    if merged is None:
        return None
    sketch = kll_doubles_sketch.deserialize(merged)
    if sketch.is_empty():
        return None
    if not sketch.is_estimation_mode():     # at most k values, all retained: the exact quantile (as Polars' linear one)
        return float(np.quantile(np.fromiter((item for item, _ in sketch), dtype=np.float64), q))
    return float(sketch.get_quantile(q))


def _entropy(counts: pl.Expr, n_categories: int) -> pl.Expr:
    """Normalised Shannon entropy of a list of counts (as ``registry.normalised_entropy``)."""
    p = counts.list.eval(pl.element() / pl.element().sum())
    h = p.list.eval(-(pl.element() * pl.element().log())).list.sum()
    return (h / math.log(n_categories)).fill_nan(0.0)


def features_from_rollups(
    rollups: Rollups,
    accounts: pl.DataFrame | None = None,
    window_hours: float | None = None,
) -> pl.DataFrame:
    """One row per account with the columns of :func:`distillguard.features.account_features`,
    computed from rollups alone (which are exact and which approximate: :data:`EXACT`, :data:`APPROXIMATE`).

    ``window_hours``: the span the window features describe (default: the rollups' own span, at least 1 h).
    """
    from distillguard.features import metadata_features

    hours = rollups.hours
    if hours.height == 0:
        return pl.DataFrame(schema={"account_id": pl.String})
    if window_hours is None:
        span = hours.select((pl.col("last_ts").max() - pl.col("first_ts").min()).dt.total_microseconds()).item() / 1e6
        window_hours = max(1.0, span / 3600.0)
    hours = _merge_hours(_with_sketch_columns(hours), KEYS)
    per_hour = hours.sort("account_id", "first_ts")
    minutes = (
        hours.lazy().select("account_id", "hour", "minute_counts").explode("minute_counts").unnest("minute_counts")
        .with_columns((pl.col("hour").dt.epoch("s") // 600 + pl.col("minute").cast(pl.Int64) // 10).alias("_slot"))   # 10-minute slots
        .group_by("account_id")
        .agg(pl.col("_slot").n_unique().alias("_slots"), pl.col("n").max().alias("_peak"))
        .collect(engine=COLLECT_ENGINE)
    )
    models = _merge_counts(hours, ["account_id"], "model_counts", "model")
    systems = _merge_counts(hours, ["account_id"], "system_prompt_counts", "system_prompt_hash")
    hour_of_day = hours.group_by("account_id", pl.col("hour").dt.hour().alias("h")).agg(pl.col("n").sum()).group_by("account_id").agg(
        pl.col("n").alias("_by_hour"))
    sums = ["n", *SUMS]
    base = (
        per_hour.group_by("account_id", maintain_order=True)
        .agg(pl.col("first_ts").min().alias("first_seen"), pl.col("last_ts").max().alias("last_seen"),
             pl.col("hour").n_unique().alias("active_hours"),
             pl.col("n").filter(pl.col("hour").dt.weekday() >= 6).sum().alias("_weekend"),     # an hour lies in one UTC day
             *[pl.col(c).sum() for c in sums], *[pl.col(c) for c in [*HLL_COLUMNS, *KLL_COLUMNS]])
    )
    estimates: list[pl.Series] = [pl.Series(c, [_hll_estimate(b) for b in base[c].to_list()], dtype=pl.Float64) for c in HLL_COLUMNS]
    estimates += [pl.Series(c, [_kll_quantile(b) for b in base[c].to_list()], dtype=pl.Float64) for c in KLL_COLUMNS]
    estimates.append(pl.Series("_opening_prompt_p05", [_kll_quantile(b, 0.05) for b in base["kll_opening_prompt"].to_list()], dtype=pl.Float64))
    base = base.drop(*HLL_COLUMNS, *KLL_COLUMNS).with_columns(estimates)
    base = (
        base.join(minutes, on="account_id", how="left").join(models, on="account_id", how="left")
        .join(systems, on="account_id", how="left").join(hour_of_day, on="account_id", how="left")
        .join(_prompt_features(rollups.prompts, hours), on="account_id", how="left")
        .join(_continued_turns(rollups.conversations), on="account_id", how="left")
        .join(_turn_gaps(rollups.conversations), on="account_id", how="left")
        .join(_timing(hours), on="account_id", how="left")
    )
    n = pl.col("n")
    logged = pl.col("n_prompt_logged").clip(1)        # what prompts say is read over the logged ones
    rounded = {c: pl.col(c).round(0).cast(pl.UInt32) for c in HLL_COLUMNS}
    exprs = {
        "n_requests": n.cast(pl.UInt32),
        "active_hours": pl.col("active_hours").cast(pl.UInt32),
        "requests_per_active_hour": n / (pl.col("_slots") / 6.0),
        "requests_per_day": n / max(1.0, window_hours / 24.0),
        "completion_tokens_total": pl.col("completion_tokens_sum"),
        "completion_prompt_ratio": pl.col("kll_completion_prompt_ratio"),
        "answer_question_ratio": pl.col("kll_opening_completion") / question_tokens(pl.col("kll_opening_prompt"), pl.col("_opening_prompt_p05")),
        "rate_limited_share": pl.col("n_rate_limited") / n,
        "interarrival_cv": pl.col("_interarrival_cv"),
        "hour_entropy": _entropy(pl.col("_by_hour"), 24),
        "day_coverage": pl.col("active_hours") / window_hours,
        "burstiness": pl.col("_burstiness"),
        "peak_minute_share": pl.col("_peak") / n,
        "weekend_share": pl.col("_weekend") / n,
        "distinct_prompt_share": pl.col("_distinct_prompts").fill_null(0) / logged,
        "distinct_prompts": pl.col("_distinct_prompts").fill_null(0).cast(pl.UInt32),
        "prompt_logged_share": pl.col("n_prompt_logged") / n,
        "prompt_growth": pl.col("_prompt_growth").fill_null(0.0),
        "hot_reask_share": pl.col("_hot_repeats").fill_null(0) / logged,
        "cold_reask_share": pl.col("_cold_repeats").fill_null(0) / logged,
        "reasoning_share": pl.col("n_reasoning") / logged,
        "fixed_format_share": pl.col("n_fixed_format") / n,
        "rubric_share": pl.col("n_rubric") / logged,
        "completion_tokens_median": pl.col("kll_completion_tokens_answered").fill_null(0.0),
        "long_answer_share": pl.col("n_long_answer") / n,
        "max_tokens_median": pl.col("kll_max_tokens").fill_null(0.0),
        "logprobs_share": pl.col("n_logprobs") / n,
        "multi_sample_share": pl.col("n_multi_sample") / n,
        "length_cut_share": pl.col("n_length_cut") / n,
        "temperature_distinct": (rounded["hll_temperature"] + (pl.col("n_temperature_null") > 0).cast(pl.UInt32)),
        "deterministic_share": pl.col("n_deterministic") / n,
        "temperature_median": pl.col("kll_temperature"),
        "top_model_share": pl.col("model_counts").list.eval(pl.element().struct.field("n")).list.max() / n,
        "n_ips": rounded["hll_ip"],
        "n_prefixes": rounded["hll_prefix"],
        "n_asns": rounded["hll_asn"],
        "n_user_agents": rounded["hll_user_agent"],
        "n_api_keys": rounded["hll_api_key"],
        "n_end_users": rounded["hll_end_user"],
        "n_system_prompts": pl.col("system_prompt_counts").list.eval(
            pl.element().filter(pl.element().struct.field("system_prompt_hash") != "")).list.len().cast(pl.UInt32),
        "n_client_styles": rounded["hll_client_style"],
        "system_prompt_entropy": _entropy(pl.col("system_prompt_counts").list.eval(pl.element().struct.field("n")), 64),
        "mean_turn": pl.col("turn_sum") / n,
        "single_turn_share": pl.col("n_single_turn") / n,
        "continued_turn_share": (pl.col("_continued").fill_null(0) / pl.col("n_later_turn")).fill_nan(0.0).fill_null(0.0),
        "turn_gap_median_s": pl.col("_turn_gap_median_s"),
        "tool_share": pl.col("n_tools") / n,
    }
    missing = [f.name for f in ALL_FEATURES if f.expr is not None and f.name not in exprs]
    if missing:           # a window feature added to families.py needs its rollup form here
        raise NotImplementedError(f"features without a rollup form: {', '.join(missing)} (features/rollups.py features_from_rollups)")
    feats = base.select("account_id", "first_seen", "last_seen", *[exprs[f.name].alias(f.name) for f in ALL_FEATURES if f.name in exprs])
    text = template_features(
        rollups.sample.sort("account_id", "order", "text").filter(pl.int_range(pl.len()).over("account_id") < SAMPLE_PROMPTS_PER_ACCOUNT)
        .select("account_id", "text")
    )
    from distillguard.features import TEXT_FEATURES

    out = feats.join(text, on="account_id", how="left").with_columns([pl.col(c).fill_null(0.0) for c in TEXT_FEATURES])
    return metadata_features(out, accounts).sort("account_id")


def _timing(hours: pl.DataFrame) -> pl.DataFrame:
    """Per account the gap features, by the raw path's own expressions over the requests' times."""
    gap_features = [FEATURES_BY_NAME[name].expr.alias(f"_{name}") for name in ("interarrival_cv", "burstiness")]
    return (
        hours.lazy().select("account_id", "hour", "ts_us").explode("ts_us")
        .select("account_id", (pl.col("hour") + pl.duration(microseconds=pl.col("ts_us").cast(pl.Int64))).alias("ts"))
        .sort("account_id", "ts")
        .with_columns((pl.col("ts").diff().over("account_id").dt.total_milliseconds() / 1000.0).alias("_gap_s"))
        .group_by("account_id")
        .agg(gap_features)
        .collect(engine=COLLECT_ENGINE)
    )


def _turn_gaps(conversations: pl.DataFrame) -> pl.DataFrame:
    """Per account the median turn gap, by the raw path's expression over the gaps between
    consecutive requests of each conversation (its times from every hour it spans, in order)."""
    return (
        conversations.lazy().select("account_id", "conversation_hash", "hour", "ts_us").explode("ts_us")
        .select("account_id", "conversation_hash",
                (pl.col("hour") + pl.duration(microseconds=pl.col("ts_us").cast(pl.Int64))).alias("ts"))
        .sort("account_id", "conversation_hash", "ts")
        .with_columns((pl.col("ts").diff().over("account_id", "conversation_hash").dt.total_milliseconds() / 1000.0).alias("_turn_gap_s"))
        .group_by("account_id")
        .agg(FEATURES_BY_NAME["turn_gap_median_s"].expr.alias("_turn_gap_median_s"))
        .collect(engine=COLLECT_ENGINE)
    )


def _prompt_features(prompts: pl.DataFrame, hours: pl.DataFrame) -> pl.DataFrame:
    """Per account: distinct prompts, hot and cold re-asks, and the prompt growth of the window."""
    per_prompt = (
        prompts.lazy()
        .group_by("account_id", "prompt_hash")
        .agg(pl.col("n").sum(), pl.col("n_hot").sum(), _at_first(pl.col("first_hot"), "first_ts"), pl.col("first_ts").min())
    )
    # Where the later half of the account's requests starts: the minute holding request ceil(N/2)
    # and the share of that minute's requests before it (the minute's requests are shared out).
    minutes = (
        hours.lazy().select("account_id", "hour", "minute_counts").explode("minute_counts").unnest("minute_counts")
        .with_columns((pl.col("hour") + pl.duration(minutes=pl.col("minute").cast(pl.Int64))).alias("start"))
        .sort("account_id", "start")
        .with_columns(pl.col("n").sum().over("account_id").alias("total"),
                      pl.col("n").cum_sum().over("account_id").alias("upto"))
        .with_columns((pl.col("total") / 2).ceil().alias("half"))
        .with_columns((pl.col("upto") - pl.col("n")).alias("before"))
    )
    split = (
        minutes.filter((pl.col("before") < pl.col("half")) & (pl.col("upto") >= pl.col("half")))
        .group_by("account_id").agg(pl.col("start").first().alias("split_minute"),
                                    ((pl.col("half") - pl.col("before")) / pl.col("n")).first().alias("earlier_part"))
    )
    logged_later = (
        minutes.join(split, on="account_id")
        .group_by("account_id")
        .agg(((pl.col("start") > pl.col("split_minute")).cast(pl.Float64) * pl.col("n_logged")
              + (pl.col("start") == pl.col("split_minute")).cast(pl.Float64) * (1 - pl.col("earlier_part")) * pl.col("n_logged"))
             .sum().alias("_logged_later"))
    )
    minute_of = pl.col("first_ts").dt.truncate("1m")
    new_later = (
        per_prompt.join(split, on="account_id")
        .group_by("account_id")
        .agg(((minute_of > pl.col("split_minute")).cast(pl.Float64) * pl.col("n")
              + (minute_of == pl.col("split_minute")).cast(pl.Float64) * (1 - pl.col("earlier_part")) * pl.col("n"))
             .sum().alias("_new_later"))
    )
    hot = pl.col("first_hot").cast(pl.Int64)
    return (
        per_prompt.group_by("account_id")
        .agg(pl.len().alias("_distinct_prompts"),
             (pl.col("n_hot") - hot).sum().alias("_hot_repeats"),
             ((pl.col("n") - pl.col("n_hot")) - (1 - hot)).sum().alias("_cold_repeats"))
        .join(new_later, on="account_id", how="left")
        .join(logged_later, on="account_id", how="left")
        .with_columns((pl.col("_new_later") / pl.col("_logged_later")).fill_nan(None).alias("_prompt_growth"))
        .select("account_id", "_distinct_prompts", "_hot_repeats", "_cold_repeats", "_prompt_growth")
        .collect(engine=COLLECT_ENGINE)
    )


def _continued_turns(conversations: pl.DataFrame) -> pl.DataFrame:
    """Per account: later-turn requests whose conversation had an earlier request in the window."""
    return (
        conversations.lazy()
        .group_by("account_id", "conversation_hash")
        .agg(pl.col("n_later").sum(), _at_first(pl.col("first_later"), "first_ts"))
        .group_by("account_id")
        .agg((pl.col("n_later") - pl.col("first_later").cast(pl.Int64)).sum().alias("_continued"))
        .collect(engine=COLLECT_ENGINE)
    )


# -- storage: Parquet beside the lake's events ------------------------------------------------------
#: Folder of the rollup tables under the lake's root: ``rollups/<table>/date=.../hour=.../*.parquet``.
ROLLUPS_DIR = "rollups"


def write_rollups(lake: Lake, rollups: Rollups) -> int:
    """Write ``rollups`` as new files of the lake, one per table and hour (never appended to:
    readers merge them, :func:`read_rollups`). Returns the bytes written.

    >>> import tempfile, pathlib
    >>> from datetime import datetime
    >>> from distillguard.lake import Lake
    >>> lake = Lake(str(pathlib.Path(tempfile.mkdtemp()) / "dg.lake"))
    >>> ev = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2, 10, 5), datetime(2026, 11, 2, 11, 0)],
    ...                    "account_id": ["x", "x"], "api_key_id": ["k", "k"], "client_ip": ["1.2.3.4"] * 2,
    ...                    "endpoint": ["/v1/messages"] * 2, "model": ["m"] * 2, "status": [200, 200],
    ...                    "prompt_tokens": [1, 1], "completion_tokens": [1, 1], "prompt": ["hi", "hi"]})
    >>> write_rollups(lake, hourly_rollup(ev.head(1))) > 0 and write_rollups(lake, hourly_rollup(ev.tail(1))) > 0
    True
    >>> r = read_rollups(lake)
    >>> r.hours["n"].to_list(), r.prompts["n"].to_list(), features_from_rollups(r)["cold_reask_share"].item()
    ([1, 1], [1, 1], 0.0)
    """
    written = 0
    for table in Rollups.tables():
        frame = getattr(rollups, table)
        if frame.height == 0:
            continue
        frame = _with_utc(frame, None)
        hour = pl.col("hour")
        for (date, hh), part in frame.with_columns(hour.dt.strftime("%Y-%m-%d").alias("_d"), hour.dt.strftime("%H").alias("_h")).group_by(
                ["_d", "_h"]):
            path = lake.new_file_path((str(date), str(hh))).replace(f"/{EVENTS_DIR}/", f"/{ROLLUPS_DIR}/{table}/", 1)
            lake.write_file(path, part.drop("_d", "_h"), encodings=ENCODINGS.get(table))
            written += lake.fs.get_file_info(path).size or 0
    return written


def _with_utc(frame: pl.DataFrame, zone: str | None) -> pl.DataFrame:
    """``frame``'s time stamps as naive UTC (``zone`` None: how files keep them, as the lake does) or UTC."""
    out = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name).dt.cast_time_unit("us")
            col = col.dt.convert_time_zone("UTC") if dtype.time_zone else col.dt.replace_time_zone("UTC")
            out.append((col if zone else col.dt.replace_time_zone(None)).alias(name))
    return frame.with_columns(out) if out else frame


#: Parquet encodings of rollup columns: the request times are sorted integers (deltas pack them to ~3 bytes).
ENCODINGS = {"hours": {"ts_us": "DELTA_BINARY_PACKED"}, "conversations": {"ts_us": "DELTA_BINARY_PACKED"}}
#: Footer key of a compacted rollup file: the names of the files of its folder it replaces (JSON list).
REPLACES_KEY = "distillguard_replaces"


def _listed_rollup_files(lake: Lake, table: str) -> dict[str, list[str]]:
    """Every finished rollup file of ``table``, by folder (``.../date=.../hour=...``)."""
    folders: dict[str, list[str]] = {}
    selector = pafs.FileSelector(f"{lake.root}/{ROLLUPS_DIR}/{table}", recursive=True, allow_not_found=True)
    for info in lake.fs.get_file_info(selector):
        parts = info.path.rsplit("/", 3)
        if (info.type != pafs.FileType.File or not info.base_name.endswith(".parquet") or info.base_name.startswith(("_", "."))
                or len(parts) < 4 or not parts[1].startswith("date=") or not parts[2].startswith("hour=")):
            continue
        folders.setdefault(info.path.rsplit("/", 1)[0], []).append(info.path)
    return folders


def _replaced(lake: Lake, paths: list[str]) -> set[str]:
    """Paths that a compacted file among ``paths`` replaces (left behind by a compaction that stopped midway)."""
    out: set[str] = set()
    for path in paths:
        if not path.rsplit("/", 1)[-1].startswith("compact-"):
            continue
        try:
            meta = pq.read_schema(path, filesystem=lake.fs).metadata or {}
        except (FileNotFoundError, OSError):
            continue
        folder = path.rsplit("/", 1)[0]
        out.update(f"{folder}/{name}" for name in json.loads(meta.get(REPLACES_KEY.encode(), b"[]")))
    return out


def _folder_hour(folder: str) -> datetime:
    date, hour = folder.rsplit("/", 2)[1:]
    return datetime.strptime(f"{date[len('date='):]} {hour[len('hour='):]}", "%Y-%m-%d %H")


def rollup_files(lake: Lake, table: str, start: datetime | None = None, end: datetime | None = None, *,
                 replaced_too: bool = False) -> list[str]:
    """Paths of ``table``'s files whose hour lies in [``start``, ``end``) (naive UTC; None: open),
    those a compacted file replaces left out (unless ``replaced_too``)."""
    found: list[str] = []
    for folder, paths in _listed_rollup_files(lake, table).items():
        hour = _folder_hour(folder)
        if (start is None or hour >= start.replace(minute=0, second=0, microsecond=0)) and (end is None or hour < end):
            gone = set() if replaced_too else _replaced(lake, paths)
            found.extend(p for p in paths if p not in gone)
    return sorted(found)


def compact_rollups(lake: Lake, min_files: int = 4) -> int:
    """Merge each table's files of one hour into one once there are ``min_files`` or more (the
    stream writes a file per micro-batch and hour). The merged file names the files it replaces in
    its footer, so a reader that lists both counts each row once; they are deleted after it.
    Returns how many files were replaced. One compaction at a time (the maintenance flow)."""
    replaced = 0
    for table in Rollups.tables():
        for folder, paths in sorted(_listed_rollup_files(lake, table).items()):
            gone = _replaced(lake, paths)
            live = sorted(p for p in paths if p not in gone)
            if len(live) >= max(1, min_files):
                frame = _with_utc(pl.from_arrow(ds.dataset(live, format="parquet", filesystem=lake.fs).to_table()), "UTC")  # type: ignore[arg-type]
                merged = _with_utc(merge_table(table, frame), None)
                hour = _folder_hour(folder)
                path = lake.new_file_path((f"{hour:%Y-%m-%d}", f"{hour:%H}"), kind="compact").replace(
                    f"/{EVENTS_DIR}/", f"/{ROLLUPS_DIR}/{table}/", 1)
                lake.write_file(path, merged, metadata={REPLACES_KEY: json.dumps([p.rsplit("/", 1)[-1] for p in live])},
                                encodings=ENCODINGS.get(table))
                replaced += len(live)
                gone |= set(live)
            for p in gone:
                try:
                    lake.fs.delete_file(p)
                except FileNotFoundError:
                    pass
    return replaced


def rebuild_rollups(lake: Lake, dates: Iterable[str] | None = None) -> int:
    """Rollups of the lake's events written anew, hour by hour (``dates``: those days only; default
    all): a backfill when ``[lake] rollups`` is turned on over events already stored, or a repair.
    Each hour's rollup files are replaced (while it runs, a reader may see an hour twice or not at
    all: run it with detection stopped). Returns the events rolled up.

    >>> import tempfile, pathlib
    >>> from datetime import datetime
    >>> from distillguard.lake import Lake, LakeWriter
    >>> lake = Lake(str(pathlib.Path(tempfile.mkdtemp()) / "dg.lake"))
    >>> ev = pl.DataFrame({"event_id": ["a", "b"], "ts": [datetime(2026, 11, 2, 10, 5), datetime(2026, 11, 2, 11, 0)],
    ...                    "account_id": ["x", "x"], "api_key_id": ["k", "k"], "client_ip": ["1.2.3.4"] * 2,
    ...                    "endpoint": ["/v1/messages"] * 2, "model": ["m"] * 2, "status": [200, 200],
    ...                    "prompt_tokens": [1, 1], "completion_tokens": [1, 1]})
    >>> LakeWriter(lake).append(ev, source="doc"), rebuild_rollups(lake), rebuild_rollups(lake)
    (2, 2, 2)
    >>> read_rollups(lake).hours["n"].to_list()
    [1, 1]
    """
    from distillguard.lake import FILE_COLUMN, partition_start

    rolled = 0
    wanted = None if dates is None else set(dates)
    for partition, files in sorted(lake.partitions().items()):
        if wanted is not None and partition[0] not in wanted:
            continue
        start = partition_start(partition)
        for table in Rollups.tables():
            for path in rollup_files(lake, table, start, start + timedelta(hours=1), replaced_too=True):
                lake.fs.delete_file(path)
        rows = lake.read(files)
        events = rows.sort(["ingested_at", FILE_COLUMN], nulls_last=True).filter(pl.col("event_id").is_first_distinct())
        write_rollups(lake, hourly_rollup(events.drop(FILE_COLUMN, "source", "ingested_at")))
        rolled += events.height
    return rolled


def read_rollups(lake: Lake, start: datetime | None = None, end: datetime | None = None) -> Rollups:
    """The lake's rollups of the hours in [``start``, ``end``), merged (an hour's files from many writers as one)."""
    tables = {}
    for table in Rollups.tables():
        paths = rollup_files(lake, table, start, end)
        frame = pl.from_arrow(ds.dataset(paths, format="parquet", filesystem=lake.fs).to_table()) if paths else None
        tables[table] = _with_utc(frame, "UTC") if isinstance(frame, pl.DataFrame) else None
    empty = _empty_rollups(pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC")}))
    if tables["hours"] is None:
        return empty
    read = Rollups(**{t: f if f is not None else getattr(empty, t) for t, f in tables.items()})
    return merge_rollups([read])


def delete_rollups_before(lake: Lake, cutoff: datetime, tables: Sequence[str] | None = None) -> int:
    """Delete the files of ``tables`` (default: all) for hours wholly before ``cutoff`` (naive UTC):
    the lake's retention applied to its rollups (the sample holds prompt text). Returns files deleted."""
    paths = [p for t in (tables or Rollups.tables())
             for p in rollup_files(lake, t, None, cutoff - timedelta(hours=1) + timedelta(microseconds=1), replaced_too=True)]
    for path in paths:
        try:
            lake.fs.delete_file(path)
        except FileNotFoundError:
            pass
    return len(paths)
