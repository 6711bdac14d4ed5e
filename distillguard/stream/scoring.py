"""Online scoring of the accounts a micro-batch touched, in event-time order.

A micro-batch is cut into slices of ``stream.score_every_s`` seconds of event time. At the end
of each slice the accounts that are *due* are judged on their whole window as of that moment,
with the *same* feature definitions as batch (:func:`distillguard.features.account_features`),
the transparent extraction signature (:func:`distillguard.models.signature.score_signature`)
and the partition's river model (:mod:`distillguard.models.online`), so a backlog or a replay
is judged as it would have been live. An account is due when its event count grew by half
since it was last judged (early in its life that is every few requests, so a new attacker is
judged within minutes) or ten minutes of event time passed and it was active again. Every due
point of a micro-batch is computed in one vectorised Polars pass (each point's window under its
own key), and text normalisation is done once per event when it joins the window.

Alerts: a score at or above ``stream.alert_threshold``. A long-standing customer (older than
:data:`ESTABLISHED_DAYS` by the accounts file) needs :data:`ESTABLISHED_EXTRA` more and the
behaviour sustained for :data:`ESTABLISHED_SPAN_S` of its window: a benchmark run or a batch
burst lasts minutes, an extraction goes on. Accounts that look suspicious (signature >= 0.5,
an alert already raised, currently flagged by batch) never teach the online model.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import polars as pl

from distillguard.config import Settings
from distillguard.features import account_features, with_event_derived
from distillguard.models.online import OnlineOutlierModel
from distillguard.models.reasons import account_reasons
from distillguard.models.signature import score_signature
from distillguard.stream.alerts import AlertPolicy, alert_id, is_storm, severity
from distillguard.stream.history import PromptHistory
from distillguard.stream.windows import WindowState

log = logging.getLogger("distillguard.stream")

LEARN_BELOW = 0.5            # signature under which an account-window may teach the online model
ONLINE_WEIGHT = 0.3          # most the online model adds to an already suspicious signature
ESTABLISHED_DAYS = 30.0      # accounts older than this (per the accounts file) need ...
ESTABLISHED_EXTRA = 0.6      # ... this much more signature to alert, and ...
ESTABLISHED_SPAN_S = 1800    # ... the behaviour sustained this long in the window: a customer's benchmark
                             # run or batch burst lasts minutes, extraction goes on (fresh accounts: no wait)
MIN_WINDOW_REQUESTS = 10     # below this many requests in the window the shares mean nothing yet
RESCORE_GROWTH = 1.0         # an account is re-scored once its window gained this share of new events ...
RESCORE_MIN_NEW = 5          # ... (at least this many), or
RESCORE_MAX_S = 900          # ... this much event time after it was last scored, if anything arrived


def _ramp(x: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (x - low) / (high - low)))


def established(row: dict) -> bool:
    """A long-standing customer (by the accounts file; unknown age counts as not established)."""
    return (row.get("account_age_days") or 0.0) >= ESTABLISHED_DAYS


def features_and_signature(window: pl.DataFrame, accounts: pl.DataFrame | None, window_hours: float | None = None,
                           repeats: pl.DataFrame | None = None) -> pl.DataFrame:
    """Batch's feature definitions and extraction signature over window events; ``repeats``
    (``account_id``, ``history_repeat_share``) discounts prompts sent before the window."""
    if window.height == 0:
        return pl.DataFrame()
    features = account_features(window, accounts, window_hours=window_hours)
    if repeats is not None:
        features = discount_repeats(features, repeats)
    return features.join(score_signature(features), on="account_id")


def discount_repeats(features: pl.DataFrame, repeats: pl.DataFrame) -> pl.DataFrame:
    """Prompts the account already sent earlier in the day (before this window) are not new:
    ``distinct_prompt_share`` (the novelty the signature reads) is scaled by the share of the
    window's prompts that are new to the account's history; ``history_repeat_share`` is kept.

    >>> f = pl.DataFrame({"account_id": ["a", "b"], "distinct_prompt_share": [1.0, 1.0]})
    >>> r = pl.DataFrame({"account_id": ["a"], "history_repeat_share": [0.75]})
    >>> discount_repeats(f, r)["distinct_prompt_share"].to_list()
    [0.25, 1.0]
    """
    joined = features.join(repeats, on="account_id", how="left").with_columns(pl.col("history_repeat_share").fill_null(0.0))
    return joined.with_columns(pl.col("distinct_prompt_share") * (1.0 - pl.col("history_repeat_share")))


class StreamScorer:
    """Windows, per-partition online models and the alert policy of one consumer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.windows = WindowState(settings.stream.window_long_s)
        self.history = PromptHistory(settings.stream.prompt_history_s)
        self.models: dict[int, OnlineOutlierModel] = {}
        self.first_seen: dict[int, dict[str, str]] = {}
        self.policy = AlertPolicy(cooldown_s=settings.stream.alert_cooldown_s)
        self.accounts: pl.DataFrame | None = None
        self.flagged: set[str] = set()
        self.storms = 0
        self.pending: dict[str, tuple[int, int, float | None]] = {}   # account -> (events since judged, events seen, ts judged)

    def model(self, partition: int) -> OnlineOutlierModel:
        if partition not in self.models:
            self.models[partition] = OnlineOutlierModel(seed=self.settings.detection.random_state + partition)
        return self.models[partition]

    def drop(self, partitions: list[int]) -> None:
        self.windows.drop(partitions)
        self.history.drop(partitions)
        for p in partitions:
            self.models.pop(p, None)
            self.first_seen.pop(p, None)

    # -- the micro-batch ---------------------------------------------------------------------
    def ingest(self, events: pl.DataFrame) -> list[dict]:
        """``events``: accepted events of a micro-batch with a ``_partition`` column. Returns new alerts."""
        if events.height == 0:
            return []
        events = with_event_derived(events.sort("ts"))
        partitions = []
        for (partition,), chunk in events.group_by("_partition"):
            chunk = chunk.drop("_partition")
            self.windows.add(chunk, int(partition), evict=False)
            self.history.add(chunk, int(partition))
            self._note_first_seen(int(partition), chunk)
            partitions.append(int(partition))
        points = self.due_points(events)
        alerts = self._judge(self.score_points(points)) if points.height else []
        self.windows.evict(partitions)
        return alerts

    def _note_first_seen(self, partition: int, chunk: pl.DataFrame) -> None:
        seen = self.first_seen.setdefault(partition, {})
        firsts = chunk.group_by("account_id").agg(pl.col("ts").min())
        for account_id, ts in firsts.iter_rows():
            iso = ts.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
            known = seen.get(account_id)
            if known is None or iso < known:
                seen[account_id] = iso

    def score_frame(self, accounts: list[str], until: datetime | None = None) -> pl.DataFrame:
        """Features and signature of ``accounts`` over their windows (as of ``until``)."""
        return features_and_signature(self.windows.events_of(accounts, until), self.accounts, self.window_hours)

    @property
    def window_hours(self) -> float:
        return max(1.0, self.settings.stream.window_long_s / 3600.0)

    def due_points(self, events: pl.DataFrame) -> pl.DataFrame:
        """``(account_id, until, _partition)``: when, inside this micro-batch, each account is judged.

        The batch is cut into slices of ``stream.score_every_s`` seconds of event time; an account
        is due at the end of a slice when it gained enough events since it was last judged
        (:data:`RESCORE_GROWTH` of its events so far, at least :data:`RESCORE_MIN_NEW`) or when
        :data:`RESCORE_MAX_S` of event time passed and it was active again.
        """
        every = f"{max(1, self.settings.stream.score_every_s)}s"
        per_slice = (events.group_by(pl.col("ts").dt.truncate(every).alias("_slice"), "account_id")
                     .agg(pl.len().alias("n"), pl.col("ts").max().alias("last"), pl.col("_partition").first())
                     .with_columns(pl.col("last").max().over("_slice").alias("until"))
                     .sort("_slice", "account_id"))
        due = []
        for account, new, last_ts, until, partition in per_slice.select("account_id", "n", "last", "until", "_partition").iter_rows():
            added, total, ts_then = self.pending.get(account, (0, 0, None))
            added, total, stamp = added + new, total + new, last_ts.timestamp()
            if added >= max(RESCORE_MIN_NEW, RESCORE_GROWTH * (total - added)) or (ts_then is not None and stamp - ts_then >= RESCORE_MAX_S):
                due.append((account, until, partition))
                self.pending[account] = (0, total, stamp)
            else:
                self.pending[account] = (added, total, ts_then if ts_then is not None else stamp)
        return pl.DataFrame(due, schema={"account_id": pl.String, "until": events.schema["ts"], "_partition": pl.Int32}, orient="row")

    def score_points(self, points: pl.DataFrame) -> pl.DataFrame:
        """Features and signature of every due point in one vectorised pass, in event-time order.

        Each point is scored on its account's window as of ``until`` (the last ``window_long_s``
        of event time up to its newest event then), exactly as :meth:`score_frame` would.
        """
        key = pl.format("{}#{}", pl.col("account_id"), pl.col("_point"))
        points = points.with_row_index("_point").with_columns(key.alias("_key"))
        window = self.windows.events_of(points["account_id"].unique().to_list(), trim=False)
        if window.height == 0:
            return pl.DataFrame()
        span = pl.duration(seconds=self.settings.stream.window_long_s)
        evaluated = (window.join(points.select("account_id", "until", "_point", "_key"), on="account_id")
                     .filter(pl.col("ts") <= pl.col("until"))
                     .filter(pl.col("ts") >= pl.col("ts").max().over("_point") - span)
                     .filter(pl.len().over("_point") >= MIN_WINDOW_REQUESTS))
        if evaluated.height == 0:
            return pl.DataFrame()
        as_key = pl.col("_key").alias("account_id")
        meta = None
        if self.accounts is not None:
            meta = self.accounts.join(points.select("account_id", "_key"), on="account_id").drop("account_id").with_columns(as_key)
        window_rows = evaluated.drop("account_id", "until", "_point").with_columns(as_key).drop("_key")
        repeats = (self.history.repeat_share(evaluated).join(points.select("_point", "_key"), on="_point")
                   .select(pl.col("_key").alias("account_id"), "history_repeat_share"))
        scored = features_and_signature(window_rows, meta, self.window_hours, repeats)
        return scored.rename({"account_id": "_key"}).join(points, on="_key").sort("_point")

    def _judge(self, scored: pl.DataFrame) -> list[dict]:
        """Online model and alert policy over scored points, in event-time order (per slice for storms)."""
        if scored.height == 0:
            return []
        bar = self.settings.stream.alert_threshold
        alerts: list[dict] = []
        active = self.windows.accounts        # a population shift moves most of the active accounts, a ring only its own
        for (_,), part in scored.group_by("until", maintain_order=True):
            candidates = []
            for row in part.iter_rows(named=True):
                model = self.model(row["_partition"])
                unusual = model.score_one(row)
                signature = float(row["signature_score"] or 0.0)
                suspicious = signature >= LEARN_BELOW or row["account_id"] in self.policy.last or row["account_id"] in self.flagged
                extreme = model.extreme_features(row) if signature >= bar else []
                if not suspicious:
                    model.learn_one(row, score=unusual)
                score = signature + ONLINE_WEIGHT * _ramp(unusual, 0.8, 1.0) * min(1.0, signature)
                if score >= bar and (not established(row) or (
                        score >= bar + ESTABLISHED_EXTRA and (row["last_seen"] - row["first_seen"]).total_seconds() >= ESTABLISHED_SPAN_S)):
                    candidates.append((row, score, unusual, extreme))
            if is_storm(len(candidates), max(part.height, active)):
                self.storms += 1
                log.warning("population shift: %d of %d active accounts crossed the alert bar in one slice; alerting only the extreme ones",
                            len(candidates), max(part.height, active))
                candidates = [c for c in candidates if c[1] >= 2 * bar]
            alerts.extend(a for a in (self._alert(*c) for c in candidates) if a is not None)
        return alerts

    def _alert(self, row: dict, score: float, unusual: float, extreme: list[str]) -> dict | None:
        bar = self.settings.stream.alert_threshold
        account = row["account_id"]
        level = severity(score, bar)
        ts = row["last_seen"].astimezone(timezone.utc).replace(tzinfo=None)
        rate = row.get("requests_per_active_hour")
        if not self.policy.decide(account, level, score, ts, rate=float(rate) if rate is not None else None):
            return None
        self.policy.remember(account, level, score, ts)
        window_min = self.settings.stream.window_long_s // 60
        reasons = [f"extraction signature {row['signature_score']:.2f} (alert bar {bar:.2f}) over {row['n_requests']:,} requests "
                   f"in the last {window_min} minutes of event time"]
        reasons += account_reasons(row)
        repeated = row.get("history_repeat_share") or 0.0
        if repeated >= 0.1:
            hours = self.settings.stream.prompt_history_s / 3600
            reasons.append(f"{repeated:.0%} of these prompts the account already sent in the {hours:g} h before this window "
                           "(counted as repeats, not new prompts)")
        if extreme:
            reasons.append(f"online model (river HalfSpaceTrees, {unusual:.2f}): above the 99th percentile of clean traffic in "
                           + ", ".join(name.replace("_", " ") for name in extreme))
        first = None
        for seen in self.first_seen.values():
            if account in seen:
                first = datetime.fromisoformat(seen[account])
        return {
            "alert_id": alert_id(account, level, ts, self.settings.stream.alert_cooldown_s),
            "ts": ts, "account_id": account, "score": round(score, 4), "reasons": "\n".join(reasons), "severity": level,
            "first_event_ts": first, "raised_at": datetime.now(timezone.utc).replace(tzinfo=None),
            "n_requests": int(row["n_requests"]), "requests_per_active_hour": float(rate) if rate is not None else None,
            "signature_score": round(float(row["signature_score"] or 0.0), 4),
        }

    # -- memory shared through DuckDB ----------------------------------------------------------
    def load_memory(self, memory: pl.DataFrame, dismissed: pl.DataFrame, flagged: set[str], accounts: pl.DataFrame | None) -> None:
        """Alerts already raised (by anyone in the group), analysts' dismissals, batch flags, account metadata."""
        for r in memory.iter_rows(named=True):
            known = self.policy.last.get(r["account_id"])
            if known is None or r["ts"] >= known[2]:
                self.policy.remember(r["account_id"], r["severity"] or "medium", float(r["score"]), r["ts"])
        self.policy.dismissed.clear()
        bar = self.settings.stream.alert_threshold
        for r in dismissed.iter_rows(named=True):
            self.policy.dismiss(r["account_id"], float(r["score"] if r["score"] is not None else bar), rate=r.get("rate"))
        self.flagged = flagged
        self.accounts = accounts
