"""Association and confound engine: sample-level features, ancestry, tests, diagnostics, audit.

Data path: per-token activations -> :func:`aggregate_activations` (AnnData of
samples x features) -> :func:`associate` (phenotype ~ covariates + ancestry PCs
+ feature, with and without the PCs, the test of the change in effect, confound categories;
:func:`cis_map` per gene in its own window, tensorQTL-style; :func:`genotype_baseline` against cis genotypes) ->
:func:`stratified_associations` (per population + interaction) and
:func:`embedding_audit` (how much ancestry a linear probe can read).
"""

from genolens.stats.aggregate import (
    AggregationConfig,
    TokenChunk,
    aggregate_activations,
    aggregate_chunks,
    read_features,
    write_features,
)
from genolens.stats.ancestry import AncestryPCs, PCAConfig, genotype_pcs, read_eigenvec, read_panel, vcf_pcs
from genolens.stats.associate import TABLE_COLUMNS, AssociationConfig, AssociationResult, associate
from genolens.stats.audit import AuditConfig, AuditResult, embedding_audit
from genolens.stats.baseline import BaselineConfig, BaselineResult, genotype_baseline
from genolens.stats.cis import CisConfig, CisResult, beta_approximation, cis_map
from genolens.stats.confound import ConfoundThresholds, categorise
from genolens.stats.design import CollinearityThresholds, collinearity
from genolens.stats.effect_change import logistic_change, ols_change, ols_change_sandwich
from genolens.stats.logistic import LogisticConfig, logistic_scan
from genolens.stats.multiple_testing import bh_qvalues, lambda_gc
from genolens.stats.ols import ols_scan
from genolens.stats.phenotype_bed import PhenotypeBed, read_phenotype_bed
from genolens.stats.stratified import StratifiedResult, stratified_associations

__all__ = [
    "TABLE_COLUMNS",
    "AggregationConfig",
    "AncestryPCs",
    "AssociationConfig",
    "AssociationResult",
    "AuditConfig",
    "AuditResult",
    "BaselineConfig",
    "BaselineResult",
    "CisConfig",
    "CisResult",
    "CollinearityThresholds",
    "ConfoundThresholds",
    "LogisticConfig",
    "PCAConfig",
    "PhenotypeBed",
    "StratifiedResult",
    "TokenChunk",
    "aggregate_activations",
    "aggregate_chunks",
    "associate",
    "beta_approximation",
    "bh_qvalues",
    "categorise",
    "cis_map",
    "collinearity",
    "embedding_audit",
    "genotype_baseline",
    "genotype_pcs",
    "lambda_gc",
    "logistic_change",
    "logistic_scan",
    "ols_change",
    "ols_change_sandwich",
    "ols_scan",
    "read_phenotype_bed",
    "read_eigenvec",
    "read_features",
    "read_panel",
    "stratified_associations",
    "vcf_pcs",
    "write_features",
]
