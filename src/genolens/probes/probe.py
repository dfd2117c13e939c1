"""Linear probes with grouped cross-validation: what one layer of a model reads, and how well.

A probe is logistic regression for classes (binary or multinomial) and ridge regression for values,
on standardised inputs. Every score is computed on pooled out-of-fold predictions from grouped folds
(a group, e.g. a sample's haplotypes, a region's windows or a cluster of near-identical sequences,
never straddles folds), with a bootstrap over groups for its confidence interval. The same folds
serve every representation (raw activations, SAE features) and the *shuffled-label control*, the
same probe trained on labels permuted across rows, which must sit at chance.

For SAE features the L1 path (L1-penalised probes from strong to weak penalty, on the same folds)
says how many features a sparse probe needs to come within ``l1_tolerance`` of the dense SAE probe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.linear_model import Lasso, LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.multiclass import OneVsRestClassifier

from genolens.errors import ConfigError
from genolens.stats.standardise import Standardiser

Kind = Literal["binary", "multiclass", "regression"]
COLUMNS = ["target", "representation", "metric", "score", "ci_low", "ci_high", "chance"]


@dataclass(frozen=True)
class ProbeConfig:
    """Folds, regularisation, bootstrap and L1-path settings of a probe."""

    n_folds: int = 5
    c: float = 1.0  # inverse L2 regularisation of the logistic probe
    alphas: tuple[float, ...] = tuple(np.logspace(-2, 4, 13).tolist())  # ridge penalties (chosen by inner CV)
    threshold: float = 0.5  # probability above which a binary probe says "yes" (F1)
    n_bootstrap: int = 200
    confidence: float = 0.95
    max_rows: int = 50_000  # rows kept (whole groups, at random) for per-base probes
    row_stride: int = 1  # per-base probes: every n-th row (neighbouring bases are near-copies of each other)
    l1_steps: int = 8
    l1_tolerance: float = 0.02
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))
        if self.n_folds < 2:
            raise ConfigError(f"n_folds must be >= 2, got {self.n_folds}")
        if not self.c > 0 or not self.alphas or min(self.alphas) <= 0:
            raise ConfigError("c and the ridge alphas must be > 0")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.n_bootstrap < 0 or self.max_rows < 2 or self.l1_steps < 0 or self.row_stride < 1:
            raise ConfigError("n_bootstrap and l1_steps must be >= 0, max_rows >= 2, row_stride >= 1")


@dataclass(frozen=True, eq=False)
class Target:
    """One thing to probe for: per-row labels (strings) or values (floats), and its kind."""

    name: str
    y: np.ndarray
    kind: Kind

    @property
    def classes(self) -> tuple[str, ...]:
        return () if self.kind == "regression" else tuple(str(c) for c in np.unique(self.y))


def make_target(name: str, values: np.ndarray, *, kind: str = "auto") -> Target:
    """A :class:`Target`; ``kind="auto"``: regression for numbers with more than two values, else classes."""
    values = np.asarray(values)
    if kind == "auto":
        numeric = values.dtype.kind in "fiu"
        kind = "regression" if numeric and np.unique(values).size > 2 else "classes"
    if kind == "regression":
        return Target(name, values.astype(np.float64), "regression")
    if kind not in ("classes", "binary", "multiclass"):
        raise ConfigError(f"kind must be auto, classes or regression, got {kind!r}")
    y = values.astype(str)
    n = np.unique(y).size
    if n < 2:
        raise ConfigError(f"target {name!r} has a single class ({y[0] if y.size else 'no rows'}): nothing to probe")
    return Target(name, y, "binary" if n == 2 else "multiclass")


def group_folds(groups: np.ndarray, *, n_folds: int, seed: int, y: np.ndarray | None = None) -> np.ndarray:
    """Fold (0..n_folds-1) of every row; all rows of a group share a fold (stratified by ``y`` when given)."""
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    if codes.max(initial=-1) + 1 < n_folds:
        raise ConfigError(
            f"{codes.max(initial=-1) + 1} groups cannot fill {n_folds} cross-validation folds",
            hint="probe more sequences/samples, or lower the number of folds",
        )
    splitter = (StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed) if y is not None
                else GroupKFold(n_folds))
    if y is None:  # GroupKFold does not shuffle: permute group codes instead
        codes = np.random.default_rng(seed).permutation(codes.max() + 1)[codes]
    fold = np.empty(len(codes), dtype=np.int64)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(codes)), y, codes)):
        fold[test] = k
    return fold


def _model(kind: Kind, config: ProbeConfig):  # noqa: ANN202
    if kind == "regression":
        return RidgeCV(alphas=np.asarray(config.alphas))
    return LogisticRegression(C=config.c, max_iter=1000)


def _oof(x: np.ndarray, target: Target, y: np.ndarray, fold: np.ndarray, config: ProbeConfig) -> np.ndarray:
    """Out-of-fold scores: P(positive) [n] (binary), class probabilities [n, k], or predictions [n]."""
    classes = target.classes
    out = np.zeros((len(y), len(classes))) if target.kind == "multiclass" else np.zeros(len(y))
    for k in range(int(fold.max()) + 1):
        train, test = fold != k, fold == k
        scaler = Standardiser().fit(x[train])
        if target.kind != "regression" and np.unique(y[train]).size < len(classes):
            raise ConfigError(
                f"target {target.name!r}: a training fold lacks a class",
                hint="a class lives in too few groups for this many folds; lower the folds or merge classes",
            )
        model = _model(target.kind, config).fit(scaler.transform(x[train]), y[train])
        xt = scaler.transform(x[test])
        if target.kind == "regression":
            out[test] = model.predict(xt)
        elif target.kind == "binary":
            out[test] = model.predict_proba(xt)[:, 1]
        else:
            out[test] = model.predict_proba(xt)
    return out


def auroc(pos: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN without both classes."""
    n_pos = int(pos.sum())
    n_neg = len(pos) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((rankdata(score)[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(pos: np.ndarray, score: np.ndarray) -> float:
    """Average precision, as sklearn defines it (steps at each distinct score); NaN without positives."""
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], pos[order]
    tps = np.cumsum(y)
    if tps[-1] == 0:
        return float("nan")
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    precision = tps[last] / (last + 1)
    recall = tps[last] / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _f1_balanced(y: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> tuple[float, float]:
    """Macro F1 over ``classes`` and balanced accuracy (mean recall over the classes present in ``y``)."""
    f1, recall = [], []
    for c in classes:
        t, p = y == c, pred == c
        tp = float((t & p).sum())
        f1.append(2 * tp / (t.sum() + p.sum()) if t.sum() + p.sum() else 0.0)
        if t.any():
            recall.append(tp / t.sum())
    return float(np.mean(f1)), float(np.mean(recall))


def _metrics(target: Target, y: np.ndarray, score: np.ndarray, config: ProbeConfig) -> dict[str, float]:
    if target.kind == "regression":
        ss = ((y - y.mean()) ** 2).sum()
        return {"r2": float(1 - ((y - score) ** 2).sum() / ss) if ss > 0 else float("nan")}
    classes = target.classes
    if target.kind == "binary":
        pos = y == classes[1]
        call = score >= config.threshold
        f1, balanced = _f1_balanced(pos, call, [True])[0], _f1_balanced(pos, call, [True, False])[1]
        if pos.all() or not pos.any():
            balanced = float("nan")
        return {"auroc": auroc(pos, score), "average_precision": average_precision(pos, score), "f1": f1,
                "balanced_accuracy": balanced}
    pred = np.asarray(classes)[score.argmax(1)]
    f1, balanced = _f1_balanced(y, pred, classes)
    per_class = [auroc(y == c, score[:, j]) for j, c in enumerate(classes)]
    return {"auroc": float(np.nanmean(per_class)) if np.isfinite(per_class).any() else float("nan"),
            "f1": f1, "balanced_accuracy": balanced}


def _chance(target: Target, metric: str) -> float:
    if metric in ("auroc",):
        return 0.5
    if metric == "r2":
        return 0.0
    if metric == "balanced_accuracy":
        return 1.0 / len(target.classes)
    if metric == "average_precision":
        return float(np.mean(target.y == target.classes[1]))
    return float("nan")


def _group_bootstrap(groups: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``n`` bootstrap resamples of whole groups."""
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    members = [order[bounds[g]:bounds[g + 1]] for g in range(len(bounds) - 1)]
    rng = np.random.default_rng(seed)
    return [np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))]) for _ in range(n)]


def _rows(target: Target, name: str, y: np.ndarray, score: np.ndarray, boots: list[np.ndarray],
          config: ProbeConfig) -> list[dict[str, Any]]:
    point = _metrics(target, y, score, config)
    samples = [_metrics(target, y[i], score[i], config) for i in boots]
    tail = (1.0 - config.confidence) / 2.0
    rows = []
    for metric, value in point.items():
        vals = np.array([s[metric] for s in samples], dtype=float)
        vals = vals[np.isfinite(vals)]
        low, high = (np.quantile(vals, tail), np.quantile(vals, 1 - tail)) if vals.size else (np.nan, np.nan)
        rows.append({"target": target.name, "representation": name, "metric": metric, "score": value,
                     "ci_low": float(low), "ci_high": float(high), "chance": _chance(target, metric)})
    return rows


def _headline(target: Target) -> str:
    return "r2" if target.kind == "regression" else "auroc"


def l1_path(x: np.ndarray, target: Target, fold: np.ndarray, config: ProbeConfig) -> pd.DataFrame:
    """Sparse probes from strong to weak L1 penalty on the same folds: features used and headline score."""
    xs = Standardiser().fit_transform(x)
    rows = []
    if target.kind == "regression":
        top = float(np.abs(xs.T @ (target.y - target.y.mean())).max() / len(xs)) or 1.0
        strengths = top * np.logspace(0, -3, config.l1_steps)
    else:
        strengths = np.logspace(-3, 0, config.l1_steps)
    for s in strengths:
        if target.kind == "regression":
            make = lambda s=s: Lasso(alpha=float(s), max_iter=5000)  # noqa: E731
        else:
            make = lambda s=s: OneVsRestClassifier(  # noqa: E731
                LogisticRegression(C=float(s), penalty="l1", solver="liblinear", max_iter=1000))
        score = np.zeros((len(xs), len(target.classes))) if target.kind == "multiclass" else np.zeros(len(xs))
        for k in range(int(fold.max()) + 1):
            train, test = fold != k, fold == k
            model = make().fit(xs[train], target.y[train])
            if target.kind == "regression":
                score[test] = model.predict(xs[test])
            elif target.kind == "binary":
                score[test] = model.predict_proba(xs[test])[:, 1]
            else:
                score[test] = model.predict_proba(xs[test])
        full = make().fit(xs, target.y)
        coef = (full.coef_ if target.kind == "regression"
                else np.vstack([e.coef_ for e in full.estimators_]))
        used = int((np.abs(np.atleast_2d(coef)) > 0).any(axis=0).sum())
        value = _metrics(target, target.y, score, config)[_headline(target)]
        rows.append({"target": target.name, "strength": float(s), "n_features": used, "score": value})
    return pd.DataFrame(rows, columns=["target", "strength", "n_features", "score"])


def features_needed(path: pd.DataFrame, *, dense_score: float, tolerance: float) -> int | None:
    """Fewest features on the L1 path scoring within ``tolerance`` of the dense probe (None: never)."""
    ok = path[path["score"] >= dense_score - tolerance]
    return int(ok["n_features"].min()) if len(ok) else None


@dataclass(eq=False)
class CrossValidation:
    """Scores of every target x representation (incl. the shuffled controls), L1 paths and the folds."""

    table: pd.DataFrame
    l1: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def cross_validate(
    representations: dict[str, np.ndarray],
    targets: Sequence[Target],
    *,
    groups: np.ndarray,
    config: ProbeConfig = ProbeConfig(),
    l1_on: Sequence[str] = (),
) -> CrossValidation:
    """Grouped-CV probes of each target from each representation, plus ``shuffled_<name>`` controls.

    Parameters
    ----------
    representations
        Name -> ``[rows, dims]`` inputs (e.g. ``raw``, ``sae``), all on the same rows.
    targets
        What to probe for, each with a value per row.
    groups
        Group of each row: rows of one group stay in one fold and are resampled together.
    config
        Folds, regularisation, bootstrap and L1 settings.
    l1_on
        Representations to run the L1 path on (e.g. ``("sae",)``).

    Returns
    -------
    CrossValidation
        ``table``: one row per target, representation and metric with score, CI and chance; ``l1``:
        the L1 paths; ``summary``: rows, groups, classes and features needed per target.
    """
    groups = np.asarray(groups)
    rng = np.random.default_rng(config.seed)
    rows: list[dict[str, Any]] = []
    paths = []
    summary: dict[str, Any] = {"config": asdict(config), "n_rows": int(len(groups)),
                               "n_groups": int(np.unique(groups.astype(str)).size), "targets": {}}
    boots = _group_bootstrap(groups, config.n_bootstrap, config.seed + 1)
    for target in targets:
        strat = None if target.kind == "regression" else target.y
        fold = group_folds(groups, n_folds=config.n_folds, seed=config.seed, y=strat)
        shuffled = Target(target.name, rng.permutation(target.y), target.kind)
        info: dict[str, Any] = {"kind": target.kind, "classes": {c: int((target.y == c).sum()) for c in target.classes}}
        for name, x in representations.items():
            for label, t in ((name, target), (f"shuffled_{name}", shuffled)):
                score = _oof(x, target, t.y, fold, config)
                rows += _rows(target, label, t.y, score, boots, config)
            if name in l1_on and config.l1_steps:
                dense = next(r["score"] for r in rows if r["representation"] == name
                             and r["target"] == target.name and r["metric"] == _headline(target))
                path = l1_path(x, target, fold, config)
                paths.append(path)
                info[f"{name}_features_needed"] = features_needed(path, dense_score=dense,
                                                                  tolerance=config.l1_tolerance)
                info[f"{name}_features_total"] = int(x.shape[1])
        summary["targets"][target.name] = info
    l1 = pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=["target", "strength", "n_features",
                                                                                 "score"])
    return CrossValidation(pd.DataFrame(rows, columns=COLUMNS), l1, summary)


def fit_linear(x: np.ndarray, target: Target, *, config: ProbeConfig) -> tuple[np.ndarray, np.ndarray]:
    """The probe on all rows, standardisation folded in: ``weight [outputs, dims]``, ``bias [outputs]``.

    Outputs: one (the positive class's logit) for binary targets, one per class (softmax logits) for
    multiclass ones, one (the prediction) for values.
    """
    scaler = Standardiser().fit(x)
    model = (Ridge(alpha=RidgeCV(alphas=np.asarray(config.alphas)).fit(scaler.transform(x), target.y).alpha_)
             if target.kind == "regression" else _model(target.kind, config))
    model.fit(scaler.transform(x), target.y)
    coef = np.atleast_2d(model.coef_).astype(np.float64)
    intercept = np.atleast_1d(model.intercept_).astype(np.float64)
    weight, bias = scaler.fold_into(coef, intercept)
    return weight.astype(np.float32), bias.astype(np.float32)
