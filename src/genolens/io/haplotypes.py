"""Personal haplotype sequences from a reference plus a VCF.

For every sample, haplotype and region, the reference bases of the region
with that haplotype's alleles applied, and a :class:`CoordinateMap` from each
output base back to the reference, so per-base values land on reference
coordinates across indels.

Policies (all in :class:`HaplotypePolicy`, all counted in :class:`BuildReport`,
nothing dropped without a count):

* FILTER: records whose FILTER is neither PASS nor unset (``.``) are left out
  unless ``include_filtered``.
* Missing genotype (``.``) on a haplotype: ``"ref"`` keeps the reference
  (bcftools' behaviour), ``"n"`` writes N over the REF allele, ``"error"`` raises.
* Unphased heterozygous genotype (``0/1``): ``"error"`` (default: which copy
  carries the ALT is unknown) or ``"as-listed"``, taking the alleles in their
  listed order as haplotypes 1, 2, ... (bcftools' behaviour). Unphased
  homozygous calls are unambiguous and always applied.
* Haploid calls apply to every requested haplotype.
* Multi-allelic sites: the called allele index picks the ALT.
* Overlapping variants on one haplotype: the first in position order wins and
  later ones overlapping its REF span are skipped (as bcftools consensus does).
* Records whose REF allele crosses a region edge are skipped: the region is
  the unit of output.
* Symbolic (``<DEL>``), breakend and ``*`` alleles cannot be spelled out as
  bases: ``symbolic="skip"`` (counted) or ``"error"``. A ``*`` allele is always
  skipped: the overlapping deletion it refers to is its own record.
* A REF allele that disagrees with the reference is an error.

Alleles are applied after trimming the bases REF and ALT share at their start:
the remaining REF/ALT bases are substituted position by position, surplus ALT
bases are insertions (coordinate -1) and surplus REF bases are deletions.
Inserted bases inherit the soft-mask of the base before them; substituted
bases keep the mask of the reference base they replace.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from genolens.errors import ConfigError, ReferenceMismatchError, VariantPolicyError
from genolens.io.alphabet import AmbiguityPolicy, normalise_sequence
from genolens.io.coordmap import INSERTED, CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.io.reference import Reference
from genolens.io.regions import Region
from genolens.io.vcf import Variant, VariantFile, is_symbolic

_COMPLEMENT = np.arange(256, dtype=np.uint8)
for _a, _b in zip("ACGTRYKMSWBDHVN", "TGCAYRMKSWVHDBN", strict=True):
    _COMPLEMENT[ord(_a)] = ord(_b)


@dataclass(frozen=True)
class HaplotypePolicy:
    """How variants and genotypes become haplotype sequences (see the module docstring).

    Parameters
    ----------
    haplotypes
        1-based haplotype indices to build (``(1, 2)``: both copies of a diploid genome).
    include_filtered
        Apply variants whose FILTER is neither PASS nor ``.``.
    missing
        A missing genotype: ``"ref"`` keeps the reference, ``"n"`` writes N over REF, ``"error"`` raises.
    unphased
        An unphased heterozygous call: ``"error"``, or ``"as-listed"`` (alleles in listed order).
    symbolic
        Symbolic and breakend alleles: ``"skip"`` (counted) or ``"error"``.
    ambiguous
        IUPAC ambiguity codes of the reference: ``"n"`` or ``"reject"``.
    """

    haplotypes: tuple[int, ...] = (1, 2)
    include_filtered: bool = False
    missing: Literal["ref", "n", "error"] = "ref"
    unphased: Literal["error", "as-listed"] = "error"
    symbolic: Literal["skip", "error"] = "skip"
    ambiguous: AmbiguityPolicy = "n"

    def __post_init__(self) -> None:
        if not self.haplotypes or any(h < 1 for h in self.haplotypes):
            raise ConfigError(f"haplotypes must be 1-based indices, got {self.haplotypes}")
        if len(set(self.haplotypes)) != len(self.haplotypes):
            raise ConfigError(f"haplotypes must be distinct, got {self.haplotypes}")
        for name, allowed in (
            ("missing", ("ref", "n", "error")),
            ("unphased", ("error", "as-listed")),
            ("symbolic", ("skip", "error")),
            ("ambiguous", ("n", "reject")),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")


@dataclass
class BuildReport:
    """Counts of what happened to variants and calls, with a few examples of each.

    Pass one to :func:`build_haplotypes` and read it once the records are consumed.

    Parameters
    ----------
    counts
        Number of variants or calls per outcome (applied, or why skipped).
    examples
        Up to ``max_examples`` examples of each outcome.
    max_examples
        How many examples to keep per outcome.
    """

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = 5

    def add(self, reason: str, example: str, n: int = 1) -> None:
        """Count ``n`` variants or calls under ``reason``, keeping ``example`` while there are few.

        Parameters
        ----------
        reason
            The outcome (``filtered``, ``missing_genotype``, ``crosses_region_edge``, ...).
        example
            A label of one of them (e.g. ``22:16050075:A>G``).
        n
            How many to count.
        """
        self.counts[reason] += n
        shown = self.examples.setdefault(reason, [])
        if len(shown) < self.max_examples:
            shown.append(example)

    def to_dict(self) -> dict:
        """The counts and examples, JSON-ready (``OUT.report.json`` of ``genolens sequences``).

        Returns
        -------
        dict
            ``{"counts": {reason: n}, "examples": {reason: [label, ...]}}``.
        """
        return {"counts": dict(self.counts), "examples": self.examples}

    def summary(self) -> str:
        """One line: every outcome with its count, or ``no variants``.

        Returns
        -------
        str
            E.g. ``applied: 1,204, filtered: 3``.
        """
        return ", ".join(f"{k}: {v:,}" for k, v in sorted(self.counts.items())) or "no variants"


def build_haplotypes(
    reference: str | os.PathLike[str] | Reference,
    vcf: str | os.PathLike[str] | VariantFile,
    regions: Iterable[Region],
    *,
    samples: Sequence[str] | None = None,
    policy: HaplotypePolicy | None = None,
    report: BuildReport | None = None,
) -> Iterator[SequenceRecord]:
    """Yield one record per region, sample and haplotype (region-major order).

    ``samples=None`` takes every sample in the VCF. Record IDs are
    ``SAMPLE|hapH|REGION``.

    Parameters
    ----------
    reference
        Reference FASTA (bgzipped with ``.fai``/``.gzi``, or plain), or an open :class:`Reference`.
    vcf
        Phased VCF/BCF (indexed), or an open :class:`VariantFile`.
    regions
        Regions to build (minus-strand regions give the reverse complement).
    samples
        VCF samples to build (default: all).
    policy
        How variants and genotypes are applied (default :class:`HaplotypePolicy`).
    report
        Filled with what happened to every variant and call (applied, skipped and why).

    Yields
    ------
    SequenceRecord
        A haplotype of one sample over one region, with its sample, haplotype, region and coordinate map.
    """
    policy = policy or HaplotypePolicy()
    report = report if report is not None else BuildReport()
    ref = reference if isinstance(reference, Reference) else Reference(reference)
    vf = vcf if isinstance(vcf, VariantFile) else VariantFile(vcf, samples=samples)
    try:
        for region in regions:
            ref_seq, ref_mask = _reference_slice(ref, region, policy)
            edits = _collect_edits(ref_seq, region, vf, policy, report)
            for s_idx, sample in enumerate(vf.samples):
                for hap in policy.haplotypes:
                    hap_edits = edits.get((s_idx, hap), [])
                    seq, mask, pos = _apply(ref_seq, ref_mask, region, hap_edits, report, sample, hap)
                    yield _record(
                        f"{sample}|hap{hap}|{region.label}", seq, mask, pos, region, sample=sample, hap=hap
                    )
    finally:
        if not isinstance(reference, Reference):
            ref.close()
        if not isinstance(vcf, VariantFile):
            vf.close()


def reference_sequences(
    reference: str | os.PathLike[str] | Reference,
    regions: Iterable[Region],
    *,
    ambiguous: AmbiguityPolicy = "n",
) -> Iterator[SequenceRecord]:
    """The reference itself over each region (ID = region name or ``contig:start-end``).

    Parameters
    ----------
    reference
        Reference FASTA, or an open :class:`Reference`.
    regions
        Regions to read (minus-strand regions give the reverse complement).
    ambiguous
        IUPAC ambiguity codes: ``"n"`` or ``"reject"``.

    Yields
    ------
    SequenceRecord
        The reference bases of each region with their coordinate map.
    """
    ref = reference if isinstance(reference, Reference) else Reference(reference)
    policy = HaplotypePolicy(ambiguous=ambiguous)
    try:
        for region in regions:
            seq, mask = _reference_slice(ref, region, policy)
            pos = np.arange(region.start, region.end, dtype=np.int64)
            yield _record(region.label, seq, mask, pos, region)
    finally:
        if not isinstance(reference, Reference):
            ref.close()


def _reference_slice(ref: Reference, region: Region, policy: HaplotypePolicy) -> tuple[np.ndarray, np.ndarray]:
    raw = ref.fetch(Region(region.contig, region.start, region.end))
    seq, mask = normalise_sequence(
        raw, alphabet="dna", ambiguous=policy.ambiguous, record=region.spec, path=str(ref.path)
    )
    return np.frombuffer(seq.encode("ascii"), dtype=np.uint8), mask


Edit = tuple[int, str, str, str]  # pos0, REF, ALT, label


def _collect_edits(
    ref_seq: np.ndarray, region: Region, vf: VariantFile, policy: HaplotypePolicy, report: BuildReport
) -> dict[tuple[int, int], list[Edit]]:
    """Per (sample index, haplotype): the alleles to apply, in file order."""
    edits: dict[tuple[int, int], list[Edit]] = {}
    for variant, calls in vf.fetch(region):
        if not policy.include_filtered and not variant.passes:
            report.add("filtered", f"{variant.label} FILTER={';'.join(variant.filters)}")
            continue
        if variant.pos < region.start or variant.end > region.end:
            report.add("crosses_region_edge", f"{variant.label} in {region.spec}")
            continue
        _check_ref(variant, ref_seq, region, vf)
        for s_idx, (gt, phased) in enumerate(calls):
            _calls_to_edits(variant, gt, phased, s_idx, vf.samples[s_idx], policy, report, edits)
    return edits


def _check_ref(variant: Variant, ref_seq: np.ndarray, region: Region, vf: VariantFile) -> None:
    observed = ref_seq[variant.pos - region.start : variant.end - region.start].tobytes().decode("ascii")
    if observed != variant.ref and not ("N" in observed and len(observed) == len(variant.ref)):
        raise ReferenceMismatchError(
            f"REF allele {variant.ref!r} does not match the reference {observed!r}",
            path=vf.path,
            record=variant.label,
            hint="was the VCF called against another reference build?",
        )


def _calls_to_edits(
    variant: Variant,
    gt: tuple[int | None, ...],
    phased: bool,
    s_idx: int,
    sample: str,
    policy: HaplotypePolicy,
    report: BuildReport,
    edits: dict[tuple[int, int], list[Edit]],
) -> None:
    where = f"{variant.label} sample {sample}"
    if len(gt) > 1 and not phased and len(set(gt)) > 1:
        if policy.unphased == "error":
            raise VariantPolicyError(
                f"unphased heterozygous genotype {'/'.join('.' if a is None else str(a) for a in gt)}",
                record=where,
                hint="phase the VCF first, or use unphased='as-listed' to take alleles in listed order",
            )
        report.add("unphased_as_listed", where)
    for hap in policy.haplotypes:
        allele_index = gt[hap - 1] if len(gt) >= hap else gt[0] if len(gt) == 1 else None
        if allele_index == 0:
            continue
        if allele_index is None:
            if policy.missing == "error":
                raise VariantPolicyError("missing genotype", record=f"{where} haplotype {hap}")
            report.add("missing_genotype", f"{where} haplotype {hap}")
            if policy.missing == "n":
                edits.setdefault((s_idx, hap), []).append((variant.pos, variant.ref, "N" * len(variant.ref), where))
            continue
        alt = variant.alts[allele_index - 1]
        if is_symbolic(alt):
            if alt == "*":
                report.add("spanning_deletion_allele", where)
                continue
            if policy.symbolic == "error":
                raise VariantPolicyError(f"symbolic allele {alt} cannot be spelled out as bases", record=where)
            report.add("symbolic_allele", where)
            continue
        normalise_sequence(alt, alphabet="dna", ambiguous=policy.ambiguous, record=where)
        edits.setdefault((s_idx, hap), []).append((variant.pos, variant.ref, alt, where))


def _apply(
    ref_seq: np.ndarray,
    ref_mask: np.ndarray,
    region: Region,
    edits: list[Edit],
    report: BuildReport,
    sample: str,
    hap: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply sorted, non-overlapping edits; return bases, mask and reference positions."""
    seqs: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    poss: list[np.ndarray] = []
    start = region.start

    def copy_ref(a: int, b: int) -> None:  # reference bases [a, b) unchanged
        if b > a:
            seqs.append(ref_seq[a - start : b - start])
            masks.append(ref_mask[a - start : b - start])
            poss.append(np.arange(a, b, dtype=np.int64))

    cursor = start
    for pos, ref, alt, where in sorted(edits, key=lambda e: e[0]):
        if pos < cursor:
            report.add("overlapping_variant_skipped", f"{where} haplotype {hap}")
            continue
        copy_ref(cursor, pos)
        k = 0
        while k < min(len(ref), len(alt)) and ref[k] == alt[k]:
            k += 1
        copy_ref(pos, pos + k)
        m = min(len(ref), len(alt)) - k
        if m:
            seqs.append(np.frombuffer(alt[k : k + m].encode("ascii"), dtype=np.uint8))
            masks.append(ref_mask[pos + k - start : pos + k + m - start])
            poss.append(np.arange(pos + k, pos + k + m, dtype=np.int64))
        inserted = alt[k + m :]
        if inserted:
            prev_mask = masks[-1][-1] if masks and len(masks[-1]) else False
            seqs.append(np.frombuffer(inserted.encode("ascii"), dtype=np.uint8))
            masks.append(np.full(len(inserted), prev_mask, dtype=bool))
            poss.append(np.full(len(inserted), INSERTED, dtype=np.int64))
        cursor = pos + len(ref)
        report.add("applied", f"{where} haplotype {hap}")
    copy_ref(cursor, region.end)
    if not seqs:  # the whole region was deleted
        return np.zeros(0, np.uint8), np.zeros(0, bool), np.zeros(0, np.int64)
    return np.concatenate(seqs), np.concatenate(masks), np.concatenate(poss)


def _record(
    record_id: str,
    seq: np.ndarray,
    mask: np.ndarray,
    pos: np.ndarray,
    region: Region,
    *,
    sample: str | None = None,
    hap: int | None = None,
) -> SequenceRecord:
    coords = CoordinateMap(region.contig, "+", pos)
    if region.strand == "-":
        seq, mask, coords = _COMPLEMENT[seq[::-1]], mask[::-1], coords.reverse_complemented()
    description = f"region={region.spec} strand={region.strand}"
    if sample is not None:
        description = f"sample={sample} haplotype={hap} " + description
    return SequenceRecord(
        id=record_id,
        sequence=seq.tobytes().decode("ascii"),
        alphabet="dna",
        mask=np.ascontiguousarray(mask),
        coords=coords,
        description=description,
        sample=sample,
        haplotype=hap,
        region=region.label,
    )

