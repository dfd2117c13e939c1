"""OLS scan against statsmodels, on real genotype-derived data and on random data with missing values."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
import torch

from genolens.stats.associate import AssociationConfig, associate
from genolens.stats.ols import ols_scan

RTOL = 1e-6


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def _raw(table):
    """The table's slopes per unit of the feature (statsmodels' scale) and its tests."""
    return {"beta": table["beta_raw"].to_numpy(), "se": table["se_raw"].to_numpy(),
            **{k: table[k].to_numpy() for k in ("pvalue", "stat", "n")}}


def _check_against_statsmodels(y, design, x, result, j):
    """Fit statsmodels on the complete cases of (y, design, x) and compare feature j's results."""
    keep = np.isfinite(y) & np.isfinite(design).all(axis=1) & np.isfinite(x)
    fit = sm.OLS(y[keep], np.column_stack([design[keep], x[keep]])).fit()
    assert result["n"][j] == keep.sum()
    assert _rel(result["beta"][j], fit.params[-1]) < RTOL
    assert _rel(result["se"][j], fit.bse[-1]) < RTOL
    assert _rel(result["pvalue"][j], fit.pvalues[-1]) < RTOL
    assert _rel(result["stat"][j], fit.tvalues[-1]) < RTOL


def test_random_data_with_covariates_and_missing_values_match_statsmodels():
    rng = np.random.default_rng(7)
    n, f = 400, 60
    obs = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "sex": rng.choice(["female", "male"], n),
            "batch": rng.choice(["a", "b", "c"], n),
            "bmi": rng.normal(25, 4, n),
        },
        index=[f"s{i}" for i in range(n)],
    )
    x = rng.normal(size=(n, f)) * rng.uniform(0.1, 10, f) + rng.uniform(-50, 50, f)
    x[:, 1] = 3.0 + 0.8 * obs["age"] / 10 + rng.normal(size=n)  # correlated with a covariate
    x[rng.random((n, f)) < 0.06] = np.nan  # each feature its own missingness pattern
    x[:, 5:10][rng.random(n) < 0.2] = np.nan  # a shared pattern across several features
    pc = rng.normal(size=(n, 3))
    obs[["PC1", "PC2", "PC3"]] = pc
    y = 0.03 * obs["age"].to_numpy() + 0.5 * np.nan_to_num(x[:, 0]) / x[:, 0][np.isfinite(x[:, 0])].std()
    y = y + pc @ [0.2, -0.1, 0.0] + rng.normal(size=n)
    y[rng.random(n) < 0.05] = np.nan
    obs["y"] = y
    obs.loc[obs.index[rng.random(n) < 0.04], "bmi"] = np.nan
    adata = ad.AnnData(X=x, obs=obs)
    config = AssociationConfig(phenotype="y", covariates=("age", "sex", "batch", "bmi"), pcs=("PC1", "PC2", "PC3"))
    result = associate(adata, config=config)
    table = result.table
    design = np.column_stack(
        [
            np.ones(n),
            obs["age"],
            (obs["sex"] == "male").astype(float),
            (obs["batch"] == "b").astype(float),
            (obs["batch"] == "c").astype(float),
            obs["bmi"],
            pc,
        ]
    )
    res = _raw(table)
    for j in range(f):
        _check_against_statsmodels(y, design, x[:, j], res, j)
    dropped = (~np.isfinite(y) | obs["bmi"].isna().to_numpy()).sum()
    assert result.summary["n_samples_dropped_missing"] == dropped
    assert result.summary["n_samples_used"] == n - dropped
    # without ancestry: the same, minus the PC columns
    unadj = table["pvalue_unadjusted"].to_numpy()
    for j in (0, 1, 7):
        keep = np.isfinite(y) & np.isfinite(design).all(axis=1) & np.isfinite(x[:, j])
        fit = sm.OLS(y[keep], np.column_stack([design[keep, :6], x[keep, j]])).fit()
        assert _rel(unadj[j], fit.pvalues[-1]) < RTOL


def test_real_genotypes_and_expression_match_statsmodels(genotypes, geuvadis):
    """Real cis-eQTL-like scan: GEUVADIS expression ~ study PCs + VCF PCs + chr22 SNV dosages."""
    samples = [s for s in geuvadis.index if s in set(genotypes.samples)]
    assert len(samples) == 344
    col = [genotypes.samples.index(s) for s in samples]
    dos = genotypes.dosages[:, col]
    freq = dos.mean(axis=1) / 2
    pick = np.flatnonzero((freq > 0.05) & (freq < 0.95))[::40][:80]
    x = dos[pick].T.astype(np.float64)
    rng = np.random.default_rng(3)
    x[rng.random(x.shape) < 0.03] = np.nan  # missing genotype calls
    gene = geuvadis.columns[0]
    obs = geuvadis.loc[samples, [gene, "geu_PC1", "geu_PC2", "geu_PC3"]].copy()
    obs = obs.join(genotypes.pcs.loc[samples, ["PC1", "PC2", "PC3", "PC4"]])
    adata = ad.AnnData(X=x, obs=obs)
    config = AssociationConfig(
        phenotype=gene, covariates=("geu_PC1", "geu_PC2", "geu_PC3"), pcs=("PC1", "PC2", "PC3", "PC4")
    )
    table = associate(adata, config=config).table
    design = np.column_stack([np.ones(len(samples)), obs.iloc[:, 1:].to_numpy()])
    y = obs[gene].to_numpy()
    res = _raw(table)
    assert np.isfinite(res["pvalue"]).all()
    for j in range(x.shape[1]):
        _check_against_statsmodels(y, design, x[:, j], res, j)


def test_zero_variance_and_collinear_features_get_na_and_reason():
    rng = np.random.default_rng(1)
    n = 200
    cov = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    x = np.column_stack(
        [
            rng.normal(size=n),
            np.full(n, 4.2),  # zero variance
            2.0 * cov[:, 1] - 1.0,  # exactly a covariate combination
            cov[:, 1] + 0.05 * rng.normal(size=n),  # |corr| ~0.9987 < 0.999 but VIF ~400 > 50
            cov[:, 1] + 1e-3 * rng.normal(size=n),  # |corr| > 0.999
            rng.normal(size=n),
        ]
    )
    y = rng.normal(size=n)
    res = ols_scan(x, y=y, covariates=cov)
    reasons = ["", "zero_variance", "collinear_with_covariates", "vif_too_high", "corr_too_high", ""]
    assert list(res["reason"]) == reasons
    assert np.isnan(res["pvalue"][1:5]).all()
    assert np.isfinite(res["pvalue"][[0, 5]]).all()


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_rank_deficient_covariates_match_statsmodels_pinv():
    rng = np.random.default_rng(2)
    n = 150
    c1 = rng.normal(size=n)
    cov = np.column_stack([np.ones(n), c1, 2 * c1])  # duplicated information
    x = rng.normal(size=(n, 3))
    y = c1 + x[:, 0] + rng.normal(size=n)
    res = ols_scan(x, y=y, covariates=cov)
    for j in range(3):
        fit = sm.OLS(y, np.column_stack([cov, x[:, j]])).fit()  # pinv; df_resid = n - rank
        assert _rel(res["beta"][j], fit.params[-1]) < RTOL
        assert _rel(res["se"][j], fit.bse[-1]) < RTOL
        assert _rel(res["pvalue"][j], fit.pvalues[-1]) < RTOL


def test_block_size_torch_and_sparse_inputs_give_identical_results():
    rng = np.random.default_rng(4)
    n, f = 120, 50
    cov = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    x = rng.normal(size=(n, f))
    x[rng.random((n, f)) < 0.05] = np.nan
    y = rng.normal(size=n)
    ref = ols_scan(x, y=y, covariates=cov)
    small = ols_scan(x, y=y, covariates=cov, block_bytes=1)  # several blocks, every pattern its own chunk
    from_torch = ols_scan(torch.tensor(x, dtype=torch.float64), y=y, covariates=cov)
    dense = rng.normal(size=(n, f)) * (rng.random((n, f)) < 0.3)
    from_sparse = ols_scan(sp.csr_matrix(dense), y=y, covariates=cov)
    from_dense = ols_scan(dense, y=y, covariates=cov)
    for key in ("beta", "se", "pvalue", "n"):
        np.testing.assert_allclose(small[key], ref[key], rtol=1e-12)
        np.testing.assert_allclose(from_torch[key], ref[key], rtol=1e-12)
        np.testing.assert_allclose(from_sparse[key], from_dense[key], rtol=1e-12)


def test_tiled_kernel_float32_views_and_wide_blocks_match_statsmodels():
    # more columns than one panel and more rows than one tile: every tiling edge of cross_products is crossed
    from genolens.stats.ols import _PANEL, cross_products

    rng = np.random.default_rng(8)
    n, f = 700, _PANEL + 37
    cov = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    x32 = (rng.normal(size=(n, f)) * rng.uniform(0.5, 3, f) + rng.uniform(-5, 5, f)).astype(np.float32)
    x32[rng.random(n) < 0.1, 3] = np.nan  # one column refitted on its own samples
    x64 = x32.astype(np.float64)  # exactly the same values
    y = 0.3 * x64[:, 0] + cov[:, 1] + rng.normal(size=n)
    proj = rng.normal(size=(n, 5))
    cross, squares = cross_products(proj, x64[:, 4:])
    np.testing.assert_allclose(cross, proj.T @ x64[:, 4:], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(squares, (x64[:, 4:] ** 2).sum(axis=0), rtol=1e-12)
    res32 = ols_scan(x32, y=y, covariates=cov)
    res64 = ols_scan(x64, y=y, covariates=cov)
    for key in ("beta", "se", "pvalue", "n"):
        np.testing.assert_allclose(res32[key], res64[key], rtol=1e-12)
    for j in (0, 3, 1000, f - 1):
        _check_against_statsmodels(y, cov, x64[:, j], res64, j)


def test_rows_subset_equals_fitting_the_subset():
    rng = np.random.default_rng(5)
    n = 100
    cov = np.column_stack([np.ones(n), rng.normal(size=n)])
    x = rng.normal(size=(n, 4))
    y = rng.normal(size=n)
    rows = rng.random(n) < 0.7
    sub = ols_scan(x, y=y, covariates=cov, rows=rows)
    direct = ols_scan(x[rows], y=y[rows], covariates=cov[rows])
    np.testing.assert_allclose(sub["pvalue"], direct["pvalue"], rtol=1e-12)


@pytest.mark.parametrize("mean", [1e3, 1e5])
def test_large_feature_means_keep_precision(mean):
    rng = np.random.default_rng(6)
    n = 300
    cov = np.column_stack([np.ones(n), rng.normal(size=n)])
    x = mean + rng.normal(size=(n, 2))
    y = x[:, 0] - mean + rng.normal(size=n)
    res = ols_scan(x, y=y, covariates=cov)
    for j in range(2):
        fit = sm.OLS(y, np.column_stack([cov, x[:, j]])).fit()
        assert _rel(res["se"][j], fit.bse[-1]) < RTOL
        assert _rel(res["beta"][j], fit.params[-1]) < RTOL
