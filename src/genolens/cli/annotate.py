"""``genolens annotate``: interpret an SAE's features on a store (statistics, contexts, concepts, motifs)."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app
from genolens.cli.options import typed_list
from genolens.errors import ConfigError


def parse_contig_map(items: list[str]) -> dict[str, str]:
    """``["22=chr22"]`` -> {store contig: annotation contig}."""
    out = {}
    for item in items:
        store, sep, annot = item.partition("=")
        if not sep or not store or not annot:
            raise ConfigError(f"--contig-map expects STORE=ANNOTATION, e.g. 22=chr22, got {item!r}")
        out[store] = annot
    return out


@app.command("annotate")
def annotate_command(
    sae_path: Path = typer.Option(..., "--sae", help="SAE folder (cfg.json + sae_weights.safetensors)."),
    store_path: Path = typer.Option(..., "--store", help="Activation store folder."),
    out: Path = typer.Option(..., "--out", help="Output folder (the input of 'genolens dashboard')."),
    annotations: list[Path] = typer.Option(
        [], "--annotations", help="Concepts: BED, GFF3/GTF or per-residue TSV (repeatable)."
    ),
    sequences: Path | None = typer.Option(
        None, "--sequences",
        help="FASTA the store was embedded from (checked against it); needed only for stores older than format 0.3.0, "
        "which keep no bases.",
    ),
    layer: int | None = typer.Option(None, "--layer", help="Store layer (default: the SAE's, or the only one)."),
    jaspar: Path | None = typer.Option(None, "--jaspar", help="JASPAR matrices (default: bundled JASPAR 2024 CORE)."),
    no_motifs: bool = typer.Option(False, "--no-motifs", help="Skip motif comparison."),
    contig_map: list[str] = typer.Option([], "--contig-map", help="STORE=ANNOTATION contig names, e.g. 22=chr22."),
    top_n: int = typer.Option(20, "--top-n", help="Top activating contexts kept per feature."),
    flank: int = typer.Option(15, "--flank", help="Bases either side of the activating base in a context."),
    thresholds: str = typer.Option("0,0.15,0.3,0.5,0.6,0.8", "--thresholds", help="Fractions of each max."),
    recall: str = typer.Option("instance", "--recall", help="instance (InterPLM domain-level) or row."),
    min_test_instances: int = typer.Option(
        5, "--min-test-instances", help="A concept with fewer held-out instances is marked, not ranked."
    ),
    shuffles: int = typer.Option(
        100, "--shuffles", help="Column-shuffled PWMs in the motif null (a Gumbel fit to them gives the p-value)."
    ),
    max_motif_features: int = typer.Option(256, "--max-motif-features", help="Features compared with JASPAR."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out split and the motif null."),
    allow_partial: bool = allow_partial_option(),
) -> None:
    """Per-feature statistics, top contexts, concept alignment (held-out F1) and JASPAR matches -> OUT."""
    from genolens.features.annotate import AnnotateConfig
    from genolens.features.concepts import AlignmentConfig
    from genolens.features.motifs import MotifConfig
    from genolens.features.summary import SummaryConfig
    from genolens.tl import annotate

    config = AnnotateConfig(
        summary=SummaryConfig(top_n=top_n, separation=flank),
        alignment=AlignmentConfig(
            thresholds=tuple(typed_list(thresholds, float, "--thresholds")), recall=recall, seed=seed,
            min_test_instances=min_test_instances,
        ),
        motif=MotifConfig(flank=flank, n_shuffles=shuffles, seed=seed),
        max_motif_features=max_motif_features,
    )
    results = annotate(store_path, sae=sae_path, out=out, annotations=annotations, sequences=sequences, layer=layer,
                       jaspar=jaspar, motifs=not no_motifs, contig_map=parse_contig_map(contig_map), config=config,
                       allow_partial=allow_partial)
    typer.echo(f"annotated {len(results.features)} features on {results.meta['n_rows']:,} rows -> {out}", err=True)
