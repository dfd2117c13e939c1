"""Ancestry-stratified association: the same test within each population, plus an interaction test.

The interaction test asks whether the feature's effect differs between
strata: for OLS an F-test of ``y ~ covariates + stratum + feature x stratum``
against ``y ~ covariates + stratum + feature`` (vectorised across features);
for a binary phenotype a likelihood-ratio test of the same two logistic models
(fitted per feature). Each feature gets an ``effect_pattern``:

- ``flips``: the interaction is significant (q < alpha) and strata with a
  nominally significant effect (p < alpha) disagree in sign;
- ``vanishes``: the interaction is significant and the effect is nominally
  significant in some strata but not in others;
- ``heterogeneous``: the interaction is significant otherwise;
- ``consistent``: the interaction is not significant;
- ``untested``: no interaction test was possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats as sps

from genolens.errors import ConfigError
from genolens.stats.associate import AssociationConfig, association_table, feature_matrix, phenotype_values
from genolens.stats.design import build_design
from genolens.stats.logistic import fit_single
from genolens.stats.multiple_testing import bh_qvalues
from genolens.stats.ols import covariate_basis
from genolens.stats.scan import column_sums, scan, with_nan_columns
from genolens.stats.screen import feature_spread, mask_untestable


@dataclass
class StratifiedResult:
    """Per-stratum results (long), the interaction table (one row per feature) and a summary."""

    per_stratum: pd.DataFrame
    interaction: pd.DataFrame
    summary: dict[str, Any]


def _strata(obs: pd.DataFrame, column: str) -> np.ndarray:
    if column not in obs.columns:
        raise ConfigError(f"stratify column {column!r} not found in the sample table")
    values = obs[column]
    return np.where(values.isna(), "", values.astype(str)).astype(object)


def stratified_associations(
    adata: ad.AnnData,
    *,
    config: AssociationConfig,
    stratify: str,
    layer: str | None = None,
    min_samples: int = 20,
) -> StratifiedResult:
    """Per-stratum tests and a feature x stratum interaction test for every feature.

    Strata with fewer than ``min_samples`` complete samples (or, for a binary
    phenotype, only one class) are skipped and listed in the summary.
    """
    obs = adata.obs
    y = phenotype_values(obs, column=config.phenotype, binary=config.binary)
    features = feature_matrix(adata, layer=layer)
    strata = _strata(obs, stratify)
    design = build_design(obs, columns=[*config.covariates, *config.pcs], extra_mask=np.isfinite(y) & (strata != ""))
    base = np.zeros((len(obs), design.matrix.shape[1]))
    base[design.keep] = design.matrix
    names = adata.var_names.astype(str)
    # effects per SD of the feature over all strata tested, so strata read on one scale
    overall = feature_spread(features, rows=design.keep, thresholds=config.variation)
    long_parts, kept, skipped = [], [], {}
    for level in sorted(set(strata[design.keep])):
        rows = design.keep & (strata == level)
        n_s = int(rows.sum())
        if n_s < max(min_samples, base.shape[1] + 2) or np.unique(y[rows]).size < 2:
            skipped[level] = n_s
            continue
        res = association_table(features, y=y, covariates=base, rows=rows, binary=config.binary, config=config)
        kept.append(level)
        long_parts.append(
            pd.DataFrame(
                {
                    "feature": names,
                    "stratum": level,
                    "beta": res["beta"] * overall.sd,
                    "se": res["se"] * overall.sd,
                    "stat": res["stat"],
                    "pvalue": res["pvalue"],
                    "qvalue": res["qvalue"],
                    "n": res["n"].astype(int),
                    "beta_raw": res["beta"],
                    "feature_sd": overall.sd,
                    "reason": res["reason"],
                }
            )
        )
    per_stratum = (
        pd.concat(long_parts, ignore_index=True)
        if long_parts
        else pd.DataFrame(columns=["feature", "stratum", "beta", "se", "stat", "pvalue", "qvalue", "n", "beta_raw",
                                   "feature_sd", "reason"])
    )
    interaction = pd.DataFrame({"feature": names})
    if len(kept) >= 2:
        rows = design.keep & np.isin(strata, kept)
        codes = np.searchsorted(np.array(kept, dtype=object), strata[rows]).astype(np.intp)
        codes_full = np.full(len(obs), -1, dtype=np.intp)
        codes_full[rows] = codes
        dummies = np.zeros((len(obs), len(kept) - 1))
        for k in range(1, len(kept)):
            dummies[:, k - 1] = codes_full == k
        cov = np.column_stack([base, dummies])
        if config.binary:
            res = _interaction_logistic(y, cov, codes_full, features, rows=rows, n_strata=len(kept))
        else:
            res = _interaction_ols(y, cov, codes_full, features, rows=rows, n_strata=len(kept))
        res = mask_untestable({k: res[k] for k in ("stat", "df", "pvalue")}, overall)
        interaction["interaction_stat"] = res["stat"]
        interaction["interaction_df"] = res["df"]
        interaction["interaction_pvalue"] = res["pvalue"]
        interaction["interaction_qvalue"] = bh_qvalues(res["pvalue"])
    else:
        for col in ("interaction_stat", "interaction_df", "interaction_pvalue", "interaction_qvalue"):
            interaction[col] = np.nan
    for level in kept:
        part = per_stratum[per_stratum["stratum"] == level]
        interaction[f"beta_{level}"] = part["beta"].to_numpy()
        interaction[f"pvalue_{level}"] = part["pvalue"].to_numpy()
    interaction["effect_pattern"] = _patterns(interaction, kept, alpha=config.confound.alpha)
    summary = {
        "stratify": stratify,
        "strata": kept,
        "strata_skipped": skipped,
        "n_per_stratum": {lvl: int((design.keep & (strata == lvl)).sum()) for lvl in kept},
        "interaction_test": "likelihood_ratio" if config.binary else "F",
    }
    return StratifiedResult(per_stratum=per_stratum, interaction=interaction, summary=summary)


def _patterns(table: pd.DataFrame, strata: list[str], *, alpha: float) -> np.ndarray:
    out = np.full(len(table), "untested", dtype=object)
    q = table["interaction_qvalue"].to_numpy(dtype=float)
    tested = np.isfinite(q)
    out[tested] = "consistent"
    if not strata:
        return out
    betas = np.column_stack([table[f"beta_{s}"].to_numpy(dtype=float) for s in strata])
    pvals = np.column_stack([table[f"pvalue_{s}"].to_numpy(dtype=float) for s in strata])
    sig = np.nan_to_num(pvals, nan=1.0) < alpha
    pos = (sig & (betas > 0)).any(axis=1)
    neg = (sig & (betas < 0)).any(axis=1)
    some, all_ = sig.any(axis=1), sig.all(axis=1)
    hit = tested & (q < alpha)
    out[hit] = "heterogeneous"
    out[hit & some & ~all_] = "vanishes"
    out[hit & pos & neg] = "flips"
    return out


def _interaction_ols(
    y: np.ndarray, cov: np.ndarray, codes: np.ndarray, features: Any, *, rows: np.ndarray, n_strata: int
) -> dict[str, np.ndarray]:
    """F-test of feature x stratum terms, vectorised over features."""
    y_rows, c_rows, k_rows = y[rows], cov[rows], codes[rows]
    full = covariate_basis(c_rows, y=y_rows)

    def fit(mask: np.ndarray, full_block: np.ndarray) -> dict[str, np.ndarray]:
        has_nan = np.isnan(column_sums(full_block))
        return with_nan_columns(fit_clean(mask, full_block[:, ~has_nan]), has_nan)

    def fit_clean(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
        basis = full if mask.all() else covariate_basis(c_rows[mask], y=y_rows[mask])
        kk = k_rows[mask]
        n, f = block.shape
        r = basis.rank
        gram = np.zeros((f, n_strata, n_strata))
        loads = np.zeros((n_strata, r, f))
        b = np.zeros((f, n_strata))
        for k in range(n_strata):
            idx = kk == k
            xk = block[idx] - block[idx].mean(axis=0)  # stratum dummies are in the basis: centring is free
            gram[:, k, k] = np.einsum("ij,ij->j", xk, xk)
            loads[k] = basis.q[idx].T @ xk
            b[:, k] = xk.T @ basis.y_resid[idx]
        gram -= np.einsum("krf,lrf->fkl", loads, loads)
        scale = np.maximum(np.abs(gram).max(axis=(1, 2)), 1e-300)
        pinv = np.linalg.pinv(gram, rcond=1e-10)
        rank = np.linalg.matrix_rank(gram / scale[:, None, None], tol=1e-10)
        rss_full = basis.y_rss - np.einsum("fk,fkl,fl->f", b, pinv, b)
        sxx = gram.sum(axis=(1, 2))
        sxy = b.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rss_red = basis.y_rss - sxy**2 / sxx
            df1 = rank - 1
            df2 = n - r - rank
            stat = ((rss_red - rss_full) / df1) / (rss_full / df2)
        ok = (df1 > 0) & (df2 > 0) & (sxx > 1e-12 * np.abs(gram).max(axis=(1, 2)).clip(1e-300))
        stat = np.where(ok, np.maximum(stat, 0.0), np.nan)
        pvalue = np.where(ok, sps.f.sf(stat, np.maximum(df1, 1), np.maximum(df2, 1)), np.nan)
        return {"beta": np.full(f, np.nan), "stat": stat, "pvalue": pvalue, "df": np.where(ok, df1, np.nan)}

    return scan(features, fit_block=fit, rows=rows)


def _interaction_logistic(
    y: np.ndarray, cov: np.ndarray, codes: np.ndarray, features: Any, *, rows: np.ndarray, n_strata: int
) -> dict[str, np.ndarray]:
    """Likelihood-ratio test of feature x stratum terms, one pair of logistic fits per feature."""
    y_rows, c_rows, k_rows = y[rows], cov[rows], codes[rows]
    full_q = covariate_basis(c_rows).q

    def fit(mask: np.ndarray, full_block: np.ndarray) -> dict[str, np.ndarray]:
        has_nan = np.isnan(column_sums(full_block))
        return with_nan_columns(fit_clean(mask, full_block[:, ~has_nan]), has_nan)

    def fit_clean(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
        q = (full_q if mask.all() else covariate_basis(c_rows[mask]).q) * np.sqrt(mask.sum())
        yy, kk = y_rows[mask], k_rows[mask]
        onehot = (kk[:, None] == np.arange(n_strata)[None, :]).astype(float)
        f = block.shape[1]
        stat = np.full(f, np.nan)
        for j in range(f):
            x = block[:, j]
            if np.ptp(x) == 0:
                continue
            _, _, ll_red, ok_red = fit_single(np.column_stack([q, x]), y=yy, firth=False)
            _, _, ll_full, ok_full = fit_single(np.column_stack([q, x[:, None] * onehot]), y=yy, firth=False)
            if ok_red and ok_full:
                stat[j] = max(2.0 * (ll_full - ll_red), 0.0)
        df = float(n_strata - 1)
        return {
            "beta": np.full(f, np.nan),
            "stat": stat,
            "pvalue": sps.chi2.sf(stat, df),
            "df": np.full(f, df),
        }

    return scan(features, fit_block=fit, rows=rows)
