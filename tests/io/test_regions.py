"""Region strings and BED files."""

from __future__ import annotations

import pytest

from genolens.errors import RegionError
from genolens.io.regions import Region, parse_region, read_bed, read_regions

LENGTHS = {"22": 1_000_000, "chrM": 16_569}


def test_spec_is_one_based_inclusive_and_bed_zero_based(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\n22\t100\t200\tgeneA\t0\t-\n")
    assert parse_region("22:101-200") == Region("22", 100, 200)
    (r,) = read_bed(bed)
    assert (r.contig, r.start, r.end, r.name, r.strand) == ("22", 100, 200, "geneA", "-")
    assert r.spec == "22:101-200" and len(r) == 100


def test_commas_single_base_and_whole_contig():
    assert parse_region("22:1,001-2,000") == Region("22", 1000, 2000)
    assert parse_region("22:5") == Region("22", 4, 5)
    assert parse_region("chrM", contig_lengths=LENGTHS) == Region("chrM", 0, 16_569)


def test_region_checks():
    with pytest.raises(RegionError, match="runs past the end"):
        parse_region("22:999,990-1,000,010", contig_lengths=LENGTHS)
    with pytest.raises(RegionError, match="mind the 'chr' prefix"):
        parse_region("chr22:1-10", contig_lengths=LENGTHS)
    with pytest.raises(RegionError, match="end 5 is before start 10"):
        parse_region("22:10-5")
    with pytest.raises(RegionError, match="1-based"):
        parse_region("22:0-5")


def test_duplicate_regions_rejected(tmp_path):
    with pytest.raises(RegionError, match="given twice"):
        read_regions(["22:1-10", "22:1-10"])
