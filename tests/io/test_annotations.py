"""Annotation tracks: GTF-derived tracks against independently derived BEDs (tests/data/annotation)."""

from __future__ import annotations

import numpy as np
import pytest
from testpaths import ANNOTATION_BEDS, GTF

from genolens.errors import InputFormatError
from genolens.io.annotations import annotation_tracks, bed_track, gff_tracks, read_gff
from genolens.io.regions import Region

REGION = Region("22", 17_000_000, 22_000_000)


@pytest.fixture(scope="module")
def tracks():
    return annotation_tracks(GTF, REGION, contig="chr22")


def test_exon_and_promoter_tracks_match_independent_beds(tracks):
    exons = bed_track(ANNOTATION_BEDS / "hg19_chr22_refseq_exons_16-22Mb.bed", REGION, contig="chr22")
    promoters = bed_track(
        ANNOTATION_BEDS / "hg19_chr22_refseq_promoters_TSS-1000+500_16-22Mb.bed", REGION, contig="chr22"
    )
    assert exons.values.sum() > 10_000
    np.testing.assert_array_equal(tracks["exon"], exons.values[0])
    np.testing.assert_array_equal(tracks["promoter"], promoters.values[0])


def test_track_relations_hold(tracks):
    assert not (tracks["intron"] & tracks["exon"]).all()
    assert (tracks["splice_donor"] <= tracks["intron"]).all()
    assert (tracks["UTR"] <= tracks["exon"]).all()
    assert (tracks["CDS"] <= tracks["exon"]).all()
    assert tracks["CDS"].sum() > 0 and tracks["UTR"].sum() > 0 and tracks["splice_acceptor"].sum() > 0


def test_splice_sites_are_mostly_canonical(tracks, kg_reference):
    from genolens.io.reference import Reference

    with Reference(kg_reference) as ref:
        seq = np.frombuffer(ref.fetch(REGION).upper().encode(), dtype=np.uint8)
    for label, motifs in (("splice_donor", ("GT", "AC")), ("splice_acceptor", ("AG", "CT"))):
        # isolated 2-base runs are single sites: GT..AG on + strand, reverse complements on -
        edges = np.diff(np.concatenate([[0], tracks[label].astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        pairs = [seq[a:b].tobytes().decode() for a, b in zip(starts, ends, strict=True) if b - a == 2]
        assert len(pairs) > 100
        assert sum(p in motifs for p in pairs) / len(pairs) > 0.95, label


def _gff3(tmp_path, text):
    p = tmp_path / "a.gff3"
    p.write_text("##gff-version 3\n" + text)
    return p


def test_gff3_minus_strand_transcript(tmp_path):
    rows = [
        "c\t.\tmRNA\t101\t400\t.\t-\t.\tID=t1",
        "c\t.\texon\t101\t150\t.\t-\t.\tParent=t1",
        "c\t.\texon\t301\t400\t.\t-\t.\tParent=t1",
        "c\t.\tCDS\t131\t150\t.\t-\t0\tParent=t1",
        "c\t.\tCDS\t301\t350\t.\t-\t0\tParent=t1",
    ]
    region = Region("c", 0, 1000)
    t = gff_tracks(read_gff(_gff3(tmp_path, "\n".join(rows) + "\n")), region, promoter_upstream=10,
                   promoter_downstream=5)
    # TSS of a minus-strand transcript is its right end (0-based 399): promoter 395..409
    assert np.flatnonzero(t["promoter"]).tolist() == list(range(395, 410))
    # intron 150..299; on the minus strand the donor is at its right end
    assert np.flatnonzero(t["splice_donor"]).tolist() == [298, 299]
    assert np.flatnonzero(t["splice_acceptor"]).tolist() == [150, 151]
    assert np.flatnonzero(t["five_prime_UTR"]).tolist() == list(range(350, 400))
    assert np.flatnonzero(t["three_prime_UTR"]).tolist() == list(range(100, 130))


def test_bad_gff_rows_raise_with_line(tmp_path):
    with pytest.raises(InputFormatError, match="line 2"):
        read_gff(_gff3(tmp_path, "c\t.\texon\t10\n"))
    with pytest.raises(InputFormatError, match="integers"):
        read_gff(_gff3(tmp_path, "c\t.\texon\tten\t20\t.\t+\t.\tID=x\n"))
