"""Indexed VCF/BCF access (pysam): sites and genotypes over a region.

Records come out as :class:`Variant` (0-based position, alleles, FILTER) and,
for the chosen samples, their genotype calls with phase. Policies on what to
do with them live in :mod:`genolens.io.haplotypes`; this module only reads and
validates.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

from genolens.errors import InputFileError, InputFormatError, SampleMismatchError
from genolens.io.files import require_file
from genolens.io.regions import Region

Call = tuple[tuple[int | None, ...], bool]  # allele indices (None = missing), phased


@dataclass(frozen=True)
class Variant:
    """One VCF record: 0-based ``pos``, REF and ALT alleles, FILTER, ID and the record's own end.

    ``stop`` is the 0-based exclusive end the record spans as the VCF says it (its ``END`` for a symbolic
    allele such as ``<DEL>``; None: the end of REF).
    """

    contig: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    filters: tuple[str, ...]
    id: str | None = None
    stop: int | None = None

    @property
    def end(self) -> int:
        """0-based exclusive end of the REF allele on the reference."""
        return self.pos + len(self.ref)

    @property
    def label(self) -> str:
        return f"{self.contig}:{self.pos + 1}:{self.ref}>{','.join(self.alts)}"

    @property
    def passes(self) -> bool:
        """FILTER is PASS or unset ('.')."""
        return not self.filters or self.filters == ("PASS",)


def is_symbolic(allele: str) -> bool:
    """Symbolic (``<DEL>``), breakend (``A[2:10[``) or spanning-deletion (``*``) alleles."""
    return allele.startswith("<") or allele == "*" or "[" in allele or "]" in allele or allele == "."


class VariantFile:
    """An indexed VCF or BCF, restricted to chosen samples.

    Parameters
    ----------
    path
        VCF or BCF with a ``.tbi`` or ``.csi`` index.
    samples
        Samples whose calls are read, in this order (default: all, in header order); unknown or repeated
        names are errors.
    """

    def __init__(self, path: str | os.PathLike[str], *, samples: Sequence[str] | None = None) -> None:
        self.path = require_file(path, what="VCF")
        try:
            self._vf = pysam.VariantFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InputFormatError(f"cannot read as VCF/BCF ({exc})", path=self.path) from exc
        if self._vf.index is None:
            raise InputFileError(
                "VCF has no index (.tbi or .csi)",
                path=self.path,
                hint=f"bgzip it if needed, then run `bcftools index -t {self.path}`",
            )
        self.all_samples: list[str] = list(self._vf.header.samples)
        self.samples: list[str] = list(self.all_samples if samples is None else samples)
        missing = [s for s in self.samples if s not in set(self.all_samples)]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise SampleMismatchError(
                f"{len(missing)} requested sample(s) are not in the VCF: {shown}", path=self.path
            )
        if len(set(self.samples)) != len(self.samples):
            raise SampleMismatchError("a sample is requested twice", path=self.path)
        if samples is not None:
            self._vf.subset_samples(self.samples)
        # pysam keeps header order after subsetting; calls are returned in self.samples order.
        header_order = {name: i for i, name in enumerate(self._vf.header.samples)}
        self._order = [header_order[s] for s in self.samples]
        self.contigs: set[str] = set(self._vf.header.contigs) | set(self._vf.index)

    def check_contig(self, contig: str) -> None:
        """Raise if the VCF knows no such contig but knows it under the other 'chr' convention.

        Parameters
        ----------
        contig
            Contig name as the reference and regions spell it.
        """
        if contig in self.contigs:
            return
        alt = contig[3:] if contig.startswith("chr") else f"chr{contig}"
        if alt in self.contigs:
            raise InputFormatError(
                f"contig {contig!r} is not in the VCF, which names it {alt!r}",
                path=self.path,
                hint="reference, regions and VCF must use the same contig names",
            )

    def fetch(self, region: Region) -> Iterator[tuple[Variant, list[Call]]]:
        """Records overlapping ``region`` with the chosen samples' calls, in file order.

        Parameters
        ----------
        region
            Region to read (a contig the VCF lacks gives nothing; one it names with/without ``chr`` is an
            error).

        Yields
        ------
        tuple
            The :class:`Variant` and one call per chosen sample, in :attr:`samples` order: its allele indices
            (None where missing) and whether it is phased.
        """
        self.check_contig(region.contig)
        if region.contig not in self.contigs:
            return
        try:
            records = self._vf.fetch(region.contig, region.start, region.end)
            for rec in records:
                yield self._convert(rec)
        except (OSError, ValueError) as exc:
            raise InputFormatError(f"cannot read records in {region.spec} ({exc})", path=self.path) from exc

    def _convert(self, rec: pysam.VariantRecord) -> tuple[Variant, list[Call]]:
        where = f"{rec.chrom}:{rec.pos}"
        if rec.ref is None or not rec.alleles:
            raise InputFormatError("record has no REF allele", path=self.path, record=where)
        variant = Variant(
            contig=rec.chrom,
            pos=rec.pos - 1,
            ref=rec.ref.upper(),
            alts=tuple(a.upper() if not is_symbolic(a) else a for a in (rec.alts or ())),
            filters=tuple(rec.filter.keys()),
            id=rec.id,
            stop=int(rec.stop),
        )
        calls: list[Call] = []
        if self.samples:
            if "GT" not in rec.format:
                raise InputFormatError("record has no GT field", path=self.path, record=where)
            values = rec.samples.values()
            for i in self._order:
                sample = values[i]
                gt = sample.get("GT") or (None,)
                for a in gt:
                    if a is not None and a > len(variant.alts):
                        raise InputFormatError(
                            f"genotype allele {a} but the record has {len(variant.alts)} ALT allele(s)",
                            path=self.path,
                            record=f"{where} sample {sample.name}",
                        )
                calls.append((tuple(gt), bool(sample.phased)))
        return variant, calls

    def contigs_with_records(self) -> list[str]:
        """The contigs the index lists (those holding records), in index order.

        Returns
        -------
        list of str
            Contig names.
        """
        return [str(c) for c in self._vf.index]

    def close(self) -> None:
        """Close the file."""
        self._vf.close()

    def __enter__(self) -> VariantFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def vcf_samples(path: str | os.PathLike[str]) -> list[str]:
    """The sample names in a VCF header (no index needed).

    Parameters
    ----------
    path
        VCF or BCF.

    Returns
    -------
    list of str
        Sample names in header order.
    """
    p = require_file(Path(path), what="VCF")
    try:
        with pysam.VariantFile(str(p)) as vf:
            return list(vf.header.samples)
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"cannot read as VCF/BCF ({exc})", path=p) from exc
