"""ESM-2 (protein) and Nucleotide Transformer v1/v2 (DNA): the ESM architecture of transformers.

Both load into ``transformers.EsmModel`` (weights saved from ``EsmForMaskedLM``
load too; the LM head is not built, nobody asked for it). The tokeniser is built
from the checkpoint's ``vocab.txt``: when the vocabulary holds k-mers of ACGT
it is a Nucleotide Transformer (k-mer tokens with single-base fallback, see
:mod:`.tokens`), otherwise ESM-2 (one token per residue).

Deviations from transformers' ``EsmTokenizer``: we tokenise with our own
:class:`~genolens.adapters.tokens.CharTokenizer`/``KmerTokenizer`` (same ids,
tested against ``EsmTokenizer``) because we need each token's span of bases,
which ``EsmTokenizer`` does not give; and input is upper-cased first.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from genolens.adapters.base import Adapter, LoadOptions
from genolens.adapters.checkpoint import find_file, load_base_model
from genolens.adapters.tokens import CharTokenizer, KmerTokenizer, read_vocab

ACGT = set("ACGT")


def esm_tokenizer(vocab: dict[str, int], *, add_eos: bool = True) -> CharTokenizer | KmerTokenizer:
    """``<cls>`` + tokens (+ ``<eos>``), k-mers when the vocabulary has them."""
    kmers = [t for t in vocab if len(t) > 1 and set(t) <= ACGT]
    prefix = (vocab["<cls>"],)
    suffix = (vocab["<eos>"],) if add_eos and "<eos>" in vocab else ()
    if kmers:
        k = max(len(t) for t in kmers)
        return KmerTokenizer(vocab, k, vocab["<unk>"], vocab["<pad>"], prefix, suffix)
    return CharTokenizer(vocab, vocab["<unk>"], vocab["<pad>"], prefix, suffix)


def _adds_eos(name_or_path: str | Path) -> bool:
    # EsmTokenizer appends <eos> unless the checkpoint's tokenizer config sets eos_token to null
    # (Nucleotide Transformer checkpoints do: they only prepend <cls>).
    for fname in ("tokenizer_config.json", "special_tokens_map.json"):
        path = find_file(name_or_path, fname, required=False)
        if path is not None:
            cfg = json.loads(path.read_text())
            if "eos_token" in cfg:
                return cfg["eos_token"] is not None
    return True


class EsmAdapter(Adapter):
    """ESM-2 / Nucleotide Transformer through ``transformers.EsmModel``."""

    family = "esm"
    alphabet = "protein"  # overridden per instance for Nucleotide Transformer

    def __init__(self, model: nn.Module, tokenizer, *, name: str, alphabet: str, **kw) -> None:  # noqa: ANN001
        self.alphabet = alphabet  # type: ignore[misc]
        cfg = model.config
        # Learned absolute positions start after padding_idx (NT v1: 1002 positions -> 1000 tokens);
        # rotary models (ESM-2, NT v2) keep the same limit as their tokeniser's model_max_length.
        offset = cfg.pad_token_id + 1 if cfg.position_embedding_type == "absolute" else 0
        super().__init__(
            model,
            tokenizer,
            name=name,
            num_layers=cfg.num_hidden_layers,
            hidden_size=cfg.hidden_size,
            max_tokens=cfg.max_position_embeddings - offset,
            **kw,
        )

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> EsmAdapter:
        from transformers import EsmModel

        backbone = load_base_model(EsmModel, name_or_path, add_pooling_layer=False)
        model = backbone.model
        vocab_path = options.tokenizer_path or find_file(name_or_path, "vocab.txt")
        tok = esm_tokenizer(read_vocab(vocab_path), add_eos=_adds_eos(name_or_path))
        alphabet = "dna" if isinstance(tok, KmerTokenizer) else "protein"
        return cls(
            model,
            tok,
            name=str(name_or_path),
            alphabet=alphabet,
            device=options.device,
            dtype=options.dtype,
            dropped_head=backbone.dropped_head,
        )

    def hook_module(self, layer: int) -> nn.Module:
        m = self.model
        if layer == 0:
            return m.embeddings
        if layer == self.num_layers and m.encoder.emb_layer_norm_after is not None:
            # transformers' last hidden state is taken after the final layer norm
            return m.encoder.emb_layer_norm_after
        return m.encoder.layer[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        self.model(input_ids=input_ids, attention_mask=attention_mask)
