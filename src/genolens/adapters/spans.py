"""From per-token activations to per-base ones.

Rule: a token's activation is assigned to every base it covers (a 6-mer's to
its six bases, a BPE token's to all of its bases, a single-base token's to its
base); special tokens cover no base and are dropped. Each base is covered by
exactly one token for every supported tokeniser; a base no token covers (it
cannot happen with them) gets NaN.
"""

from __future__ import annotations

import numpy as np
import torch


def base_to_token(spans: np.ndarray, length: int) -> np.ndarray:
    """For each of ``length`` bases, the index of the (non-special) token covering it, or -1."""
    spans = np.asarray(spans, dtype=np.int64)
    index = np.full(length, -1, dtype=np.int64)
    real = np.flatnonzero(spans[:, 0] >= 0)
    widths = spans[real, 1] - spans[real, 0]
    if real.size:
        bases = np.concatenate([np.arange(s, e) for s, e in spans[real]]) if widths.max() > 1 else spans[real, 0]
        index[bases] = np.repeat(real, widths)
    return index


def per_base(acts: torch.Tensor, spans: np.ndarray, length: int) -> torch.Tensor:
    """``[length, dim]`` per-base activations from ``[tokens, dim]`` per-token ones (rule above)."""
    index = base_to_token(spans, length)
    out = acts[torch.from_numpy(np.maximum(index, 0))].clone()
    missing = index < 0
    if missing.any():
        out[torch.from_numpy(missing)] = float("nan")
    return out
