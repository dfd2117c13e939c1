"""Variant-centred windows on synthetic and real inputs."""

from __future__ import annotations

import pytest
from synthetic import REF_SEQ, row, write_reference, write_vcf

from genolens.errors import ConfigError
from genolens.io.coordmap import INSERTED
from genolens.io.haplotypes import BuildReport
from genolens.io.regions import Region, parse_region
from genolens.io.windows import variant_windows

U = REF_SEQ.upper()


def _windows(tmp_path, rows, width=10, **kw):
    ref = write_reference(tmp_path)
    vcf = write_vcf(tmp_path, rows, ["S1"])
    report = BuildReport()
    pairs = list(variant_windows(ref, vcf, [Region("chrT", 0, 60)], width=width, report=report, **kw))
    return pairs, report


def test_snv_deletion_insertion_windows(tmp_path):
    rows = [row(13, "A", "G", "0|1"), row(40, "AAAT", "A", "0|1"), row(50, "G", "GCC,T", "0|1")]
    pairs, report = _windows(tmp_path, rows)
    by_id = {r.id: (r, a) for r, a in pairs}
    r, a = by_id["chrT:13:A>G|ref"]
    assert r.sequence == U[7:17] and a.sequence == U[7:12] + "G" + U[13:17]
    r, a = by_id["chrT:40:AAAT>A|ref"]
    assert r.sequence == U[34:44]
    assert a.sequence == U[34:40] + U[43:47]  # deletion pulls in right flank
    assert list(a.coords.ref_pos[5:7]) == [39, 43]
    r, a = by_id["chrT:50:G>GCC|ref"]
    assert a.sequence == U[44:50] + "CC" + U[50:52]
    assert list(a.coords.ref_pos[5:9]) == [49, INSERTED, INSERTED, 50]
    assert "chrT:50:G>T|ref" in by_id  # each ALT of a multi-allelic site
    assert all(len(x) == 10 for pair in pairs for x in pair)
    assert report.counts["windows"] == 4


def test_window_outside_contig_is_counted(tmp_path):
    pairs, report = _windows(tmp_path, [row(2, "C", "T", "0|1")], width=10)
    assert pairs == [] and report.counts["window_outside_contig"] == 1


def test_width_must_be_positive(tmp_path):
    with pytest.raises(ConfigError):
        _windows(tmp_path, [row(13, "A", "G", "0|1")], width=1)


def test_real_windows_keep_variant_at_centre(kg_reference, kg_vcf):
    pairs = list(variant_windows(kg_reference, kg_vcf, [parse_region("22:17700001-17740000")], width=100))
    assert len(pairs) > 10
    for r, a in pairs:
        ref_allele, alt_allele = r.meta["variant"].split(":")[2].split(">")
        assert r.sequence[50 : 50 + len(ref_allele)] == ref_allele
        assert a.sequence[50 : 50 + len(alt_allele)] == alt_allele[: 50]
        assert r.sequence[:50] == a.sequence[:50]


def test_windows_over_unknown_reference_are_skipped_as_reference_gap(tmp_path):
    """A partial reference (N where unknown): a window with N is a recorded skip, not an embedded N run or a
    REF mismatch, even when the REF allele itself sits in the gap."""
    gapped = REF_SEQ[:20] + "N" * 5 + REF_SEQ[25:]
    ref = write_reference(tmp_path, gapped)
    rows = [row(13, "A", "G", "0|1"), row(22, U[21], "G", "0|1"), row(30, U[29], "A", "0|1"),
            row(40, "AAAT", "A", "0|1")]
    vcf = write_vcf(tmp_path, rows, ["S1"])
    report = BuildReport()
    pairs = list(variant_windows(ref, vcf, [Region("chrT", 0, 60)], width=10, report=report))
    # chrT:13 (window bases 7-17) and chrT:40 (34-48) miss the gap (20-24); chrT:22 sits in it and the
    # window of chrT:30 (24-34) reaches its last base
    assert [r.meta["variant"] for r, _ in pairs] == ["chrT:13:A>G", "chrT:40:AAAT>A"]
    assert report.counts["reference_gap"] == 2 and "ref_mismatch" not in report.counts
    assert all("N" not in x.sequence for pair in pairs for x in pair)


def test_a_variant_in_overlapping_regions_gives_one_pair(tmp_path):
    ref = write_reference(tmp_path)
    vcf = write_vcf(tmp_path, [row(13, "A", "G", "0|1"), row(40, "AAAT", "A", "0|1")], ["S1"])
    regions = [Region("chrT", 0, 30), Region("chrT", 10, 60)]  # both hold chrT:13
    pairs = list(variant_windows(ref, vcf, regions, width=10))
    assert [r.meta["variant"] for r, _ in pairs] == ["chrT:13:A>G", "chrT:40:AAAT>A"]
