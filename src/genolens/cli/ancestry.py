"""``genolens ancestry``: genotype principal components as a PLINK 2 ``.eigenvec``."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app


@app.command("ancestry")
def ancestry(
    vcf: Path = typer.Option(..., help="VCF with the samples' genotypes."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .eigenvec (PLINK 2: #FID IID PC1..PCk)."),
    sample_sheet: Path | None = typer.Option(None, help="Only the sheet's samples (all must be in the VCF)."),
    id_column: str = typer.Option("sample", help="Sample ID column of the sheet."),
    pcs: int = typer.Option(10, help="Number of PCs."),
    maf: float = typer.Option(0.05, help="Minor allele frequency filter."),
    ld_r2: float = typer.Option(0.2, help="LD thinning r^2 threshold."),
    seed: int = typer.Option(0, help="Seed (randomized PCA)."),
) -> None:
    """Biallelic SNVs, MAF filter, LD thinning, PCA; writes the PCs and a JSON of what was kept."""
    from genolens.cohort.ancestry import PCAConfig
    from genolens.tl import ancestry as ancestry_pcs

    result = ancestry_pcs(vcf, sample_sheet=sample_sheet, id_column=id_column,
                          config=PCAConfig(n_pcs=pcs, maf=maf, ld_r2=ld_r2, seed=seed))
    result.write(out)
    typer.echo(f"wrote {len(result.pcs)} samples x {result.pcs.shape[1]} PCs to {out}; {result.counts}", err=True)
