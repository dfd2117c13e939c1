"""Write a sites-only VCF whose INFO fields are declared in its header, bgzipped and tabix-indexed (pysam).

Records are sorted by the header's contig order and position before writing, so the index
can be built; string values are escaped as VCF 4.3 asks (``%3B`` for ``;``, ``%3D`` for ``=``,
``%2C`` for ``,``, ``%25`` for ``%``) and spaces become ``_``, so bcftools reads every field back.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from genolens.errors import ConfigError

_ESCAPES = {"%": "%25", ";": "%3B", "=": "%3D", ",": "%2C", " ": "_", "\t": "_", "\n": "_"}
_TYPES = ("Integer", "Float", "String", "Flag")


@dataclass(frozen=True)
class InfoField:
    """One INFO field: ``##INFO=<ID=..,Number=1,Type=..,Description="..">``."""

    id: str
    type: str
    description: str
    number: str = "1"

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ConfigError(f"INFO type must be one of {', '.join(_TYPES)}, got {self.type!r}")


@dataclass(frozen=True)
class SiteRecord:
    """One VCF line: 1-based ``pos``, alleles, ID, INFO values (None values are left out), FILTER and END.

    ``filters``: the FILTER names (empty: ``.``); ``end``: the 1-based END of a record that spans more than its
    REF allele (a symbolic ``<DEL>``), written as its ``END``; None: the end of REF.
    """

    contig: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    id: str | None = None
    info: Mapping[str, object] = field(default_factory=dict)
    filters: tuple[str, ...] = ()
    end: int | None = None


def escape_info(text: str) -> str:
    """``text`` safe as a VCF INFO string value (see the module docstring).

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    str
        The escaped value.
    """
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def write_sites_vcf(
    path: str | os.PathLike[str],
    records: Iterable[SiteRecord],
    *,
    contigs: Mapping[str, int],
    info: Sequence[InfoField],
    source: str = "genolens",
    meta: Mapping[str, str] | None = None,
) -> Path:
    """Write ``records`` to ``path`` (``.vcf.gz``), bgzipped, with a tabix index beside it.

    Parameters
    ----------
    path
        Output path; must end in ``.vcf.gz``.
    records
        The sites (any order: they are sorted).
    contigs
        Contig name -> length, in the order the header lists them (a record's contig must be here; a length of
        0 or less: unknown, written without one).
    info
        The INFO fields the records may carry.
    source
        The ``##source`` line.
    meta
        Further ``##key=value`` header lines.

    Returns
    -------
    Path
        The bgzipped VCF (its index is ``path + ".tbi"``).
    """
    out = Path(path)
    if not out.name.endswith(".vcf.gz"):
        raise ConfigError(f"a bgzipped VCF path must end in .vcf.gz, got {out}")
    header = pysam.VariantHeader()
    header.add_line(f"##source={source}")
    for key, value in (meta or {}).items():
        header.add_line(f"##{key}={escape_info(str(value))}")
    for name, length in contigs.items():
        header.contigs.add(name, length=int(length) if int(length) > 0 else None)
    header.info.add("END", 1, "Integer", "End position of the REF allele (written by htslib for symbolic alleles)")
    for f in info:
        header.info.add(f.id, f.number, f.type, f.description)
    order = {name: i for i, name in enumerate(contigs)}
    rows = list(records)
    for name in sorted({f for r in rows for f in r.filters} - {"PASS"}):
        header.filters.add(name, None, None, "as the input VCF")
    unknown = sorted({r.contig for r in rows} - set(order))
    if unknown:
        raise ConfigError(f"records on contigs the header does not list: {', '.join(unknown[:5])}")
    rows.sort(key=lambda r: (order[r.contig], r.pos, r.ref, r.alts))
    declared = {f.id: f for f in info}
    plain = out.with_name(out.name[: -len(".gz")])
    out.parent.mkdir(parents=True, exist_ok=True)
    with pysam.VariantFile(str(plain), "w", header=header) as vf:
        for r in rows:
            stop = r.end if r.end is not None and r.end > r.pos - 1 + len(r.ref) else r.pos - 1 + len(r.ref)
            rec = vf.new_record(contig=r.contig, start=r.pos - 1, stop=stop, alleles=(r.ref, *r.alts),
                                id=r.id or None, filter=list(r.filters) or None)
            for key, value in r.info.items():
                if key not in declared:
                    raise ConfigError(f"INFO field {key!r} is not declared in the header")
                if value is None or (isinstance(value, float) and value != value):
                    continue
                kind = declared[key].type
                if kind == "String" and str(value) == "":
                    continue
                if kind == "Flag":
                    if value:
                        rec.info[key] = True
                    continue
                rec.info[key] = escape_info(str(value)) if kind == "String" else value
            vf.write(rec)
    return Path(pysam.tabix_index(str(plain), preset="vcf", force=True))
