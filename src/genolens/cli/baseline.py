"""``genolens baseline``: model features against cis genotypes in predicting each gene's expression."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list


@app.command("baseline")
def baseline_command(
    features: Path = typer.Option(..., "--features", help="Samples x features .h5ad with var['region']."),
    phenotypes: Path = typer.Option(..., "--phenotypes", help="Phenotype BED (#chr start end gene_id samples...)."),
    vcf: Path = typer.Option(..., "--vcf", help="Genotypes: cis variants are the baseline (and PCs if needed)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    covariates: str = typer.Option("", "--covariates", help="Comma-separated obs columns."),
    pcs: int = typer.Option(10, "--pcs", help="Ancestry PCs (obs PC1..PCk, --eigenvec, or from --vcf)."),
    eigenvec: Path | None = typer.Option(None, "--eigenvec", help="PLINK .eigenvec file with the PCs."),
    no_ancestry: bool = typer.Option(False, "--no-ancestry", help="Run without any ancestry terms (on purpose)."),
    window: int | None = typer.Option(
        None, "--cis-window", help="Features of regions within this many bp of the TSS (default: by name)."
    ),
    mapping: Path | None = typer.Option(None, "--cis-map", help="TSV gene_id<TAB>region for other region names."),
    genotype_window: int = typer.Option(1_000_000, "--genotype-window", help="Bp either side of the TSS."),
    genotype_regions: bool = typer.Option(
        False, "--genotype-regions",
        help="Cis variants: those inside the gene's own feature regions (the bases the model read), not a window.",
    ),
    min_maf: float = typer.Option(0.01, "--maf", help="Minimum minor-allele frequency of the cis variants."),
    permutations: int = typer.Option(1000, "--permutations", help="Permutations of the genotype eQTL scan."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds (identical for both predictors)."),
    layer: str | None = typer.Option(None, "--layer", help="Use this AnnData layer instead of X."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and permutations."),
) -> None:
    """Per gene, cross-validated R² of expression from model features vs from cis genotypes, plus a cis-eQTL scan."""
    from genolens.stats.baseline import BaselineConfig
    from genolens.tl import baseline

    result = baseline(
        features, phenotypes=phenotypes, vcf=vcf,
        covariates=tuple(comma_list(covariates) or ()), n_pcs=pcs, eigenvec=eigenvec,
        no_ancestry=no_ancestry, window=window, mapping=mapping, genotype_window=genotype_window,
        genotype_regions=genotype_regions, min_maf=min_maf,
        n_permutations=permutations, config=BaselineConfig(folds=folds, seed=seed), layer=layer,
    )
    folder = result.write(out)
    s = result.summary
    typer.echo(f"compared {s['n_genes_compared']} genes on {s['n_samples_used']} samples "
               f"({s['n_variants']} variants); median R² features {s['median_r2_features']:.3f}, "
               f"genotypes {s['median_r2_genotypes']:.3f}; {s['verdict_counts']}; wrote {folder}")
