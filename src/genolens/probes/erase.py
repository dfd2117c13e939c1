"""Concept erasure (LEACE): remove what a linear probe can read about a concept, and check what remains.

LEACE (Belrose et al. 2023, "LEACE: Perfect linear concept erasure in closed form"; EleutherAI's
``concept-erasure`` package) is the smallest affine edit ``x -> x - P (x - b)`` (least squares, in the
whitened metric) after which no linear predictor of the concept does better than a constant: the
cross-covariance of the erased features with the concept is zero. The concept is a label (one-hot) or
values such as ancestry PCs.

:func:`erase` fits the eraser on per-sample features, then audits the concept before and after erasure
(the ``audit`` probe with its permutation null: after erasure the probe's balanced accuracy should lie
within the null's interval) and probes the phenotypes the user names before and after, with the
shuffled-label controls of :mod:`genolens.probes.probe`: what the representation still supports. The
"after" audit and probes read *cross-fitted* erased features (:func:`cross_fitted`); the eraser saved and
the features written to ``obsm`` are fit on all samples.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError
from genolens.io.files import json_ready, write_json
from genolens.probes.artefact import load_artefact, save_artefact
from genolens.probes.probe import ProbeConfig, cross_validate, make_target
from genolens.provenance import Provenance, check_provenance
from genolens.stats.audit import AuditConfig, _embedding, probe_continuous, probe_labels

FORMAT = ("genolens-eraser", "1")
WEIGHTS = "eraser.safetensors"


@dataclass(frozen=True, eq=False)
class Eraser:
    """``erase(x) = x - ((x - bias) @ proj_right.T) @ proj_left.T`` (LEACE's rank-k edit of the identity)."""

    concept: str
    proj_left: np.ndarray  # [d, k]
    proj_right: np.ndarray  # [k, d]
    bias: np.ndarray  # [d]
    level: str = "sample"
    provenance: Provenance = field(default_factory=Provenance)
    classes: tuple[str, ...] = ()  # the concept's labels (empty: values)

    @property
    def d_in(self) -> int:
        return int(self.bias.shape[0])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The erased inputs ``[rows, d]`` (same dtype and device)."""
        left, right, bias = (torch.as_tensor(a, device=x.device, dtype=torch.float32)
                             for a in (self.proj_left, self.proj_right, self.bias))
        xf = x.float()
        return (xf - ((xf - bias) @ right.T) @ left.T).to(x.dtype)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Erase from a numpy array (float64 arithmetic)."""
        x = np.asarray(x, dtype=np.float64)
        return x - ((x - self.bias) @ self.proj_right.T.astype(np.float64)) @ self.proj_left.T.astype(np.float64)


def concept_matrix(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """What LEACE erases: one-hot columns of labels (and the class names), or the values as columns."""
    values = np.asarray(values)
    if values.dtype.kind in "fiu":  # standardised: the package drops directions with singular values < 0.01
        z = values.astype(np.float64).reshape(len(values), -1)
        sd = z.std(axis=0)
        return (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0), ()
    classes = tuple(str(c) for c in np.unique(values.astype(str)))
    return (values.astype(str)[:, None] == np.asarray(classes)[None]).astype(np.float64), classes


def fit_eraser(x: np.ndarray, z: np.ndarray, *, concept: str, classes: tuple[str, ...] = (),
               level: str = "sample", provenance: Provenance | None = None, shrinkage: bool = True) -> Eraser:
    """LEACE eraser of the concept columns ``z [rows, k]`` from ``x [rows, d]`` (``concept-erasure``'s fitter).

    ``shrinkage`` estimates the feature covariance with shrinkage (the package's default; the erased features
    still have zero cross-covariance with the concept). With at least as many features as rows (per-sample
    features of a few hundred people, thousands of features) the covariance is singular and a ``d x d`` fit
    would not fit in memory: the eraser is fit in the coordinates of the rows' span (thin SVD of the centred
    rows), without shrinkage (the covariance is full rank there), which gives zero cross-covariance on the
    rows, and mapped back to the features. The package's optional trace constraint is off: it mixes
    in an orthogonal projection that would leave some of the concept readable.
    """
    try:
        from concept_erasure import LeaceFitter
    except ImportError:  # pragma: no cover - the `erase` extra
        raise ConfigError("concept erasure needs the concept-erasure package",
                          hint="pip install 'genolens[erase]' (concept-erasure==0.2.4)") from None
    if len(x) != len(z) or len(x) < 3:
        raise ConfigError(f"need matching rows (>= 3) of features and concept, got {len(x)} and {len(z)}")
    x = np.asarray(x, dtype=np.float64)
    basis, mu = None, None
    if x.shape[1] >= len(x):  # more features than rows: fit in the rows' span (see below)
        mu = x.mean(axis=0)
        _, sv, vt = np.linalg.svd(x - mu, full_matrices=False)
        basis = vt[sv > sv[0] * 1e-10].T  # [d, r], orthonormal columns; r <= rows - 1
        x = (x - mu) @ basis
        # full rank there by construction: the plain (unshrunk) fit. The package's shrunk fit, with as many
        # span dimensions as rows less one, left the concept's cross-covariance far from zero (tested)
        shrinkage = False
    xt = torch.from_numpy(x)
    zt = torch.from_numpy(np.asarray(z, dtype=np.float64))
    eraser = LeaceFitter.fit(xt, zt, shrinkage=shrinkage, constrain_cov_trace=False).eraser
    left, right = eraser.proj_left.numpy(), eraser.proj_right.numpy()
    bias = eraser.bias.numpy() if eraser.bias is not None else np.zeros(x.shape[1])
    if basis is not None:
        # back to feature coordinates: x' = x - V L R V^T (x - mu - V b). On the rows' span this is LEACE in the
        # span's coordinates; the part of an input orthogonal to the span passes unchanged (the covariance is
        # zero there, so nothing of the concept can be read from it in these rows)
        left, right, bias = basis @ left, right @ basis.T, mu + basis @ bias
    return Eraser(concept, left, right, bias, level, provenance or Provenance(), classes)


def cross_fitted(x: np.ndarray, z: np.ndarray, *, n_folds: int, seed: int) -> np.ndarray:
    """Every sample erased by an eraser fit without it (``n_folds`` random folds).

    An eraser fit on all samples makes the concept's class means exactly equal over them; a probe then
    cross-validated on the erased samples scores *below* chance (held-out means mirror the training ones).
    Erasing each fold with an eraser fit on the others keeps the audit honest.
    """
    fold = np.random.default_rng(seed).permutation(len(x)) % n_folds
    out = np.empty_like(np.asarray(x, dtype=np.float64))
    for k in range(n_folds):
        train = fold != k
        out[~train] = fit_eraser(x[train], z[train], concept="").apply(x[~train])
    return out


def check_eraser(eraser: Eraser, provenance: Provenance, *, what: str = "input") -> None:
    """Raise :class:`ConfigError` if the eraser was fit on another model, layer or tokenizer."""
    check_provenance(eraser.provenance, provenance, owner="eraser", name=eraser.concept, what=what)


def save_eraser(eraser: Eraser, path: str | os.PathLike[str]) -> Path:
    """Write ``eraser.safetensors`` + ``cfg.json`` into the folder ``path``."""
    cfg = {"concept": eraser.concept, "classes": list(eraser.classes), "level": eraser.level, "d_in": eraser.d_in,
           "provenance": asdict(eraser.provenance), "method": "leace"}
    tensors = {"proj_left": eraser.proj_left, "proj_right": eraser.proj_right, "bias": eraser.bias}
    return save_artefact(path, weights=WEIGHTS, tensors=tensors, cfg=cfg, encoding=FORMAT)


def load_eraser(path: str | os.PathLike[str]) -> Eraser:
    """Read an eraser folder written by :func:`save_eraser`."""
    cfg, t = load_artefact(path, weights=WEIGHTS, encoding=FORMAT, what="eraser")
    return Eraser(cfg["concept"], t["proj_left"], t["proj_right"], t["bias"], cfg["level"],
                  Provenance(**cfg["provenance"]), tuple(cfg["classes"]))


@dataclass(frozen=True)
class EraseConfig:
    """The audit's settings (folds, permutations, bootstrap) and the phenotype probes'."""

    audit: AuditConfig = AuditConfig(n_permutations=100, n_bootstrap=200)
    probe: ProbeConfig = ProbeConfig(l1_steps=0)

    def __post_init__(self) -> None:
        if not isinstance(self.audit, AuditConfig) or not isinstance(self.probe, ProbeConfig):
            raise ConfigError("EraseConfig takes an AuditConfig and a ProbeConfig")


@dataclass(eq=False)
class EraseResult:
    """The eraser, the concept's audit before/after and the phenotype probes before/after.

    Attributes
    ----------
    eraser
        The fitted LEACE eraser (with the provenance of what it was fit on).
    audit
        The concept's probe before and after erasure (stage, target, metric, score, interval, chance, the
        permutation null's mean and interval, p-value, whether the score lies within the null).
    phenotypes
        The phenotype probes before and after erasure (and on shuffled labels).
    summary
        JSON-ready settings and counts.
    """

    eraser: Eraser
    audit: pd.DataFrame  # stage, target, metric, score, CI, chance, null mean/interval, p, within_null
    phenotypes: pd.DataFrame  # target, representation (before/after/shuffled_*), metric, score, CI, chance
    summary: dict[str, Any]

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write ``eraser/``, ``audit.tsv``, ``phenotypes.tsv`` and ``summary.json`` into ``out``.

        Parameters
        ----------
        out
            Output folder.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        root = Path(out)
        save_eraser(self.eraser, root / "eraser")
        self.audit.to_csv(root / "audit.tsv", sep="\t", index=False)
        self.phenotypes.to_csv(root / "phenotypes.tsv", sep="\t", index=False)
        write_json(root / "summary.json", self.summary)
        return root


def _audit(x: np.ndarray, concept: np.ndarray, name: str, classes: tuple[str, ...], config: AuditConfig) -> list:
    if classes:
        return [{"target": name, **r} for r in probe_labels(x, labels=concept.astype(str), config=config)]
    return probe_continuous(x, targets=concept, names=[name] if concept.ndim == 1 else list(name.split(",")),
                            config=config)


def erase(
    adata: ad.AnnData,
    *,
    concept: str | Sequence[str],
    phenotypes: Sequence[str] = (),
    use_rep: str | None = None,
    key_added: str = "erased",
    config: EraseConfig = EraseConfig(),
) -> EraseResult:
    """Erase a concept (a label column, or value columns such as PCs) from per-sample features with LEACE.

    Parameters
    ----------
    adata
        Samples × features (``X`` or ``obsm[use_rep]``); ``obs`` holds the concept and phenotypes.
    concept
        One ``obs`` label column (e.g. ``super_pop``), or value columns (e.g. ``["PC1", "PC2"]``).
    phenotypes
        ``obs`` columns to probe before and after erasure (what the representation still supports).
    use_rep
        ``obsm`` key of the features (default ``X``).
    key_added
        The erased features are written to ``obsm[key_added]`` (samples with the concept only; others NaN).
    config
        Audit (permutation null) and phenotype-probe settings.

    Returns
    -------
    EraseResult
        The eraser, the audit before/after (``within_null``: the score lies in the permutation null's
        interval; ``versus_null``: ``below``, ``within`` or ``above`` it, two-sided) and the phenotype probes
        before/after; ``uns[key_added]`` holds the summary (``written``: which erased matrix ``obsm`` holds:
        the cross-fitted one where features >= samples).
    """
    columns = [concept] if isinstance(concept, str) else list(concept)
    missing = [c for c in [*columns, *phenotypes] if c not in adata.obs.columns]
    if missing:
        raise ConfigError(f"obs columns {missing} not found", hint=f"obs has {list(adata.obs.columns)}")
    if len(columns) > 1 and adata.obs[columns].dtypes.map(lambda d: d.kind not in "fiu").any():
        raise ConfigError("several concept columns must all be numbers (e.g. PCs); a label is one column")
    x = _embedding(adata, use_rep)
    present = adata.obs[columns].notna().all(axis=1).to_numpy()
    values = adata.obs[columns].to_numpy()[present]
    values = values[:, 0] if len(columns) == 1 else values.astype(np.float64)
    z, classes = concept_matrix(values)
    name = ",".join(columns)
    source = adata.uns.get("source") if isinstance(adata.uns.get("source"), dict) else {}
    prov = Provenance(model=str(source.get("model", "")), layer=int(source.get("layer", -1) or -1))
    eraser = fit_eraser(x[present], z, concept=name, classes=classes, provenance=prov)
    erased = cross_fitted(x[present], z, n_folds=config.audit.n_folds, seed=config.audit.seed)
    rows = []
    for stage, xs in (("before", x[present]), ("after", erased)):
        rows += [{"stage": stage, **r} for r in _audit(xs, values, name, classes, config.audit)]
    audit = pd.DataFrame(rows)
    audit["within_null"] = (audit["score"] >= audit["null_low"]) & (audit["score"] <= audit["null_high"])
    # two-sided: a score below its null means the concept is still readable, with its sign flipped
    audit["versus_null"] = np.where(audit["score"] < audit["null_low"], "below",
                                    np.where(audit["score"] > audit["null_high"], "above", "within"))
    pheno = pd.DataFrame()
    if phenotypes:
        obs = adata.obs.iloc[np.nonzero(present)[0]]
        keep = obs[list(phenotypes)].notna().all(axis=1).to_numpy()
        targets = [make_target(p, obs[p].to_numpy()[keep]) for p in phenotypes]
        pheno = cross_validate({"before": x[present][keep], "after": erased[keep]}, targets,
                               groups=obs.index.astype(str).to_numpy()[keep], config=config.probe).table
    # With as many features as samples, the eraser fit on all samples equalises the class means exactly over
    # them, and a probe cross-validated on its output reads the concept with its sign flipped (held-out means
    # mirror the training ones): the written matrix is then the cross-fitted one, each sample erased by an
    # eraser fit without it. Otherwise it is the one eraser's output (the eraser saved and applied elsewhere).
    wide = x.shape[1] >= int(present.sum())
    full = np.full(x.shape, np.nan)
    full[present] = erased if wide else eraser.apply(x[present])
    adata.obsm[key_added] = full
    summary = {"concept": name, "classes": list(classes), "n_samples": int(present.sum()),
               "n_dropped_missing_concept": int((~present).sum()), "n_features": int(x.shape[1]),
               "rank": int(eraser.proj_left.shape[1]),
               "written": ("cross-fitted: each sample erased by an eraser fit without it (features >= samples)"
                           if wide else "the eraser fit on all samples"),
               "audit_erasure": "cross-fitted (each fold erased by an eraser fit on the others)",
               "caveat": ("features >= samples: the concept's direction cannot be estimated from the samples "
                          "alone, and erasure fit on them over-corrects (a fresh probe may read the concept "
                          "below chance, its sign flipped); read the audit's versus_null, not its one-sided p"
                          if wide else ""),
               "audit_config": asdict(config.audit),
               "probe_config": asdict(config.probe)}
    adata.uns[key_added] = json_ready(summary)  # storable in .h5ad (no tuples)
    return EraseResult(eraser, audit, pheno, summary)
