"""Sequence logos (logomaker) of a PWM, as PNG bytes ready to embed in a page."""

from __future__ import annotations

import io
import warnings

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from genolens.errors import ConfigError


def draw_logo(
    probs: np.ndarray,
    *,
    ax: Axes,
    title: str = "",
    first_position: int = 0,
    highlight: tuple[int, int] | None = None,
) -> Axes:
    """Information-content logo of ``probs [length, 4]`` (A, C, G, T) on ``ax``.

    Columns are labelled ``first_position + i`` (e.g. offsets from the activating base);
    ``highlight`` shades the column block ``[start, end)`` (the trimmed motif).
    """
    import logomaker
    import pandas as pd

    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != 4 or probs.shape[0] == 0:
        raise ConfigError(f"a logo needs probabilities [length >= 1, 4], got {probs.shape}")
    frame = pd.DataFrame(probs, columns=list("ACGT"))
    info = logomaker.transform_matrix(frame, from_type="probability", to_type="information")
    with warnings.catch_warnings():  # an all-uniform PWM (0 bits) makes logomaker warn about flat ylims
        warnings.simplefilter("ignore", UserWarning)
        logo = logomaker.Logo(info, ax=ax, color_scheme="classic", show_spines=False)
    if highlight is not None:
        logo.highlight_position_range(pmin=highlight[0], pmax=highlight[1] - 1, color="#fff3c4")
    ax.set_ylim(0, 2)
    ax.set_ylabel("bits")
    ax.set_xticks(range(len(frame)))
    ax.set_xticklabels([str(first_position + i) for i in range(len(frame))], fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def logo_width(length: int) -> float:
    """Figure width (inches) that keeps a logo's letters readable."""
    return max(3.0, 0.32 * length + 0.8)


def logo_png(
    probs: np.ndarray,
    *,
    title: str = "",
    first_position: int = 0,
    highlight: tuple[int, int] | None = None,
    dpi: int = 110,
) -> bytes:
    """:func:`draw_logo` as PNG bytes ready to embed in a page (drawn without pyplot)."""
    fig = Figure(figsize=(logo_width(len(probs)), 1.9))
    draw_logo(probs, ax=fig.subplots(), title=title, first_position=first_position, highlight=highlight)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
