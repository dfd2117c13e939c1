"""Cis mapping (genolens.stats.cis, gl.tl.cis, ``genolens associate --cis``) on the real GEUVADIS/1000 Genomes data.

Features are the 1000 Genomes genotype dosages within 200 kb of each gene's TSS, in regions named by the
gene ID: a classic cis-eQTL scan, checked against statsmodels OLS fits, a brute-force permutation loop
(residuals from numpy's least squares) and scipy's Beta maximum-likelihood fit. tensorQTL itself is compared in
``benchmarks/associate.py --cis`` (it needs its own environment).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from testpaths import EXPRESSION

import genolens as gl
from genolens.cli import run
from genolens.cohort.phenotype_bed import read_phenotype_bed
from genolens.errors import ConfigError, InputFormatError
from genolens.stats.cis import (
    CisConfig,
    beta_approximation,
    cis_groups,
    cis_map,
    permutation_indices,
    pval_from_corr,
    read_cis_map,
)

WINDOW = 200_000
# strong cis-eQTLs of GEUVADIS chr22 16-22 Mb (lead variants in this thinned VCF: rs807430, rs5761335, rs885978)
STRONG = ["ENSG00000070371.11", "ENSG00000099940.6", "ENSG00000100075.5"]
N_GENES = 16


@pytest.fixture(scope="module")
def eqtl(genotypes):
    """Samples x (gene, variant) dosages with region = gene ID, for the first genes of the BED."""
    bed = read_phenotype_bed(EXPRESSION)
    common = [s for s in genotypes.samples if s in bed.values.index]
    cols = [genotypes.samples.index(s) for s in common]
    pos = genotypes.sites["pos"].to_numpy()
    blocks, names, regions = [], [], []
    genes = [g for g in bed.positions.index if g not in STRONG][: N_GENES - len(STRONG)] + STRONG
    for gene, tss in bed.positions.loc[genes, "end"].items():
        sel = np.flatnonzero(np.abs(pos - tss) <= WINDOW)
        g = genotypes.dosages[np.ix_(sel, cols)]
        ok = np.isfinite(g).all(axis=1) & (g.std(axis=1) > 0)
        blocks.append(g[ok].T)
        names += [f"{gene}|22:{pos[j]}:{j}" for j in sel[ok]]
        regions += [gene] * int(ok.sum())
    obs = genotypes.pcs.loc[common, ["PC1", "PC2", "PC3"]]
    adata = ad.AnnData(X=np.hstack(blocks), obs=obs, var=pd.DataFrame({"region": regions}, index=names))
    return adata, bed


@pytest.fixture(scope="module")
def mapped(eqtl):
    adata, bed = eqtl
    return gl.tl.cis(adata, phenotypes=bed, n_pcs=3, n_permutations=200, seed=1, copy=True)


def test_nominal_pvalues_equal_statsmodels_and_pearson_on_residuals(eqtl, mapped):
    adata, bed = eqtl
    covs = sm.add_constant(adata.obs[["PC1", "PC2", "PC3"]].to_numpy())
    nominal = mapped.nominal.set_index("feature_id")
    for gene in mapped.table["phenotype_id"].iloc[:3]:
        y = bed.values.loc[adata.obs_names, gene].to_numpy()
        features = adata.var_names[adata.var["region"] == gene]
        for name in features[:: max(1, len(features) // 15)]:
            x = adata[:, name].X[:, 0]
            if name not in nominal.index:  # left out as untestable: fewer than 5 carriers of the minor genotype
                assert np.sum(x != np.median(x)) < 5
                continue
            fit = sm.OLS(y, np.column_stack([covs, x])).fit()
            row = nominal.loc[name]
            assert row["pval_nominal"] == pytest.approx(fit.pvalues[-1], rel=1e-10)
            assert row["slope"] == pytest.approx(fit.params[-1], rel=1e-10)
            assert row["slope_se"] == pytest.approx(fit.bse[-1], rel=1e-10)
            # tensorQTL's view: the correlation of the residuals, tested with n - 2 - covariates dof
            rx = sm.OLS(x, covs).fit().resid
            ry = sm.OLS(y, covs).fit().resid
            r = sps.pearsonr(rx, ry).statistic
            assert pval_from_corr(r * r, len(y) - 2 - 3) == pytest.approx(fit.pvalues[-1], rel=1e-10)


def test_best_feature_permutation_p_equals_a_brute_force_loop(eqtl, mapped):
    adata, bed = eqtl
    covs = sm.add_constant(adata.obs[["PC1", "PC2", "PC3"]].to_numpy())
    row = mapped.table.iloc[0]
    gene = row["phenotype_id"]
    x = adata[:, adata.var_names[adata.var["region"] == gene]].X
    testable = (x != np.median(x, axis=0)).sum(axis=0) >= 5  # the variants with >= 5 minor-genotype carriers
    assert row["num_var_untestable"] == int((~testable).sum())
    x = x[:, testable]
    y = bed.values.loc[adata.obs_names, gene].to_numpy()
    rx = x - covs @ np.linalg.lstsq(covs, x, rcond=None)[0]
    perms = permutation_indices(len(y), n_permutations=200, seed=1)
    expected = np.array([np.random.RandomState(1).permutation(len(y)) for _ in range(1)])
    assert (perms[0] == expected[0]).all()  # tensorQTL's stream for this seed
    zx = (rx - rx.mean(0)) / rx.std(0)

    def max_r2(values: np.ndarray) -> float:
        ry = values - covs @ np.linalg.lstsq(covs, values, rcond=None)[0]
        return float(((zx.T @ ((ry - ry.mean()) / ry.std()) / len(ry)) ** 2).max())

    maxima = [max_r2(y[ix]) for ix in perms]
    r2 = max_r2(y)
    assert row["pval_perm"] == pytest.approx((np.sum(np.array(maxima) >= r2) + 1) / 201)
    assert row["num_var"] == x.shape[1]


def test_beta_approximation_is_the_maximum_likelihood_fit_at_the_effective_dof():
    rng = np.random.default_rng(0)
    n, dof = 300, 296
    # maxima of r^2 over 40 correlated features under the null, 1,000 permutations
    x = rng.normal(size=(n, 40)) + rng.normal(size=(n, 1))
    x = (x - x.mean(0)) / x.std(0)
    y = rng.normal(size=(n, 1000))
    y = (y - y.mean(0)) / y.std(0)
    r2_perm = ((x.T @ y / n) ** 2).max(axis=0)
    res = beta_approximation(r2_perm, r2_nominal=0.05, dof=dof)
    p = pval_from_corr(r2_perm, res["true_df"])
    # the effective dof makes the moment estimate of the first shape 1
    mean, var = p.mean(), p.var()
    assert mean * (mean * (1 - mean) / var - 1) == pytest.approx(1.0, abs=1e-3)
    a, b, _, _ = sps.beta.fit(p, floc=0, fscale=1)
    assert res["beta_shape1"] == pytest.approx(a, rel=2e-3)
    assert res["beta_shape2"] == pytest.approx(b, rel=2e-3)
    assert res["pval_beta"] == pytest.approx(sps.beta.cdf(res["pval_true_df"], a, b), rel=5e-3)
    # and it agrees with the empirical permutation p-value
    assert res["pval_beta"] == pytest.approx((np.sum(r2_perm >= 0.05) + 1) / 1001, abs=0.03)


def test_beta_pvalues_track_permutation_pvalues_on_real_genes(mapped):
    table = mapped.table
    assert len(table) == N_GENES
    open_range = table[table["pval_perm"] > 0.02]
    noise = 3 * np.sqrt(open_range["pval_perm"] * (1 - open_range["pval_perm"]) / 200) + 0.01
    assert (np.abs(open_range["pval_beta"] - open_range["pval_perm"]) < noise).all()
    assert np.allclose(table["qval"], gl.stats.bh_qvalues(table["pval_beta"].to_numpy()))
    # the strong cis-eQTLs come out with tiny p-values
    strong = table.set_index("phenotype_id").loc[STRONG]
    assert (strong["pval_beta"] < 1e-5).all() and (strong["qval"] < 1e-3).all()


def test_cis_result_lands_in_uns_and_round_trips(mapped, tmp_path):
    summary = mapped.adata.uns["cis"]
    assert summary["n_phenotypes_mapped"] == N_GENES
    assert set(mapped.table["category"]) <= {"biomarker_candidate", "both", "ancestry_confounded", "unresolved",
                                             "none"}
    folder = gl.write_cis(mapped, tmp_path / "cis")
    back = gl.read_cis(folder)
    pd.testing.assert_frame_equal(back.table, mapped.table, check_dtype=False)
    assert len(back.nominal) == len(mapped.nominal)
    assert back.summary["config"]["n_permutations"] == 200


def test_cli_associate_cis(eqtl, tmp_path):
    adata, _ = eqtl
    path = tmp_path / "features.h5ad"
    adata[:, adata.var["region"].isin(list(adata.var["region"].unique()[:4]))].copy().write_h5ad(path)
    out = tmp_path / "out"
    argv = ["associate", "--features", str(path), "--cis", str(EXPRESSION), "--pcs", "3", "--permutations", "50",
            "--out", str(out)]
    assert run(argv) == 0
    result = gl.read_cis(out)
    assert len(result.table) == 4
    assert run(["associate", "--features", str(path), "--cis", str(EXPRESSION), "--phenotype", "x",
                "--pcs", "3", "--out", str(out)]) == 2


def test_cis_groups_by_name_mapping_and_window(tmp_path):
    var = pd.DataFrame({"region": ["G1", "G1", "PRODH_TSS", "other"]}, index=["a", "b", "c", "d"])
    positions = pd.DataFrame({"chr": ["22"] * 3, "start": [99, 1999, 5000], "end": [100, 2000, 5001]},
                             index=["G1", "ENSG1", "G3"])
    assert {k: list(v) for k, v in cis_groups(var, positions).items()} == {"G1": [0, 1]}
    mapping = tmp_path / "map.tsv"
    mapping.write_text("gene_id\tregion\nENSG1\tPRODH_TSS\nENSG1\tother\n")
    groups = cis_groups(var, positions, mapping=read_cis_map(mapping))
    assert list(groups["ENSG1"]) == [2, 3]
    regions = {"G1": (0, 50), "PRODH_TSS": (1500, 1600), "other": (9000, 9100)}
    groups = cis_groups(var, positions, window=500, regions=regions)
    assert {k: list(v) for k, v in groups.items()} == {"G1": [0, 1], "ENSG1": [2]}
    with pytest.raises(ConfigError, match="no region"):
        cis_groups(pd.DataFrame(index=["a"]), positions)
    with pytest.raises(ConfigError, match="coordinates"):
        cis_groups(var, positions, window=10)
    bad = tmp_path / "bad.tsv"
    bad.write_text("ENSG1 PRODH_TSS\n")
    with pytest.raises(InputFormatError, match="gene_id<TAB>region"):
        read_cis_map(bad)


def test_cis_config_and_phenotype_bed_errors(tmp_path):
    with pytest.raises(ConfigError, match="n_permutations"):
        CisConfig(n_permutations=5)
    with pytest.raises(ConfigError, match="window"):
        CisConfig(window=-1)
    cases = {
        "header": "chr\tstart\tend\tid\ts1\n22\t1\t2\tg\t0.1\n",
        "dup": "#chr\tstart\tend\tid\ts1\n22\t1\t2\tg\t0.1\n22\t3\t4\tg\t0.2\n",
        "text": "#chr\tstart\tend\tid\ts1\n22\t1\t2\tg\thigh\n",
        "coords": "#chr\tstart\tend\tid\ts1\n22\tx\t2\tg\t0.1\n",
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.bed"
        path.write_text(text)
        with pytest.raises(InputFormatError):
            read_phenotype_bed(path)


def test_cis_map_skips_genes_without_usable_features():
    rng = np.random.default_rng(0)
    n = 50
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    x[3, 1] = np.nan
    phen = pd.DataFrame({"g": rng.normal(size=n)})
    scan = cis_map(x, feature_names=["const", "gappy"], phenotypes=phen, groups={"g": np.array([0, 1])},
                   reduced=np.ones((n, 1)), full=np.ones((n, 1)), config=CisConfig(n_permutations=20))
    assert len(scan.table) == 0 and scan.skipped == {"g": "no usable feature (missing or not varying)"}
