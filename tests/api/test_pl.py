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
    assert isinstance(ax, Axes) and ax.get_xlabel() == "log10 activation"  # annotate's bins are log10
    with pytest.raises(gl.errors.ConfigError, match="one more edge than counts"):
        gl.pl.activation_histogram(np.array([3, 1]), np.array([0.0, 1.0]))
    ax = gl.pl.density(np.array([0.0, 1e-3, 0.5]))
    assert sum(p.get_height() for p in ax.patches) == 3
    same = 0.01 + np.array([0.0, 1e-17, 2e-17, 1e-18])  # one frequency to rounding: the bins must not collapse
    assert sum(p.get_height() for p in gl.pl.density(same).patches) == 4
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


def test_confound_draws_every_tested_feature_by_category(table):
    from genolens.stats.results import AssociationResult

    table = table.assign(ancestry_r2=np.linspace(0, 1, len(table)))
    table.loc[0, "pvalue"] = np.nan  # untested: not drawn
    ax = gl.pl.confound(AssociationResult(table=table, summary={}))
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(table) - 1
    drawn = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    np.testing.assert_allclose(np.sort(drawn), np.sort(table["ancestry_r2"].to_numpy()[1:]))
    plt.close("all")


def test_ancestry_scree_and_pcs():
    from genolens.cohort.ancestry import AncestryPCs

    pcs = pd.DataFrame({"PC1": [0.0, 1.0, 2.0, 3.0], "PC2": [1.0, 0.0, 1.0, 0.0]},
                       index=["a", "b", "c", "d"])
    ancestry = AncestryPCs(pcs=pcs, eigenvalues=np.array([3.0, 1.0]))
    ax = gl.pl.scree(ancestry)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [3.0, 1.0])
    labels = pd.Series({"a": "EUR", "b": "AFR", "c": "EUR", "z": "EAS"})  # d unlabelled, z without PCs
    ax = gl.pl.pcs(ancestry, labels=labels)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["AFR (1)", "EUR (2)", "NA (1)"]
    with pytest.raises(gl.errors.ConfigError, match=r"no \['PC3'\] among the PCs"):
        gl.pl.pcs(ancestry, y="PC3")
    plt.close("all")


def test_feature_phenotype_leaves_out_samples_without_the_phenotype():
    import anndata as ad

    obs = pd.DataFrame({"expr": [1.0, 2.0, np.nan, 4.0], "pop": ["A", "A", "B", "B"]}, index=list("abcd"))
    adata = ad.AnnData(X=np.array([[0.0], [1.0], [1.0], [1.0]]), obs=obs, var=pd.DataFrame(index=["f0"]))
    ax = gl.pl.feature_phenotype(adata, feature="f0", phenotype="expr", groupby="pop", jitter=0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A (2)", "B (1)"]
    np.testing.assert_array_equal(np.concatenate([c.get_offsets()[:, 1] for c in ax.collections]), [1.0, 2.0, 4.0])
    constant = ad.AnnData(X=np.ones((4, 1)), obs=obs, var=pd.DataFrame(index=["f0"]))
    ax = gl.pl.feature_phenotype(constant, feature="f0", phenotype="expr")  # no range: jitter still finite
    assert np.isfinite(ax.collections[0].get_offsets()).all()
    with pytest.raises(gl.errors.ConfigError, match="feature 'f9' is not in"):
        gl.pl.feature_phenotype(adata, feature="f9", phenotype="expr")
    plt.close("all")
