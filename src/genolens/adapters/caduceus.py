"""Caduceus (bidirectional, reverse-complement-equivariant Mamba DNA models), behind the ``caduceus`` extra.

Caduceus checkpoints on the hub ship their own modelling code and need
``mamba-ssm`` (CUDA kernels). So this adapter runs only when both hold:

* the ``mamba_ssm`` package is installed (``pip install 'genolens[caduceus]'`` on a CUDA machine);
* the caller explicitly allows the checkpoint's code (``trust_remote_code=True``,
  CLI ``--trust-remote-code``): genolens never runs code from a checkpoint folder on its own.

Layers follow the checkpoint's ``output_hidden_states``: entry ``l`` is the input of
block ``l`` (the first element of block ``l-1``'s ``(hidden_states, residual)`` output;
entry 0 is the embedding output) and the last entry is the final norm ``norm_f``'s
output. Note this is the Mamba-style block output, not ``hidden + residual``.
For RC-equivariant (``rcps``) models the width is ``2 * d_model``.

Tokenisation uses the checkpoint's own character tokeniser (one token per base);
spans are derived by locating the special-token-free ids inside the full ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from genolens.adapters.base import Adapter, DType, LoadOptions
from genolens.adapters.checkpoint import read_config
from genolens.adapters.optional import require
from genolens.adapters.tokens import SPECIAL_SPAN, Tokenized
from genolens.errors import ConfigError


class WrappedCharTokenizer:
    """A transformers character tokeniser (one id per base) with spans computed around its special tokens."""

    def __init__(self, tokenizer) -> None:  # noqa: ANN001 - transformers PreTrainedTokenizer
        self._tok = tokenizer
        self.pad_id = int(tokenizer.pad_token_id)
        self.n_special = len(tokenizer.build_inputs_with_special_tokens([]))

    def encode(self, sequence: str) -> Tokenized:
        seq = sequence.upper()
        body = self._tok.encode(seq, add_special_tokens=False)
        if len(body) != len(seq):
            raise ConfigError(f"tokeniser is not one token per base ({len(body)} tokens for {len(seq)} bases)")
        full = self._tok.build_inputs_with_special_tokens(body)
        start = next(i for i in range(len(full) - len(body) + 1) if full[i : i + len(body)] == body)
        spans = np.full((len(full), 2), SPECIAL_SPAN, dtype=np.int64)
        pos = np.arange(len(seq), dtype=np.int64)
        spans[start : start + len(seq)] = np.stack([pos, pos + 1], axis=1)
        return Tokenized(np.asarray(full, dtype=np.int64), spans)

    def max_bases(self, max_tokens: int) -> int:
        return max_tokens - self.n_special


class CaduceusAdapter(Adapter):
    """Caduceus through its own modelling code (explicitly trusted) and ``mamba_ssm``."""

    family = "caduceus"
    alphabet = "dna"
    needs_remote_code = True

    def __init__(self, model: nn.Module, tokenizer, *, name: str, config: dict, **kw) -> None:  # noqa: ANN001
        width = config["d_model"] * (2 if config.get("rcps") else 1)
        super().__init__(
            model,
            tokenizer,
            name=name,
            num_layers=config["n_layer"],
            hidden_size=width,
            max_tokens=min(int(getattr(tokenizer._tok, "model_max_length", 131_072)), 1 << 20),
            **kw,
        )

    default_device = "cuda"
    default_dtype: DType = "bfloat16"

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> CaduceusAdapter:
        if not options.trust_remote_code:
            raise ConfigError(
                "Caduceus checkpoints run their own modelling code",
                hint="allow it explicitly: trust_remote_code=True (CLI: --trust-remote-code)",
            )
        require("mamba_ssm", extra="caduceus", family="Caduceus")
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        config = read_config(name_or_path)
        model = AutoModelForMaskedLM.from_pretrained(str(name_or_path), trust_remote_code=True)
        tok = AutoTokenizer.from_pretrained(str(options.tokenizer_path or name_or_path), trust_remote_code=True)
        return cls(model, WrappedCharTokenizer(tok), name=str(name_or_path), config=config, device=options.device,
                   dtype=options.dtype)

    def backbone(self) -> nn.Module:
        return self.model.caduceus.backbone

    def hook_module(self, layer: int) -> nn.Module:
        bb = self.backbone()
        if layer == 0:
            return bb.embeddings
        if layer == self.num_layers:
            return bb.norm_f
        return bb.layers[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        # Caduceus is bidirectional and has no attention mask: padding would leak into real
        # tokens from the right, so each sequence runs in a batch of its own length (see embed).
        self.model(input_ids=input_ids)

    def embed(self, records, *, layers, batch_tokens=8192, overlap=None):  # noqa: ANN001, ANN201
        """As :meth:`Adapter.embed`, but sequences of different lengths never share a batch (no mask)."""
        from genolens.adapters.base import EmbedResult

        parts = [
            super(CaduceusAdapter, self).embed([r], layers=layers, batch_tokens=batch_tokens, overlap=overlap)
            for r in records
        ]
        return EmbedResult(
            [p.sequences[0] for p in parts],
            sum(p.real_tokens for p in parts),
            sum(p.padded_tokens for p in parts),
            sum(p.tiled for p in parts),
        )
