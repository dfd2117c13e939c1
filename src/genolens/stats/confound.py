"""Confound diagnostics: how much of each feature ancestry explains, and a category per feature.

Categories (thresholds configurable, written next to every result):

- ``biomarker_candidate``: significant with ancestry adjusted (q < alpha) and
  little ancestry signal (ancestry R^2 below ``ancestry_r2_low``);
- ``both``: significant with ancestry adjusted, with a moderate ancestry signal
  (R^2 between ``ancestry_r2_low`` and ``ancestry_r2_high``);
- ``ancestry_confounded``: significant only without the ancestry terms, or
  significant but mostly explained by ancestry (R^2 >= ``ancestry_r2_high``);
- ``none``: otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from genolens.errors import ConfigError
from genolens.stats.ols import covariate_basis
from genolens.stats.scan import column_sums, scan

CATEGORIES = ("biomarker_candidate", "ancestry_confounded", "both", "none")


@dataclass(frozen=True)
class ConfoundThresholds:
    """Significance level (on BH q-values) and ancestry-R^2 cut-offs of the categories."""

    alpha: float = 0.05
    ancestry_r2_low: float = 0.1
    ancestry_r2_high: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        if not 0.0 <= self.ancestry_r2_low <= self.ancestry_r2_high <= 1.0:
            raise ConfigError(
                "ancestry R^2 thresholds must satisfy 0 <= low <= high <= 1, "
                f"got low={self.ancestry_r2_low}, high={self.ancestry_r2_high}"
            )


def explained_variance(features: Any, *, predictors: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """R^2 of each feature regressed on ``predictors`` (plus intercept), on its own complete samples."""
    n_total = features.shape[0]
    rows = np.ones(n_total, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    p_rows = np.column_stack([np.ones(int(rows.sum())), np.asarray(predictors, dtype=float)[rows]])
    full = covariate_basis(p_rows)

    def fit(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
        q = full.q if mask.all() else covariate_basis(p_rows[mask]).q
        xc = block - column_sums(block) / block.shape[0]  # NaN columns stay NaN and are flagged
        total = np.einsum("ij,ij->j", xc, xc)
        qtx = q.T @ xc
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.einsum("ij,ij->j", qtx, qtx) / total
        r2[total <= 0] = np.nan
        return {"beta": np.clip(r2, 0.0, 1.0), "has_nan": np.isnan(total)}

    return scan(features, fit_block=fit, rows=rows)["beta"]


def categorise(
    *,
    qvalue: np.ndarray,
    qvalue_unadjusted: np.ndarray,
    ancestry_r2: np.ndarray,
    thresholds: ConfoundThresholds = ConfoundThresholds(),
) -> np.ndarray:
    """One category per feature from adjusted/unadjusted q-values and ancestry R^2 (NaN: not significant)."""
    a = thresholds.alpha
    sig_adj = np.nan_to_num(np.asarray(qvalue, dtype=float), nan=1.0) < a
    sig_unadj = np.nan_to_num(np.asarray(qvalue_unadjusted, dtype=float), nan=1.0) < a
    r2 = np.nan_to_num(np.asarray(ancestry_r2, dtype=float), nan=0.0)
    out = np.full(sig_adj.shape, "none", dtype=object)
    out[sig_adj & (r2 < thresholds.ancestry_r2_low)] = "biomarker_candidate"
    out[sig_adj & (r2 >= thresholds.ancestry_r2_low) & (r2 < thresholds.ancestry_r2_high)] = "both"
    out[(sig_adj & (r2 >= thresholds.ancestry_r2_high)) | (~sig_adj & sig_unadj)] = "ancestry_confounded"
    return out
