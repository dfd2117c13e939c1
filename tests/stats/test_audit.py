"""Embedding audit: a linear probe recovers population labels and PCs when (and only when) they leak."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genolens.errors import ConfigError
from genolens.stats.audit import AuditConfig, embedding_audit

FAST = AuditConfig(n_folds=3, n_permutations=9, n_bootstrap=200, seed=0)


@pytest.fixture(scope="module")
def leaky(genotypes) -> ad.AnnData:
    """Real 1000 Genomes super-populations and PCs; embeddings = noisy random mix of PC1-3 + noise dims."""
    rng = np.random.default_rng(0)
    pcs = genotypes.pcs.loc[genotypes.samples]
    keep = genotypes.panel.loc[genotypes.samples, "super_pop"].isin(["AFR", "EAS", "EUR"]).to_numpy()
    pcs = pcs[keep]
    z = pcs[["PC1", "PC2", "PC3"]].to_numpy() / pcs["PC1"].std()
    emb = np.column_stack(
        [z @ rng.normal(size=(3, 8)) + 0.5 * rng.normal(size=(len(z), 8)), rng.normal(size=(len(z), 8))]
    )
    obs = genotypes.panel.loc[pcs.index, ["super_pop"]].join(pcs[["PC1", "PC2", "PC4"]])
    adata = ad.AnnData(X=rng.normal(size=(len(z), 6)), obs=obs)
    adata.obsm["emb"] = emb
    return adata


def test_leaking_embedding_is_detected_with_intervals(leaky):
    result = embedding_audit(leaky, labels="super_pop", pcs=["PC1", "PC2"], use_rep="emb", config=FAST)
    table = result.table.set_index(["target", "metric"])
    acc = table.loc[("super_pop", "balanced_accuracy")]
    assert acc["score"] > 0.9 and acc["ci_low"] <= acc["score"] <= acc["ci_high"]
    assert acc["perm_pvalue"] == pytest.approx(1 / 10)  # better than every permutation
    assert acc["null_mean"] < 0.45
    assert table.loc[("PC1", "r2"), "score"] > 0.8
    assert result.summary["classes"] == leaky.obs["super_pop"].value_counts().to_dict()


def test_features_without_ancestry_score_at_chance(leaky):
    result = embedding_audit(leaky, labels="super_pop", pcs=["PC4"], config=FAST)  # X is pure noise
    table = result.table.set_index(["target", "metric"])
    bal = table.loc[("super_pop", "balanced_accuracy")]
    assert bal["score"] < 0.45 and bal["perm_pvalue"] > 0.05
    assert table.loc[("PC4", "r2"), "score"] < 0.05


def test_missing_labels_are_dropped_and_counted(leaky):
    adata = leaky.copy()
    labels = adata.obs["super_pop"].astype(object).to_numpy()
    labels[:7] = None
    adata.obs["super_pop"] = labels
    result = embedding_audit(adata, labels="super_pop", use_rep="emb", config=AuditConfig(3, 0, 0))
    assert result.summary["n_dropped_missing_label"] == 7


def test_audit_error_paths(leaky):
    with pytest.raises(ConfigError, match="nothing to audit"):
        embedding_audit(leaky)
    with pytest.raises(ConfigError, match="not found"):
        embedding_audit(leaky, labels="nope")
    with pytest.raises(ConfigError, match="not in obsm"):
        embedding_audit(leaky, labels="super_pop", use_rep="nope")
    with pytest.raises(ConfigError, match="PC columns"):
        embedding_audit(leaky, pcs=["PC9"])
    obs = pd.DataFrame({"lab": ["a"] * 10 + ["b"] * 2}, index=[f"s{i}" for i in range(12)])
    with pytest.raises(ConfigError, match="no feature varies enough"):
        embedding_audit(ad.AnnData(X=np.zeros((12, 2)), obs=obs), labels="lab", config=FAST)
    tiny = ad.AnnData(X=np.random.default_rng(0).normal(size=(12, 2)), obs=obs)
    with pytest.raises(ConfigError, match="fewer samples than"):
        embedding_audit(tiny, labels="lab", config=FAST)
    with pytest.raises(ConfigError, match="two classes"):
        embedding_audit(tiny[:10].copy(), labels="lab", config=FAST)


@pytest.mark.parametrize("kwargs", [{"n_folds": 1}, {"n_permutations": -1}, {"confidence": 1.0}, {"c": 0.0}])
def test_audit_config_is_validated(kwargs):
    with pytest.raises(ConfigError):
        AuditConfig(**kwargs)


def test_features_that_barely_vary_do_not_blow_up_the_probe():
    """Thousands of features, some non-zero in a single sample: R² of a PC stays a probability-like score."""
    rng = np.random.default_rng(4)
    n = 200
    pc = rng.normal(size=n)
    dense = np.outer(pc, rng.normal(size=40)) + rng.normal(size=(n, 40))
    rare = np.zeros((n, 300))
    rare[rng.integers(0, n, size=300), np.arange(300)] = rng.uniform(1, 5, size=300)  # one carrier each
    adata = ad.AnnData(X=np.hstack([dense, rare]), obs=pd.DataFrame({"PC1": pc}, index=[f"s{i}" for i in range(n)]))
    result = embedding_audit(adata, pcs=["PC1"], config=FAST)
    score = result.table.set_index("target").loc["PC1", "score"]
    assert 0.5 < score <= 1.0  # the 40 informative features read PC1; the 300 one-carrier ones are left out
    assert result.summary["n_features_probed"] == 40
    assert result.summary["n_features_untestable"] == {"too_few_varying": 300}
