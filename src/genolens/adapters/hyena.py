"""HyenaDNA implemented in genolens, so HF-format HyenaDNA checkpoints load without running their code.

Module and parameter names mirror the checkpoint's own ``modeling_hyena.py``
(the HF port of HazyResearch's HyenaDNA), so its state dict loads strictly, from
``model.safetensors`` or ``pytorch_model.bin`` (``torch.load(weights_only=True)``).
A test runs the checkpoint's own code on the same inputs and requires the
outputs to agree within 1e-4 (float32).

Deviations from the original code, each on purpose:

* No dropout modules: this is an inference implementation (they are identities in eval mode).
* The depthwise short convolution is computed as ``kernel`` multiply-adds over shifted
  views (:meth:`HyenaOperator.short_conv`) instead of calling the ``Conv1d``: the
  same sum, about 3x faster on CPU (the module stays for its weights).
* Batches are padded on the *right* (the original tokeniser pads on the left).
  HyenaDNA is causal (the short convolution and the FFT long convolution only
  look backwards), so right padding never changes a real token's activation,
  while left padding would.
* Lowercase bases are upper-cased before tokenising: the original tokeniser turns
  them into ``[UNK]``, which would silently erase every soft-masked repeat.
* The unused ``torch.jit`` helper ``mul_sum`` is left out.
* In inference (no gradient), each layer keeps the spectrum of its implicit filter per
  sequence length (:class:`FilterCache`), since the filter depends only on the
  length and the weights; it is recomputed whenever a parameter or buffer of the
  filter changes (``load_state_dict``, an optimiser step, ``.to()``), and the
  result is bit-identical to computing it afresh.

Layers: ``hidden_states`` of the original holds the embedding output, each
block's output and then the output of the final layer norm ``ln_f``; genolens
layer ``l`` is that tuple's entry ``l`` (0 .. ``n_layer + 1``).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genolens.adapters.base import Adapter, LoadOptions
from genolens.adapters.checkpoint import config_from_dict, read_config, read_weights
from genolens.adapters.tokens import CharTokenizer
from genolens.errors import ConfigError, InputFileError

SPECIALS = {"[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4, "[RESERVED]": 5, "[UNK]": 6}
VOCAB = {**SPECIALS, **{ch: 7 + i for i, ch in enumerate("ACGTN")}}


def hyena_tokenizer() -> CharTokenizer:
    """HyenaDNA's character tokeniser: A=7 C=8 G=9 T=10 N=11, ``[SEP]`` (1) appended, pad 4, unk 6."""
    return CharTokenizer(VOCAB, SPECIALS["[UNK]"], SPECIALS["[PAD]"], (), (SPECIALS["[SEP]"],))


@dataclass(frozen=True)
class HyenaConfig:
    """The fields of a HyenaDNA ``config.json`` that define the architecture."""

    vocab_size: int = 12
    d_model: int = 128
    d_inner: int = 512
    n_layer: int = 2
    max_seq_len: int = 1026
    emb_dim: int = 5
    filter_order: int = 64
    hyena_order: int = 2
    short_filter_order: int = 3
    num_inner_mlps: int = 2
    activation_freq: float = 10.0
    train_freq: bool = True
    use_bias: bool = True
    layer_norm_epsilon: float = 1e-5
    pad_vocab_size_multiple: int = 8

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "d_inner", "n_layer", "max_seq_len", "filter_order"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.emb_dim < 3 or self.emb_dim % 2 == 0:
            raise ConfigError(f"emb_dim must be odd and >= 3, got {self.emb_dim}")
        if self.hyena_order < 2:
            raise ConfigError(f"hyena_order must be >= 2, got {self.hyena_order}")

    @classmethod
    def from_dict(cls, cfg: dict) -> HyenaConfig:
        """From a ``config.json`` dict (other keys are ignored)."""
        return config_from_dict(cls, cfg)

    def to_hf_dict(self) -> dict:
        """A ``config.json`` the original HF code also reads."""
        return {**asdict(self), "model_type": "hyenadna", "architectures": ["HyenaDNAModel"], "pad_token_id": 4}


class HyenaSin(nn.Module):
    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        freq = cfg.activation_freq * torch.ones(1, cfg.filter_order)
        if cfg.train_freq:
            self.freq = nn.Parameter(freq)
        else:
            self.register_buffer("freq", freq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.freq * x)


class HyenaPositionalEmbedding(nn.Module):
    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        seq_len = cfg.max_seq_len
        t = torch.linspace(0, 1, seq_len)[None, :, None]
        bands = (cfg.emb_dim - 1) // 2
        t_rescaled = torch.linspace(0, seq_len - 1, seq_len)[None, :, None]
        w = 2 * math.pi * t_rescaled / seq_len
        f = torch.linspace(1e-4, bands - 1, bands)[None, None]
        self.register_buffer("z", torch.cat([t, torch.cos(-f * w), torch.sin(-f * w)], dim=-1))
        self.register_buffer("t", t)

    def forward(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.z[:, :length], self.t[:, :length]


class HyenaExponentialModulation(nn.Module):
    def __init__(
        self,
        d_model: int,
        fast_decay_pct: float = 0.3,
        slow_decay_pct: float = 1.5,
        target: float = 1e-2,
        shift: float = 0.05,
    ) -> None:
        super().__init__()
        self.shift = shift
        max_decay = math.log(target) / fast_decay_pct
        min_decay = math.log(target) / slow_decay_pct
        self.register_buffer("deltas", torch.linspace(min_decay, max_decay, d_model)[None, None])

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x * (torch.exp(-t * self.deltas.abs()) + self.shift)


class HyenaFilter(nn.Module):
    """Implicit long filter: an MLP of sin activations over positional features, exponentially windowed."""

    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.randn(cfg.d_model * (cfg.hyena_order - 1)))
        self.pos_emb = HyenaPositionalEmbedding(cfg)
        act = HyenaSin(cfg)  # one module reused after every linear layer, as in the original
        self.implicit_filter = nn.Sequential(nn.Linear(cfg.emb_dim, cfg.filter_order), act)
        for _ in range(cfg.num_inner_mlps):
            self.implicit_filter.append(nn.Linear(cfg.filter_order, cfg.filter_order))
            self.implicit_filter.append(act)
        self.implicit_filter.append(nn.Linear(cfg.filter_order, cfg.d_model, bias=False))
        self.modulation = HyenaExponentialModulation(cfg.d_model)

    def filter(self, length: int) -> torch.Tensor:
        z, t = self.pos_emb(length)
        h = self.implicit_filter(z.to(dtype=self.implicit_filter[0].weight.dtype))
        return self.modulation(t, h)


def fft_size(seqlen: int) -> int:
    """FFT length of the long convolution: ``2 * seqlen``, as the original code (no wrap-around)."""
    return 2 * seqlen


def filter_spectrum(k: torch.Tensor, seqlen: int) -> torch.Tensor:
    """``rfft`` of the long filter ``k`` [..., L], scaled by the FFT size, as :func:`fftconv` needs it."""
    n = fft_size(seqlen)
    return torch.fft.rfft(k.to(torch.float32), n=n) / n


def fftconv(u: torch.Tensor, k_f: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Causal long convolution of ``u`` [B, D, L] with the filter whose spectrum is ``k_f``, plus ``u * d``."""
    seqlen = u.shape[-1]
    n = fft_size(seqlen)
    u_f = torch.fft.rfft(u.to(dtype=torch.float32), n=n)
    y = torch.fft.irfft(u_f * k_f, n=n, norm="forward")[..., :seqlen]
    return (y + u * d.unsqueeze(-1)).to(dtype=u.dtype)


class FilterCache:
    """Filter spectra of one layer per sequence length, dropped when the filter's weights change.

    The key of validity is every parameter and buffer of the filter module: its
    storage (``data_ptr``; ``.to()`` or a replaced parameter moves it) and its
    version counter (bumped by every in-place change: ``load_state_dict``'s
    ``copy_``, optimiser steps). At most ``max_lengths`` lengths are kept (least
    recently used first out). Lives on its module instance: no global state.
    """

    def __init__(self, max_lengths: int = 8) -> None:
        self.max_lengths = max_lengths
        self._key: tuple | None = None
        self._spectra: OrderedDict[int, torch.Tensor] = OrderedDict()

    @staticmethod
    def _weights_key(module: nn.Module) -> tuple:
        tensors = [*module.parameters(), *module.buffers()]
        return tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)

    def get(self, module: nn.Module, length: int, compute) -> torch.Tensor:  # noqa: ANN001
        """The spectrum for ``length``, from the cache or ``compute()`` (then kept)."""
        key = self._weights_key(module)
        if key != self._key:
            self._key, self._spectra = key, OrderedDict()
        if length in self._spectra:
            self._spectra.move_to_end(length)
            return self._spectra[length]
        spectrum = compute()
        self._spectra[length] = spectrum
        while len(self._spectra) > self.max_lengths:
            self._spectra.popitem(last=False)
        return spectrum


class HyenaOperator(nn.Module):
    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.d_model = cfg.d_model
        self.l_max = cfg.max_seq_len
        self.order = cfg.hyena_order
        inner = cfg.d_model * (cfg.hyena_order + 1)
        self.in_proj = nn.Linear(cfg.d_model, inner)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.short_filter = nn.Conv1d(inner, inner, cfg.short_filter_order, padding=2, groups=inner)
        self.filter_fn = HyenaFilter(cfg)
        self.filter_cache: FilterCache | None = FilterCache()  # None: always recompute (the reference path)

    def short_conv(self, u: torch.Tensor, length: int) -> torch.Tensor:
        """``short_filter(u)[..., :length]`` as a few multiply-adds (3x faster than the depthwise Conv1d on CPU)."""
        conv = self.short_filter
        taps = conv.weight[:, 0, :]  # [channels, kernel]
        pad_left = conv.padding[0]
        kernel = taps.shape[1]
        padded = F.pad(u, (pad_left, max(0, length + kernel - 1 - pad_left - u.shape[-1])))
        out = conv.bias[:, None].expand(-1, length) if conv.bias is not None else u.new_zeros(u.shape[1], length)
        for j in range(kernel):
            out = torch.addcmul(out, padded[..., j : j + length], taps[:, j : j + 1])
        return out

    def long_filter_spectra(self, length: int) -> torch.Tensor:
        """``[order - 1, d_model, n // 2 + 1]``: spectra of the implicit filters for sequences of ``length``."""

        def compute() -> torch.Tensor:
            k = self.filter_fn.filter(length)[0]
            k = k.transpose(0, 1).reshape(self.order - 1, self.d_model, length)
            return filter_spectrum(k, length)

        needs_grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.filter_fn.parameters())
        if self.filter_cache is None or needs_grad:
            return compute()
        return self.filter_cache.get(self.filter_fn, length, compute)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        length = u.size(-2)
        l_filter = min(length, self.l_max)
        u = self.in_proj(u).transpose(1, 2).contiguous()
        uc = self.short_conv(u, l_filter)
        *x, v = uc.split(self.d_model, dim=1)
        k_f = self.long_filter_spectra(l_filter)
        bias = self.filter_fn.bias.reshape(self.order - 1, self.d_model)
        for o, x_i in enumerate(reversed(x[1:])):
            v = fftconv(v * x_i, k_f[o], bias[o])
        return self.out_proj((v * x[0]).transpose(1, 2))


class HyenaMlp(nn.Module):
    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(cfg.d_model, cfg.d_inner)
        self.fc2 = nn.Linear(cfg.d_inner, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class HyenaBlock(nn.Module):
    """Pre-norm block: ``r = x + mixer(LN1(x)); out = r + mlp(LN2(r))`` (residual kept in float32)."""

    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.mixer = HyenaOperator(cfg)
        self.norm1 = nn.LayerNorm(cfg.d_model)  # original: default eps, not layer_norm_epsilon
        self.mlp = HyenaMlp(cfg)
        self.norm2 = nn.LayerNorm(cfg.d_model)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        residual = hidden.to(torch.float32)
        hidden = self.mixer(self.norm1(residual.to(dtype=self.norm1.weight.dtype)))
        residual = hidden + residual
        hidden = self.norm2(residual.to(dtype=self.norm2.weight.dtype))
        return self.mlp(hidden) + residual.to(torch.float32)


class HyenaEmbeddings(nn.Module):
    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        vocab = cfg.vocab_size
        if vocab % cfg.pad_vocab_size_multiple:
            vocab += cfg.pad_vocab_size_multiple - vocab % cfg.pad_vocab_size_multiple
        self.word_embeddings = nn.Embedding(vocab, cfg.d_model)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.word_embeddings(input_ids)


class HyenaBackbone(nn.Module):
    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.embeddings = HyenaEmbeddings(cfg)
        self.layers = nn.ModuleList([HyenaBlock(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_epsilon)

    def forward(self, input_ids: torch.Tensor, *, output_hidden_states: bool = False):  # noqa: ANN201
        hidden = self.embeddings(input_ids)
        states = [hidden]
        for layer in self.layers:
            hidden = layer(hidden)
            states.append(hidden)
        hidden = self.ln_f(hidden.to(dtype=self.ln_f.weight.dtype))
        states.append(hidden)
        return (hidden, tuple(states)) if output_hidden_states else hidden


class HyenaDNA(nn.Module):
    """The HyenaDNA backbone (``HyenaDNAModel`` of the original code, without its PreTrainedModel shell)."""

    def __init__(self, cfg: HyenaConfig) -> None:
        super().__init__()
        self.config = cfg
        self.backbone = HyenaBackbone(cfg)
        self._init_weights()

    def _init_weights(self, std: float = 0.02) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=std)

    def forward(self, input_ids: torch.Tensor, *, output_hidden_states: bool = False):  # noqa: ANN201
        return self.backbone(input_ids, output_hidden_states=output_hidden_states)

    def save_pretrained(self, folder: str | Path) -> None:
        """``config.json`` + ``model.safetensors``, loadable by :meth:`from_pretrained` and by the original code."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config.to_hf_dict(), indent=2))
        state = {k: v.contiguous().clone() for k, v in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path) -> HyenaDNA:
        """Build from ``config.json`` and load the weights; never imports the checkpoint's code."""
        cfg = HyenaConfig.from_dict(read_config(name_or_path))
        model = cls(cfg)
        state = _load_state_dict(name_or_path)
        model.load_state_dict(state, strict=True)
        return model


def _load_state_dict(name_or_path: str | Path) -> dict[str, torch.Tensor]:
    raw = read_weights(name_or_path)
    # HyenaDNAModel saves "backbone.*"; the causal-LM / classifier wrappers "hyena.backbone.*".
    state = {}
    for key, value in raw.items():
        idx = key.find("backbone.")
        if idx >= 0:
            state[key[idx:]] = value
    if not state:
        raise InputFileError("no HyenaDNA backbone weights (backbone.*) in checkpoint", path=name_or_path)
    return state


class HyenaAdapter(Adapter):
    """HyenaDNA through the native implementation above."""

    family = "hyenadna"
    alphabet = "dna"
    uses_attention_mask = False
    takes_tokenizer_path = False  # one fixed character tokeniser (see hyena_tokenizer)
    final_norm_layer = True  # hidden_states ends with ln_f's output: layer n_layer + 1

    def __init__(self, model: HyenaDNA, *, name: str, **kw) -> None:
        cfg = model.config
        super().__init__(
            model,
            hyena_tokenizer(),
            name=name,
            num_layers=cfg.n_layer + 1,
            hidden_size=cfg.d_model,
            max_tokens=cfg.max_seq_len,
            **kw,
        )

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> HyenaAdapter:
        return cls(HyenaDNA.from_pretrained(name_or_path), name=str(name_or_path), device=options.device,
                   dtype=options.dtype)

    def hook_module(self, layer: int) -> nn.Module:
        bb = self.model.backbone
        if layer == 0:
            return bb.embeddings
        if layer == self.num_layers:
            return bb.ln_f
        return bb.layers[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        # causal + right padding: the mask is not needed (see module docstring)
        self.model(input_ids)
