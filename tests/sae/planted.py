"""Synthetic activations with planted ground truth: sparse combinations of a known dictionary."""

from __future__ import annotations

import torch


def planted_dictionary(*, d: int = 32, n_atoms: int = 128, k: int = 4, batch: int = 2048, n_batches: int = 20,
                       noise: float = 0.01, seed: int = 0):
    """Return (atoms [n_atoms, d], batches(epoch)) where each token mixes ``k`` random atoms."""
    g = torch.Generator().manual_seed(seed)
    atoms = torch.nn.functional.normalize(torch.randn(n_atoms, d, generator=g), dim=1)
    offset = torch.randn(d, generator=g)

    def batches(epoch: int):
        gg = torch.Generator().manual_seed(seed * 7919 + epoch + 1)
        for _ in range(n_batches):
            idx = torch.rand(batch, n_atoms, generator=gg).argsort(1)[:, :k]
            mags = 0.5 + torch.rand(batch, k, generator=gg)
            x = torch.zeros(batch, n_atoms).scatter(1, idx, mags) @ atoms
            yield 3.0 * x + offset + noise * torch.randn(batch, d, generator=gg)

    return atoms, batches
