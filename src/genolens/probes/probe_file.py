"""A trained probe on disk: ``probe.safetensors`` (weights) + ``cfg.json`` (what it reads, and from where).

The weights apply to raw activations of one layer (standardisation folded in), or to the features of
the SAE named in ``cfg.json``. The provenance (model, weights hash, layer, tokenizer) is the SAEs'
(:class:`genolens.provenance.Provenance`): :func:`check_probe` refuses a probe on another model, layer
or tokenizer.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genolens.errors import ConfigError, InputFormatError
from genolens.probes.artefact import load_artefact, save_artefact
from genolens.provenance import Provenance, check_provenance

FORMAT = "genolens-probe"
FORMAT_VERSION = "1"
WEIGHTS = "probe.safetensors"
LEVELS = ("base", "sequence", "sample")
KINDS = ("binary", "multiclass", "regression")


@dataclass(frozen=True, eq=False)
class LinearProbe:
    """``scores = inputs @ weight.T + bias``: logits (binary: of ``outputs[0]``; multiclass: per class) or values.

    ``level`` says what one input is: a row of the layer (``base``), a sequence's mean over its rows
    (``sequence``) or a sample's features (``sample``).
    """

    target: str
    kind: str
    outputs: tuple[str, ...]
    weight: np.ndarray  # [n_outputs, d_in]
    bias: np.ndarray  # [n_outputs]
    level: str
    representation: str = "raw"  # raw activations, or "sae": the features of the SAE in `sae`
    provenance: Provenance = field(default_factory=Provenance)
    threshold: float = 0.5
    sae: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"probe kind must be one of {KINDS}, got {self.kind!r}")
        if self.level not in LEVELS:
            raise ConfigError(f"probe level must be one of {LEVELS}, got {self.level!r}")
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ConfigError(f"weight {self.weight.shape} and bias {self.bias.shape} do not match")
        if len(self.outputs) != self.weight.shape[0]:
            raise ConfigError(f"{len(self.outputs)} output names for {self.weight.shape[0]} outputs")

    @property
    def d_in(self) -> int:
        return int(self.weight.shape[1])

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Raw scores ``[rows, n_outputs]`` of inputs ``[rows, d_in]`` (any float dtype, any device)."""
        w = torch.as_tensor(self.weight, device=x.device)
        b = torch.as_tensor(self.bias, device=x.device)
        return torch.addmm(b, x.float(), w.T)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities (P(``outputs[0]``) ``[rows]`` for binary, ``[rows, classes]``) or values."""
        z = self.logits(x)
        if self.kind == "binary":
            return torch.sigmoid(z[:, 0])
        if self.kind == "multiclass":
            return torch.softmax(z, dim=1)
        return z[:, 0] if z.shape[1] == 1 else z


def check_probe(probe: LinearProbe, provenance: Provenance, *, what: str = "input") -> None:
    """Raise :class:`ConfigError` if the probe was trained on another model, layer or tokenizer."""
    check_provenance(probe.provenance, provenance, owner="probe", name=probe.target, what=what)


def save_probe(probe: LinearProbe, path: str | os.PathLike[str]) -> Path:
    """Write ``probe.safetensors`` and ``cfg.json`` into the folder ``path``; return it."""
    cfg = {"target": probe.target, "kind": probe.kind, "outputs": list(probe.outputs), "level": probe.level,
           "representation": probe.representation, "d_in": probe.d_in, "threshold": probe.threshold,
           "provenance": asdict(probe.provenance), "sae": probe.sae, "metrics": probe.metrics}
    return save_artefact(path, weights=WEIGHTS, tensors={"weight": probe.weight, "bias": probe.bias}, cfg=cfg,
                         encoding=(FORMAT, FORMAT_VERSION))


def load_probe(path: str | os.PathLike[str]) -> LinearProbe:
    """Read a probe folder written by :func:`save_probe` (checksum and shapes checked)."""
    cfg, state = load_artefact(path, weights=WEIGHTS, encoding=(FORMAT, FORMAT_VERSION), what="probe")
    if set(state) != {"weight", "bias"} or state["weight"].shape[1] != cfg["d_in"]:
        raise InputFormatError(f"probe weights do not match cfg.json (d_in {cfg['d_in']})", path=Path(path) / WEIGHTS)
    return LinearProbe(
        target=cfg["target"], kind=cfg["kind"], outputs=tuple(cfg["outputs"]), weight=state["weight"],
        bias=state["bias"], level=cfg["level"], representation=cfg["representation"],
        provenance=Provenance(**cfg["provenance"]), threshold=float(cfg["threshold"]), sae=dict(cfg["sae"] or {}),
        metrics=dict(cfg.get("metrics") or {}),
    )
