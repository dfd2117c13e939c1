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
from genolens.provenance import Provenance
from genolens.store.loader import ShuffledLoader
from genolens.store.reader import ActivationStore


@dataclass(frozen=True)
class TokenBudget:
    """What a training budget of ``tokens`` rows means for ``train_rows`` rows of data."""

    tokens: int
    train_rows: int

    def __post_init__(self) -> None:
        if self.tokens <= 0 or self.train_rows <= 0:
            raise ConfigError(f"tokens and train_rows must be > 0, got {self.tokens} and {self.train_rows}")

    @property
    def epochs(self) -> float:
        """Passes over the training rows (1.0 = each row seen once)."""
        return self.tokens / self.train_rows

    def describe(self) -> str:
        return f"{self.tokens:,} tokens = {self.epochs:.2f} passes over the {self.train_rows:,} training rows"

    def warning(self, *, max_epochs: float) -> str | None:
        """A warning when the budget repeats the data more than ``max_epochs`` times, else None."""
        if self.epochs <= max_epochs:
            return None
        return (f"--tokens {self.tokens:,} is {self.epochs:.1f} passes over the store's {self.train_rows:,} training "
                f"rows (more than {max_epochs:g}): the SAE will see each row many times and may overfit; embed more "
                "sequences or lower --tokens (--warn-epochs sets this threshold)")


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
        return Provenance.of_store(self.store, layer=self.layer)
