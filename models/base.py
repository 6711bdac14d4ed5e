"""The one small interface every account-level detector follows.

A detector is fitted on a frame of per-account features and scores accounts: higher is more
suspicious. Scores are on each detector's own scale; :func:`robust_standardise` puts them on a
common one before they are combined.

>>> import numpy as np
>>> robust_standardise(np.array([1.0, 2.0, 3.0, 100.0])).round(2).tolist()
[-1.01, -0.34, 0.34, 65.76]
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl


@runtime_checkable
class Detector(Protocol):
    """Fit on per-account features, then score accounts (higher = more suspicious)."""

    name: str

    def fit(self, features: pl.DataFrame) -> "Detector": ...

    def score(self, features: pl.DataFrame) -> np.ndarray: ...


def robust_standardise(scores: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 * MAD), falling back to the standard deviation when the MAD is 0."""
    scores = np.asarray(scores, dtype=float)
    median = np.median(scores)
    mad = 1.4826 * np.median(np.abs(scores - median))
    spread = mad if mad > 1e-12 else (scores.std() or 1.0)
    return (scores - median) / spread
