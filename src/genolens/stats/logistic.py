"""Logistic regression for every feature at once, with Firth's correction as fallback.

All features share the covariates, so Newton (IRLS) steps are batched: each
iteration builds every feature's (k+1) x (k+1) information matrix from a few
matrix products and solves them together. The first iterations freeze the
covariate block of the information matrix at the covariates-only fit (cheap:
O(n k) per feature instead of O(n k^2)); with the exact gradient their fixed
point is still the exact maximum-likelihood estimate, and features this does
not settle quickly restart under full Newton. Standard errors always come
from the exact information matrix at the estimate. The covariates enter through an
orthonormal basis of their column space: that reparametrisation leaves the
feature's coefficient, its standard error and the likelihood unchanged (so
results equal statsmodels ``Logit``) while keeping the Newton systems well
conditioned. Features whose plain fit does not converge, or that show
separation (fitted probabilities at 0 or 1), are refitted with Firth's
penalised likelihood, as PLINK 2's ``firth-fallback`` does; the ``method``
column says which fit each feature got. Firth p-values are Wald tests on the
penalised fit's information matrix (as PLINK 2 reports them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.special import expit

from genolens.errors import ConfigError
from genolens.stats.design import CollinearityThresholds
from genolens.stats.ols import covariate_basis
from genolens.stats.scan import BLOCK_BYTES, column_sums, scan, with_nan_columns

_TINY = 1e-10
# A fitted probability this close to 0 or 1 is taken as a sign of separation.
_SEPARATION_EPS = 1e-10


@dataclass(frozen=True)
class LogisticConfig:
    """Newton settings and the Firth fallback switch."""

    max_iter: int = 50
    tol: float = 1e-10
    firth_fallback: bool = True

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ConfigError(f"max_iter must be >= 1, got {self.max_iter}")
        if not self.tol > 0:
            raise ConfigError(f"tol must be > 0, got {self.tol}")


def fit_single(
    x: np.ndarray, *, y: np.ndarray, firth: bool, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """One logistic fit by Newton with step halving; Firth-penalised when ``firth``.

    Returns (coefficients, covariance, log-likelihood (penalised if Firth), converged).
    """
    n, k = x.shape
    beta = np.zeros(k)

    def objective(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        eta = x @ b
        mu = expit(eta)
        w = mu * (1.0 - mu)
        info = x.T @ (w[:, None] * x)
        ll = float((y * eta - np.logaddexp(0.0, eta)).sum())
        if firth:
            sign, logdet = np.linalg.slogdet(info)
            ll += 0.5 * logdet if sign > 0 else -np.inf
        return ll, mu, w, info

    ll, mu, w, info = objective(beta)
    converged = False
    for _ in range(max_iter):
        try:
            inv = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            break
        resid = y - mu
        if firth:
            h = w * np.einsum("ij,jk,ik->i", x, inv, x)
            resid = resid + h * (0.5 - mu)
        step = inv @ (x.T @ resid)
        biggest = np.abs(step).max()
        if biggest > 5.0:  # cap wild first steps, as logistf does
            step *= 5.0 / biggest
        for _ in range(30):
            new_ll, new_mu, new_w, new_info = objective(beta + step)
            if new_ll >= ll - 1e-12 * abs(ll):
                break
            step /= 2.0
        beta = beta + step
        ll, mu, w, info = new_ll, new_mu, new_w, new_info
        if np.abs(step).max() < tol:
            converged = True
            break
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    return beta, cov, ll, converged


def _info_batch(
    q: np.ndarray,
    pairs: np.ndarray | None,
    iu: tuple[np.ndarray, np.ndarray],
    x: np.ndarray,
    w: np.ndarray,
    *,
    info_cc: np.ndarray | None = None,
) -> np.ndarray:
    """Information matrices (f x (k+1) x (k+1)) of designs [q, x_j] with weights w[:, j].

    With ``info_cc`` the covariate block is that fixed matrix instead of being
    recomputed per feature from ``pairs`` (the products of q's column pairs).
    """
    k = q.shape[1]
    f = x.shape[1]
    info = np.empty((f, k + 1, k + 1))
    if info_cc is not None:
        info[:, :k, :k] = info_cc
    else:
        flat = w.T @ pairs
        info[:, iu[0], iu[1]] = flat
        info[:, iu[1], iu[0]] = flat
    wx = w * x
    cross = (q.T @ wx).T
    info[:, :k, k] = cross
    info[:, k, :k] = cross
    info[:, k, k] = np.einsum("ij,ij->j", wx, x)
    return info


def _solve_each(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve a batch of systems; rows whose matrix is singular come back NaN and flagged."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0], np.ones(len(a), dtype=bool)
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        ok = np.zeros(len(a), dtype=bool)
        for i in range(len(a)):
            try:
                out[i] = np.linalg.solve(a[i], b[i])
                ok[i] = True
            except np.linalg.LinAlgError:
                pass
        return out, ok


def logistic_block(
    y: np.ndarray,
    q: np.ndarray,
    block: np.ndarray,
    sums: np.ndarray,
    *,
    config: LogisticConfig = LogisticConfig(),
    thresholds: CollinearityThresholds = CollinearityThresholds(),
    influence: bool = False,
) -> dict[str, np.ndarray]:
    """Wald tests of each column of the centred ``block`` in ``y ~ q + feature``.

    ``q`` is an orthonormal basis of the covariates (intercept included, so
    centring the feature changes none of its results); ``sums`` holds the
    columns' sums. With ``influence``, ``out["influence"]`` (samples x
    features) holds each sample's influence on the feature's coefficient,
    ``e_x' I^-1 x_i (y_i - mu_i)`` (NaN for features not fitted by plain
    maximum likelihood): sums of its products give sandwich (co)variances.
    """
    n, f = block.shape
    k = q.shape[1]
    scale = np.sqrt(n)
    qs = q * scale  # O(1) entries: better-conditioned information matrices
    reason = np.full(f, "", dtype=object)
    mean = sums / n
    block = block - mean  # centred: better-conditioned Newton systems, same feature results
    xc = block
    xx = np.einsum("ij,ij->j", xc, xc)
    qtx = q.T @ xc
    sxx = xx - np.einsum("ij,ij->j", qtx, qtx)
    zero_var = xx <= _TINY * _TINY * np.maximum(np.abs(mean), 1.0) ** 2 * n
    collinear = ~zero_var & (sxx <= _TINY * xx)
    with np.errstate(divide="ignore", invalid="ignore"):
        vif = np.where(zero_var | collinear, np.inf, xx / sxx)
    reason[vif > thresholds.vif] = "vif_too_high"
    reason[collinear] = "collinear_with_covariates"
    reason[zero_var] = "zero_variance"
    if n - k - 1 <= 0:
        reason[:] = "too_few_samples"

    # covariates-only fit gives every feature's starting point
    beta0, _, _, _ = fit_single(qs, y=y, firth=False)
    iu = np.triu_indices(k)
    pairs = qs[:, iu[0]] * qs[:, iu[1]]
    mu0 = expit(qs @ beta0)
    info_cc0 = qs.T @ ((mu0 * (1.0 - mu0))[:, None] * qs)
    bq = np.tile(beta0, (f, 1))
    bx = np.zeros(f)
    converged = np.zeros(f, dtype=bool)
    failed = reason != ""

    def iterate(active: np.ndarray, max_iter: int, *, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """Newton steps for ``active`` features; returns (unconverged, diverged) features."""
        diverged = np.zeros(0, dtype=np.intp)
        for _ in range(max_iter):
            if active.size == 0:
                break
            xa = block if active.size == f else block[:, active]
            mu = qs @ bq[active].T
            mu += xa * bx[active]
            expit(mu, out=mu)  # in place: these n x f temporaries dominate the cost
            r = np.subtract(y[:, None], mu)
            w = np.subtract(1.0, mu, out=mu)
            w *= y[:, None] - r  # w = mu (1 - mu), with mu = y - r
            grad = np.concatenate([(qs.T @ r).T, np.einsum("ij,ij->j", xa, r)[:, None]], axis=1)
            # inexact: covariate block frozen at the null fit, O(n k) per feature instead of O(n k^2)
            info = _info_batch(qs, pairs if exact else None, iu, xa, w, info_cc=None if exact else info_cc0)
            step, ok = _solve_each(info, grad)
            step[~ok] = 0.0
            bq[active] += step[:, :k]
            bx[active] += step[:, k]
            biggest = np.abs(step).max(axis=1)
            converged[active[(biggest < config.tol) & ok]] = True
            if exact:
                failed[active[~ok]] = True
            else:  # stalled or diverging features go on under exact Newton
                wild = ~ok | ~np.isfinite(biggest) | (biggest >= 1.0)
                diverged = np.concatenate([diverged, active[wild]])
                biggest[wild] = 0.0
            active = active[(biggest >= config.tol) & ok]
        return active, diverged

    # The cheap iteration's fixed point is the exact maximum-likelihood estimate (its gradient
    # is exact); it converges linearly, so after a few steps exact Newton finishes the job.
    slow, wild = iterate(np.flatnonzero(~failed), min(config.max_iter, 8), exact=False)
    bq[wild] = beta0
    bx[wild] = 0.0
    iterate(np.union1d(slow, wild), config.max_iter, exact=True)
    fitted = np.flatnonzero(converged)
    beta = np.full(f, np.nan)
    se = np.full(f, np.nan)
    separated = np.zeros(f, dtype=bool)
    if fitted.size:
        xa = block[:, fitted]
        eta = qs @ bq[fitted].T + xa * bx[fitted]
        mu = expit(eta)
        separated[fitted] = (np.minimum(mu, 1.0 - mu) < _SEPARATION_EPS).any(axis=0)
        info = _info_batch(qs, pairs, iu, xa, mu * (1.0 - mu))
        unit = np.zeros((fitted.size, k + 1))
        unit[:, k] = 1.0
        col, ok = _solve_each(info, unit)
        beta[fitted] = bx[fitted]
        se[fitted] = np.sqrt(col[:, k])
        failed[fitted[~ok]] = True
        if influence:
            infl = np.full((n, f), np.nan)
            infl[:, fitted] = (qs @ col[:, :k].T + xa * col[:, k]) * (y[:, None] - mu)
    method = np.where(converged & ~separated & ~failed, "logistic", "").astype(object)
    retry = np.flatnonzero((reason == "") & (method == ""))
    for j in retry:
        if not config.firth_fallback:
            reason[j] = "separation" if separated[j] else "not_converged"
            continue
        b, cov, _, ok = fit_single(np.column_stack([qs, block[:, j]]), y=y, firth=True, max_iter=config.max_iter * 2)
        if ok and np.isfinite(cov[k, k]) and cov[k, k] > 0:
            beta[j], se[j], method[j] = b[k], np.sqrt(cov[k, k]), "firth"
        else:
            reason[j] = "firth_not_converged"
    bad = reason != ""
    beta[bad] = np.nan
    se[bad] = np.nan
    stat = beta / se
    pvalue = 2.0 * sps.norm.sf(np.abs(stat))
    out = {
        "beta": beta,
        "se": se,
        "stat": stat,
        "pvalue": pvalue,
        "n": np.full(f, float(n)),
        "df": np.full(f, np.nan),
        "reason": reason,
        "method": method,
    }
    if influence:
        if not fitted.size:
            infl = np.full((n, f), np.nan)
        infl[:, method != "logistic"] = np.nan
        out["influence"] = infl
    return out


def logistic_scan(
    features: Any,
    *,
    y: np.ndarray,
    covariates: np.ndarray,
    rows: np.ndarray | None = None,
    config: LogisticConfig = LogisticConfig(),
    thresholds: CollinearityThresholds = CollinearityThresholds(),
    block_bytes: int = BLOCK_BYTES // 4,
) -> dict[str, np.ndarray]:
    """Fit logistic ``y ~ covariates + feature`` for every column of ``features``.

    ``y`` holds 0/1 and, with ``covariates`` (intercept included), is complete
    over ``rows``. Features' own NaN samples are dropped per feature. Returns the
    same fields as :func:`genolens.stats.ols.ols_scan`; ``method`` is
    ``logistic`` or ``firth``.
    """
    n_total = features.shape[0]
    rows = np.ones(n_total, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    y_rows = np.asarray(y, dtype=float)[rows]
    c_rows = np.asarray(covariates, dtype=float)[rows]
    full_q = covariate_basis(c_rows).q

    def fit(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
        sums = column_sums(block)
        has_nan = np.isnan(sums)
        q = full_q if mask.all() else covariate_basis(c_rows[mask]).q
        out = logistic_block(y_rows[mask], q, block[:, ~has_nan], sums[~has_nan], config=config, thresholds=thresholds)
        return with_nan_columns(out, has_nan)

    return scan(features, fit_block=fit, rows=rows, block_bytes=block_bytes)
