"""Acceptance: a stratified simulation separates the causal feature from ancestry-tracking ones.

Three populations with Balding-Nichols allele frequencies (Fst 0.1), genotype
PCs computed by genolens from the simulated genotypes, a phenotype shifted by
population plus one truly causal feature, a few features that only track
ancestry, and many null features that carry a little population structure
(which is what inflates lambda GC when ancestry is ignored).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from genolens.cohort.ancestry import PCAConfig, genotype_pcs
from genolens.errors import ConfigError
from genolens.stats.associate import AssociationConfig, associate
from genolens.stats.confound import ConfoundThresholds, categorise, unresolved_reasons

N_PER_POP = 400
N_TRACKERS = 5
N_WEAK = 150
N_NULL = 100


def simulate(seed: int = 0) -> tuple[ad.AnnData, AssociationConfig]:
    rng = np.random.default_rng(seed)
    pops = np.repeat(["A", "B", "C"], N_PER_POP)
    n = pops.size
    m = 1500
    p_anc = rng.uniform(0.1, 0.9, m)
    fst = 0.1
    a, b = p_anc * (1 - fst) / fst, (1 - p_anc) * (1 - fst) / fst
    freqs = {pop: rng.beta(a, b) for pop in "ABC"}
    geno = np.vstack([rng.binomial(2, freqs[p]) for p in pops]).T.astype(float)  # variants x samples
    samples = [f"s{i}" for i in range(n)]
    pcs = genotype_pcs(
        geno,
        samples=samples,
        config=PCAConfig(n_pcs=4, maf=0.01),
        positions=np.arange(m) * 1_000_000,  # unlinked
    ).pcs
    pop_code = np.searchsorted(["A", "B", "C"], pops)
    causal = rng.normal(size=n)
    trackers = np.column_stack(
        [np.array([-1.0, 0.2, 1.2])[pop_code] * s + rng.normal(size=n) for s in np.linspace(1.0, 2.0, N_TRACKERS)]
    )
    weak = np.array([rng.normal(0, 0.25, 3)[pop_code] + rng.normal(size=n) for _ in range(N_WEAK)]).T
    null = rng.normal(size=(n, N_NULL))
    x = np.column_stack([causal, trackers, weak, null])
    names = ["causal"] + [f"tracker{i}" for i in range(N_TRACKERS)]
    names += [f"weak{i}" for i in range(N_WEAK)] + [f"null{i}" for i in range(N_NULL)]
    y = np.array([-0.8, 0.0, 0.9])[pop_code] + 0.35 * causal + rng.normal(size=n)
    obs = pd.DataFrame({"y": y, "age": rng.normal(50, 8, n), "pop": pops}, index=samples).join(pcs)
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=names))
    config = AssociationConfig(phenotype="y", covariates=("age",), pcs=tuple(pcs.columns), population="pop")
    return adata, config


@pytest.fixture(scope="module")
def simulated() -> tuple[ad.AnnData, AssociationConfig]:
    return simulate()


def test_causal_is_biomarker_and_trackers_are_confounded(simulated):
    adata, config = simulated
    result = associate(adata, config=config)
    table = result.table.set_index("feature")
    assert table.loc["causal", "category"] == "biomarker_candidate"
    assert table.loc["causal", "ancestry_r2"] < 0.05
    trackers = table.loc[[f"tracker{i}" for i in range(N_TRACKERS)]]
    assert (trackers["category"] == "ancestry_confounded").all()
    assert (trackers["ancestry_r2"] > 0.2).all()
    assert (trackers["population_r2"] > 0.2).all()
    assert (trackers["pvalue_unadjusted"] < 1e-10).all()
    # lambda GC: inflated without the PCs, about 1 with them
    assert result.summary["lambda_gc_unadjusted"] > 1.5
    assert 0.85 < result.summary["lambda_gc"] < 1.15
    # with ancestry adjusted nothing but the causal feature is a discovery
    assert set(table.index[table["qvalue"] < 0.05]) == {"causal"}
    # the summary also lands in the AnnData
    assert adata.uns["association"]["lambda_gc"] == pytest.approx(result.summary["lambda_gc"])
    assert adata.var.loc["causal", "association_category"] == "biomarker_candidate"


def test_permuted_phenotype_keeps_false_discoveries_at_or_below_alpha(simulated):
    adata, config = simulated
    rng = np.random.default_rng(123)
    y = adata.obs["y"].to_numpy().copy()
    runs = 60
    fdp, fraction_called = [], []
    for _ in range(runs):
        adata.obs["y"] = rng.permutation(y)
        table = associate(adata, config=config).table
        called = (table["qvalue"] < 0.05).to_numpy()
        fraction_called.append(called.mean())
        fdp.append(1.0 if called.any() else 0.0)  # every discovery is false under the permuted phenotype
    adata.obs["y"] = y
    # per run, at most 5% of features are (false) discoveries
    assert max(fraction_called) <= 0.05
    # the false discovery rate over runs is not above 5% (one-sided binomial test on the runs with any call)
    k = int(sum(fdp))
    assert sps.binomtest(k, runs, 0.05, alternative="greater").pvalue > 0.01, (k, runs)


def test_categories_follow_the_rule():
    q = np.array([0.01, 0.01, 0.01, 0.5, 0.5, 0.5, 0.5, np.nan, 0.5, 0.5])
    q_unadj = np.array([0.01, 0.01, 0.5, 0.01, 0.01, 0.01, 0.5, 0.01, 0.01, 0.01])
    q_change = np.array([0.5, 0.01, 0.01, 0.01, 0.5, 0.01, 0.01, 0.01, 0.01, 0.01])
    beta = np.array([1.0, 1.0, 1.0, 0.1, 0.5, -0.2, 0.0, np.nan, 0.9, 0.6])
    beta_unadj = np.array([1.0, 2.0, 0.5, 1.0, 1.0, 1.0, 0.0, 1.0, 0.5, 1.0])
    low = np.array([-0.1, 0.2, -2.0, 0.6, -0.5, 0.9, -1.0, 0.5, -1.0, 0.3])
    share = 1 - beta / beta_unadj
    share[7] = 0.9  # the adjusted fit is NaN (untestable): the fraction as given
    out = categorise(qvalue=q, qvalue_unadjusted=q_unadj, qvalue_change=q_change, beta=beta,
                     beta_unadjusted=beta_unadj, fraction=share, fraction_low=low)
    assert list(out) == [
        "biomarker_candidate",  # adjusted significant, no change
        "both",  # adjusted significant, significant attenuation
        "both",  # adjusted significant, the change goes the other way (ancestry masked part of it)
        "ancestry_confounded",  # lost after adjustment, significant attenuation
        "unresolved",  # lost after adjustment, the change itself not significant
        "ancestry_confounded",  # sign change
        "none",
        "ancestry_confounded",  # adjusted untestable (NaN): not significant
        "unresolved",  # lost, change significant but the adjusted effect is larger
        "unresolved",  # lost, significant attenuation, but ancestry explains less than half of it
    ]
    why = unresolved_reasons(out, qvalue_change=q_change, beta=beta, beta_unadjusted=beta_unadj, fraction=share,
                             fraction_low=low)
    assert why[4].startswith("change not significant") and why[8].startswith("the adjusted effect is larger")
    assert why[9].startswith("ancestry explains 0.40 of the effect") and (why[out != "unresolved"] == "").all()
    strict = categorise(qvalue=q, qvalue_unadjusted=q_unadj, qvalue_change=q_change, beta=beta,
                        beta_unadjusted=beta_unadj, fraction=share, fraction_low=low, alpha=0.005)
    assert list(strict) == ["none"] * 10
    lenient = categorise(qvalue=q, qvalue_unadjusted=q_unadj, qvalue_change=q_change, beta=beta,
                         beta_unadjusted=beta_unadj, fraction=share, fraction_low=low, min_fraction=0.0)
    assert lenient[-1] == "ancestry_confounded"
    # an estimate of most of the effect with an interval reaching small shares stays unresolved, and says so
    uncertain = categorise(qvalue=q, qvalue_unadjusted=q_unadj, qvalue_change=q_change, beta=beta,
                           beta_unadjusted=beta_unadj, fraction=np.full(10, 0.8), fraction_low=np.full(10, 0.1))
    assert uncertain[3] == "unresolved"
    assert unresolved_reasons(uncertain, qvalue_change=q_change, beta=beta, beta_unadjusted=beta_unadj,
                              fraction=np.full(10, 0.8), fraction_low=np.full(10, 0.1))[3].startswith(
        "ancestry's share 0.80 is uncertain")


@pytest.mark.parametrize("kwargs", [{"alpha": 0.0}, {"alpha": 1.0}, {"level": 1.0}, {"change_test": "wald"},
                                    {"min_fraction": 1.5}, {"min_fraction": 0.2}])
def test_confound_thresholds_are_validated(kwargs):
    with pytest.raises(ConfigError):
        ConfoundThresholds(**kwargs)


def test_clogg_is_refused_for_a_binary_phenotype():
    with pytest.raises(ConfigError, match="least squares"):
        AssociationConfig(phenotype="y", pcs=("PC1",), binary=True, confound=ConfoundThresholds(change_test="clogg"))


def test_no_ancestry_terms_need_an_explicit_flag(simulated):
    adata, _ = simulated
    with pytest.raises(ConfigError, match="no ancestry terms"):
        AssociationConfig(phenotype="y", covariates=("age",))
    result = associate(adata, config=AssociationConfig(phenotype="y", covariates=("age",), no_ancestry=True))
    assert result.table["ancestry_r2"].isna().all()
    np.testing.assert_array_equal(result.table["pvalue"], result.table["pvalue_unadjusted"])


def test_numeric_population_codes_are_treated_as_labels(simulated):
    adata, config = simulated
    by_name = associate(adata, config=config).table["population_r2"].to_numpy()
    coded = adata.copy()
    coded.obs["pop"] = coded.obs["pop"].map({"A": 3, "B": 1, "C": 2}).astype(int)
    by_code = associate(coded, config=config).table["population_r2"].to_numpy()
    np.testing.assert_allclose(by_code, by_name, rtol=1e-10)
