"""FASTA reading and writing."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from genolens.errors import SequenceError
from genolens.io.alphabet import detect_alphabet
from genolens.io.fasta import read_fasta, write_fasta


def _fa(tmp_path, text, name="x.fa"):
    p = tmp_path / name
    if name.endswith(".gz"):
        p.write_bytes(gzip.compress(text.encode()))
    else:
        p.write_text(text)
    return p


def test_soft_mask_kept_as_track_and_sequence_upper_cased(tmp_path):
    (rec,) = read_fasta(_fa(tmp_path, ">s1 some description\nACGTacgt\nNNac\n"))
    assert rec.id == "s1" and rec.description == "some description"
    assert rec.sequence == "ACGTACGTNNAC" and rec.alphabet == "dna"
    np.testing.assert_array_equal(rec.mask, [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1])
    assert rec.soft_masked() == "ACGTacgtNNac"


def test_iupac_codes_become_n_by_default(tmp_path):
    (rec,) = read_fasta(_fa(tmp_path, ">s\nACGTRYKMACGTACGTACGTACGTACGTACGTACGTACGT\n"), alphabet="dna")
    assert rec.sequence[:8] == "ACGTNNNN"
    with pytest.raises(SequenceError, match="ambiguity code 'R' at position 5"):
        read_fasta(_fa(tmp_path, ">s\nACGTRY\n"), alphabet="dna", ambiguous="reject")


def test_protein_records(tmp_path):
    recs = read_fasta(_fa(tmp_path, ">p1\nMKTAYIAKQRQISFVKSHFSRQ*\n>p2\nEVQLVESGGGLVQPGGSLRLSCAASGFTFBZ\n"))
    assert [r.alphabet for r in recs] == ["protein", "protein"]
    assert recs[0].sequence.endswith("SRQ")  # trailing stop removed
    assert recs[1].sequence.endswith("FXX")  # B, Z ambiguous -> X


def test_gzip_and_round_trip(tmp_path):
    path = _fa(tmp_path, ">a\nACGTacgtNN\n>b\nTTTT\n", name="in.fa.gz")
    recs = read_fasta(path)
    out = tmp_path / "out.fa.gz"
    assert write_fasta(recs, out, line_width=4) == 2
    again = read_fasta(out)
    assert [(r.id, r.soft_masked()) for r in again] == [("a", "ACGTacgtNN"), ("b", "TTTT")]


def test_a_byte_order_mark_is_read_past(tmp_path):
    path = tmp_path / "bom.fa"
    path.write_bytes("\ufeff>a\nACGT\n".encode())
    recs = read_fasta(path)
    assert recs[0].id == "a" and recs[0].sequence == "ACGT"


def test_blank_lines_and_windows_newlines(tmp_path):
    recs = read_fasta(_fa(tmp_path, "\n>a\r\nACGT\r\n\r\nACGT\r\n"))
    assert recs[0].sequence == "ACGTACGT"


@pytest.mark.parametrize(("seq", "expected"), [
    ("ACGTACGTNNNN", "dna"), ("MKTAYIAKQRQ", "protein"), ("ACDEFGHIK", "protein"), ("ACGTRYACGTACGTACGTAC", "dna"),
])
def test_detect_alphabet(seq, expected):
    assert detect_alphabet(seq) == expected
