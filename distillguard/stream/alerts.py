"""When the stream raises an alert: cooldown, escalation, dismissals and storms (the score and
its severity come from the detection policy, as in batch).

* one open alert per account per cooldown (``stream.alert_cooldown_s`` of event time);
* a new alert when the severity rises (escalation), whatever the cooldown;
* never again on an account an analyst dismissed (a ``false_positive`` review, of the account
  or of a ring it was in) unless its behaviour changed materially: a score at least
  ``material_factor`` times the one the analyst saw, or requests per active hour at least
  ``rate_factor`` times the rate at review time (the same rule as batch, :mod:`distillguard.reviews`);
* a population shift (many accounts crossing the bar in the same minute) alerts only the
  extreme accounts, and is logged once, instead of paging an analyst for everyone.

>>> from datetime import datetime, timedelta
>>> t = datetime(2026, 11, 2, 12)
>>> policy = AlertPolicy(cooldown_s=3600)
>>> policy.decide("a", "high", 1.7, t)
True
>>> policy.remember("a", "high", 1.7, t)
>>> policy.decide("a", "high", 1.8, t + timedelta(minutes=5))     # same severity, inside the cooldown
False
>>> policy.decide("a", "critical", 2.6, t + timedelta(minutes=6))  # escalation
True
>>> policy.dismiss("b", 1.7, rate=400.0)
>>> policy.decide("b", "high", 1.9, t, rate=450.0)                 # same behaviour: stays dismissed
False
>>> policy.decide("b", "critical", 2.6, t), policy.decide("b", "high", 1.9, t, rate=900.0)
(True, True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from distillguard.models.policy import PolicySettings

_POLICY = PolicySettings()   # defaults of the verdict rule; the scorer passes the configured ones
SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
STORM_SHARE = 0.25     # more than this share of the active accounts crossing the bar in one slice ...
STORM_MIN = 25         # ... and at least this many: a population shift, not 25 attackers at once


def alert_id(account_id: str, level: str, ts: datetime, cooldown_s: int) -> str:
    """Deterministic: the same account, severity and cooldown period of event time give the same id."""
    bucket = int(ts.timestamp() // max(1, cooldown_s))
    return hashlib.sha1(f"{account_id}|{level}|{bucket}".encode()).hexdigest()[:24]


@dataclass
class AlertPolicy:
    cooldown_s: int = 3600
    material_factor: float = _POLICY.reopen_score_factor
    rate_factor: float = _POLICY.reopen_rate_factor
    last: dict[str, tuple[str, float, datetime]] = field(default_factory=dict)
    dismissed: dict[str, tuple[float, float | None]] = field(default_factory=dict)

    def remember(self, account_id: str, level: str, score: float, ts: datetime) -> None:
        self.last[account_id] = (level, score, ts)

    def dismiss(self, account_id: str, score: float, rate: float | None = None) -> None:
        """An analyst judged the account a false positive after seeing ``score`` and ``rate``
        requests per active hour."""
        self.dismissed[account_id] = (score, rate)

    def changed_materially(self, account_id: str, score: float, rate: float | None = None) -> bool:
        """Whether a dismissed account's behaviour moved enough to be looked at again."""
        seen_score, seen_rate = self.dismissed[account_id]
        if score >= self.material_factor * seen_score:
            return True
        return bool(rate and seen_rate and rate >= self.rate_factor * seen_rate)

    def decide(self, account_id: str, level: str, score: float, ts: datetime, rate: float | None = None) -> bool:
        if account_id in self.dismissed and not self.changed_materially(account_id, score, rate):
            return False
        previous = self.last.get(account_id)
        if previous is None:
            return True
        prev_level, _, prev_ts = previous
        if SEVERITY_ORDER[level] > SEVERITY_ORDER[prev_level]:
            return True
        return (ts - prev_ts).total_seconds() >= self.cooldown_s


def is_storm(n_crossing: int, n_active: int) -> bool:
    """Too many of the active accounts crossed the bar at once to be individually suspicious
    (a model release or a client change moving everyone). A ring of 40 accounts starting their
    job together, among thousands of active accounts, is not a storm and is alerted.

    >>> is_storm(40, 5000), is_storm(900, 2000)
    (False, True)
    """
    return n_crossing >= STORM_MIN and n_crossing > STORM_SHARE * n_active
