"""``genolens dashboard``: a static, self-contained HTML dashboard of an annotation folder."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app


@app.command("dashboard")
def dashboard_command(
    annotations: Path = typer.Option(..., "--in", help="Folder written by 'genolens annotate'."),
    out: Path = typer.Option(..., "--out", help="Output folder for index.html and the feature pages."),
    max_pages: int = typer.Option(500, "--max-pages", help="At most this many feature pages."),
    ablation: Path | None = typer.Option(None, "--ablation", help="'genolens ablate' folder or ablation.tsv of the "
                                         "same SAE: each page shows its loss change."),
) -> None:
    """Write index.html and one page per feature; they open from disk with no server or network."""
    from genolens.report.dashboard import build_dashboard

    index = build_dashboard(annotations, out=out, max_pages=max_pages, ablation=ablation)
    typer.echo(f"dashboard -> {index}", err=True)
