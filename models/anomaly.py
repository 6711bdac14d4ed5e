"""Outlier models among peers, on the *shape* of an account's use rather than its size.

Raw volume makes every production integration an outlier; shares, ratios, regularity and
entropy do not. :class:`PeerOutlierModel` fits the PyOD ensemble (:mod:`.ensemble`) once per
usage class (programmatic or conversational, :func:`distillguard.features.peers.usage_class`), on
accounts with enough requests for their shares to mean something, and scores each account
against its own class. :func:`anomaly_from_z` maps the robust z-score to the 0-1 ``anomaly``
the policy reads (the stream maps river's score the same way, :func:`anomaly_from_river`).

>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(0)
>>> rows = [{"account_id": f"a{i}", "n_requests": 200, **{c: float(rng.uniform(0, 0.2)) for c in SHAPE_COLUMNS}}
...         for i in range(120)]
>>> rows.append({**rows[0], "account_id": "odd", **{c: 0.95 for c in SHAPE_COLUMNS}, "single_turn_share": 0.1})
>>> frame = pl.DataFrame(rows)
>>> z = PeerOutlierModel(min_requests=20).fit(frame).score(frame)
>>> int(np.argmax(z)) == 120
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from distillguard.features.families import ALL_FEATURES
from distillguard.features.peers import usage_class
from distillguard.features.registry import placed, placed_names

#: Shape features: shares, ratios, regularity, entropy (log-scaled where a ratio spans decades);
#: the features with a place in the anomaly model in the registry (:mod:`distillguard.features.families`).
SHAPE_COLUMNS = placed_names(ALL_FEATURES, "anomaly_model")
LOG_SHAPE_COLUMNS = [f.name for f in placed(ALL_FEATURES, "anomaly_model") if f.anomaly_log]
#: Fewest accounts a usage class needs for a model of its own (smaller classes are scored with everyone).
MIN_CLASS_ACCOUNTS = 50


def anomaly_from_z(z: np.ndarray, full_at: float = 10.0) -> np.ndarray:
    """Robust z -> 0-1: 0 at or below 0, 1 at ``full_at`` robust deviations.

    >>> anomaly_from_z(np.array([-2.0, 5.0, 30.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return np.clip(np.asarray(z, dtype=float) / full_at, 0.0, 1.0)


def anomaly_from_river(score: float) -> float:
    """river HalfSpaceTrees' 0-1 score -> the policy's 0-1 anomaly (below 0.5 is ordinary).

    >>> anomaly_from_river(0.4), anomaly_from_river(0.9)
    (0.0, 0.8)
    """
    return round(min(1.0, max(0.0, (score - 0.5) / 0.5)), 6)


@dataclass
class PeerOutlierModel:
    """The PyOD ensemble fitted per usage class on shape features; ``score`` gives robust z-scores."""

    min_requests: int = 20
    random_state: int = 7
    name: str = "pyod_peer_ensemble"

    def _classes(self, features: pl.DataFrame) -> pl.Series:
        return features.select(usage_class(pl.col("single_turn_share").fill_null(0.0))).to_series()

    def _eligible(self, features: pl.DataFrame) -> np.ndarray:
        return (features["n_requests"].fill_null(0) >= self.min_requests).to_numpy()

    def fit(self, features: pl.DataFrame) -> "PeerOutlierModel":
        from distillguard.models.ensemble import OutlierEnsemble  # PyOD pulls in scikit-learn and SciPy: seconds

        eligible = self._eligible(features)
        classes = self._classes(features).to_numpy()
        self.models_: dict[str, tuple[OutlierEnsemble, float, float]] = {}   # class -> model, training median and MAD
        pooled = features.filter(pl.Series(eligible))
        groups = {c: features.filter(pl.Series(eligible & (classes == c))) for c in np.unique(classes)}
        for cls, frame in groups.items():
            train = frame if frame.height >= MIN_CLASS_ACCOUNTS else pooled
            if train.height >= 20:
                model = OutlierEnsemble(SHAPE_COLUMNS, LOG_SHAPE_COLUMNS, random_state=self.random_state).fit(train)
                scores = model.score(train)
                median = float(np.median(scores))
                mad = float(1.4826 * np.median(np.abs(scores - median))) or float(scores.std() or 1.0)
                self.models_[cls] = (model, median, mad)
        return self

    def score(self, features: pl.DataFrame) -> np.ndarray:
        """Robust z of each account against its class's training scores (0 for accounts with too few requests)."""
        z = np.zeros(features.height)
        eligible = self._eligible(features)
        classes = self._classes(features).to_numpy()
        for cls, (model, median, mad) in self.models_.items():
            mask = eligible & (classes == cls)
            if mask.any():
                z[mask] = (model.score(features.filter(pl.Series(mask))) - median) / mad
        return z
