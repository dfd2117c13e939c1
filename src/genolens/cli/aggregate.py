"""``genolens aggregate``: per-sample features (AnnData .h5ad) from an activation store."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app
from genolens.errors import ConfigError


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
) -> None:
    """One row per sample: each feature's mean / max / fraction active over the input or per region."""
    from genolens.io.regions import read_bed
    from genolens.io.samplesheet import read_sample_sheet
    from genolens.sae.checkpoint import load_sae
    from genolens.stats.aggregate import AggregationConfig, write_features
    from genolens.stats.store_features import store_features
    from genolens.store.reader import ActivationStore

    config = AggregationConfig(
        statistics=tuple(s.strip() for s in stat.split(",") if s.strip()), threshold=threshold, haplotypes=haplotypes
    )
    sheet = read_sample_sheet(sample_sheet, id_column=id_column) if sample_sheet else None
    region_map = None
    if regions is not None:
        region_map = {}
        for r in read_bed(regions):
            if r.label in region_map:
                raise ConfigError(f"region name {r.label!r} appears twice in {regions}")
            region_map[r.label] = (r.start, r.end)
    model = load_sae(sae, device=device) if sae else None
    adata = store_features(ActivationStore(store, partial=allow_partial), layer=layer, sae=model, sample_sheet=sheet,
                           regions=region_map, config=config)
    write_features(adata, path=out)
    typer.echo(f"wrote {adata.n_obs} samples x {adata.n_vars} features to {out}", err=True)
