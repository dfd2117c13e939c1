"""Every malformed input exits with status 2 and one line naming the file and the problem.

The corpus lives in tests/data/malformed/ (made by make_corpus.py there).
"""

from __future__ import annotations

import pytest
from testpaths import TESTDATA

from genolens.cli import run

M = TESTDATA / "malformed"
REF = str(M / "ref.fa")
GOOD_VCF = str(M / "good.vcf.gz")


def fasta(name, *extra):
    return ["sequences", "--fasta", str(M / name), *extra]


def hap(vcf=GOOD_VCF, region="chrT:1-60", *extra, ref=REF):
    return ["sequences", "--reference", ref, "--vcf", vcf, "-r", region, *extra]


CASES = {
    # name: (argv, file named in the message, words that must appear)
    "truncated gzip FASTA": (fasta("truncated.fa.gz"), "truncated.fa.gz", "truncated"),
    "FASTA ending in a header": (fasta("header_only.fa"), "header_only.fa", "empty sequence"),
    "digit in sequence": (fasta("bad_chars.fa"), "bad_chars.fa", "'7' at position 7"),
    "gap in sequence": (fasta("gap_chars.fa"), "gap_chars.fa", "'-' at position 5"),
    "duplicate FASTA IDs": (fasta("duplicate_ids.fa"), "duplicate_ids.fa", "duplicate sequence ID"),
    "empty FASTA": (fasta("empty.fa"), "empty.fa", "empty"),
    "FASTA without header": (fasta("no_header.fa"), "no_header.fa", "expected a FASTA header"),
    "empty FASTA ID": (fasta("empty_id.fa"), "empty_id.fa", "empty sequence ID"),
    "FASTQ given as FASTA": (fasta("reads.fastq"), "reads.fastq", "expected a FASTA header"),
    "mixed DNA and protein": (fasta("mixed_alphabet.fa"), "mixed_alphabet.fa", "looks like protein"),
    "ambiguity code rejected": (fasta("ambiguous.fa", "--alphabet", "dna", "--ambiguous", "reject"),
                                "ambiguous.fa", "ambiguity code 'R'"),
    "internal stop codon": (fasta("internal_stop.fa", "--alphabet", "protein"), "internal_stop.fa", "'*'"),
    "binary file": (fasta("binary.fa"), "binary.fa", "not a text file"),
    "missing file": (fasta("does_not_exist.fa"), "does_not_exist.fa", "does not exist"),
    "VCF without index": (hap(str(M / "noindex.vcf.gz")), "noindex.vcf.gz", "no index"),
    "not a VCF": (hap(str(M / "not_a_vcf.vcf")), "not_a_vcf.vcf", "cannot read as VCF"),
    "REF mismatch": (hap(str(M / "ref_mismatch.vcf.gz")), "ref_mismatch.vcf.gz", "does not match the reference"),
    "unphased heterozygous": (hap(str(M / "unphased.vcf.gz")), "chrT:5", "unphased heterozygous"),
    "region outside contig": (hap(GOOD_VCF, "chrT:50-80"), "chrT:50-80", "runs past the end"),
    "unparseable region": (hap(GOOD_VCF, "chrT:abc"), "chrT:abc", "cannot parse region"),
    "unknown contig": (hap(GOOD_VCF, "chr1:1-10"), "chr1", "not in the reference"),
    "BED non-integer start": (hap(GOOD_VCF, str(M / "regions_bad.bed")), "regions_bad.bed", "line 2"),
    "BED region outside contig": (hap(GOOD_VCF, str(M / "regions_outside.bed")), "regions_outside.bed", "runs past"),
    "BED too few columns": (hap(GOOD_VCF, str(M / "regions_few_columns.bed")), "regions_few_columns.bed", "columns"),
    "plain-gzip reference": (hap(ref=str(M / "ref_plain_gzip.fa.gz")), "ref_plain_gzip.fa.gz", "bgzip"),
    "sample not in VCF": (hap(GOOD_VCF, "chrT:1-60", "--samples", "S1,S7"), "good.vcf.gz", "S7"),
    "sheet sample not in VCF": (
        hap(GOOD_VCF, "chrT:1-60", "--sample-sheet", str(M / "sheet_missing_sample.tsv")),
        "sheet_missing_sample.tsv", "not in the VCF: S9",
    ),
    "duplicate sheet IDs": (
        ["check-samples", "--sheet", str(M / "sheet_duplicate.tsv")], "sheet_duplicate.tsv", "duplicate sample ID 'S1'"
    ),
    "wrong column type": (
        ["check-samples", "--sheet", str(M / "sheet_wrong_type.tsv"), "--numeric", "age"],
        "sheet_wrong_type.tsv", "line 3: column 'age' must be numeric, found 'forty'",
    ),
    "no ID column": (
        ["check-samples", "--sheet", str(M / "sheet_no_id.tsv")], "sheet_no_id.tsv", "no sample ID column"
    ),
    "decimal comma in a sheet": (
        ["check-samples", "--sheet", str(M / "sheet_decimal_comma.tsv")], "sheet_decimal_comma.tsv",
        "line 3: column 'bmi' holds numbers with a decimal comma ('23,5')",
    ),
    "decimal comma in a numeric column": (
        ["check-samples", "--sheet", str(M / "sheet_decimal_comma.tsv"), "--numeric", "bmi"],
        "sheet_decimal_comma.tsv", "line 3: column 'bmi' must be numeric, found '23,5' (a decimal comma",
    ),
    "ragged CSV row": (["check-samples", "--sheet", str(M / "sheet_ragged.csv")], "sheet_ragged.csv", "line 3"),
    "bad policy value": (hap(GOOD_VCF, "chrT:1-60", "--missing", "maybe"), "missing", "must be one of"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_input_exits_2_with_one_clear_line(case, capsys, tmp_path):
    argv, named, words = CASES[case]
    rc = run([*argv, "--out", str(tmp_path / "out.fa")] if argv[0] == "sequences" else argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("genolens: error:")
    assert named in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out.fa").exists()  # nothing half-written


def test_at_least_fifteen_malformed_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("argv", [["embed"], ["nosuchcommand"], ["sequences", "--out"]])
def test_usage_errors_exit_2_without_traceback(argv, capsys):
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "Error:" in err and "Traceback" not in err
