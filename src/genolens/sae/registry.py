"""Architecture name -> SAE class, so configs and checkpoints never dispatch on class names.

The names and settings of the architectures live in :data:`genolens.sae.config.CONFIGS` (torch-free: the
command line's choices and help read them); each SAE class names its config as ``config_class``.
"""

from __future__ import annotations

from genolens.errors import ConfigError
from genolens.sae.base import SparseAutoencoder
from genolens.sae.batchtopk import BatchTopKSAE
from genolens.sae.config import ARCHITECTURES, CONFIGS, SAEConfig, config_from_dict, make_config, options
from genolens.sae.jumprelu import JumpReLUSAE
from genolens.sae.matryoshka import MatryoshkaSAE
from genolens.sae.relu import ReLUSAE
from genolens.sae.topk import TopKSAE

__all__ = ["ARCHITECTURES", "REGISTRY", "build_sae", "config_from_dict", "make_config", "options", "sae_class"]

REGISTRY: dict[str, type[SparseAutoencoder]] = {
    cls.architecture: cls for cls in (TopKSAE, BatchTopKSAE, MatryoshkaSAE, ReLUSAE, JumpReLUSAE)
}

if set(REGISTRY) != set(CONFIGS) or any(REGISTRY[a].config_class is not CONFIGS[a] for a in CONFIGS):
    raise RuntimeError("genolens.sae: the SAE classes and genolens.sae.config.CONFIGS disagree")  # a packaging bug


def sae_class(architecture: str) -> type[SparseAutoencoder]:
    """The SAE class registered under ``architecture``.

    Parameters
    ----------
    architecture
        An architecture name (:data:`ARCHITECTURES`).

    Returns
    -------
    type
        The :class:`~genolens.sae.base.SparseAutoencoder` subclass.
    """
    try:
        return REGISTRY[architecture]
    except KeyError:
        raise ConfigError(f"unknown SAE architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}") from None


def build_sae(cfg: SAEConfig) -> SparseAutoencoder:
    """A freshly initialised SAE of ``cfg.architecture``.

    Parameters
    ----------
    cfg
        The SAE's config (from :func:`make_config`).

    Returns
    -------
    SparseAutoencoder
        The untrained module.
    """
    return sae_class(cfg.architecture)(cfg)
