"""Fingerprints of a model's weights and tokeniser, recorded with every store and SAE.

An SAE only means something for the model, layer and tokeniser it was trained
on. The weights fingerprint hashes every parameter's name, shape and dtype and
a strided sample of up to 4,096 of its values (the full bytes of a 7B model
would take minutes to hash; any retraining or fine-tuning changes the sample).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

SAMPLE = 4096


def weights_fingerprint(model: nn.Module) -> str:
    """``sha256:`` hex digest over names, shapes, dtypes and sampled values of all parameters and buffers."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().reshape(-1)
        step = max(1, flat.numel() // SAMPLE)
        sample = flat[::step][:SAMPLE].to(torch.float64).cpu().numpy()
        h.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        h.update(np.ascontiguousarray(sample).tobytes())
    return "sha256:" + h.hexdigest()[:32]


def tokenizer_fingerprint(tokenizer: object) -> str:
    """Class name and a hash of the vocabulary (and k for k-mer tokenisers)."""
    vocab = getattr(tokenizer, "vocab", None)
    items = sorted((vocab or {}).items())
    digest = hashlib.sha256(repr(items).encode()).hexdigest()[:16]
    k = getattr(tokenizer, "k", None)
    return f"{type(tokenizer).__name__}{f'(k={k})' if k else ''}:{len(items)}:{digest}"
