"""Online scoring of the accounts a micro-batch touched, in event-time order.

A micro-batch is cut into slices of ``stream.score_every_s`` seconds of event time. At the end
of each slice the accounts that are *due* are judged on their whole window as of that moment,
with the *same* feature definitions as batch (:func:`distillguard.features.account_features`) and
the *same* detection policy (:class:`distillguard.models.policy.DetectionPolicy`), the partition's
river model (:mod:`distillguard.models.online`) giving the anomaly evidence that PyOD gives in
batch, so a backlog or a replay is judged as it would have been live. An account is due when its event count grew by half
since it was last judged (early in its life that is every few requests, so a new attacker is
judged within minutes), every minute of event time in its first ten minutes, or a quarter of an hour
of event time passed and it was active again. Every due
point of a micro-batch is computed in one vectorised Polars pass (each point's window under its
own key), and text normalisation is done once per event when it joins the window.

Alerts: a policy score at or above 1.0, the bar batch flags at; a long-standing customer must
reach the policy's window bar for established accounts (:meth:`DetectionPolicy.window_bar`).
Accounts that look suspicious (score at or above the policy's ``teach_below``, an alert already
raised, currently flagged by batch) never teach the online model.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import polars as pl

from distillguard.config import Settings
from distillguard.features import account_features, with_event_derived
from distillguard.features.families import SAMPLING_TEMPERATURE
from distillguard.models.anomaly import anomaly_from_river
from distillguard.models.online import OnlineOutlierModel
from distillguard.models.policy import DetectionPolicy
from distillguard.models.reasons import account_reasons
from distillguard.stream.alerts import AlertPolicy, alert_id, is_storm
from distillguard.stream.history import PromptHistory
from distillguard.stream.windows import WindowState

log = logging.getLogger("distillguard.stream")

MIN_WINDOW_REQUESTS = 10     # below this many requests in the window the shares mean nothing yet
RESCORE_GROWTH = 0.5         # an account is re-scored once its window gained this share of new events ...
RESCORE_MIN_NEW = 5          # ... (at least this many), or
RESCORE_MAX_S = 900          # ... this much event time after it was last scored, if anything arrived, or
YOUNG_S = 600                # ... while the account is this young (event time since its first request in the stream) ...
YOUNG_RESCORE_S = 60         # ... this much event time after it was last scored: a new extractor is judged every minute
                             # of its first ten, not only when its count grew by half (an alert is due within ten minutes)


def window_features(window: pl.DataFrame, accounts: pl.DataFrame | None, window_hours: float | None = None,
                    repeats: pl.DataFrame | None = None) -> pl.DataFrame:
    """Batch's feature definitions over window events; ``repeats`` (``account_id``,
    ``history_repeat_share``) discounts prompts sent before the window."""
    if window.height == 0:
        return pl.DataFrame()
    features = account_features(window, accounts, window_hours=window_hours)
    return discount_repeats(features, repeats) if repeats is not None else features


def discount_repeats(features: pl.DataFrame, repeats: pl.DataFrame) -> pl.DataFrame:
    """Prompts the account already sent earlier (before this window) are not new: the novelty
    and growth figures the policy reads (``distinct_prompt_share``, ``prompt_growth``,
    ``distinct_prompts``) are scaled by the share of the window's prompts that are new to the
    account's history, and the share it re-sent counts as a deterministic re-run when it asked
    at temperature below 0.5 (``cold_reask_share``); ``history_repeat_share`` is kept.

    >>> f = pl.DataFrame({"account_id": ["a", "b"], "distinct_prompt_share": [1.0, 1.0], "prompt_growth": [1.0, 1.0],
    ...                   "distinct_prompts": [400, 400], "cold_reask_share": [0.0, 0.0], "hot_reask_share": [0.0, 0.0]})
    >>> r = pl.DataFrame({"account_id": ["a"], "history_repeat_share": [0.75]})
    >>> discount_repeats(f, r).select("distinct_prompt_share", "prompt_growth", "distinct_prompts").rows()
    [(0.25, 0.25, 100.0), (1.0, 1.0, 400.0)]
    """
    joined = features.join(repeats, on="account_id", how="left").with_columns(pl.col("history_repeat_share").fill_null(0.0))
    new = 1.0 - pl.col("history_repeat_share")
    out = joined.with_columns(pl.col("distinct_prompt_share") * new, pl.col("prompt_growth") * new,
                              pl.col("distinct_prompts") * new)
    if "temperature_median" in out.columns:
        cold = pl.col("temperature_median").fill_null(1.0) < SAMPLING_TEMPERATURE
        out = out.with_columns(
            pl.when(cold).then(pl.max_horizontal("cold_reask_share", "history_repeat_share")).otherwise(pl.col("cold_reask_share")).alias("cold_reask_share"),
            pl.when(cold).then(pl.col("hot_reask_share")).otherwise(pl.max_horizontal("hot_reask_share", "history_repeat_share")).alias("hot_reask_share"),
        )
    return out


class StreamScorer:
    """Windows, per-partition online models and the alert policy of one consumer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.windows = WindowState(settings.stream.window_long_s)
        self.history = PromptHistory(settings.stream.prompt_history_s)
        self.models: dict[int, OnlineOutlierModel] = {}
        self.first_seen: dict[int, dict[str, str]] = {}
        self.detection = DetectionPolicy(settings.policy, ablate=settings.detection.ablate_families)
        self.policy = AlertPolicy(cooldown_s=settings.stream.alert_cooldown_s,
                                  material_factor=settings.policy.reopen_score_factor, rate_factor=settings.policy.reopen_rate_factor)
        self.accounts: pl.DataFrame | None = None
        self.flagged: set[str] = set()
        self.storms = 0
        # account -> (events since judged, events seen, ts judged, ts of its first event)
        self.pending: dict[str, tuple[int, int, float | None, float]] = {}

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
        """Features and the policy's judgement of ``accounts`` over their windows (as of ``until``; no online model)."""
        features = window_features(self.windows.events_of(accounts, until), self.accounts, self.window_hours)
        return self.detection.score(features) if features.height else features

    @property
    def window_hours(self) -> float:
        return max(1.0, self.settings.stream.window_long_s / 3600.0)

    def due_points(self, events: pl.DataFrame) -> pl.DataFrame:
        """``(account_id, until, _partition)``: when, inside this micro-batch, each account is judged.

        The batch is cut into slices of ``stream.score_every_s`` seconds of event time; an account
        is due at the end of a slice when it gained enough events since it was last judged
        (:data:`RESCORE_GROWTH` of its events so far, at least :data:`RESCORE_MIN_NEW`) or when
        :data:`RESCORE_MAX_S` of event time passed and it was active again (:data:`YOUNG_RESCORE_S`
        while it is :data:`YOUNG_S` young).
        """
        every = f"{max(1, self.settings.stream.score_every_s)}s"
        per_slice = (events.group_by(pl.col("ts").dt.truncate(every).alias("_slice"), "account_id")
                     .agg(pl.len().alias("n"), pl.col("ts").max().alias("last"), pl.col("_partition").first())
                     .with_columns(pl.col("last").max().over("_slice").alias("until"))
                     .sort("_slice", "account_id"))
        due = []
        for account, new, last_ts, until, partition in per_slice.select("account_id", "n", "last", "until", "_partition").iter_rows():
            stamp = last_ts.timestamp()
            added, total, ts_then, first = self.pending.get(account, (0, 0, None, stamp))
            added, total = added + new, total + new
            waited = RESCORE_MAX_S if stamp - first > YOUNG_S else YOUNG_RESCORE_S
            if added >= max(RESCORE_MIN_NEW, RESCORE_GROWTH * (total - added)) or (ts_then is not None and stamp - ts_then >= waited):
                due.append((account, until, partition))
                self.pending[account] = (0, total, stamp, first)
            else:
                self.pending[account] = (added, total, ts_then if ts_then is not None else stamp, first)
        return pl.DataFrame(due, schema={"account_id": pl.String, "until": events.schema["ts"], "_partition": pl.Int32}, orient="row")

    def score_points(self, points: pl.DataFrame) -> pl.DataFrame:
        """Features of every due point in one vectorised pass, in event-time order.

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
        features = window_features(window_rows, meta, self.window_hours, repeats)
        return features.rename({"account_id": "_key"}).join(points, on="_key").sort("_point")

    def _judge(self, features: pl.DataFrame) -> list[dict]:
        """Online model and policy over the due points, slice by slice in event-time order (storms per slice)."""
        if features.height == 0:
            return []
        alerts: list[dict] = []
        active = self.windows.accounts        # a population shift moves most of the active accounts, a ring only its own
        teach_below = self.settings.policy.teach_below
        judged = self.detection.score(features)       # one vectorised pass; the online model's voice is added per window
        for (_,), part in judged.group_by("until", maintain_order=True):
            candidates = []
            for row in part.iter_rows(named=True):
                model = self.model(row["_partition"])
                river_score = model.score_one(row)
                score = self.detection.rescore(row, anomaly_from_river(river_score))
                suspicious = score >= teach_below or row["account_id"] in self.policy.last or row["account_id"] in self.flagged
                if not suspicious:
                    model.learn_one(row, score=river_score)
                if score >= self.detection.window_bar(row):
                    candidates.append((row, score, river_score, model.extreme_features(row)))
            if is_storm(len(candidates), max(part.height, active)):
                self.storms += 1
                log.warning("population shift: %d of %d active accounts crossed the alert bar in one slice; alerting only the extreme ones",
                            len(candidates), max(part.height, active))
                candidates = [c for c in candidates if c[1] >= 2.0]
            alerts.extend(a for a in (self._alert(*c) for c in candidates) if a is not None)
        return alerts

    def _alert(self, row: dict, score: float, unusual: float, extreme: list[str]) -> dict | None:
        account = row["account_id"]
        level = self.detection.severity(score)
        ts = row["last_seen"].astimezone(timezone.utc).replace(tzinfo=None)
        rate = row.get("requests_per_active_hour")
        if not self.policy.decide(account, level, score, ts, rate=float(rate) if rate is not None else None):
            return None
        self.policy.remember(account, level, score, ts)
        window_min = self.settings.stream.window_long_s // 60
        reasons = [f"account score {score:.2f} (alert bar 1.00) over {row['n_requests']:,} requests "
                   f"in the last {window_min} minutes of event time"]
        reasons += account_reasons(row, self.settings.policy)
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
            "signature_score": round(score, 4),
        }

    # -- memory shared through DuckDB ----------------------------------------------------------
    def load_memory(self, memory: pl.DataFrame, dismissed: pl.DataFrame, flagged: set[str], accounts: pl.DataFrame | None) -> None:
        """Alerts already raised (by anyone in the group), analysts' dismissals, batch flags, account metadata."""
        self.remember_alerts(memory)
        self.policy.dismissed.clear()
        for r in dismissed.iter_rows(named=True):
            self.policy.dismiss(r["account_id"], float(r["score"] if r["score"] is not None else 1.0), rate=r.get("rate"))
        self.flagged = flagged
        self.accounts = accounts

    def remember_alerts(self, memory: pl.DataFrame) -> None:
        """Alerts already raised (per account the latest: severity, score, ts); an account's newer
        alert already remembered is kept."""
        for r in memory.iter_rows(named=True):
            known = self.policy.last.get(r["account_id"])
            if known is None or r["ts"] >= known[2]:
                self.policy.remember(r["account_id"], r["severity"] or "medium", float(r["score"]), r["ts"])
