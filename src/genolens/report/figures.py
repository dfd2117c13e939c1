"""Small figures drawn directly as inline SVG and HTML: activation histograms, shaded contexts."""

from __future__ import annotations

import numpy as np

from genolens.report.html import esc


def histogram_svg(counts: np.ndarray, *, edges: np.ndarray, width: int = 360, height: int = 140) -> str:
    """Bars of ``counts`` over log10-activation ``edges``, with axis labels; empty note when all zero."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return '<p class="muted">never active</p>'
    left, bottom, top = 36, 30, 6
    plot_w, plot_h = width - left - 14, height - bottom - top
    bar_w = plot_w / len(counts)
    peak = counts.max()
    bars = []
    for i, c in enumerate(counts):
        if c <= 0:
            continue
        h = max(1.0, plot_h * c / peak)
        x, y = left + i * bar_w, top + plot_h - h
        lo, hi = 10 ** edges[i], 10 ** edges[i + 1]
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 0.6, 0.6):.1f}" height="{h:.1f}" fill="#3f7fd0">'
            f"<title>{lo:.3g}-{hi:.3g}: {int(c):,}</title></rect>"
        )
    ticks = []
    for v in range(int(np.ceil(edges[0])), int(np.floor(edges[-1])) + 1):
        x = left + (v - edges[0]) / (edges[-1] - edges[0]) * plot_w
        ticks.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 3}" stroke="#555"/>'
            f'<text x="{x:.1f}" y="{top + plot_h + 13}" font-size="9" text-anchor="middle">1e{v}</text>'
        )
    axis = (
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#555"/>'
        f'<text x="4" y="{top + 8}" font-size="9">{int(peak):,}</text>'
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 3}" font-size="9" text-anchor="middle">'
        "activation (log scale)</text>"
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" '
        f'aria-label="activation histogram">{"".join(bars)}{"".join(ticks)}{axis}</svg>'
    )


def shaded_sequence(bases: str, *, values: np.ndarray, scale: float, peak: int | None = None) -> str:
    """Bases with a background whose opacity is the activation / ``scale``; ``peak`` is outlined."""
    if not bases:
        return '<span class="muted">(bases not available: pass the sequences to annotate)</span>'
    out = []
    scale = scale if scale > 0 else 1.0
    for i, ch in enumerate(bases):
        v = float(values[i]) if i < len(values) else 0.0
        alpha = min(1.0, max(0.0, v / scale))
        cls = ' class="peak"' if peak == i else ""
        out.append(f'<span{cls} style="background:rgba(230,85,13,{alpha:.2f})" title="{v:.3g}">{esc(ch)}</span>')
    return '<span class="seq">' + "".join(out) + "</span>"
