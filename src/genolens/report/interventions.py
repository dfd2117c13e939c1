"""The output folders of ``genolens ablate`` and ``genolens steer``, the steering plot, and reading them back.

``ablate``::

    ablation.tsv                         one row per ablated feature (genolens.interventions.ablate.COLUMNS)
    ablation.json                        header, model, layer, SAE, objective, settings, clean loss
    tracks/<sequence>.feature_<f>.bedGraph   per-base loss change with feature f ablated (chosen sequences)

``steer``::

    steer_positions.tsv   per scored position: the actual base's log-probability before/after, KL, letters
                          that rose and fell most
    steer_letters.tsv     per position and letter: log-probability before, after, change
    later_features.tsv    with a later-layer SAE: its features' mean change
    probes.tsv            with probes: their scores before and after
    tracks/<sequence>.bedGraph   per-base change of the actual base's log-probability
    steer_<sequence>.png  predicted letter distribution before and after (first sequences)
    steer.json            header (encoding-type, versions), model, layer, SAE, feature, settings
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from genolens.adapters.tracks import write_bedgraph
from genolens.errors import ConfigError, InputFileError, InputFormatError
from genolens.interventions.ablate import COLUMNS, AblationResult
from genolens.interventions.steer import SteerResult
from genolens.io.coordmap import CoordinateMap
from genolens.io.files import output_folder
from genolens.io.runfolder import read_header, write_header

ABLATION_FORMAT = "genolens-ablation"
STEER_FORMAT = "genolens-steer"
FORMAT_VERSION = "0.2.0"  # 0.2.0: the common header keys (genolens.io.runfolder)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def write_ablation(result: AblationResult, *, out: str | os.PathLike[str]) -> Path:
    """Write an ablation's table, settings and per-base tracks (module docstring).

    Parameters
    ----------
    result
        :func:`genolens.interventions.ablate.ablate`'s result.
    out
        Output folder (created).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    root = output_folder(out)
    result.table.to_csv(root / "ablation.tsv", sep="\t", index=False)
    write_header(root / "ablation.json", encoding=ABLATION_FORMAT, version=FORMAT_VERSION, **result.meta)
    if result.tracks:
        (root / "tracks").mkdir(exist_ok=True)
    for (sid, f), values in result.tracks.items():
        write_bedgraph(root / "tracks" / f"{_safe(sid)}.feature_{f}.bedGraph", [(values, result.coords[sid])],
                       name=f"ablate {result.meta['sae']} feature {f}",
                       description=f"loss change (nats) at each predicted base with feature {f} ablated")
    return root


def read_ablation(path: str | os.PathLike[str]) -> AblationResult:
    """An ``ablate`` folder (or its ``ablation.tsv`` alone) read back: the table and the settings.

    Parameters
    ----------
    path
        The folder ``genolens ablate`` wrote, or the TSV itself.

    Returns
    -------
    AblationResult
        ``table`` (one row per feature, :data:`genolens.interventions.ablate.COLUMNS`) and ``meta`` (from
        ``ablation.json`` beside the table; empty when there is none). The bedGraph tracks are not read back.
    """
    p = Path(path)
    tsv = p / "ablation.tsv" if p.is_dir() else p
    if not tsv.is_file():
        raise InputFileError("no ablation table (ablation.tsv from genolens ablate)", path=p)
    table = pd.read_csv(tsv, sep="\t")
    missing = [c for c in ("feature", "delta_fired", "delta_elsewhere", "n_fired") if c not in table.columns]
    if missing:
        raise InputFormatError(f"not an ablation table: no column(s) {', '.join(missing)}", path=tsv)
    meta_path = tsv.parent / "ablation.json"
    meta = read_header(meta_path, encoding=ABLATION_FORMAT, command="ablate") if meta_path.is_file() else {}
    return AblationResult(table[[c for c in COLUMNS if c in table.columns]], meta)


def draw_steer(result: SteerResult, *, sequence: str, ax: Axes) -> Axes:
    """Heat map of the predicted letter distribution along a sequence, before (top) and after (bottom).

    Parameters
    ----------
    result
        :func:`genolens.interventions.steer.steer`'s result.
    sequence
        The sequence drawn.
    ax
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: rows ``letter before`` then ``letter after``, columns the positions (1-based), colour
        the probability renormalised over the letters; steered positions marked above.
    """
    pos, before, after, letters = result.distribution(sequence)
    n = len(letters)
    grid = np.vstack([before.T, np.full((1, len(pos)), np.nan), after.T])
    lo, hi = (pos.min() + 1, pos.max() + 1) if len(pos) else (0, 1)
    im = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=1,
                   extent=(lo - 0.5, hi + 0.5, 2 * n + 0.5, -0.5))
    ax.set_yticks(list(range(n)) + list(range(n + 1, 2 * n + 1)))
    ax.set_yticklabels([f"{c} before" for c in letters] + [f"{c} after" for c in letters], fontsize=7)
    rows = result.positions[(result.positions["sequence_id"] == sequence) & result.positions["steered"]]
    if result.meta["config"]["positions"] is not None and not rows.empty:
        for p in result.meta["config"]["positions"]:
            ax.axvline(p + 1, color="red", lw=0.6, alpha=0.6)
    how = (f"scale {result.meta['config']['scale']}" if result.meta["config"]["scale"] is not None
           else f"clamp {result.meta['config']['clamp']}")
    ax.set_title(f"{sequence}: feature {result.meta['feature']} ({how}) at layer {result.meta['layer']}",
                 fontsize=9)
    ax.set_xlabel("predicted position (1-based)")
    ax.figure.colorbar(im, ax=ax, label="p (over letters)", fraction=0.03)
    return ax


def write_steer(result: SteerResult, *, out: str | os.PathLike[str], max_plots: int = 5) -> Path:
    """Write a steering result's tables, tracks and plots (module docstring).

    Parameters
    ----------
    result
        :func:`genolens.interventions.steer.steer`'s result.
    out
        Output folder (created).
    max_plots
        Sequences drawn (the first ones).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import matplotlib.pyplot as plt

    if max_plots < 0:
        raise ConfigError(f"max_plots must be >= 0, got {max_plots}")
    root = output_folder(out)
    result.positions.to_csv(root / "steer_positions.tsv", sep="\t", index=False)
    result.letters.to_csv(root / "steer_letters.tsv", sep="\t", index=False)
    if result.features is not None:
        result.features.to_csv(root / "later_features.tsv", sep="\t", index=False)
    if result.probes is not None:
        result.probes.to_csv(root / "probes.tsv", sep="\t", index=False)
    (root / "tracks").mkdir(exist_ok=True)
    ids = list(dict.fromkeys(result.positions["sequence_id"]))
    for sid in ids:
        write_bedgraph(root / "tracks" / f"{_safe(sid)}.bedGraph", [(result.track(sid), result.coords[sid])],
                       name=f"steer feature {result.meta['feature']}",
                       description="change of the actual base's log-probability")
    for sid in ids[:max_plots]:
        n = len(result.coords[sid])
        fig, ax = plt.subplots(figsize=(min(4 + n / 15, 30), 3.2))
        try:
            draw_steer(result, sequence=sid, ax=ax)
            fig.tight_layout()
            fig.savefig(root / f"steer_{_safe(sid)}.png", dpi=110)
        finally:
            plt.close(fig)
    lengths = {sid: len(c) for sid, c in result.coords.items()}
    write_header(root / "steer.json", encoding=STEER_FORMAT, version=FORMAT_VERSION, **result.meta, lengths=lengths)
    return root


def read_steer(path: str | os.PathLike[str]) -> SteerResult:
    """A ``steer`` folder read back.

    Parameters
    ----------
    path
        The folder ``genolens steer`` wrote.

    Returns
    -------
    SteerResult
        Its tables and settings; coordinate maps are the sequences' own (contig = ID), for
        :meth:`~genolens.interventions.steer.SteerResult.track` and the plot.
    """
    root = Path(path)
    meta = read_header(root / "steer.json", encoding=STEER_FORMAT, command="steer")
    lengths = meta.pop("lengths", {})

    def tsv(name: str) -> pd.DataFrame | None:
        return pd.read_csv(root / name, sep="\t") if (root / name).is_file() else None

    positions, letters = tsv("steer_positions.tsv"), tsv("steer_letters.tsv")
    if positions is None or letters is None:
        raise InputFileError("steer folder lacks steer_positions.tsv or steer_letters.tsv", path=root)
    positions["sequence_id"] = positions["sequence_id"].astype(str)
    letters["sequence_id"] = letters["sequence_id"].astype(str)
    coords = {sid: CoordinateMap(sid, "+", np.arange(int(n), dtype=np.int64)) for sid, n in lengths.items()}
    return SteerResult(positions, letters, tsv("later_features.tsv"), tsv("probes.tsv"), meta, coords)
