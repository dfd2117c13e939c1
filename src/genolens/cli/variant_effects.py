"""``genolens variant-effects``: zero-shot scores of variants and the SAE features they move."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app


@app.command("variant-effects")
def variant_effects_command(
    model: str = typer.Option(..., "--model", help="Model short name, hub id or folder (scored by its own LM head)."),
    reference: Path = typer.Option(..., "--reference", help="Indexed reference FASTA."),
    vcf: Path = typer.Option(..., "--vcf", help="Indexed VCF/BCF whose variants are scored."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (TSV, VCF, pages)."),
    regions: list[str] = typer.Option(
        [], "--regions", "-r", help="BED file or chr:start-end; repeatable (default: every contig)."
    ),
    sae: Path | None = typer.Option(None, "--sae", help="SAE folder trained on this model: the features moved."),
    labels: Path | None = typer.Option(
        None, "--labels", help="Annotation folder of the SAE (genolens annotate): labels, ranking scale, logos."
    ),
    width: int = typer.Option(128, "--width", help="Window width in bases (the allele at width // 2)."),
    layer: int | None = typer.Option(None, "--layer", help="Layer for distances (default: the SAE's, or the last)."),
    top: int = typer.Option(5, "--top", help="Features listed as gained and as lost per variant."),
    rank_by: str = typer.Option("window", "--rank-by", help="Rank features by the change of their maximum over the "
                                "bases within --span of the variant ('window') or at its own bases ('variant')."),
    span: int = typer.Option(4, "--span", help="Bases either side of the variant for --rank-by window (-1: the "
                             "whole window)."),
    min_change: float = typer.Option(1e-3, "--min-change", help="Changes of at most this are not listed "
                                     "(relative to the feature's max unless --raw)."),
    raw: bool = typer.Option(False, "--raw", help="Rank raw changes, not changes relative to each feature's max."),
    include_filtered: bool = typer.Option(False, "--include-filtered", help="Also score non-PASS records."),
    skip_mismatch: bool = typer.Option(
        False, "--skip-mismatch", help="Record a REF allele disagreeing with the reference as a skip (default: error)."
    ),
    batch_tokens: int = typer.Option(8192, "--batch-tokens", help="Padded tokens per forward pass."),
    max_pages: int = typer.Option(200, "--max-pages", help="Variant pages written (largest |score| first)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Score each variant allele (LLR or masked marginal), measure the embedding shift, find the features moved."""
    from genolens.interventions.variant_effects import VariantEffectsConfig
    from genolens.tl import variant_effects

    config = VariantEffectsConfig(
        width=width, layer=layer, top=top, batch_tokens=batch_tokens, include_filtered=include_filtered,
        on_mismatch="skip" if skip_mismatch else "error", rank_by=rank_by, relative=not raw,
        span=None if span == -1 else span, min_change=min_change,
    )
    result = variant_effects(model, reference=reference, vcf=vcf, regions=regions or None, sae=sae, labels=labels,
                             out=out, config=config, device=device, max_pages=max_pages, progress=not quiet)
    skipped = ", ".join(f"{k} {v}" for k, v in result.meta["skipped"].items()) or "none"
    methods = ", ".join(f"{k} {v}" for k, v in result.meta["methods"].items()) or "none"
    typer.echo(f"{len(result.table)} variant alleles scored ({methods}); skipped: {skipped} -> {out}", err=True)


@app.command("variants-behind")
def variants_behind_command(
    effects: Path = typer.Option(..., "--effects", help="variant-effects folder (with an SAE) of the region."),
    associations: Path = typer.Option(..., "--associations",
                                      help="associate, associate --cis or baseline output folder (same SAE)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output TSV: per significant feature, its top variants."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance cut."),
    column: str = typer.Option("qvalue", "--column", help="qvalue or pvalue (cis: qval or pval_beta)."),
    top: int = typer.Option(10, "--top", help="Variants listed per feature."),
    eqtl: Path = typer.Option(None, "--eqtl", help="baseline output folder: join its genotype cis-eQTL leads."),
    vcf: Path = typer.Option(None, "--vcf", help="The cohort's VCF, for the LD (r²) of each variant with the lead."),
    gene: str = typer.Option(None, "--gene", help="The gene an associate (not --cis) run was tested against."),
    regions: Path = typer.Option(None, "--regions", help="BED of the named regions the features were aggregated "
                                 "over: a per-region feature is ranked over the variants inside its region only."),
    rank_by: str = typer.Option("window", "--rank-by", help="window: change of the feature's maximum over the "
                                "variant's window; variant: at the variant's own bases."),
) -> None:
    """Variants behind a biomarker: rank the variants by how much they move each significant feature."""
    from genolens.tl import variants_behind

    table = variants_behind(effects, associations=associations, alpha=alpha, column=column, top=top, eqtl=eqtl,
                            vcf=vcf, gene=gene, regions=regions,
                            rank_by=rank_by)
    table.to_csv(out, sep="\t", index=False)
    typer.echo(f"{table['feature'].nunique()} significant features, {len(table)} rows -> {out}", err=True)
