"""``genolens ism``: saturation in-silico mutagenesis of a region."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import int_list


@app.command("ism")
def ism_command(
    model: str = typer.Option(..., "--model", help="DNA model short name, hub id or folder."),
    reference: Path = typer.Option(..., "--reference", help="Indexed reference FASTA."),
    region: str = typer.Option(..., "--region", help="chr:start-end (1-based inclusive) whose bases are mutated."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: ism.npz, ism.tsv, <target>.bedGraph, ism.png."),
    sae: Path | None = typer.Option(None, "--sae", help="SAE folder trained on this model (with --features)."),
    features: str = typer.Option("", "--features", help="SAE features whose change is measured, e.g. '3,17'."),
    flank: int = typer.Option(0, "--flank", help="Reference bases read on each side as context (not mutated)."),
    batch_tokens: int = typer.Option(8192, "--batch-tokens", help="Padded tokens per forward pass."),
    max_length: int = typer.Option(2000, "--max-length", help="Longest region accepted (3 x L forward passes)."),
    bigwig: bool = typer.Option(False, "--bigwig", help="Also write the tracks as bigWig (needs pyBigWig)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """All 3 x L substitutions of a region: zero-shot score and chosen SAE features, as matrix and tracks."""
    from genolens.interventions.ism import IsmConfig
    from genolens.tl import ism

    config = IsmConfig(flank=flank, batch_tokens=batch_tokens, max_length=max_length)
    result = ism(model, reference=reference, region=region, sae=sae, features=int_list(features, "--features"),
                 out=out, config=config, bigwig=bigwig, device=device, progress=not quiet)
    typer.echo(f"{result.meta['n_substitutions']} substitutions of {result.region.spec} ({result.method}; "
               f"targets {', '.join(result.effects)}) -> {out}", err=True)
