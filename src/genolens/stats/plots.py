"""QQ and volcano plots of association results (PNG, matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genolens.stats.multiple_testing import lambda_gc, neg_log10  # noqa: E402

_COLOURS = {
    "biomarker_candidate": "tab:red",
    "ancestry_confounded": "tab:blue",
    "both": "tab:purple",
    "none": "0.6",
}


def _expected(n: int) -> np.ndarray:
    return -np.log10((np.arange(1, n + 1) - 0.5) / n)


def qq_plot(table: pd.DataFrame, *, path: str | os.PathLike[str]) -> None:
    """QQ plot of ``pvalue`` (ancestry-adjusted) and ``pvalue_unadjusted``, lambda GC in the legend."""
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
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
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def volcano_plot(table: pd.DataFrame, *, path: str | os.PathLike[str]) -> None:
    """Effect size against -log10(p), coloured by confound category."""
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for category, colour in _COLOURS.items():
        part = table[table["category"] == category]
        if len(part):
            ax.scatter(part["beta"], part["neg_log10_p"], s=8, color=colour, label=f"{category} ({len(part)})")
    ax.set_xlabel("beta (ancestry-adjusted)")
    ax.set_ylabel("-log10(p)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
