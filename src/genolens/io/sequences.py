"""Write the sequences a model will read: from a FASTA, from a reference over regions, or as personal
haplotypes from a reference + VCF; variant-centred reference/alternate windows; shards of a FASTA.

Each writer is one public function returning what it wrote (``genolens sequences``, ``windows`` and
``split-fasta`` only parse options and call them). Personal haplotypes and windows come with a
coordinate-map table (``.coords.tsv`` beside the FASTA) mapping every output base back to the reference.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from genolens.errors import ConfigError
from genolens.io.alphabet import AlphabetChoice
from genolens.io.coordtable import read_with_sidecar, sidecar_path, write_with_sidecar
from genolens.io.distinct import distinct_haplotypes, write_carriers
from genolens.io.fasta import iter_fasta, write_fasta
from genolens.io.files import output_folder, write_json
from genolens.io.gaps import GapPolicy, GapReport, screen_regions
from genolens.io.haplotypes import BuildReport, HaplotypePolicy, build_haplotypes, reference_sequences
from genolens.io.reference import Reference
from genolens.io.regions import read_regions, write_bed
from genolens.io.samplesheet import SampleMatch, choose_samples
from genolens.io.vcf import VariantFile
from genolens.io.windows import variant_windows

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SequencesWritten:
    """What :func:`write_sequences` (or :func:`write_variant_windows`) wrote.

    Attributes
    ----------
    kind
        ``"fasta"`` (a FASTA copied and validated), ``"reference"``, ``"haplotypes"`` or ``"windows"``.
    n
        Number of sequences written (for windows: reference plus alternate records).
    fasta
        The FASTA written.
    coords
        Its coordinate-map table, or None for a plain FASTA copy.
    report
        The JSON report of the windows (N policy) and of applied and skipped variants (reference and
        haplotypes), else None.
    build
        Counts of what happened to variants and calls (haplotypes and windows), else None.
    samples
        How the sample sheet matched the VCF, when a sample sheet chose the samples.
    gaps
        Windows requested, used unchanged, trimmed, skipped or kept with N (reference and haplotypes).
    windows
        BED of the windows built, after the N policy (``OUT.windows.bed``; reference and haplotypes).
    carriers
        With ``distinct``: the table of which (sample, haplotype) carries each distinct sequence.
    n_haplotypes
        With ``distinct``: the number of haplotypes built before identical ones were collapsed.
    """

    kind: str
    n: int
    fasta: Path
    coords: Path | None = None
    report: Path | None = None
    build: BuildReport | None = field(default=None, compare=False)
    samples: SampleMatch | None = None
    gaps: GapReport | None = field(default=None, compare=False)
    windows: Path | None = None
    carriers: Path | None = None
    n_haplotypes: int | None = None


def write_sequences(
    out: PathLike,
    *,
    fasta: PathLike | None = None,
    reference: PathLike | None = None,
    regions: Sequence[str] | None = None,
    vcf: PathLike | None = None,
    samples: Sequence[str] | None = None,
    sample_sheet: PathLike | None = None,
    id_column: str = "sample",
    allow_missing_samples: bool = False,
    policy: HaplotypePolicy | None = None,
    gaps: GapPolicy | None = None,
    alphabet: AlphabetChoice = "auto",
    coords: PathLike | None = None,
    report: PathLike | None = None,
    progress: bool = True,
    distinct: bool = False,
    carriers: PathLike | None = None,
) -> SequencesWritten:
    """Write model input sequences from a FASTA, or from a reference + regions (+ VCF for haplotypes).

    Parameters
    ----------
    out
        Output FASTA (``.gz`` to compress).
    fasta
        Input FASTA, validated and rewritten (instead of ``reference`` + ``regions``).
    reference
        Indexed reference FASTA (``.fai``; bgzip needs ``.gzi``).
    regions
        BED files or ``chr:start-end`` strings (1-based, inclusive).
    vcf
        Indexed VCF/BCF: build personal haplotypes of every chosen sample.
    samples
        Sample IDs to build (default: every sample of the VCF).
    sample_sheet
        CSV/TSV sample sheet whose samples are built (instead of ``samples``).
    id_column
        Sample-ID column of the sample sheet.
    allow_missing_samples
        Continue when sample-sheet samples are absent from the VCF (they are listed in the result).
    policy
        How variants and genotypes become sequences (haplotypes, FILTER, missing, unphased, symbolic,
        ambiguity codes); the default policy when None.
    gaps
        What to do with windows whose reference holds N (:class:`genolens.io.gaps.GapPolicy`: error,
        skip, trim to the longest N-free stretch, or keep); the default (an error) when None.
    alphabet
        For ``fasta``: ``"auto"``, ``"dna"`` or ``"protein"``.
    coords
        Coordinate-map TSV (default: beside ``out``).
    report
        JSON report of the windows (N policy) and of applied/skipped variants (default: beside ``out``).
    progress
        Show a progress bar on a terminal.
    distinct
        Personal haplotypes: write each distinct haplotype of a region once (``REGION|hK``) and the table of
        its carriers (:mod:`genolens.io.distinct`), instead of one sequence per sample and haplotype.
    carriers
        With ``distinct``: the carriers TSV (default: beside ``out``, ``NAME.carriers.tsv``).

    Returns
    -------
    SequencesWritten
        The files written, the number of sequences, the window (N policy) and variant counts.
    """
    policy = policy or HaplotypePolicy()
    if fasta is not None:
        if reference is not None or vcf is not None or regions:
            raise ConfigError("a FASTA input cannot be combined with a reference, a VCF or regions")
        if alphabet not in ("auto", "dna", "protein"):
            raise ConfigError(f"alphabet must be one of auto, dna, protein; got {alphabet!r}")
        n = write_fasta(iter_fasta(fasta, alphabet=alphabet, ambiguous=policy.ambiguous), out)
        return SequencesWritten(kind="fasta", n=n, fasta=Path(out))
    if reference is None or not regions:
        raise ConfigError("give a FASTA, or a reference with regions (and optionally a VCF)")
    if (samples or sample_sheet) and vcf is None:
        raise ConfigError("samples and sample sheets need a VCF")
    if distinct and vcf is None:
        raise ConfigError("distinct haplotypes need a VCF (without one every sample's sequence is the reference)")
    coords = Path(coords) if coords else sidecar_path(out)
    report = Path(report) if report else sidecar_path(out, ".report.json")
    windows = GapReport()
    with Reference(reference) as ref:
        region_list = read_regions(list(regions), contig_lengths=ref.contig_lengths)
        region_list = screen_regions(ref, region_list, policy=gaps, report=windows)
        bed = write_bed(region_list, sidecar_path(out, ".windows.bed"))
        if vcf is None:
            n = write_with_sidecar(reference_sequences(ref, region_list, ambiguous=policy.ambiguous), out, coords)
            write_json(report, {"sequences": n, "windows": windows.to_dict()})
            return SequencesWritten(kind="reference", n=n, fasta=Path(out), coords=coords, report=report,
                                    gaps=windows, windows=bed)
        chosen, match = choose_samples(vcf, samples=samples, sample_sheet=sample_sheet, id_column=id_column,
                                       allow_missing=allow_missing_samples)
        build = BuildReport()
        with VariantFile(vcf, samples=chosen) as vf:
            total = len(region_list) * len(vf.samples) * len(policy.haplotypes)
            records = build_haplotypes(ref, vf, region_list, policy=policy, report=build)
            bar = tqdm(records, total=total, unit="seq", desc="haplotypes",
                       disable=not (progress and sys.stderr.isatty()))
            rows: list[tuple[str, str, int]] = []
            n = write_with_sidecar(distinct_haplotypes(bar, rows) if distinct else iter(bar), out, coords)
    extra: dict = {}
    carriers_path = None
    if distinct:
        carriers_path = Path(carriers) if carriers else sidecar_path(out, ".carriers.tsv")
        write_carriers(rows, carriers_path)
        per_region: dict[str, int] = {}
        for name in dict.fromkeys(r[0] for r in rows):
            region = name.rsplit("|", 1)[0]
            per_region[region] = per_region.get(region, 0) + 1
        extra = {"distinct": {"haplotypes": len(rows), "sequences": n, "per_region": per_region,
                              "carriers": str(carriers_path)}}
    write_json(report, {"sequences": n, **build.to_dict(), "windows": windows.to_dict(), **extra})
    return SequencesWritten(kind="haplotypes", n=n, fasta=Path(out), coords=coords, report=report, build=build,
                            samples=match, gaps=windows, windows=bed, carriers=carriers_path,
                            n_haplotypes=len(rows) if distinct else None)


def write_variant_windows(
    out: PathLike,
    *,
    reference: PathLike,
    vcf: PathLike,
    regions: Sequence[str],
    width: int,
    include_filtered: bool = False,
    coords: PathLike | None = None,
) -> SequencesWritten:
    """Write reference and alternate windows centred on each variant allele (variant-effect input).

    Parameters
    ----------
    out
        Output FASTA with ``CONTIG:POS:REF>ALT|ref`` and ``...|alt`` records.
    reference
        Indexed reference FASTA.
    vcf
        Indexed VCF/BCF whose variants are centred.
    regions
        BED files or ``chr:start-end`` strings: variants starting inside them are used.
    width
        Window width in bases (the same for reference and alternate).
    include_filtered
        Also use records whose FILTER is not PASS.
    coords
        Coordinate-map TSV (default: beside ``out``).

    Returns
    -------
    SequencesWritten
        ``n`` counts records (two per variant allele); ``build`` holds the skipped-variant counts.
    """
    coords = Path(coords) if coords else sidecar_path(out)
    build = BuildReport()
    with Reference(reference) as ref, VariantFile(vcf, samples=[]) as vf:
        region_list = read_regions(list(regions), contig_lengths=ref.contig_lengths)
        pairs = variant_windows(ref, vf, region_list, width=width, include_filtered=include_filtered, report=build)
        n = write_with_sidecar((rec for pair in pairs for rec in pair), out, coords)
    return SequencesWritten(kind="windows", n=n, fasta=Path(out), coords=coords, build=build)


def split_fasta(fasta: PathLike, *, shards: int, out_dir: PathLike) -> list[Path]:
    """Split a FASTA (and its coordinate-map sidecar) into contiguous blocks of whole sequences.

    Always writes exactly ``shards`` non-empty files, so a workflow can name them in advance.

    Parameters
    ----------
    fasta
        FASTA to split; its ``.coords.tsv`` sidecar, if any, is split along.
    shards
        Number of shards (at least 1, at most the number of sequences).
    out_dir
        Folder for ``shard-000.fa`` ... and their ``.coords.tsv``.

    Returns
    -------
    list of Path
        The shard FASTAs, in order.
    """
    if shards < 1:
        raise ConfigError(f"shards must be >= 1, got {shards}")
    records = list(read_with_sidecar(fasta))
    if len(records) < shards:
        raise ConfigError(f"{fasta} has {len(records)} sequences, fewer than the {shards} shards asked for")
    folder = output_folder(out_dir)
    bounds = [round(i * len(records) / shards) for i in range(shards + 1)]
    paths = [folder / f"shard-{i:03d}.fa" for i in range(shards)]
    for i, path in enumerate(paths):
        write_with_sidecar(records[bounds[i] : bounds[i + 1]], path)
    return paths
