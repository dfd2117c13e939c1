"""``genolens erase``: LEACE erasure of a concept (population labels or PCs) from per-sample features."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list


@app.command("erase")
def erase_command(
    features: Path | None = typer.Option(None, "--features", help="Samples x features (or embeddings) .h5ad."),
    concept: str = typer.Option(..., "--concept", help="obs label column (e.g. super_pop), or PC columns: PC1,PC2."),
    store: Path | None = typer.Option(
        None, "--store", help="Instead of --features: erase from a store layer's tokens (labels from --labels)."),
    labels: Path | None = typer.Option(
        None, "--labels", help="With --store: table keyed by sequence ID, or an annotation (BED/GFF/GTF)."),
    layer: int | None = typer.Option(None, "--layer", help="With --store: the layer (default the only one)."),
    erased_store: Path | None = typer.Option(None, "--erased-store", help="With --store: write the erased store."),
    group_by: str | None = typer.Option(None, "--group-by", help="With --store: what stays in one fold."),
    out: Path = typer.Option(..., "--out", help="Output folder: eraser/, audit.tsv, phenotypes.tsv, summary.json."),
    phenotype: str | None = typer.Option(None, "--phenotype", help="obs columns to probe before and after."),
    use_rep: str | None = typer.Option(None, "--use-rep", help="obsm key of the features instead of X."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds of the audit and phenotype probes."),
    permutations: int = typer.Option(100, "--permutations", help="Permutations of the audit's null."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap resamples for the confidence intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, permutations and bootstrap."),
) -> None:
    """Fit a LEACE eraser, audit the concept before/after (permutation null), probe the phenotypes before/after."""
    from genolens.probes.erase import EraseConfig
    from genolens.probes.probe import ProbeConfig
    from genolens.stats.audit import AuditConfig
    from genolens.tl import erase_features

    if store is not None:
        from genolens.errors import ConfigError
        from genolens.probes.erase_store import erase_store

        if labels is None or features is not None:
            raise ConfigError("--store takes --labels (and no --features)")
        res = erase_store(store, labels=labels, concept=concept, retain=comma_list(phenotype) or (), layer=layer,
                          out_store=erased_store, group_by=group_by, config=ProbeConfig(
                              n_folds=folds, n_bootstrap=bootstrap, seed=seed, l1_steps=0))
        res.write(out)
        for row in res.audit[res.audit.metric == "auroc"].itertuples():
            typer.echo(f"{row.target} auroc {row.representation}: {row.score:.3f} [{row.ci_low:.3f}, "
                       f"{row.ci_high:.3f}]")
        return
    if features is None:
        from genolens.errors import ConfigError

        raise ConfigError("give --features (per-sample) or --store with --labels (per token)")
    config = EraseConfig(
        audit=AuditConfig(n_folds=folds, n_permutations=permutations, n_bootstrap=bootstrap, seed=seed),
        probe=ProbeConfig(n_folds=folds, n_bootstrap=bootstrap, seed=seed, l1_steps=0),
    )
    columns = comma_list(concept) or []
    result = erase_features(features, concept=columns[0] if len(columns) == 1 else columns,
                            phenotypes=comma_list(phenotype) or (), use_rep=use_rep, config=config, out=out)
    verdict = {"below": "BELOW its null: still readable, with its sign flipped", "within": "within its null",
               "above": "above its null: still readable"}
    for row in result.audit.itertuples():
        typer.echo(f"{row.target} {row.metric} {row.stage}: {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] "
                   f"(null 95% [{row.null_low:.3f}, {row.null_high:.3f}], one-sided p {row.perm_pvalue:.3g}; "
                   f"{verdict[row.versus_null]})")
    typer.echo(f"written: {result.summary['written']}; audit: {result.summary['audit_erasure']}")
    for row in result.phenotypes.itertuples():
        typer.echo(f"{row.target} {row.metric} {row.representation}: {row.score:.3f} [{row.ci_low:.3f}, "
                   f"{row.ci_high:.3f}]")
