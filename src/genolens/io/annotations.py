"""Genome annotations (GFF3, GTF, BED) as per-base label tracks over a region.

A :class:`LabelTracks` holds one boolean row per label over the bases of a
region, so feature activations can be scored against exons, splice sites or
promoters base by base. Tracks are unstranded unions over all transcripts.

Labels from GFF3/GTF, per transcript (transcripts from ``transcript``/``mRNA``
rows, or from the span of their exons when there are none):

* ``exon``, ``CDS``, ``start_codon``, ``stop_codon``: the rows themselves;
* ``five_prime_UTR``/``three_prime_UTR``: the rows where the file has them,
  else exon bases outside CDS and stop codon, 5' or 3' of the CDS by strand;
  ``UTR`` is their union;
* ``intron``: between consecutive exons of a transcript;
* ``splice_donor``/``splice_acceptor``: the first/last ``splice_window``
  bases of each intron in transcript orientation (GT...AG for canonical);
* ``promoter``: ``promoter_upstream`` bases upstream of each transcript's TSS
  to ``promoter_downstream`` bases downstream, strand-aware (default 1000/500,
  TSS-1000..TSS+500).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genolens.errors import ConfigError, InputFormatError
from genolens.io.files import open_text
from genolens.io.regions import Region, read_bed

GFF_LABELS = (
    "exon", "intron", "CDS", "UTR", "five_prime_UTR", "three_prime_UTR",
    "start_codon", "stop_codon", "splice_donor", "splice_acceptor", "promoter",
)
_TRANSCRIPT_TYPES = {"transcript", "mRNA", "ncRNA", "lnc_RNA", "miRNA", "snoRNA", "snRNA", "rRNA", "tRNA"}
_GTF_ATTR = re.compile(r'\s*([^\s"]+)\s+"?([^";]*)"?\s*')


@dataclass(frozen=True)
class Feature:
    """One GFF/GTF row, 0-based half-open.

    Parameters
    ----------
    contig
        Column 1, the annotation's contig name.
    start, end
        0-based half-open bounds (columns 4 and 5, which are 1-based inclusive).
    type
        Column 3 (``exon``, ``CDS``, ``transcript``, ...).
    strand
        ``+``, ``-``, ``.`` or ``?``.
    attributes
        Column 9 parsed (GFF3 ``key=value`` or GTF ``key "value"``).
    """

    contig: str
    start: int
    end: int
    type: str
    strand: str
    attributes: dict[str, str] = field(hash=False, compare=False)


@dataclass(frozen=True, eq=False)
class LabelTracks:
    """Boolean per-base tracks (``values[i]`` is label ``labels[i]``) over ``region``; ``tracks["exon"]`` is one row.

    Parameters
    ----------
    region
        The bases the tracks cover.
    labels
        One label per track.
    values
        ``[len(labels), len(region)]`` booleans.
    """

    region: Region
    labels: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.labels), len(self.region)):
            raise ValueError(f"values shape {self.values.shape} != ({len(self.labels)}, {len(self.region)})")

    def __getitem__(self, label: str) -> np.ndarray:
        try:
            return self.values[self.labels.index(label)]
        except ValueError:
            raise KeyError(f"no track {label!r}; tracks are {self.labels}") from None

    def merge(self, other: LabelTracks) -> LabelTracks:
        """Tracks of both (same region; labels must not clash).

        Parameters
        ----------
        other
            Tracks over the same region with other labels.

        Returns
        -------
        LabelTracks
            This object's tracks, then ``other``'s.
        """
        if other.region != self.region:
            raise ValueError("cannot merge tracks over different regions")
        clash = set(self.labels) & set(other.labels)
        if clash:
            raise ValueError(f"track labels given twice: {sorted(clash)}")
        return LabelTracks(self.region, self.labels + other.labels, np.vstack([self.values, other.values]))


def read_gff(path: str | os.PathLike[str], *, contig: str | None = None) -> list[Feature]:
    """Read GFF3 or GTF rows (optionally one contig only). The format is told from the attributes.

    Parameters
    ----------
    path
        GFF3 or GTF file, plain or gzipped; a ``##FASTA`` section ends it.
    contig
        Keep only the rows of this contig (the annotation's own name for it).

    Returns
    -------
    list of Feature
        One per row, 0-based half-open, with its attributes parsed.
    """
    spath = str(path)
    features: list[Feature] = []
    with open_text(path, what="GFF/GTF file") as fh:
        for number, line in enumerate(fh, start=1):
            if line.startswith("##FASTA"):
                break
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n\r").split("\t")
            if len(cols) != 9:
                raise InputFormatError(
                    f"expected 9 tab-separated GFF/GTF columns, found {len(cols)}", path=spath, line=number
                )
            if contig is not None and cols[0] != contig:
                continue
            try:
                start, end = int(cols[3]) - 1, int(cols[4])
            except ValueError:
                raise InputFormatError(
                    f"start/end must be integers, found {cols[3]!r}, {cols[4]!r}", path=spath, line=number
                ) from None
            if start < 0 or end <= start:
                raise InputFormatError(f"invalid interval {cols[3]}-{cols[4]}", path=spath, line=number)
            if cols[6] not in ("+", "-", ".", "?"):
                raise InputFormatError(f"strand must be +, -, . or ?, found {cols[6]!r}", path=spath, line=number)
            features.append(Feature(cols[0], start, end, cols[2], cols[6], _attributes(cols[8])))
    return features


def _attributes(text: str) -> dict[str, str]:
    text = text.strip().rstrip(";")
    if not text or text == ".":
        return {}
    if "=" in text.split(";")[0]:  # GFF3: key=value;key=value
        return dict(part.strip().split("=", 1) for part in text.split(";") if "=" in part)
    out: dict[str, str] = {}
    for part in text.split(";"):  # GTF: key "value"; key "value"
        m = _GTF_ATTR.fullmatch(part)
        if m:
            out.setdefault(m.group(1), m.group(2))
    return out


def _transcript_keys(feature: Feature) -> list[str]:
    """The transcript(s) a row belongs to (GFF3 ``Parent`` may list several)."""
    a = feature.attributes
    if feature.type in _TRANSCRIPT_TYPES:
        key = a.get("transcript_id") or a.get("ID")
        return [key] if key else []
    if "transcript_id" in a:
        return [a["transcript_id"]]
    return [p for p in a.get("Parent", "").split(",") if p]


def gff_tracks(
    features: Iterable[Feature],
    region: Region,
    *,
    contig: str | None = None,
    promoter_upstream: int = 1000,
    promoter_downstream: int = 500,
    splice_window: int = 2,
) -> LabelTracks:
    """Per-base tracks of :data:`GFF_LABELS` over ``region``.

    ``contig`` is the annotation's name for the region's contig when the two
    differ (``chr22`` in the annotation, ``22`` in the reference): an explicit
    join, never a guess.

    Parameters
    ----------
    features
        GFF/GTF rows (:func:`read_gff`).
    region
        The bases to label.
    contig
        The annotation's name for the region's contig (default: the region's own).
    promoter_upstream, promoter_downstream
        Promoter window around each transcript's TSS, in bases upstream and downstream.
    splice_window
        Bases at each intron end labelled splice donor / acceptor.

    Returns
    -------
    LabelTracks
        One boolean row per label of :data:`GFF_LABELS` over the region's bases.
    """
    if promoter_upstream < 0 or promoter_downstream < 0:
        raise ConfigError("promoter window sizes must be >= 0")
    if splice_window < 1:
        raise ConfigError(f"splice_window must be >= 1, got {splice_window}")
    name = contig or region.contig
    tracks = {label: np.zeros(len(region), dtype=bool) for label in GFF_LABELS}

    def paint(label: str, start: int, end: int) -> None:
        a, b = max(start, region.start), min(end, region.end)
        if b > a:
            tracks[label][a - region.start : b - region.start] = True

    by_tx: dict[str, list[Feature]] = defaultdict(list)
    spans: dict[str, Feature] = {}
    for f in features:
        if f.contig != name:
            continue
        for key in _transcript_keys(f):
            if f.type in _TRANSCRIPT_TYPES:
                spans[key] = f
            else:
                by_tx[key].append(f)
        if f.type in ("exon", "CDS", "start_codon", "stop_codon", "five_prime_UTR", "three_prime_UTR"):
            paint(f.type, f.start, f.end)
    for key, parts in by_tx.items():
        exons = sorted((f for f in parts if f.type == "exon"), key=lambda f: f.start)
        if not exons:
            continue
        strand = exons[0].strand
        tx_start = spans[key].start if key in spans else exons[0].start
        tx_end = spans[key].end if key in spans else max(f.end for f in exons)
        for left, right in zip(exons, exons[1:], strict=False):
            if right.start <= left.end:
                continue
            paint("intron", left.end, right.start)
            w = min(splice_window, right.start - left.end)
            five = (left.end, left.end + w)
            three = (right.start - w, right.start)
            donor, acceptor = (five, three) if strand != "-" else (three, five)
            paint("splice_donor", *donor)
            paint("splice_acceptor", *acceptor)
        if strand == "-":
            tss = tx_end - 1
            paint("promoter", tss - promoter_downstream + 1, tss + promoter_upstream + 1)
        else:
            paint("promoter", tx_start - promoter_upstream, tx_start + promoter_downstream)
        has_utr_rows = any(f.type in ("five_prime_UTR", "three_prime_UTR") for f in parts)
        coding = [f for f in parts if f.type in ("CDS", "stop_codon")]
        if coding and not has_utr_rows:
            cds_lo, cds_hi = min(f.start for f in coding), max(f.end for f in coding)
            for e in exons:
                before, after = (e.start, min(e.end, cds_lo)), (max(e.start, cds_hi), e.end)
                up, down = (before, after) if strand != "-" else (after, before)
                paint("five_prime_UTR", *up)
                paint("three_prime_UTR", *down)
    tracks["UTR"] = tracks["five_prime_UTR"] | tracks["three_prime_UTR"]
    return LabelTracks(region, GFF_LABELS, np.vstack([tracks[label] for label in GFF_LABELS]))


def bed_track(
    path: str | os.PathLike[str], region: Region, *, label: str | None = None, contig: str | None = None
) -> LabelTracks:
    """One track: the bases of ``region`` covered by any BED interval (label = file stem by default).

    Parameters
    ----------
    path
        BED file.
    region
        The bases to label.
    label
        The track's label (default: the file name without ``.bed``/``.gz``).
    contig
        The BED's name for the region's contig (default: the region's own).

    Returns
    -------
    LabelTracks
        One boolean row over the region's bases.
    """
    name = contig or region.contig
    values = np.zeros(len(region), dtype=bool)
    for iv in read_bed(path):
        if iv.contig != name:
            continue
        a, b = max(iv.start, region.start), min(iv.end, region.end)
        if b > a:
            values[a - region.start : b - region.start] = True
    stem = Path(path).name.removesuffix(".gz").removesuffix(".bed")
    return LabelTracks(region, (label or stem,), values[None, :])


def annotation_tracks(
    path: str | os.PathLike[str],
    region: Region,
    *,
    contig: str | None = None,
    label: str | None = None,
    promoter_upstream: int = 1000,
    promoter_downstream: int = 500,
) -> LabelTracks:
    """Tracks from a GFF3/GTF (every label) or a BED file (one label), told apart by file name.

    Parameters
    ----------
    path
        ``.bed``, ``.gff``, ``.gff3`` or ``.gtf``, optionally ``.gz``.
    region
        The bases to label.
    contig
        The annotation's name for the region's contig (default: the region's own).
    label
        A BED track's label (default: the file name).
    promoter_upstream, promoter_downstream
        Promoter window around each TSS (GFF/GTF only).

    Returns
    -------
    LabelTracks
        Every GFF label (:func:`gff_tracks`) or the BED's one track (:func:`bed_track`).
    """
    lower = str(path).lower().removesuffix(".gz")
    if lower.endswith(".bed"):
        return bed_track(path, region, label=label, contig=contig)
    if lower.endswith((".gff", ".gff3", ".gtf")):
        features = read_gff(path, contig=contig or region.contig)
        return gff_tracks(
            features, region, contig=contig,
            promoter_upstream=promoter_upstream, promoter_downstream=promoter_downstream,
        )
    raise InputFormatError(
        "cannot tell the annotation format from the file name", path=str(path),
        hint="expected .bed, .gff, .gff3 or .gtf (optionally .gz)",
    )
