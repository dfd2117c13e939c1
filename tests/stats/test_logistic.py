"""Batched logistic scan against statsmodels Logit; Firth fallback against a direct optimisation."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.optimize import minimize
from scipy.special import expit

from genolens.errors import ConfigError
from genolens.stats.associate import AssociationConfig, associate
from genolens.stats.logistic import LogisticConfig, fit_single, logistic_scan

RTOL = 1e-4


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def _logit(y, design, x):
    keep = np.isfinite(y) & np.isfinite(design).all(axis=1) & np.isfinite(x)
    fit = sm.Logit(y[keep], np.column_stack([design[keep], x[keep]])).fit(disp=0, tol=1e-12, maxiter=200)
    return fit, int(keep.sum())


def test_random_data_with_missing_values_match_statsmodels():
    rng = np.random.default_rng(11)
    n, f = 500, 30
    cov = np.column_stack([np.ones(n), rng.normal(size=(n, 3)), rng.integers(0, 2, n)])
    x = rng.normal(size=(n, f)) * rng.uniform(0.5, 5, f) + rng.uniform(-3, 3, f)
    x[rng.random((n, f)) < 0.05] = np.nan
    eta = cov @ [-0.3, 0.5, -0.4, 0.2, 0.6] + 0.4 * np.nan_to_num(x[:, 0])
    y = (rng.random(n) < expit(eta)).astype(float)
    res = logistic_scan(x, y=y, covariates=cov)
    assert set(res["method"]) == {"logistic"}
    for j in range(f):
        fit, n_used = _logit(y, cov, x[:, j])
        assert res["n"][j] == n_used
        assert _rel(res["beta"][j], fit.params[-1]) < RTOL
        assert _rel(res["se"][j], fit.bse[-1]) < RTOL
        assert _rel(res["pvalue"][j], fit.pvalues[-1]) < RTOL


def test_real_genotypes_sex_phenotype_match_statsmodels(genotypes):
    """Real data: sex (from the panel) ~ genotype PCs + chr22 SNV dosages, with missing calls."""
    panel = genotypes.panel.loc[genotypes.samples]
    y = (panel["gender"] == "male").to_numpy(dtype=float)
    freq = genotypes.dosages.mean(axis=1) / 2
    pick = np.flatnonzero((freq > 0.05) & (freq < 0.95))[::90][:30]
    x = genotypes.dosages[pick].T.astype(np.float64)
    rng = np.random.default_rng(5)
    x[rng.random(x.shape) < 0.02] = np.nan
    obs = genotypes.pcs[["PC1", "PC2", "PC3"]].copy()
    obs["male"] = y
    adata = ad.AnnData(X=x, obs=obs)
    config = AssociationConfig(phenotype="male", pcs=("PC1", "PC2", "PC3"), binary=True)
    table = associate(adata, config=config).table
    design = np.column_stack([np.ones(len(y)), obs[["PC1", "PC2", "PC3"]].to_numpy()])
    assert (table["method"] == "logistic").all()
    for j in range(x.shape[1]):
        fit, n_used = _logit(y, design, x[:, j])
        assert table["n"][j] == n_used
        assert _rel(table["beta_raw"][j], fit.params[-1]) < RTOL
        assert _rel(table["se_raw"][j], fit.bse[-1]) < RTOL
        assert _rel(table["pvalue"][j], fit.pvalues[-1]) < RTOL


def _firth_reference(y, design):
    """Firth estimate by direct maximisation of the penalised log-likelihood (independent of Newton)."""

    def objective(b):
        eta = design @ b
        mu = expit(eta)
        info = design.T @ ((mu * (1 - mu))[:, None] * design)
        sign, logdet = np.linalg.slogdet(info)
        return -((y * eta - np.logaddexp(0, eta)).sum() + 0.5 * logdet)

    return minimize(objective, np.zeros(design.shape[1]), method="BFGS", options={"gtol": 1e-10}).x


def test_separated_feature_falls_back_to_firth():
    rng = np.random.default_rng(3)
    n = 200
    cov = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < 0.4).astype(float)
    separated = np.where(y == 1, rng.uniform(1, 2, n), rng.uniform(-2, 0, n))  # complete separation
    quasi = np.where(y == 1, 1.0, rng.integers(0, 2, n).astype(float))  # x = 1 in every case
    ordinary = rng.normal(size=n)
    x = np.column_stack([separated, quasi, ordinary])
    res = logistic_scan(x, y=y, covariates=cov)
    assert list(res["method"]) == ["firth", "firth", "logistic"]
    assert np.isfinite(res["beta"]).all() and np.isfinite(res["se"]).all()
    for j in (0, 1):
        ref = _firth_reference(y, np.column_stack([cov, x[:, j] - x[:, j].mean()]))
        assert _rel(res["beta"][j], ref[-1]) < 1e-4


def test_firth_disabled_reports_the_failure():
    rng = np.random.default_rng(3)
    n = 100
    cov = np.ones((n, 1))
    y = (rng.random(n) < 0.5).astype(float)
    x = np.column_stack([y + rng.uniform(0, 0.5, n), rng.normal(size=n)])
    res = logistic_scan(x, y=y, covariates=cov, config=LogisticConfig(firth_fallback=False))
    assert res["reason"][0] in {"separation", "not_converged"}
    assert np.isnan(res["pvalue"][0]) and np.isfinite(res["pvalue"][1])


def test_firth_on_unseparated_data_is_close_to_plain_fit():
    rng = np.random.default_rng(9)
    n = 2000
    xx = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < expit(xx @ [0.2, 0.7])).astype(float)
    plain, _, _, ok1 = fit_single(xx, y=y, firth=False)
    firth, _, _, ok2 = fit_single(xx, y=y, firth=True)
    ref = sm.Logit(y, xx).fit(disp=0).params
    assert ok1 and ok2
    np.testing.assert_allclose(plain, ref, rtol=1e-6)
    assert np.abs(firth - plain).max() < 0.01  # the penalty is O(1/n)


def test_zero_variance_feature_is_na_not_a_crash():
    rng = np.random.default_rng(0)
    n = 80
    y = (rng.random(n) < 0.5).astype(float)
    res = logistic_scan(np.column_stack([np.ones(n), rng.normal(size=n)]), y=y, covariates=np.ones((n, 1)))
    assert res["reason"][0] == "zero_variance" and np.isnan(res["pvalue"][0])
    assert np.isfinite(res["pvalue"][1])


def test_binary_phenotype_must_be_coded_zero_one():
    obs = pd.DataFrame({"y": [0, 1, 2, 1] * 5, "PC1": np.arange(20.0)}, index=[f"s{i}" for i in range(20)])
    adata = ad.AnnData(X=np.random.default_rng(0).normal(size=(20, 2)), obs=obs)
    with pytest.raises(ConfigError, match="0/1"):
        associate(adata, config=AssociationConfig(phenotype="y", pcs=("PC1",), binary=True))


@pytest.mark.parametrize("kwargs", [{"max_iter": 0}, {"tol": 0.0}])
def test_logistic_config_is_validated(kwargs):
    with pytest.raises(ConfigError):
        LogisticConfig(**kwargs)


def test_strong_effects_finish_under_exact_newton_and_match_statsmodels():
    """Large effects make the cheap frozen-Hessian steps slow; exact Newton must take over correctly."""
    rng = np.random.default_rng(2)
    n = 600
    cov = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    x = rng.normal(size=(n, 6))
    x[:, 1] *= 3
    y = (rng.random(n) < expit(cov @ [0.3, 1.0, -1.0] + 2.5 * x[:, 0] + 1.5 * x[:, 1])).astype(float)
    res = logistic_scan(x, y=y, covariates=cov, config=LogisticConfig(max_iter=50))
    assert set(res["method"]) == {"logistic"}
    for j in range(x.shape[1]):
        fit, _ = _logit(y, cov, x[:, j])
        assert _rel(res["beta"][j], fit.params[-1]) < RTOL
        assert _rel(res["se"][j], fit.bse[-1]) < RTOL
