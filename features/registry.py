"""A feature is a named Polars aggregation with its meaning, its label and where it is used.

Families declare their features in :mod:`.families`; everything else reads them from there:
the peer-compared columns, the inputs of the outlier models, the report's table, the account
profile query and the figures the reasons quote. A feature's place in each of those lists is a number on the feature
(0: not used there), so adding a feature touches its family and nothing else.

>>> import polars as pl
>>> f = Feature("n_requests", "requests in the window", pl.len(), unit="count", label="requests", peers=1)
>>> f.meaning, f.format(18400)
('requests in the window', '18,400')
>>> Feature("reasoning_share", "prompts asking for reasoning", pl.lit(0.0)).format(0.923)
'92%'
>>> [g.name for g in placed([f, Feature("n_ips", "client IPs", pl.lit(1), peers=0)], "peers")]
['n_requests']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import polars as pl

# Polars' in-memory engine runs these per-account queries (group-bys, window expressions, word
# explosions over up to a few million rows) 15-30 % faster than the streaming engine Polars 2
# picks by default, measured on batch runs and on the stream's many small re-scorings.
COLLECT_ENGINE = "in-memory"


def percent(value: Any) -> str:
    """A 0-1 share in whole percent (None reads as 0).

    >>> percent(0.923), percent(None)
    ('92%', '0%')
    """
    return f"{100 * float(value or 0):.0f}%"


def number(value: Any) -> str:
    """Whole numbers with thousands separators from 10 on, two significant digits below (None reads as 0).

    >>> number(18400), number(3.14159), number(0.0421)
    ('18,400', '3.1', '0.042')
    """
    value = float(value or 0)
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def days(value: Any) -> str:
    """Days to a tenth (None reads as 0).

    >>> days(0.043), days(412.26)
    ('0.0', '412.3')
    """
    return f"{float(value or 0):,.1f}"


#: How a value is printed, by name (``Feature.shown_as``).
FORMATS: dict[str, Callable[[Any], str]] = {"percent": percent, "number": number, "days": days}

#: The lists a feature can have a place in (the fields of :class:`Feature` holding that place).
USES = ("peers", "anomaly_model", "online_model", "report", "profile")


@dataclass(frozen=True)
class Feature:
    """One per-account feature: its column name, what it means, how to compute and show it, and where it is used.

    ``expr`` is None for a feature computed outside the per-account aggregation (the prompt
    templates of :mod:`.text`, the account's age from the accounts file).

    Places (a positive number: the feature's place in that list; 0: not in it):
    ``peers`` the columns compared with the account's peer group (their ``<name>_peer_median``
    is stored and quoted by the reasons), ``anomaly_model`` the PyOD ensemble's inputs,
    ``online_model`` the river model's inputs, ``report`` the report's features-against-peers
    table, ``profile`` the rows of the ``account_profile`` analyst query. The order of model
    inputs changes model scores (and that of stored columns what analysts see), hence places
    rather than yes/no flags; a new feature takes the next free place.
    """

    name: str
    meaning: str
    expr: pl.Expr | None
    unit: str = "share"        # share (0-1), count, ratio, seconds, days, bits...
    family: str = ""
    label: str = ""            # a few words for tables (default: the meaning)
    shown_as: str = ""         # percent, number or days (default: percent for a share, days for days, number otherwise)
    log_scale: bool = False    # spans decades: drawn, and fed to the online model, as log10(1 + x)
    peers: int = 0
    anomaly_model: int = 0
    anomaly_log: bool = False  # the PyOD ensemble reads log10(1 + x)
    online_model: int = 0
    report: int = 0
    profile: int = 0
    reason: str = ""           # sentence quoting the feature, see :func:`distillguard.models.reasons.say`

    def aggregation(self) -> pl.Expr:
        if self.expr is None:
            raise ValueError(f"feature {self.name!r} is not computed by an aggregation over events")
        return self.expr.alias(self.name)

    @property
    def title(self) -> str:
        """The label, or the meaning when the feature has no shorter label."""
        return self.label or self.meaning

    @property
    def formatter(self) -> Callable[[Any], str]:
        return FORMATS[self.shown_as or {"share": "percent", "days": "days"}.get(self.unit, "number")]

    def format(self, value: Any) -> str:
        """``value`` as the reports and reasons print this feature."""
        return self.formatter(value)


def family(name: str, *features: Feature) -> list[Feature]:
    """Tag features with their family name."""
    return [replace(f, family=name) for f in features]


def placed(features: list[Feature], use: str) -> list[Feature]:
    """The features with a place in ``use`` (one of :data:`USES`), in the order of their places.

    >>> a, b = Feature("a", "a", None, report=2), Feature("b", "b", None, report=1)
    >>> [f.name for f in placed([a, b], "report")]
    ['b', 'a']
    >>> placed([a, Feature("c", "c", None, report=2)], "report")
    Traceback (most recent call last):
    ...
    ValueError: features a and c both claim place 2 in report
    """
    if use not in USES:
        raise ValueError(f"unknown use {use!r}; known: {', '.join(USES)}")
    taken: dict[int, str] = {}
    for f in features:
        place = getattr(f, use)
        if place and place in taken:
            raise ValueError(f"features {taken[place]} and {f.name} both claim place {place} in {use}")
        taken[place] = f.name
    return sorted((f for f in features if getattr(f, use)), key=lambda f: getattr(f, use))


def placed_names(features: list[Feature], use: str) -> list[str]:
    """Column names of :func:`placed`."""
    return [f.name for f in placed(features, use)]


def share(condition: pl.Expr) -> pl.Expr:
    """Share of the account's events for which ``condition`` holds (nulls count as false)."""
    return condition.fill_null(False).cast(pl.Float64).mean()


def logged_share(condition: pl.Expr) -> pl.Expr:
    """Share of the account's events *whose prompt was logged* for which ``condition`` holds (0 when none
    was). What a prompt says can only be read where the gateway logged it: over all events, a gateway
    that logs one prompt in two would halve every such share.

    >>> df = pl.DataFrame({"prompt": ["think step by step", None, "hi", None], "asks": [True, None, False, None]})
    >>> df.select(logged_share(pl.col("asks"))).item()
    0.5
    """
    return condition.fill_null(False).cast(pl.Float64).filter(pl.col("prompt").is_not_null()).mean().fill_null(0.0)


def normalised_entropy(column: pl.Expr, n_categories: int) -> pl.Expr:
    """Shannon entropy of a column's value distribution over ``n_categories`` values, scaled to 0-1.

    >>> df = pl.DataFrame({"h": [5, 5, 5, 6]})
    >>> round(df.select(normalised_entropy(pl.col("h"), 24)).item(), 3)
    0.177
    """
    return (column.unique_counts().entropy(normalize=True) / math.log(n_categories)).fill_nan(0.0)
