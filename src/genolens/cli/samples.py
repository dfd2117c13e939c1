"""``genolens check-samples``: validate a sample sheet (and its overlap with a VCF) before a run."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list
from genolens.io.samplesheet import check_sample_sheet


@app.command("check-samples")
def check_samples(
    sheet: Path = typer.Option(..., help="CSV/TSV sample sheet."),
    vcf: Path | None = typer.Option(None, help="VCF whose samples the sheet must match."),
    id_column: str = typer.Option("sample", help="Sample ID column."),
    numeric: str | None = typer.Option(None, help="Comma-separated columns that must be numeric."),
    binary: str | None = typer.Option(None, help="Comma-separated columns with two values (0/1, case/control)."),
    categorical: str | None = typer.Option(None, help="Comma-separated categorical columns."),
    allow_missing_samples: bool = typer.Option(False, help="Only warn about sheet samples absent from the VCF."),
) -> None:
    """Check IDs, column types and VCF overlap of a sample sheet; print a summary."""
    check = check_sample_sheet(
        sheet, vcf=vcf, id_column=id_column, numeric=comma_list(numeric) or (), binary=comma_list(binary) or (),
        categorical=comma_list(categorical) or (), allow_missing_samples=allow_missing_samples,
    )
    typer.echo(f"{sheet}: {len(check.sheet)} samples, columns: {', '.join(check.sheet.columns)}")
    for column, n_missing in check.missing.items():
        typer.echo(f"  {column}: {n_missing} missing value(s)")
    if check.match is not None:
        typer.echo(check.match.summary())
        if check.match.only_in_sheet:
            typer.echo(f"warning: not in the VCF: {', '.join(check.match.only_in_sheet)}", err=True)
