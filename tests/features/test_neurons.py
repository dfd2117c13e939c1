"""SAE features vs single neurons (InterPLM's comparison) on planted activations."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_concepts import FakeSource

from genolens.errors import ConfigError
from genolens.features.concept_sets import concept_set
from genolens.features.concepts import AlignmentConfig, align_concepts
from genolens.features.neurons import NeuronBasis, compare_with_neurons, count_matched, feature_max


def _planted(seed: int = 0):
    """12 sequences; concept ``low`` where neuron 2 dips, ``high`` where SAE feature 1 fires, ``none`` unmarked."""
    rng = np.random.default_rng(seed)
    lengths = [40] * 12
    n = sum(lengths)
    acts = rng.normal(0, 1, (n, 4)).astype(np.float32)
    records, low, high = [], np.zeros(n, bool), np.zeros(n, bool)
    for q in range(12):
        base = 40 * q
        for a in (3, 20):
            records.append((f"q{q}", "low", a, a + 4))
            low[base + a : base + a + 4] = True
        records.append((f"q{q}", "high", 10, 14))
        high[base + 10 : base + 14] = True
        records.append((f"q{q}", "none", 30, 33))
    acts[low, 2] = -6.0  # the concept is the *low* end of neuron 2
    codes = np.zeros((n, 3), np.float32)
    codes[high, 1] = 2.0 + rng.random(high.sum()).astype(np.float32)
    codes[:, 0] = np.abs(acts[:, 0])  # a dense feature that marks nothing
    return FakeSource(acts, lengths), codes, concept_set(records, space="sequence")


class CodebookSAE(torch.nn.Module):
    """An 'SAE' whose codes are given per row (rows are identified by their activation's first value)."""

    def __init__(self, acts: np.ndarray, codes: np.ndarray) -> None:
        super().__init__()
        self.lookup = {float(a): c for a, c in zip(acts[:, 3], codes, strict=True)}
        self.cfg = SimpleNamespace(d_in=4, d_sae=codes.shape[1])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.stack([self.lookup[float(v)] for v in x[:, 3]]))


def test_neuron_basis_scales_both_ends():
    source, _, _ = _planted()
    basis = NeuronBasis.from_source(source)
    assert basis.cfg.d_sae == 8 and basis.unit_name(2) == "n2+" and basis.unit_name(6) == "n2-"
    units = basis.encode(torch.from_numpy(source.codes))
    assert units.min() == 0 and units.max() == 1
    torch.testing.assert_close(units[:, :4] + units[:, 4:], torch.ones(units.shape[0], 4))
    lowest = int(np.argmin(source.codes[:, 2]))
    assert units[lowest, 6] == 1.0  # the minimum of neuron 2 is the maximum of its "-" unit


def test_compare_finds_the_planted_neuron_and_feature():
    source, codes, concepts = _planted()
    sae = CodebookSAE(source.codes, codes)
    config = AlignmentConfig(thresholds=(0.0, 0.5, 0.8), seed=1)
    table = compare_with_neurons(source, sae=sae, concepts=[concepts], config=config, min_instances=3)
    by = table.set_index("concept")
    assert list(by.index) == ["high", "low", "none"]
    assert by.loc["low", "neuron"] == "n2-" and by.loc["low", "neuron_f1_test"] == pytest.approx(1.0)
    assert by.loc["high", "sae_feature"] == 1 and by.loc["high", "sae_f1_test"] == pytest.approx(1.0)
    assert by.loc["none", "sae_f1_test"] < 0.5 and by.loc["none", "neuron_f1_test"] < 0.5
    # the SAE side is exactly align_concepts' own choice
    direct = align_concepts(source, sae=sae, concepts=concepts, feature_max=feature_max(source, sae=sae),
                            config=config).best_features().set_index("concept")  # fmt: skip
    np.testing.assert_allclose(by["sae_f1_test"], direct.loc[by.index, "f1_test"])
    counts = count_matched(table)
    assert counts["concepts"] == 3 and counts["neurons"] >= 1 and counts["sae_features"] >= 1
    assert counts == count_matched(table, f1=0.5)
    assert count_matched(table, f1=1.0)["neurons"] == 0  # F1 > threshold, strictly


def test_concepts_with_too_few_instances_are_left_out():
    source, codes, concepts = _planted()
    sae = CodebookSAE(source.codes, codes)
    table = compare_with_neurons(source, sae=sae, concepts=[concepts], min_instances=7)
    assert table["concept"].tolist() == ["low"]  # 2 instances x 6 sequences per split; the others have 6
    with pytest.raises(ConfigError, match="min_instances"):
        compare_with_neurons(source, sae=sae, concepts=[concepts], min_instances=0)
