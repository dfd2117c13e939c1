"""``genolens sequences`` end to end on the real example."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
from Bio.SeqIO.FastaIO import SimpleFastaParser

from genolens.cli import run
from genolens.io.coordmap import CoordinateMap
from genolens.io.haplotypes import build_haplotypes
from genolens.io.regions import parse_region


def test_haplotypes_with_sample_sheet_and_coordinate_map(kg_reference, kg_vcf, tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tage\nHG00096\t30\nHG00231\t40\n")
    out = tmp_path / "seqs.fa.gz"
    rc = run(["sequences", "--reference", str(kg_reference), "--vcf", str(kg_vcf), "-r", "22:16160001-16180000",
              "--sample-sheet", str(sheet), "--out", str(out)])
    assert rc == 0
    with gzip.open(out, "rt") as fh:
        written = {title.split()[0]: seq for title, seq in SimpleFastaParser(fh)}
    assert list(written) == [f"{s}|hap{h}|22:16160001-16180000" for s in ("HG00096", "HG00231") for h in (1, 2)]
    table = pd.read_csv(tmp_path / "seqs.coords.tsv", sep="\t")
    expected = {r.id: r for r in build_haplotypes(kg_reference, kg_vcf, [parse_region("22:16160001-16180000")],
                                                  samples=["HG00096", "HG00231"])}
    for seq_id, blocks in table.groupby("sequence_id"):
        np.testing.assert_array_equal(CoordinateMap.from_blocks(blocks).ref_pos, expected[seq_id].coords.ref_pos)
        assert written[seq_id] == expected[seq_id].soft_masked()
    assert "del" in set(table["kind"])  # HG00231 carries the 17-bp deletion at 22:16166919
    report = json.loads((tmp_path / "seqs.report.json").read_text())
    assert report["sequences"] == 4 and report["counts"]["applied"] > 0


def test_reference_only_sequences(kg_reference, tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("22\t17000000\t17000100\tgeneX\t0\t-\n")
    out = tmp_path / "ref.fa"
    assert run(["sequences", "--reference", str(kg_reference), "-r", str(bed), "--out", str(out)]) == 0
    with open(out) as fh:
        ((rid, seq),) = list(SimpleFastaParser(fh))
    assert rid.split()[0] == "geneX" and len(seq) == 100
    table = pd.read_csv(tmp_path / "ref.coords.tsv", sep="\t")
    assert table.iloc[0]["strand"] == "-" and table.iloc[0]["ref_start"] == 17000000


def test_windows_command(kg_reference, kg_vcf, tmp_path):
    out = tmp_path / "w.fa"
    rc = run(["windows", "--reference", str(kg_reference), "--vcf", str(kg_vcf), "-r", "22:17700001-17740000",
              "--width", "64", "--out", str(out)])
    assert rc == 0
    with open(out) as fh:
        recs = list(SimpleFastaParser(fh))
    assert len(recs) % 2 == 0 and len(recs) > 20
    assert all(len(s) == 64 for _, s in recs)


def test_n_policy_from_the_command_line(capsys, tmp_path):
    """Default: a window with N in the reference is exit 2 and one line; --n-policy trim builds and says so."""
    from pathlib import Path

    dense = Path(__file__).resolve().parents[2] / "data" / "dense"
    ref = dense / "reference" / "GRCh37_chr22_50-51.3Mb.fa.gz"
    windows = ["22:51016899-51018898", "22:50310815-50312814"]  # CPT1B promoter (no N), ALG12 promoter (N runs)
    args = ["sequences", "--reference", str(ref), "-r", windows[0], "-r", windows[1], "--out", str(tmp_path / "r.fa")]
    assert run(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("genolens: error:") and "22:50310815-50312814" in err[0]
    assert run([*args, "--n-policy", "trim", "--n-min-length", "500"]) == 0
    err = capsys.readouterr().err
    assert "windows: 2 windows, 2 used: 1 trimmed, 1 without n (N policy trim" in err
    report = json.loads((tmp_path / "r.report.json").read_text())
    assert report["sequences"] == 2 and report["windows"]["counts"] == {"trimmed": 1, "without_n": 1}
