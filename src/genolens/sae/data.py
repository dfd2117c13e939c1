"""Activations for SAE training and evaluation, read from an activation store.

Rows are split into training and held-out sets by *sequence*, never by row,
so an SAE is judged on sequences it has not seen: a sequence is held out when
the CRC32 of its ID falls below ``heldout_fraction`` of the hash range, which
is stable across runs, machines and store layouts.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from genolens.errors import ConfigError
from genolens.sae.config import Provenance
from genolens.store.loader import ShuffledLoader
from genolens.store.reader import ActivationStore


def is_heldout(sequence_id: str, fraction: float) -> bool:
    """Deterministic sequence-level split."""
    return zlib.crc32(sequence_id.encode()) < fraction * 2**32


@dataclass
class StoreSplit:
    """One layer of a store, split by sequence into training and held-out rows."""

    store: ActivationStore
    layer: int
    heldout_fraction: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.heldout_fraction < 1:
            raise ConfigError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction}")
        if self.layer not in self.store.layers:
            raise ConfigError(f"layer {self.layer} is not in the store (layers {list(self.store.layers)})")

    def heldout_rows(self, shard: int) -> np.ndarray:
        """Boolean mask of the shard's rows that belong to held-out sequences."""
        seqs = self.store.shard_sequences(shard)
        held = np.array([is_heldout(s["id"], self.heldout_fraction) for s in seqs], dtype=bool)
        row_seq = self.store.read(shard, "row.seq").numpy()
        return held[row_seq] if len(held) else np.zeros(len(row_seq), dtype=bool)

    def train_batches(self, *, batch_size: int, seed: int, buffer_rows: int = 262_144) -> Callable[[int], Iterator]:
        """``batches(epoch)`` over the training rows, shuffled with bounded memory."""
        loader = ShuffledLoader(
            self.store, layer=self.layer, batch_size=batch_size, seed=seed,
            buffer_rows=max(buffer_rows, batch_size), rows=lambda shard: ~self.heldout_rows(shard),
        )
        return loader.epoch

    def heldout_batches(self, *, batch_size: int = 8192) -> Iterator[torch.Tensor]:
        """Held-out rows in store order."""
        for shard in range(self.store.n_shards):
            mask = torch.from_numpy(self.heldout_rows(shard))
            if not mask.any():
                continue
            acts = self.store.activations(shard, self.layer).float()[mask]
            yield from acts.split(batch_size)

    def n_rows(self) -> tuple[int, int]:
        """(training rows, held-out rows)."""
        held = sum(int(self.heldout_rows(s).sum()) for s in range(self.store.n_shards))
        return self.store.n_rows - held, held

    def provenance(self) -> Provenance:
        cfg = self.store.config
        return Provenance(
            model=cfg.model,
            model_hash=getattr(cfg, "model_hash", "") or "",
            layer=self.layer,
            tokenizer=getattr(cfg, "tokenizer", "") or "",
            store=str(self.store.path),
        )
