"""When the stream raises an alert: severity, cooldown, escalation, dismissals and storms.

* one open alert per account per cooldown (``stream.alert_cooldown_s`` of event time);
* a new alert when the severity rises (escalation), whatever the cooldown;
* never again on an account an analyst dismissed (a ``false_positive`` review) unless its
  behaviour changed materially: a score at least ``material_factor`` times the one the analyst
  saw *and* a higher severity;
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
>>> policy.dismiss("b", "high", 1.7)
>>> policy.decide("b", "high", 1.9, t), policy.decide("b", "critical", 3.6, t)
(False, True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
STORM_SHARE = 0.25     # more than this share of the accounts scored in one slice crossing the bar ...
STORM_MIN = 25         # ... and at least this many: a population shift, not 25 attackers at once


def severity(score: float, bar: float = 1.0) -> str:
    """``medium`` from the bar, ``high`` from 1.5 x, ``critical`` from 2.2 x."""
    return "critical" if score >= 2.2 * bar else "high" if score >= 1.5 * bar else "medium" if score >= bar else "low"


def alert_id(account_id: str, level: str, ts: datetime, cooldown_s: int) -> str:
    """Deterministic: the same account, severity and cooldown period of event time give the same id."""
    bucket = int(ts.timestamp() // max(1, cooldown_s))
    return hashlib.sha1(f"{account_id}|{level}|{bucket}".encode()).hexdigest()[:24]


@dataclass
class AlertPolicy:
    cooldown_s: int = 3600
    material_factor: float = 1.5
    last: dict[str, tuple[str, float, datetime]] = field(default_factory=dict)
    dismissed: dict[str, tuple[str, float]] = field(default_factory=dict)

    def remember(self, account_id: str, level: str, score: float, ts: datetime) -> None:
        self.last[account_id] = (level, score, ts)

    def dismiss(self, account_id: str, level: str, score: float) -> None:
        """An analyst judged the account a false positive after seeing ``level`` / ``score``."""
        self.dismissed[account_id] = (level, score)

    def decide(self, account_id: str, level: str, score: float, ts: datetime) -> bool:
        if account_id in self.dismissed:
            seen_level, seen_score = self.dismissed[account_id]
            if score < self.material_factor * seen_score or SEVERITY_ORDER[level] <= SEVERITY_ORDER[seen_level]:
                return False
        previous = self.last.get(account_id)
        if previous is None:
            return True
        prev_level, _, prev_ts = previous
        if SEVERITY_ORDER[level] > SEVERITY_ORDER[prev_level]:
            return True
        return (ts - prev_ts).total_seconds() >= self.cooldown_s


def is_storm(n_crossing: int, n_scored: int) -> bool:
    """Too many accounts crossed the bar at once to be individually suspicious."""
    return n_crossing >= STORM_MIN and n_crossing > STORM_SHARE * n_scored
