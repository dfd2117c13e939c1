"""A genotype baseline for model features: do they carry more, less or other signal than the genotypes?

For each gene, expression (residualised on the covariates and ancestry PCs, as PrediXcan does before
training) is predicted across individuals by cross-validated elastic net twice, with identical folds:
from the gene's model features and from its cis genotypes (variant dosages within a window of the TSS).
Out-of-fold predictions give, per gene, R² (``1 - SS_res / SS_tot``), the across-individual Pearson r,
and whether that r is positive (sign concordance, as Huang et al. 2023 and Sasse et al. 2023 count
genes whose predicted and observed variation across people agree in direction), plus the correlation
between the two predictions (do features and genotypes see the same signal?).

Within each outer fold, the elastic net's penalty is chosen by an inner cross-validation on the training
samples only (scikit-learn ``ElasticNetCV``), after standardising the predictors on those samples.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold

from genolens.errors import ConfigError
from genolens.stats.ols import covariate_basis
from genolens.stats.results import BASELINE_CI_COLUMNS, BASELINE_COLUMNS
from genolens.stats.standardise import Standardiser


@dataclass(frozen=True)
class BaselineConfig:
    """Folds, elastic-net settings, the margin of R² within which features 'match' genotypes, and the seed.

    The penalties tried run from the smallest that zeroes every coefficient down to ``min_alpha_ratio`` of it
    (``n_alphas`` on a log scale), as glmnet and PrediXcan do (their ratio: 0.01 when n < p). Confidence
    intervals (``level``) of each R² and of their difference come from ``n_bootstrap`` resamples of the
    individuals' out-of-fold predictions (paired: the same resample for both sides).
    """

    folds: int = 5
    inner_folds: int = 3
    l1_ratio: float = 0.5
    n_alphas: int = 20
    min_alpha_ratio: float = 0.01
    margin: float = 0.02
    n_bootstrap: int = 1000
    level: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.folds < 2 or self.inner_folds < 2:
            raise ConfigError(f"folds and inner_folds must be >= 2, got {self.folds} and {self.inner_folds}")
        if not 0.0 < self.l1_ratio <= 1.0:
            raise ConfigError(f"l1_ratio must be in (0, 1], got {self.l1_ratio}")
        if self.n_alphas < 1:
            raise ConfigError(f"n_alphas must be >= 1, got {self.n_alphas}")
        if not 0.0 < self.min_alpha_ratio < 1.0:
            raise ConfigError(f"min_alpha_ratio must be in (0, 1), got {self.min_alpha_ratio}")
        if self.margin < 0:
            raise ConfigError(f"margin must be >= 0, got {self.margin}")
        if self.n_bootstrap < 10:
            raise ConfigError(f"n_bootstrap must be >= 10, got {self.n_bootstrap}")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"level must be in (0, 1), got {self.level}")

    def to_dict(self) -> dict:
        return asdict(self)


def cv_predict(x: np.ndarray, y: np.ndarray, *, folds: list[tuple[np.ndarray, np.ndarray]],
               config: BaselineConfig) -> np.ndarray:
    """Out-of-fold elastic-net predictions of ``y`` from ``x`` (samples x predictors) over the given folds.

    Parameters
    ----------
    x
        Predictors (complete).
    y
        Outcome.
    folds
        ``(train, test)`` index pairs covering every sample once as test.
    config
        Inner folds, ``l1_ratio``, number of penalties, seed.

    Returns
    -------
    numpy.ndarray
        One prediction per sample (the training mean where no predictor varies in a fold).
    """
    pred = np.empty_like(y, dtype=float)
    for train, test in folds:
        # centring, scaling and dropping the columns constant up to float noise, fitted on the training fold
        # only: a column with an SD of 1e-11 there, divided by it, turned a held-out sample's real difference
        # into a value of 1e10 and the fold's R² into -23,263 (CRELD2 on the dense main job)
        scaler = Standardiser().fit(x[train])
        varies = scaler.varying_
        if not varies.any():
            pred[test] = y[train].mean()
            continue
        z_train = scaler.transform(x[train])[:, varies]
        z_test = scaler.transform(x[test])[:, varies]
        yt = y[train] - y[train].mean()
        top = float(np.abs(z_train.T @ yt).max()) / (len(train) * config.l1_ratio)  # smallest all-zero penalty
        alphas = np.geomspace(top, top * config.min_alpha_ratio, config.n_alphas) if top > 0 else np.array([1.0])
        model = ElasticNetCV(l1_ratio=config.l1_ratio, alphas=alphas, max_iter=5000,
                             cv=KFold(config.inner_folds, shuffle=True, random_state=config.seed))
        with warnings.catch_warnings():  # the smallest penalties may stop short of tol; they are rarely chosen
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(z_train, y[train])
        pred[test] = model.predict(z_test)
    return pred


def prediction_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R², Pearson r and its sign (1, -1, or 0 when a side is constant) of out-of-fold predictions."""
    resid = y - pred
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / total if total > 0 else float("nan")
    r = float(np.corrcoef(y, pred)[0, 1]) if pred.std() > 0 and y.std() > 0 else 0.0
    return {"r2": r2, "r": r, "sign": float(np.sign(r))}


def bootstrap_r2(y: np.ndarray, predictions: list[np.ndarray], *, n_bootstrap: int, seed: int) -> np.ndarray:
    """R² of each prediction on the same ``n_bootstrap`` resamples of the individuals (resamples x predictions).

    Parameters
    ----------
    y
        Outcome.
    predictions
        Out-of-fold predictions of ``y``, each one per individual.
    n_bootstrap
        Resamples (with replacement, of all individuals).
    seed
        Seed of the resamples.

    Returns
    -------
    numpy.ndarray
        ``n_bootstrap x len(predictions)`` R² values (NaN where a resample's outcome is constant).
    """
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_bootstrap, len(y)))
    yb = y[idx]
    total = ((yb - yb.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    out = np.empty((n_bootstrap, len(predictions)))
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, pred in enumerate(predictions):
            out[:, j] = np.where(total > 0, 1.0 - ((yb - pred[idx]) ** 2).sum(axis=1) / total, np.nan)
    return out


def genotype_baseline(
    features: np.ndarray,
    *,
    genotypes: np.ndarray,
    phenotypes: pd.DataFrame,
    feature_groups: dict[str, np.ndarray],
    variant_groups: dict[str, np.ndarray],
    covariates: np.ndarray,
    config: BaselineConfig = BaselineConfig(),
) -> pd.DataFrame:
    """Per gene: cross-validated prediction of expression from its features and from its cis genotypes.

    Parameters
    ----------
    features
        Samples x model features (a feature with a missing sample is left out).
    genotypes
        Samples x variant dosages, rows aligned with ``features``.
    phenotypes
        Samples x phenotypes, rows aligned (a gene's samples with missing expression are dropped).
    feature_groups, variant_groups
        Phenotype ID -> its feature columns / its cis variant columns. Genes in both are compared.
    covariates
        Covariates and ancestry PCs (intercept first): expression is residualised on them.
    config
        Folds, elastic-net settings, seed.

    Returns
    -------
    pandas.DataFrame
        :data:`BASELINE_COLUMNS` and :data:`BASELINE_CI_COLUMNS`; ``verdict`` is ``beat``/``miss`` where the
        features' R² is above/below the genotypes' by more than ``config.margin`` and the confidence interval
        of the difference excludes 0, else ``match``; ``*_low``/``*_high``: the bootstrap confidence bounds.
    """
    rows = []
    for gene in [g for g in feature_groups if g in variant_groups]:
        y_all = phenotypes[gene].to_numpy(dtype=float)
        ok = np.isfinite(y_all)
        basis = covariate_basis(np.asarray(covariates, dtype=float)[ok])
        y = y_all[ok] - basis.q @ (basis.q.T @ y_all[ok])
        xf = features[np.ix_(ok, feature_groups[gene])]
        xf = xf[:, np.isfinite(xf).all(axis=0)]
        xg = genotypes[np.ix_(ok, variant_groups[gene])]
        xg = xg[:, np.isfinite(xg).all(axis=0)]
        folds = list(KFold(config.folds, shuffle=True, random_state=config.seed).split(y))
        pf = cv_predict(xf, y, folds=folds, config=config) if xf.shape[1] else np.full(y.shape, y.mean())
        pg = cv_predict(xg, y, folds=folds, config=config) if xg.shape[1] else np.full(y.shape, y.mean())
        mf, mg = prediction_metrics(y, pf), prediction_metrics(y, pg)
        between = float(np.corrcoef(pf, pg)[0, 1]) if pf.std() > 0 and pg.std() > 0 else float("nan")
        delta = mf["r2"] - mg["r2"]
        boot = bootstrap_r2(y, [pf, pg], n_bootstrap=config.n_bootstrap, seed=config.seed)
        tails = [100 * (1 - config.level) / 2, 100 * (1 + config.level) / 2]
        (f_lo, f_hi), (g_lo, g_hi) = np.nanpercentile(boot, tails, axis=0).T
        d_lo, d_hi = np.nanpercentile(boot[:, 0] - boot[:, 1], tails)
        verdict = ("beat" if delta > config.margin and d_lo > 0 else "miss" if delta < -config.margin and d_hi < 0
                   else "match")
        rows.append((gene, xf.shape[1], xg.shape[1], mf["r2"], mf["r"], mf["sign"], mg["r2"], mg["r"], mg["sign"],
                     between, delta, verdict, f_lo, f_hi, g_lo, g_hi, d_lo, d_hi))
    return pd.DataFrame(rows, columns=list(BASELINE_COLUMNS + BASELINE_CI_COLUMNS))


def variant_windows(sites: pd.DataFrame, positions: pd.DataFrame, *, window: int) -> dict[str, np.ndarray]:
    """Phenotype ID -> indices of the variants within ``window`` bp of its TSS (both ends included, as tensorQTL).

    Parameters
    ----------
    sites
        Variants: ``contig`` and 1-based ``pos`` (``chr`` prefixes are ignored when matching contigs).
    positions
        Phenotypes: ``chr`` and ``end`` (the TSS, as tensorQTL reads a phenotype BED).
    window
        Bp either side.

    Returns
    -------
    dict
        Phenotypes with at least one variant.
    """
    contig = sites["contig"].astype(str).str.removeprefix("chr").to_numpy()
    pos = sites["pos"].to_numpy()
    out = {}
    for gene, (chrom, tss) in positions[["chr", "end"]].iterrows():
        on = contig == str(chrom).removeprefix("chr")
        idx = np.flatnonzero(on & (pos >= int(tss) - window) & (pos <= int(tss) + window))
        if idx.size:
            out[str(gene)] = idx
    return out


def variant_regions(sites: pd.DataFrame, regions: dict[str, list[tuple[str, int, int]]]) -> dict[str, np.ndarray]:
    """Phenotype ID -> indices of the variants inside its own regions (the bases its features were read from).

    Parameters
    ----------
    sites
        Variants: ``contig`` and 1-based ``pos`` (``chr`` prefixes are ignored when matching contigs).
    regions
        Phenotype ID -> its regions as ``(contig, start, end)``, 0-based half-open (BED): a variant at 1-based
        ``pos`` is inside when ``start < pos <= end``.

    Returns
    -------
    dict
        Phenotypes with at least one variant; indices sorted, each variant once.
    """
    contig = sites["contig"].astype(str).str.removeprefix("chr").to_numpy()
    pos = sites["pos"].to_numpy()
    out = {}
    for gene, intervals in regions.items():
        inside = np.zeros(len(pos), dtype=bool)
        for chrom, start, end in intervals:
            inside |= (contig == str(chrom).removeprefix("chr")) & (pos > int(start)) & (pos <= int(end))
        if inside.any():
            out[str(gene)] = np.flatnonzero(inside)
    return out
