"""Language-model heads: the model's own token predictions, for loss-based checks.

Adapters run the base model (no head); an SAE's *loss recovered* needs the
model's masked- or next-token cross-entropy, so this module loads the head
that belongs to the checkpoint:

* ``bert``: ``BertForMaskedLM``'s ``cls`` head from the same checkpoint (AntiBERTy ships it);
  masked-token objective, ``[MASK]`` from the vocabulary.
* ``esm``: ``EsmForMaskedLM``'s ``lm_head``; masked-token objective, ``<mask>``.
* ``dnabert2``: the checkpoint's ``cls.predictions`` head (native, :mod:`.dnabert2`),
  decoder tied to the token embeddings; masked-token objective, ``[MASK]``.
* ``hyenadna``: next-token objective with the output projection tied to the token
  embeddings, as in the original HyenaDNA language model (``HyenaDNAForCausalLM``).
* ``gpt2``: next-token objective; ``GPT2LMHeadModel``'s head is the token embeddings (tied).

A checkpoint without trained head weights is an error, not a random head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from genolens.adapters.base import Adapter
from genolens.adapters.checkpoint import quiet_loading
from genolens.errors import ConfigError, InputFileError


@dataclass
class LMHead:
    """Logits from the final hidden state, the objective they serve and the mask token."""

    objective: Literal["mlm", "clm"]
    logits: Callable[[torch.Tensor], torch.Tensor]
    mask_id: int | None = None


def _masked_lm(cls_name: str, attr: str, path: str, device: torch.device) -> torch.nn.Module:
    import transformers

    model_cls = getattr(transformers, cls_name)
    try:
        with quiet_loading():
            model, info = model_cls.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
    except OSError as exc:
        raise InputFileError(f"cannot load the {cls_name} head: {str(exc).splitlines()[0]}", path=path) from exc
    missing = [k for k in info.get("missing_keys", []) if k.startswith(attr) and "bias" not in k.split(".")[-1:]]
    if missing:
        raise InputFileError(
            f"the checkpoint has no trained {cls_name} head (missing {', '.join(missing[:3])})",
            path=path,
            hint="loss recovered needs the model's own token predictions",
        )
    return getattr(model, attr).to(device).eval()


def language_model_head(adapter: Adapter) -> LMHead:
    """The head of ``adapter``'s checkpoint (see the module docstring)."""
    from genolens.adapters.packaged import resolve

    path = resolve(adapter.name).path
    family = adapter.family
    vocab = getattr(adapter.tokenizer, "vocab", {}) or {}
    if family == "bert":
        head = _masked_lm("BertForMaskedLM", "cls", path, adapter.device)
        return LMHead("mlm", head, _mask_id(vocab, "[MASK]", adapter))
    if family == "esm":
        head = _masked_lm("EsmForMaskedLM", "lm_head", path, adapter.device)
        return LMHead("mlm", head, _mask_id(vocab, "<mask>", adapter))
    if family == "dnabert2":
        from genolens.adapters.dnabert2 import mlm_head

        return LMHead("mlm", mlm_head(adapter.model, path), _mask_id(vocab, "[MASK]", adapter))
    if family == "hyenadna":
        weight = adapter.model.backbone.embeddings.word_embeddings.weight
        return LMHead("clm", lambda h: h @ weight.T)
    if family == "gpt2":
        wte = adapter.model.wte.weight
        return LMHead("clm", lambda h: h @ wte.T)
    raise ConfigError(f"no language-model head for the {family!r} family yet")


def _mask_id(vocab: dict[str, int], token: str, adapter: Adapter) -> int:
    if token not in vocab:
        raise ConfigError(f"{adapter.name}: vocabulary has no {token} token for masked-token loss")
    return vocab[token]
