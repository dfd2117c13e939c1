"""Architecture name -> SAE class, so configs and checkpoints never dispatch on class names."""

from __future__ import annotations

from genolens.errors import ConfigError
from genolens.sae.base import SparseAutoencoder
from genolens.sae.batchtopk import BatchTopKSAE
from genolens.sae.config import SAEConfig
from genolens.sae.jumprelu import JumpReLUSAE
from genolens.sae.matryoshka import MatryoshkaSAE
from genolens.sae.relu import ReLUSAE
from genolens.sae.topk import TopKSAE

REGISTRY: dict[str, type[SparseAutoencoder]] = {
    cls.architecture: cls for cls in (TopKSAE, BatchTopKSAE, MatryoshkaSAE, ReLUSAE, JumpReLUSAE)
}


def build_sae(cfg: SAEConfig) -> SparseAutoencoder:
    """A freshly initialised SAE of ``cfg.architecture``.

    Parameters
    ----------
    cfg
        Architecture, sizes and loss settings (an unknown architecture is an error naming the known ones).

    Returns
    -------
    SparseAutoencoder
        The architecture's module, weights initialised from ``cfg.seed``.
    """
    try:
        cls = REGISTRY[cfg.architecture]
    except KeyError:
        raise ConfigError(f"unknown SAE architecture {cfg.architecture!r}; known: {sorted(REGISTRY)}") from None
    return cls(cfg)


ARCHITECTURES: tuple[str, ...] = tuple(REGISTRY)
"""The architecture names, in registry order (the one list configs, checkpoints and help read)."""
