"""``genolens associate``: feature-phenotype tests with ancestry adjustment and confound diagnostics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from genolens import __version__
from genolens.cli.app import app
from genolens.errors import ConfigError, InputFileError, SampleMismatchError

_PC_COLUMN = re.compile(r"^PC(\d+)$")


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def output_dir(path: Path) -> Path:
    """Create the output folder (parents too); a file in its place is an error."""
    if path.exists() and not path.is_dir():
        raise InputFileError("output path exists and is not a folder", path=path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@app.command("associate")
def associate_command(
    features: Path = typer.Option(..., "--features", help="Samples x features .h5ad (obs holds phenotypes)."),
    phenotype: str = typer.Option(..., "--phenotype", help="obs column to test."),
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
    ancestry_r2_low: float = typer.Option(0.1, "--ancestry-r2-low", help="Below: little ancestry signal."),
    ancestry_r2_high: float = typer.Option(0.5, "--ancestry-r2-high", help="At or above: mostly ancestry."),
    vif: float = typer.Option(50.0, "--vif", help="Maximum variance inflation factor (PLINK 2 default 50)."),
    max_corr: float = typer.Option(0.999, "--max-corr", help="Maximum |correlation| between predictors."),
    maf: float = typer.Option(0.05, "--maf", help="--vcf: minor allele frequency filter."),
    ld_r2: float = typer.Option(0.2, "--ld-r2", help="--vcf: LD thinning r^2 threshold."),
    layer: str | None = typer.Option(None, "--layer", help="Use this AnnData layer instead of X."),
    seed: int = typer.Option(0, "--seed", help="Seed (randomized PCA)."),
) -> None:
    """Test every feature against a phenotype, with and without ancestry PCs; write table, plots, JSON."""
    # heavy imports here, not at module level: every genolens command loads this module
    import pandas as pd

    from genolens.stats.aggregate import read_features
    from genolens.stats.ancestry import PCAConfig, attach_pcs, read_eigenvec, read_panel, vcf_pcs
    from genolens.stats.associate import TABLE_COLUMNS, AssociationConfig, associate, json_ready
    from genolens.stats.confound import ConfoundThresholds
    from genolens.stats.design import CollinearityThresholds
    from genolens.stats.plots import qq_plot, volcano_plot
    from genolens.stats.stratified import stratified_associations

    if eigenvec is not None and vcf is not None:
        raise ConfigError("give either --eigenvec or --vcf, not both")
    if no_ancestry and (eigenvec is not None or vcf is not None):
        raise ConfigError("--no-ancestry contradicts --eigenvec/--vcf")
    if pcs < 0:
        raise ConfigError(f"--pcs must be >= 0, got {pcs}")
    adata = read_features(features)
    obs = adata.obs.copy()
    if panel is not None:
        table = read_panel(panel)
        absent = [s for s in obs.index if s not in table.index]
        if absent:
            raise SampleMismatchError(
                f"{len(absent)} of {len(obs)} samples are not in the panel: " + ", ".join(map(str, absent[:10])),
                path=panel,
            )
        obs = obs.join(table[[c for c in table.columns if c not in obs.columns]])
    for option, column in (("--stratify", stratify), ("--population", population)):
        if column is not None and column not in obs.columns:
            raise ConfigError(
                f"{option[2:]} column {column!r} not found in the sample table",
                path=features,
                hint="add it to obs, or give --panel with population labels",
            )
    pc_info: dict = {"source": "none"}
    n_pcs = 0 if no_ancestry else pcs
    pc_names = tuple(f"PC{i + 1}" for i in range(n_pcs))
    if n_pcs:
        if eigenvec is not None:
            frame = read_eigenvec(eigenvec)
            if frame.shape[1] < n_pcs:
                raise ConfigError(f"--pcs {n_pcs} but {eigenvec} holds only {frame.shape[1]} PCs")
            obs = attach_pcs(obs, pcs=frame[list(pc_names)], source=str(eigenvec))
            pc_info = {"source": "eigenvec", "path": str(eigenvec)}
        elif vcf is not None:
            config = PCAConfig(n_pcs=n_pcs, maf=maf, ld_r2=ld_r2, seed=seed)
            result = vcf_pcs(vcf, samples=[str(s) for s in obs.index], config=config)
            obs = attach_pcs(obs, pcs=result.pcs, source=str(vcf))
            pc_info = {"source": "vcf", "path": str(vcf), **result.to_dict()}
        else:
            missing = [p for p in pc_names if p not in obs.columns]
            if missing:
                present = [c for c in obs.columns if _PC_COLUMN.match(str(c))]
                raise ConfigError(
                    f"--pcs {n_pcs} but the features file has no obs column(s) {missing[:5]}"
                    + (f" (it has {present})" if present else ""),
                    path=features,
                    hint="give --eigenvec or --vcf, lower --pcs, or pass --no-ancestry on purpose",
                )
            pc_info = {"source": "obs"}
    adata.obs = obs
    config = AssociationConfig(
        phenotype=phenotype,
        covariates=_split(covariates),
        pcs=pc_names,
        binary=binary,
        population=population or stratify,
        no_ancestry=no_ancestry,
        allow_collinear=allow_collinear,
        collinearity=CollinearityThresholds(vif=vif, max_corr=max_corr),
        confound=ConfoundThresholds(alpha=alpha, ancestry_r2_low=ancestry_r2_low, ancestry_r2_high=ancestry_r2_high),
    )
    result = associate(adata, config=config, layer=layer)
    table = result.table
    summary = {"genolens_version": __version__, "pcs": pc_info, **result.summary}
    out = output_dir(out)
    if stratify is not None:
        strat = stratified_associations(adata, config=config, stratify=stratify, layer=layer)
        extra = strat.interaction.drop(columns=["feature"])
        table = pd.concat([table, extra.set_axis(table.index)], axis=1)
        strat.per_stratum.to_csv(out / "stratified.tsv", sep="\t", index=False, na_rep="NA")
        summary["stratified"] = strat.summary
        for col in ("interaction_pvalue", "interaction_qvalue", "effect_pattern"):
            adata.var[f"association_{col}"] = extra[col].to_numpy()
    assert list(table.columns[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS)
    table.to_csv(out / "associations.tsv", sep="\t", index=False, na_rep="NA")
    qq_plot(table, path=out / "qq.png")
    volcano_plot(table, path=out / "volcano.png")
    adata.uns["association"] = json_ready(summary)
    adata.write_h5ad(out / "features.h5ad")
    (out / "associate.json").write_text(json.dumps(json_ready(summary), indent=2) + "\n")
    counts = summary["category_counts"]
    typer.echo(
        f"tested {summary['n_features_tested']}/{summary['n_features']} features "
        f"on {summary['n_samples_used']} samples "
        f"({summary['n_samples_dropped_missing']} dropped for missing values); "
        f"lambda GC {summary['lambda_gc']:.3f} with ancestry, {summary['lambda_gc_unadjusted']:.3f} without; "
        f"categories {counts}; wrote {out}"
    )
