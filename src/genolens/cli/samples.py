"""``genolens check-samples``: validate a sample sheet (and its overlap with a VCF) before a run."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.io.samplesheet import match_samples, read_sample_sheet
from genolens.io.vcf import vcf_samples


def _names(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


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
    df = read_sample_sheet(
        sheet, id_column=id_column, numeric=_names(numeric), binary=_names(binary), categorical=_names(categorical)
    )
    typer.echo(f"{sheet}: {len(df)} samples, columns: {', '.join(df.columns)}")
    for column in df.columns:
        n_missing = int(df[column].isna().sum())
        if n_missing:
            typer.echo(f"  {column}: {n_missing} missing value(s)")
    if vcf is not None:
        match = match_samples(
            df, vcf_samples(vcf), on_missing="warn" if allow_missing_samples else "error", sheet_path=str(sheet)
        )
        typer.echo(match.summary())
        if match.only_in_sheet:
            typer.echo(f"warning: not in the VCF: {', '.join(match.only_in_sheet)}", err=True)
