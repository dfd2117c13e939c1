"""Covariate design matrices and their collinearity checks.

Categorical covariates become drop-first indicator columns; an intercept is
always the first column. Collinearity is checked the way PLINK 2 does for
``--glm``: the variance inflation factor of each predictor (default limit 50)
and the largest absolute pairwise correlation (default limit 0.999).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genolens.errors import ConfigError


@dataclass(frozen=True)
class CollinearityThresholds:
    """Limits above which covariates count as collinear (PLINK 2 ``--vif`` / ``--max-corr`` defaults)."""

    vif: float = 50.0
    max_corr: float = 0.999

    def __post_init__(self) -> None:
        if not self.vif > 1.0:
            raise ConfigError(f"vif threshold must be > 1, got {self.vif}")
        if not 0.0 < self.max_corr <= 1.0:
            raise ConfigError(f"max_corr threshold must be in (0, 1], got {self.max_corr}")


@dataclass
class Design:
    """A covariate matrix over the complete-case samples (intercept first)."""

    matrix: np.ndarray
    columns: list[str]
    keep: np.ndarray  # boolean mask over the input rows: complete cases
    n_dropped: int
    dropped_by_column: dict[str, int] = field(default_factory=dict)


@dataclass
class CollinearityReport:
    """VIF per predictor, the most correlated pair, and the problems found."""

    vif: dict[str, float]
    max_corr: float
    max_corr_pair: tuple[str, str] | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "vif": {k: _finite_or_str(v) for k, v in self.vif.items()},
            "max_corr": _finite_or_str(self.max_corr),
            "max_corr_pair": list(self.max_corr_pair) if self.max_corr_pair else [],
            "problems": list(self.problems),
        }


def _finite_or_str(x: float) -> float | str:
    return float(x) if np.isfinite(x) else str(x)


def encode_columns(frame: pd.DataFrame, *, columns: Sequence[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Numeric matrix for ``columns`` of ``frame`` (categoricals as drop-first indicators).

    Returns the matrix (NaN where the source is missing), its column names and a
    boolean mask of rows where every source column is present.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"column(s) {missing} not found in the sample table",
            hint=f"available: {', '.join(map(str, frame.columns[:20]))}",
        )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    complete = np.ones(len(frame), dtype=bool)
    for col in columns:
        series = frame[col]
        present = series.notna().to_numpy()
        if len(frame) and not present.any():
            raise ConfigError(f"covariate {col!r} is missing for all {len(frame)} samples")
        complete &= present
        if pd.api.types.is_bool_dtype(series):
            series = series.astype(float)
        if pd.api.types.is_numeric_dtype(series):
            blocks.append(series.to_numpy(dtype=float)[:, None])
            names.append(str(col))
            continue
        levels = sorted(series.dropna().astype(str).unique())
        if len(levels) < 2:
            raise ConfigError(f"categorical covariate {col!r} has fewer than two levels: {levels}")
        values = series.astype(str).to_numpy()
        for level in levels[1:]:
            ind = (values == level).astype(float)
            ind[~present] = np.nan
            blocks.append(ind[:, None])
            names.append(f"{col}[{level}]")
    matrix = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
    return matrix, names, complete


def build_design(frame: pd.DataFrame, *, columns: Sequence[str], extra_mask: np.ndarray | None = None) -> Design:
    """Intercept + encoded ``columns`` over rows complete in all of them (and in ``extra_mask``)."""
    values, names, complete = encode_columns(frame, columns=columns)
    dropped_by_column = {str(c): int(frame[c].isna().sum()) for c in columns}
    if extra_mask is not None:
        complete = complete & extra_mask
    matrix = np.hstack([np.ones((int(complete.sum()), 1)), values[complete]])
    return Design(
        matrix=matrix,
        columns=["intercept", *names],
        keep=complete,
        n_dropped=int((~complete).sum()),
        dropped_by_column=dropped_by_column,
    )


def collinearity(
    matrix: np.ndarray,
    *,
    columns: Sequence[str],
    thresholds: CollinearityThresholds = CollinearityThresholds(),
) -> CollinearityReport:
    """VIF of each non-intercept predictor and the largest pairwise |correlation|, as PLINK 2 checks them."""
    pred = np.asarray(matrix, dtype=float)[:, 1:]
    names = list(columns[1:])
    problems: list[str] = []
    vif: dict[str, float] = {}
    if pred.shape[1] == 0:
        return CollinearityReport(vif={}, max_corr=0.0, max_corr_pair=None, problems=[])
    centred = pred - pred.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    constant = norms <= 1e-12 * np.maximum(1.0, np.abs(pred).max(axis=0))
    for j, name in enumerate(names):
        if constant[j]:
            vif[name] = float("inf")
            problems.append(f"covariate {name!r} is constant")
            continue
        others = np.delete(centred, j, axis=1)[:, ~np.delete(constant, j)]
        if others.shape[1] == 0:
            vif[name] = 1.0
            continue
        coef, *_ = np.linalg.lstsq(others, centred[:, j], rcond=None)
        resid = centred[:, j] - others @ coef
        r2 = 1.0 - float(resid @ resid) / float(norms[j] ** 2)
        vif[name] = float("inf") if r2 >= 1.0 - 1e-12 else 1.0 / (1.0 - r2)
        if vif[name] > thresholds.vif:
            problems.append(f"covariate {name!r} has VIF {vif[name]:.4g} > {thresholds.vif:g}")
    max_corr, pair = 0.0, None
    usable = np.flatnonzero(~constant)
    if usable.size >= 2:
        z = centred[:, usable] / norms[usable]
        corr = np.abs(z.T @ z)
        np.fill_diagonal(corr, 0.0)
        i, k = np.unravel_index(int(np.argmax(corr)), corr.shape)
        max_corr, pair = float(corr[i, k]), (names[usable[i]], names[usable[k]])
        if max_corr > thresholds.max_corr:
            problems.append(
                f"covariates {pair[0]!r} and {pair[1]!r} have |corr| {max_corr:.6g} > {thresholds.max_corr:g}"
            )
    return CollinearityReport(vif=vif, max_corr=max_corr, max_corr_pair=pair, problems=problems)
