"""Each distinct haplotype of a region once, with the table of who carries it.

In a cohort most people share their haplotypes of a short window: 330 people x 2 haplotypes of a 2-kb
window of dense 1000 Genomes genotypes hold 6 to 19 distinct sequences. A model sees identical input
identically, so embedding every copy spends the time on repeats (and makes every "top activating context"
one locus in many people). :func:`distinct_haplotypes` keeps the first record of each distinct
(region, sequence, soft-mask, coordinate map) and writes one ``carriers`` row per (sample, haplotype) that
has it, so that per-sample statistics can be rebuilt exactly afterwards
(:func:`genolens.cohort.aggregate.aggregate_chunks` with ``carriers``).

A distinct record is named ``REGION|hK`` (K counts the distinct haplotypes of the region from 1 in the
order first met) and carries no sample of its own; its description says how many haplotypes share it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd

from genolens.errors import InputFileError, InputFormatError
from genolens.io.files import atomic_write
from genolens.io.records import SequenceRecord

# Columns of a carriers table, in this order.
CARRIER_COLUMNS = ("sequence_id", "sample", "haplotype")


def distinct_haplotypes(records: Iterable[SequenceRecord], carriers: list[tuple[str, str, int]]
                        ) -> Iterator[SequenceRecord]:
    """Yield each distinct haplotype of each region once; append ``(sequence_id, sample, haplotype)`` rows.

    Parameters
    ----------
    records
        Personal haplotypes (each with ``sample``, ``haplotype`` and ``region``), grouped by region as
        :func:`genolens.io.haplotypes.build_haplotypes` yields them.
    carriers
        Filled with one row per input record: the distinct record it is a copy of, its sample, its haplotype.

    Yields
    ------
    SequenceRecord
        The first record of each distinct (region, sequence, mask, coordinate map), renamed ``REGION|hK``,
        without a sample of its own.
    """
    seen: dict[tuple, str] = {}
    done: set[str] = set()
    region = None
    for rec in records:
        if rec.sample is None or rec.region is None:
            raise InputFormatError(f"record {rec.id!r} is not a personal haplotype (no sample or region)")
        if rec.region != region:
            if rec.region in done:
                raise InputFormatError(f"haplotypes of region {rec.region!r} are not contiguous",
                                       hint="build them region by region (as genolens sequences does)")
            if region is not None:
                done.add(region)
            region, seen = rec.region, {}
        key = (rec.sequence, None if rec.mask is None else rec.mask.tobytes(),
               None if rec.coords is None else (rec.coords.contig, rec.coords.strand, rec.coords.ref_pos.tobytes()))
        name = seen.get(key)
        if name is None:
            name = seen[key] = f"{region}|h{len(seen) + 1}"
            description = " ".join(part for part in rec.description.split()
                                   if not part.startswith(("sample=", "haplotype=")))
            yield replace(rec, id=name, sample=None, haplotype=None, description=description)
        carriers.append((name, str(rec.sample), int(rec.haplotype or 0)))


def write_carriers(carriers: Iterable[tuple[str, str, int]], path: str | os.PathLike[str]) -> int:
    """Write a carriers table (TSV, :data:`CARRIER_COLUMNS`) atomically; return its number of rows.

    Parameters
    ----------
    carriers
        ``(sequence_id, sample, haplotype)`` rows.
    path
        Output TSV.

    Returns
    -------
    int
        Rows written.
    """
    frame = pd.DataFrame(list(carriers), columns=list(CARRIER_COLUMNS))
    with atomic_write(path) as fh:
        frame.to_csv(fh, sep="\t", index=False)
    return len(frame)


def read_carriers(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a carriers table written by ``genolens sequences --distinct``.

    Parameters
    ----------
    path
        The TSV (``sequence_id``, ``sample``, ``haplotype``), or a folder holding exactly one ``*.carriers.tsv``
        (e.g. the workflow's ``sequences/``).

    Returns
    -------
    pandas.DataFrame
        One row per (sample, haplotype) and the distinct sequence it carries; a (sample, haplotype, sequence)
        listed twice or a missing column is an error.
    """
    if os.path.isdir(path):
        found = sorted(Path(path).glob("*.carriers.tsv"))
        if len(found) != 1:
            raise InputFileError(f"expected one *.carriers.tsv in the folder, found {len(found)}", path=path,
                                 hint="genolens sequences --distinct writes NAME.carriers.tsv beside NAME.fa")
        path = found[0]
    if not os.path.isfile(path):
        raise InputFileError("carriers table not found", path=path, hint="genolens sequences --distinct writes it")
    try:
        frame = pd.read_csv(path, sep="\t", dtype={"sequence_id": str, "sample": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFormatError(f"cannot read as a carriers table ({exc})", path=path) from exc
    missing = [c for c in CARRIER_COLUMNS if c not in frame.columns]
    if missing:
        raise InputFormatError(f"missing columns {missing}; expected {list(CARRIER_COLUMNS)}", path=path)
    frame = frame[list(CARRIER_COLUMNS)]
    if frame.isna().any().any():
        raise InputFormatError("empty cells in the carriers table", path=path)
    frame["haplotype"] = frame["haplotype"].astype(int)
    twice = frame.duplicated()
    if twice.any():
        raise InputFormatError(f"rows listed twice, e.g. {frame[twice].iloc[0].tolist()}", path=path)
    return frame
