"""``genolens annotate``: the output folder, and bad input -> exit 2 with one line."""

from __future__ import annotations

import json

import pandas as pd

from genolens.cli import run
from genolens.sae.checkpoint import save_sae
from genolens.sae.config import SAEConfig
from genolens.sae.registry import build_sae


def test_annotate_writes_every_part(planted):
    ann = planted["ann"]
    meta = json.loads((ann / "annotate.json").read_text())
    assert meta["encoding-type"] == "genolens.feature-annotations"
    assert meta["alphabet"] == "dna" and meta["layer"] == 2 and meta["d_sae"] == 128
    assert meta["config"]["motif"]["n_shuffles"] == 50
    for name in ("features.tsv", "summary.npz", "contexts.tsv", "concepts.npz", "best_concepts.tsv",
                 "best_features.tsv", "motifs.tsv", "pwms.npz"):
        assert (ann / name).is_file(), name
    features = pd.read_csv(ann / "features.tsv", sep="\t")
    assert len(features) == 128
    assert {"frequency", "mean", "max", "concept", "concept_f1_test", "motif_matrix_id"} <= set(features.columns)
    assert any((ann / "logos").glob("feature_*.png"))


def _one_line_error(capsys, argv, needle):
    code = run(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("genolens: error:") and "\n" not in err and "Traceback" not in err
    assert needle in err, err


def test_annotate_error_paths(planted, tmp_path, capsys):
    base = ["annotate", "--sae", str(planted["sae"]), "--store", str(planted["store"]), "--out", str(tmp_path / "o")]
    _one_line_error(capsys, ["annotate", "--sae", str(planted["sae"]), "--store", str(tmp_path / "nostore"),
                             "--out", str(tmp_path / "o")], "not an activation store")
    _one_line_error(capsys, ["annotate", "--sae", str(tmp_path), "--store", str(planted["store"]),
                             "--out", str(tmp_path / "o")], "not an SAE directory")
    _one_line_error(capsys, [*base, "--thresholds", "0,high"], "--thresholds expects numbers")
    _one_line_error(capsys, [*base, "--thresholds", "0,1.5"], "thresholds must be in [0, 1)")
    _one_line_error(capsys, [*base, "--contig-map", "22chr22"], "--contig-map expects STORE=ANNOTATION")
    _one_line_error(capsys, [*base, "--recall", "domain"], "recall must be 'instance' or 'row'")
    odd = tmp_path / "a.vcf"
    odd.write_text("x\n")
    _one_line_error(capsys, [*base, "--annotations", str(odd)], "cannot tell the annotation format")
    gtf = tmp_path / "genes.gtf"
    gtf.write_text("chr1\tx\texon\t1\t10\t.\t+\t.\tgene_id \"g\"; transcript_id \"t\";\n")
    _one_line_error(capsys, [*base, "--annotations", str(gtf)], "needs stored sequences with reference coordinates")
    fasta = tmp_path / "wrong.fa"
    fasta.write_text(">zz\nACGT\n")
    _one_line_error(capsys, [*base, "--sequences", str(fasta)], "wrong.fa: record 's0': a sequence of the store is")
    fasta.write_text(planted["fasta"].read_text().replace(">s0\n", ">s0\nA"))
    _one_line_error(capsys, [*base, "--sequences", str(fasta)], "record 's0': sequence has 301 bases, the store says")
    _one_line_error(capsys, [*base, "--layer", "5"], "layer 5")
    narrow = save_sae(build_sae(SAEConfig(architecture="topk", d_in=16, d_sae=32, k=4)), tmp_path / "narrow")
    _one_line_error(capsys, ["annotate", "--sae", str(narrow), "--store", str(planted["store"]),
                             "--out", str(tmp_path / "o")], "16-dimensional")
    (tmp_path / "file").write_text("")
    _one_line_error(capsys, ["annotate", "--sae", str(planted["sae"]), "--store", str(planted["store"]),
                             "--out", str(tmp_path / "file")], "not a folder")

