"""``genolens sequences`` and ``genolens windows``: build the sequences a model will read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from tqdm import tqdm

from genolens.cli.app import app
from genolens.errors import ConfigError
from genolens.io.coordtable import read_with_sidecar, sidecar_path, write_with_sidecar
from genolens.io.fasta import iter_fasta, write_fasta
from genolens.io.files import atomic_write
from genolens.io.haplotypes import BuildReport, HaplotypePolicy, build_haplotypes, reference_sequences
from genolens.io.reference import Reference
from genolens.io.regions import read_regions
from genolens.io.samplesheet import match_samples, read_sample_sheet
from genolens.io.vcf import VariantFile, vcf_samples
from genolens.io.windows import variant_windows


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{option} takes comma-separated integers, got {text!r}") from None


@app.command("sequences")
def sequences(
    out: Path = typer.Option(..., "--out", "-o", help="Output FASTA (.gz to compress)."),
    fasta: Path | None = typer.Option(None, help="Input FASTA/FASTA.gz (instead of reference + regions)."),
    reference: Path | None = typer.Option(None, help="Indexed reference FASTA (.fai; bgzip needs .gzi)."),
    regions: list[str] = typer.Option(
        None, "--regions", "-r", help="BED file or chr:start-end (1-based, inclusive); repeatable."
    ),
    vcf: Path | None = typer.Option(None, help="Indexed VCF/BCF: build personal haplotypes."),
    samples: str | None = typer.Option(None, help="Comma-separated sample IDs (default: all in the VCF)."),
    sample_sheet: Path | None = typer.Option(None, help="CSV/TSV sample sheet; its samples are built."),
    id_column: str = typer.Option("sample", help="Sample ID column of the sample sheet."),
    allow_missing_samples: bool = typer.Option(
        False, help="Continue when sample-sheet samples are absent from the VCF (they are listed)."
    ),
    haplotypes: str = typer.Option("1,2", help="Haplotypes to build, 1-based."),
    include_filtered: bool = typer.Option(False, help="Also apply records whose FILTER is not PASS."),
    missing: str = typer.Option("ref", help="Missing genotype: ref | n | error."),
    unphased: str = typer.Option("error", help="Unphased heterozygous genotype: error | as-listed."),
    symbolic: str = typer.Option("skip", help="Symbolic alleles (<DEL>, ...): skip | error."),
    ambiguous: str = typer.Option("n", help="IUPAC ambiguity codes: n (turn into N/X) | reject."),
    alphabet: str = typer.Option("auto", help="For --fasta: auto | dna | protein."),
    coords: Path | None = typer.Option(None, help="Coordinate-map TSV (default: beside --out)."),
    report: Path | None = typer.Option(None, help="JSON report of applied/skipped variants (default: beside --out)."),
    progress: bool = typer.Option(True, help="Show a progress bar (on a terminal)."),
) -> None:
    """Write sequences from a FASTA, or from a reference + regions (+ VCF for personal haplotypes).

    Personal haplotypes come with a coordinate-map table (BED-like blocks) that
    maps every output base back to the reference across indels.
    """
    _choice(ambiguous, ("n", "reject"), "--ambiguous")
    if fasta is not None:
        if reference or vcf or regions:
            raise ConfigError("--fasta cannot be combined with --reference/--vcf/--regions")
        _choice(alphabet, ("auto", "dna", "protein"), "--alphabet")
        n = write_fasta(iter_fasta(fasta, alphabet=alphabet, ambiguous=ambiguous), out)  # type: ignore[arg-type]
        typer.echo(f"wrote {n} sequences to {out}", err=True)
        return
    if reference is None or not regions:
        raise ConfigError("give --fasta, or --reference with --regions (and optionally --vcf)")
    if (samples or sample_sheet) and vcf is None:
        raise ConfigError("--samples/--sample-sheet need --vcf")
    policy = HaplotypePolicy(
        haplotypes=_int_list(haplotypes, "--haplotypes"),
        include_filtered=include_filtered,
        missing=_choice(missing, ("ref", "n", "error"), "--missing"),  # type: ignore[arg-type]
        unphased=_choice(unphased, ("error", "as-listed"), "--unphased"),  # type: ignore[arg-type]
        symbolic=_choice(symbolic, ("skip", "error"), "--symbolic"),  # type: ignore[arg-type]
        ambiguous=ambiguous,  # type: ignore[arg-type]
    )
    coords = coords or sidecar_path(out)
    report = report or sidecar_path(out, ".report.json")
    build_report = BuildReport()
    with Reference(reference) as ref:
        region_list = read_regions(regions, contig_lengths=ref.contig_lengths)
        if vcf is None:
            n = write_with_sidecar(reference_sequences(ref, region_list, ambiguous=ambiguous), out, coords)  # type: ignore[arg-type]
            typer.echo(f"wrote {n} reference sequences to {out}, coordinate map to {coords}", err=True)
            return
        chosen = _choose_samples(vcf, samples, sample_sheet, id_column, allow_missing_samples)
        with VariantFile(vcf, samples=chosen) as vf:
            total = len(region_list) * len(vf.samples) * len(policy.haplotypes)
            records = build_haplotypes(ref, vf, region_list, policy=policy, report=build_report)
            bar = tqdm(records, total=total, unit="seq", desc="haplotypes",
                       disable=not (progress and sys.stderr.isatty()))
            n = write_with_sidecar(iter(bar), out, coords)
    with atomic_write(report) as fh:
        json.dump({"sequences": n, **build_report.to_dict()}, fh, indent=2)
    typer.echo(f"wrote {n} haplotype sequences to {out}; coordinate map {coords}; report {report}", err=True)
    typer.echo(f"variants: {build_report.summary()}", err=True)


def _choose_samples(
    vcf: Path, samples: str | None, sample_sheet: Path | None, id_column: str, allow_missing: bool
) -> list[str] | None:
    if samples and sample_sheet:
        raise ConfigError("give --samples or --sample-sheet, not both")
    if samples:
        return [s.strip() for s in samples.split(",") if s.strip()]
    if sample_sheet is None:
        return None
    sheet = read_sample_sheet(sample_sheet, id_column=id_column)
    match = match_samples(
        sheet, vcf_samples(vcf), on_missing="warn" if allow_missing else "error", sheet_path=str(sample_sheet)
    )
    typer.echo(f"samples: {match.summary()}", err=True)
    if match.only_in_sheet:
        typer.echo(f"warning: not in the VCF, not built: {', '.join(match.only_in_sheet)}", err=True)
    return match.common


@app.command("windows")
def windows(
    reference: Path = typer.Option(..., help="Indexed reference FASTA."),
    vcf: Path = typer.Option(..., help="Indexed VCF/BCF whose variants are centred."),
    regions: list[str] = typer.Option(..., "--regions", "-r", help="BED file or chr:start-end; repeatable."),
    width: int = typer.Option(..., help="Window width in bases (same for reference and alternate)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output FASTA with ...|ref and ...|alt records."),
    include_filtered: bool = typer.Option(False, help="Also use records whose FILTER is not PASS."),
    coords: Path | None = typer.Option(None, help="Coordinate-map TSV (default: beside --out)."),
) -> None:
    """Write reference and alternate windows centred on each variant (variant-effect input)."""
    coords = coords or sidecar_path(out)
    build_report = BuildReport()
    with Reference(reference) as ref, VariantFile(vcf, samples=[]) as vf:
        region_list = read_regions(regions, contig_lengths=ref.contig_lengths)
        pairs = variant_windows(
            ref, vf, region_list, width=width, include_filtered=include_filtered, report=build_report
        )
        n = write_with_sidecar((rec for pair in pairs for rec in pair), out, coords)
    typer.echo(f"wrote {n // 2} window pairs to {out}; {build_report.summary()}", err=True)


@app.command("split-fasta")
def split_fasta(
    fasta: Path = typer.Option(..., "--in", help="FASTA to split (its .coords.tsv sidecar is split along)."),
    shards: int = typer.Option(..., help="Number of shards."),
    out_dir: Path = typer.Option(..., "--out-dir", help="Folder for shard-000.fa ... (and their .coords.tsv)."),
) -> None:
    """Split a FASTA into contiguous blocks of whole sequences, for scattering work over machines.

    Always writes exactly ``--shards`` non-empty files, so workflows can name them in advance;
    fewer sequences than shards is an error.
    """
    if shards < 1:
        raise ConfigError(f"--shards must be >= 1, got {shards}")
    records = list(read_with_sidecar(fasta))
    if len(records) < shards:
        raise ConfigError(f"{fasta} has {len(records)} sequences, fewer than --shards {shards}")
    bounds = [round(i * len(records) / shards) for i in range(shards + 1)]
    for i in range(shards):
        write_with_sidecar(records[bounds[i] : bounds[i + 1]], out_dir / f"shard-{i:03d}.fa")
    typer.echo(f"split {len(records)} sequences of {fasta} into {shards} shards in {out_dir}", err=True)
