"""Variant-centred windows: reference and alternate sequence around each variant.

For variant-effect work a model sees the same window twice, once with the
reference allele and once with the alternate. Both windows are ``width``
bases long and the variant starts at the same offset, ``width // 2``, in both:
the left flank is the ``width // 2`` reference bases before POS; the right
flank is filled from the reference after the allele, so a deletion pulls in
more right flank and an insertion pushes it out. Each ALT allele of a
multi-allelic site gets its own pair. Variants whose window would leave the
contig or cover unknown reference (any N: ``reference_gap``), symbolic alleles and
(by default) filtered records are skipped and counted in the report; a REF allele
that disagrees with the reference is an error, or (``on_mismatch="skip"``) a skip counted as ``ref_mismatch``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np

from genolens.errors import ConfigError, ReferenceMismatchError
from genolens.io.alphabet import normalise_sequence
from genolens.io.coordmap import INSERTED, CoordinateMap
from genolens.io.haplotypes import BuildReport
from genolens.io.records import SequenceRecord
from genolens.io.reference import Reference
from genolens.io.regions import Region
from genolens.io.vcf import Variant, VariantFile, is_symbolic


def variant_windows(
    reference: str | os.PathLike[str] | Reference,
    vcf: str | os.PathLike[str] | VariantFile,
    regions: Iterable[Region] | None,
    *,
    width: int,
    include_filtered: bool = False,
    report: BuildReport | None = None,
    on_mismatch: str = "error",
    sites: dict[str, Variant] | None = None,
) -> Iterator[tuple[SequenceRecord, SequenceRecord]]:
    """Yield (reference window, alternate window) for each variant allele starting in ``regions``.

    IDs are ``CONTIG:POS:REF>ALT|ref`` and ``...|alt`` (1-based POS).

    Parameters
    ----------
    reference
        Reference FASTA, or an open :class:`Reference`.
    vcf
        Indexed VCF/BCF (genotypes are not read), or an open :class:`VariantFile`.
    regions
        Regions whose variants are taken (a variant belongs to the region it starts in; one in several
        overlapping regions is taken once). None: every record of the VCF; those on contigs the reference
        lacks are reported as ``contig_not_in_reference``.
    width
        Window width; the variant sits at offset ``width // 2`` in both windows.
    include_filtered
        Also take variants whose FILTER is neither PASS nor ``.``.
    report
        Filled with the variants skipped and why.
    on_mismatch
        ``"error"``: a REF allele that disagrees with the reference raises
        :class:`~genolens.errors.ReferenceMismatchError`; ``"skip"``: it is skipped and reported as
        ``ref_mismatch``.
    sites
        Filled with the record behind every label reported or yielded (``CONTIG:POS:REF>ALT`` of each allele,
        and of the whole record): its ID, FILTER and END travel with it.

    Yields
    ------
    tuple of SequenceRecord
        The reference window and the alternate window of one variant allele, of the same width.
    """
    if width < 2:
        raise ConfigError(f"width must be >= 2, got {width}")
    if on_mismatch not in ("error", "skip"):
        raise ConfigError(f"on_mismatch must be 'error' or 'skip', got {on_mismatch!r}")
    report = report if report is not None else BuildReport()
    ref = reference if isinstance(reference, Reference) else Reference(reference)
    vf = vcf if isinstance(vcf, VariantFile) else VariantFile(vcf, samples=[])
    seen: set[tuple[str, int, str, tuple[str, ...]]] = set()
    sites = sites if sites is not None else {}
    lacking: list[str] = []
    if regions is None:
        regions = [Region(c, 0, n) for c, n in ref.contig_lengths.items()]
        lacking = [c for c in vf.contigs_with_records() if c not in ref.contig_lengths]
    try:
        for contig in lacking:
            for variant, _ in vf.fetch(Region(contig, 0, 2**31 - 1)):
                _note(sites, variant)
                report.add("contig_not_in_reference", variant.label)
        for region in regions:
            for variant, _ in vf.fetch(region):
                if variant.pos < region.start:  # starts in an earlier region: reported there
                    continue
                key = (variant.contig, variant.pos, variant.ref, tuple(variant.alts))
                if key in seen:  # also in an earlier, overlapping region: one pair per allele
                    continue
                seen.add(key)
                _note(sites, variant)
                if not include_filtered and not variant.passes:
                    report.add("filtered", variant.label)
                    continue
                for alt in variant.alts:
                    try:
                        pair = _pair(ref, variant, alt, width, report)
                    except ReferenceMismatchError:
                        if on_mismatch == "error":
                            raise
                        report.add("ref_mismatch", f"{variant.contig}:{variant.pos + 1}:{variant.ref}>{alt}")
                        continue
                    if pair is not None:
                        yield pair
    finally:
        if not isinstance(reference, Reference):
            ref.close()
        if not isinstance(vcf, VariantFile):
            vf.close()


def _note(sites: dict[str, Variant], variant: Variant) -> None:
    """Remember the record behind its label and the label of each of its alleles."""
    sites[variant.label] = variant
    for alt in variant.alts:
        sites[f"{variant.contig}:{variant.pos + 1}:{variant.ref}>{alt}"] = variant


def _pair(
    ref: Reference, variant: Variant, alt: str, width: int, report: BuildReport
) -> tuple[SequenceRecord, SequenceRecord] | None:
    label = f"{variant.contig}:{variant.pos + 1}:{variant.ref}>{alt}"
    if is_symbolic(alt):
        report.add("symbolic_allele", label)
        return None
    left = width // 2
    start = variant.pos - left
    # enough reference to the right for the longest case: a deletion of len(REF) bases
    stop = variant.pos + len(variant.ref) + (width - left)
    length = ref.contig_lengths.get(variant.contig, 0)
    if start < 0 or stop > length:
        report.add("window_outside_contig", label)
        return None
    raw = ref.fetch(Region(variant.contig, start, stop))
    seq, mask = normalise_sequence(raw, alphabet="dna", record=label, path=str(ref.path))
    if "N" in seq:  # unknown reference (a gap of a partial assembly): the model would read N, never silently
        report.add("reference_gap", label)
        return None
    observed = seq[left : left + len(variant.ref)]
    if observed != variant.ref:
        raise ReferenceMismatchError(
            f"REF allele {variant.ref!r} does not match the reference {observed!r}", record=label
        )
    alt_seq, _ = normalise_sequence(alt, alphabet="dna", record=label)
    positions = np.arange(start, stop, dtype=np.int64)
    after = left + len(variant.ref)
    ref_pos = positions[:width]
    alt_bases = seq[:left] + alt_seq + seq[after:]
    k = min(len(variant.ref), len(alt_seq))
    alt_pos = np.concatenate([
        positions[: left + k],
        np.full(max(len(alt_seq) - k, 0), INSERTED, dtype=np.int64),
        positions[after:],
    ])
    alt_mask = np.concatenate([mask[: left + k], np.zeros(max(len(alt_seq) - k, 0), bool), mask[after:]])
    common = {"alphabet": "dna", "meta": {"variant": label, "variant_id": variant.id or ".",
                                          "filter": ";".join(variant.filters) or "."}}
    ref_rec = SequenceRecord(
        id=f"{label}|ref", sequence=seq[:width], mask=mask[:width],
        coords=CoordinateMap(variant.contig, "+", ref_pos), description=f"allele=ref offset={left}", **common,
    )
    alt_rec = SequenceRecord(
        id=f"{label}|alt", sequence=alt_bases[:width], mask=alt_mask[:width],
        coords=CoordinateMap(variant.contig, "+", alt_pos[:width]), description=f"allele=alt offset={left}",
        **common,
    )
    report.add("windows", label)
    return ref_rec, alt_rec
