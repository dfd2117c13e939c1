"""Personal haplotypes against bcftools consensus on the real 1000 Genomes example.

Two checks: a stored expected output that ``tests/data/bcftools/make_expected.sh``
derived once with bcftools 1.16 (always runs), and a live comparison over more
samples that runs bcftools itself (needs ``bcftools``/``samtools`` on PATH; .ci/run
installs them from Debian).
"""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess

import numpy as np
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from testpaths import TESTDATA

from genolens.io.haplotypes import BuildReport, build_haplotypes
from genolens.io.reference import Reference
from genolens.io.regions import parse_region
from genolens.io.vcf import vcf_samples

FIXTURE = TESTDATA / "bcftools"


def _read(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        return dict(SimpleFastaParser(fh))


def _check_coords(rec, ref_seq: str, region_start: int) -> None:
    """Every mapped base is the reference base or a called allele; positions only increase."""
    pos = rec.coords.ref_pos
    mapped = pos[pos >= 0]
    assert np.all(np.diff(mapped) > 0)
    seq = np.frombuffer(rec.sequence.encode(), dtype=np.uint8)
    ref = np.frombuffer(ref_seq.upper().encode(), dtype=np.uint8)
    same = seq[pos >= 0] == ref[mapped - region_start]
    assert same.mean() > 0.99  # only SNV/MNV positions differ


def test_matches_stored_bcftools_consensus(kg_reference, kg_vcf):
    expected = _read(FIXTURE / "expected_haplotypes.fa.gz")
    regions = [parse_region(r) for r in (FIXTURE / "regions.txt").read_text().split()]
    samples = (FIXTURE / "samples.txt").read_text().split()
    report = BuildReport()
    got = {r.id: r for r in build_haplotypes(kg_reference, kg_vcf, regions, samples=samples, report=report)}
    assert set(got) == set(expected)
    with Reference(kg_reference) as ref:
        for rid, rec in got.items():
            assert rec.soft_masked() == expected[rid], rid  # bases and soft-masking, exactly
            region = next(r for r in regions if rid.endswith(r.spec))
            _check_coords(rec, ref.fetch(region), region.start)
    lengths = {len(r) for r in got.values()}
    assert len(lengths) > len(regions)  # indels really changed some lengths
    assert report.counts["applied"] > 50
    assert report.counts["symbolic_allele"] > 0  # the <DEL> at 22:18997218 is counted, not lost


@pytest.mark.skipif(shutil.which("bcftools") is None or shutil.which("samtools") is None,
                    reason="bcftools/samtools not installed (apt-get install bcftools samtools)")
def test_matches_live_bcftools_consensus(kg_reference, kg_vcf, tmp_path):
    rng = random.Random(7)
    samples = rng.sample(vcf_samples(kg_vcf), 6)
    regions = [parse_region(r) for r in ("22:17000001-17060000", "22:19500001-19560000", "22:20400001-20430000")]
    got = {r.id: r.soft_masked() for r in build_haplotypes(kg_reference, kg_vcf, regions, samples=samples)}
    for region in regions:
        ref_fa = tmp_path / "r.fa"
        ref_fa.write_text(subprocess.run(["samtools", "faidx", str(kg_reference), region.spec],
                                         check=True, capture_output=True, text=True).stdout)
        for sample in samples:
            for hap in (1, 2):
                out = subprocess.run(["bcftools", "consensus", "-s", sample, "-H", str(hap), "-f", str(ref_fa),
                                      str(kg_vcf)], check=True, capture_output=True, text=True).stdout
                expected = "".join(out.split("\n")[1:])
                assert got[f"{sample}|hap{hap}|{region.spec}"] == expected, (sample, hap, region.spec)
