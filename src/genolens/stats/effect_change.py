"""Did adding the ancestry terms change a feature's effect? A test of the change, not of two p-values.

For each feature, ``b_R`` is its coefficient in the reduced model (phenotype ~ covariates + feature)
and ``b_F`` in the full model (the same plus ancestry PCs); ``delta = b_R - b_F`` is the part of the
unadjusted effect that the ancestry terms account for.

Least squares (Clogg, Petkova & Haritou 1995, Am. J. Sociol. 100:1261). With ``X1`` the reduced design
and ``X = [X1, X2]`` the full one, ``delta = (X1'X1)^-1 X1'X2 b2`` is linear in ``b2``, and the
partitioned inverse gives ``[(X'X)^-1]_11 = (X1'X1)^-1 + A (X2'M1X2)^-1 A'`` with
``A = (X1'X1)^-1 X1'X2``, so under the full model

    Var(delta) = sigma^2 ([(X'X)^-1]_11 - (X1'X1)^-1)        (the feature's diagonal entry)
               = sigma^2 (1 / sxx_F - 1 / sxx_R),

where ``sxx_R`` / ``sxx_F`` are the feature's residual sums of squares on the reduced / full covariates
(Frisch-Waugh-Lovell). ``sigma^2`` is estimated by the full model's residual variance ``s_F^2``, which is
independent of ``b2`` and hence of ``delta``, so ``delta / se(delta)`` is exactly t with the full
model's residual degrees of freedom under "no change" (Clogg et al. use the normal approximation).
Equivalently ``Var(delta) = se_F^2 - se_R^2 s_F^2 / s_R^2``. The same algebra gives
``Cov(b_R, b_F) = Var(b_R)``, hence ``Cov(b_R, delta) = 0``.

Logistic models. The two fits are M-estimators of one sample; stacking their estimating equations gives
each sample's influence on each coefficient, ``u_i = e_x' I^-1 x_i (y_i - mu_i)`` per model, and the
sandwich variance ``Var(delta) = sum_i (u_Ri - u_Fi)^2`` (and ``Cov(b_R, delta)`` likewise). Asymptotic,
robust to the reduced model being misspecified (it is, when ancestry matters); note that logistic
coefficients are not collapsible, so adding predictors that are independent of the feature can change
its coefficient a little even without confounding.

The fraction of the unadjusted effect that ancestry explains is ``delta / b_R``, with a Fieller
confidence interval (unbounded, -inf..inf, when ``b_R`` itself is not significantly different from 0 at
that level).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats as sps

from genolens.stats.design import CollinearityThresholds
from genolens.stats.logistic import LogisticConfig, logistic_block
from genolens.stats.multiple_testing import bh_qvalues
from genolens.stats.ols import covariate_basis
from genolens.stats.scan import BLOCK_BYTES, column_sums, scan, with_nan_columns

# The columns an effect-change test adds to an association table.
CHANGE_COLUMNS = (
    "beta_change",
    "se_change",
    "pvalue_change",
    "qvalue_change",
    "fraction_explained",
    "fraction_explained_low",
    "fraction_explained_high",
)

# Below this relative size, the ancestry terms explain none of the feature: no change is possible.
_TINY = 1e-12


def fieller_interval(
    num: np.ndarray, den: np.ndarray, *, var_num: np.ndarray, var_den: np.ndarray, cov: np.ndarray, crit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fieller's confidence interval for ``num / den`` (jointly normal estimates).

    The set of ratios ``f`` with ``(num - f den)^2 <= crit^2 Var(num - f den)``; where it is not a bounded
    interval (``den`` not significantly different from zero) both bounds are infinite.

    Parameters
    ----------
    num, den
        Estimates of numerator and denominator.
    var_num, var_den, cov
        Their variances and covariance.
    crit
        Critical value (e.g. 1.96, or a t quantile).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds (NaN where an input is NaN).
    """
    t2 = np.asarray(crit, dtype=float) ** 2
    a = den * den - t2 * var_den
    b = num * den - t2 * cov
    c = num * num - t2 * var_num
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = b * b - a * c
        root = np.sqrt(np.where(disc >= 0, disc, np.nan))
        low = (b - root) / a
        high = (b + root) / a
    bounded = (a > 0) & (disc >= 0)
    unbounded = ~bounded & np.isfinite(a) & np.isfinite(c)
    low = np.where(unbounded, -np.inf, low)
    high = np.where(unbounded, np.inf, high)
    return low, high


def change_from_moments(
    beta_reduced: np.ndarray,
    beta_full: np.ndarray,
    *,
    var_change: np.ndarray,
    var_reduced: np.ndarray,
    cov_reduced_change: np.ndarray,
    df: np.ndarray | float | None = None,
    level: float = 0.95,
) -> dict[str, np.ndarray]:
    """Test of ``delta = b_R - b_F`` and the fraction ``delta / b_R`` from their (co)variances.

    Parameters
    ----------
    beta_reduced, beta_full
        The feature's coefficient without and with the ancestry terms.
    var_change, var_reduced, cov_reduced_change
        ``Var(delta)``, ``Var(b_R)`` and ``Cov(b_R, delta)``.
    df
        Degrees of freedom of a t reference (None: normal).
    level
        Confidence level of the fraction's interval.

    Returns
    -------
    dict of numpy.ndarray
        The :data:`CHANGE_COLUMNS` (``qvalue_change``: BH over the features tested).
    """
    b_r = np.asarray(beta_reduced, dtype=float)
    delta = b_r - np.asarray(beta_full, dtype=float)
    var = np.asarray(var_change, dtype=float)
    scale = np.maximum(np.asarray(var_reduced, dtype=float), 0.0)
    # the ancestry terms explain (numerically) none of the feature: delta is 0 and cannot move
    frozen = np.isfinite(var) & (var <= _TINY * scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.where(frozen, 0.0, np.maximum(var, 0.0)))
        stat = np.where(frozen, 0.0, delta / se)
        fraction = delta / b_r
    if df is None:
        pvalue = 2.0 * sps.norm.sf(np.abs(stat))
        crit = np.full(b_r.shape, sps.norm.isf((1.0 - level) / 2.0))
    else:
        dfs = np.broadcast_to(np.asarray(df, dtype=float), b_r.shape)
        with np.errstate(invalid="ignore"):
            pvalue = 2.0 * sps.t.sf(np.abs(stat), dfs)
            crit = sps.t.isf((1.0 - level) / 2.0, dfs)
    low, high = fieller_interval(
        delta, b_r, var_num=np.where(frozen, 0.0, var), var_den=scale, cov=cov_reduced_change, crit=crit
    )
    return {
        "beta_change": delta,
        "se_change": se,
        "pvalue_change": pvalue,
        "qvalue_change": bh_qvalues(pvalue),
        "fraction_explained": fraction,
        "fraction_explained_low": low,
        "fraction_explained_high": high,
    }


def ols_change(reduced: dict[str, np.ndarray], *, full: dict[str, np.ndarray], level: float = 0.95) -> dict:
    """Clogg-Petkova-Haritou test from two :func:`genolens.stats.ols.ols_scan` results on the same samples.

    Parameters
    ----------
    reduced, full
        Scans without and with the ancestry terms (same features, rows and covariates otherwise); each
        holds ``beta``, ``sigma2``, ``sxx`` and ``df``.
    level
        Confidence level of the fraction's interval.

    Returns
    -------
    dict of numpy.ndarray
        The :data:`CHANGE_COLUMNS`.
    """
    s2 = full["sigma2"]
    with np.errstate(invalid="ignore", divide="ignore"):
        var_reduced = s2 / reduced["sxx"]
        var_change = s2 * (reduced["sxx"] - full["sxx"]) / (full["sxx"] * reduced["sxx"])
    return change_from_moments(
        reduced["beta"], full["beta"], var_change=var_change, var_reduced=var_reduced,
        cov_reduced_change=np.zeros_like(var_reduced), df=full["df"], level=level,
    )


def ols_change_sandwich(
    features: Any,
    *,
    y: np.ndarray,
    reduced: np.ndarray,
    full: np.ndarray,
    rows: np.ndarray | None = None,
    level: float = 0.95,
    block_bytes: int = BLOCK_BYTES // 4,
) -> dict[str, np.ndarray]:
    """The change in a least-squares coefficient, with regressors random: a stacked sandwich (HC1).

    :func:`ols_change` conditions on the design, so it asks whether the two coefficients differ *in
    this sample*: a feature unrelated to ancestry in the population, but correlated with the PCs by
    chance in the sample, transmits the PCs' effect on the phenotype and its change is "significant"
    (with a strong ancestry effect, nearly always). Whether the feature's effect is confounded by
    ancestry is a question about the population the samples are drawn from; here every sample's
    influence on both coefficients, ``u_i = r_i e_i / sxx`` (``r`` the feature and ``e`` the phenotype
    residualised in each model), gives ``Var(delta) = n / (n - k - 1) sum_i (u_Ri - u_Fi)^2``.

    Parameters
    ----------
    features
        Samples x features (numpy, torch or scipy sparse; NaN = missing).
    y
        Phenotype, complete over ``rows``.
    reduced, full
        Covariate matrices (intercept first) without and with the ancestry terms, complete over ``rows``.
    rows
        Boolean mask of the samples to use (default: all).
    level
        Confidence level of the fraction's interval.
    block_bytes
        Size of the feature blocks held in memory.

    Returns
    -------
    dict of numpy.ndarray
        ``beta_reduced``, ``beta_full`` and the :data:`CHANGE_COLUMNS` (t reference with the full model's
        residual degrees of freedom).
    """
    def make_fit(y_rows: np.ndarray, c_r: np.ndarray, c_f: np.ndarray) -> Callable:
        whole = _nested_bases(c_r, c_f, y_rows)

        def fit(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
            sums = column_sums(block)
            has_nan = np.isnan(sums)
            q_r, q_e, y_r, y_f = whole if mask.all() else _nested_bases(c_r[mask], c_f[mask], y_rows[mask])
            xc = block[:, ~has_nan] - sums[~has_nan] / block.shape[0]
            # q_e spans what the PCs add to the reduced covariates, orthogonal to q_r, so with a = q' x:
            # r_R = x - q_r a_r, r_F = r_R - q_e a_e, and y_M' r_M = y_M' x (y_M is residualised already)
            a = np.concatenate([q_r, q_e], axis=1).T @ xc
            a_r, a_e = a[: q_r.shape[1]], a[q_r.shape[1]:]
            xx = np.einsum("ij,ij->j", xc, xc)
            sxx_r = xx - np.einsum("ij,ij->j", a_r, a_r)
            sxx_f = sxx_r - np.einsum("ij,ij->j", a_e, a_e)
            r_r = xc - q_r @ a_r
            r_f = r_r - q_e @ a_e
            with np.errstate(invalid="ignore", divide="ignore"):
                b_r = (y_r @ xc) / sxx_r
                b_f = (y_f @ xc) / sxx_f
                u_r = r_r * (y_r[:, None] - r_r * b_r) / sxx_r
                u_f = r_f * (y_f[:, None] - r_f * b_f) / sxx_f
            n = xc.shape[0]
            df = n - q_r.shape[1] - q_e.shape[1] - 1
            out = _influence_moments(b_r, b_f, u_r, u_f, scale=n / df if df > 0 else np.nan)
            out["df"] = np.full(xc.shape[1], float(df))
            return with_nan_columns(out, has_nan)

        return fit

    return _nested_change(features, y=y, reduced=reduced, full=full, rows=rows, make_fit=make_fit, level=level,
                          block_bytes=block_bytes, t_reference=True)


def logistic_change(
    features: Any,
    *,
    y: np.ndarray,
    reduced: np.ndarray,
    full: np.ndarray,
    rows: np.ndarray | None = None,
    config: LogisticConfig = LogisticConfig(),
    thresholds: CollinearityThresholds = CollinearityThresholds(),
    level: float = 0.95,
    block_bytes: int = BLOCK_BYTES // 4,
) -> dict[str, np.ndarray]:
    """Sandwich test of the change in a logistic coefficient when the ancestry terms are added.

    Both models are fitted per feature (on each feature's own complete samples) and the variance of
    ``delta`` comes from the samples' influence on both coefficients. Features a plain maximum-likelihood
    fit does not settle (Firth refits, separation) get NaN.

    Parameters
    ----------
    features
        Samples x features (numpy, torch or scipy sparse; NaN = missing).
    y
        0/1 phenotype, complete over ``rows``.
    reduced, full
        Covariate matrices (intercept first) without and with the ancestry terms, complete over ``rows``.
    rows
        Boolean mask of the samples to use (default: all).
    config, thresholds
        Newton settings and collinearity limits, as in :func:`genolens.stats.logistic.logistic_scan`.
    level
        Confidence level of the fraction's interval.
    block_bytes
        Size of the feature blocks held in memory.

    Returns
    -------
    dict of numpy.ndarray
        ``beta_reduced``, ``beta_full`` and the :data:`CHANGE_COLUMNS`.
    """
    def make_fit(y_rows: np.ndarray, c_r: np.ndarray, c_f: np.ndarray) -> Callable:
        q_r, q_f = covariate_basis(c_r).q, covariate_basis(c_f).q

        def fit(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
            sums = column_sums(block)
            has_nan = np.isnan(sums)
            qr = q_r if mask.all() else covariate_basis(c_r[mask]).q
            qf = q_f if mask.all() else covariate_basis(c_f[mask]).q
            kept, s = block[:, ~has_nan], sums[~has_nan]
            res_r = logistic_block(y_rows[mask], qr, kept, s, config=config, thresholds=thresholds, influence=True)
            res_f = logistic_block(y_rows[mask], qf, kept, s, config=config, thresholds=thresholds, influence=True)
            out = _influence_moments(res_r["beta"], res_f["beta"], res_r["influence"], res_f["influence"], scale=1.0)
            return with_nan_columns(out, has_nan)

        return fit

    return _nested_change(features, y=y, reduced=reduced, full=full, rows=rows, make_fit=make_fit, level=level,
                          block_bytes=block_bytes, t_reference=False)


def _influence_moments(b_r: np.ndarray, b_f: np.ndarray, u_r: np.ndarray, u_f: np.ndarray, *,
                       scale: float) -> dict[str, np.ndarray]:
    """Per feature: both coefficients and ``Var(delta)``, ``Var(b_R)``, ``Cov(b_R, delta)`` from influences."""
    s_rr = np.einsum("ij,ij->j", u_r, u_r)
    s_ff = np.einsum("ij,ij->j", u_f, u_f)
    s_rf = np.einsum("ij,ij->j", u_r, u_f)
    return {
        "beta": b_f,
        "beta_reduced": b_r,
        "var_change": scale * (s_rr + s_ff - 2.0 * s_rf),
        "var_reduced": scale * s_rr,
        "cov_reduced_change": scale * (s_rr - s_rf),
    }


def _nested_bases(c_r: np.ndarray, c_f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Orthonormal bases of the reduced covariates and of what the full ones add, and ``y`` residualised on each."""
    q_r = covariate_basis(c_r).q
    extra = c_f - q_r @ (q_r.T @ c_f)
    u, s, _ = np.linalg.svd(extra, full_matrices=False)
    scale = max(float(s[0]) if s.size else 0.0, float(np.linalg.norm(c_f, 2)))
    q_e = np.ascontiguousarray(u[:, s > scale * max(c_f.shape) * np.finfo(float).eps])
    y_r = y - q_r @ (q_r.T @ y)
    return q_r, q_e, y_r, y_r - q_e @ (q_e.T @ y_r)


def _nested_change(features: Any, *, y: np.ndarray, reduced: np.ndarray, full: np.ndarray, rows: np.ndarray | None,
                   make_fit: Callable, level: float, block_bytes: int, t_reference: bool) -> dict[str, np.ndarray]:
    """Scan both nested models with ``make_fit(y, reduced, full)``'s block fit; test the change (t with the fits'
    ``df`` when ``t_reference``, else normal)."""
    rows = np.ones(features.shape[0], dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    y_rows = np.asarray(y, dtype=float)[rows]
    c_r, c_f = np.asarray(reduced, dtype=float)[rows], np.asarray(full, dtype=float)[rows]
    res = scan(features, fit_block=make_fit(y_rows, c_r, c_f), rows=rows, block_bytes=block_bytes)
    change = change_from_moments(
        res["beta_reduced"], res["beta"], var_change=res["var_change"], var_reduced=res["var_reduced"],
        cov_reduced_change=res["cov_reduced_change"], df=res["df"] if t_reference else None, level=level,
    )
    return {"beta_reduced": res["beta_reduced"], "beta_full": res["beta"], **change}
