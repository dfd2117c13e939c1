"""A fairseq RoBERTa checkpoint (Sapiens) as a ``transformers.RobertaModel``, without fairseq.

The checkpoint is a pickle of ``{"args": argparse.Namespace, "model": state dict, ...}``;
it is read with ``torch.load(weights_only=True)`` allowing ``argparse.Namespace`` only,
so no code runs. Weights are renamed as transformers' own fairseq conversion does
(``convert_roberta_original_pytorch_checkpoint_to_pytorch.py``); every encoder weight
must be used exactly once, or the checkpoint is refused.

Deviations from fairseq, each exact: fairseq has no token-type embedding, so
transformers' one token-type row is set to zero; fairseq's ``gelu`` is the exact erf
GELU (transformers ``gelu``); its layer norms use eps 1e-5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from genolens.errors import InputFileError

FAIRSEQ_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")

_LAYER = {
    "self_attn.q_proj": "attention.self.query",
    "self_attn.k_proj": "attention.self.key",
    "self_attn.v_proj": "attention.self.value",
    "self_attn.out_proj": "attention.output.dense",
    "self_attn_layer_norm": "attention.output.LayerNorm",
    "fc1": "intermediate.dense",
    "fc2": "output.dense",
    "final_layer_norm": "output.LayerNorm",
}


def fairseq_vocab(path: str | Path) -> dict[str, int]:
    """A fairseq ``dict.txt`` (``SYMBOL COUNT`` lines) as token -> id: the four specials first, ``<mask>`` last."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("fairseq dictionary not found", path=path)
    symbols = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    tokens = [*FAIRSEQ_SPECIALS, *symbols, "<mask>"]
    return {tok: i for i, tok in enumerate(tokens)}


def read_fairseq_checkpoint(path: str | Path) -> tuple[argparse.Namespace, dict[str, torch.Tensor]]:
    """``(args, state dict)`` of a fairseq checkpoint, unpickled weights-only."""
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            blob = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds on a bad or unsafe file
        raise InputFileError(f"cannot read the fairseq checkpoint: {str(exc).splitlines()[0]}", path=path) from exc
    if not isinstance(blob, dict) or "model" not in blob or not isinstance(blob.get("args"), argparse.Namespace):
        raise InputFileError("not a fairseq checkpoint (no 'args' and 'model')", path=path)
    return blob["args"], blob["model"]


def encoder_prefix(state: dict[str, torch.Tensor]) -> str:
    """Where the encoder's weights sit: ``decoder.sentence_encoder.`` (fairseq < 0.10, Sapiens) or ``encoder.``."""
    return "decoder.sentence_encoder." if any(k.startswith("decoder.") for k in state) else "encoder.sentence_encoder."


def convert_state(state: dict[str, torch.Tensor], n_layers: int, path: str | Path) -> dict[str, torch.Tensor]:
    """fairseq encoder weights -> ``RobertaModel`` names; refuses leftovers or gaps."""
    prefix = encoder_prefix(state)
    names = {
        "embed_tokens.weight": "embeddings.word_embeddings.weight",
        "embed_positions.weight": "embeddings.position_embeddings.weight",
        "emb_layer_norm.weight": "embeddings.LayerNorm.weight",
        "emb_layer_norm.bias": "embeddings.LayerNorm.bias",
    }
    for i in range(n_layers):
        for src, dst in _LAYER.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{src}.{p}"] = f"encoder.layer.{i}.{dst}.{p}"
    encoder = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    missing = sorted(set(names) - set(encoder))
    extra = sorted(set(encoder) - set(names) - {"version"})
    if missing or extra:
        raise InputFileError(
            f"fairseq RoBERTa weights do not match the architecture (missing {missing[:3]}, unexpected {extra[:3]})",
            path=path,
        )
    out = {dst: encoder[src] for src, dst in names.items()}
    hidden = out["embeddings.word_embeddings.weight"].shape[1]
    out["embeddings.token_type_embeddings.weight"] = torch.zeros(1, hidden)
    return out


def load_fairseq_roberta(path: str | Path, vocab: dict[str, int]):  # noqa: ANN201 - a transformers RobertaModel
    """A ``RobertaModel`` (no pooler) holding the encoder of the fairseq checkpoint at ``path``."""
    from transformers import RobertaConfig, RobertaModel

    args, state = read_fairseq_checkpoint(path)
    if getattr(args, "encoder_normalize_before", False) or getattr(args, "activation_fn", "gelu") != "gelu":
        raise InputFileError("only post-norm fairseq RoBERTa with gelu is supported", path=path)
    converted = convert_state(state, args.encoder_layers, path)
    n_vocab, hidden = converted["embeddings.word_embeddings.weight"].shape
    if n_vocab != len(vocab):
        raise InputFileError(f"the dictionary has {len(vocab)} tokens, the checkpoint {n_vocab}", path=path)
    cfg = RobertaConfig(
        vocab_size=n_vocab,
        hidden_size=hidden,
        num_hidden_layers=args.encoder_layers,
        num_attention_heads=args.encoder_attention_heads,
        intermediate_size=args.encoder_ffn_embed_dim,
        hidden_act="gelu",
        max_position_embeddings=converted["embeddings.position_embeddings.weight"].shape[0],
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = RobertaModel(cfg, add_pooling_layer=False)
    result = model.load_state_dict(converted, strict=False)
    missing = [k for k in result.missing_keys if "position_ids" not in k and "token_type_ids" not in k]
    if missing or result.unexpected_keys:
        raise InputFileError(f"RobertaModel weights not filled: {missing[:3]}", path=path)  # pragma: no cover
    return model.float().eval()
