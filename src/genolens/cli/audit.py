"""``genolens audit``: how much ancestry a linear probe can read from per-sample features or embeddings."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import typer

from genolens import __version__
from genolens.cli.app import app
from genolens.cli.associate import output_dir
from genolens.errors import ConfigError

_PC_COLUMN = re.compile(r"^PC(\d+)$")


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
    from genolens.stats.aggregate import read_features
    from genolens.stats.associate import json_ready
    from genolens.stats.audit import AuditConfig, embedding_audit

    config = AuditConfig(n_folds=folds, n_permutations=permutations, n_bootstrap=bootstrap, seed=seed)
    adata = read_features(features)
    if eigenvec is not None:
        from genolens.stats.ancestry import attach_pcs, read_eigenvec

        adata.obs = attach_pcs(adata.obs, pcs=read_eigenvec(eigenvec), source=str(eigenvec))
    present = sorted((c for c in adata.obs.columns if _PC_COLUMN.match(str(c))), key=lambda c: int(str(c)[2:]))
    if pcs is None:
        pc_names = present
    else:
        if pcs < 0:
            raise ConfigError(f"--pcs must be >= 0, got {pcs}")
        pc_names = [f"PC{i + 1}" for i in range(pcs)]
        missing = [p for p in pc_names if p not in adata.obs.columns]
        if missing:
            raise ConfigError(f"--pcs {pcs} but obs lacks {missing[:5]}", path=features)
    result = embedding_audit(adata, labels=labels, pcs=pc_names, use_rep=use_rep, config=config)
    out = output_dir(out)
    result.table.to_csv(out / "audit.tsv", sep="\t", index=False, na_rep="NA")
    summary = {"genolens_version": __version__, **result.summary, "config": asdict(config), "pcs": pc_names}
    summary["results"] = result.table.to_dict(orient="records")
    (out / "audit.json").write_text(json.dumps(json_ready(summary), indent=2) + "\n")
    for row in result.table.itertuples():
        typer.echo(
            f"{row.target} {row.metric}: {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] "
            f"(chance {row.chance:.3f}, permutation p {row.perm_pvalue:.3g})"
        )
