"""Length-bucketed batching: sort by length, fill each batch up to a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class BatchPlan:
    """Batches of item indices and the padding they cost."""

    batches: list[list[int]]
    real_tokens: int
    padded_tokens: int

    @property
    def padding_waste(self) -> float:
        """Fraction of computed token slots that are padding."""
        return padding_waste(self.real_tokens, self.padded_tokens)


def padding_waste(real_tokens: int, padded_tokens: int) -> float:
    """Fraction of computed token slots that are padding (0 when nothing was computed).

    Parameters
    ----------
    real_tokens
        Tokens of the sequences themselves.
    padded_tokens
        Token slots computed, padding included.

    Returns
    -------
    float
        ``1 - real / padded``.
    """
    return 1.0 - real_tokens / padded_tokens if padded_tokens else 0.0


def plan_batches(lengths: Sequence[int], *, batch_tokens: int, batch_overhead: int = 128) -> BatchPlan:
    """Split items into batches of similar length, computing as few padded tokens as possible.

    Items are sorted longest first (ties keep input order, so the plan is deterministic) and
    cut into consecutive runs by dynamic programming that minimises ``padded tokens +
    batch_overhead * n_batches`` subject to ``n_items * longest <= batch_tokens`` (an item
    longer than the budget goes alone). ``batch_overhead`` prices a forward pass in tokens,
    so that small batches are not split off for a few tokens of padding; a lone outlier (one
    long sequence among short ones) gets a batch of its own instead of padding all others.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    n = len(order)
    if n == 0:
        return BatchPlan([], 0, 0)
    sl = np.asarray([lengths[i] for i in order], dtype=np.int64)
    cost = np.full(n + 1, np.inf)
    cost[0] = 0.0
    cut = np.zeros(n + 1, dtype=np.int64)
    max_items = np.maximum(1, batch_tokens // np.maximum(sl, 1))  # batch starting at i holds <= max_items[i]
    for j in range(1, n + 1):
        starts = np.arange(max(0, j - int(max_items.max())), j)
        starts = starts[j - starts <= max_items[starts]]
        total = cost[starts] + sl[starts] * (j - starts) + batch_overhead
        best = int(np.argmin(total))
        cost[j], cut[j] = total[best], starts[best]
    bounds = []
    j = n
    while j > 0:
        bounds.append((int(cut[j]), j))
        j = int(cut[j])
    batches = [[order[k] for k in range(a, b)] for a, b in reversed(bounds)]
    padded = int(sum(sl[a] * (b - a) for a, b in bounds))
    return BatchPlan(batches, int(sl.sum()), padded)


def pad_batch(ids: list[np.ndarray], *, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``input_ids`` and ``attention_mask`` (1 = real token)."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = x
        mask[row, : len(x)] = 1
    return torch.from_numpy(input_ids), torch.from_numpy(mask)
