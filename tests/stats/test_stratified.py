"""Per-population tests and the feature x population interaction test."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import expit

from genolens.stats.associate import AssociationConfig
from genolens.stats.stratified import stratified_associations


def _data(binary: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 900
    pop = rng.choice(["AFR", "EAS", "EUR"], n)
    pc = np.column_stack([(pop == "AFR") + rng.normal(0, 0.3, n), (pop == "EAS") + rng.normal(0, 0.3, n)])
    age = rng.normal(50, 10, n)
    x = rng.normal(size=(n, 6))
    x[rng.random((n, 6)) < 0.04] = np.nan
    xf = np.nan_to_num(x)
    sign = np.where(pop == "AFR", 1.0, -1.0)
    only_eur = (pop == "EUR").astype(float)
    eta = 0.6 * xf[:, 0] * sign + 0.7 * xf[:, 1] * only_eur + 0.5 * xf[:, 2] + 0.01 * age
    y = (rng.random(n) < expit(eta)).astype(float) if binary else eta + rng.normal(size=n)
    obs = pd.DataFrame({"y": y, "age": age, "PC1": pc[:, 0], "PC2": pc[:, 1], "pop": pop})
    obs.index = [f"s{i}" for i in range(n)]
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=["flip", "eur_only", "shared", "n1", "n2", "n3"]))
    config = AssociationConfig(phenotype="y", covariates=("age",), pcs=("PC1", "PC2"), binary=binary)
    return adata, config


def _designs(adata, j):
    obs = adata.obs
    x = adata.X[:, j]
    keep = np.isfinite(x)
    dummies = pd.get_dummies(obs["pop"]).to_numpy(float)[keep]
    base = np.column_stack([np.ones(keep.sum()), obs.loc[keep, ["age", "PC1", "PC2"]].to_numpy(), dummies[:, 1:]])
    reduced = np.column_stack([base, x[keep]])
    full = np.column_stack([base, x[keep][:, None] * dummies])
    return obs["y"].to_numpy()[keep], reduced, full


def test_interaction_f_test_matches_statsmodels_and_patterns_are_named():
    adata, config = _data()
    res = stratified_associations(adata, config=config, stratify="pop")
    inter = res.interaction.set_index("feature")
    for j, name in enumerate(adata.var_names):
        y, reduced, full = _designs(adata, j)
        f_stat, p_value, df = sm.OLS(y, full).fit().compare_f_test(sm.OLS(y, reduced).fit())
        assert abs(inter.loc[name, "interaction_stat"] / f_stat - 1) < 1e-6
        assert abs(inter.loc[name, "interaction_pvalue"] / p_value - 1) < 1e-6
        assert inter.loc[name, "interaction_df"] == df
    assert inter.loc["flip", "effect_pattern"] == "flips"
    assert inter.loc["eur_only", "effect_pattern"] == "vanishes"
    assert inter.loc["shared", "effect_pattern"] == "consistent"
    assert inter.loc["flip", "beta_AFR"] > 0 > inter.loc["flip", "beta_EUR"]
    # per-stratum rows equal a plain OLS within the stratum
    per = res.per_stratum.set_index(["feature", "stratum"])
    obs = adata.obs
    keep = (obs["pop"] == "EAS").to_numpy() & np.isfinite(adata.X[:, 2])
    design = np.column_stack([np.ones(keep.sum()), obs.loc[keep, ["age", "PC1", "PC2"]], adata.X[keep, 2]])
    fit = sm.OLS(obs["y"].to_numpy()[keep], design).fit()
    assert abs(per.loc[("shared", "EAS"), "pvalue"] / fit.pvalues[-1] - 1) < 1e-6
    assert per.loc[("shared", "EAS"), "n"] == keep.sum()
    assert res.summary["strata"] == ["AFR", "EAS", "EUR"]


def test_interaction_likelihood_ratio_matches_statsmodels_for_binary():
    adata, config = _data(binary=True, seed=1)
    res = stratified_associations(adata, config=config, stratify="pop")
    inter = res.interaction.set_index("feature")
    for j in (0, 3):
        y, reduced, full = _designs(adata, j)
        lr = 2 * (sm.Logit(y, full).fit(disp=0).llf - sm.Logit(y, reduced).fit(disp=0).llf)
        assert abs(inter.iloc[j]["interaction_stat"] / lr - 1) < 1e-4
    assert inter.loc["flip", "effect_pattern"] == "flips"


def test_small_strata_are_skipped_and_reported():
    adata, config = _data()
    pops = adata.obs["pop"].to_numpy().copy()
    pops[:5] = "TINY"
    adata.obs["pop"] = pops
    res = stratified_associations(adata, config=config, stratify="pop", min_samples=20)
    assert "TINY" in res.summary["strata_skipped"]
    assert "TINY" not in set(res.per_stratum["stratum"])
