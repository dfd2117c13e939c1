"""QQ, volcano and category plots of association results.

Each plot is drawn on a matplotlib ``Axes`` the caller gives (``gl.pl`` makes one when none is given);
the ``*_plot(..., path=)`` writers draw on a figure of their own, made without pyplot, so writing a PNG
never changes the backend a notebook shows its plots with.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from genolens.stats.multiple_testing import lambda_gc, neg_log10

CATEGORY_COLOURS = {
    "biomarker_candidate": "tab:red",
    "ancestry_confounded": "tab:blue",
    "both": "tab:purple",
    "unresolved": "tab:orange",
    "none": "0.6",
    "untestable": "0.85",
}


def _expected(n: int) -> np.ndarray:
    return -np.log10((np.arange(1, n + 1) - 0.5) / n)


def draw_qq(table: pd.DataFrame, *, ax: Axes) -> Axes:
    """QQ plot of ``pvalue`` (ancestry-adjusted) and ``pvalue_unadjusted`` on ``ax``, lambda GC in the legend."""
    top = 1.0
    for column, label, colour in (
        ("pvalue_unadjusted", "without ancestry", "tab:blue"),
        ("pvalue", "with ancestry", "tab:red"),
    ):
        if column not in table:
            continue
        p = table[column].to_numpy(dtype=float)
        p = np.sort(p[np.isfinite(p)])
        if p.size == 0:
            continue
        obs = neg_log10(p)
        exp = _expected(p.size)
        ax.scatter(exp, obs, s=6, color=colour, label=f"{label} (lambda GC {lambda_gc(p):.3f})")
        top = max(top, float(exp.max()))
    ax.plot([0, top], [0, top], color="black", linewidth=0.8)
    ax.set_xlabel("expected -log10(p)")
    ax.set_ylabel("observed -log10(p)")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def draw_gene_qq(pvalues: dict[str, pd.Series | np.ndarray], *, ax: Axes) -> Axes:
    """QQ plot of gene-level p-values (one per gene, e.g. cis ``pval_beta``) of several scans on ``ax``.

    Parameters
    ----------
    pvalues
        Label -> one p-value per gene (NaN ignored).
    ax
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    top = 1.0
    for (label, values), colour in zip(pvalues.items(), ("tab:green", "tab:purple", "tab:orange"), strict=False):
        p = np.asarray(values, dtype=float)
        p = np.sort(p[np.isfinite(p)])
        if p.size == 0:
            continue
        exp = _expected(p.size)
        ax.scatter(exp, neg_log10(p), s=14, color=colour, label=f"{label} ({p.size} genes)")
        top = max(top, float(exp.max()))
    ax.plot([0, top], [0, top], color="black", linewidth=0.8)
    ax.set_xlabel("expected -log10(p), one test per gene")
    ax.set_ylabel("observed -log10(p) (beta-approximated permutation p)")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def gene_qq_plot(pvalues: dict[str, pd.Series | np.ndarray], *, path: str | os.PathLike[str]) -> None:
    """Write :func:`draw_gene_qq` as a PNG."""
    _save(draw_gene_qq, pvalues, path, (5, 5))  # type: ignore[arg-type]


def draw_volcano(table: pd.DataFrame, *, ax: Axes) -> Axes:
    """Effect size against -log10(p) on ``ax``, coloured by confound category."""
    for category, colour in CATEGORY_COLOURS.items():
        part = table[table["category"] == category]
        if len(part):
            ax.scatter(part["beta"], part["neg_log10_p"], s=8, color=colour, label=f"{category} ({len(part)})")
    ax.set_xlabel("beta (ancestry-adjusted)")
    ax.set_ylabel("-log10(p)")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def draw_confound(table: pd.DataFrame, *, ax: Axes) -> Axes:
    """Ancestry R² of each tested feature against its adjusted -log10(p) on ``ax``, coloured by category."""
    tested = table[np.isfinite(table["pvalue"].to_numpy(dtype=float))]
    for category in [c for c in CATEGORY_COLOURS if c in set(tested["category"])] + sorted(
            set(tested["category"]) - set(CATEGORY_COLOURS)):
        part = tested[tested["category"] == category]
        ax.scatter(part["ancestry_r2"], part["neg_log10_p"], s=10, alpha=0.7,
                   color=CATEGORY_COLOURS.get(category, "0.3"), label=f"{category} ({len(part)})")
    ax.set_xlabel("ancestry R² (feature ~ PCs)")
    ax.set_ylabel("-log10(p), ancestry-adjusted")
    if len(tested):
        ax.legend(loc="upper left", fontsize=7)
    return ax


def draw_categories(table: pd.DataFrame, *, ax: Axes) -> Axes:
    """How many features fell in each confound category, as horizontal bars on ``ax``."""
    counts = table["category"].value_counts()
    names = [c for c in CATEGORY_COLOURS if c in counts.index] + sorted(set(counts.index) - set(CATEGORY_COLOURS))
    values = [int(counts[c]) for c in names]
    ax.barh(names, values, color=[CATEGORY_COLOURS.get(c, "0.3") for c in names])
    for y, v in enumerate(values):
        ax.text(v, y, f" {v}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("features")
    return ax


# An out-of-fold R² below this is a failed fit, not an estimate: predicting the training folds' mean scores
# about -1/n_folds at worst, so a model far below it extrapolated (the report and the plot flag it as such).
FAILED_FIT_R2 = -0.1


VERDICT_COLOURS = {"beat": "tab:red", "match": "tab:purple", "miss": "tab:blue"}


def draw_baseline(table: pd.DataFrame, *, ax: Axes) -> Axes:
    """Per gene, cross-validated R² from model features against R² from cis genotypes, on ``ax``.

    An R² below :data:`FAILED_FIT_R2` is a failed fit: drawn at the axis edge as a triangle.
    """
    values = table[["r2_genotypes", "r2_features"]].to_numpy(dtype=float)
    finite = values[np.isfinite(values) & (values >= FAILED_FIT_R2)]
    low, high = (min(0.0, float(finite.min())), max(0.05, float(finite.max()))) if finite.size else (0.0, 1.0)
    # a failed fit (R² below FAILED_FIT_R2, possibly -1e4) is drawn at the axis edge, not where it would flatten
    # every other gene into one corner
    edge = low - 0.04 * (high - low)
    failed = (values < FAILED_FIT_R2).any(axis=1)
    shown = np.where(values < FAILED_FIT_R2, edge, values)
    for verdict, colour in VERDICT_COLOURS.items():
        part = (table["verdict"] == verdict).to_numpy()
        for rows, marker, note in ((part & ~failed, "o", ""), (part & failed, "v", ", failed fit at the edge")):
            if rows.any():
                ax.scatter(shown[rows, 0], shown[rows, 1], s=14, color=colour, marker=marker,
                           label=f"features {verdict} genotypes ({int(rows.sum())}{note})")
    ax.set_xlim(edge - 0.02 * (high - low), high + 0.02 * (high - low))
    ax.set_ylim(edge - 0.02 * (high - low), high + 0.02 * (high - low))
    ax.plot([low, high], [low, high], color="black", linewidth=0.8)
    ax.axhline(0.0, color="0.7", linewidth=0.5)
    ax.axvline(0.0, color="0.7", linewidth=0.5)
    ax.set_xlabel("cross-validated R², cis genotypes")
    ax.set_ylabel("cross-validated R², model features")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def _save(draw, table: pd.DataFrame, path: str | os.PathLike[str], figsize: tuple[float, float]) -> None:
    fig = Figure(figsize=figsize, dpi=100)
    draw(table, ax=fig.subplots())
    fig.tight_layout()
    fig.savefig(path)


def qq_plot(table: pd.DataFrame, *, path: str | os.PathLike[str]) -> None:
    """Write :func:`draw_qq` as a PNG."""
    _save(draw_qq, table, path, (5, 5))


def volcano_plot(table: pd.DataFrame, *, path: str | os.PathLike[str]) -> None:
    """Write :func:`draw_volcano` as a PNG."""
    _save(draw_volcano, table, path, (6, 5))


def baseline_plot(table: pd.DataFrame, *, path: str | os.PathLike[str]) -> None:
    """Write :func:`draw_baseline` as a PNG."""
    _save(draw_baseline, table, path, (5, 5))
