"""``genolens ancestry``: genotype principal components as a PLINK 2 ``.eigenvec``."""

from __future__ import annotations

import json
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
    from genolens.io.files import atomic_write
    from genolens.io.samplesheet import match_samples, read_sample_sheet
    from genolens.io.vcf import vcf_samples
    from genolens.stats.ancestry import PCAConfig, vcf_pcs

    samples = None
    if sample_sheet is not None:
        sheet = read_sample_sheet(sample_sheet, id_column=id_column)
        samples = match_samples(sheet, vcf_samples(vcf), sheet_path=str(sample_sheet)).common
    result = vcf_pcs(vcf, samples=samples, config=PCAConfig(n_pcs=pcs, maf=maf, ld_r2=ld_r2, seed=seed))
    table = result.pcs.copy()
    with atomic_write(out) as fh:
        fh.write("#FID\tIID\t" + "\t".join(table.columns) + "\n")
        for sample, row in table.iterrows():
            fh.write(f"{sample}\t{sample}\t" + "\t".join(f"{v:.6g}" for v in row.to_numpy()) + "\n")
    with atomic_write(out.with_suffix(".json")) as fh:
        json.dump(result.to_dict(), fh, indent=2)
    typer.echo(f"wrote {len(table)} samples x {table.shape[1]} PCs to {out}; {result.counts}", err=True)
