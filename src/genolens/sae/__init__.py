"""Sparse autoencoders on activation stores: train (one or a sweep), load, evaluate, check stability.

``gl.sae.train(store, layer=..., out=..., tokens=...)`` trains; ``gl.sae.load(path)`` reads a checkpoint
(SAELens-compatible ``sae_weights.safetensors`` + ``cfg.json``); ``sae.encode(x)`` / ``sae.decode(f)`` on the
loaded module; ``gl.sae.evaluate(sae, store)`` judges it on held-out sequences (``gl.sae.read_evaluation``).
``gl.sae.make_config(architecture, ...)`` builds one architecture's config (``gl.sae.ARCHITECTURES``).

Names load on first use (the configs need no torch, so the command line can read them cheaply).
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, attribute)
_EXPORTS = {
    "ARCHITECTURES": ("genolens.sae.config", "ARCHITECTURES"),
    "Provenance": ("genolens.provenance", "Provenance"),
    "SAEConfig": ("genolens.sae.config", "SAEConfig"),
    "TrainConfig": ("genolens.sae.config", "TrainConfig"),
    "make_config": ("genolens.sae.config", "make_config"),
    "SAEMetrics": ("genolens.sae.metrics", "SAEMetrics"),
    "evaluate_sae": ("genolens.sae.metrics", "evaluate_sae"),
    "feature_stability": ("genolens.sae.metrics", "feature_stability"),
    "SparseAutoencoder": ("genolens.sae.base", "SparseAutoencoder"),
    "build_sae": ("genolens.sae.registry", "build_sae"),
    "check_compatible": ("genolens.sae.checkpoint", "check_compatible"),
    "save_sae": ("genolens.sae.checkpoint", "save_sae"),
    "load": ("genolens.sae.checkpoint", "load_sae"),
    "TrainResult": ("genolens.sae.sweep", "TrainResult"),
    "read_evaluation": ("genolens.sae.sweep", "read_evaluation"),
    "seed_stability": ("genolens.sae.sweep", "seed_stability"),
    "sweep_configs": ("genolens.sae.sweep", "sweep_configs"),
    "train": ("genolens.sae.sweep", "train"),
    "evaluate": ("genolens.sae.sweep", "evaluate_on_store"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'genolens.sae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
