"""The sequence writers behind ``genolens sequences``, ``windows``, ``split-fasta`` and ``check-samples``,
called from Python: they return what they wrote, so a notebook needs no output parsing."""

from __future__ import annotations

import pytest

import genolens as gl
from genolens.errors import ConfigError, SampleMismatchError


def test_write_sequences_returns_files_counts_and_sample_match(kg_reference, kg_vcf, tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tage\nHG00096\t30\nNOT_IN_VCF\t40\n")
    with pytest.raises(SampleMismatchError, match="NOT_IN_VCF"):
        gl.io.write_sequences(tmp_path / "x.fa", reference=kg_reference, vcf=kg_vcf, regions=["22:16160001-16161000"],
                              sample_sheet=sheet)
    written = gl.io.write_sequences(tmp_path / "x.fa", reference=kg_reference, vcf=kg_vcf,
                                    regions=["22:16160001-16161000"], sample_sheet=sheet, allow_missing_samples=True)
    assert written.kind == "haplotypes" and written.n == 2  # one sample, two haplotypes
    assert written.samples.common == ["HG00096"] and written.samples.only_in_sheet == ["NOT_IN_VCF"]
    assert written.coords.is_file() and written.report.is_file()
    records = list(gl.io.read_with_sidecar(written.fasta))
    assert [r.id for r in records] == ["HG00096|hap1|22:16160001-16161000", "HG00096|hap2|22:16160001-16161000"]
    assert all(r.coords is not None for r in records)


def test_split_fasta_and_windows(kg_reference, kg_vcf, tmp_path):
    ref = gl.io.write_sequences(tmp_path / "ref.fa", reference=kg_reference,
                                regions=["22:16160001-16161000", "22:16170001-16171000", "22:16180001-16181000"])
    assert ref.kind == "reference" and ref.n == 3
    paths = gl.io.split_fasta(ref.fasta, shards=2, out_dir=tmp_path / "shards")
    assert [p.name for p in paths] == ["shard-000.fa", "shard-001.fa"]
    assert sum(len(list(gl.io.read_with_sidecar(p))) for p in paths) == 3
    with pytest.raises(ConfigError, match="fewer than the 4 shards"):
        gl.io.split_fasta(ref.fasta, shards=4, out_dir=tmp_path / "too_many")
    windows = gl.io.write_variant_windows(tmp_path / "w.fa", reference=kg_reference, vcf=kg_vcf,
                                          regions=["22:16160001-16170000"], width=64)
    assert windows.kind == "windows" and windows.n % 2 == 0 and windows.n > 0
    ids = [r.id for r in gl.io.read_with_sidecar(windows.fasta)]
    assert ids[0].endswith("|ref") and ids[1].endswith("|alt")


def test_check_sample_sheet_counts_missing_values(kg_vcf, tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tbmi\nHG00096\t23.5\nHG00097\tNA\n")
    check = gl.io.check_sample_sheet(sheet, vcf=kg_vcf, numeric=["bmi"])
    assert check.missing == {"bmi": 1} and len(check.sheet) == 2
    assert check.match.common == ["HG00096", "HG00097"]
