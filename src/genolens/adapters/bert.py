"""BERT models: AntiBERTy (antibody protein, one token per residue) and BERT over a BPE DNA vocabulary.

Both load into ``transformers.BertModel`` without its pooler (AntiBERTy's extra
heads ``cls.species``/``cls.chain``/``cls.graft`` and the pooler are not used).
Tokeniser: a ``tokenizer.json`` (BPE) when the checkpoint has one,
else the one-token-per-residue ``vocab.txt`` (``[CLS] E V Q ... [SEP]``, AntiBERTy;
its vocabulary sits beside the checkpoint folder, :mod:`genolens.adapters.packaged` finds it).

Deviation from AntiBERTy's runner: it tokenises ``" ".join(residues)`` with
``BertTokenizer``; we map residues to ids directly (same ids, tested), which also
gives each token's residue span.

DNABERT-2 says ``model_type: bert`` but is MosaicBERT (ALiBi attention, fused
QKV, gated MLP); the registry sends it to :mod:`.dnabert2` instead. Any other
checkpoint whose weights do not all fit ``BertModel`` is refused (missing
weights) rather than run as a half-random model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from genolens.adapters.base import Adapter, LoadOptions
from genolens.adapters.checkpoint import find_file, load_base_model
from genolens.adapters.tokens import BPETokenizer, CharTokenizer, read_vocab
from genolens.errors import ConfigError

ACGTN = set("ACGTN")


def bert_char_tokenizer(vocab: dict[str, int]) -> CharTokenizer:
    """``[CLS]`` + one token per character + ``[SEP]``."""
    return CharTokenizer(vocab, vocab["[UNK]"], vocab["[PAD]"], (vocab["[CLS]"],), (vocab["[SEP]"],))


class BertAdapter(Adapter):
    """AntiBERTy / BPE DNA BERT through ``transformers.BertModel``."""

    family = "bert"
    alphabet = "protein"

    def __init__(self, model: nn.Module, tokenizer, *, name: str, alphabet: str, **kw) -> None:  # noqa: ANN001
        self.alphabet = alphabet  # type: ignore[misc]
        cfg = model.config
        super().__init__(
            model,
            tokenizer,
            name=name,
            num_layers=cfg.num_hidden_layers,
            hidden_size=cfg.hidden_size,
            max_tokens=cfg.max_position_embeddings,
            **kw,
        )

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> BertAdapter:
        from transformers import BertModel

        backbone = load_base_model(BertModel, name_or_path, add_pooling_layer=False)
        model = backbone.model
        tokenizer_path = options.tokenizer_path
        tok_json = find_file(name_or_path, "tokenizer.json", required=False) if tokenizer_path is None else None
        if tok_json is not None or (tokenizer_path is not None and str(tokenizer_path).endswith(".json")):
            tok = BPETokenizer.from_file(tok_json or tokenizer_path)
            alphabet = "dna"
        else:
            vocab_path = tokenizer_path or find_file(name_or_path, "vocab.txt", required=False)
            if vocab_path is None:
                raise ConfigError(
                    f"{name_or_path} has neither tokenizer.json nor vocab.txt",
                    hint="pass the tokenizer file, or use a short name from genolens.models.short_names()",
                )
            vocab = read_vocab(vocab_path)
            tok = bert_char_tokenizer(vocab)
            letters = {t for t in vocab if len(t) == 1}
            alphabet = "dna" if letters <= ACGTN else "protein"
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
        if layer == 0:
            return self.model.embeddings
        return self.model.encoder.layer[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        self.model(input_ids=input_ids, attention_mask=attention_mask)
