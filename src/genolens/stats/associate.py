"""Feature-phenotype association with ancestry adjustment and confound diagnostics.

``associate`` fits ``phenotype ~ covariates + ancestry PCs + feature`` for every
feature of an AnnData (samples x features), once with and once without the
ancestry terms, and returns one row per feature with q-values, the variance of
the feature that ancestry explains, and a confound category.

Effects (``beta``, ``se``, ``beta_unadjusted``, ``beta_change``, ``se_change``) are per standard
deviation of the feature over the tested samples, so that features of any scale read side by side; the
slopes per unit of the feature are kept in ``beta_raw`` and ``se_raw``. Features that do not vary enough
to be tested (:mod:`genolens.stats.screen`) are not reported as fitted: their category is ``untestable``
and ``reason`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genolens.errors import ConfigError
from genolens.io.files import json_ready
from genolens.stats.confound import (
    CATEGORY_RULE,
    ConfoundThresholds,
    categorise,
    explained_variance,
    unresolved_reasons,
)
from genolens.stats.design import CollinearityThresholds, build_design, collinearity, encode_columns
from genolens.stats.effect_change import CHANGE_COLUMNS, logistic_change, ols_change, ols_change_sandwich
from genolens.stats.logistic import LogisticConfig, logistic_scan
from genolens.stats.multiple_testing import bh_qvalues, lambda_gc, neg_log10
from genolens.stats.ols import ols_scan
from genolens.stats.results import TABLE_COLUMNS, AssociationResult
from genolens.stats.screen import FeatureSpread, VariationThresholds, feature_spread, mask_untestable

# The columns that follow them: the effect per unit of the feature, and the feature's spread.
SCALE_COLUMNS = ("beta_raw", "se_raw", "feature_sd", "n_varying")

# Columns on the scale of the phenotype per unit of the feature, reported per SD of the feature.
PER_SD_COLUMNS = ("beta", "se", "beta_unadjusted", "beta_change", "se_change")


@dataclass(frozen=True)
class AssociationConfig:
    """What to test and with which thresholds; saved as JSON beside every result."""

    phenotype: str
    covariates: tuple[str, ...] = ()
    pcs: tuple[str, ...] = ()
    binary: bool = False
    population: str | None = None
    no_ancestry: bool = False
    allow_collinear: bool = False
    collinearity: CollinearityThresholds = field(default_factory=CollinearityThresholds)
    confound: ConfoundThresholds = field(default_factory=ConfoundThresholds)
    logistic: LogisticConfig = field(default_factory=LogisticConfig)
    variation: VariationThresholds = field(default_factory=VariationThresholds)

    def __post_init__(self) -> None:
        if not self.phenotype:
            raise ConfigError("phenotype column name must not be empty")
        if not self.pcs and not self.no_ancestry:
            raise ConfigError(
                "no ancestry terms (PCs) in the model",
                hint="testing without ancestry adjustment is usually a mistake; pass no_ancestry=True "
                "(--no-ancestry) to do it on purpose",
            )
        if self.pcs and self.no_ancestry:
            raise ConfigError(f"no_ancestry was requested but PCs were given: {list(self.pcs)}")
        overlap = set(self.covariates) & set(self.pcs)
        if self.phenotype in self.covariates or self.phenotype in self.pcs:
            raise ConfigError(f"phenotype {self.phenotype!r} is also listed as a covariate")
        if overlap:
            raise ConfigError(f"columns listed both as covariates and PCs: {sorted(overlap)}")
        if self.binary and self.confound.change_test == "clogg":
            raise ConfigError("the Clogg test of the change in effect is for least squares",
                              hint="binary phenotypes use the sandwich test (change_test='sandwich')")

    def to_dict(self) -> dict:
        return asdict(self)


def phenotype_values(obs: pd.DataFrame, *, column: str, binary: bool) -> np.ndarray:
    """Phenotype as float (NaN where missing); binary phenotypes must be 0/1 or boolean."""
    if column not in obs.columns:
        raise ConfigError(
            f"phenotype column {column!r} not found in the sample table",
            hint=f"available: {', '.join(map(str, obs.columns[:20]))}",
        )
    series = obs[column]
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(float)
    if not pd.api.types.is_numeric_dtype(series):
        raise ConfigError(
            f"phenotype {column!r} is not numeric (dtype {series.dtype})",
            hint="binary phenotypes must be coded 0/1" if binary else None,
        )
    y = series.to_numpy(dtype=float)
    if not np.isfinite(y).any():
        raise ConfigError(
            f"phenotype {column!r} is missing for all {len(y)} samples",
            hint="check that column of the sample sheet (NA everywhere? a join on the wrong sample IDs?)",
        )
    if binary:
        levels = set(np.unique(y[np.isfinite(y)]).tolist())
        if not levels <= {0.0, 1.0}:
            shown = sorted(levels)[:5]
            raise ConfigError(f"binary phenotype {column!r} must be coded 0/1, found values {shown}")
    return y


def feature_matrix(adata: ad.AnnData, *, layer: str | None = None) -> Any:
    """``adata.X`` or a layer (numpy or scipy sparse, samples x features)."""
    if layer is None:
        return adata.X
    if layer not in adata.layers:
        raise ConfigError(f"layer {layer!r} not found", hint=f"layers: {list(adata.layers)}")
    return adata.layers[layer]


def association_table(
    features: Any,
    *,
    y: np.ndarray,
    covariates: np.ndarray,
    rows: np.ndarray,
    binary: bool,
    config: AssociationConfig,
    spread: FeatureSpread | None = None,
) -> dict[str, np.ndarray]:
    """One regression scan (OLS or logistic) of the testable features, with q-values over them.

    Parameters
    ----------
    features
        Samples x features (numpy or scipy sparse).
    y, covariates, rows
        Phenotype, covariate matrix (intercept included) and the mask of the samples tested.
    binary
        Logistic instead of least squares.
    config
        Collinearity, logistic and variation settings.
    spread
        :func:`~genolens.stats.screen.feature_spread` over ``rows`` (computed when None).

    Returns
    -------
    dict
        Per-feature arrays of the scan (slopes per unit of the feature) plus ``qvalue``, ``feature_sd`` and
        ``n_varying``; untestable features are NaN with their ``reason``.
    """
    if spread is None:
        spread = feature_spread(features, rows=rows, thresholds=config.variation)
    if binary:
        res = logistic_scan(
            features, y=y, covariates=covariates, rows=rows, config=config.logistic, thresholds=config.collinearity
        )
    else:
        res = ols_scan(features, y=y, covariates=covariates, rows=rows, thresholds=config.collinearity)
    res["qvalue"] = bh_qvalues(res["pvalue"])
    res = mask_untestable(res, spread)
    res["feature_sd"] = spread.sd
    res["n_varying"] = spread.n_varying
    return res


def associate(
    adata: ad.AnnData,
    *,
    config: AssociationConfig,
    layer: str | None = None,
    key_added: str = "association",
) -> AssociationResult:
    """Test every feature of ``adata`` against ``config.phenotype`` with and without ancestry terms.

    Samples missing the phenotype or a covariate are dropped (counts in the
    summary); a feature's own missing values drop samples for that feature only.
    Results are also stored in ``adata.var`` (``{key_added}_*`` columns) and the
    summary in ``adata.uns[key_added]``.
    """
    obs = adata.obs
    y = phenotype_values(obs, column=config.phenotype, binary=config.binary)
    features = feature_matrix(adata, layer=layer)
    covs = list(config.covariates)
    pcs = list(config.pcs)
    adjusted = build_design(obs, columns=covs + pcs, extra_mask=np.isfinite(y))
    rows = adjusted.keep
    n_used = int(rows.sum())
    if n_used < adjusted.matrix.shape[1] + 2:
        missing = {config.phenotype: int((~np.isfinite(y)).sum()), **adjusted.dropped_by_column}
        raise ConfigError(
            f"only {n_used} complete samples for {adjusted.matrix.shape[1]} covariate columns",
            hint=f"missing values per column: {missing}",
        )
    y_used = y[rows]
    if np.unique(y_used).size < 2:
        raise ConfigError(f"phenotype {config.phenotype!r} is constant over the {n_used} complete samples")
    report = collinearity(adjusted.matrix, columns=adjusted.columns, thresholds=config.collinearity)
    if not report.ok and not config.allow_collinear:
        raise ConfigError(
            "collinear covariates: " + "; ".join(report.problems),
            hint="drop one of them, or pass allow_collinear=True (--allow-collinear) to fit anyway",
        )
    cov_full = np.zeros((len(obs), adjusted.matrix.shape[1]))
    cov_full[rows] = adjusted.matrix
    spread = feature_spread(features, rows=rows, thresholds=config.variation)
    res = association_table(features, y=y, covariates=cov_full, rows=rows, binary=config.binary, config=config,
                            spread=spread)

    if pcs:
        base = cov_full[:, : len(adjusted.columns) - _n_encoded(obs, pcs)]
        unadj = association_table(features, y=y, covariates=base, rows=rows, binary=config.binary, config=config,
                                  spread=spread)
        pc_values, _, _ = encode_columns(obs, columns=pcs)
        ancestry_r2 = np.where(spread.untestable, np.nan, explained_variance(features, predictors=pc_values, rows=rows))
        change = effect_change(features, y=y, reduced=base, full=cov_full, rows=rows, reduced_scan=unadj,
                               full_scan=res, config=config)
    else:
        unadj = res
        ancestry_r2 = np.full(features.shape[1], np.nan)
        change = {name: np.full(features.shape[1], np.nan) for name in CHANGE_COLUMNS}

    population_r2 = None
    if config.population is not None:
        if config.population not in obs.columns:
            raise ConfigError(f"population column {config.population!r} not found in the sample table")
        labels = obs[[config.population]].copy()  # labels, even when coded as numbers
        labels[config.population] = labels[config.population].map(lambda v: v if pd.isna(v) else str(v))
        pop_values, _, pop_ok = encode_columns(labels, columns=[config.population])
        pop_rows = rows & pop_ok
        population_r2 = explained_variance(features, predictors=pop_values, rows=pop_rows)

    category = categorise(
        qvalue=res["qvalue"],
        qvalue_unadjusted=unadj["qvalue"],
        qvalue_change=change["qvalue_change"],
        beta=res["beta"],
        beta_unadjusted=unadj["beta"],
        fraction=change["fraction_explained"],
        fraction_low=change["fraction_explained_low"],
        alpha=config.confound.alpha,
        min_fraction=config.confound.min_fraction,
        min_fraction_low=config.confound.min_fraction_low,
    )
    category[spread.untestable] = "untestable"
    why = unresolved_reasons(category, qvalue_change=change["qvalue_change"], beta=res["beta"],
                             beta_unadjusted=unadj["beta"], fraction=change["fraction_explained"],
                             fraction_low=change["fraction_explained_low"], thresholds=config.confound)
    reason = np.where(why != "", why, np.asarray(res["reason"], dtype=object))
    sd = spread.sd
    table = pd.DataFrame(
        {
            "feature": adata.var_names.astype(str),
            "beta": res["beta"] * sd,
            "se": res["se"] * sd,
            "stat": res["stat"],
            "pvalue": res["pvalue"],
            "neg_log10_p": neg_log10(res["pvalue"]),
            "qvalue": res["qvalue"],
            "n": res["n"].astype(int),
            "ancestry_r2": ancestry_r2,
            "pvalue_unadjusted": unadj["pvalue"],
            "category": category,
            "beta_raw": res["beta"],
            "se_raw": res["se"],
            "feature_sd": sd,
            "n_varying": spread.n_varying,
            "beta_unadjusted": unadj["beta"] * sd,
            "qvalue_unadjusted": unadj["qvalue"],
            **{name: change[name] * sd if name in PER_SD_COLUMNS else change[name] for name in CHANGE_COLUMNS},
            "method": res["method"],
            "reason": reason,
        }
    )
    if population_r2 is not None:
        table["population_r2"] = population_r2
    table.index = pd.RangeIndex(len(table))
    summary = {
        "config": config.to_dict(),
        "n_samples": len(obs),
        "n_samples_used": n_used,
        "n_samples_dropped_missing": adjusted.n_dropped,
        "missing_by_column": {config.phenotype: int((~np.isfinite(y)).sum()), **adjusted.dropped_by_column},
        "design_columns": adjusted.columns,
        "collinearity": report.to_dict(),
        "n_features": int(features.shape[1]),
        "n_features_tested": int(np.isfinite(res["pvalue"]).sum()),
        "n_features_untestable": {str(k): int(v) for k, v in
                                  pd.Series(spread.reason[spread.untestable]).value_counts().items()},
        "variation_thresholds": asdict(config.variation),
        "effect_scale": "beta, se, beta_unadjusted, beta_change, se_change: per SD of the feature over the tested "
        "samples (feature_sd); beta_raw, se_raw: per unit of the feature",
        "n_features_na": {str(k): int(v) for k, v in pd.Series(res["reason"]).value_counts().items() if k},
        "lambda_gc": lambda_gc(res["pvalue"]),
        "lambda_gc_unadjusted": lambda_gc(unadj["pvalue"]),
        "category_counts": {c: int((category == c).sum()) for c in np.unique(category)},
        "category_rule": {**CATEGORY_RULE, "alpha": config.confound.alpha, "min_fraction": config.confound.min_fraction,
                          "min_fraction_low": config.confound.min_fraction_low,
                          "change_test": config.confound.change_test if pcs else "none (no ancestry terms)"},
    }
    for col in TABLE_COLUMNS[1:] + SCALE_COLUMNS + CHANGE_COLUMNS + ("method", "reason"):
        if col != "feature":
            adata.var[f"{key_added}_{col}"] = table[col].to_numpy()
    adata.uns[key_added] = json_ready(summary)
    return AssociationResult(table=table, summary=summary)


def effect_change(
    features: Any,
    *,
    y: np.ndarray,
    reduced: np.ndarray,
    full: np.ndarray,
    rows: np.ndarray,
    reduced_scan: dict[str, np.ndarray],
    full_scan: dict[str, np.ndarray],
    config: AssociationConfig,
) -> dict[str, np.ndarray]:
    """The test of the change in effect the config asks for; NaN where either scan could not test."""
    level = config.confound.level
    if config.binary:
        change = logistic_change(features, y=y, reduced=reduced, full=full, rows=rows, config=config.logistic,
                                 thresholds=config.collinearity, level=level)
    elif config.confound.change_test == "clogg":
        change = ols_change(reduced_scan, full=full_scan, level=level)
    else:
        change = ols_change_sandwich(features, y=y, reduced=reduced, full=full, rows=rows, level=level)
    untested = ~(np.isfinite(reduced_scan["pvalue"]) & np.isfinite(full_scan["pvalue"]))
    out = {name: np.where(untested, np.nan, change[name]) for name in CHANGE_COLUMNS}
    out["qvalue_change"] = bh_qvalues(out["pvalue_change"])
    return out


def _n_encoded(obs: pd.DataFrame, columns: Sequence[str]) -> int:
    return encode_columns(obs, columns=columns)[0].shape[1]
