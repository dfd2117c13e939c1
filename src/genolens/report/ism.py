"""The output folder of ``genolens ism``, its heat map, and reading it back.

::

    ism.npz              per target, the [L, 4] effect matrix (A, C, G, T); the region and its bases
    ism.tsv              one row per substitution: contig, pos (1-based), ref, alt and one column per target
    <target>.bedGraph    per base, the effect of largest magnitude among its substitutions
                         (with ``bigwig``: <target>.bw as well)
    ism.png              the heat map of the score
    ism.json             format, model, layer, SAE, features, settings
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from genolens.adapters.tracks import write_bedgraph, write_bigwig
from genolens.errors import ConfigError
from genolens.interventions.ism import BASES, IsmResult
from genolens.io.coordmap import CoordinateMap
from genolens.io.files import output_folder
from genolens.io.regions import Region
from genolens.io.runfolder import read_header, write_header

FORMAT = "genolens-ism"
FORMAT_VERSION = "0.1.0"


def draw_ism(result: IsmResult, *, target: str = "score", ax: Axes) -> Axes:
    """Heat map of one target's effects: bases along x, A/C/G/T along y, a diverging scale centred at 0.

    Parameters
    ----------
    result
        The mutagenesis.
    target
        ``"score"`` or ``"feature_<i>"``.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with a colour bar.
    """
    if target not in result.effects:
        raise ConfigError(f"no ISM target {target!r}; have {', '.join(result.effects)}")
    m = result.effects[target].T  # [4, L]
    lim = float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 1.0
    lim = lim if lim > 0 else 1.0
    image = ax.imshow(m, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest",
                      extent=(result.region.start + 0.5, result.region.end + 0.5, 3.5, -0.5))
    ax.set_yticks(range(4), list(BASES))
    ax.set_xlabel(f"{result.region.contig} position (1-based)")
    label = f"{result.method} score" if target == "score" else f"{target} change"
    ax.set_title(f"saturation mutagenesis of {result.region.spec}: {label}")
    ax.figure.colorbar(image, ax=ax, label=label, fraction=0.03, pad=0.01)
    return ax


def write_ism(
    result: IsmResult,
    *,
    out: str | os.PathLike[str],
    bigwig: bool = False,
    contig_lengths: dict[str, int] | None = None,
) -> Path:
    """Write ``result`` as the folder described in the module docstring.

    Parameters
    ----------
    result
        The mutagenesis.
    out
        Output folder (created).
    bigwig
        Also write each track as bigWig (needs pyBigWig and ``contig_lengths``).
    contig_lengths
        Reference contig lengths (for bigWig).

    Returns
    -------
    Path
        The folder.
    """
    import matplotlib.pyplot as plt

    root = output_folder(out)
    np.savez_compressed(root / "ism.npz", targets=np.array(list(result.effects), dtype=str),
                        effects=np.stack(list(result.effects.values())), ref=np.array(result.ref),
                        region=np.array([result.region.contig, str(result.region.start), str(result.region.end)]),
                        method=np.array(result.method))
    result.table().to_csv(root / "ism.tsv", sep="\t", index=False)
    coords = CoordinateMap(result.region.contig, "+", result.positions)
    for target in result.effects:
        track = [(result.track(target), coords)]
        write_bedgraph(root / f"{target}.bedGraph", track, name=f"ism {target}",
                       description=f"largest |effect| of a substitution at each base ({target})")
        if bigwig:
            if contig_lengths is None:
                raise ConfigError("bigWig output needs the reference's contig lengths")
            write_bigwig(root / f"{target}.bw", track, contig_lengths=contig_lengths)
    fig, ax = plt.subplots(figsize=(min(4 + len(result.ref) / 12, 30), 2.6))
    try:
        draw_ism(result, target="score", ax=ax)
        fig.tight_layout()
        fig.savefig(root / "ism.png", dpi=120)
    finally:
        plt.close(fig)
    write_header(root / "ism.json", encoding=FORMAT, version=FORMAT_VERSION, method=result.method, **result.meta)
    return root


def read_ism(path: str | os.PathLike[str]) -> IsmResult:
    """Read a folder written by :func:`write_ism`.

    Parameters
    ----------
    path
        The folder.

    Returns
    -------
    IsmResult
        The effect matrices, region, bases and metadata.
    """
    root = Path(path)
    meta = read_header(root / "ism.json", encoding=FORMAT, command="ism")
    with np.load(root / "ism.npz") as data:
        targets, effects = [str(t) for t in data["targets"]], data["effects"]
        contig, start, end = (str(x) for x in data["region"])
        ref, method = str(data["ref"]), str(data["method"])
    return IsmResult(Region(contig, int(start), int(end)), ref, dict(zip(targets, effects, strict=True)), method, meta)
