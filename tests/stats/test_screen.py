"""Untestable features and effects per SD of the feature (genolens.stats.screen, associate, cis)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm

from genolens.errors import ConfigError
from genolens.stats.associate import AssociationConfig, associate
from genolens.stats.multiple_testing import bh_qvalues
from genolens.stats.screen import VariationThresholds, feature_spread

N = 200


def _features(rng: np.random.Generator) -> np.ndarray:
    """Columns: normal, float-noise constant, 3 samples away from the rest, exactly constant, all zero but 5."""
    x = np.column_stack([
        rng.normal(size=N),
        3.0 + 1e-9 * rng.normal(size=N),
        np.r_[np.ones(3), np.zeros(N - 3)],
        np.full(N, 2.0),
        np.r_[rng.uniform(1, 2, size=5), np.zeros(N - 5)],
    ])
    return x


def test_spread_reasons_sd_and_sparse_equal_dense():
    rng = np.random.default_rng(0)
    x = _features(rng)
    spread = feature_spread(x)
    assert list(spread.reason) == ["", "near_constant", "too_few_varying", "near_constant", ""]
    assert spread.sd[0] == pytest.approx(np.std(x[:, 0], ddof=1), rel=1e-12)
    assert list(spread.n_varying[[2, 4]]) == [3, 5]
    sparse = feature_spread(sp.csr_matrix(x))
    assert (sparse.reason == spread.reason).all()
    np.testing.assert_allclose(sparse.sd, spread.sd, rtol=1e-12)
    # rows restrict the samples: on the first 100 samples column 4 is still testable, column 0 too
    rows = np.zeros(N, dtype=bool)
    rows[:100] = True
    part = feature_spread(x, rows=rows)
    assert part.sd[0] == pytest.approx(np.std(x[:100, 0], ddof=1), rel=1e-12)
    # min_varying=0 keeps the three-sample column; NaNs are ignored per column
    assert feature_spread(x, thresholds=VariationThresholds(min_varying=0)).reason[2] == ""
    x[::7, 0] = np.nan
    assert feature_spread(x).sd[0] == pytest.approx(np.nanstd(x[:, 0], ddof=1), rel=1e-12)
    with pytest.raises(ConfigError):
        VariationThresholds(rel_sd=-1)


def test_associate_reports_effects_per_sd_and_does_not_fit_untestable_features():
    rng = np.random.default_rng(1)
    x = _features(rng)
    scale = np.array([1e-4, 1.0, 1.0, 1.0, 1.0])  # a real feature on a tiny scale: raw slope ~ 1e4
    x = x * scale
    obs = pd.DataFrame({"PC1": rng.normal(size=N), "age": rng.normal(size=N)},
                       index=[f"s{i}" for i in range(N)])
    obs["y"] = 0.5 * x[:, 0] / x[:, 0].std() + 0.3 * obs["PC1"] + rng.normal(size=N)
    adata = ad.AnnData(X=x, obs=obs)
    table = associate(adata, config=AssociationConfig(phenotype="y", covariates=("age",), pcs=("PC1",))).table
    design = sm.add_constant(obs[["age", "PC1"]].to_numpy())
    fit = sm.OLS(obs["y"].to_numpy(), np.column_stack([design, x[:, 0] / x[:, 0].std(ddof=1)])).fit()
    assert table["beta"][0] == pytest.approx(fit.params[-1], rel=1e-8)  # per SD of the feature
    assert table["se"][0] == pytest.approx(fit.bse[-1], rel=1e-8)
    assert table["beta_raw"][0] == pytest.approx(fit.params[-1] / x[:, 0].std(ddof=1), rel=1e-8)
    assert abs(table["beta_raw"][0]) > 1e3 and abs(table["beta"][0]) < 1.0
    assert table["beta"][0] == pytest.approx(0.5, abs=0.2)  # the planted effect per SD
    # near-constant and three-sample features: not fitted, categorised untestable, reason given
    for j, reason in ((1, "near_constant"), (2, "too_few_varying"), (3, "near_constant")):
        row = table.iloc[j]
        assert row["category"] == "untestable" and row["reason"] == reason
        assert np.isnan(row["beta"]) and np.isnan(row["pvalue"]) and np.isnan(row["qvalue"])
        assert np.isnan(row["beta_change"]) and np.isnan(row["ancestry_r2"])
    # q-values are BH over the testable features only
    testable = table["category"] != "untestable"
    np.testing.assert_allclose(table.loc[testable, "qvalue"], bh_qvalues(table.loc[testable, "pvalue"].to_numpy()))
    assert (table["beta"].abs().dropna() < 100).all()
    assert result_summary_counts(adata) == {"near_constant": 2, "too_few_varying": 1}


def result_summary_counts(adata: ad.AnnData) -> dict:
    return dict(adata.uns["association"]["n_features_untestable"])


def test_beta_change_is_per_sd_and_scale_free():
    """Rescaling a feature leaves every per-SD column and every test unchanged."""
    rng = np.random.default_rng(2)
    pc = rng.normal(size=N)
    x = np.column_stack([pc + rng.normal(size=N), rng.normal(size=N)])
    obs = pd.DataFrame({"PC1": pc, "y": x[:, 0] + pc + rng.normal(size=N)}, index=[f"s{i}" for i in range(N)])
    config = AssociationConfig(phenotype="y", pcs=("PC1",))
    a = associate(ad.AnnData(X=x, obs=obs.copy()), config=config).table
    b = associate(ad.AnnData(X=x * np.array([1e-3, 1e3]), obs=obs.copy()), config=config).table
    for col in ("beta", "se", "beta_unadjusted", "beta_change", "se_change", "pvalue", "pvalue_change",
                "fraction_explained"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-7, err_msg=col)
    np.testing.assert_allclose(b["beta_raw"], a["beta_raw"] / np.array([1e-3, 1e3]), rtol=1e-7)


def test_cis_effects_per_sd_rescale_effects_and_keep_the_tests():
    from genolens.stats.cis import CisConfig, cis_map, effects_per_sd

    rng = np.random.default_rng(5)
    x = rng.normal(size=(N, 4)) * np.array([1e-4, 1.0, 3.0, 1e3])
    pc = rng.normal(size=N)
    phen = pd.DataFrame({"g": x[:, 0] / 1e-4 * 0.4 + 0.5 * pc + rng.normal(size=N)})
    covs = np.column_stack([np.ones(N), pc])
    raw = cis_map(x, feature_names=["a", "b", "c", "d"], phenotypes=phen, groups={"g": np.arange(4)},
                  reduced=covs[:, :1], full=covs, config=CisConfig(n_permutations=50))
    sd = effects_per_sd(raw)
    row, r0 = sd.table.iloc[0], raw.table.iloc[0]
    assert row["feature_id"] == "a" and abs(r0["slope"]) > 1e3 and abs(row["slope"]) < 1.0
    assert row["slope_raw"] == r0["slope"] and row["slope"] == pytest.approx(r0["slope"] * x[:, 0].std(ddof=1))
    for col in ("beta_change", "se_change", "slope_unadjusted"):
        assert row[col] == pytest.approx(r0[col] * r0["feature_sd"])
    for col in ("pval_nominal", "pval_beta", "qval", "category", "fraction_explained"):
        assert row[col] == r0[col]
    np.testing.assert_allclose(sd.nominal["slope"], raw.nominal["slope"] * x.std(axis=0, ddof=1), rtol=1e-10)
