"""``genolens aggregate``: per-sample features (AnnData .h5ad) from an activation store."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app
from genolens.cli.options import comma_list


@app.command("aggregate")
def aggregate(
    store: Path = typer.Option(..., help="Activation store."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .h5ad (samples x features)."),
    sae: Path | None = typer.Option(None, help="SAE folder: aggregate its features (else raw layer activations)."),
    layer: int | None = typer.Option(None, help="Layer (default: the SAE's)."),
    sample_sheet: Path | None = typer.Option(None, help="CSV/TSV sample sheet: phenotypes and covariates -> obs."),
    id_column: str = typer.Option("sample", help="Sample ID column of the sheet."),
    stat: str = typer.Option("mean", help="mean, max, frac_active; comma list for several."),
    threshold: float = typer.Option(0.0, help="frac_active: activation above which a token counts as active."),
    haplotypes: str = typer.Option("mean", help="Combine a sample's haplotypes by mean or sum."),
    regions: Path | None = typer.Option(None, help="BED of named regions (e.g. genes) to aggregate over separately."),
    device: str = typer.Option("cpu", help="cpu | cuda (SAE encoding)."),
    allow_partial: bool = allow_partial_option(),
    carriers: Path | None = typer.Option(
        None, help="Carriers TSV of a store of distinct haplotypes (genolens sequences --distinct)."
    ),
) -> None:
    """One row per sample: each feature's mean / max / fraction active over the input or per region."""
    from genolens.tl import aggregate as aggregate_store

    adata = aggregate_store(
        store, sae=sae, layer=layer, sample_sheet=sample_sheet, id_column=id_column,
        statistics=comma_list(stat), threshold=threshold, haplotypes=haplotypes,
        regions=regions, device=device, allow_partial=allow_partial, carriers=carriers,
    )
    adata.write_h5ad(out)
    typer.echo(f"wrote {adata.n_obs} samples x {adata.n_vars} features to {out}", err=True)
