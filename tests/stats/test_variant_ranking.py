"""Variants behind a biomarker: per significant feature, the variants ranked by how much they move it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import genolens as gl
from genolens.errors import ConfigError
from genolens.features.variant_effects import VariantEffects
from genolens.stats.variant_ranking import feature_index, rank_variants


def _effects(delta: np.ndarray, scale: np.ndarray | None = None) -> VariantEffects:
    n = delta.shape[0]
    table = pd.DataFrame({"variant": [f"c:{i + 1}:A>G" for i in range(n)], "id": ".", "score": np.arange(n) * 0.5,
                          "method": "llr"})
    return VariantEffects(table, pd.DataFrame(columns=["variant", "reason"]), {}, delta, delta, [], None, scale)


def test_ranks_variants_of_each_significant_feature_by_relative_change():
    delta = np.array([[0.1, 2.0, 0.0], [-0.9, 0.5, 3.0], [0.4, -4.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    scale = np.array([1.0, 4.0, 1.0])
    assoc = pd.DataFrame({"feature": ["f0_mean", "f1_mean", "f2_mean"], "pvalue": [1e-4, 1e-6, 0.5],
                          "qvalue": [1e-3, 1e-5, 0.6]})
    out = rank_variants(_effects(delta, scale), assoc, top=2)
    assert list(out["feature"]) == [1, 1, 0, 0]  # most significant first; f2 is not significant
    assert list(out["variant"]) == ["c:3:A>G", "c:1:A>G", "c:2:A>G", "c:3:A>G"]
    np.testing.assert_allclose(out["change"], [-1.0, 0.5, -0.9, 0.4], rtol=1e-6)
    assert list(out["rank"]) == [1, 2, 1, 2] and out["qvalue"].iloc[0] == 1e-5
    by_p = gl.tl.variants_behind(_effects(delta), associations=assoc, column="pvalue", alpha=0.01, top=1)
    assert list(by_p["variant"]) == ["c:3:A>G", "c:2:A>G"]  # raw changes without a scale


def test_errors():
    assert feature_index("f17_max") == 17 and feature_index("f3") == 3
    with pytest.raises(ConfigError, match="not an SAE feature"):
        feature_index("PC1")
    assoc = pd.DataFrame({"feature": ["f9"], "pvalue": [0.0], "qvalue": [0.0]})
    with pytest.raises(ConfigError, match="not in the SAE"):
        rank_variants(_effects(np.zeros((2, 3), np.float32)), assoc)
    no_sae = VariantEffects(pd.DataFrame(), pd.DataFrame(), {})
    with pytest.raises(ConfigError, match="without an SAE"):
        rank_variants(no_sae, assoc)
    with pytest.raises(ConfigError, match="columns"):
        rank_variants(_effects(np.zeros((2, 3), np.float32)), assoc.drop(columns=["qvalue"]))
