"""Cis mapping: each phenotype (gene) against the features of its own window(s), with gene-level p-values.

The math is tensorQTL's ``map_cis`` (Taylor-Weiner et al. 2019), itself fastQTL's (Ongen et al. 2016):

- phenotype and features are residualised on the covariates (intercept, covariates, ancestry PCs);
  each feature's correlation ``r`` with the phenotype gives the nominal test, ``t^2 = dof r^2 / (1 - r^2)``
  with ``dof = n - 2 - (covariates without intercept)``: the OLS t-test of the feature given the
  covariates. The best feature is the one with the largest ``r^2``;
- the raw phenotype is permuted (the same permutations for every gene: ``numpy.random.RandomState(seed)``
  drawing ``permutation(n)`` in turn, as tensorQTL does with ``np.random.seed``), residualised, and the
  maximum ``r^2`` over the gene's features kept for each permutation; ``pval_perm`` counts them;
- beta approximation: the effective degrees of freedom ``true_df`` are found by Newton's method on
  ``log`` of the first Beta shape (moment-matched from the permutation p-values), which should be 1;
  the p-values of the permutation maxima at ``true_df`` are then fitted by a Beta(``a``, ``b``) by
  maximum likelihood (Nelder-Mead from the moment estimates), and
  ``pval_beta = BetaCDF(pval_true_df)``, with ``pval_true_df`` the nominal best ``r^2`` read at ``true_df``.

tensorQTL computes q-values with R's ``qvalue`` (Storey); genolens uses Benjamini-Hochberg over genes
(Storey's with pi0 = 1: never smaller, so at least as conservative).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.optimize
from scipy import stats as sps
from scipy.special import loggamma, stdtr

from genolens.errors import ConfigError, InputFileError, InputFormatError
from genolens.stats.confound import categorise, explained_variance
from genolens.stats.effect_change import ols_change_sandwich
from genolens.stats.multiple_testing import bh_qvalues
from genolens.stats.ols import covariate_basis
from genolens.stats.results import CIS_COLUMNS, CIS_CONFOUND_COLUMNS
from genolens.stats.screen import VariationThresholds, feature_spread


@dataclass(frozen=True)
class CisConfig:
    """Which features belong to a gene, and the permutations.

    ``window``: features of regions that overlap ``[TSS - window, TSS + window]`` (bp); None: the regions
    named like the gene (or listed for it in a mapping). ``variation``: a feature that does not vary enough
    over a gene's samples (:mod:`genolens.stats.screen`) is left out of that gene's scan.
    """

    window: int | None = None
    n_permutations: int = 1000
    seed: int = 0
    variation: VariationThresholds = field(default_factory=VariationThresholds)

    def __post_init__(self) -> None:
        if self.window is not None and self.window < 0:
            raise ConfigError(f"window must be >= 0 bp, got {self.window}")
        if self.n_permutations < 10:
            raise ConfigError(f"n_permutations must be >= 10 (the beta fit needs them), got {self.n_permutations}")

    def to_dict(self) -> dict:
        return asdict(self)


def permutation_indices(n: int, *, n_permutations: int, seed: int) -> np.ndarray:
    """``n_permutations x n`` permutations, the ones tensorQTL draws for the same seed."""
    rng = np.random.RandomState(seed)  # the legacy generator: the stream tensorQTL's np.random.seed gives
    return np.array([rng.permutation(n) for _ in range(n_permutations)])


def pval_from_corr(r2: np.ndarray | float, dof: float) -> np.ndarray:
    """Two-sided t-test p-value of a squared correlation with ``dof`` degrees of freedom."""
    r2 = np.asarray(r2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.sqrt(dof * r2 / (1.0 - r2))
    return 2.0 * stdtr(dof, -np.abs(t))  # Student t CDF (what scipy.stats.t.cdf calls, without its overhead)


def _beta_shape1(r2: np.ndarray, dof: float) -> float:
    p = pval_from_corr(r2, dof)
    mean, var = np.mean(p), np.var(p)
    return mean * (mean * (1.0 - mean) / var - 1.0)


def _beta_nll(log_sums: tuple[float, float, int], a: float, b: float) -> float:
    """Negative Beta log-likelihood from ``(sum log x, sum log(1 - x), n)`` (tensorQTL's, sums taken once)."""
    s1, s2, n = log_sums
    logbeta = loggamma(a) + loggamma(b) - loggamma(a + b)
    return (1.0 - a) * s1 + (1.0 - b) * s2 + n * logbeta


def beta_approximation(r2_perm: np.ndarray, *, r2_nominal: float, dof: float, tol: float = 1e-4) -> dict[str, float]:
    """tensorQTL's beta-approximated p-value of the best nominal ``r^2`` from permutation maxima.

    Parameters
    ----------
    r2_perm
        Maximum ``r^2`` over the gene's features in each permutation.
    r2_nominal
        The best observed ``r^2``.
    dof
        Starting degrees of freedom (``n - 2 - covariates``).
    tol
        Tolerance of the root finding and of the likelihood fit.

    Returns
    -------
    dict
        ``pval_beta``, ``beta_shape1``, ``beta_shape2``, ``true_df``, ``pval_true_df``.
    """
    r2_perm = np.asarray(r2_perm, dtype=float)
    try:
        log_dof = scipy.optimize.newton(lambda x: np.log(_beta_shape1(r2_perm, np.exp(x))), np.log(dof), tol=tol,
                                        maxiter=50)
        true_dof = float(np.exp(log_dof))
    except (RuntimeError, ValueError, FloatingPointError):  # as tensorQTL: fall back to minimisation
        res = scipy.optimize.minimize(lambda x: np.abs(_beta_shape1(r2_perm, x[0]) - 1.0), [dof],
                                      method="Nelder-Mead", tol=tol)
        true_dof = float(res.x[0])
    p = pval_from_corr(r2_perm, true_dof)
    mean, var = np.mean(p), np.var(p)
    a0 = mean * (mean * (1.0 - mean) / var - 1.0)
    b0 = a0 * (1.0 / mean - 1.0)
    log_sums = (float(np.sum(np.log(p))), float(np.sum(np.log(1.0 - p))), len(p))
    fit = scipy.optimize.minimize(lambda s: _beta_nll(log_sums, s[0], s[1]), [a0, b0], method="Nelder-Mead",
                                  tol=tol)
    a, b = (float(v) for v in fit.x)
    p_true = float(pval_from_corr(r2_nominal, true_dof))
    return {"pval_beta": float(sps.beta.cdf(p_true, a, b)), "beta_shape1": a, "beta_shape2": b,
            "true_df": true_dof, "pval_true_df": p_true}


def _standardise(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns scaled to unit norm (they are centred already), and their sums of squares."""
    ss = np.einsum("ij,ij->j", m, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        return m / np.sqrt(ss), ss


def cis_permutations(
    x: np.ndarray, y: np.ndarray, *, q: np.ndarray, permutations: np.ndarray
) -> dict[str, np.ndarray | float | int]:
    """Nominal and permutation correlations of one phenotype with its features.

    Parameters
    ----------
    x
        Samples x features (complete; constant features are the caller's to drop).
    y
        The phenotype (complete).
    q
        Orthonormal basis of the covariates, intercept included (samples x rank).
    permutations
        ``n_permutations x samples`` indices.

    Returns
    -------
    dict
        ``r`` (every feature's residual correlation), ``best`` (index of the largest ``r^2``),
        ``std_ratio`` (residual SD of the phenotype over the best feature's), ``r2_perm`` (permutation maxima),
        ``xss`` and ``yss`` (residual sums of squares of the features and of the phenotype).
    """
    xr = x - q @ (q.T @ x)
    xs, xss = _standardise(xr)
    yr = y - q @ (q.T @ y)
    yss = float(yr @ yr)
    r_nominal = (xs.T @ yr) / np.sqrt(yss)
    best = int(np.nanargmax(np.where(np.isnan(r_nominal), -1.0, r_nominal**2)))
    # Permutations: the residualised features are orthogonal to q, so x_res' y_perm,res = x_res' y_perm, and
    # |y_perm,res|^2 = |y|^2 - |q' y_perm|^2 (q spans the intercept): no residualised copy of every permutation.
    # The products run in float32, as tensorQTL's do; the nominal statistics above stay in float64.
    yc = y - y.mean()  # the same residuals (q spans the intercept), without a large mean to cancel
    yp = yc[permutations.T]  # samples x permutations
    qyp = q.T @ yp
    norms = float(yc @ yc) - np.einsum("ij,ij->j", qyp, qyp)
    cross = xs.T.astype(np.float32) @ yp.astype(np.float32)
    r2_perm = np.nanmax(cross.astype(float) ** 2, axis=0) / norms
    return {"r": r_nominal, "best": best, "std_ratio": float(np.sqrt(yss / xss[best])), "r2_perm": r2_perm,
            "xss": xss, "yss": yss}


@dataclass
class CisScan:
    """Per gene (``table``) and per gene x feature (``nominal``) results, and what was skipped."""

    table: pd.DataFrame
    nominal: pd.DataFrame
    skipped: dict[str, str]


def cis_map(
    features: np.ndarray,
    *,
    feature_names: list[str],
    phenotypes: pd.DataFrame,
    groups: dict[str, np.ndarray],
    reduced: np.ndarray,
    full: np.ndarray,
    config: CisConfig = CisConfig(),
    alpha: float = 0.05,
    min_fraction: float = 0.5,
    min_fraction_low: float = 0.25,
) -> CisScan:
    """Map every phenotype against its own features, with and without the ancestry terms.

    Parameters
    ----------
    features
        Samples x features (NaN = missing: a feature with a missing sample is left out of its genes).
    feature_names
        One name per feature column.
    phenotypes
        Samples x phenotypes, rows aligned with ``features`` (NaN: the sample is dropped for that gene).
    groups
        Phenotype ID -> column indices of its features.
    reduced, full
        Covariates (intercept first) without and with the ancestry PCs; ``full`` starts with ``reduced``.
    config
        Permutations and seed.
    alpha, min_fraction, min_fraction_low
        Category settings (:func:`genolens.stats.confound.categorise`).

    Returns
    -------
    CisScan
        ``table``: one row per mapped gene, :data:`CIS_COLUMNS` then :data:`CIS_CONFOUND_COLUMNS`;
        ``nominal``: every gene x feature pair (``phenotype_id, feature_id, pval_nominal, slope, slope_se,
        slope_per_sd, slope_se_per_sd``). ``slope`` is per unit of the feature (tensorQTL's), ``slope_per_sd``
        per SD of the feature over the gene's samples.
    """
    x_all = np.asarray(features, dtype=float)
    n = x_all.shape[0]
    k_reduced = reduced.shape[1]
    base_perms = permutation_indices(n, n_permutations=config.n_permutations, seed=config.seed)
    rows, nominal, skipped = [], [], {}
    for gene, idx in groups.items():
        y_all = phenotypes[gene].to_numpy(dtype=float)
        ok = np.isfinite(y_all)
        idx = np.asarray(idx, dtype=int)
        xg = x_all[np.ix_(ok, idx)]
        spread = feature_spread(xg, thresholds=config.variation)
        usable = np.isfinite(xg).all(axis=0) & ~spread.untestable
        if not usable.any():
            skipped[gene] = "no feature" if idx.size == 0 else "no usable feature (missing or not varying)"
            continue
        xg, idx, sd = xg[:, usable], idx[usable], spread.sd[usable]
        y, c_r, c_f = y_all[ok], reduced[ok], full[ok]
        m = int(ok.sum())
        perms = base_perms if ok.all() else permutation_indices(m, n_permutations=config.n_permutations,
                                                                   seed=config.seed)
        basis = covariate_basis(c_f)
        dof = m - 1 - basis.rank
        res = cis_permutations(xg, y, q=basis.q, permutations=perms)
        r = res["r"]
        with np.errstate(divide="ignore", invalid="ignore"):
            t2 = dof * r**2 / (1.0 - r**2)
            slopes = r * np.sqrt(res["yss"] / res["xss"])
            ses = np.abs(slopes) / np.sqrt(t2)
        nominal.append(pd.DataFrame({"phenotype_id": gene, "feature_id": [feature_names[i] for i in idx],
                                     "pval_nominal": pval_from_corr(r**2, dof), "slope": slopes, "slope_se": ses,
                                     "slope_per_sd": slopes * sd, "slope_se_per_sd": ses * sd}))
        best = res["best"]
        r2 = float(r[best] ** 2)
        beta = beta_approximation(res["r2_perm"], r2_nominal=r2, dof=dof)
        xb = xg[:, [best]]
        change = ols_change_sandwich(xb, y=y, reduced=c_r, full=c_f)
        unadj_basis = covariate_basis(c_r)
        xu = xb[:, 0] - unadj_basis.q @ (unadj_basis.q.T @ xb[:, 0])
        yu = y - unadj_basis.q @ (unadj_basis.q.T @ y)
        r2_u = float((xu @ yu) ** 2 / ((xu @ xu) * (yu @ yu)))
        p_true_u = pval_from_corr(r2_u, beta["true_df"])
        rows.append({
            "phenotype_id": gene, "num_var": int(idx.size), "beta_shape1": beta["beta_shape1"],
            "beta_shape2": beta["beta_shape2"], "true_df": beta["true_df"], "pval_true_df": beta["pval_true_df"],
            "feature_id": feature_names[idx[best]], "pval_nominal": float(pval_from_corr(r2, dof)),
            "slope": float(slopes[best]), "slope_se": float(ses[best]),
            "pval_perm": (np.sum(res["r2_perm"] >= r2) + 1) / (config.n_permutations + 1),
            "pval_beta": beta["pval_beta"], "qval": np.nan,
            "slope_unadjusted": float(change["beta_reduced"][0]),
            "pval_nominal_unadjusted": float(pval_from_corr(r2_u, m - 1 - unadj_basis.rank)),
            "pval_beta_unadjusted": float(sps.beta.cdf(p_true_u, beta["beta_shape1"], beta["beta_shape2"])),
            **{name: float(change[name][0]) for name in ("beta_change", "se_change", "pvalue_change",
                                                         "fraction_explained", "fraction_explained_low",
                                                         "fraction_explained_high")},
            "ancestry_r2": float(explained_variance(xb, predictors=c_f[:, k_reduced:])[0])
            if c_f.shape[1] > k_reduced else np.nan,
            "slope_per_sd": float(slopes[best] * sd[best]), "slope_se_per_sd": float(ses[best] * sd[best]),
            "feature_sd": float(sd[best]), "num_var_untestable": int((~usable).sum()),
        })
    table = pd.DataFrame(rows, columns=[c for c in CIS_COLUMNS + CIS_CONFOUND_COLUMNS
                                        if c not in ("qval_unadjusted", "qvalue_change", "category")])
    if len(table):
        table["qval"] = bh_qvalues(table["pval_beta"].to_numpy())
        table["qval_unadjusted"] = bh_qvalues(table["pval_beta_unadjusted"].to_numpy())
        table["qvalue_change"] = bh_qvalues(table["pvalue_change"].to_numpy())
        ancestry = full.shape[1] > k_reduced
        table["category"] = categorise(
            qvalue=table["qval"].to_numpy(), qvalue_unadjusted=table["qval_unadjusted"].to_numpy(),
            qvalue_change=table["qvalue_change"].to_numpy() if ancestry else np.full(len(table), np.nan),
            beta=table["slope"].to_numpy(), beta_unadjusted=table["slope_unadjusted"].to_numpy(),
            fraction=table["fraction_explained"].to_numpy(), fraction_low=table["fraction_explained_low"].to_numpy(),
            alpha=alpha, min_fraction=min_fraction, min_fraction_low=min_fraction_low,
        )
    else:
        table = pd.DataFrame(columns=list(CIS_COLUMNS + CIS_CONFOUND_COLUMNS))
    table = table[list(CIS_COLUMNS + CIS_CONFOUND_COLUMNS)]
    nominal_table = (pd.concat(nominal, ignore_index=True) if nominal else
                     pd.DataFrame(columns=["phenotype_id", "feature_id", "pval_nominal", "slope", "slope_se",
                                           "slope_per_sd", "slope_se_per_sd"]))
    return CisScan(table=table, nominal=nominal_table, skipped=skipped)


# Effects of a cis table on the phenotype's scale per unit of the feature (scaled by feature_sd per SD).
_EFFECT_COLUMNS = ("slope", "slope_se", "slope_unadjusted", "beta_change", "se_change")


def effects_per_sd(scan: CisScan) -> CisScan:
    """The scan with every effect per SD of the feature (model features read side by side on one scale).

    ``slope``, ``slope_se``, ``slope_unadjusted``, ``beta_change`` and ``se_change`` of the gene table, and
    ``slope``, ``slope_se`` of the nominal table, become per SD of the feature over the gene's samples; the
    per-unit slopes of tensorQTL's convention are kept as ``slope_raw``, ``slope_se_raw``; p-values, q-values
    and categories do not change. The duplicate ``slope_per_sd``/``slope_se_per_sd`` columns are dropped.

    Parameters
    ----------
    scan
        What :func:`cis_map` returned.

    Returns
    -------
    CisScan
        A new scan; ``scan`` is left as it was.
    """
    table = scan.table.copy()
    sd = table["feature_sd"].to_numpy(dtype=float)
    table.insert(table.columns.get_loc("slope_se") + 1, "slope_raw", table["slope"])
    table.insert(table.columns.get_loc("slope_raw") + 1, "slope_se_raw", table["slope_se"])
    for col in _EFFECT_COLUMNS:
        table[col] = table[col].to_numpy(dtype=float) * sd
    nominal = scan.nominal.copy()
    nominal["slope_raw"], nominal["slope_se_raw"] = nominal["slope"], nominal["slope_se"]
    nominal["slope"], nominal["slope_se"] = nominal["slope_per_sd"], nominal["slope_se_per_sd"]
    drop = ["slope_per_sd", "slope_se_per_sd"]
    return CisScan(table=table.drop(columns=drop), nominal=nominal.drop(columns=drop), skipped=dict(scan.skipped))


def cis_groups(
    var: pd.DataFrame,
    positions: pd.DataFrame,
    *,
    window: int | None = None,
    regions: dict[str, tuple[int, int]] | None = None,
    mapping: dict[str, list[str]] | None = None,
) -> dict[str, np.ndarray]:
    """Which feature columns belong to each phenotype.

    Parameters
    ----------
    var
        Feature table with a ``region`` column (``aggregate --regions`` writes it).
    positions
        Phenotype positions (index phenotype ID; ``chr``, ``start``, ``end``: ``end`` is the TSS).
    window
        With a window: the features of every region overlapping ``[TSS - window, TSS + window]``; needs
        ``regions``. Without: the regions named like the phenotype, or listed for it in ``mapping``.
    regions
        Region name -> 0-based half-open ``(start, end)`` (``uns["aggregation"]["regions"]``).
    mapping
        Phenotype ID -> region names (e.g. an Ensembl ID -> ``PRODH_TSS``).

    Returns
    -------
    dict
        Phenotype ID -> feature column indices (phenotypes without any feature are left out).
    """
    if "region" not in var.columns:
        raise ConfigError("the features carry no region (var['region'])",
                          hint="make them with 'genolens aggregate --regions BED' (one region per gene window)")
    region = var["region"].astype(str).to_numpy()
    groups: dict[str, np.ndarray] = {}
    if window is None:
        for gene in positions.index:
            names = (mapping or {}).get(gene, [gene])
            idx = np.flatnonzero(np.isin(region, list(names)))
            if idx.size:
                groups[str(gene)] = idx
        return groups
    if not regions:
        raise ConfigError("a cis window needs the regions' coordinates (uns['aggregation']['regions'])")
    contigs = positions["chr"].unique()
    if len(contigs) > 1:
        raise ConfigError(f"a cis window needs phenotypes on one contig (the regions carry none), found "
                          f"{list(contigs)[:5]}", hint="map by region name instead (no window)")
    for gene, tss in positions["end"].items():
        lo, hi = int(tss) - window, int(tss) + window
        names = [name for name, (start, end) in regions.items() if int(start) < hi and int(end) > lo]
        idx = np.flatnonzero(np.isin(region, names))
        if idx.size:
            groups[str(gene)] = idx
    return groups


def read_cis_map(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Gene ID -> region names from a two-column TSV (``gene_id``, ``region``; a header line is allowed).

    Parameters
    ----------
    path
        The file; a gene may have several lines (several regions).

    Returns
    -------
    dict
        Gene ID -> its region names.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError("cis map not found", path=p)
    out: dict[str, list[str]] = {}
    for lineno, line in enumerate(p.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#") or (lineno == 1 and line.lower().startswith("gene")):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise InputFormatError(f"expected 'gene_id<TAB>region', found {line!r}", path=p, line=lineno)
        out.setdefault(parts[0].strip(), []).append(parts[1].strip())
    if not out:
        raise InputFormatError("no gene -> region line", path=p)
    return out
