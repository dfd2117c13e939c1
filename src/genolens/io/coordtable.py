"""FASTA files with a coordinate-map sidecar: personal sequences that keep their provenance on disk.

``genolens sequences`` writes ``NAME.fa[.gz]`` plus ``NAME.coords.tsv`` (the block table of
:meth:`CoordinateMap.blocks`), and puts ``sample=``, ``haplotype=``, ``region=`` in each
record's description. Reading such a FASTA back with :func:`read_with_sidecar` restores the
coordinate maps and those fields, so a FASTA can be split, moved and embedded without losing
where each base sits on the reference.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd

from genolens.errors import InputFormatError
from genolens.io.coordmap import BLOCK_COLUMNS, CoordinateMap
from genolens.io.fasta import iter_fasta, write_fasta
from genolens.io.files import atomic_write, require_file
from genolens.io.records import SequenceRecord

FASTA_SUFFIXES = (".fasta", ".fa", ".fna", ".faa")


def sidecar_path(fasta: str | os.PathLike[str], suffix: str = ".coords.tsv") -> Path:
    """``x.fa.gz`` -> ``x.coords.tsv`` (the name ``genolens sequences`` writes)."""
    p = Path(fasta)
    name = p.name.removesuffix(".gz")
    for ext in FASTA_SUFFIXES:
        name = name.removesuffix(ext)
    return p.with_name(name + suffix)


def read_coordinate_table(path: str | os.PathLike[str]) -> dict[str, CoordinateMap]:
    """Sequence ID -> coordinate map from a block table.

    Parameters
    ----------
    path
        A ``*.coords.tsv`` block table (:meth:`CoordinateMap.blocks` rows, as ``genolens sequences`` writes).

    Returns
    -------
    dict of str to CoordinateMap
        The map of each sequence, in table order.
    """
    p = require_file(path, what="coordinate-map table")
    try:
        table = pd.read_csv(p, sep="\t", dtype={"contig": str, "sequence_id": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"cannot read as a coordinate-map table ({exc})", path=p) from exc
    missing = [c for c in BLOCK_COLUMNS if c not in table.columns]
    if missing:
        raise InputFormatError(f"missing columns {missing}; expected {BLOCK_COLUMNS}", path=p)
    return {str(sid): CoordinateMap.from_blocks(blocks) for sid, blocks in table.groupby("sequence_id", sort=False)}


def _fields(description: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in description.split() if "=" in part)


def with_provenance(
    records: Iterable[SequenceRecord], coords: dict[str, CoordinateMap] | None, *, path: str | None = None
) -> Iterator[SequenceRecord]:
    """Records with ``sample``/``haplotype``/``region`` from their description and maps from ``coords``."""
    for rec in records:
        f = _fields(rec.description)
        cmap = coords.get(rec.id) if coords else None
        if cmap is not None and len(cmap) != len(rec):
            raise InputFormatError(
                f"coordinate map has {len(cmap)} positions, the sequence {len(rec)}", path=path, record=rec.id
            )
        hap = f.get("haplotype")
        yield replace(
            rec,
            coords=cmap or rec.coords,
            sample=f.get("sample", rec.sample),
            haplotype=int(hap) if hap and hap.isdigit() else rec.haplotype,
            region=f.get("region", rec.region),
        )


def read_with_sidecar(fasta: str | os.PathLike[str], **kwargs: object) -> Iterator[SequenceRecord]:
    """Stream a FASTA, restoring provenance from descriptions and the ``.coords.tsv`` sidecar if present.

    Parameters
    ----------
    fasta
        FASTA written by ``genolens sequences`` (or any FASTA: without a sidecar, records carry no maps).
    **kwargs
        Passed to :func:`iter_fasta` (``alphabet``, ``ambiguous``).

    Returns
    -------
    Iterator of SequenceRecord
        Records with ``sample``, ``haplotype``, ``region`` and their coordinate maps restored.
    """
    side = sidecar_path(fasta)
    coords = read_coordinate_table(side) if side.is_file() else None
    return with_provenance(iter_fasta(fasta, **kwargs), coords, path=str(side))  # type: ignore[arg-type]


def write_with_sidecar(records: Iterable[SequenceRecord], out: str | os.PathLike[str],
                       coords: str | os.PathLike[str] | None = None) -> int:
    """Write FASTA and the coordinate-map table of the records that have maps, both atomically.

    Parameters
    ----------
    records
        Records to write.
    out
        Output FASTA (``.gz`` is compressed).
    coords
        Where the block table goes (default: beside ``out``, ``NAME.coords.tsv``).

    Returns
    -------
    int
        The number of records written.
    """
    coords = sidecar_path(out) if coords is None else Path(coords)
    with atomic_write(coords) as fh:
        fh.write("\t".join(BLOCK_COLUMNS) + "\n")

        def tee() -> Iterator[SequenceRecord]:
            for rec in records:
                if rec.coords is not None:
                    rec.coords.blocks(rec.id).to_csv(fh, sep="\t", header=False, index=False)
                yield rec

        return write_fasta(tee(), out)
