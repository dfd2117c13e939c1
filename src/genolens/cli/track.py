"""``genolens track``: a layer unit or an SAE feature as per-base bedGraph/bigWig tracks over the reference."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app
from genolens.errors import ConfigError


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
    from genolens.features.source import StoreSource
    from genolens.features.tracks import (
        TrackConfig,
        check_contigs,
        feature_values,
        reference_tracks,
        select_sequences,
        unit_values,
        write_tracks,
    )
    from genolens.io.reference import contig_lengths

    if (unit is None) == (sae_path is None):
        raise ConfigError("say what to draw: --layer L --unit U, or --sae DIR --feature F (one of them)")
    if (sae_path is None) != (feature is None):
        raise ConfigError("--sae and --feature go together")
    if bigwig and reference is None:
        raise ConfigError("--bigwig needs --reference FASTA or FASTA.fai (the contig lengths)")
    config = TrackConfig(combine=combine)
    lengths = contig_lengths(reference) if reference is not None else None
    if sae_path is not None:
        from genolens.sae.checkpoint import check_compatible, load_sae
        from genolens.sae.config import Provenance

        sae = load_sae(sae_path)
        if layer is None and sae.cfg.provenance.layer >= 0:
            layer = sae.cfg.provenance.layer
        source = StoreSource(store_path, layer=layer, partial=allow_partial)
        check_compatible(sae, Provenance(model=source.model, layer=source.layer), what=f"store {store_path}")
        if int(sae.cfg.d_in) != source.hidden_size:
            raise ConfigError(
                f"the SAE reads {sae.cfg.d_in}-dimensional activations, the store holds {source.hidden_size}",
                path=store_path, hint="use the SAE trained on this model and layer",
            )
        values = feature_values(sae, feature=feature)
        name = f"{sae.cfg.name} feature {feature} (L{source.layer})"
    else:
        source = StoreSource(store_path, layer=layer, partial=allow_partial)
        values = unit_values(unit, hidden_size=source.hidden_size)
        name = f"L{source.layer} unit {unit}"
    select = select_sequences(source, ids=sequence_ids, samples=samples)
    result = reference_tracks(source, values=values, select=select, config=config)
    if lengths is not None:
        check_contigs(result, contig_lengths=lengths, path=reference)
    out.parent.mkdir(parents=True, exist_ok=True)
    description = f"{name}, {source.model}, {result.n_sequences} sequences, shared positions: {combine}"
    inputs = {"store": str(store_path), "store_complete": source.store.complete,
              "store_shards": source.store.n_shards, "layer": source.layer, "unit": unit, "sae": str(sae_path or ""),
              "feature": feature, "sequences": list(sequence_ids), "samples": list(samples),
              "reference": str(reference or "")}
    paths = write_tracks(result, prefix=out, name=name, description=description, contig_lengths=lengths,
                         bigwig=bigwig, inputs=inputs)
    typer.echo(
        f"{name}: {result.n_sequences} sequences, {result.n_positions:,} reference positions "
        f"({result.n_shared:,} covered by several sequences, up to {result.max_depth}, combined by {combine}) -> "
        + ", ".join(str(p) for p in paths),
        err=True,
    )
