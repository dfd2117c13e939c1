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

import numpy as np
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


def lm_objective(
    head: LMHead, ids: torch.Tensor, real: torch.Tensor, *, mask_fraction: float, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The model inputs, targets and scored positions of ``head``'s own objective on a padded batch.

    Masked models: each real token is replaced by the mask token with probability ``mask_fraction``
    (one draw from ``rng`` per slot of ``ids``, so the same ``rng`` state gives the same positions) and
    scored there against the original token. Next-token models: the hidden state at ``t`` predicts token
    ``t + 1``; every real token whose successor is real is scored. Special and padding tokens are never
    masked or scored.

    Parameters
    ----------
    head
        The language-model head (its ``objective`` and ``mask_id``).
    ids
        ``[batch, tokens]`` token IDs.
    real
        ``[batch, tokens]``, True at tokens that cover bases (not specials, not padding).
    mask_fraction
        Fraction of real tokens masked (masked models only).
    rng
        Source of the masked positions.

    Returns
    -------
    tuple of torch.Tensor
        ``(inputs, targets, scored)``: the IDs to feed the model, the token each position is scored
        against (``-100`` where none) and the boolean ``[batch, tokens]`` mask of scored positions.
    """
    if head.objective == "mlm":
        pick = torch.from_numpy(rng.random(tuple(ids.shape)) < mask_fraction) & real
        inputs = ids.clone()
        inputs[pick] = head.mask_id
        return inputs, ids, pick
    targets = torch.full_like(ids, -100)
    targets[:, :-1] = ids[:, 1:]
    scored = real.clone()
    scored[:, :-1] &= real[:, 1:]
    scored[:, -1] = False
    return ids, targets, scored
