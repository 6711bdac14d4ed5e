"""Online scoring of the accounts a micro-batch touched, in event-time order.

A micro-batch is cut into slices of ``stream.score_every_s`` seconds of event time. After
each slice joins the windows, the accounts it touched are scored on their whole window with
the *same* feature definitions as batch (:func:`distillguard.features.account_features`),
the transparent extraction signature (:func:`distillguard.models.signature.score_signature`)
and the partition's river model (:mod:`distillguard.models.online`), so a backlog or a replay
is judged as it would have been live. Re-scoring an account's whole window is the costly part,
so an account is re-scored only when it is *due*: its window grew by a quarter since it was last
scored (early in an account's life that is every few requests, so new attackers are judged
quickly) or five minutes of event time passed. Accounts that look suspicious (signature >= 0.5, an
alert already raised, currently flagged by batch) never teach the online model.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import polars as pl

from distillguard.config import Settings
from distillguard.features import account_features
from distillguard.models.online import OnlineOutlierModel
from distillguard.models.reasons import account_reasons
from distillguard.models.signature import score_signature
from distillguard.stream.alerts import AlertPolicy, alert_id, is_storm, severity
from distillguard.stream.windows import WindowState

log = logging.getLogger("distillguard.stream")

LEARN_BELOW = 0.5            # signature under which an account-window may teach the online model
ONLINE_WEIGHT = 0.3          # most the online model adds to an already suspicious signature
ESTABLISHED_DAYS = 60.0      # accounts older than this need ...
ESTABLISHED_EXTRA = 0.6      # ... this much more signature to alert (long-standing customers)
MIN_WINDOW_REQUESTS = 10     # below this many requests in the window the shares mean nothing yet
RESCORE_GROWTH = 0.25        # an account is re-scored once its window gained this share of new events ...
RESCORE_MIN_NEW = 5          # ... (at least this many), or
RESCORE_MAX_S = 300          # ... this much event time after it was last scored, if anything arrived


def _ramp(x: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (x - low) / (high - low)))


def features_and_signature(window: pl.DataFrame, accounts: pl.DataFrame | None) -> pl.DataFrame:
    """Batch's feature definitions and extraction signature over window events."""
    if window.height == 0:
        return pl.DataFrame()
    features = account_features(window, accounts)
    return features.join(score_signature(features), on="account_id")


class StreamScorer:
    """Windows, per-partition online models and the alert policy of one consumer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.windows = WindowState(settings.stream.window_long_s)
        self.models: dict[int, OnlineOutlierModel] = {}
        self.first_seen: dict[int, dict[str, str]] = {}
        self.policy = AlertPolicy(cooldown_s=settings.stream.alert_cooldown_s)
        self.accounts: pl.DataFrame | None = None
        self.flagged: set[str] = set()
        self.storms = 0
        self.pending: dict[str, tuple[int, int, float]] = {}   # account -> (new events, window size then, ts then)

    def model(self, partition: int) -> OnlineOutlierModel:
        if partition not in self.models:
            self.models[partition] = OnlineOutlierModel(seed=self.settings.detection.random_state + partition)
        return self.models[partition]

    def drop(self, partitions: list[int]) -> None:
        self.windows.drop(partitions)
        for p in partitions:
            self.models.pop(p, None)
            self.first_seen.pop(p, None)

    # -- the micro-batch ---------------------------------------------------------------------
    def ingest(self, events: pl.DataFrame) -> list[dict]:
        """``events``: accepted events of a micro-batch with a ``_partition`` column. Returns new alerts."""
        if events.height == 0:
            return []
        every = f"{max(1, self.settings.stream.score_every_s)}s"
        events = events.with_columns(pl.col("ts").dt.truncate(every).alias("_slice")).sort("ts")
        alerts: list[dict] = []
        partitions = []
        for (partition,), chunk in events.group_by("_partition"):
            chunk = chunk.drop("_partition", "_slice")
            self.windows.add(chunk, int(partition), evict=False)
            self._note_first_seen(int(partition), chunk)
            partitions.append(int(partition))
        for (_,), part in events.group_by("_slice", maintain_order=True):
            touched = part.select("account_id", "_partition").unique()
            counts = part.group_by("account_id").agg(pl.len(), pl.col("ts").max())
            alerts.extend(self._score(touched, counts, until=part["ts"].max()))
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
        return features_and_signature(self.windows.events_of(accounts, until), self.accounts)

    def _due(self, slice_counts: pl.DataFrame) -> list[str]:
        """Accounts of this slice whose window changed enough to be scored again."""
        due = []
        for account, new, last_ts in slice_counts.iter_rows():
            added, size_then, ts_then = self.pending.get(account, (0, 0, None))
            added += new
            stamp = last_ts.timestamp()
            if added >= max(RESCORE_MIN_NEW, RESCORE_GROWTH * size_then) or (ts_then is not None and stamp - ts_then >= RESCORE_MAX_S):
                due.append(account)
                self.pending[account] = (0, 0, stamp)          # size filled in after scoring
            else:
                self.pending[account] = (added, size_then, ts_then if ts_then is not None else stamp)
        return due

    def _score(self, touched: pl.DataFrame, slice_counts: pl.DataFrame, until: datetime) -> list[dict]:
        partition_of = dict(touched.iter_rows())
        due = self._due(slice_counts)
        if not due:
            return []
        window = self.windows.events_of(due, until)
        window_sizes = window.group_by("account_id").len()
        for account, size in window_sizes.iter_rows():
            added, _, ts_then = self.pending[account]
            self.pending[account] = (added, size, ts_then)
        ready = window_sizes.filter(pl.col("len") >= MIN_WINDOW_REQUESTS)["account_id"].to_list()
        if not ready:
            return []
        window = window.filter(pl.col("account_id").is_in(pl.Series(ready, dtype=pl.String).implode()))
        scored = features_and_signature(window, self.accounts)
        bar = self.settings.stream.alert_threshold
        candidates = []
        for row in scored.iter_rows(named=True):
            model = self.model(partition_of[row["account_id"]])
            unusual = model.score_one(row)
            signature = float(row["signature_score"] or 0.0)
            suspicious = signature >= LEARN_BELOW or row["account_id"] in self.policy.last or row["account_id"] in self.flagged
            extreme = model.extreme_features(row) if signature >= bar else []
            if not suspicious:
                model.learn_one(row)
            score = signature + ONLINE_WEIGHT * _ramp(unusual, 0.8, 1.0) * min(1.0, signature)
            established = (row.get("account_age_days") or 0.0) >= ESTABLISHED_DAYS
            if score >= bar + (ESTABLISHED_EXTRA if established else 0.0):
                candidates.append((row, score, unusual, extreme))
        if is_storm(len(candidates), scored.height):
            self.storms += 1
            log.warning("population shift: %d of %d accounts crossed the alert bar in one slice; alerting only the extreme ones",
                        len(candidates), scored.height)
            candidates = [c for c in candidates if c[1] >= 2 * bar]
        return [a for a in (self._alert(*c) for c in candidates) if a is not None]

    def _alert(self, row: dict, score: float, unusual: float, extreme: list[str]) -> dict | None:
        bar = self.settings.stream.alert_threshold
        account = row["account_id"]
        level = severity(score, bar)
        ts = row["last_seen"].astimezone(timezone.utc).replace(tzinfo=None)
        if not self.policy.decide(account, level, score, ts):
            return None
        self.policy.remember(account, level, score, ts)
        window_min = self.settings.stream.window_long_s // 60
        reasons = [f"extraction signature {row['signature_score']:.2f} (alert bar {bar:.2f}) over {row['n_requests']:,} requests "
                   f"in the last {window_min} minutes of event time"]
        reasons += account_reasons(row)
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
            self.policy.dismiss(r["account_id"], r["severity"] or "medium", float(r["score"] if r["score"] is not None else bar))
        self.flagged = flagged
        self.accounts = accounts
