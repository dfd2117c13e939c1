"""Confound calls with power, on planted truth over real 1000 Genomes samples and their genotype PCs (issue #32).

Each cohort is 1,000 of the bundled VCF's 1,092 samples with their genotype PCs. The phenotype depends on an
ancestry axis (a random combination of PC1..PC4, 0.3 per SD) and on direct effects. Features, 24 of each kind:

- ``ancestry``: tracks the axis with loading 0.3-0.8, no direct effect (ancestry explains all of its effect);
- ``direct``: a direct effect of 0.10-0.25 per SD, no ancestry;
- ``mixture``: both, the direct effect on the feature's own (non-ancestry) part; ancestry's true share of the
  unadjusted effect is known from the parameters;
- ``null``: neither (a third track PCs 5..8, which the phenotype does not see).

The acceptance (issue #32): ``ancestry_confounded`` calls are right (ancestry explains at least half of the
unadjusted effect) at least 90% of the time, ``biomarker_candidate`` calls have a real direct effect at least 90%
of the time, and at least 60% of the pure confounds whose unadjusted effect is significant are called
``ancestry_confounded``. Measured (6 seeds, 576 features): precision 1.00 (0.91 counting only pure confounds as
right), 96% for biomarker candidates, 72% of the significant pure confounds called; the earlier rule (the lower
confidence bound of the share at least 0.5) called 30% of them.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genolens.stats.associate import AssociationConfig, associate

LOADINGS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
ANCESTRY_EFFECT = 0.3
SEEDS = range(6)


def planted_cohort(pcs: pd.DataFrame, seed: int, n: int = 1000) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    chosen = pcs.iloc[rng.choice(len(pcs), n, replace=False)]
    values = chosen.to_numpy()
    values = (values - values.mean(0)) / values.std(0)

    def axis(columns: slice) -> np.ndarray:
        a = values[:, columns] @ rng.normal(size=4)
        return (a - a.mean()) / a.std()

    ancestry = axis(slice(0, 4))
    y = ANCESTRY_EFFECT * ancestry + rng.normal(size=n)
    columns, rows = [], []
    for i in range(24):
        load = LOADINGS[i % 6] * rng.choice([-1.0, 1.0])
        columns.append(load * ancestry + np.sqrt(1 - load**2) * rng.normal(size=n))
        rows.append(("ancestry", 0.0, 1.0))
    for i in range(24):
        effect = (0.1 + 0.05 * (i % 4)) * rng.choice([-1.0, 1.0])
        z = rng.normal(size=n)
        y = y + effect * z
        columns.append(z)
        rows.append(("direct", abs(effect), 0.0))
    for i in range(24):
        load = LOADINGS[i % 6] * rng.choice([-1.0, 1.0])
        effect = (0.1 + 0.05 * (i % 4)) * rng.choice([-1.0, 1.0])
        own = rng.normal(size=n)
        y = y + effect * own
        columns.append(load * ancestry + np.sqrt(1 - load**2) * own)
        through_ancestry = load * ANCESTRY_EFFECT
        rows.append(("mixture", abs(effect), through_ancestry / (through_ancestry + np.sqrt(1 - load**2) * effect)))
    for i in range(24):
        x = rng.normal(size=n)
        if i % 3 == 0:
            load = LOADINGS[i % 6]
            x = load * axis(slice(4, 8)) + np.sqrt(1 - load**2) * x
        columns.append(x)
        rows.append(("null", 0.0, np.nan))
    obs = pd.DataFrame({"y": y}, index=chosen.index).join(chosen)
    var = pd.DataFrame(rows, columns=["kind", "direct", "share"], index=[f"f{i}" for i in range(len(rows))])
    return ad.AnnData(X=np.column_stack(columns), obs=obs, var=var)


@pytest.fixture(scope="module")
def planted(genotypes) -> pd.DataFrame:
    config = AssociationConfig(phenotype="y", pcs=tuple(genotypes.pcs.columns))
    tables = []
    for seed in SEEDS:
        adata = planted_cohort(genotypes.pcs, seed)
        table = associate(adata, config=config).table
        tables.append(table.assign(**{c: adata.var[c].to_numpy() for c in ("kind", "direct", "share")}, seed=seed))
    return pd.concat(tables, ignore_index=True)


def test_confound_calls_are_right_and_find_most_confounds(planted):
    called = planted[planted["category"] == "ancestry_confounded"]
    right = (called["kind"] == "ancestry") | ((called["kind"] == "mixture") & (called["share"] >= 0.5))
    pure = planted[(planted["kind"] == "ancestry") & (planted["qvalue_unadjusted"] < 0.05)]
    found = (pure["category"] == "ancestry_confounded").mean()
    print(f"ancestry_confounded: {len(called)} calls, precision {right.mean():.3f} (pure confounds only "
          f"{(called['kind'] == 'ancestry').mean():.3f}); {found:.3f} of {len(pure)} significant pure confounds called")
    assert len(called) >= 50 and right.mean() >= 0.9
    assert len(pure) >= 50 and found >= 0.6


def test_biomarker_candidates_have_a_direct_effect(planted):
    called = planted[planted["category"] == "biomarker_candidate"]
    print(f"biomarker_candidate: {len(called)} calls, {(called['direct'] > 0).mean():.3f} with a direct effect")
    assert len(called) >= 50 and (called["direct"] > 0).mean() >= 0.9


def test_unresolved_features_say_why(planted):
    unresolved = planted[planted["category"] == "unresolved"]
    assert len(unresolved) and (unresolved["reason"].str.len() > 0).all()
    assert unresolved["reason"].str.match(
        r"(change not significant|the adjusted effect is larger|ancestry explains|ancestry's share)").all()
    assert (planted.loc[planted["category"].isin(["biomarker_candidate", "none"]), "reason"] == "").all()
