"""Variants behind a biomarker: per significant feature, the variants ranked by how much they move it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import genolens as gl
from genolens.errors import ConfigError
from genolens.interventions.variant_effects import VariantEffects
from genolens.interventions.variant_ranking import feature_index, rank_variants


def _effects(delta: np.ndarray, scale: np.ndarray | None = None) -> VariantEffects:
    n = delta.shape[0]
    table = pd.DataFrame({"variant": [f"c:{i + 1}:A>G" for i in range(n)], "id": ".", "score": np.arange(n) * 0.5,
                          "method": "llr"})
    return VariantEffects(table, pd.DataFrame(columns=["variant", "reason"]), {}, delta, delta, [], None, scale)


def test_ranks_variants_of_each_significant_feature_by_relative_change():
    delta = np.array([[0.1, 2.0, 0.0], [-0.9, 0.5, 3.0], [0.4, -4.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    scale = np.array([1.0, 4.0, 1.0])
    assoc = pd.DataFrame({"feature": ["f0_mean", "f1_mean", "f2_mean"], "pvalue": [1e-4, 1e-6, 0.5],
                          "qvalue": [1e-3, 1e-5, 0.6]})
    out = rank_variants(_effects(delta, scale), assoc, top=2)
    assert list(out["feature"]) == [1, 1, 0, 0]  # most significant first; f2 is not significant
    assert list(out["variant"]) == ["c:3:A>G", "c:1:A>G", "c:2:A>G", "c:3:A>G"]
    np.testing.assert_allclose(out["change"], [-1.0, 0.5, -0.9, 0.4], rtol=1e-6)
    assert list(out["rank"]) == [1, 2, 1, 2] and out["qvalue"].iloc[0] == 1e-5
    by_p = gl.tl.variants_behind(_effects(delta), associations=assoc, column="pvalue", alpha=0.01, top=1)
    assert list(by_p["variant"]) == ["c:3:A>G", "c:2:A>G"]  # raw changes without a scale


def test_errors():
    assert feature_index("f17_max") == 17 and feature_index("f3") == 3
    with pytest.raises(ConfigError, match="not an SAE feature"):
        feature_index("PC1")
    assoc = pd.DataFrame({"feature": ["f9"], "pvalue": [0.0], "qvalue": [0.0]})
    with pytest.raises(ConfigError, match="not in the SAE"):
        rank_variants(_effects(np.zeros((2, 3), np.float32)), assoc)
    no_sae = VariantEffects(pd.DataFrame(), pd.DataFrame(), {})
    with pytest.raises(ConfigError, match="without an SAE"):
        rank_variants(no_sae, assoc)
    with pytest.raises(ConfigError, match="columns"):
        rank_variants(_effects(np.zeros((2, 3), np.float32)), assoc.drop(columns=["qvalue"]))


def _located(n: int, delta: np.ndarray) -> VariantEffects:
    """Effects at 22:1001, 22:1002, ... (1-based, as the VCF)."""
    table = pd.DataFrame({"variant": [f"22:{1001 + i}:A>G" for i in range(n)], "id": ".", "contig": "22",
                          "pos": 1001 + np.arange(n), "score": 0.0, "method": "llr"})
    return VariantEffects(table, pd.DataFrame(columns=["variant", "reason"]), {}, delta, delta, [], None, None)


def _vcf(path, dosages: np.ndarray) -> None:
    """A phased VCF at 22:1001.. whose alt-allele dosages are ``dosages`` (sites x samples, 0/1/2)."""
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
             + "\t".join(f"S{j}" for j in range(dosages.shape[1]))]
    gt = {0: "0|0", 1: "0|1", 2: "1|1"}
    for i, row in enumerate(dosages):
        lines.append(f"22\t{1001 + i}\trs{i}\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(gt[int(d)] for d in row))
    path.write_text("\n".join(lines) + "\n")


def test_cis_hits_join_the_eqtl_lead_and_its_ld(tmp_path):
    rng = np.random.default_rng(3)
    lead = rng.integers(0, 3, 200)
    linked = np.where(rng.random(200) < 0.9, lead, rng.integers(0, 3, 200))  # in strong LD with the lead
    dosages = np.vstack([rng.integers(0, 3, 200), linked, lead, rng.integers(0, 3, 200)])
    _vcf(tmp_path / "c.vcf", dosages)
    # feature 0 moved most by variant 2 (the lead), feature 1 by variant 1 (linked), then variant 3
    delta = np.array([[0.0, 0.1], [0.2, 3.0], [5.0, 0.0], [0.1, -2.0]], dtype=np.float32)
    cis = pd.DataFrame({"phenotype_id": ["GENE_A", "GENE_B", "GENE_C"],
                        "feature_id": ["f0|mean|GENE_A_promoter", "f1|max|GENE_B_body", "f0|mean|GENE_C"],
                        "pval_beta": [1e-9, 1e-4, 0.4], "qval": [1e-8, 1e-3, 0.5]})
    eqtl = pd.DataFrame({"phenotype_id": ["GENE_A", "GENE_B"], "feature_id": ["22:1003:rs2", "22:1003:rs2"]})
    out = gl.tl.variants_behind(_located(4, delta), associations=cis, eqtl=eqtl, vcf=tmp_path / "c.vcf", top=2)
    assert list(out["phenotype_id"]) == ["GENE_A"] * 2 + ["GENE_B"] * 2  # GENE_C is not significant
    assert list(out["variant"]) == ["22:1003:A>G", "22:1002:A>G", "22:1002:A>G", "22:1004:A>G"]
    assert list(out["is_eqtl_lead"]) == [True, False, False, False]
    expect = [1.0] + [np.corrcoef(dosages[i], lead)[0, 1] ** 2 for i in (1, 1, 3)]
    np.testing.assert_allclose(out["ld_r2_eqtl_lead"], expect, rtol=1e-10)
    assert out["ld_r2_eqtl_lead"].iloc[1] > 0.5 > out["ld_r2_eqtl_lead"].iloc[3]
    assert list(out["qvalue"]) == [1e-8, 1e-8, 1e-3, 1e-3] and set(out["eqtl_variant"]) == {"22:1003:rs2"}
    # without genotypes only the lead itself has an LD
    bare = gl.tl.variants_behind(_located(4, delta), associations=cis, eqtl=eqtl, top=2)
    assert bare["ld_r2_eqtl_lead"].iloc[0] == 1.0 and bare["ld_r2_eqtl_lead"].iloc[1:].isna().all()


def test_an_associate_table_names_its_gene_for_the_eqtl_join():
    delta = np.array([[1.0], [0.0]], dtype=np.float32)
    assoc = pd.DataFrame({"feature": ["f0_mean"], "pvalue": [1e-5], "qvalue": [1e-4]})
    eqtl = pd.DataFrame({"phenotype_id": ["G"], "feature_id": ["22:1001:rs0"]})
    with pytest.raises(ConfigError, match="give gene"):
        rank_variants(_located(2, delta), assoc, eqtl=eqtl)
    out = rank_variants(_located(2, delta), assoc, eqtl=eqtl, gene="G", top=1)
    assert out["is_eqtl_lead"].tolist() == [True] and out["phenotype_id"].tolist() == ["G"]
    with pytest.raises(ConfigError, match="contig:pos:id"):
        rank_variants(_located(2, delta), assoc, eqtl=eqtl.assign(feature_id=["rs0"]), gene="G")
    assert feature_index("f12|mean|ARSA_promoter") == 12


def test_a_baseline_run_ranks_its_features_cis_scan_against_its_own_eqtl_leads():
    from genolens.stats.results import BaselineResult

    delta = np.array([[0.0], [2.0], [1.0]], dtype=np.float32)
    cis = pd.DataFrame({"phenotype_id": ["G"], "feature_id": ["f0|mean|G_body"], "pval_beta": [1e-6],
                        "qval": [1e-5]})
    eqtl = pd.DataFrame({"phenotype_id": ["G"], "feature_id": ["22:1002:rs1"]})
    run = BaselineResult(table=pd.DataFrame(), eqtl=eqtl, summary={}, features_cis=cis)
    out = gl.tl.variants_behind(_located(3, delta), associations=run, top=2)
    assert list(out["variant"]) == ["22:1002:A>G", "22:1003:A>G"] and list(out["is_eqtl_lead"]) == [True, False]
    with pytest.raises(ConfigError, match="features_cis"):
        gl.tl.variants_behind(_located(3, delta), associations=BaselineResult(pd.DataFrame(), eqtl, {}))


def test_a_per_region_feature_is_ranked_over_the_variants_of_its_own_region():
    delta = np.array([[9.0], [1.0], [2.0], [0.5]], dtype=np.float32)  # 22:1001 moves f0 most, but lies elsewhere
    cis = pd.DataFrame({"phenotype_id": ["G"], "feature_id": ["f0|mean|G_body"], "pval_beta": [1e-6], "qval": [1e-5]})
    from genolens.io.regions import Region

    windows = [Region("22", 1001, 1004, name="G_body"), Region("22", 0, 1001, name="H_body")]  # 1002..1004
    out = gl.tl.variants_behind(_located(4, delta), associations=cis, regions=windows, top=5)
    assert list(out["variant"]) == ["22:1003:A>G", "22:1002:A>G", "22:1004:A>G"]
    everywhere = gl.tl.variants_behind(_located(4, delta), associations=cis, top=1)
    assert list(everywhere["variant"]) == ["22:1001:A>G"]
    with pytest.raises(ConfigError, match="not among the regions"):
        gl.tl.variants_behind(_located(4, delta), associations=cis, regions=windows[1:])


def test_window_or_own_bases_and_variants_that_move_nothing_are_not_listed():
    at_bases = np.array([[0.0], [3.0], [0.0]], dtype=np.float32)
    over_window = np.array([[1.0], [-0.5], [0.0]], dtype=np.float32)
    import dataclasses

    effects = dataclasses.replace(_located(3, at_bases), delta_window=over_window)
    assoc = pd.DataFrame({"feature": ["f0"], "pvalue": [1e-5], "qvalue": [1e-4]})
    win = rank_variants(effects, assoc, top=5)
    assert list(win["variant"]) == ["22:1001:A>G", "22:1002:A>G"] and list(win["change"]) == [1.0, -0.5]
    assert set(win["n_candidates"]) == {3} and set(win["n_moving"]) == {2}
    own = rank_variants(effects, assoc, top=5, rank_by="variant")
    assert list(own["variant"]) == ["22:1002:A>G"] and set(own["n_moving"]) == {1}
    with pytest.raises(ConfigError, match="rank_by"):
        rank_variants(effects, assoc, rank_by="gene")


def test_with_genotypes_variants_rank_by_their_contribution_across_people(tmp_path):
    """A rare variant that moves the feature a lot moves few people's features: |change| x SD(dosage)."""
    rare = np.zeros(200, int)
    rare[:2] = 1
    common = np.tile([0, 1, 2, 1], 50)
    _vcf(tmp_path / "g.vcf", np.vstack([rare, common]))
    delta = np.array([[4.0], [1.0]], dtype=np.float32)
    assoc = pd.DataFrame({"feature": ["f0"], "pvalue": [1e-5], "qvalue": [1e-4]})
    out = gl.tl.variants_behind(_located(2, delta), associations=assoc, vcf=tmp_path / "g.vcf")
    assert list(out["variant"]) == ["22:1002:A>G", "22:1001:A>G"]
    np.testing.assert_allclose(out["dosage_sd"], [common.std(), rare.std()])
    np.testing.assert_allclose(out["contribution"], [common.std(), 4 * rare.std()])
    assert "is_eqtl_lead" not in out.columns  # no eQTL scan given
