"""``gl.pl``: every plot returns its axes, draws what it was given, and composes into a user's figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import genolens as gl
from genolens.features.tracks import ReferenceTracks
from genolens.io.coordmap import CoordinateMap


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 50
    p = rng.uniform(size=n)
    return pd.DataFrame({
        "feature": [f"f{i}" for i in range(n)], "beta": rng.normal(size=n), "se": 1.0, "stat": 0.0,
        "pvalue": p, "neg_log10_p": -np.log10(p), "qvalue": p, "n": 100, "ancestry_r2": 0.0,
        "pvalue_unadjusted": p ** 2,
        "category": ["biomarker_candidate"] * 3 + ["ancestry_confounded"] * 7 + ["none"] * 40,
    })


def test_association_plots_draw_every_point(table):
    fig, axes = plt.subplots(1, 3)
    assert gl.pl.qq(table, ax=axes[0]) is axes[0]
    assert [len(c.get_offsets()) for c in axes[0].collections] == [50, 50]  # unadjusted, adjusted
    gl.pl.volcano(table, ax=axes[1])
    labels = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert labels == ["biomarker_candidate (3)", "ancestry_confounded (7)", "none (40)"]
    gl.pl.categories(table, ax=axes[2])
    assert [p.get_width() for p in axes[2].patches] == [3, 7, 40]
    plt.close(fig)


def test_plots_read_an_anndata_the_association_wrote_into(table):
    import anndata as ad

    adata = ad.AnnData(X=np.zeros((2, len(table))), var=pd.DataFrame(index=table["feature"]))
    for col in table.columns[1:]:
        adata.var[f"association_{col}"] = table[col].to_numpy()
    ax = gl.pl.qq(adata)
    assert isinstance(ax, Axes) and len(ax.collections) == 2
    with pytest.raises(gl.errors.ConfigError, match="no association results under key 'other'"):
        gl.pl.qq(adata, key="other")
    plt.close("all")


def test_logo_histogram_and_density():
    probs = np.full((6, 4), 0.25)
    probs[2] = [1.0, 0.0, 0.0, 0.0]
    ax = gl.pl.logo(probs, first_position=-2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-2", "-1", "0", "1", "2", "3"]
    ax = gl.pl.activation_histogram(np.array([3, 1, 0]), np.array([0.0, 1.0, 2.0, 3.0]))
    assert isinstance(ax, Axes)
    with pytest.raises(gl.errors.ConfigError, match="one more edge than counts"):
        gl.pl.activation_histogram(np.array([3, 1]), np.array([0.0, 1.0]))
    ax = gl.pl.density(np.array([0.0, 1e-3, 0.5]))
    assert sum(p.get_height() for p in ax.patches) == 3
    plt.close("all")


def test_feature_track_is_placed_on_reference_coordinates_with_gaps_broken():
    pos = np.array([100, 101, 102, 200, 201])  # two windows: the line must not join 103..199
    tracks = ReferenceTracks(tracks=[(np.arange(5.0), CoordinateMap("22", "+", pos))], n_sequences=1,
                             n_positions=5, n_shared=0, max_depth=1, name="L1 unit 0")
    ax = gl.pl.feature_track(tracks)
    (line,) = ax.get_lines()
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_array_equal(x[~np.isnan(x)], pos + 1)
    assert np.isnan(x[3]) and np.isnan(y[3])
    with pytest.raises(gl.errors.ConfigError, match="no track to draw on contigs"):
        gl.pl.feature_track(tracks, contigs=["1"])
    plt.close("all")
