"""Every released store format version stays readable (fixtures under tests/data/store_v*)."""

from __future__ import annotations

from pathlib import Path

import torch

from genolens.adapters.hyena import HyenaAdapter
from genolens.io.fasta import read_fasta
from genolens.store import ActivationStore

DATA = Path(__file__).resolve().parents[1] / "data"


def test_reads_format_0_1_0():
    root = DATA / "store_v0_1_0"
    store = ActivationStore(root / "store")
    assert store.version == "0.1.0" and store.complete and store.n_shards == 2
    assert store.layers == (1, 3) and store.config.hidden_size == 8
    records = read_fasta(root / "input.fa")
    assert store.sequences["id"].tolist() == ["a", "b", "c"]
    assert store.sequences["rows"].tolist() == [len(r) for r in records]
    # values: the fixture's own tiny model, run now, gives what the old store holds
    expected = HyenaAdapter.from_pretrained(root / "model").embed(records, layers=[1, 3]).sequences
    for rec, exp in zip(records, expected, strict=True):
        for layer in (1, 3):
            acts, spans = store.sequence(rec.id, layer)
            torch.testing.assert_close(acts, exp.layers[layer], atol=1e-5, rtol=0)
            assert spans[:, 0].tolist() == list(range(len(rec)))
