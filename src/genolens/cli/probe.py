"""``genolens probe train``: linear probes on a store's layer (per base or per sequence) or per-sample features."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.annotate import parse_contig_map
from genolens.cli.app import allow_partial_option, app
from genolens.cli.options import comma_list

probe_app = typer.Typer(help="Linear probes: train them (with a shuffled-label control) on held-out groups.",
                        no_args_is_help=True)
app.add_typer(probe_app, name="probe")


@probe_app.command("train")
def probe_train_command(
    data: Path = typer.Option(..., "--data", help="Activation store folder, or per-sample features (.h5ad)."),
    out: Path = typer.Option(..., "--out", help="Output folder: metrics.tsv, l1_path.tsv, summary.json, probes."),
    labels: Path | None = typer.Option(
        None, "--labels", help="Store: an annotation (BED/GFF/GTF/residue TSV: per base) or, with --target, "
        "a table keyed by sequence ID (per sequence)."),
    target: str | None = typer.Option(
        None, "--target", help="Comma-separated table/obs columns (per sequence/sample) or concepts (per base)."),
    layer: int | None = typer.Option(None, "--layer", help="Store layer (default: the SAE's or the only one)."),
    sae: Path | None = typer.Option(None, "--sae", help="Also probe this SAE's features (same folds, L1 path)."),
    id_column: str = typer.Option("id", "--id-column", help="Sequence ID column of the label table."),
    group_by: str | None = typer.Option(
        None, "--group-by", help="What stays in one fold: sequence, region, sample, cluster or a column."),
    kind: str = typer.Option("auto", "--kind", help="auto, classes or regression."),
    contig_map: list[str] = typer.Option([], "--contig-map", help="STORE=ANNOTATION contig names, e.g. 22=chr22."),
    use_rep: str | None = typer.Option(None, "--use-rep", help="Per sample: obsm key to probe instead of X."),
    folds: int = typer.Option(5, "--folds", help="Grouped cross-validation folds."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap resamples (of groups) for the CIs."),
    threshold: float = typer.Option(0.5, "--threshold", help="Probability threshold of F1 (binary probes)."),
    max_rows: int = typer.Option(50_000, "--max-rows", help="Per base: rows kept (whole groups at random)."),
    row_stride: int = typer.Option(1, "--row-stride", help="Per base: keep every n-th row."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, shuffled labels and bootstrap."),
    allow_partial: bool = allow_partial_option(),
) -> None:
    """Train probes with grouped CV, report them against a shuffled-label control, and save them."""
    from genolens.probes.probe import ProbeConfig
    from genolens.tl import probe

    config = ProbeConfig(n_folds=folds, n_bootstrap=bootstrap, threshold=threshold, max_rows=max_rows,
                         row_stride=row_stride, seed=seed)
    result = probe(str(data), labels=labels, targets=comma_list(target) or (), layer=layer, sae=sae,
                   id_column=id_column, group_by=group_by, kind=kind, contig_map=parse_contig_map(contig_map),
                   use_rep=use_rep, config=config, allow_partial=allow_partial)
    result.write(out)
    absent = result.summary.get("n_labels_not_in_store", 0)
    if absent:
        shown = ", ".join(result.summary["labels_not_in_store"][:5])
        typer.echo(f"note: {absent} labelled IDs are not sequences of the store and were not used ({shown}"
                   f"{', ...' if absent > 5 else ''}; all listed in summary.json up to 100)", err=True)
    for row in result.table.itertuples():
        typer.echo(f"{row.target} {row.representation} {row.metric}: {row.score:.3f} "
                   f"[{row.ci_low:.3f}, {row.ci_high:.3f}] (chance {row.chance:.3f})")
