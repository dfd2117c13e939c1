"""Evo 2 (StripedHyena 2 DNA language models, Arc Institute), behind the ``evo2`` extra.

The ``evo2`` package (``pip install 'genolens[evo2]'`` on a CUDA machine with
Transformer Engine / flash-attention) downloads and runs the checkpoints; short
names are its own (``evo2_7b``, ``evo2_40b``, ``evo2_1b_base`` ...). Tokenisation is
byte level (one token per base, the byte value, no special tokens), done here
so spans are exact.

Layers: 0 is the embedding layer's output, ``l`` the output of block ``l``
(``model.blocks[l-1]``; the residual stream), the last the final norm. The
forward pass stops after the deepest requested block like every adapter.
Not tested against the real model here (no GPU in CI); the tokeniser and the
error paths are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from genolens.adapters.base import Adapter, DType, LoadOptions
from genolens.adapters.optional import require
from genolens.adapters.tokens import Tokenized

EVO2_CONTEXT = 8192  # the base models' context; long-context variants accept more


class ByteTokenizer:
    """Evo 2's character-level tokeniser: token id = byte value, no special tokens, pad 1."""

    pad_id = 1
    n_special = 0

    def encode(self, sequence: str) -> Tokenized:
        ids = np.frombuffer(sequence.upper().encode("ascii"), dtype=np.uint8).astype(np.int64)
        pos = np.arange(len(ids), dtype=np.int64)
        return Tokenized(ids, np.stack([pos, pos + 1], axis=1))

    def max_bases(self, max_tokens: int) -> int:
        return max_tokens


class Evo2Adapter(Adapter):
    """Evo 2 through the ``evo2`` package; causal, so right padding is harmless."""

    family = "evo2"
    takes_tokenizer_path = False  # bytes, as the evo2 package tokenises
    alphabet = "dna"
    uses_attention_mask = False

    default_device = "cuda"
    default_dtype: DType = "bfloat16"

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> Evo2Adapter:
        evo2 = require("evo2", extra="evo2", family="Evo 2")
        wrapper = evo2.Evo2(str(name_or_path))
        model = wrapper.model
        cfg = model.config
        return cls(
            model,
            ByteTokenizer(),
            name=str(name_or_path),
            num_layers=len(model.blocks) + 1,
            hidden_size=int(cfg.hidden_size),
            max_tokens=int(getattr(cfg, "max_seqlen", EVO2_CONTEXT)),
            device=options.device,
            dtype=options.dtype,
        )

    def hook_module(self, layer: int) -> nn.Module:
        if layer == 0:
            return self.model.embedding_layer
        if layer == self.num_layers:
            return self.model.norm
        return self.model.blocks[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        self.model(input_ids)
