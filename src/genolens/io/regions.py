"""Genomic regions: ``chr:start-end`` strings and BED files.

Internally a region is 0-based and half-open, as in BED. The ``chr:start-end``
form is 1-based and inclusive, as in samtools and bcftools, so
``22:101-200`` and the BED line ``22 100 200`` are the same 100 bases.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from genolens.errors import InputFormatError, RegionError
from genolens.io.files import atomic_write, open_text

_SPEC = re.compile(r"^(?P<contig>[^:\s]+)(?::(?P<start>[\d,]+)(?:-(?P<end>[\d,]+))?)?$")


@dataclass(frozen=True)
class Region:
    """A 0-based half-open interval on a contig, with an optional name and strand.

    Parameters
    ----------
    contig
        Contig name, as in the reference.
    start, end
        0-based half-open bounds (``end > start >= 0``).
    name
        Optional name (BED column 4); it becomes the sequence ID.
    strand
        ``"+"`` or ``"-"`` (sequences of a minus-strand region are reverse-complemented).
    """

    contig: str
    start: int
    end: int
    name: str | None = None
    strand: str = "+"

    def __post_init__(self) -> None:
        if self.start < 0:
            raise RegionError(f"start must be >= 0, got {self.start}", record=self.label)
        if self.end <= self.start:
            raise RegionError(f"end ({self.end}) must be greater than start ({self.start})", record=self.label)
        if self.strand not in ("+", "-"):
            raise RegionError(f"strand must be '+' or '-', got {self.strand!r}", record=self.label)

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def spec(self) -> str:
        """``contig:start-end`` in 1-based inclusive coordinates."""
        return f"{self.contig}:{self.start + 1}-{self.end}"

    @property
    def label(self) -> str:
        """The name if there is one, else :attr:`spec`."""
        return self.name or f"{self.contig}:{self.start + 1}-{self.end}"


def parse_region(spec: str, *, contig_lengths: Mapping[str, int] | None = None) -> Region:
    """Parse ``chr``, ``chr:pos`` or ``chr:start-end`` (1-based, inclusive, commas allowed).

    Parameters
    ----------
    spec
        The region string; a bare contig name needs ``contig_lengths``.
    contig_lengths
        Contig lengths (e.g. :func:`contig_lengths` of the reference): regions past a contig's end or on an
        unknown contig are errors.

    Returns
    -------
    Region
        The region, 0-based half-open.
    """
    m = _SPEC.match(spec.strip())
    if not m:
        raise RegionError(f"cannot parse region {spec!r}; expected contig:start-end, e.g. 22:17700001-17740000")
    contig = m["contig"]
    if m["start"] is None:
        if contig_lengths is None or contig not in contig_lengths:
            raise RegionError(
                f"region {spec!r} names a whole contig, but its length is unknown",
                hint=_contig_hint(contig, contig_lengths),
            )
        region = Region(contig, 0, contig_lengths[contig])
    else:
        start = int(m["start"].replace(",", ""))
        end = int(m["end"].replace(",", "")) if m["end"] is not None else start
        if start < 1:
            raise RegionError(f"region {spec!r}: positions are 1-based, start must be >= 1")
        if end < start:
            raise RegionError(f"region {spec!r}: end {end} is before start {start}")
        region = Region(contig, start - 1, end)
    if contig_lengths is not None:
        check_region(region, contig_lengths)
    return region


def read_bed(path: str | os.PathLike[str], *, contig_lengths: Mapping[str, int] | None = None) -> list[Region]:
    """Read BED3+ regions (name from column 4, strand from column 6 when present).

    Parameters
    ----------
    path
        BED file, plain or gzipped.
    contig_lengths
        As :func:`parse_region`.

    Returns
    -------
    list of Region
        The regions in file order.
    """
    spath = str(path)
    regions: list[Region] = []
    with open_text(path, what="BED file") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n\r").split("\t")
            if len(fields) < 3:
                raise InputFormatError(
                    f"expected at least 3 tab-separated columns (chrom, start, end), found {len(fields)}",
                    path=spath,
                    line=number,
                )
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise InputFormatError(
                    f"start and end must be integers, found {fields[1]!r} and {fields[2]!r}",
                    path=spath,
                    line=number,
                ) from None
            name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else None
            strand = fields[5] if len(fields) > 5 and fields[5] in ("+", "-") else "+"
            if len(fields) > 5 and fields[5] not in ("+", "-", "."):
                raise InputFormatError(f"strand must be '+', '-' or '.', found {fields[5]!r}", path=spath, line=number)
            try:
                region = Region(fields[0], start, end, name=name, strand=strand)
                if contig_lengths is not None:
                    check_region(region, contig_lengths)
            except RegionError as exc:
                raise RegionError(exc.message, path=spath, line=number, hint=exc.hint) from None
            regions.append(region)
    if not regions:
        raise InputFormatError("BED file has no regions", path=spath)
    return regions


def write_bed(regions: Iterable[Region], path: str | os.PathLike[str]) -> Path:
    """Write regions as BED6 (0-based half-open; name ``.`` when unnamed, score 0), atomically.

    Parameters
    ----------
    regions
        The regions, in the order to write.
    path
        The BED file.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_write(path) as fh:
        for r in regions:
            fh.write(f"{r.contig}\t{r.start}\t{r.end}\t{r.name or '.'}\t0\t{r.strand}\n")
    return Path(path)


def read_regions(
    specs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    contig_lengths: Mapping[str, int] | None = None,
) -> list[Region]:
    """Regions from BED paths and/or ``chr:start-end`` strings, in the order given.

    An argument that names an existing file is read as BED; anything else is
    parsed as a region string. Duplicate region labels are rejected, since
    they would give duplicate sequence IDs downstream.

    Parameters
    ----------
    specs
        One BED path or region string, or several.
    contig_lengths
        As :func:`parse_region`.

    Returns
    -------
    list of Region
        The regions in the order given.
    """
    items = [specs] if isinstance(specs, (str, os.PathLike)) else list(specs)
    regions: list[Region] = []
    for item in items:
        if Path(item).is_file() or str(item).lower().endswith((".bed", ".bed.gz")):
            regions.extend(read_bed(item, contig_lengths=contig_lengths))
        else:
            regions.append(parse_region(str(item), contig_lengths=contig_lengths))
    seen: set[str] = set()
    for region in regions:
        if region.label in seen:
            raise RegionError(f"region {region.label!r} is given twice")
        seen.add(region.label)
    return regions


def check_region(region: Region, contig_lengths: Mapping[str, int]) -> None:
    """Raise :class:`RegionError` if the region's contig is unknown or the region runs past its end."""
    if region.contig not in contig_lengths:
        raise RegionError(
            f"contig {region.contig!r} is not in the reference",
            record=region.label,
            hint=_contig_hint(region.contig, contig_lengths),
        )
    length = contig_lengths[region.contig]
    if region.end > length:
        raise RegionError(
            f"region {region.spec} runs past the end of contig {region.contig!r} (length {length:,})",
            record=region.label,
        )


def _contig_hint(contig: str, contig_lengths: Mapping[str, int] | None) -> str | None:
    if not contig_lengths:
        return None
    alt = contig[3:] if contig.startswith("chr") else f"chr{contig}"
    if alt in contig_lengths:
        return f"the reference names it {alt!r}: mind the 'chr' prefix"
    names = list(contig_lengths)
    return f"reference contigs: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}"
