"""Genotype PCs from a VCF, PLINK .eigenvec and panel readers, and their error paths."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from genolens.cohort.ancestry import (
    PCAConfig,
    attach_pcs,
    genotype_pcs,
    read_dosages,
    read_eigenvec,
    read_panel,
    vcf_pcs,
)
from genolens.errors import ConfigError, InputFileError, InputFormatError, SampleMismatchError

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\n"


def _write(path, body: str, *, gz: bool = False):
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(HEADER + body)
    else:
        path.write_text(HEADER + body)
    return path


def test_read_dosages_keeps_biallelic_snvs_and_parses_genotypes(tmp_path):
    body = (
        "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n"
        "22\t200\trs2\tC\tT\t.\tPASS\t.\tGT:DP\t0/1:5\t./.:0\t1/0:7\n"
        "22\t300\trs3\tA\tAT\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n"  # indel: skipped
        "22\t400\trs4\tA\tG,C\t.\tPASS\t.\tGT\t0|1\t1|2\t0|0\n"  # multi-allelic: skipped
        "22\t500\trs5\tG\tA\t.\tPASS\t.\tGT\t1\t0\t1\n"  # haploid
    )
    for gz in (False, True):
        path = _write(tmp_path / f"t{gz}.vcf{'.gz' if gz else ''}", body, gz=gz)
        dos, samples, sites = read_dosages(path, samples=["S3", "S1"])
        assert samples == ["S3", "S1"]
        assert list(sites["id"]) == ["rs1", "rs2", "rs5"]
        np.testing.assert_array_equal(dos, [[0, 1], [1, 1], [1, 1]])
        all_dos, _, _ = read_dosages(path)
        assert np.isnan(all_dos[1, 1])


def test_read_dosages_error_paths(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_dosages(tmp_path / "missing.vcf")
    path = _write(tmp_path / "a.vcf", "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n")
    with pytest.raises(SampleMismatchError, match="NOPE") as err:
        read_dosages(path, samples=["S1", "NOPE"])
    assert "1 of 2 samples" in str(err.value)
    bad = _write(tmp_path / "b.vcf", "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n")
    with pytest.raises(InputFormatError, match="line 3"):
        read_dosages(bad)
    garbled = _write(tmp_path / "c.vcf", "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\tx|y\t0|0\n")
    with pytest.raises(InputFormatError, match="unreadable genotype"):
        read_dosages(garbled)
    headless = tmp_path / "d.vcf"
    headless.write_text("22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\n")
    with pytest.raises(InputFormatError, match="before the #CHROM header"):
        read_dosages(headless)
    no_gt = _write(tmp_path / "e.vcf", "22\t100\trs1\tA\tG\t.\tPASS\t.\tDP\t1\t2\t3\n")
    with pytest.raises(InputFormatError, match="FORMAT must start with GT"):
        read_dosages(no_gt)


def test_real_vcf_pcs_separate_continental_populations(genotypes):
    pcs = genotypes.pcs.join(genotypes.panel)
    main = pcs[pcs["super_pop"].isin(["AFR", "EAS", "EUR"])]
    coords = main[["PC1", "PC2", "PC3"]].to_numpy()
    labels = main["super_pop"].to_numpy()
    centroids = {lab: coords[labels == lab].mean(axis=0) for lab in ("AFR", "EAS", "EUR")}
    names = list(centroids)
    dist = np.stack([np.linalg.norm(coords - centroids[k], axis=1) for k in names], axis=1)
    accuracy = np.mean(np.array(names)[dist.argmin(axis=1)] == labels)
    assert accuracy > 0.95
    # unit-norm eigenvectors, like PLINK's .eigenvec
    np.testing.assert_allclose(np.linalg.norm(genotypes.pcs.to_numpy(), axis=0), 1.0, rtol=1e-10)


def test_genotype_pcs_equal_an_independent_eigendecomposition():
    rng = np.random.default_rng(0)
    n, m = 120, 400
    freq = rng.uniform(0.1, 0.9, m)
    geno = rng.binomial(2, np.where(np.arange(n)[:, None] < 60, freq, 1 - freq)).T.astype(float)
    result = genotype_pcs(geno, samples=[f"s{i}" for i in range(n)], config=PCAConfig(n_pcs=3, maf=0.0, ld_r2=1.0))
    assert result.counts == {"variants": m, "after_maf": m, "after_ld_thinning": m}
    p = geno.mean(axis=1) / 2
    z = (geno - 2 * p[:, None]) / np.sqrt(2 * p * (1 - p))[:, None]
    vals, vecs = np.linalg.eigh(z.T @ z)
    order = np.argsort(vals)[::-1][:3]
    for k, col in enumerate(order):
        assert abs(abs(np.corrcoef(result.pcs.iloc[:, k], vecs[:, col])[0, 1]) - 1) < 1e-8
    np.testing.assert_allclose(result.eigenvalues, vals[order] / m, rtol=1e-8)


def test_maf_filter_and_ld_thinning():
    rng = np.random.default_rng(1)
    n = 200
    common = rng.binomial(2, 0.4, n).astype(float)
    rare = np.zeros(n)
    rare[:3] = 1  # MAF 0.0075
    other = rng.binomial(2, 0.3, n).astype(float)
    geno = np.vstack([common, common, rare, other] + [rng.binomial(2, 0.5, n) for _ in range(30)])
    pos = np.arange(geno.shape[0]) * 100
    result = genotype_pcs(geno, samples=[f"s{i}" for i in range(n)], config=PCAConfig(n_pcs=2), positions=pos)
    assert result.counts["after_maf"] == geno.shape[0] - 1
    assert result.counts["after_ld_thinning"] == geno.shape[0] - 2  # the duplicate is dropped
    with pytest.raises(ConfigError, match="too few"):
        genotype_pcs(geno[:3], samples=[f"s{i}" for i in range(n)], config=PCAConfig(n_pcs=5))


def test_vcf_pcs_for_a_sample_subset_keeps_its_order(stats_vcf, genotypes):
    subset = genotypes.samples[::-1][:300]
    result = vcf_pcs(stats_vcf, samples=subset, config=PCAConfig(n_pcs=3))
    assert list(result.pcs.index) == subset
    dos, _, _ = read_dosages(stats_vcf, samples=subset)
    freq = np.nanmean(dos, axis=1) / 2
    assert result.counts["biallelic_snvs_passing_maf"] == int((np.minimum(freq, 1 - freq) >= 0.05).sum())
    assert dos.shape[0] == 19012


def test_randomized_pca_agrees_with_exact(genotypes):
    common = genotypes.dosages[::4]
    exact = genotype_pcs(common, samples=genotypes.samples, config=PCAConfig(n_pcs=3, method="exact"))
    fast = genotype_pcs(common, samples=genotypes.samples, config=PCAConfig(n_pcs=3, method="randomized"))
    for k in range(3):
        assert abs(abs(np.corrcoef(exact.pcs.iloc[:, k], fast.pcs.iloc[:, k])[0, 1]) - 1) < 1e-4


@pytest.mark.parametrize("config", [{"n_pcs": 0}, {"maf": 0.5}, {"ld_r2": 0.0}, {"method": "magic"}])
def test_pca_config_is_validated(config):
    with pytest.raises(ConfigError):
        PCAConfig(**config)


def test_read_eigenvec_plink19_and_plink2_formats(tmp_path):
    v1 = tmp_path / "a.eigenvec"
    v1.write_text("F1 S1 0.1 0.2\nF2 S2 -0.3 0.4\n")
    v2 = tmp_path / "b.eigenvec"
    v2.write_text("#FID\tIID\tPC1\tPC2\nF1\tS1\t0.1\t0.2\nF2\tS2\t-0.3\t0.4\n")
    v3 = tmp_path / "c.eigenvec"
    v3.write_text("#IID\tPC1\tPC2\nS1\t0.1\t0.2\nS2\t-0.3\t0.4\n")
    for path in (v1, v2, v3):
        frame = read_eigenvec(path)
        assert list(frame.index) == ["S1", "S2"] and list(frame.columns) == ["PC1", "PC2"]
        np.testing.assert_array_equal(frame.to_numpy(), [[0.1, 0.2], [-0.3, 0.4]])


def test_read_eigenvec_error_paths(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_eigenvec(tmp_path / "nope.eigenvec")
    empty = tmp_path / "empty.eigenvec"
    empty.write_text("")
    with pytest.raises(InputFileError, match="empty"):
        read_eigenvec(empty)
    bad = tmp_path / "bad.eigenvec"
    bad.write_text("#IID\tPC1\nS1\t0.1\nS2\tabc\n")
    with pytest.raises(InputFormatError, match="line 3") as err:
        read_eigenvec(bad)
    assert "S2" in str(err.value)
    ragged = tmp_path / "ragged.eigenvec"
    ragged.write_text("F1 S1 0.1 0.2\nF2 S2 0.3\n")
    with pytest.raises(InputFormatError, match="expected 4 columns, found 3"):
        read_eigenvec(ragged)
    dup = tmp_path / "dup.eigenvec"
    dup.write_text("F1 S1 0.1\nF2 S1 0.3\n")
    with pytest.raises(InputFormatError, match="duplicate"):
        read_eigenvec(dup)


def test_read_panel_and_attach_pcs(stats_panel, tmp_path):
    panel = read_panel(stats_panel)
    assert panel.shape[0] == 1092 and {"pop", "super_pop"} <= set(panel.columns)
    assert panel.loc["HG00096", "super_pop"] == "EUR"
    bad = tmp_path / "panel.tsv"
    bad.write_text("id\tpop\nA\tX\n")
    with pytest.raises(InputFormatError, match="'sample' column"):
        read_panel(bad)
    obs = pd.DataFrame(index=["S1", "S9"])
    pcs = pd.DataFrame({"PC1": [0.1]}, index=["S1"])
    with pytest.raises(SampleMismatchError, match="S9"):
        attach_pcs(obs, pcs=pcs, source="x.eigenvec")
