"""Real 1000 Genomes / GEUVADIS fixtures (tests/cohort_fixtures.py) and one BLAS thread per test module."""

from cohort_fixtures import _single_blas_thread, genotypes, geuvadis, stats_panel, stats_vcf  # noqa: F401
