"""``genolens audit``: how much ancestry a linear probe can read from per-sample features or embeddings."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app


@app.command("audit")
def audit_command(
    features: Path = typer.Option(..., "--features", help="Samples x features (or embeddings) .h5ad."),
    labels: str = typer.Option(..., "--labels", help="obs column with the population label."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    pcs: int | None = typer.Option(None, "--pcs", help="Probe PC1..PCk from obs (default: all PC columns; 0: none)."),
    use_rep: str | None = typer.Option(None, "--use-rep", help="obsm key of an embedding to probe instead of X."),
    eigenvec: Path | None = typer.Option(None, "--eigenvec", help="PLINK .eigenvec: take the PCs from it."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds."),
    permutations: int = typer.Option(100, "--permutations", help="Permutations of the null."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the confidence intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, permutations and bootstrap."),
) -> None:
    """Cross-validated probe from features to population label and PCs, with permutation null and CIs."""
    # heavy imports here, not at module level: every genolens command loads this module
    from genolens.stats.audit import AuditConfig
    from genolens.tl import audit

    config = AuditConfig(n_folds=folds, n_permutations=permutations, n_bootstrap=bootstrap, seed=seed)
    result = audit(features, labels=labels, pcs=pcs, eigenvec=eigenvec, use_rep=use_rep,
                   config=config)
    result.write(out)
    for row in result.table.itertuples():
        typer.echo(
            f"{row.target} {row.metric}: {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] "
            f"(chance {row.chance:.3f}, permutation p {row.perm_pvalue:.3g})"
        )
