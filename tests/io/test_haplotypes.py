"""Haplotype construction policies and coordinate maps on small synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import REF_SEQ, row, write_reference, write_vcf

from genolens.errors import ReferenceMismatchError, SampleMismatchError, VariantPolicyError
from genolens.io.coordmap import INSERTED, CoordinateMap
from genolens.io.haplotypes import BuildReport, HaplotypePolicy, build_haplotypes
from genolens.io.regions import Region


def _build(tmp_path, rows, samples=("S1",), region=Region("chrT", 0, 60), **policy):
    ref = write_reference(tmp_path)
    vcf = write_vcf(tmp_path, rows, list(samples))
    report = BuildReport()
    recs = list(build_haplotypes(ref, vcf, [region], policy=HaplotypePolicy(**policy), report=report))
    return {(r.sample, r.haplotype): r for r in recs}, report


def test_snv_insertion_deletion_move_coordinates(tmp_path):
    rows = [row(3, "G", "T", "1|0"), row(10, "C", "CAAA", "1|0"), row(40, "AAAT", "A", "0|1")]
    recs, report = _build(tmp_path, rows)
    h1, h2 = recs[("S1", 1)], recs[("S1", 2)]
    assert h1.sequence == ("ACTTACGTAC" + "AAA" + REF_SEQ[10:]).upper()
    assert h2.sequence == (REF_SEQ[:40] + REF_SEQ[43:]).upper()
    # haplotype 1: insertion after 0-based reference position 9
    pos = h1.coords.ref_pos
    assert list(pos[8:14]) == [8, 9, INSERTED, INSERTED, INSERTED, 10]
    assert pos[-1] == 59 and len(pos) == 63
    # haplotype 2: reference 40..42 deleted, so base 40 of the sequence is reference base 43
    assert h2.coords.ref_pos[39] == 39 and h2.coords.ref_pos[40] == 43
    blocks = h2.coords.blocks(h2.id)
    assert list(blocks["kind"]) == ["ref", "del", "ref"]
    assert tuple(blocks.iloc[1][["ref_start", "ref_end"]]) == (40, 43)
    assert report.counts["applied"] == 3


def test_blocks_round_trip(tmp_path):
    rows = [row(10, "C", "CAAA", "1|0"), row(40, "AAAT", "A", "1|1"), row(51, "C", "G", "1|1")]
    recs, _ = _build(tmp_path, rows)
    for rec in recs.values():
        rebuilt = CoordinateMap.from_blocks(rec.coords.blocks(rec.id))
        np.testing.assert_array_equal(rebuilt.ref_pos, rec.coords.ref_pos)


def test_soft_mask_follows_reference(tmp_path):
    rows = [row(22, "C", "T", "1|1"), row(25, "A", "AGG", "1|1")]
    recs, _ = _build(tmp_path, rows)
    rec = recs[("S1", 1)]
    assert rec.mask[20:32].all()  # bases 21-30 plus the 2 inserted ones are masked
    assert not rec.mask[32] and not rec.mask[19]
    assert rec.soft_masked()[20:32] == "atgtaggcgtac"


def test_multiallelic_picks_called_allele(tmp_path):
    recs, _ = _build(tmp_path, [row(5, "A", "C,GT", "1|2", "2|0")], samples=("S1", "S2"))
    assert recs[("S1", 1)].sequence[4] == "C"
    assert recs[("S1", 2)].sequence[4:6] == "GT"
    assert recs[("S2", 1)].sequence[4:6] == "GT" and recs[("S2", 2)].sequence[4] == "A"


def test_missing_genotype_policies(tmp_path):
    rows = [row(5, "A", "C", ".|1")]
    recs, report = _build(tmp_path, rows)
    assert recs[("S1", 1)].sequence[4] == "A" and recs[("S1", 2)].sequence[4] == "C"
    assert report.counts["missing_genotype"] == 1
    recs, _ = _build(tmp_path, rows, missing="n")
    assert recs[("S1", 1)].sequence[4] == "N"
    with pytest.raises(VariantPolicyError, match="missing genotype"):
        _build(tmp_path, rows, missing="error")


def test_unphased_heterozygous_is_an_error_by_default(tmp_path):
    rows = [row(5, "A", "C", "0/1")]
    with pytest.raises(VariantPolicyError, match="unphased heterozygous"):
        _build(tmp_path, rows)
    recs, report = _build(tmp_path, rows, unphased="as-listed")
    assert recs[("S1", 1)].sequence[4] == "A" and recs[("S1", 2)].sequence[4] == "C"
    assert report.counts["unphased_as_listed"] == 1
    recs, _ = _build(tmp_path, [row(5, "A", "C", "1/1")])  # homozygous: phase irrelevant
    assert recs[("S1", 1)].sequence[4] == recs[("S1", 2)].sequence[4] == "C"


def test_filtered_records_excluded_unless_asked(tmp_path):
    rows = [row(5, "A", "C", "1|1", filt="LowQual"), row(7, "G", "T", "1|1", filt=".")]
    recs, report = _build(tmp_path, rows)
    assert recs[("S1", 1)].sequence[4] == "A" and recs[("S1", 1)].sequence[6] == "T"
    assert report.counts["filtered"] == 1
    recs, _ = _build(tmp_path, rows, include_filtered=True)
    assert recs[("S1", 1)].sequence[4] == "C"


def test_overlapping_variants_first_wins(tmp_path):
    rows = [row(39, "AAAAT", "A", "1|1"), row(41, "A", "G", "1|0")]
    recs, report = _build(tmp_path, rows)
    assert recs[("S1", 1)].sequence == (REF_SEQ[:39] + REF_SEQ[43:]).upper()
    assert report.counts["overlapping_variant_skipped"] == 1


def test_symbolic_and_star_alleles_are_counted(tmp_path):
    rows = [row(5, "A", "<DEL>", "1|0", info="END=9"), row(12, "T", "*", "0|1")]
    recs, report = _build(tmp_path, rows)
    assert recs[("S1", 1)].sequence == REF_SEQ.upper()
    assert report.counts["symbolic_allele"] == 1 and report.counts["spanning_deletion_allele"] == 1
    with pytest.raises(VariantPolicyError, match="symbolic allele"):
        _build(tmp_path, rows, symbolic="error")


def test_variants_crossing_region_edge_are_skipped_and_counted(tmp_path):
    rows = [row(9, "ACGT", "A", "1|1"), row(15, "G", "C", "1|1")]
    recs, report = _build(tmp_path, rows, region=Region("chrT", 10, 30))
    assert recs[("S1", 1)].sequence[4] == "C" and len(recs[("S1", 1)]) == 20
    assert report.counts["crosses_region_edge"] == 1


def test_minus_strand_is_reverse_complement(tmp_path):
    rows = [row(12, "T", "TGG", "1|1")]
    plus, _ = _build(tmp_path, rows, region=Region("chrT", 0, 20))
    minus, _ = _build(tmp_path, rows, region=Region("chrT", 0, 20, strand="-"))
    comp = str.maketrans("ACGTN", "TGCAN")
    assert minus[("S1", 1)].sequence == plus[("S1", 1)].sequence.translate(comp)[::-1]
    np.testing.assert_array_equal(minus[("S1", 1)].coords.ref_pos, plus[("S1", 1)].coords.ref_pos[::-1])
    assert minus[("S1", 1)].coords.strand == "-"


def test_haploid_calls_apply_to_both_haplotypes(tmp_path):
    recs, _ = _build(tmp_path, [row(5, "A", "C", "1")])
    assert recs[("S1", 1)].sequence[4] == recs[("S1", 2)].sequence[4] == "C"


def test_ref_mismatch_is_an_error(tmp_path):
    with pytest.raises(ReferenceMismatchError, match="does not match the reference"):
        _build(tmp_path, [row(5, "G", "C", "1|1")])


def test_unknown_sample_is_an_error(tmp_path):
    ref = write_reference(tmp_path)
    vcf = write_vcf(tmp_path, [row(5, "A", "C", "1|1")], ["S1"])
    with pytest.raises(SampleMismatchError, match="NOPE"):
        list(build_haplotypes(ref, vcf, [Region("chrT", 0, 60)], samples=["NOPE"]))


def test_requested_sample_order_is_kept(tmp_path):
    ref = write_reference(tmp_path)
    vcf = write_vcf(tmp_path, [row(5, "A", "C", "1|1", "0|0")], ["S1", "S2"])
    recs = list(build_haplotypes(ref, vcf, [Region("chrT", 0, 60)], samples=["S2", "S1"]))
    assert [r.sample for r in recs] == ["S2", "S2", "S1", "S1"]
    assert recs[0].sequence[4] == "A" and recs[2].sequence[4] == "C"
