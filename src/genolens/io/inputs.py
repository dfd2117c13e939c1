"""The sequences a model reads, from whichever input a user has: a FASTA, or reference regions
(personal haplotypes when a VCF is given). One place decides, for ``genolens embed`` and ``gl.models.embed``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from genolens.errors import ConfigError
from genolens.io.gaps import GapPolicy, GapReport, screen_regions
from genolens.io.records import SequenceRecord

PathLike = str | os.PathLike[str]


def input_records(
    *,
    fasta: PathLike | None = None,
    reference: PathLike | None = None,
    vcf: PathLike | None = None,
    regions: Sequence[str] = (),
    samples: Sequence[str] = (),
    gaps: GapPolicy | None = None,
    notes: Callable[[str], None] | None = None,
) -> Iterator[SequenceRecord]:
    """Sequence records from a FASTA, or from reference regions (personal haplotypes with a VCF).

    Parameters
    ----------
    fasta
        FASTA of DNA or protein sequences; a ``NAME.coords.tsv`` sidecar beside it restores their
        coordinate maps (as ``genolens sequences`` writes them).
    reference
        Indexed reference FASTA (instead of ``fasta``).
    vcf
        Phased VCF: build every sample's haplotypes of each region (with ``reference``).
    regions
        BED files or ``chr:start-end`` strings (1-based inclusive), with ``reference``.
    samples
        VCF samples to build (default: all).
    gaps
        What to do with regions whose reference holds N (:class:`genolens.io.gaps.GapPolicy`); the
        default (an error naming the region) when None.
    notes
        Called with a one-line summary of the windows used, trimmed and skipped (with ``reference``).

    Returns
    -------
    Iterator[SequenceRecord]
        Records in input order, each with its coordinate map where one is known.
    """
    if (fasta is None) == (reference is None):
        raise ConfigError("give either --input FASTA or --reference (with --regions, optionally --vcf)")
    if fasta is not None:
        if vcf is not None or regions:
            raise ConfigError("--vcf and --regions go with --reference, not with --input")
        from genolens.io.coordtable import read_with_sidecar

        return read_with_sidecar(fasta)
    if not regions:
        raise ConfigError("--reference needs --regions (a BED file or chr:start-end)")
    if samples and vcf is None:
        raise ConfigError("samples (--sample) need a VCF (--vcf)")
    from genolens.io.haplotypes import build_haplotypes, reference_sequences
    from genolens.io.reference import Reference
    from genolens.io.regions import read_regions

    ref = Reference(reference)
    region_list = read_regions(list(regions), contig_lengths=ref.contig_lengths)
    report = GapReport()
    region_list = screen_regions(ref, region_list, policy=gaps, report=report)
    if notes is not None and report.counts.keys() - {"without_n"}:
        notes(f"windows: {report.summary()}")
    if vcf is None:
        return reference_sequences(ref, region_list)
    return build_haplotypes(ref, vcf, region_list, samples=list(samples) or None)
