"""The protein path end to end: AntiBERTy activations, per-residue TSV concepts, residues in contexts, no motifs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from genolens.cli import run
from genolens.io.fasta import read_fasta

FASTA = Path(__file__).resolve().parents[2] / "data" / "example" / "antibodies_vh.fa"


@pytest.fixture(scope="module")
def protein_run(tmp_path_factory):
    from genolens.adapters import load_adapter
    from genolens.provenance import Provenance
    from genolens.sae.config import TrainConfig, make_config
    from genolens.sae.trainer import train_saes
    from genolens.store import ActivationStore, ShuffledLoader, StoreConfig, write_store

    root = tmp_path_factory.mktemp("protein")
    records = read_fasta(FASTA)
    adapter = load_adapter("antiberty")
    config = StoreConfig(model="antiberty", family=adapter.family, layers=(1,), hidden_size=adapter.hidden_size)
    write_store(records, adapter, root / "store", config=config)
    loader = ShuffledLoader(ActivationStore(root / "store"), layer=1, batch_size=512, seed=0, buffer_rows=8192)
    cfg = make_config("topk", d_in=adapter.hidden_size, d_sae=64, k=4,
                    provenance=Provenance(model="antiberty", layer=1))
    (sae,) = train_saes(loader.epoch, [cfg], TrainConfig(total_tokens=512 * 250, batch_size=512, lr=2e-3,
                                                         warmup_steps=10, init_tokens=4096), root / "sae",
                        progress=False)
    rows = [(r.id, {"C": "cysteine", "W": "tryptophan"}[ch], i + 1, i + 1)
            for r in records for i, ch in enumerate(r.sequence) if ch in "CW"]
    pd.DataFrame(rows, columns=["sequence_id", "concept", "start", "end"]).to_csv(root / "residues.tsv", sep="\t",
                                                                                  index=False)
    code = run(["annotate", "--sae", str(root / "sae" / sae.cfg.name), "--store", str(root / "store"),
                "--annotations", str(root / "residues.tsv"), "--sequences", str(FASTA), "--out", str(root / "ann")])
    assert code == 0
    return root, {r.id: r.sequence for r in records}


def test_residue_concepts_have_a_feature_each(protein_run):
    root, _ = protein_run
    best = pd.read_csv(root / "ann" / "best_features.tsv", sep="\t").set_index("concept")
    assert best.loc["tryptophan", "f1_test"] > 0.8
    assert best.loc["cysteine", "f1_test"] > 0.4
    assert best.loc["tryptophan", "feature"] != best.loc["cysteine", "feature"]


def test_protein_contexts_are_residues_and_no_motifs_are_made(protein_run, tmp_path):
    root, seqs = protein_run
    meta = json.loads((root / "ann" / "annotate.json").read_text())
    assert meta["alphabet"] == "protein" and meta["motif_database_size"] == 0
    assert not (root / "ann" / "motifs.tsv").exists()
    ctx = pd.read_csv(root / "ann" / "contexts.tsv", sep="\t", keep_default_na=False)
    for rec in ctx.head(50).itertuples():
        assert rec.bases == seqs[rec.sequence_id][rec.window_start : rec.window_end]
    assert run(["dashboard", "--in", str(root / "ann"), "--out", str(tmp_path / "html"), "--max-pages", "5"]) == 0
    assert "data:image/png" not in (tmp_path / "html" / "index.html").read_text()
