"""Acceptance of the confound categories on planted truth: real 1000 Genomes samples and genotype PCs.

Each cohort is the 1,092 samples of the bundled VCF with their genotype PCs (computed by genolens). The
phenotype depends on an ancestry axis (a random combination of PC1..PC4) and on the features' own
direct factors. Features come in four kinds, half with a weak and half with a strong effect:

- ``direct``: a direct effect on the phenotype, no ancestry signal;
- ``ancestry``: tracks the phenotype's ancestry axis (ancestry R^2 0.05 or 0.3), no direct effect;
- ``both``: both of these;
- ``null``: neither (a third of them track PCs 5..8, which the phenotype does not depend on).

Direct effects are 0.15 (weak) or 0.25 (strong) phenotype units per feature SD, with random signs;
the ancestry axis moves the phenotype by 0.6 per SD; the residual SD is 1. The model adjusts for PC1..PC10.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from genolens.stats.associate import AssociationConfig, associate

KINDS = ("direct", "ancestry", "both", "null")
PER_KIND = 24
SEEDS = range(12)
TRUTH = {"biomarker_candidate": "direct", "ancestry_confounded": "ancestry", "both": "both"}


def planted_cohort(pcs: pd.DataFrame, seed: int) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    n = len(pcs)
    values = pcs.to_numpy()
    values = (values - values.mean(axis=0)) / values.std(axis=0)

    def axis(columns: slice) -> np.ndarray:
        a = values[:, columns] @ rng.normal(size=4)
        return (a - a.mean()) / a.std()

    ancestry = axis(slice(0, 4))
    y = 0.6 * ancestry + rng.normal(size=n)
    columns, kinds, strengths = [], [], []
    for kind in KINDS:
        for i in range(PER_KIND):
            strong = i % 2 == 0
            effect = (0.25 if strong else 0.15) * rng.choice([-1.0, 1.0])
            r2 = 0.3 if strong else 0.05
            load = np.sqrt(r2 / (1.0 - r2)) * rng.choice([-1.0, 1.0])
            z = rng.normal(size=n)
            x = z
            if kind in ("ancestry", "both"):
                x = load * ancestry + z
            if kind in ("direct", "both"):
                y = y + effect * z
            if kind == "null" and i % 3 == 0:
                x = load * axis(slice(4, 8)) + z  # ancestry the phenotype does not see
            columns.append(x)
            kinds.append(kind)
            strengths.append("strong" if strong else "weak")
    obs = pd.DataFrame({"y": y}, index=pcs.index).join(pcs)
    var = pd.DataFrame({"kind": kinds, "strength": strengths}, index=[f"{k}{i}" for i, k in enumerate(kinds)])
    return ad.AnnData(X=np.column_stack(columns), obs=obs, var=var)


@pytest.fixture(scope="module")
def planted(genotypes) -> tuple[pd.DataFrame, AssociationConfig]:
    config = AssociationConfig(phenotype="y", pcs=tuple(genotypes.pcs.columns))
    tables = []
    for seed in SEEDS:
        adata = planted_cohort(genotypes.pcs, seed)
        table = associate(adata, config=config).table
        tables.append(table.assign(kind=adata.var["kind"].to_numpy(), strength=adata.var["strength"].to_numpy(),
                                   seed=seed))
    return pd.concat(tables, ignore_index=True), config


def test_precision_of_each_call_pooled_over_seeds(planted):
    table, _ = planted
    for category, truth in TRUTH.items():
        called = table[table["category"] == category]
        assert len(called) >= 50, category
        precision = (called["kind"] == truth).mean()
        assert precision >= 0.9, (category, precision, called["kind"].value_counts().to_dict())


def test_features_with_both_signals_are_called_both(planted):
    table, _ = planted
    both = table[table["kind"] == "both"]
    assert (both["category"] == "both").mean() >= 0.8, both["category"].value_counts().to_dict()


def test_null_features_are_called_none(planted):
    table, _ = planted
    null = table[table["kind"] == "null"]
    assert (null["category"] != "none").mean() <= 0.05, null["category"].value_counts().to_dict()


def test_strong_signals_are_found(planted):
    table, _ = planted
    strong = table[table["strength"] == "strong"].groupby("kind")["category"]
    expected = {"direct": "biomarker_candidate", "ancestry": "ancestry_confounded", "both": "both"}
    for kind, category in expected.items():
        assert (strong.get_group(kind) == category).mean() >= 0.8, kind


def test_fraction_explained_covers_the_truth_for_confounded_features(planted):
    """For ``ancestry`` features the whole unadjusted effect is ancestry's: the interval covers 1 about 95%."""
    table, _ = planted
    anc = table[(table["kind"] == "ancestry") & (table["strength"] == "strong")]
    covered = (anc["fraction_explained_low"] <= 1.0) & (anc["fraction_explained_high"] >= 1.0)
    assert covered.mean() >= 0.9
    direct = table[(table["kind"] == "direct") & (table["strength"] == "strong")]
    covered = (direct["fraction_explained_low"] <= 0.0) & (direct["fraction_explained_high"] >= 0.0)
    assert covered.mean() >= 0.9


def test_no_calls_beyond_alpha_under_permuted_phenotypes(genotypes, planted):
    """Phenotype permuted: every call is false; runs with any call at or below alpha (binomial test)."""
    _, config = planted
    runs, with_calls, fraction = 40, 0, []
    for seed in range(runs):
        adata = planted_cohort(genotypes.pcs, 100 + seed)
        adata.obs["y"] = np.random.default_rng(seed).permutation(adata.obs["y"].to_numpy())
        called = (associate(adata, config=config).table["category"] != "none").to_numpy()
        with_calls += bool(called.any())
        fraction.append(called.mean())
    assert max(fraction) <= 0.05
    assert sps.binomtest(with_calls, runs, 0.05, alternative="greater").pvalue > 0.01, with_calls
