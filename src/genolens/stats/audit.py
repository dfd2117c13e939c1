"""Embedding audit: how much ancestry can a linear probe read from per-sample features?

A cross-validated linear probe predicts the population label (multinomial
logistic regression; accuracy and balanced accuracy) and each ancestry PC
(ridge regression; R^2) from the embeddings or features. Scores are computed
on pooled out-of-fold predictions; confidence intervals come from a bootstrap
of those predictions over samples; the permutation null refits the whole
cross-validation with the target shuffled, and its p-value is
``(1 + #{null >= observed}) / (1 + n_permutations)``. Missing feature values are
mean-imputed inside each training fold; samples missing the target are dropped
(and counted). Features that barely vary over the samples (:mod:`genolens.stats.screen`) are left out
before probing (counted in the summary): standardised inside a training fold where they happen to be
nearly constant, a single carrier in the test fold gets a value of 1e5 standard deviations and the
probe's predictions explode. The ridge penalties tried reach 1e7, as many thousand correlated features
need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from genolens.errors import ConfigError
from genolens.stats.results import AuditResult
from genolens.stats.screen import feature_spread
from genolens.stats.standardise import Standardiser


@dataclass(frozen=True)
class AuditConfig:
    """Cross-validation, permutation and bootstrap settings of the probe."""

    n_folds: int = 5
    n_permutations: int = 100
    n_bootstrap: int = 1000
    confidence: float = 0.95
    seed: int = 0
    c: float = 1.0

    def __post_init__(self) -> None:
        if self.n_folds < 2:
            raise ConfigError(f"n_folds must be >= 2, got {self.n_folds}")
        if self.n_permutations < 0 or self.n_bootstrap < 0:
            raise ConfigError("n_permutations and n_bootstrap must be >= 0")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        if not self.c > 0:
            raise ConfigError(f"c (inverse regularisation) must be > 0, got {self.c}")


def _embedding(adata: ad.AnnData, use_rep: str | None) -> np.ndarray:
    if use_rep is None:
        x = adata.X
    elif use_rep in adata.obsm:
        x = adata.obsm[use_rep]
    else:
        raise ConfigError(f"representation {use_rep!r} not in obsm", hint=f"obsm keys: {list(adata.obsm)}")
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    return np.asarray(x, dtype=np.float64)


def _classifier(config: AuditConfig):
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        Standardiser(),
        LogisticRegression(C=config.c, max_iter=2000),
    )


def _regressor():
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        Standardiser(),
        RidgeCV(alphas=np.logspace(-3, 7, 21), alpha_per_target=True),
    )


def _r2(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    ss_res = ((y - pred) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - ss_res / ss_tot


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    return float(np.quantile(samples, tail)), float(np.quantile(samples, 1.0 - tail))


def probe_labels(x: np.ndarray, *, labels: np.ndarray, config: AuditConfig = AuditConfig()) -> list[dict]:
    """Cross-validated probe features -> labels: accuracy and balanced accuracy with CI and permutation p."""
    classes, counts = np.unique(labels, return_counts=True)
    if classes.size < 2:
        raise ConfigError(f"labels need at least two classes, found {list(classes)}")
    if counts.min() < config.n_folds:
        small = [str(c) for c, k in zip(classes, counts, strict=True) if k < config.n_folds]
        raise ConfigError(
            f"classes {small} have fewer samples than the {config.n_folds} CV folds",
            hint="merge rare labels, drop them, or lower the number of folds",
        )
    rng = np.random.default_rng(config.seed)
    folds = StratifiedKFold(config.n_folds, shuffle=True, random_state=config.seed)

    def oof(target: np.ndarray) -> np.ndarray:
        return cross_val_predict(_classifier(config), x, target, cv=folds)

    metrics = {
        "accuracy": lambda t, p: float(np.mean(t == p)),
        "balanced_accuracy": lambda t, p: float(balanced_accuracy_score(t, p)),
    }
    pred = oof(labels)
    null_preds = []
    for _ in range(config.n_permutations):
        perm = rng.permutation(labels)
        null_preds.append((perm, oof(perm)))
    boot_idx = [rng.integers(0, len(labels), len(labels)) for _ in range(config.n_bootstrap)]
    chance = {"accuracy": float(counts.max() / counts.sum()), "balanced_accuracy": 1.0 / classes.size}
    rows = []
    for name, fn in metrics.items():
        score = fn(labels, pred)
        null = np.array([fn(t, p) for t, p in null_preds])
        boot = np.array([fn(labels[i], pred[i]) for i in boot_idx])
        low, high = _interval(boot, config.confidence)
        rows.append(
            {
                "metric": name,
                "score": score,
                "ci_low": low,
                "ci_high": high,
                "chance": chance[name],
                "null_mean": float(null.mean()) if null.size else float("nan"),
                **dict(zip(("null_low", "null_high"), _interval(null, config.confidence), strict=True)),
                "perm_pvalue": float((1 + (null >= score).sum()) / (1 + null.size)) if null.size else float("nan"),
            }
        )
    return rows


def probe_continuous(
    x: np.ndarray, *, targets: np.ndarray, names: Sequence[str], config: AuditConfig = AuditConfig()
) -> list[dict]:
    """Cross-validated ridge probe features -> each continuous target (e.g. PCs): R^2, CI, permutation p."""
    rng = np.random.default_rng(config.seed + 1)
    folds = KFold(config.n_folds, shuffle=True, random_state=config.seed)
    t = np.asarray(targets, dtype=float).reshape(len(x), -1)
    pred = cross_val_predict(_regressor(), x, t, cv=folds).reshape(t.shape)
    score = _r2(t, pred)
    null = np.array(
        [
            _r2(tp, cross_val_predict(_regressor(), x, tp, cv=folds).reshape(t.shape))
            for tp in (t[rng.permutation(len(t))] for _ in range(config.n_permutations))
        ]
    ).reshape(-1, t.shape[1])
    boot = np.array(
        [_r2(t[i], pred[i]) for i in (rng.integers(0, len(t), len(t)) for _ in range(config.n_bootstrap))]
    ).reshape(-1, t.shape[1])
    rows = []
    for j, name in enumerate(names):
        low, high = _interval(boot[:, j], config.confidence)
        rows.append(
            {
                "target": name,
                "metric": "r2",
                "score": float(score[j]),
                "ci_low": low,
                "ci_high": high,
                "chance": 0.0,
                "null_mean": float(null[:, j].mean()) if len(null) else float("nan"),
                **dict(zip(("null_low", "null_high"), _interval(null[:, j], config.confidence), strict=True)),
                "perm_pvalue": float((1 + (null[:, j] >= score[j]).sum()) / (1 + len(null)))
                if len(null)
                else float("nan"),
            }
        )
    return rows


def embedding_audit(
    adata: ad.AnnData,
    *,
    labels: str | None = None,
    pcs: Sequence[str] = (),
    use_rep: str | None = None,
    config: AuditConfig = AuditConfig(),
) -> AuditResult:
    """Probe ``adata`` (X or ``obsm[use_rep]``) for the population label ``labels`` and each PC column."""
    if labels is None and not pcs:
        raise ConfigError("nothing to audit: give a label column and/or PC columns")
    x = _embedding(adata, use_rep)
    spread = feature_spread(x)
    obs = adata.obs
    rows: list[dict] = []
    summary: dict[str, Any] = {
        "config": asdict(config),
        "n_samples": int(len(obs)),
        "n_features": int(x.shape[1]),
        "n_features_probed": int((~spread.untestable).sum()),
        "n_features_untestable": {str(k): int(v) for k, v in
                                  pd.Series(spread.reason[spread.untestable]).value_counts().items()},
    }
    if spread.untestable.all():
        raise ConfigError("no feature varies enough over the samples to be probed",
                          hint=f"untestable: {summary['n_features_untestable']}")
    x = x[:, ~spread.untestable]
    if labels is not None:
        if labels not in obs.columns:
            raise ConfigError(f"label column {labels!r} not found in the sample table")
        present = obs[labels].notna().to_numpy()
        y = obs[labels].astype(str).to_numpy()[present]
        rows += [{"target": labels, **r} for r in probe_labels(x[present], labels=y, config=config)]
        summary["n_dropped_missing_label"] = int((~present).sum())
        summary["classes"] = {str(k): int(v) for k, v in pd.Series(y).value_counts().items()}
    if pcs:
        missing = [p for p in pcs if p not in obs.columns]
        if missing:
            raise ConfigError(f"PC columns {missing} not found in the sample table")
        t = obs[list(pcs)].to_numpy(dtype=float)
        present = np.isfinite(t).all(axis=1)
        rows += probe_continuous(x[present], targets=t[present], names=list(pcs), config=config)
        summary["n_dropped_missing_pcs"] = int((~present).sum())
    table = pd.DataFrame(
        rows, columns=["target", "metric", "score", "ci_low", "ci_high", "chance", "null_mean", "perm_pvalue"]
    )
    table["perm_pvalue_floor"] = 1.0 / (config.n_permutations + 1)
    return AuditResult(table=table, summary=summary)
