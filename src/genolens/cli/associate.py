"""``genolens associate``: feature-phenotype tests with ancestry adjustment and confound diagnostics."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list


@app.command("associate")
def associate_command(
    features: Path = typer.Option(..., "--features", help="Samples x features .h5ad (obs holds phenotypes)."),
    phenotype: str | None = typer.Option(None, "--phenotype", help="obs column to test (not with --cis)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    binary: bool = typer.Option(False, "--binary", help="Binary 0/1 phenotype: logistic regression (+ Firth)."),
    covariates: str = typer.Option("", "--covariates", help="Comma-separated obs columns, e.g. age,sex."),
    pcs: int = typer.Option(10, "--pcs", help="Number of ancestry PCs (from obs PC1..PCk, --eigenvec or --vcf)."),
    eigenvec: Path | None = typer.Option(None, "--eigenvec", help="PLINK .eigenvec file with the PCs."),
    vcf: Path | None = typer.Option(None, "--vcf", help="VCF to compute PCs from, for the samples in --features."),
    panel: Path | None = typer.Option(None, "--panel", help="Population panel TSV (sample, pop, super_pop, ...)."),
    stratify: str | None = typer.Option(None, "--stratify", help="obs/panel column: per-population tests."),
    population: str | None = typer.Option(
        None, "--population", help="Column for population R^2 (default: --stratify)."
    ),
    no_ancestry: bool = typer.Option(False, "--no-ancestry", help="Run without any ancestry terms (on purpose)."),
    allow_collinear: bool = typer.Option(False, "--allow-collinear", help="Fit even if covariates are collinear."),
    alpha: float = typer.Option(0.05, "--alpha", help="q-value threshold of the categories."),
    change_test: str = typer.Option(
        "sandwich", "--change-test",
        help="Test of the change in effect when the PCs are added: sandwich (regressors random) or clogg "
        "(Clogg et al. 1995, conditional on the design; least squares only).",
    ),
    level: float = typer.Option(0.95, "--level", help="Confidence level of the fraction of effect explained."),
    min_fraction: float = typer.Option(
        0.5, "--min-fraction",
        help="ancestry_confounded needs the fraction of the effect ancestry explains to be at least this "
        "(its estimate).",
    ),
    min_fraction_low: float = typer.Option(
        0.25, "--min-fraction-low",
        help="... and the lower bound of that fraction's confidence interval to be at least this.",
    ),
    vif: float = typer.Option(50.0, "--vif", help="Maximum variance inflation factor (PLINK 2 default 50)."),
    max_corr: float = typer.Option(0.999, "--max-corr", help="Maximum |correlation| between predictors."),
    maf: float = typer.Option(0.05, "--maf", help="--vcf: minor allele frequency filter."),
    ld_r2: float = typer.Option(0.2, "--ld-r2", help="--vcf: LD thinning r^2 threshold."),
    layer: str | None = typer.Option(None, "--layer", help="Use this AnnData layer instead of X."),
    seed: int = typer.Option(0, "--seed", help="Seed (randomized PCA; --cis permutations)."),
    cis: Path | None = typer.Option(
        None, "--cis",
        help="Phenotype BED (#chr start end gene_id samples...): test each gene against its own regions' features.",
    ),
    cis_window: int | None = typer.Option(
        None, "--cis-window", help="--cis: features of regions within this many bp of the TSS (default: by name)."
    ),
    cis_map: Path | None = typer.Option(
        None, "--cis-map", help="--cis: TSV of gene_id<TAB>region for regions not named by the gene's ID."
    ),
    permutations: int = typer.Option(1000, "--permutations", help="--cis: permutations per gene (beta approx)."),
    per_sd: bool = typer.Option(
        False, "--per-sd", help="--cis: effects per SD of the feature (model features); default per unit (tensorQTL)."
    ),
) -> None:
    """Test every feature against a phenotype, with and without ancestry PCs; write table, plots, JSON.

    With --cis, map each gene of a phenotype BED against the features of its own window(s) instead
    (tensorQTL's map_cis: permutations, beta-approximated p-values, q-values across genes).
    """
    # heavy imports here, not at module level: every genolens command loads this module
    from genolens.cohort.ancestry import PCAConfig
    from genolens.errors import ConfigError
    from genolens.stats.confound import ConfoundThresholds
    from genolens.stats.design import CollinearityThresholds
    from genolens.tl import associate
    from genolens.tl import cis as cis_scan

    confound = ConfoundThresholds(alpha=alpha, level=level, change_test=change_test, min_fraction=min_fraction,
                                 min_fraction_low=min_fraction_low)
    if (cis is None) == (phenotype is None):
        raise ConfigError("give --phenotype (one phenotype, every feature) or --cis (a phenotype BED), not both")
    if cis is not None:
        result = cis_scan(
            features, phenotypes=cis, covariates=tuple(comma_list(covariates) or ()), n_pcs=pcs, eigenvec=eigenvec,
            vcf=vcf, pca=PCAConfig(n_pcs=max(pcs, 1), maf=maf, ld_r2=ld_r2, seed=seed), no_ancestry=no_ancestry,
            window=cis_window, mapping=cis_map, n_permutations=permutations, seed=seed, confound=confound,
            layer=layer, per_sd=per_sd,
        )
        out = result.write(out)
        s = result.summary
        typer.echo(f"mapped {s['n_phenotypes_mapped']}/{s['n_phenotypes']} genes on {s['n_samples_used']} samples; "
                   f"{s['n_significant']} with q < {alpha}; categories {s['category_counts']}; wrote {out}")
        return
    result = associate(
        features,
        phenotype=phenotype,
        covariates=tuple(comma_list(covariates) or ()),
        n_pcs=pcs,
        eigenvec=eigenvec,
        vcf=vcf,
        pca=PCAConfig(n_pcs=max(pcs, 1), maf=maf, ld_r2=ld_r2, seed=seed),
        panel=panel,
        binary=binary,
        stratify=stratify,
        population=population,
        no_ancestry=no_ancestry,
        allow_collinear=allow_collinear,
        collinearity=CollinearityThresholds(vif=vif, max_corr=max_corr),
        confound=confound,
        layer=layer,
    )
    out = result.write(out)
    summary = result.summary
    counts = summary["category_counts"]
    typer.echo(
        f"tested {summary['n_features_tested']}/{summary['n_features']} features "
        f"on {summary['n_samples_used']} samples "
        f"({summary['n_samples_dropped_missing']} dropped for missing values); "
        f"lambda GC {summary['lambda_gc']:.3f} with ancestry, {summary['lambda_gc_unadjusted']:.3f} without; "
        f"categories {counts}; wrote {out}"
    )
