"""SAE features against single neurons: InterPLM's headline comparison.

InterPLM (Simon & Zou, 2024) asks how many biological concepts some SAE feature
matches with held-out F1 > 0.5, and how many some single neuron of the same layer
matches, on the same data. This module runs :func:`~genolens.features.concepts.align_concepts`
twice over one store, once through the SAE and once through the layer's neurons,
and puts the best of each per concept side by side.

Neurons as features (:class:`NeuronBasis`): a neuron's activation can mean something
at either end of its range, so each neuron is two units, its value scaled to [0, 1]
by its minimum and maximum over the store, and one minus that. Every concept is
then offered 2 x width neuron units and the same thresholds (fractions of the unit's
maximum, which is 1) and the same select/test split as the SAE's features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from genolens.errors import ConfigError
from genolens.features.concept_sets import ConceptSet
from genolens.features.concepts import AlignmentConfig, align_concepts
from genolens.features.source import StoreSource
from genolens.features.summary import encode

CHUNK_ROWS = 8192


@dataclass(frozen=True)
class _UnitsConfig:
    d_in: int
    d_sae: int


class NeuronBasis(nn.Module):
    """A layer's neurons as ``2 x d`` non-negative units: min-max scaled value, and one minus it."""

    def __init__(self, low: torch.Tensor, high: torch.Tensor) -> None:
        super().__init__()
        if low.shape != high.shape or low.dim() != 1:
            raise ConfigError("low and high must be vectors of one length")
        self.register_buffer("low", low.float())
        self.register_buffer("span", (high.float() - low.float()).clamp_min(1e-12))
        self.cfg = _UnitsConfig(d_in=int(low.shape[0]), d_sae=2 * int(low.shape[0]))

    @classmethod
    def from_source(cls, source: StoreSource) -> NeuronBasis:
        """Each neuron's minimum and maximum over every row of ``source``."""
        low = high = None
        for chunk in source.chunks(chunk_rows=CHUNK_ROWS):
            x = chunk.acts.float()
            lo, hi = x.min(0).values, x.max(0).values
            low = lo if low is None else torch.minimum(low, lo)
            high = hi if high is None else torch.maximum(high, hi)
        if low is None:
            raise ConfigError("the store has no rows", path=source.path)
        return cls(low, high)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = ((x.float() - self.low) / self.span).clamp(0, 1)
        return torch.cat([z, 1 - z], dim=-1)

    def unit_name(self, unit: int) -> str:
        """``"n17+"`` (high values of neuron 17) or ``"n17-"`` (low values)."""
        d = self.cfg.d_in
        return f"n{unit % d}{'+' if unit < d else '-'}"


def feature_max(source: StoreSource, *, sae: nn.Module) -> np.ndarray:
    """Each SAE feature's maximum over every row of ``source`` (``[d_sae]``)."""
    best = torch.zeros(int(sae.cfg.d_sae))
    for chunk in source.chunks(chunk_rows=CHUNK_ROWS):
        best = torch.maximum(best, encode(chunk.acts, sae=sae).max(0).values)
    return best.numpy()


def _best(source: StoreSource, units: nn.Module, unit_max: np.ndarray, concepts: ConceptSet, config: AlignmentConfig):
    return align_concepts(source, sae=units, concepts=concepts, feature_max=unit_max, config=config).best_features()


def compare_with_neurons(
    source: StoreSource,
    *,
    sae: nn.Module,
    concepts: Sequence[ConceptSet],
    config: AlignmentConfig | None = None,
    min_instances: int = 5,
) -> pd.DataFrame:
    """Per concept: the best SAE feature and the best single neuron, each chosen on the select split.

    Parameters
    ----------
    source
        One layer of a store (rows of the sequences the concepts annotate).
    sae
        An SAE trained on that layer.
    concepts
        Concept sets; each is scored only on the sequences it annotates.
    config
        Thresholds, held-out split and recall definition, shared by features and neurons.
    min_instances
        Concepts with fewer instances than this in either split are left out.

    Returns
    -------
    pandas.DataFrame
        One row per concept: ``concept``, ``instances_select``, ``instances_test``,
        ``sae_feature``, ``sae_threshold``, ``sae_f1_test``, ``neuron``, ``neuron_threshold``,
        ``neuron_f1_test`` (held-out F1 of the pair chosen on the select split).
    """
    if min_instances < 1:
        raise ConfigError(f"min_instances must be >= 1, got {min_instances}")
    config = config or AlignmentConfig()
    neurons = NeuronBasis.from_source(source)
    sae_max = feature_max(source, sae=sae)
    rows = []
    for cs in concepts:
        by_sae = _best(source, sae, sae_max, cs, config)
        by_neuron = _best(source, neurons, np.ones(neurons.cfg.d_sae, dtype=np.float32), cs, config)
        for s, n in zip(by_sae.itertuples(), by_neuron.itertuples(), strict=True):
            rows.append({
                "concept": s.concept,
                "instances_select": int(s.instances_select),
                "instances_test": int(s.instances_test),
                "sae_feature": int(s.feature),
                "sae_threshold": float(s.threshold),
                "sae_f1_test": float(s.f1_test),
                "neuron": neurons.unit_name(int(n.feature)),
                "neuron_threshold": float(n.threshold),
                "neuron_f1_test": float(n.f1_test),
            })
    table = pd.DataFrame(rows)
    keep = (table["instances_select"] >= min_instances) & (table["instances_test"] >= min_instances)
    return table[keep].reset_index(drop=True)


def count_matched(table: pd.DataFrame, *, f1: float = 0.5) -> dict[str, int]:
    """InterPLM's headline: concepts, and how many have an SAE feature / a neuron with held-out F1 > ``f1``."""
    return {
        "concepts": len(table),
        "sae_features": int((table["sae_f1_test"] > f1).sum()),
        "neurons": int((table["neuron_f1_test"] > f1).sum()),
    }
