"""Paths shared by tests (imported by name: ``conftest`` is ambiguous across test folders).

Every path is inside the repository: a fresh clone runs its tests with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "example"
TESTDATA = REPO / "tests" / "data"

REFERENCE = EXAMPLE / "reference" / "GRCh37_chr22_1-22000000.fa.gz"
# the whole chromosome's thinned 1000 Genomes phase 1 VCF (genotype PCs need more than the reference window)
VCF = EXAMPLE / "genotypes" / "1kg_phase1_v3_chr22_thinned19773_1092samples.vcf.gz"
PANEL = EXAMPLE / "genotypes" / "samples_1092_population_panel.tsv"
GTF = EXAMPLE / "annotation" / "hg19_chr22_refseq_16-22Mb.gtf.gz"
EXPRESSION = EXAMPLE / "expression" / "GEUVADIS_EUR373_chr22_16-22Mb_expression.bed.gz"
EXPR_COVARIATES = EXAMPLE / "expression" / "GEUVADIS_EUR373_covariates.txt.gz"
ANNOTATION_BEDS = TESTDATA / "annotation"
SWISSPROT_FEATURES = REPO / "data" / "proteins" / "swissprot_features.tsv"
