"""``genolens sequences``, ``windows`` and ``split-fasta``: build the sequences a model will read.

Each command parses its options and calls one function of :mod:`genolens.io.sequences`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list, int_list
from genolens.io.gaps import GapPolicy
from genolens.io.haplotypes import HaplotypePolicy
from genolens.io.sequences import SequencesWritten, split_fasta, write_sequences, write_variant_windows


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
    n_policy: str = typer.Option(
        "error", help="Windows whose reference holds N: error | skip | trim (to the longest N-free stretch) | keep."
    ),
    max_n_fraction: float = typer.Option(0.0, help="Windows with at most this fraction of N are used as they are."),
    n_min_length: int = typer.Option(100, help="With --n-policy trim: skip a window whose N-free stretch is shorter."),
    alphabet: str = typer.Option("auto", help="For --fasta: auto | dna | protein."),
    coords: Path | None = typer.Option(None, help="Coordinate-map TSV (default: beside --out)."),
    report: Path | None = typer.Option(
        None, help="JSON report of windows (N policy) and applied/skipped variants (default: beside --out)."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar (on a terminal)."),
    distinct: bool = typer.Option(
        False, help="Write each distinct haplotype of a region once (REGION|hK) and a carriers table of who has it."
    ),
    carriers: Path | None = typer.Option(None, help="With --distinct: carriers TSV (default: beside --out)."),
) -> None:
    """Write sequences from a FASTA, or from a reference + regions (+ VCF for personal haplotypes).

    Personal haplotypes come with a coordinate-map table (BED-like blocks) that
    maps every output base back to the reference across indels. Windows whose reference holds N
    are an error unless --n-policy says to skip, trim or keep them; the report counts each.
    """
    policy = HaplotypePolicy(
        haplotypes=int_list(haplotypes, "--haplotypes"), include_filtered=include_filtered,
        missing=missing, unphased=unphased, symbolic=symbolic, ambiguous=ambiguous,  # type: ignore[arg-type]
    )
    written = write_sequences(
        out, fasta=fasta, reference=reference, regions=regions, vcf=vcf, samples=comma_list(samples),
        sample_sheet=sample_sheet, id_column=id_column, allow_missing_samples=allow_missing_samples,
        policy=policy, alphabet=alphabet, coords=coords, report=report, progress=progress,  # type: ignore[arg-type]
        distinct=distinct, carriers=carriers,
        gaps=GapPolicy(action=n_policy, max_n_fraction=max_n_fraction, min_length=n_min_length),  # type: ignore[arg-type]
    )
    _echo_written(written)


def _echo_written(written: SequencesWritten) -> None:
    if written.samples is not None:
        typer.echo(f"samples: {written.samples.summary()}", err=True)
        if written.samples.only_in_sheet:
            typer.echo(f"warning: not in the VCF, not built: {', '.join(written.samples.only_in_sheet)}", err=True)
    if written.gaps is not None:
        typer.echo(f"windows: {written.gaps.summary()}", err=True)
    if written.kind == "fasta":
        typer.echo(f"wrote {written.n} sequences to {written.fasta}", err=True)
    elif written.kind == "reference":
        typer.echo(f"wrote {written.n} reference sequences to {written.fasta}, coordinate map to {written.coords}",
                   err=True)
    elif written.kind == "windows":
        typer.echo(f"wrote {written.n // 2} window pairs to {written.fasta}; {written.build.summary()}", err=True)
    else:
        what = (f"{written.n} distinct sequences of {written.n_haplotypes} haplotypes" if written.carriers
                else f"{written.n} haplotype sequences")
        typer.echo(f"wrote {what} to {written.fasta}; coordinate map {written.coords}; report {written.report}"
                   + (f"; carriers {written.carriers}" if written.carriers else ""), err=True)
        typer.echo(f"variants: {written.build.summary()}", err=True)


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
    written = write_variant_windows(out, reference=reference, vcf=vcf, regions=regions, width=width,
                                    include_filtered=include_filtered, coords=coords)
    _echo_written(written)


@app.command("split-fasta")
def split(
    fasta: Path = typer.Option(..., "--in", help="FASTA to split (its .coords.tsv sidecar is split along)."),
    shards: int = typer.Option(..., help="Number of shards."),
    out_dir: Path = typer.Option(..., "--out-dir", help="Folder for shard-000.fa ... (and their .coords.tsv)."),
) -> None:
    """Split a FASTA into contiguous blocks of whole sequences, for scattering work over machines.

    Always writes exactly ``--shards`` non-empty files, so workflows can name them in advance;
    fewer sequences than shards is an error.
    """
    paths = split_fasta(fasta, shards=shards, out_dir=out_dir)
    typer.echo(f"split {fasta} into {len(paths)} shards in {out_dir}", err=True)
