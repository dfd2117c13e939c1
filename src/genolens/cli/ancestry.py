"""``genolens ancestry``: genotype principal components as a PLINK 2 ``.eigenvec``; ``genolens kinship``: KING-robust
kinship of every pair of samples, as plink2."""

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


@app.command("kinship")
def kinship(
    vcf: Path = typer.Option(..., help="VCF with the samples' genotypes."),
    out: Path = typer.Option(..., "--out", "-o", help="Output prefix: PREFIX.kin0, PREFIX.king.json."),
    sample_sheet: Path | None = typer.Option(None, help="Only the sheet's samples (all must be in the VCF)."),
    id_column: str = typer.Option("sample", help="Sample ID column of the sheet."),
    maf: float = typer.Option(0.05, help="Minor allele frequency filter (plink2 --maf)."),
    cutoff: float = typer.Option(0.0884, help="Kinship above which a pair is written and counted as related "
                                 "(0.0884: second degree)."),
    remove_related: bool = typer.Option(False, "--remove-related", help="Also write PREFIX.king.cutoff.out.id: "
                                        "the samples to remove so that no related pair is left."),
) -> None:
    """KING-robust kinship of every pair (plink2 --make-king-table); pairs above the cutoff, and what to remove."""
    from genolens.tl import kinship as king

    result = king(vcf, out=out, sample_sheet=sample_sheet, id_column=id_column, min_maf=maf, cutoff=cutoff,
                  remove_related=remove_related)
    n_pairs = len(result.pairs(cutoff=cutoff))
    typer.echo(f"{len(result.samples)} samples, {result.n_sites:,} variants: {n_pairs} pairs above {cutoff}"
               f" -> {out}.kin0", err=True)
    if not result.trustworthy:
        typer.echo(f"note: {result.n_sites:,} variants are too few to call relatives (genome-wide data has "
                   "100,000 or more); read the pairs as a screen, not as relatives", err=True)
