"""Per-base tracks over reference coordinates: bedGraph (and bigWig when pyBigWig is installed).

A per-base value (one layer unit now, an SAE feature later) computed on a
sequence is placed on the reference through the sequence's
:class:`~genolens.io.coordmap.CoordinateMap`: inserted bases (no reference
position) and NaN values are left out, positions are sorted (a minus-strand
sequence runs backwards over the reference) and runs of adjacent positions with
the same value are merged. bedGraph has no strand column, so each file holds
one strand: :func:`write_stranded_bedgraphs` writes ``PREFIX.plus.bedGraph`` and
``PREFIX.minus.bedGraph``, so a browser shows each beside the annotation of
its own strand.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genolens.adapters.base import SequenceActivations
from genolens.errors import ConfigError, InputFormatError
from genolens.io.coordmap import CoordinateMap

Track = tuple[np.ndarray, CoordinateMap]
STRAND_SUFFIX = {"+": "plus", "-": "minus"}


def unit_track(acts: SequenceActivations, *, layer: int, unit: int) -> Track:
    """One unit of one layer as a per-base track of a sequence built from the reference."""
    if acts.record.coords is None:
        raise ConfigError(
            "sequence has no reference coordinates",
            record=acts.record.id,
            hint="tracks need sequences built from a reference (--reference/--vcf)",
        )
    return acts.base_values(layer)[:, unit].numpy(), acts.record.coords


def intervals(values: np.ndarray, coords: CoordinateMap) -> pd.DataFrame:
    """bedGraph rows (``contig, start, end, value``; 0-based half-open) of one sequence's per-base values."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(coords),):
        raise ConfigError(f"expected {len(coords)} per-base values, got shape {values.shape}")
    keep = (coords.ref_pos >= 0) & ~np.isnan(values)
    pos, val = coords.ref_pos[keep], values[keep]
    order = np.argsort(pos, kind="stable")
    pos, val = pos[order], val[order]
    if pos.size == 0:
        return pd.DataFrame({"contig": [], "start": [], "end": [], "value": []})
    breaks = np.flatnonzero((np.diff(pos) != 1) | (np.diff(val) != 0)) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [pos.size]])
    return pd.DataFrame({"contig": coords.contig, "start": pos[starts], "end": pos[ends - 1] + 1, "value": val[starts]})


def _rows(tracks: Sequence[Track]) -> pd.DataFrame:
    frames = [intervals(v, c) for v, c in tracks]
    table = pd.concat(frames, ignore_index=True).sort_values(["contig", "start"], kind="stable")
    for _contig, grp in table.groupby("contig", sort=False):
        if (grp["start"].to_numpy()[1:] < grp["end"].to_numpy()[:-1]).any():
            raise InputFormatError(
                "tracks overlap on the reference",
                hint="write one file per haplotype/sample; bedGraph intervals must not overlap",
            )
    return table


def write_bedgraph(
    path: str | os.PathLike[str], tracks: Sequence[Track], *, name: str, description: str = "", digits: int = 6
) -> Path:
    """Write ``tracks`` (per-base values + coordinate map, all on one strand) as a bedGraph file."""
    strands = {c.strand for _, c in tracks}
    if len(strands) > 1:
        raise ConfigError("one bedGraph file holds one strand", hint="use write_stranded_bedgraphs")
    table = _rows(tracks)
    path = Path(path)
    strand = strands.pop() if strands else "+"
    header = f'track type=bedGraph name="{name} ({strand})" description="{description or name}, {strand} strand"'
    with path.open("w") as fh:
        fh.write(header + "\n")
        for row in table.itertuples(index=False):
            fh.write(f"{row.contig}\t{row.start}\t{row.end}\t{row.value:.{digits}g}\n")
    return path


def write_stranded_bedgraphs(
    prefix: str | os.PathLike[str], tracks: Sequence[Track], *, name: str, description: str = ""
) -> dict[str, Path]:
    """``PREFIX.plus.bedGraph`` / ``PREFIX.minus.bedGraph`` for the strands present; returns strand -> path."""
    out = {}
    for strand, suffix in STRAND_SUFFIX.items():
        chosen = [t for t in tracks if t[1].strand == strand]
        if chosen:
            path = Path(f"{prefix}.{suffix}.bedGraph")
            out[strand] = write_bedgraph(path, chosen, name=name, description=description)
    return out


def write_bigwig(path: str | os.PathLike[str], tracks: Sequence[Track], *, contig_lengths: dict[str, int]) -> Path:
    """The same intervals as bigWig, through pyBigWig (optional: ``pip install pyBigWig``)."""
    try:
        import pyBigWig
    except ImportError:
        raise ConfigError("bigWig output needs the pyBigWig package", hint="pip install pyBigWig") from None
    table = _rows(tracks)
    bw = pyBigWig.open(str(path), "w")
    try:
        contigs = list(dict.fromkeys(table["contig"]))
        bw.addHeader([(c, int(contig_lengths[c])) for c in contigs])
        for contig in contigs:
            grp = table[table["contig"] == contig]
            bw.addEntries(
                [contig] * len(grp),
                grp["start"].astype(int).tolist(),
                ends=grp["end"].astype(int).tolist(),
                values=grp["value"].astype(float).tolist(),
            )
    finally:
        bw.close()
    return Path(path)
