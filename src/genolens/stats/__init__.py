"""Association and confound engine: tests of per-sample features against phenotypes, diagnostics, audit.

Data path: per-sample features and ancestry PCs (:mod:`genolens.cohort`) -> :func:`associate`
(phenotype ~ covariates + ancestry PCs + feature, with and without the PCs, the test of the change in effect,
confound categories;
:func:`cis_map` per gene in its own window, tensorQTL-style; :func:`genotype_baseline` against cis genotypes) ->
:func:`stratified_associations` (per population + interaction) and
:func:`embedding_audit` (how much ancestry a linear probe can read).
"""

from genolens.stats.associate import AssociationConfig, associate
from genolens.stats.audit import AuditConfig, embedding_audit
from genolens.stats.baseline import BaselineConfig, genotype_baseline
from genolens.stats.cis import CisConfig, beta_approximation, cis_map
from genolens.stats.confound import ConfoundThresholds, categorise
from genolens.stats.design import CollinearityThresholds, collinearity
from genolens.stats.effect_change import logistic_change, ols_change, ols_change_sandwich
from genolens.stats.logistic import LogisticConfig, logistic_scan
from genolens.stats.multiple_testing import bh_qvalues, lambda_gc
from genolens.stats.ols import ols_scan
from genolens.stats.results import TABLE_COLUMNS, AssociationResult, AuditResult, BaselineResult, CisResult
from genolens.stats.stratified import StratifiedResult, stratified_associations

__all__ = [
    "TABLE_COLUMNS",
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
    "StratifiedResult",
    "associate",
    "beta_approximation",
    "bh_qvalues",
    "categorise",
    "cis_map",
    "collinearity",
    "embedding_audit",
    "genotype_baseline",
    "lambda_gc",
    "logistic_change",
    "logistic_scan",
    "ols_change",
    "ols_change_sandwich",
    "ols_scan",
    "stratified_associations",
]
