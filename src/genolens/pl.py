"""``gl.pl``: plots of genolens results, in scanpy's style.

Every function draws on ``ax`` when given (so plots compose into a user's figure) or on a new one, and
returns the ``Axes``. Nothing here changes matplotlib's backend: in a notebook the plots show inline.
Inputs are the result objects of ``gl.tl`` and ``gl.read_*`` (or an AnnData the association wrote into).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from genolens.cohort.ancestry import AncestryPCs
from genolens.errors import ConfigError
from genolens.features.logo import draw_logo, logo_width
from genolens.features.tracks import ReferenceTracks
from genolens.interventions.ism import IsmResult
from genolens.interventions.steer import SteerResult
from genolens.sae.metrics import draw_density
from genolens.stats.plots import draw_baseline, draw_categories, draw_confound, draw_gene_qq, draw_qq, draw_volcano
from genolens.stats.results import TABLE_COLUMNS, AssociationResult

__all__ = [
    "activation_histogram", "baseline", "categories", "confound", "density", "feature_phenotype", "feature_track",
    "gene_qq", "ism", "logo", "pcs", "qq", "scree", "steer", "volcano",
]


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
    """Adjusted effect against -log10(p), coloured by confound category.

    Parameters
    ----------
    data, key, ax
        As :func:`qq`.

    Returns
    -------
    matplotlib.axes.Axes
    """
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


def gene_qq(data: object, *, ax: Axes | None = None) -> Axes:
    """QQ plot over genes: one cis test per gene for the genotypes (eQTL scan) and for the model features.

    Parameters
    ----------
    data
        A genotype-baseline result (``gl.tl.baseline``, ``gl.read_baseline``) holding both cis scans.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    eqtl, features = getattr(data, "eqtl", None), getattr(data, "features_cis", None)
    if not isinstance(eqtl, pd.DataFrame) or not isinstance(features, pd.DataFrame):
        raise ConfigError(f"expected a baseline result with both cis scans, got {type(data).__name__}",
                          hint="gl.tl.baseline / gl.read_baseline of a run that wrote features_cis.tsv")
    return draw_gene_qq({"genotypes (cis-eQTL)": eqtl["pval_beta"], "model features": features["pval_beta"]},
                        ax=_axes(ax, (5, 5)))


def categories(
    data: AssociationResult | pd.DataFrame | ad.AnnData, *, key: str = "association", ax: Axes | None = None
) -> Axes:
    """How many features fell in each confound category.

    Parameters
    ----------
    data, key, ax
        As :func:`qq`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    return draw_categories(_association_table(data, key), ax=_axes(ax, (5, 2.5)))


def confound(
    data: AssociationResult | pd.DataFrame | ad.AnnData,
    *,
    key: str = "association",
    ax: Axes | None = None,
) -> Axes:
    """The ancestry-confound picture: each tested feature's ancestry R² against its adjusted -log10(p).

    Colours are the categories, which come from the adjusted and unadjusted tests and the test of the
    change in effect (:mod:`genolens.stats.confound`); ancestry R² is a descriptor, not a cut-off.

    Parameters
    ----------
    data
        As :func:`qq`.
    key
        The ``key_added`` of the association run, for an AnnData.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    return draw_confound(_association_table(data, key), ax=_axes(ax, (5, 4)))


def scree(ancestry: AncestryPCs, *, ax: Axes | None = None) -> Axes:
    """Eigenvalue of each genotype PC, to choose how many to adjust for.

    Parameters
    ----------
    ancestry
        Genotype PCs (``gl.tl.ancestry``, ``gl.read_ancestry``).
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    values = np.asarray(ancestry.eigenvalues, dtype=float)
    ax = _axes(ax, (4.5, 3))
    ax.plot(np.arange(1, values.size + 1), values, "o-")
    ax.set_xticks(np.arange(1, values.size + 1))
    ax.set_xlabel("PC")
    ax.set_ylabel("eigenvalue")
    ax.set_title("ancestry PCA scree")
    return ax


def pcs(
    ancestry: AncestryPCs | pd.DataFrame,
    *,
    labels: pd.Series | None = None,
    x: str = "PC1",
    y: str = "PC2",
    ax: Axes | None = None,
) -> Axes:
    """Samples on two genotype PCs, coloured by a label (e.g. super-population).

    Parameters
    ----------
    ancestry
        Genotype PCs (``gl.tl.ancestry``, ``gl.read_ancestry``) or their samples × PCs table.
    labels
        A label per sample, indexed by sample (e.g. ``adata.obs["super_pop"]``); only the PCs' samples are
        drawn, those without a label as "NA".
    x, y
        The PCs on the two axes.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = ancestry.pcs if isinstance(ancestry, AncestryPCs) else ancestry
    missing = [c for c in (x, y) if c not in table.columns]
    if missing:
        raise ConfigError(f"no {missing} among the PCs {list(table.columns)}")
    ax = _axes(ax, (5, 4))
    if labels is None:
        ax.scatter(table[x], table[y], s=8)
    else:
        groups = labels.reindex(table.index).astype(object).fillna("NA").astype(str)
        for name in sorted(groups.unique()):
            part = table[(groups == name).to_numpy()]
            ax.scatter(part[x], part[y], s=8, label=f"{name} ({len(part)})")
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def feature_phenotype(
    adata: ad.AnnData,
    *,
    feature: str,
    phenotype: str,
    groupby: str | None = None,
    jitter: float = 0.01,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """One feature against a phenotype, per sample, coloured by a group (e.g. population).

    Per-sample features often take a few distinct values (genotype classes), so points are jittered
    along x by ``jitter`` times the feature's range; samples without the phenotype are left out.

    Parameters
    ----------
    adata
        Samples × features with the phenotype (and ``groupby``) in ``obs``.
    feature
        A ``var_names`` entry.
    phenotype
        Numeric ``obs`` column.
    groupby
        ``obs`` column to colour by.
    jitter
        Horizontal jitter, as a fraction of the feature's range (0: none).
    seed
        Seed of the jitter.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if feature not in adata.var_names:
        raise ConfigError(f"feature {feature!r} is not in adata.var_names")
    for column in (phenotype, groupby):
        if column is not None and column not in adata.obs.columns:
            raise ConfigError(f"obs has no column {column!r}")
    values = adata[:, feature].X
    values = np.asarray(values.toarray() if hasattr(values, "toarray") else values, dtype=float).ravel()
    frame = pd.DataFrame({"x": values, "y": pd.to_numeric(adata.obs[phenotype], errors="coerce").to_numpy(),
                          "group": adata.obs[groupby].astype(str).to_numpy() if groupby else ""}).dropna()
    span = float(np.ptp(frame["x"])) if len(frame) else 0.0
    frame["x"] += np.random.default_rng(seed).normal(0.0, jitter * (span or 1.0), len(frame)) if jitter else 0.0
    ax = _axes(ax, (5, 4))
    for name, part in frame.groupby("group", sort=True):
        ax.scatter(part["x"], part["y"], s=12, alpha=0.7, label=f"{name} ({len(part)})" if groupby else None)
    if groupby and len(frame):
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel(feature + (" (jittered)" if jitter else ""))
    ax.set_ylabel(phenotype)
    return ax


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
    """Histogram of one feature's non-zero activations (as ``gl.tl.annotate`` counts them, in log10 bins).

    Parameters
    ----------
    counts
        Counts per bin (``results.hist[feature]`` of ``gl.read_annotation``).
    edges
        Bin edges, one more than ``counts``: ``results.hist_edges`` (log10 activation, the same for
        every feature).
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
    ax.set_xlabel("log10 activation")
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


def ism(result: IsmResult | str | os.PathLike[str], *, target: str = "score", ax: Axes | None = None) -> Axes:
    """Heat map of a saturation mutagenesis (:func:`genolens.tl.ism`): bases along x, A/C/G/T along y.

    Parameters
    ----------
    result
        An :class:`~genolens.interventions.ism.IsmResult`, or the folder ``genolens ism`` wrote.
    target
        ``"score"`` or ``"feature_<i>"``.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with a colour bar centred at 0.
    """
    from genolens.report.ism import draw_ism, read_ism

    data = result if isinstance(result, IsmResult) else read_ism(result)
    return draw_ism(data, target=target, ax=_axes(ax, (min(4 + len(data.ref) / 12, 30), 2.6)))


def steer(result: SteerResult, *, sequence: str | None = None, ax: Axes | None = None) -> Axes:
    """The predicted letter distribution along a sequence before and after steering (:func:`genolens.tl.steer`).

    Parameters
    ----------
    result
        A :class:`~genolens.interventions.steer.SteerResult`.
    sequence
        The sequence drawn (default: the first).
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        A heat map: one row per letter before, then after; colour = probability over the letters.
    """
    from genolens.report.interventions import draw_steer

    if not isinstance(result, SteerResult):
        raise ConfigError(f"expected a SteerResult, got {type(result).__name__}")
    sid = sequence if sequence is not None else str(result.positions["sequence_id"].iloc[0])
    n = len(result.coords.get(sid, ()))
    return draw_steer(result, sequence=sid, ax=_axes(ax, (min(4 + n / 15, 30), 3.2)))
