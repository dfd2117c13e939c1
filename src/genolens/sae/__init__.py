"""Sparse autoencoders on activation stores: train (one or a sweep), load, evaluate, check stability.

``gl.sae.train(store, layer=..., out=..., tokens=...)`` trains; ``gl.sae.load(path)`` reads a checkpoint
(SAELens-compatible ``sae_weights.safetensors`` + ``cfg.json``); ``sae.encode(x)`` / ``sae.decode(f)`` on the
loaded module; ``gl.sae.evaluate(sae, store)`` judges it on held-out sequences (``gl.sae.read_evaluation``).
"""

from genolens.sae.base import SparseAutoencoder
from genolens.sae.checkpoint import check_compatible, save_sae
from genolens.sae.checkpoint import load_sae as load
from genolens.sae.config import Provenance, SAEConfig, TrainConfig
from genolens.sae.evaluate import SAEMetrics, evaluate_sae, feature_stability
from genolens.sae.registry import ARCHITECTURES, build_sae
from genolens.sae.sweep import TrainResult, read_evaluation, seed_stability, train
from genolens.sae.sweep import evaluate_on_store as evaluate

__all__ = [
    "ARCHITECTURES", "Provenance", "SAEConfig", "SAEMetrics", "SparseAutoencoder", "TrainConfig", "TrainResult",
    "build_sae", "check_compatible", "evaluate", "evaluate_sae", "feature_stability", "load", "read_evaluation",
    "save_sae", "seed_stability", "train",
]
