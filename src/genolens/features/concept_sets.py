"""Concepts to align features with: named sets of intervals, in sequence or reference coordinates.

A :class:`ConceptSet` holds, for each concept, merged non-overlapping intervals
(0-based, half-open) keyed by a sequence id (``space="sequence"``: positions in
the stored sequence, e.g. per-residue protein annotations or planted motifs) or
by a contig (``space="reference"``: genome annotations, matched through each
row's reference span). Each merged interval is one *instance* of its concept.

Readers, told apart by file name:

* ``.bed`` (optionally ``.gz``): the concept is column 4 (name) when present, else the
  file stem; the space is ``sequence`` when the BED's contigs are ids of the stored
  sequences, else ``reference``.
* ``.gff``/``.gff3``/``.gtf``: every label of :mod:`genolens.io.annotations` (exon,
  intron, CDS, UTRs, splice sites, promoter, ...) over the stored reference span.
* ``.tsv``: per-residue (per-base) annotations in sequence coordinates, one feature
  a line, header naming a sequence column (``sequence_id``, ``id``, ``entry_name`` or
  ``accession``), a concept column (``concept``, ``feature``, ``label`` or ``type``) and
  ``start``/``end``, 1-based inclusive as UniProt feature tables are (UniProt's fuzzy
  ends ``<1``/``>35`` are read as 1/35; rows with an unknown ``?`` position are skipped).
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from genolens.errors import ConfigError, InputFormatError
from genolens.io.files import open_text

Space = Literal["sequence", "reference"]
ID_COLUMNS = ("sequence_id", "id", "entry_name", "accession", "sequence")
CONCEPT_COLUMNS = ("concept", "feature", "label", "type")


@dataclass(frozen=True, eq=False)
class ConceptSet:
    """``intervals[(key, concept_index)] = (starts, ends)`` merged, sorted; instance ids are global."""

    names: tuple[str, ...]
    space: Space
    intervals: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]
    keys: frozenset[str]  # sequence ids / contigs the annotation covers
    n_instances: int = field(init=False)
    _first: dict[tuple[str, int], int] = field(init=False, repr=False)  # first global instance id per key

    def __post_init__(self) -> None:
        if not self.names:
            raise ConfigError("a concept set needs at least one concept")
        if self.space not in ("sequence", "reference"):
            raise ConfigError(f"space must be 'sequence' or 'reference', got {self.space!r}")
        first = {}
        n = 0
        for key in sorted(self.intervals):
            first[key] = n
            n += len(self.intervals[key][0])
        object.__setattr__(self, "_first", first)
        object.__setattr__(self, "n_instances", n)

    def lookup(self, key: str, concept: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Global instance id overlapping each closed interval ``[lo, hi]``, or -1."""
        hit = self.intervals.get((key, concept))
        if hit is None:
            return np.full(lo.shape, -1, dtype=np.int64)
        starts, ends = hit
        idx = np.searchsorted(ends, lo, side="right")
        ok = idx < len(starts)
        ok[ok] = starts[idx[ok]] <= hi[ok]
        return np.where(ok, idx + self._first[(key, concept)], -1).astype(np.int64)

    def instance_concepts(self) -> np.ndarray:
        """Concept index of every instance id."""
        out = np.empty(self.n_instances, dtype=np.int64)
        for key, first in self._first.items():
            out[first : first + len(self.intervals[key][0])] = key[1]
        return out


def _merge(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    starts, ends = [], []
    for a, b in arr:
        if starts and a < ends[-1]:  # overlapping; abutting intervals stay separate instances
            ends[-1] = max(ends[-1], int(b))
        else:
            starts.append(int(a))
            ends.append(int(b))
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def concept_set(
    records: list[tuple[str, str, int, int]], *, space: Space, keys: set[str] | None = None
) -> ConceptSet:
    """Build a set from ``(key, concept, start, end)`` records (0-based, half-open)."""
    names = tuple(sorted({r[1] for r in records}))
    index = {n: i for i, n in enumerate(names)}
    grouped: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for key, concept, start, end in records:
        grouped[(key, index[concept])].append((start, end))
    intervals = {k: _merge(v) for k, v in grouped.items()}
    return ConceptSet(names, space, intervals, frozenset(keys if keys is not None else {r[0] for r in records}))


def _runs(track: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], track, [False]]).astype(np.int8)
    diff = np.diff(padded)
    return list(zip(np.nonzero(diff == 1)[0].tolist(), np.nonzero(diff == -1)[0].tolist(), strict=True))


def read_bed_concepts(path: str | os.PathLike[str], *, sequence_ids: set[str], contigs: set[str]) -> ConceptSet:
    """BED intervals; concept = name column or file stem; space chosen by which names the contigs match."""
    from genolens.io.regions import read_bed

    regions = read_bed(path)
    seen = {r.contig for r in regions}
    if seen & sequence_ids and not seen & contigs:
        space: Space = "sequence"
    elif seen & contigs:
        space = "reference"
    else:
        raise InputFormatError(
            f"no BED contig names a stored sequence or contig (BED has {sorted(seen)[:5]})", path=path,
            hint=f"stored sequences are e.g. {sorted(sequence_ids)[:3]}, contigs {sorted(contigs)[:3]}",
        )
    stem = Path(path).name.removesuffix(".gz").removesuffix(".bed")
    return concept_set([(r.contig, r.name or stem, r.start, r.end) for r in regions], space=space)


def read_gff_concepts(
    path: str | os.PathLike[str],
    *,
    extents: Mapping[str, tuple[int, int]],
    contig_map: Mapping[str, str] | None = None,
    promoter_upstream: int = 1000,
    promoter_downstream: int = 500,
) -> ConceptSet:
    """GFF/GTF labels over ``extents`` (store contig -> reference [start, end)), joined through ``contig_map``."""
    from genolens.io.annotations import gff_tracks, read_gff
    from genolens.io.regions import Region

    contig_map = dict(contig_map or {})
    features = read_gff(path)
    by_contig: dict[str, list] = defaultdict(list)
    for feat in features:
        by_contig[feat.contig].append(feat)
    records: list[tuple[str, str, int, int]] = []
    for contig, (lo, hi) in sorted(extents.items()):
        name = contig_map.get(contig, contig)
        if name not in by_contig:
            raise InputFormatError(
                f"the annotation has no rows on contig {name!r} (stored sequences are on {contig!r})", path=path,
                hint=f"annotation contigs: {sorted(by_contig)[:5]}; join them explicitly, e.g. {contig}=chr{contig}",
            )
        tracks = gff_tracks(
            by_contig[name], Region(contig, lo, hi), contig=name,
            promoter_upstream=promoter_upstream, promoter_downstream=promoter_downstream,
        )
        for label, values in zip(tracks.labels, tracks.values, strict=True):
            records.extend((contig, label, lo + a, lo + b) for a, b in _runs(values))
    if not records:
        raise InputFormatError("the annotation labels no base of the stored sequences", path=path)
    return concept_set(records, space="reference", keys=set(extents))


def read_tsv_concepts(path: str | os.PathLike[str]) -> ConceptSet:
    """Per-residue annotations: sequence id, concept, 1-based inclusive start and end."""
    spath = str(path)
    records: list[tuple[str, str, int, int]] = []
    with open_text(path, what="annotation TSV") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None:
            raise InputFormatError("annotation TSV is empty", path=spath)
        cols = {c.strip().lower(): i for i, c in enumerate(header)}
        id_col = next((cols[c] for c in ID_COLUMNS if c in cols), None)
        concept_col = next((cols[c] for c in CONCEPT_COLUMNS if c in cols), None)
        if id_col is None or concept_col is None or "start" not in cols or "end" not in cols:
            raise InputFormatError(
                f"header must name a sequence column ({'/'.join(ID_COLUMNS)}), a concept column "
                f"({'/'.join(CONCEPT_COLUMNS)}), start and end; found {header}", path=spath, line=1,
            )
        s_col, e_col = cols["start"], cols["end"]
        for number, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < len(header):
                raise InputFormatError(f"expected {len(header)} columns, found {len(row)}", path=spath, line=number)
            raw_s, raw_e = row[s_col].strip(), row[e_col].strip()
            if "?" in (raw_s[:1], raw_e[:1]):
                continue  # UniProt: position unknown
            try:  # UniProt marks fuzzy ends with < and >: the given position is used
                start, end = int(raw_s.lstrip("<>")), int(raw_e.lstrip("<>"))
            except ValueError:
                raise InputFormatError(
                    f"start and end must be integers, found {row[s_col]!r} and {row[e_col]!r}",
                    path=spath, line=number,
                ) from None
            if start < 1 or end < start:
                raise InputFormatError(
                    f"expected 1-based inclusive start <= end, found {start}-{end}", path=spath, line=number
                )
            records.append((row[id_col], row[concept_col], start - 1, end))
    if not records:
        raise InputFormatError("annotation TSV has no rows", path=spath)
    return concept_set(records, space="sequence")


def read_concepts(
    path: str | os.PathLike[str],
    *,
    sequence_ids: set[str],
    extents: Mapping[str, tuple[int, int]] | None = None,
    contig_map: Mapping[str, str] | None = None,
) -> ConceptSet:
    """A BED, GFF3/GTF or TSV annotation as a concept set, told apart by file name."""
    lower = str(path).lower().removesuffix(".gz")
    if lower.endswith(".bed"):
        return read_bed_concepts(path, sequence_ids=sequence_ids, contigs=set(extents or {}))
    if lower.endswith((".gff", ".gff3", ".gtf")):
        if not extents:
            raise ConfigError(
                "a GFF/GTF annotation needs stored sequences with reference coordinates", path=path,
                hint="embed reference regions (--reference/--regions), or give a BED/TSV in sequence coordinates",
            )
        return read_gff_concepts(path, extents=extents, contig_map=contig_map)
    if lower.endswith((".tsv", ".txt")):
        return read_tsv_concepts(path)
    raise InputFormatError(
        "cannot tell the annotation format from the file name", path=path,
        hint="expected .bed, .gff, .gff3, .gtf or .tsv (optionally .gz)",
    )
