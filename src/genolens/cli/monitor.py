"""``genolens monitor``: probes beside the model at inference (early exit, no activations stored)."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app


@app.command("monitor")
def monitor_command(
    model: str = typer.Option(..., "--model", help="Short name, hub id or checkpoint folder."),
    probe: list[Path] = typer.Option(..., "--probe", help="Probe folder (repeat for several)."),
    fasta: Path = typer.Option(..., "--input", help="FASTA of the sequences to score."),
    out: Path = typer.Option(..., "--out", help="Scores TSV (spans TSV and bedGraph tracks beside it)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    batch_tokens: int = typer.Option(8192, "--batch-tokens", help="Padded tokens per forward pass."),
    erase: list[Path] = typer.Option(
        [], "--erase", help="Per-token eraser folder (genolens erase --store) applied before the probes read."
    ),
    sae: Path = typer.Option(None, "--sae", help="SAE folder that SAE-feature probes read (default: the one each "
                             "probe records; another SAE than the probe's is refused)."),
) -> None:
    """Score sequences with probes while the model runs up to the probes' layer; write scores and flagged spans."""
    from genolens.probes.monitor import monitor

    result = monitor(model, probes=probe, fasta=fasta, out=out, device=device, batch_tokens=batch_tokens,
                     erasers=erase, sae=sae)
    typer.echo(f"{result.scores['id'].nunique()} sequences scored by {len(probe)} probe(s); "
               f"{len(result.spans)} flagged span(s) -> {out}")
