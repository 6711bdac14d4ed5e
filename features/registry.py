"""A feature is a named Polars aggregation with a one-line meaning.

Families register their features here; :func:`aggregate` evaluates any set of them per account.

>>> import polars as pl
>>> f = Feature("n_requests", "requests in the window", pl.len(), unit="count")
>>> f.meaning
'requests in the window'
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# Polars' in-memory engine runs these per-account queries (group-bys, window expressions, word
# explosions over up to a few million rows) 15-30 % faster than the streaming engine Polars 2
# picks by default, measured on batch runs and on the stream's many small re-scorings.
COLLECT_ENGINE = "in-memory"


@dataclass(frozen=True)
class Feature:
    """One per-account feature: its column name, what it means, and how to compute it."""

    name: str
    meaning: str
    expr: pl.Expr
    unit: str = "share"  # share (0-1), count, ratio, seconds, days, bits...
    family: str = ""

    def aggregation(self) -> pl.Expr:
        return self.expr.alias(self.name)


def family(name: str, *features: Feature) -> list[Feature]:
    """Tag features with their family name."""
    return [Feature(f.name, f.meaning, f.expr, f.unit, name) for f in features]


def share(condition: pl.Expr) -> pl.Expr:
    """Share of the account's events for which ``condition`` holds (nulls count as false)."""
    return condition.fill_null(False).cast(pl.Float64).mean()


def normalised_entropy(column: pl.Expr, n_categories: int) -> pl.Expr:
    """Shannon entropy of a column's value distribution over ``n_categories`` values, scaled to 0-1.

    >>> df = pl.DataFrame({"h": [5, 5, 5, 6]})
    >>> round(df.select(normalised_entropy(pl.col("h"), 24)).item(), 3)
    0.177
    """
    import math

    return (column.unique_counts().entropy(normalize=True) / math.log(n_categories)).fill_nan(0.0)
