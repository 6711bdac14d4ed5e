"""The online outlier model of the streaming path: river's HalfSpaceTrees on scaled window
features, plus per-feature quantile filters that say *which* feature is extreme.

It learns what normal account-windows look like as traffic flows and is never taught by
accounts the caller judges suspicious (``learn`` is simply not called for them, and a window
the model itself finds extreme is not learned either), so an attacker cannot become normal.
It follows the project's :class:`~distillguard.models.base.Detector` interface (``fit`` and
``score`` on a feature frame) and adds the row-at-a-time ``learn_one`` / ``score_one`` the
stream uses.

>>> import random
>>> import polars as pl
>>> rng = random.Random(0)
>>> clean = pl.DataFrame([{"n_requests": rng.randint(1, 30), "reasoning_share": rng.uniform(0, 0.1)} for _ in range(400)])
>>> model = OnlineOutlierModel(seed=1).fit(clean)
>>> odd = {"n_requests": 5000, "reasoning_share": 0.95}
>>> model.score_one(odd) > model.score_one({"n_requests": 12, "reasoning_share": 0.05})
True
>>> sorted(model.extreme_features(odd))
['n_requests', 'reasoning_share']
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import polars as pl
from river import anomaly, compose, preprocessing, stats

from distillguard.features.families import ALL_FEATURES
from distillguard.features.registry import placed, placed_names

#: Window features the online model sees: those with a place in the online model in the
#: registry (:mod:`distillguard.features.families`).
ONLINE_FEATURES = placed_names(ALL_FEATURES, "online_model")
#: Counts are compared on a log scale.
LOG_SCALED = {f.name for f in placed(ALL_FEATURES, "online_model") if f.log_scale}


def online_vector(row: Mapping[str, Any]) -> dict[str, float]:
    """The model's input from one feature row: log-scaled counts, shares as they are, 0 when missing."""
    out: dict[str, float] = {}
    for name in ONLINE_FEATURES:
        if name not in row:
            continue
        value = row[name]
        value = 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        out[name] = math.log10(1.0 + max(value, 0.0)) if name in LOG_SCALED else value
    return out


class OnlineOutlierModel:
    """MinMax-scaled HalfSpaceTrees; ``score_one`` in [0, 1], higher = more anomalous.

    ``quantile`` is the level of the per-feature filters: a feature above the ``quantile`` of
    what the model learned is reported by :meth:`extreme_features`.
    """

    name = "river_half_space_trees"

    def __init__(self, seed: int = 7, n_trees: int = 25, height: int = 8, window_size: int = 250,
                 quantile: float = 0.99, protect_above: float = 0.95) -> None:
        self.pipeline = compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size, seed=seed),
        )
        self.quantile = quantile
        self.protect_above = protect_above
        self.quantiles: dict[str, stats.Quantile] = {}
        self.seen = 0
        self.refused = 0

    # -- row at a time (the stream) -----------------------------------------------------
    def learn_one(self, row: Mapping[str, object], score: float | None = None) -> bool:
        """Learn one clean account-window; returns False when refused as too unusual to learn.

        ``score``: what :meth:`score_one` just said of this row, when the caller asked (saves scoring it twice).
        """
        x = online_vector(row)
        if self.seen >= 100 and (self._score_vector(x) if score is None else score) >= self.protect_above:
            self.refused += 1
            return False
        self.pipeline.learn_one(x)
        for name, value in x.items():
            self.quantiles.setdefault(name, stats.Quantile(self.quantile)).update(value)
        self.seen += 1
        return True

    def score_one(self, row: Mapping[str, object]) -> float:
        return self._score_vector(online_vector(row))

    def _score_vector(self, x: dict[str, float]) -> float:
        return float(self.pipeline.score_one(x)) if self.seen else 0.0

    def extreme_features(self, row: Mapping[str, object], min_seen: int = 50) -> list[str]:
        """Features above the learned ``quantile`` of clean windows (empty until ``min_seen`` windows)."""
        if self.seen < min_seen:
            return []
        x = online_vector(row)
        found = []
        for name, value in x.items():
            bar = self.quantiles[name].get() if name in self.quantiles else None
            if bar is not None and value > bar + 1e-9:
                found.append(name)
        return found

    # -- the Detector interface (a frame at a time) ---------------------------------------
    def fit(self, features: pl.DataFrame) -> "OnlineOutlierModel":
        for row in _rows(features):
            self.learn_one(row)
        return self

    def score(self, features: pl.DataFrame) -> np.ndarray:
        return np.array([self.score_one(row) for row in _rows(features)], dtype=float)

    # -- persistence -------------------------------------------------------------------------
    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> "OnlineOutlierModel":
        model = pickle.loads(data)
        if not isinstance(model, OnlineOutlierModel):
            raise TypeError(f"checkpoint holds a {type(model).__name__}, not an OnlineOutlierModel")
        return model

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(self.dumps())
        tmp.replace(path)

    @staticmethod
    def load(path: Path, seed: int = 7) -> "OnlineOutlierModel":
        return OnlineOutlierModel.loads(path.read_bytes()) if path.is_file() else OnlineOutlierModel(seed=seed)


def _rows(features: pl.DataFrame) -> Iterable[dict]:
    present = [c for c in ONLINE_FEATURES if c in features.columns]
    return features.select(present).iter_rows(named=True)
