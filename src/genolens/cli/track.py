"""``genolens track``: a layer unit or an SAE feature as per-base bedGraph/bigWig tracks over the reference."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app


@app.command("track")
def track_command(
    store_path: Path = typer.Option(..., "--store", help="Activation store (format 0.3.0 on: keeps base positions)."),
    out: Path = typer.Option(..., "--out", help="Output prefix: OUT.plus.bedGraph, OUT.minus.bedGraph, OUT.track.json"),
    layer: int | None = typer.Option(None, "--layer", help="Store layer (default: the SAE's, or the only one)."),
    unit: int | None = typer.Option(None, "--unit", help="Draw this unit (dimension) of the layer."),
    sae_path: Path | None = typer.Option(None, "--sae", help="SAE folder: draw one of its features (--feature)."),
    feature: int | None = typer.Option(None, "--feature", help="SAE feature to draw."),
    sequence_ids: list[str] = typer.Option([], "--sequence", help="Only this sequence ID (repeatable)."),
    samples: list[str] = typer.Option([], "--sample", help="Only this sample's sequences (repeatable)."),
    combine: str = typer.Option(
        "mean", "--combine",
        help="Where several sequences cover one reference position on a strand: mean, max, or first (in store order).",
    ),
    bigwig: bool = typer.Option(False, "--bigwig", help="Also write OUT.plus.bw / OUT.minus.bw (needs --reference)."),
    reference: Path | None = typer.Option(
        None, "--reference", help="Reference FASTA or its .fai: contig lengths for bigWig (and a check of the store)."
    ),
    allow_partial: bool = allow_partial_option(),
) -> None:
    """Per-base values of a unit or an SAE feature on the reference, one file per strand."""
    from genolens.tl import write_feature_track

    result, paths = write_feature_track(
        store_path, out=out, sae=sae_path, feature=feature, layer=layer, unit=unit, sequences=sequence_ids,
        samples=samples, combine=combine, reference=reference, bigwig=bigwig, allow_partial=allow_partial,
    )
    typer.echo(
        f"{result.name}: {result.n_sequences} sequences, {result.n_positions:,} reference positions "
        f"({result.n_shared:,} covered by several sequences, up to {result.max_depth}, combined by {combine}) -> "
        + ", ".join(str(p) for p in paths),
        err=True,
    )
