"""Shared test fixtures: paths to the team's real data and small synthetic inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from testpaths import KG


@pytest.fixture(scope="session")
def kg_reference() -> Path:
    return KG / "reference" / "GRCh37_chr22_1-22000000.fa.gz"


@pytest.fixture(scope="session")
def kg_vcf() -> Path:
    return KG / "genotypes" / "1kg_phase1_v3_chr22_thinned19773_1092samples.vcf.gz"


@pytest.fixture(scope="session")
def kg_panel() -> Path:
    return KG / "genotypes" / "samples_1092_population_panel.tsv"
