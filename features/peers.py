"""Peer groups: judge an account against accounts that use the API the same way.

A production integration is compared with other integrations, not with chat users. The peer
group is the volume band (log10 of requests) crossed with the usage class (conversational or
programmatic); groups smaller than ``MIN_PEERS`` fall back to the volume band, then to everyone.

>>> import polars as pl
>>> f = pl.DataFrame({"account_id": list("abcdef"), "n_requests": [5, 8, 2000, 3000, 40, 50],
...                   "single_turn_share": [0.2, 0.3, 1.0, 1.0, 0.9, 0.1]})
>>> with_peer_groups(f)["peer_group"].to_list()
['v0-conversational', 'v0-conversational', 'v3-programmatic', 'v3-programmatic', 'v1-programmatic', 'v1-conversational']
"""

from __future__ import annotations

import polars as pl

MIN_PEERS = 12


def volume_band(n_requests: pl.Expr) -> pl.Expr:
    """0: < 10 requests, 1: 10-99, 2: 100-999, 3: 1000-9999, 4: 10,000 or more."""
    return n_requests.cast(pl.Float64).clip(1).log10().floor().clip(0, 4).cast(pl.Int8)


def usage_class(single_turn_share: pl.Expr) -> pl.Expr:
    return pl.when(single_turn_share >= 0.6).then(pl.lit("programmatic")).otherwise(pl.lit("conversational"))


def with_peer_groups(features: pl.DataFrame) -> pl.DataFrame:
    return features.with_columns(
        pl.format("v{}-{}", volume_band(pl.col("n_requests")), usage_class(pl.col("single_turn_share"))).alias("peer_group")
    )


def peer_medians(features: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Add ``<col>_peer_median`` for each column: the median over the account's peer group.

    Groups with fewer than ``MIN_PEERS`` accounts use the median of the whole population.
    """
    if "peer_group" not in features.columns:
        features = with_peer_groups(features)
    size = pl.len().over("peer_group")
    return features.with_columns(
        [
            pl.when(size >= MIN_PEERS).then(pl.col(c).median().over("peer_group")).otherwise(pl.col(c).median()).alias(f"{c}_peer_median")
            for c in columns
        ]
    )
