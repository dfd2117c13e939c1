"""DNABERT-2 (MosaicBERT) implemented in genolens, so its checkpoints load without running their code.

DNABERT-2 (``zhihan1996/DNABERT-2-117M``, also DNABERT-S) ships its own modelling
code (``bert_layers.py``, MosaicBERT) under ``model_type: bert``; transformers'
``BertModel`` cannot load it. This module re-implements the architecture:

* embeddings: word + token-type (always 0), LayerNorm; **no position embeddings**;
* attention: a fused ``Wqkv`` projection, laid out ``(q|k|v, head, dim)``, with an
  **ALiBi** bias ``-slope_h * |i - j|`` (slopes as in the ALiBi paper, including its
  rule for head counts that are not a power of two); post-LayerNorm residual;
* MLP: a gated linear unit, ``wo(gelu(x W_g) * (x W_u))`` with ``W_g|W_u`` stacked in
  ``gated_layers`` (no bias), post-LayerNorm residual.

Module and parameter names mirror ``bert_layers.py``, so the checkpoint's state
dict (``bert.*``; ``cls.*`` is its masked-LM head) loads strictly from
``model.safetensors`` or ``pytorch_model.bin`` (``torch.load(weights_only=True)``).
A test compares every layer with outputs of the original code on a tiny random
checkpoint (fixture and the script that made it under ``tests/data/dnabert2``).

Deviations from the original code, each on purpose:

* No unpadding: the original drops padded positions between layers; here padded
  keys get an attention bias of ``-inf`` (the original adds ``-10000``, whose
  softmax weight is exactly 0 in float32), so real tokens see the same inputs.
* Attention through ``torch.nn.functional.scaled_dot_product_attention`` (same
  maths as the original's PyTorch path; the Triton flash kernel is not used).
* No dropout modules (inference only) and no pooler.

Layers: ``0`` is the embedding output, ``l`` the output of encoder layer ``l``
(the original returns these with ``output_all_encoded_layers=True``); there is
no final LayerNorm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genolens.adapters.base import LoadOptions
from genolens.adapters.bert import BertAdapter
from genolens.adapters.checkpoint import config_from_dict, find_file, read_config, read_weights
from genolens.adapters.tokens import BPETokenizer
from genolens.errors import ConfigError, InputFileError


@dataclass(frozen=True)
class MosaicBertConfig:
    """The fields of a DNABERT-2 ``config.json`` that define the architecture."""

    vocab_size: int = 4096
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    type_vocab_size: int = 2
    max_position_embeddings: int = 512
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    hidden_act: str = "gelu"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads {self.num_attention_heads}"
            )

    @classmethod
    def from_dict(cls, cfg: dict) -> MosaicBertConfig:
        """From a ``config.json`` dict (other keys are ignored; an unset ``pad_token_id`` means 0)."""
        return config_from_dict(cls, cfg, defaults={"pad_token_id": 0})


def alibi_slopes(n_heads: int) -> list[float]:
    """ALiBi head slopes: a geometric sequence for 2^k heads, interleaved from 2n for other counts."""

    def power_of_2(n: int) -> list[float]:
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n_heads).is_integer():
        return power_of_2(n_heads)
    closest = 2 ** math.floor(math.log2(n_heads))
    return power_of_2(closest) + alibi_slopes(2 * closest)[0::2][: n_heads - closest]


class MosaicEmbeddings(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # token type 0 everywhere, as the original's default
        return self.LayerNorm(self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0])


class MosaicSelfAttention(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.Wqkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, s, _ = hidden.shape
        qkv = self.Wqkv(hidden).view(b, s, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=bias.to(qkv.dtype))
        return out.transpose(1, 2).reshape(b, s, -1)


class MosaicSelfOutput(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class MosaicAttention(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.self = MosaicSelfAttention(cfg)
        self.output = MosaicSelfOutput(cfg)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(hidden, bias), hidden)


class MosaicGatedMLP(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.intermediate_size = cfg.intermediate_size
        self.gated_layers = nn.Linear(cfg.hidden_size, 2 * cfg.intermediate_size, bias=False)
        self.wo = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        gated, plain = self.gated_layers(hidden).split(self.intermediate_size, dim=-1)
        return self.layernorm(self.wo(F.gelu(gated) * plain) + hidden)


class MosaicLayer(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.attention = MosaicAttention(cfg)
        self.mlp = MosaicGatedMLP(cfg)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(hidden, bias))


class MosaicEncoder(nn.Module):
    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(MosaicLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.register_buffer("slopes", torch.tensor(alibi_slopes(cfg.num_attention_heads)), persistent=False)

    def attention_bias(self, attention_mask: torch.Tensor) -> torch.Tensor:
        """``[batch, heads, s, s]`` ALiBi bias, ``-inf`` on padded keys."""
        s = attention_mask.shape[1]
        pos = torch.arange(s, device=attention_mask.device)
        distance = (pos[None, :] - pos[:, None]).abs().to(self.slopes.dtype)
        alibi = -self.slopes[:, None, None] * distance  # [heads, s, s]
        keys = attention_mask[:, None, None, :].bool()
        return alibi[None].masked_fill(~keys, float("-inf"))

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        bias = self.attention_bias(attention_mask)
        for layer in self.layer:
            hidden = layer(hidden, bias)
        return hidden


class MosaicBert(nn.Module):
    """The DNABERT-2 encoder (``BertModel`` of ``bert_layers.py`` without pooler)."""

    def __init__(self, cfg: MosaicBertConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embeddings = MosaicEmbeddings(cfg)
        self.encoder = MosaicEncoder(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self.encoder(self.embeddings(input_ids), attention_mask)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path) -> MosaicBert:
        """Build from ``config.json`` and load the ``bert.*`` weights; never imports the checkpoint's code."""
        model = cls(MosaicBertConfig.from_dict(read_config(name_or_path)))
        state = {k.removeprefix("bert."): v for k, v in read_weights(name_or_path).items() if k.startswith("bert.")}
        state = {k: v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.token_type_ids"}
        if not state:
            raise InputFileError("no DNABERT-2 encoder weights (bert.*) in checkpoint", path=name_or_path)
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise InputFileError(
                "checkpoint does not match the DNABERT-2 architecture: "
                f"missing {sorted(result.missing_keys)[:3]}, unexpected {sorted(result.unexpected_keys)[:3]}",
                path=name_or_path,
            )
        return model


class MosaicMLMHead(nn.Module):
    """The checkpoint's masked-LM head (``cls.predictions``): dense, GELU, LayerNorm, tied decoder."""

    def __init__(self, cfg: MosaicBertConfig, word_embeddings: torch.Tensor) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=1e-12)  # fixed in the original head
        self.decoder_weight = word_embeddings
        self.decoder_bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        h = self.LayerNorm(F.gelu(self.dense(hidden)))
        return h @ self.decoder_weight.T + self.decoder_bias


def mlm_head(model: MosaicBert, name_or_path: str | Path) -> MosaicMLMHead:
    """Load the ``cls.predictions`` head of the checkpoint (an error when it has none)."""
    state = read_weights(name_or_path)
    prefix = "cls.predictions."
    needed = ("transform.dense.weight", "transform.dense.bias", "transform.LayerNorm.weight",
              "transform.LayerNorm.bias", "decoder.bias")  # fmt: skip
    missing = [k for k in needed if prefix + k not in state and not (k == "decoder.bias" and prefix + "bias" in state)]
    if missing:
        raise InputFileError(
            f"the checkpoint has no trained masked-LM head (missing cls.predictions.{missing[0]})",
            path=name_or_path,
            hint="loss recovered needs the model's own token predictions",
        )
    weight = model.embeddings.word_embeddings.weight
    head = MosaicMLMHead(model.config, weight)
    with torch.no_grad():
        head.dense.weight.copy_(state[prefix + "transform.dense.weight"])
        head.dense.bias.copy_(state[prefix + "transform.dense.bias"])
        head.LayerNorm.weight.copy_(state[prefix + "transform.LayerNorm.weight"])
        head.LayerNorm.bias.copy_(state[prefix + "transform.LayerNorm.bias"])
        head.decoder_bias.copy_(state.get(prefix + "decoder.bias", state.get(prefix + "bias")))
    return head.to(weight.device).eval()


class DnaBert2Adapter(BertAdapter):
    """DNABERT-2 / DNABERT-S through the native implementation above, with the checkpoint's BPE tokeniser.

    Same layer modules and call as :class:`~.bert.BertAdapter`. The context is
    ``max_position_embeddings`` tokens (512 for DNABERT-2-117M, about 2.5 kb); ALiBi
    would extrapolate further, but the model was not trained there, so longer
    sequences are tiled like every other model's.
    """

    family = "dnabert2"

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> DnaBert2Adapter:
        tokenizer = BPETokenizer.from_file(options.tokenizer_path or find_file(name_or_path, "tokenizer.json"))
        model = MosaicBert.from_pretrained(name_or_path)
        return cls(model, tokenizer, name=str(name_or_path), alphabet="dna", device=options.device, dtype=options.dtype)
