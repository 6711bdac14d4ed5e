"""An unsupervised PyOD ensemble: IForest + ECOD + HBOS on log-scaled behavioural features.

Each model's training scores are robustly standardised and averaged, so no single model's
scale dominates. It answers "how unusual is this account overall?"; on its own it flags
every production integration, so detection uses it only as one voice beside the signature.

>>> import numpy as np, polars as pl
>>> rng = np.random.default_rng(0)
>>> X = pl.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
>>> X = X.vstack(pl.DataFrame({"a": [12.0], "b": [-11.0]}))
>>> scores = OutlierEnsemble(columns=["a", "b"], log_columns=[]).fit(X).score(X)
>>> int(np.argmax(scores))
200
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from pyod.models import hbos as pyod_hbos
from pyod.models.ecod import ECOD
from pyod.models.hbos import HBOS
from pyod.models.iforest import IForest

from distillguard.models.base import robust_standardise

# PyOD compiles HBOS's scoring loop with numba afresh in every process: about 7 s here, more
# than fitting and scoring a day of accounts. With numba's on-disk cache enabled (what
# ``cache=True`` does) the machine code is compiled once and loaded by every later process.
try:
    pyod_hbos._calculate_outlier_scores.enable_caching()
except RuntimeError:  # no writable cache directory anywhere: compile in each process, as PyOD does
    pass


@dataclass
class OutlierEnsemble:
    """PyOD IForest + ECOD + HBOS, scores standardised on the training population and averaged."""

    columns: list[str]
    log_columns: list[str] = field(default_factory=list)
    random_state: int = 7
    name: str = "pyod_ensemble"

    def _matrix(self, features: pl.DataFrame) -> np.ndarray:
        exprs = []
        for c in self.columns:
            col = pl.col(c).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)
            exprs.append((col.clip(0) + 1).log10().alias(c) if c in self.log_columns else col.alias(c))
        return features.select(exprs).to_numpy()

    def fit(self, features: pl.DataFrame) -> "OutlierEnsemble":
        X = self._matrix(features)
        n = X.shape[0]
        self.models_ = [
            IForest(n_estimators=200, random_state=self.random_state, contamination=0.1),
            ECOD(contamination=0.1),
            HBOS(n_bins=max(5, min(20, n // 10)), contamination=0.1),
        ]
        self.centres_ = []
        for model in self.models_:
            with warnings.catch_warnings():
                # ECOD warns on near-constant columns (e.g. a feature nobody uses); the scores stay valid.
                warnings.simplefilter("ignore", RuntimeWarning)
                model.fit(X)
            train = np.asarray(model.decision_scores_, dtype=float)
            median = float(np.median(train))
            mad = float(1.4826 * np.median(np.abs(train - median))) or float(train.std() or 1.0)
            self.centres_.append((median, mad))
        return self

    def score(self, features: pl.DataFrame) -> np.ndarray:
        X = self._matrix(features)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            parts = [
                (np.asarray(model.decision_function(X), dtype=float) - median) / mad
                for model, (median, mad) in zip(self.models_, self.centres_)
            ]
        return np.mean(parts, axis=0)


__all__ = ["OutlierEnsemble", "robust_standardise"]
