"""Sequence-level train/held-out split over a store, and the loader's row selection."""

from __future__ import annotations

import numpy as np
import torch

from genolens.cli import run
from genolens.sae.data import StoreSplit, is_heldout
from genolens.store.reader import ActivationStore


def test_split_is_by_sequence_and_complete(tmp_path):
    fasta = tmp_path / "s.fa"
    rng = np.random.default_rng(0)
    fasta.write_text("".join(f">s{i}\n{''.join(rng.choice(list('ACGT'), 300))}\n" for i in range(40)))
    store = tmp_path / "store"
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "1", "--input", str(fasta), "--out", str(store),
                "--shard-size", "2000", "--quiet"]) == 0
    split = StoreSplit(ActivationStore(store), 1, heldout_fraction=0.25)
    n_train, n_held = split.n_rows()
    held_ids = [f"s{i}" for i in range(40) if is_heldout(f"s{i}", 0.25)]
    assert 0 < len(held_ids) < 40
    assert n_held == 300 * len(held_ids)  # one token per base; whole sequences held out
    assert n_train + n_held == split.store.n_rows
    train_rows = sum(b.shape[0] for b in split.train_batches(batch_size=256, seed=0)(0))
    held_rows = sum(b.shape[0] for b in split.heldout_batches(batch_size=256))
    assert (train_rows, held_rows) == (n_train, n_held)
    # the held-out rows are exactly those of the held-out sequences
    first = next(iter(split.heldout_batches(batch_size=10_000)))
    shard0 = ActivationStore(store)
    ids = [s["id"] for s in shard0.shard_sequences(0)]
    row_seq = shard0.read(0, "row.seq").numpy()
    mask = np.array([is_heldout(ids[j], 0.25) for j in row_seq])
    if mask.any():
        torch.testing.assert_close(first[: int(mask.sum())], shard0.activations(0, 1).float()[torch.from_numpy(mask)])
