"""Least squares for every feature at once: ``y ~ covariates + feature``.

By the Frisch-Waugh-Lovell theorem the feature's coefficient in the full model
equals the slope of the covariate-residualised phenotype on the
covariate-residualised feature. The covariates are therefore orthonormalised
once (SVD, which also tolerates a rank-deficient design the way statsmodels'
pseudo-inverse does) and every feature is handled with a few matrix products.
The residual degrees of freedom are ``n - rank(covariates) - 1``, so the t-test
is exact and identical to statsmodels ``OLS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from genolens.stats.design import CollinearityThresholds
from genolens.stats.scan import BLOCK_BYTES, scan

# Relative size below which a residual sum of squares counts as zero.
_TINY = 1e-10

# Bytes of one tile of the block (a few rows x up to _PANEL columns) that the kernel reads once for both the
# matrix product and the sums of squares, while it sits in the core's L2 cache.
_TILE_BYTES = 1 << 19
_PANEL = 2048


@dataclass
class CovariateBasis:
    """Orthonormal basis of the covariate columns over one sample set."""

    q: np.ndarray  # n x rank
    rank: int
    q_ones: np.ndarray  # q^T 1
    corr_loadings: np.ndarray  # rank x (p-1): centred, unit-norm covariates expressed in q
    y_resid: np.ndarray | None = None
    y_rss: float = float("nan")
    projector: np.ndarray | None = None  # [q, y_resid], n x (rank + 1): one GEMM per block


def covariate_basis(covariates: np.ndarray, *, y: np.ndarray | None = None) -> CovariateBasis:
    """Orthonormal basis of ``covariates`` (intercept first), plus ``y`` residualised on it."""
    c = np.asarray(covariates, dtype=float)
    u, s, _ = np.linalg.svd(c, full_matrices=False)
    tol = s[0] * max(c.shape) * np.finfo(float).eps if s.size else 0.0
    rank = int((s > tol).sum())
    q = np.ascontiguousarray(u[:, :rank])
    pred = c[:, 1:] - c[:, 1:].mean(axis=0)
    norms = np.sqrt((pred**2).sum(axis=0))
    norms[norms == 0] = np.inf
    loadings = q.T @ (pred / norms)
    basis = CovariateBasis(q=q, rank=rank, q_ones=q.sum(axis=0), corr_loadings=loadings)
    if y is not None:
        yv = np.asarray(y, dtype=float)
        basis.y_resid = yv - q @ (q.T @ yv)
        basis.y_rss = float(basis.y_resid @ basis.y_resid)
        basis.projector = np.ascontiguousarray(np.column_stack([q, basis.y_resid]))
    return basis


def cross_products(projector: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``projector^T @ block`` and the column sums of squares of ``block``, in one pass over memory.

    ``block`` (n x f, float32 or float64, any strides) is read tile by tile: a
    few rows of at most ``_PANEL`` columns, small enough to stay in cache while
    both the matrix product and the squares use it (float32 tiles are widened
    to float64 there, exactly). The two separate passes this replaces are both
    limited by memory bandwidth, so this halves the kernel's time. Products and
    sums are accumulated in float64 over the row tiles.
    """
    n, f = block.shape
    k = projector.shape[1]
    cross = np.zeros((k, f))
    squares = np.zeros(f)
    for c0 in range(0, f, _PANEL):
        c1 = min(c0 + _PANEL, f)
        w = c1 - c0
        rows = max(16, _TILE_BYTES // (8 * w))
        part = np.empty((k, w))
        sq = np.empty(w)
        wide = np.empty((min(rows, n), w)) if block.dtype != np.float64 else None
        cross_view, squares_view = cross[:, c0:c1], squares[c0:c1]
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            tile = block[r0:r1, c0:c1]
            if wide is not None:
                tile = wide[: r1 - r0]
                np.copyto(tile, block[r0:r1, c0:c1], casting="same_kind")
            np.matmul(projector[r0:r1].T, tile, out=part)
            cross_view += part
            np.einsum("ij,ij->j", tile, tile, out=sq)
            squares_view += sq
    return cross, squares


def ols_block(
    basis: CovariateBasis,
    block: np.ndarray,
    *,
    thresholds: CollinearityThresholds = CollinearityThresholds(),
) -> dict[str, np.ndarray]:
    """OLS t-tests of each column of ``block`` (n x f); columns with NaN are flagged in ``has_nan``.

    One matrix product ``block^T @ [q, y_resid]`` gives every cross-product,
    and the column sums follow from it because the intercept is in ``q``; the
    feature is then centred algebraically. Columns whose mean is so large
    against their spread that this would lose precision are recomputed with
    explicit centring.
    """
    n, f = block.shape
    df = n - basis.rank - 1
    cross, xx = cross_products(basis.projector, block)
    qtx = cross[:-1]
    mean = (basis.q_ones @ qtx) / n  # 1 lies in the span of q (intercept), so 1^T x = (q^T 1)^T (q^T x)
    has_nan = np.isnan(mean)
    qtx = qtx - np.outer(basis.q_ones, mean)
    sxy = cross[-1]  # y_resid is orthogonal to the basis, intercept included
    xx = xx - n * mean * mean
    shaky = n * mean * mean > 1e6 * np.maximum(xx, 0.0)
    if shaky.any():
        xc = block[:, shaky].astype(np.float64) - mean[shaky]
        xx[shaky] = np.einsum("ij,ij->j", xc, xc)
        qtx[:, shaky] = basis.q.T @ xc
    sxx = xx - np.einsum("ij,ij->j", qtx, qtx)  # residual sum of squares of the feature
    reason = np.full(f, "", dtype=object)
    scale = np.maximum(np.abs(mean), 1.0) ** 2 * n
    zero_var = xx <= _TINY * _TINY * scale
    collinear = ~zero_var & (sxx <= _TINY * xx)
    with np.errstate(divide="ignore", invalid="ignore"):
        vif = np.where(collinear | zero_var, np.inf, xx / sxx)
        corr = np.abs(basis.corr_loadings.T @ qtx) / np.sqrt(xx)
        max_corr = corr.max(axis=0) if corr.shape[0] else np.zeros(f)
        beta = sxy / sxx
        rss = basis.y_rss - beta * sxy
        se = np.sqrt(rss / df / sxx)
        stat = beta / se
    reason[vif > thresholds.vif] = "vif_too_high"
    reason[max_corr > thresholds.max_corr] = "corr_too_high"
    reason[collinear] = "collinear_with_covariates"
    reason[zero_var] = "zero_variance"
    if df <= 0:
        reason[:] = "too_few_samples"
    bad = reason != ""
    pvalue = 2.0 * sps.t.sf(np.abs(stat), df) if df > 0 else np.full(f, np.nan)
    out = {
        "beta": beta,
        "se": se,
        "stat": stat,
        "pvalue": pvalue,
        "n": np.full(f, float(n)),
        "df": np.full(f, float(df)),
        "sigma2": rss / df if df > 0 else np.full(f, np.nan),  # residual variance of the fit
        "sxx": sxx,  # the feature's residual sum of squares on the covariates
    }
    for values in out.values():
        values[bad] = np.nan
    out["n"][:] = n
    out["reason"] = reason
    out["method"] = np.full(f, "ols", dtype=object)
    out["has_nan"] = has_nan
    return out


def ols_scan(
    features: Any,
    *,
    y: np.ndarray,
    covariates: np.ndarray,
    rows: np.ndarray | None = None,
    thresholds: CollinearityThresholds = CollinearityThresholds(),
    block_bytes: int = BLOCK_BYTES,
) -> dict[str, np.ndarray]:
    """Fit ``y ~ covariates + feature`` for every column of ``features`` (samples x features).

    ``y`` and ``covariates`` (intercept included) must be complete over ``rows``
    (a boolean mask of samples; all when None). A feature's own NaN samples are
    dropped for that feature only. Returns per-feature arrays ``beta, se, stat,
    pvalue, n, df, sigma2, sxx, reason, method`` (``sigma2``: residual variance;
    ``sxx``: the feature's residual sum of squares on the covariates); a feature that cannot be tested (zero
    variance, collinear with the covariates, VIF or correlation over the
    thresholds, too few samples) gets NaN and a ``reason``.
    """
    n_total = features.shape[0]
    rows = np.ones(n_total, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    y_rows = np.asarray(y, dtype=float)[rows]
    c_rows = np.asarray(covariates, dtype=float)[rows]
    full = covariate_basis(c_rows, y=y_rows)

    def fit(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
        basis = full if mask.all() else covariate_basis(c_rows[mask], y=y_rows[mask])
        return ols_block(basis, block, thresholds=thresholds)

    return scan(features, fit_block=fit, rows=rows, block_bytes=block_bytes, fit_copies=False, fit_float32=True)
