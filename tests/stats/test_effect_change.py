"""The test of the change in a feature's effect when ancestry terms are added (genolens.stats.effect_change).

References: statsmodels fits of both nested models with Clogg, Petkova & Haritou's formula written out
with explicit numpy matrices; a stacked-estimating-equation sandwich computed by hand from statsmodels
``Logit`` fits; Monte Carlo sampling distributions of the change with the design held fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from genolens.stats.effect_change import fieller_interval, logistic_change, ols_change, ols_change_sandwich
from genolens.stats.logistic import logistic_scan
from genolens.stats.ols import ols_scan


def nested_design(seed: int, n: int = 300, n_features: int = 6):
    """Covariates (intercept, age), 3 PCs, features with increasing PC loadings."""
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n)
    pcs = rng.normal(size=(n, 3))
    reduced = np.column_stack([np.ones(n), age])
    full = np.column_stack([reduced, pcs])
    load = np.linspace(0.0, 1.5, n_features)
    x = pcs[:, :1] * load + 0.3 * age[:, None] + rng.normal(size=(n, n_features))
    return rng, reduced, full, pcs, x


def test_ols_change_equals_clogg_formula_with_explicit_matrices():
    rng, reduced, full, pcs, x = nested_design(0)
    y = 0.4 * x[:, 2] + pcs @ np.array([0.8, -0.3, 0.2]) + rng.normal(size=len(x))
    x[5, 3] = np.nan  # a feature with its own missing sample
    change = ols_change(ols_scan(x, y=y, covariates=reduced), full=ols_scan(x, y=y, covariates=full))
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        x1 = np.column_stack([reduced[ok], x[ok, j]])
        xf = np.column_stack([full[ok], x[ok, j]])
        fit_r = sm.OLS(y[ok], x1).fit()
        fit_f = sm.OLS(y[ok], xf).fit()
        delta = fit_r.params[-1] - fit_f.params[-1]
        # Var(delta) = s_F^2 ([(X'X)^-1]_jj - [(X1'X1)^-1]_jj)
        var = fit_f.scale * (np.linalg.inv(xf.T @ xf)[-1, -1] - np.linalg.inv(x1.T @ x1)[-1, -1])
        # the same in Clogg et al.'s printed form: se_F^2 - se_R^2 s_F^2 / s_R^2
        clogg = fit_f.bse[-1] ** 2 - fit_r.bse[-1] ** 2 * fit_f.scale / fit_r.scale
        assert var == pytest.approx(clogg, rel=1e-8)
        assert change["beta_change"][j] == pytest.approx(delta, rel=1e-8, abs=1e-12)
        if j == 0:  # no PC loading at all: a tiny variance, still tested
            assert change["se_change"][j] < 0.2 * change["se_change"][-1]
        assert change["se_change"][j] == pytest.approx(np.sqrt(var), rel=1e-6)
        p = 2 * sps.t.sf(abs(delta) / np.sqrt(var), fit_f.df_resid)
        assert change["pvalue_change"][j] == pytest.approx(p, rel=1e-6)
        assert change["fraction_explained"][j] == pytest.approx(delta / fit_r.params[-1], rel=1e-8)


def test_ols_change_variance_matches_its_sampling_distribution():
    """Design fixed, phenotype redrawn from the full model 4,000 times: empirical Var(delta) = the formula."""
    rng, reduced, full, pcs, x = nested_design(1, n=200, n_features=4)
    draws = 4000
    mean = pcs @ np.array([0.6, 0.0, -0.4])  # every feature's full model holds (with its own effect 0)
    y = mean[:, None] + rng.normal(size=(len(x), draws))
    # delta is linear in y: delta = (c_R - c_F)' y, with c the rows of the two models' pseudo-inverses
    deltas, se = [], []
    for j in range(x.shape[1]):
        c_r = np.linalg.pinv(np.column_stack([reduced, x[:, j]]))[-1]
        c_f = np.linalg.pinv(np.column_stack([full, x[:, j]]))[-1]
        deltas.append((c_r - c_f) @ y)
    deltas = np.array(deltas)
    for d in range(0, draws, 500):  # the formula's se from a few of the draws
        change = ols_change(ols_scan(x, y=y[:, d], covariates=reduced), full=ols_scan(x, y=y[:, d], covariates=full))
        se.append(change["se_change"])
    empirical = deltas.std(axis=1)
    assert np.allclose(np.mean(se, axis=0), empirical, rtol=0.06)
    # b_R and delta are uncorrelated (Cov(b_R, b_F) = Var(b_R))
    b_r = np.array([np.linalg.pinv(np.column_stack([reduced, x[:, j]]))[-1] @ y for j in range(x.shape[1])])
    for j in range(1, x.shape[1]):
        assert abs(np.corrcoef(b_r[j], deltas[j])[0, 1]) < 0.05


def test_sandwich_calibrated_where_clogg_is_not_when_features_are_independent_of_ancestry():
    """Features independent of the PCs in the population, a strong ancestry effect on the phenotype.

    The sandwich test of the change (regressors random) gives uniform p-values; Clogg's test, which
    conditions on the design, flags nearly every feature: chance correlation with the PCs in the sample
    does carry the PCs' effect into the unadjusted coefficient.
    """
    rng = np.random.default_rng(2)
    n, f = 400, 2000
    pcs = rng.normal(size=(n, 2))
    reduced = np.ones((n, 1))
    full = np.column_stack([reduced, pcs])
    x = rng.normal(size=(n, f))
    y = 0.3 * x[:, 0] + pcs @ np.array([1.0, -0.5]) + rng.normal(size=n)
    robust = ols_change_sandwich(x, y=y, reduced=reduced, full=full)
    p = robust["pvalue_change"]
    assert sps.kstest(p, "uniform").pvalue > 0.001
    assert (robust["qvalue_change"] < 0.05).mean() <= 0.01
    clogg = ols_change(ols_scan(x, y=y, covariates=reduced), full=ols_scan(x, y=y, covariates=full))
    assert (clogg["pvalue_change"] < 0.05).mean() > 0.5
    assert np.allclose(robust["beta_change"], clogg["beta_change"], rtol=1e-8, atol=1e-12)


def test_ols_sandwich_equals_a_hand_computed_stacked_sandwich():
    rng, reduced, full, pcs, x = nested_design(5, n=250, n_features=4)
    y = 0.4 * x[:, 1] + pcs @ np.array([0.7, 0.0, 0.3]) + rng.normal(size=len(x))
    x[3, 0] = np.nan
    res = ols_change_sandwich(x, y=y, reduced=reduced, full=full)
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        u = []
        for cov in (reduced, full):
            d = np.column_stack([cov[ok], x[ok, j]])
            fit = sm.OLS(y[ok], d).fit()
            u.append((d * fit.resid[:, None]) @ np.linalg.inv(d.T @ d)[:, -1])
        n, k = ok.sum(), full.shape[1] + 1
        var = n / (n - k) * np.sum((u[0] - u[1]) ** 2)
        assert res["se_change"][j] == pytest.approx(np.sqrt(var), rel=1e-8)
        assert res["pvalue_change"][j] == pytest.approx(
            2 * sps.t.sf(abs(res["beta_change"][j]) / np.sqrt(var), n - k), rel=1e-6
        )


def stacked_sandwich(y, x1, x2):
    """Var(b_R - b_F) for the last column, from statsmodels Logit fits of both models and their scores."""
    fits = [sm.Logit(y, d).fit(disp=0, tol=1e-12, maxiter=200) for d in (x1, x2)]
    u = []
    for d, fit in zip((x1, x2), fits, strict=True):
        mu = fit.predict(d)
        info = d.T @ ((mu * (1 - mu))[:, None] * d)
        u.append((d * (y - mu)[:, None]) @ np.linalg.inv(info)[:, -1])
    diff = u[0] - u[1]
    return fits[0].params[-1] - fits[1].params[-1], diff @ diff, u[0] @ u[0], u[0] @ diff


def test_logistic_change_equals_a_hand_computed_stacked_sandwich():
    rng, reduced, full, pcs, x = nested_design(3, n=500, n_features=4)
    eta = -0.3 + 0.5 * x[:, 1] + pcs @ np.array([0.9, -0.4, 0.0])
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-eta))).astype(float)
    x[7, 2] = np.nan
    res = logistic_change(x, y=y, reduced=reduced, full=full)
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        delta, var, var_r, cov = stacked_sandwich(
            y[ok], np.column_stack([reduced[ok], x[ok, j]]), np.column_stack([full[ok], x[ok, j]])
        )
        assert res["beta_change"][j] == pytest.approx(delta, rel=1e-5, abs=1e-8)
        assert res["se_change"][j] == pytest.approx(np.sqrt(var), rel=1e-5)
        low, high = fieller_interval(delta, res["beta_reduced"][j], var_num=var, var_den=var_r, cov=cov, crit=1.96)
        assert res["fraction_explained_low"][j] == pytest.approx(low, rel=1e-3)
        assert res["fraction_explained_high"][j] == pytest.approx(high, rel=1e-3)
    # the betas are the scans' own
    full_scan = logistic_scan(x, y=y, covariates=full)
    assert np.allclose(res["beta_full"], full_scan["beta"], rtol=1e-6)


def test_logistic_change_se_matches_monte_carlo():
    """Design fixed, outcomes redrawn from the full model: the sandwich se is the spread of delta."""
    rng, reduced, full, pcs, x = nested_design(4, n=600, n_features=3)
    eta = 0.4 * x[:, 0] + pcs @ np.array([1.0, 0.0, 0.0])
    prob = 1 / (1 + np.exp(-eta))
    deltas, ses = [], []
    for _ in range(150):
        y = (rng.random(len(x)) < prob).astype(float)
        res = logistic_change(x, y=y, reduced=reduced, full=full)
        deltas.append(res["beta_change"])
        ses.append(res["se_change"])
    empirical = np.std(deltas, axis=0)
    assert np.allclose(np.mean(ses, axis=0)[1:], empirical[1:], rtol=0.15)


def test_fieller_interval_solves_its_quadratic_and_is_unbounded_for_a_null_denominator():
    num, den = np.array([0.3, 0.3]), np.array([1.0, 0.05])
    var_num, var_den, cov = np.array([0.01, 0.01]), np.array([0.04, 0.04]), np.array([0.002, 0.0])
    low, high = fieller_interval(num, den, var_num=var_num, var_den=var_den, cov=cov, crit=1.96)
    for f in (low[0], high[0]):
        lhs = (num[0] - f * den[0]) ** 2
        rhs = 1.96**2 * (var_num[0] - 2 * f * cov[0] + f * f * var_den[0])
        assert lhs == pytest.approx(rhs, rel=1e-9)
    assert low[0] < num[0] / den[0] < high[0]
    assert low[1] == -np.inf and high[1] == np.inf
