"""Indexed reference FASTA access (pysam), with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

import pysam

from genolens.errors import InputFileError, InputFormatError, RegionError
from genolens.io.files import is_gzipped, require_file
from genolens.io.regions import Region, check_region


class Reference:
    """A random-access reference genome (FASTA, or bgzipped FASTA with ``.fai``/``.gzi``).

    Sequence comes back in its original case, so soft-masking survives.
    Use as a context manager, or call :meth:`close`.

    Parameters
    ----------
    path
        Reference FASTA; a missing ``.fai`` is created (a plain-gzip file cannot be indexed: an error).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = require_file(path, what="reference FASTA")
        gz = is_gzipped(self.path)
        if gz and not Path(f"{self.path}.gzi").exists() and not _is_bgzf(self.path):
            raise InputFileError(
                "reference is gzip- but not bgzip-compressed, so it cannot be indexed",
                path=self.path,
                hint=f"recompress: zcat {self.path} | bgzip > ref.fa.gz && samtools faidx ref.fa.gz",
            )
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InputFileError(
                f"cannot open as an indexed FASTA ({exc})",
                path=self.path,
                hint="index it with `samtools faidx`; the directory must be writable if no .fai exists",
            ) from exc
        self.contig_lengths: dict[str, int] = dict(zip(self._fasta.references, self._fasta.lengths, strict=True))

    def fetch(self, region: Region) -> str:
        """The reference bases of ``region`` (plus strand, original case).

        Parameters
        ----------
        region
            Region on a contig of the reference (checked against its length).

        Returns
        -------
        str
            The bases, soft-masking kept as lowercase.
        """
        check_region(region, self.contig_lengths)
        try:
            seq = self._fasta.fetch(region.contig, region.start, region.end)
        except (OSError, ValueError) as exc:
            raise RegionError(f"cannot read {region.spec} ({exc})", path=self.path) from exc
        if len(seq) != len(region):
            raise InputFileError(
                f"read {len(seq)} bases for {region.spec}, expected {len(region)}",
                path=self.path,
                hint="reference or its index truncated?",
            )
        return seq

    def close(self) -> None:
        """Close the file."""
        self._fasta.close()

    def __enter__(self) -> Reference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def contig_lengths(path: str | os.PathLike[str]) -> dict[str, int]:
    """Contig lengths from a FASTA index (``.fai``: name and length in its first two columns) or an indexed FASTA.

    Parameters
    ----------
    path
        A ``.fai`` index, or a reference FASTA (opened as :class:`Reference`).

    Returns
    -------
    dict of str to int
        Length of each contig, in index order.
    """
    p = require_file(path, what="reference FASTA or .fai index")
    if p.suffix != ".fai":
        with Reference(p) as ref:
            return dict(ref.contig_lengths)
    lengths: dict[str, int] = {}
    with p.open() as fh:
        for number, line in enumerate(fh, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not fields[1].isdigit() or not fields[0]:
                raise InputFormatError(
                    f"expected NAME<TAB>LENGTH..., found {line.strip()[:60]!r}", path=p, line=number,
                    hint="a samtools faidx index",
                )
            if fields[0] in lengths:
                raise InputFormatError(f"contig {fields[0]!r} is listed twice", path=p, line=number)
            lengths[fields[0]] = int(fields[1])
    return lengths


def _is_bgzf(path: Path) -> bool:
    """BGZF blocks carry the 'BC' extra subfield right after the gzip header."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    return len(head) >= 14 and head[3] & 4 != 0 and head[12:14] == b"BC"
