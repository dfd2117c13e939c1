"""``genolens erase``: LEACE erasure of a concept (population labels or PCs) from per-sample features."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list


@app.command("erase")
def erase_command(
    features: Path = typer.Option(..., "--features", help="Samples x features (or embeddings) .h5ad."),
    concept: str = typer.Option(..., "--concept", help="obs label column (e.g. super_pop), or PC columns: PC1,PC2."),
    out: Path = typer.Option(..., "--out", help="Output folder: eraser/, audit.tsv, phenotypes.tsv, summary.json."),
    phenotype: str | None = typer.Option(None, "--phenotype", help="obs columns to probe before and after."),
    use_rep: str | None = typer.Option(None, "--use-rep", help="obsm key of the features instead of X."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds of the audit and phenotype probes."),
    permutations: int = typer.Option(100, "--permutations", help="Permutations of the audit's null."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap resamples for the confidence intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, permutations and bootstrap."),
) -> None:
    """Fit a LEACE eraser, audit the concept before/after (permutation null), probe the phenotypes before/after."""
    from genolens.stats.audit import AuditConfig
    from genolens.stats.erase import EraseConfig
    from genolens.stats.probe import ProbeConfig
    from genolens.tl import erase_features

    config = EraseConfig(
        audit=AuditConfig(n_folds=folds, n_permutations=permutations, n_bootstrap=bootstrap, seed=seed),
        probe=ProbeConfig(n_folds=folds, n_bootstrap=bootstrap, seed=seed, l1_steps=0),
    )
    columns = comma_list(concept) or []
    result = erase_features(features, concept=columns[0] if len(columns) == 1 else columns,
                            phenotypes=comma_list(phenotype) or (), use_rep=use_rep, config=config, out=out)
    for row in result.audit.itertuples():
        typer.echo(f"{row.target} {row.metric} {row.stage}: {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] "
                   f"(null 95% [{row.null_low:.3f}, {row.null_high:.3f}], p {row.perm_pvalue:.3g})")
    for row in result.phenotypes.itertuples():
        typer.echo(f"{row.target} {row.metric} {row.representation}: {row.score:.3f} [{row.ci_low:.3f}, "
                   f"{row.ci_high:.3f}]")
