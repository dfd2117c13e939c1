"""``genolens report``: one self-contained HTML report of a run's results."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app


@app.command("report")
def report(
    results: Path = typer.Option(..., "--in", help="Results folder of a run (searched for known outputs)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output HTML file."),
    top: int = typer.Option(20, help="Rows of the top-association tables."),
    gene_names: Path | None = typer.Option(
        None, "--gene-names", help="TSV of gene_id and gene_name (or symbol): genes shown as NAME (ID)."),
) -> None:
    """SAE metrics, links to feature dashboards, association tables and plots, the embedding audit."""
    from genolens.errors import InputFileError
    from genolens.report.run_summary import write_run_report

    if not results.is_dir():
        raise InputFileError("results folder does not exist", path=results)
    path = write_run_report(results, out, top=top, gene_names=gene_names)
    typer.echo(f"wrote {path}", err=True)
