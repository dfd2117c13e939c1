"""``genolens annotate``: the output folder, and bad input -> exit 2 with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from genolens.cli import run
from genolens.features.contexts import read_contexts
from genolens.io.fasta import read_fasta
from genolens.sae.checkpoint import save_sae
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae

OLD_STORE = Path(__file__).resolve().parents[1] / "data" / "store_v0_1_0"


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
    assert not (ann / "logos").exists()  # logos are drawn by the dashboard, for its pages only


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
    _one_line_error(capsys, [*base, "--thresholds", "0,high"], "--thresholds takes comma-separated float values")
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
    text = planted["fasta"].read_text()
    first = text.index("\n", text.index(">s0")) + 1
    fasta.write_text(text[:first] + ("C" if text[first] != "C" else "G") + text[first + 1 :])  # same length
    _one_line_error(capsys, [*base, "--sequences", str(fasta)],
                    "record 's0': sequence differs from the one the store was embedded from")
    _one_line_error(capsys, [*base, "--layer", "5"], "layer 5")
    narrow = save_sae(build_sae(make_config("topk", d_in=16, d_sae=32, k=4)), tmp_path / "narrow")
    _one_line_error(capsys, ["annotate", "--sae", str(narrow), "--store", str(planted["store"]),
                             "--out", str(tmp_path / "o")], "16-dimensional")
    (tmp_path / "file").write_text("")
    _one_line_error(capsys, ["annotate", "--sae", str(planted["sae"]), "--store", str(planted["store"]),
                             "--out", str(tmp_path / "file")], "not a folder")



def test_annotate_takes_the_bases_from_a_0_3_0_store(planted, tmp_path):
    """No --sequences: contexts and the alphabet come from the store, equal to the run given the FASTA."""
    out = tmp_path / "ann"
    assert run(["annotate", "--sae", str(planted["sae"]), "--store", str(planted["store"]), "--no-motifs",
                "--out", str(out)]) == 0
    meta = json.loads((out / "annotate.json").read_text())
    assert meta["alphabet"] == "dna" and meta["has_sequences"] and meta["inputs"]["sequences"] == "store"
    ours = read_contexts(out / "contexts.tsv")
    with_fasta = read_contexts(planted["ann"] / "contexts.tsv")
    assert len(ours) > 100 and ours["bases"].tolist() == with_fasta["bases"].tolist()
    fasta = {r.id: r.sequence for r in read_fasta(planted["fasta"])}
    for ctx in ours.itertuples():
        assert ctx.bases == fasta[ctx.sequence_id][ctx.window_start : ctx.window_end]


def test_annotate_on_a_store_without_bases_needs_the_fasta(tmp_path, capsys):
    sae = save_sae(build_sae(make_config("topk", d_in=8, d_sae=16, k=2)), tmp_path / "sae")
    base = ["annotate", "--sae", str(sae), "--store", str(OLD_STORE / "store"), "--layer", "3", "--no-motifs",
            "--top-n", "2", "--flank", "2"]
    _one_line_error(capsys, [*base, "--out", str(tmp_path / "a")],
                    "the store (format 0.1.0) keeps no bases, and no --sequences were given")
    assert run([*base, "--sequences", str(OLD_STORE / "input.fa"), "--out", str(tmp_path / "b")]) == 0
    contexts = read_contexts(tmp_path / "b" / "contexts.tsv")
    fasta = {r.id: r.sequence for r in read_fasta(OLD_STORE / "input.fa")}
    assert len(contexts) > 0
    assert all(c.bases == fasta[c.sequence_id][c.window_start : c.window_end] for c in contexts.itertuples())
