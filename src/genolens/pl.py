"""``gl.pl``: plots of genolens results, in scanpy's style.

Every function draws on ``ax`` when given (so plots compose into a user's figure) or on a new one, and
returns the ``Axes``. Nothing here changes matplotlib's backend: in a notebook the plots show inline.
Inputs are the result objects of ``gl.tl`` and ``gl.read_*`` (or an AnnData the association wrote into).
"""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from genolens.errors import ConfigError
from genolens.features.logo import draw_logo, logo_width
from genolens.features.tracks import ReferenceTracks
from genolens.sae.evaluate import draw_density
from genolens.stats.associate import TABLE_COLUMNS, AssociationResult
from genolens.stats.plots import draw_baseline, draw_categories, draw_qq, draw_volcano

__all__ = ["activation_histogram", "baseline", "categories", "density", "feature_track", "logo", "qq", "volcano"]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # pyplot only when the user asks for a new figure: it honours their backend

    _, new = plt.subplots(figsize=figsize)
    return new


def _association_table(data: AssociationResult | pd.DataFrame | ad.AnnData, key: str) -> pd.DataFrame:
    if isinstance(data, AssociationResult):
        return data.table
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, ad.AnnData):
        columns = {c: f"{key}_{c}" for c in TABLE_COLUMNS[1:]}
        missing = [v for v in columns.values() if v not in data.var.columns]
        if missing:
            raise ConfigError(f"adata.var has no association results under key {key!r} (missing {missing[:3]})",
                              hint="run gl.tl.associate(adata, ...) first, or pass key= of that run")
        table = pd.DataFrame({c: data.var[v].to_numpy() for c, v in columns.items()})
        table.insert(0, "feature", data.var_names.astype(str))
        return table
    raise ConfigError(f"expected an AssociationResult, a table or an AnnData, got {type(data).__name__}")


def qq(
    data: AssociationResult | pd.DataFrame | ad.AnnData, *, key: str = "association", ax: Axes | None = None
) -> Axes:
    """QQ plot of the ancestry-adjusted and unadjusted p-values, with lambda GC in the legend.

    Parameters
    ----------
    data
        An association result (``gl.tl.associate``, ``gl.read_association``), its table, or the AnnData
        it wrote into (``var["{key}_pvalue"]`` ...).
    key
        The ``key_added`` of the association run, for an AnnData.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    return draw_qq(_association_table(data, key), ax=_axes(ax, (5, 5)))


def volcano(
    data: AssociationResult | pd.DataFrame | ad.AnnData, *, key: str = "association", ax: Axes | None = None
) -> Axes:
    """Adjusted effect against -log10(p), coloured by confound category (parameters as :func:`qq`)."""
    return draw_volcano(_association_table(data, key), ax=_axes(ax, (6, 5)))


def baseline(data: object, *, ax: Axes | None = None) -> Axes:
    """Per gene, cross-validated R² of expression from model features against from cis genotypes.

    Parameters
    ----------
    data
        A genotype-baseline result (``gl.tl.baseline``, ``gl.read_baseline``) or its table.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = data if isinstance(data, pd.DataFrame) else getattr(data, "table", None)
    if not isinstance(table, pd.DataFrame) or "r2_features" not in table.columns:
        raise ConfigError(f"expected a baseline result or its table, got {type(data).__name__}")
    return draw_baseline(table, ax=_axes(ax, (5, 5)))


def categories(
    data: AssociationResult | pd.DataFrame | ad.AnnData, *, key: str = "association", ax: Axes | None = None
) -> Axes:
    """How many features fell in each confound category (parameters as :func:`qq`)."""
    return draw_categories(_association_table(data, key), ax=_axes(ax, (5, 2.5)))


def logo(
    probs: np.ndarray,
    *,
    title: str = "",
    first_position: int = 0,
    highlight: tuple[int, int] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Sequence logo (information content) of a position probability matrix.

    Parameters
    ----------
    probs
        ``[length, 4]`` probabilities of A, C, G, T (e.g. a feature's PWM from ``gl.read_annotation``).
    title
        Axes title.
    first_position
        Label of the first column (e.g. ``-flank`` for offsets from the activating base).
    highlight
        Columns ``[start, end)`` to shade (the trimmed motif).
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    return draw_logo(probs, ax=_axes(ax, (logo_width(len(probs)), 1.9)), title=title,
                     first_position=first_position, highlight=highlight)


def activation_histogram(counts: np.ndarray, edges: np.ndarray, *, title: str = "", ax: Axes | None = None) -> Axes:
    """Histogram of one feature's non-zero activations (as ``gl.tl.annotate`` counts them).

    Parameters
    ----------
    counts
        Counts per bin (``results.hist[feature]`` of ``gl.read_annotation``).
    edges
        Bin edges, one more than ``counts`` (``results.hist_edges[feature]``).
    title
        Axes title.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    counts, edges = np.asarray(counts), np.asarray(edges)
    if edges.shape != (counts.size + 1,):
        raise ConfigError(f"a histogram needs one more edge than counts, got {counts.size} counts, {edges.size} edges")
    ax = _axes(ax, (5, 2.5))
    ax.stairs(counts, edges, fill=True, color="#3b6ea8")
    ax.set_xlabel("activation")
    ax.set_ylabel("tokens")
    if title:
        ax.set_title(title)
    return ax


def density(values: np.ndarray, *, title: str = "", ax: Axes | None = None) -> Axes:
    """Feature density of an SAE: histogram of each latent's log10 firing frequency.

    Parameters
    ----------
    values
        Firing frequency of each latent (``gl.sae.evaluate(...).density``).
    title
        Axes title.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    return draw_density(np.asarray(values), ax=_axes(ax, (6, 3.5)), title=title)


def feature_track(
    tracks: ReferenceTracks, *, contigs: Sequence[str] = (), ax: Axes | None = None, label: str = ""
) -> Axes:
    """Per-base values of a unit or feature over reference coordinates, one line per contig and strand.

    Parameters
    ----------
    tracks
        What ``gl.tl.feature_track`` returned.
    contigs
        Only these contigs (default: all).
    ax
        Axes to draw on (default: a new figure).
    label
        Y-axis label (default: "activation").

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (9, 2.5))
    drawn = 0
    for values, cmap in tracks.tracks:
        if contigs and cmap.contig not in contigs:
            continue
        pos = np.asarray(cmap.ref_pos)
        order = np.argsort(pos, kind="stable")
        # break the line where reference positions are not adjacent (gaps between windows, deletions)
        x = pos[order].astype(float) + 1  # 1-based, as a genome browser shows it
        y = np.asarray(values, dtype=float)[order]
        gaps = np.flatnonzero(np.diff(x) > 1) + 1
        x, y = np.insert(x, gaps, np.nan), np.insert(y, gaps, np.nan)
        ax.plot(x, y, lw=0.8, label=f"{cmap.contig} ({cmap.strand})")
        drawn += 1
    if drawn == 0:
        raise ConfigError("no track to draw" + (f" on contigs {list(contigs)}" if contigs else ""))
    ax.set_xlabel("reference position (1-based)")
    ax.set_ylabel(label or "activation")
    if drawn > 1:
        ax.legend(fontsize=8, frameon=False)
    return ax
