"""Fixtures of the cohort, stats and probes tests: real 1000 Genomes / GEUVADIS data, read once per session.

The data are bundled in the repository (``data/example``; see its SOURCES.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from testpaths import EXPR_COVARIATES, EXPRESSION, PANEL, VCF
from threadpoolctl import threadpool_limits

from genolens.cohort.ancestry import PCAConfig, genotype_pcs, read_dosages, read_panel


@pytest.fixture(scope="module", autouse=True)
def _single_blas_thread():
    """One BLAS thread: on shared CI cores, spinning BLAS threads turn a 1 s SVD into 30 s.

    Module scope, so the limit never leaks into other test folders run in the same session.
    """
    with threadpool_limits(limits=1):
        yield


@dataclass
class Genotypes:
    dosages: np.ndarray  # variants x samples
    samples: list[str]
    sites: pd.DataFrame
    panel: pd.DataFrame
    pcs: pd.DataFrame  # samples x PC1..PC10


@pytest.fixture(scope="session")
def stats_vcf() -> Path:
    return VCF


@pytest.fixture(scope="session")
def stats_panel() -> Path:
    return PANEL


@pytest.fixture(scope="session")
def genotypes() -> Genotypes:
    """All 1,092 samples' biallelic-SNV dosages and genotype PCs from the real chr22 VCF."""
    dosages, samples, sites = read_dosages(VCF)
    with threadpool_limits(limits=1):  # session fixtures start before the module-scoped limit
        pcs = genotype_pcs(
            dosages,
            samples=samples,
            config=PCAConfig(n_pcs=10),
            positions=sites["pos"].to_numpy(),
            contigs=sites["contig"].to_numpy(),
        )
    return Genotypes(dosages=dosages, samples=samples, sites=sites, panel=read_panel(PANEL), pcs=pcs.pcs)


@pytest.fixture(scope="session")
def geuvadis() -> pd.DataFrame:
    """Real GEUVADIS expression (genes as columns) + the study's covariates, for samples also in the VCF."""
    expr = pd.read_csv(EXPRESSION, sep="\t", index_col=3).drop(columns=["#Chr", "start", "end"]).T
    covs = pd.read_csv(EXPR_COVARIATES, sep="\t", index_col=0).T.add_prefix("geu_")
    frame = expr.join(covs)
    frame.index.name = "sample"
    return frame
