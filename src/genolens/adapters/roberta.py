"""RoBERTa protein models: Sapiens (fairseq checkpoints) and transformers RoBERTa folders.

Runs ``transformers.RobertaModel``. Two kinds of checkpoint:

* a transformers folder (``config.json`` with ``model_type: roberta``) with a
  one-token-per-residue ``vocab.txt``; weights must all load, as for every family;
* a fairseq RoBERTa checkpoint (``*.pt``, Sapiens) with its fairseq ``dict.txt``:
  converted in memory by :mod:`.fairseq_roberta` (read weights-only; fairseq itself
  is neither needed nor imported).

Tokenisation follows Sapiens' runner: ``<s>`` + one token per residue + ``</s>``,
``X`` (and ``*``) read as ``<mask>``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from genolens.adapters.base import Adapter, LoadOptions
from genolens.adapters.checkpoint import find_file, load_base_model
from genolens.adapters.fairseq_roberta import fairseq_vocab, load_fairseq_roberta
from genolens.adapters.tokens import CharTokenizer, read_vocab
from genolens.errors import ConfigError


def roberta_char_tokenizer(vocab: dict[str, int]) -> CharTokenizer:
    """``<s>`` + one token per residue + ``</s>``; ``X`` and ``*`` become ``<mask>`` (Sapiens' rule)."""
    vocab = dict(vocab)
    for unknown in ("X", "*"):
        vocab[unknown] = vocab["<mask>"]
    return CharTokenizer(vocab, vocab["<unk>"], vocab["<pad>"], (vocab["<s>"],), (vocab["</s>"],))


class RobertaAdapter(Adapter):
    """Sapiens / RoBERTa protein models through ``transformers.RobertaModel``."""

    family = "roberta"
    alphabet = "protein"

    def __init__(self, model: nn.Module, tokenizer: CharTokenizer, *, name: str, **kw) -> None:  # noqa: ANN003
        cfg = model.config
        super().__init__(
            model,
            tokenizer,
            name=name,
            num_layers=cfg.num_hidden_layers,
            hidden_size=cfg.hidden_size,
            # learned positions start after padding_idx, as in fairseq
            max_tokens=cfg.max_position_embeddings - cfg.pad_token_id - 1,
            **kw,
        )

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> RobertaAdapter:
        """Load a fairseq RoBERTa ``.pt`` (with its ``dict.txt``) or a transformers RoBERTa folder."""
        from transformers import RobertaModel

        path = Path(name_or_path)
        if path.suffix == ".pt":
            dict_path = Path(options.tokenizer_path) if options.tokenizer_path else path.with_name("dict.txt")
            vocab = fairseq_vocab(dict_path)
            model = load_fairseq_roberta(path, vocab)
            dropped = None
        else:
            backbone = load_base_model(RobertaModel, name_or_path, add_pooling_layer=False)
            model, dropped = backbone.model, backbone.dropped_head
            vocab_path = options.tokenizer_path or find_file(name_or_path, "vocab.txt", required=False)
            if vocab_path is None:
                raise ConfigError(f"{name_or_path} has no vocab.txt (one token per residue)")
            vocab = read_vocab(vocab_path)
        return cls(
            model,
            roberta_char_tokenizer(vocab),
            name=str(name_or_path),
            device=options.device,
            dtype=options.dtype,
            dropped_head=dropped,
        )

    def hook_module(self, layer: int) -> nn.Module:
        if layer == 0:
            return self.model.embeddings
        return self.model.encoder.layer[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        self.model(input_ids=input_ids, attention_mask=attention_mask)
