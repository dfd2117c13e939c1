"""Stream shuffled batches of one layer's activations for SAE training, with bounded memory.

Each epoch visits the shards in a random order (seeded), loads them one at a
time into a buffer of at most ``buffer_rows`` rows (plus the shard being added),
and whenever the buffer is full shuffles it and emits batches from it, keeping
the leftover rows that do not fill a batch. Every stored row (or, with
``rows=``, every selected row) appears exactly once per epoch; memory never
exceeds ``buffer_rows`` + one shard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from genolens.errors import ConfigError
from genolens.store.reader import ActivationStore


class ShuffledLoader:
    """Iterate ``[batch_size, dim]`` float32 batches of ``layer``; ``epoch(e)`` gives epoch ``e``'s order.

    Shards are visited in a seeded random order and their rows shuffled within a buffer, so at most
    ``buffer_rows`` rows plus one shard are held in memory.

    Parameters
    ----------
    store
        The store to read.
    layer
        Store layer whose activations are served.
    batch_size
        Rows per batch.
    seed
        Seed of the shard order and of the shuffles (with the epoch number).
    buffer_rows
        Rows gathered before they are shuffled and served (at least ``batch_size``).
    drop_last
        Drop the last, short batch of an epoch.
    rows
        Shard index -> boolean mask of the rows to use (e.g. a training / held-out split).
    """

    def __init__(
        self,
        store: ActivationStore,
        *,
        layer: int,
        batch_size: int,
        seed: int,
        buffer_rows: int = 262_144,
        drop_last: bool = False,
        rows: Callable[[int], np.ndarray] | None = None,
    ) -> None:
        if batch_size <= 0:
            raise ConfigError(f"batch_size must be > 0, got {batch_size}")
        if buffer_rows < batch_size:
            raise ConfigError(f"buffer_rows must be >= batch_size ({batch_size}), got {buffer_rows}")
        if layer not in store.layers:
            raise ConfigError(f"layer {layer} is not in the store (layers {list(store.layers)})")
        self.store = store
        self.layer = layer
        self.batch_size = batch_size
        self.seed = seed
        self.buffer_rows = buffer_rows
        self.drop_last = drop_last
        self.rows = rows  # shard index -> boolean mask of the rows to use (e.g. a train/held-out split)
        self.peak_rows = 0  # largest number of rows held at once (for tests and tuning)

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self.epoch(0)

    def epoch(self, epoch: int) -> Iterator[torch.Tensor]:
        """The batches of one epoch, in an order fixed by ``seed`` and ``epoch``.

        Parameters
        ----------
        epoch
            Epoch number (each gives another order).

        Yields
        ------
        torch.Tensor
            ``[batch_size, dim]`` float32 (the last one shorter unless ``drop_last``).
        """
        rng = np.random.default_rng([self.seed, epoch])
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        buffer: list[torch.Tensor] = []
        held = 0
        for shard in rng.permutation(self.store.n_shards):
            acts = self.store.activations(int(shard), self.layer).float()
            if self.rows is not None:
                acts = acts[torch.from_numpy(np.asarray(self.rows(int(shard)), dtype=bool))]
            buffer.append(acts)
            held += acts.shape[0]
            self.peak_rows = max(self.peak_rows, held)
            if held >= self.buffer_rows:
                buffer, held = yield from self._drain(buffer, generator, final=False)
        yield from self._drain(buffer, generator, final=True)

    def _drain(self, buffer: list[torch.Tensor], generator: torch.Generator, *, final: bool):  # noqa: ANN202
        if not buffer:
            return [], 0
        rows = torch.cat(buffer)
        rows = rows[torch.randperm(rows.shape[0], generator=generator)]
        n_full = rows.shape[0] // self.batch_size * self.batch_size
        for start in range(0, n_full, self.batch_size):
            yield rows[start : start + self.batch_size]
        rest = rows[n_full:]
        if final:
            if rest.shape[0] and not self.drop_last:
                yield rest
            return [], 0
        return [rest], int(rest.shape[0])
