"""The genotype baseline (genolens.stats.baseline, gl.tl.baseline, ``genolens baseline``) on real data.

GEUVADIS expression and the bundled 1000 Genomes genotypes: CLTCL1 (ENSG00000070371.11) has the strongest
cis-eQTL of the bundled genes in this thinned VCF (rs807430, nominal p about 6e-19 with 3 PCs); its
cross-validated genotype R² must be clearly above zero. The "model features" are stand-ins: noisy
mixtures of nearby variants (a model that reads the local sequence), and pure noise for one gene.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import r2_score
from testpaths import EXPRESSION, VCF

import genolens as gl
from genolens.cli import run
from genolens.cohort.phenotype_bed import read_phenotype_bed
from genolens.errors import ConfigError
from genolens.stats.baseline import BaselineConfig, genotype_baseline, prediction_metrics, variant_windows

STRONG = "ENSG00000070371.11"  # CLTCL1
WEAK = "ENSG00000069998.8"


@pytest.fixture(scope="module")
def cohort(genotypes):
    bed = read_phenotype_bed(EXPRESSION)
    common = [s for s in genotypes.samples if s in bed.values.index]
    cols = [genotypes.samples.index(s) for s in common]
    pos = genotypes.sites["pos"].to_numpy()
    rng = np.random.default_rng(0)
    x, regions = [], []
    for gene in (STRONG, WEAK):
        near = np.flatnonzero(np.abs(pos - bed.positions.loc[gene, "end"]) < 20_000)
        g = np.nan_to_num(genotypes.dosages[np.ix_(near, cols)]).T
        for _ in range(5):
            x.append(g @ rng.normal(size=g.shape[1]) + rng.normal(size=len(common)) if gene == STRONG
                     else rng.normal(size=len(common)))
            regions.append(gene)
    var = pd.DataFrame({"region": regions}, index=[f"{r}|m{i}" for i, r in enumerate(regions)])
    obs = genotypes.pcs.loc[common, ["PC1", "PC2", "PC3"]]
    return ad.AnnData(X=np.column_stack(x), obs=obs, var=var), bed


@pytest.fixture(scope="module")
def result(cohort):
    adata, bed = cohort
    return gl.tl.baseline(adata, phenotypes=bed, vcf=VCF, n_pcs=3, genotype_window=250_000, n_permutations=100,
                          config=BaselineConfig(folds=5, n_alphas=10), copy=True)


def test_strong_cis_eqtl_gene_has_a_genotype_r2_clearly_above_zero(result):
    table = result.table.set_index("phenotype_id")
    strong = table.loc[STRONG]
    assert strong["r2_genotypes"] > 0.1
    assert strong["r_genotypes"] > 0.3 and strong["sign_genotypes"] == 1
    assert strong["eqtl_variant"].endswith("rs807430")
    assert strong["eqtl_qval"] < 1e-6
    # the stand-in features, built from nearby variants, carry part of that signal; pure noise carries none
    assert strong["r2_features"] > 0.0
    assert table.loc[WEAK, "r2_features"] < 0.02
    assert set(table["verdict"]) <= {"beat", "match", "miss"}
    # the features' own cis test, side by side: the variant mixtures carry the eQTL, the noise does not
    assert strong["features_qval"] < 0.05 and strong["features_feature_id"].startswith(STRONG)
    assert table.loc[WEAK, "features_pval_beta"] > 0.01
    assert result.summary["genes_with_eqtl"][0] == STRONG
    assert STRONG in result.summary["genes_features_and_genotypes"]
    eqtl = result.eqtl.set_index("phenotype_id")
    assert eqtl.loc[STRONG, "num_var"] == table.loc[STRONG, "n_variants"]


def test_identical_folds_give_identical_predictions_for_identical_predictors():
    rng = np.random.default_rng(1)
    n = 120
    g = rng.binomial(2, 0.3, size=(n, 30)).astype(float)
    y = g[:, 3] * 0.8 + rng.normal(size=n)
    phen = pd.DataFrame({"gene": y})
    groups = {"gene": np.arange(30)}
    table = genotype_baseline(g, genotypes=g, phenotypes=phen, feature_groups=groups, variant_groups=groups,
                              covariates=np.ones((n, 1)), config=BaselineConfig(n_alphas=8))
    row = table.iloc[0]
    assert row["r2_features"] == row["r2_genotypes"] and row["r_between"] == pytest.approx(1.0)
    assert row["verdict"] == "match" and row["r2_genotypes"] > 0.2


def test_a_feature_constant_up_to_float_noise_in_training_does_not_blow_up_a_held_out_fold():
    """The CRELD2 case of the dense main job (features' R² -23,263): a feature equal in every training sample up
    to float noise that happens to track the phenotype, and different in one held-out sample. Standardised by
    its noise SD, that sample's value became ~1e11 and so did its prediction."""
    from genolens.stats.baseline import cv_predict

    rng = np.random.default_rng(3)
    n = 100
    g = rng.binomial(2, 0.3, size=(n, 5)).astype(float)
    y = g[:, 0] * 0.5 + rng.normal(size=n)
    flat = 0.5 + 1e-12 * (y - y.mean())  # pooled to one value in all but one person, noise following y
    flat[7] = 0.6
    x = np.column_stack([g, flat])
    folds = [(np.setdiff1d(np.arange(n), part), part) for part in np.array_split(np.arange(n), 5)]
    pred = cv_predict(x, y, folds=folds, config=BaselineConfig(n_alphas=8))
    r2 = prediction_metrics(y, pred)["r2"]
    assert np.abs(pred).max() < 10 * np.abs(y).max()
    # in the fold that holds the odd sample out, the same as without the flat column: it carries nothing its
    # training rows could teach (in the other folds it varies, through that sample, and may be used)
    without = cv_predict(g, y, folds=folds, config=BaselineConfig(n_alphas=8))
    np.testing.assert_allclose(pred[:20], without[:20], atol=1e-9)
    assert r2 > -0.1


def test_prediction_metrics_equal_sklearn_and_scipy():
    rng = np.random.default_rng(2)
    y = rng.normal(size=80)
    pred = 0.5 * y + rng.normal(size=80)
    m = prediction_metrics(y, pred)
    assert m["r2"] == pytest.approx(r2_score(y, pred))
    assert m["r"] == pytest.approx(sps.pearsonr(y, pred).statistic)
    assert m["sign"] == 1.0
    assert prediction_metrics(y, np.zeros(80))["r"] == 0.0


def test_variant_windows_match_contigs_and_include_both_ends():
    sites = pd.DataFrame({"contig": ["22", "22", "chr22", "21"], "pos": [900, 1100, 1000, 1000]})
    positions = pd.DataFrame({"chr": ["chr22"], "end": [1000]}, index=["g"])
    assert list(variant_windows(sites, positions, window=100)["g"]) == [0, 1, 2]


def test_baseline_round_trips_and_runs_from_the_cli(cohort, result, tmp_path):
    folder = gl.write_baseline(result, tmp_path / "b")
    back = gl.read_baseline(folder)
    pd.testing.assert_frame_equal(back.table, result.table, check_dtype=False)
    assert (folder / "baseline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "qq_genes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pd.testing.assert_frame_equal(back.features_cis, result.features_cis, check_dtype=False)
    ax = gl.pl.baseline(back)
    assert ax.get_xlabel().startswith("cross-validated R²")
    adata, _ = cohort
    path = tmp_path / "features.h5ad"
    adata[:, adata.var["region"] == STRONG].copy().write_h5ad(path)
    out = tmp_path / "cli"
    argv = ["baseline", "--features", str(path), "--phenotypes", str(EXPRESSION), "--vcf", str(VCF), "--pcs", "3",
            "--genotype-window", "100000", "--permutations", "20", "--folds", "3", "--out", str(out)]
    assert run(argv) == 0
    assert list(gl.read_baseline(out).table["phenotype_id"]) == [STRONG]


def test_baseline_config_is_validated():
    for kwargs in ({"folds": 1}, {"l1_ratio": 0.0}, {"n_alphas": 0}, {"margin": -1.0}, {"min_alpha_ratio": 1.0}):
        with pytest.raises(ConfigError):
            BaselineConfig(**kwargs)


def test_r2_confidence_intervals_cover_the_estimate_and_separate_real_signal_from_none(result):
    table = result.table.set_index("phenotype_id")
    for gene in (STRONG, WEAK):
        row = table.loc[gene]
        for side in ("features", "genotypes"):
            assert row[f"r2_{side}_low"] <= row[f"r2_{side}"] <= row[f"r2_{side}_high"]
        assert row["delta_r2_low"] <= row["delta_r2"] <= row["delta_r2_high"]
    assert table.loc[STRONG, "r2_genotypes_low"] > 0.05  # a strong cis-eQTL: the whole interval above zero
    assert table.loc[WEAK, "r2_features_low"] < 0.0  # pure-noise features: the interval reaches below zero


def test_bootstrap_r2_interval_has_its_coverage():
    """Over repeated cohorts with a known population R² of 0.2, the 90% interval covers it about 90% of the time."""
    from genolens.stats.baseline import bootstrap_r2

    rng = np.random.default_rng(3)
    covered = 0
    for rep in range(200):
        x = rng.normal(size=300)
        y = 0.5 * x + rng.normal(scale=np.sqrt(1.0), size=300)
        pred = 0.5 * x  # the true regression: population R² = 0.25 / 1.25 = 0.2
        lo, hi = np.percentile(bootstrap_r2(y, [pred], n_bootstrap=400, seed=rep)[:, 0], [5, 95])
        covered += lo <= 0.2 <= hi
    assert 0.84 <= covered / 200 <= 0.96


def test_variant_regions_take_the_bases_inside_each_window_only():
    from genolens.stats.baseline import variant_regions

    sites = pd.DataFrame({"contig": ["22", "22", "22", "chr22", "21"], "pos": [100, 101, 200, 250, 150]})
    # 0-based half-open [100, 200) holds 1-based positions 101..200; a second window [240, 260) adds 250
    groups = variant_regions(sites, {"g": [("chr22", 100, 200), ("22", 240, 260)], "none": [("22", 0, 50)]})
    assert list(groups["g"]) == [1, 2, 3] and "none" not in groups


def test_genotype_baseline_on_the_features_own_windows(cohort, result, genotypes):
    """--genotype-regions: the cis variants are exactly those inside the regions the features were read from."""
    adata, bed = cohort
    adata = adata.copy()
    spans = {}
    for gene in (STRONG, WEAK):
        tss = int(bed.positions.loc[gene, "end"])
        spans[gene] = [tss - 250_001, tss + 250_000]  # (start, end]: the TSS +- 250 kb, as the window fixture
    adata.uns["aggregation"] = {"regions": spans}
    res = gl.tl.baseline(adata, phenotypes=bed, vcf=VCF, n_pcs=3, genotype_regions=True, n_permutations=50,
                         config=BaselineConfig(folds=3, n_alphas=5, n_bootstrap=100))
    table = res.table.set_index("phenotype_id")
    pos = genotypes.sites["pos"].to_numpy()
    window = result.table.set_index("phenotype_id")
    for gene, (start, end) in spans.items():
        inside = (pos > start) & (pos <= end)
        assert 0 < table.loc[gene, "n_variants"] <= inside.sum()  # minus monomorphic / rare (MAF < 1%) ones
        assert table.loc[gene, "n_variants"] == window.loc[gene, "n_variants"]
    assert res.summary["config"]["genotype_window"] == "the gene's feature regions"
    assert table.loc[STRONG, "eqtl_variant"] == window.loc[STRONG, "eqtl_variant"]
    del adata.uns["aggregation"]
    with pytest.raises(ConfigError, match="no coordinates"):
        gl.tl.baseline(adata, phenotypes=bed, vcf=VCF, n_pcs=3, genotype_regions=True, n_permutations=20)
