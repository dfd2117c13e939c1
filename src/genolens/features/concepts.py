"""Concept alignment in the spirit of InterPLM: precision, recall and F1 of every feature x concept.

A feature *fires* on a row at threshold ``t`` when its activation exceeds
``t x`` its maximum over the store (thresholds relative to each feature's max, as
InterPLM does). For feature f, concept c and threshold t:

* precision = rows where f fires and that lie in c / rows where f fires;
* recall = instances of c (merged intervals: a motif site, a domain, an exon) on
  which f fires at least once / instances of c (``recall="instance"``, InterPLM's
  domain-level recall), or rows of c where f fires / rows of c (``recall="row"``);
* F1 = their harmonic mean.

Sequences are split into a *select* half and a *test* half (by their ``region``
when they have one, so personal haplotypes of one locus stay together, else by
id; seeded). Each feature's best (concept, threshold) and each concept's best
(feature, threshold) are chosen on the select half and scored on the test half,
so the reported F1 is not fit and scored on the same data. Every F1 is shown with the
instances it rests on (``instances_select``, ``instances_test``); a concept with fewer
than ``min_test_instances`` (default 5) held-out instances gets ``status = "too few
instances"`` and no rank: an F1 from one or two instances says nothing.

One streaming pass; counts are accumulated with matrix products across all
features and concepts at once; memory holds ``2 x instances x d_sae`` maxima.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError
from genolens.features.concept_sets import ConceptSet
from genolens.features.source import StoreSource
from genolens.features.summary import MAX_CHUNK_ELEMENTS, encode

SELECT, TEST = 0, 1


@dataclass(frozen=True)
class AlignmentConfig:
    """Thresholds (fractions of each feature's max), split and recall definition."""

    thresholds: tuple[float, ...] = (0.0, 0.15, 0.3, 0.5, 0.6, 0.8)
    recall: Literal["instance", "row"] = "instance"
    test_fraction: float = 0.5
    seed: int = 0
    chunk_rows: int = 4096
    min_test_instances: int = 5

    def __post_init__(self) -> None:
        if self.min_test_instances < 1:
            raise ConfigError(f"min_test_instances must be >= 1, got {self.min_test_instances}")
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        if not self.thresholds or any(not 0 <= t < 1 for t in self.thresholds):
            raise ConfigError(f"thresholds must be in [0, 1), got {self.thresholds}")
        if self.recall not in ("instance", "row"):
            raise ConfigError(f"recall must be 'instance' or 'row', got {self.recall!r}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.chunk_rows <= 0:
            raise ConfigError(f"chunk_rows must be > 0, got {self.chunk_rows}")


@dataclass(frozen=True, eq=False)
class Alignment:
    """Scores ``[split, threshold, feature, concept]`` and the best pairs chosen on the select split.

    Split 0 is the *select* half of the sequences, split 1 the *test* half.

    Parameters
    ----------
    concepts
        Concept names.
    precision, recall, f1
        ``[split, threshold, feature, concept]`` scores.
    n_rows
        ``[split]`` rows counted.
    n_instances
        ``[split, concept]`` instances of each concept.
    config
        Thresholds, recall definition and split that produced them.
    """

    concepts: tuple[str, ...]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    n_rows: np.ndarray  # [split] rows counted
    n_instances: np.ndarray  # [split, concept]
    config: AlignmentConfig = field(default_factory=AlignmentConfig)

    def status(self, concepts: np.ndarray) -> np.ndarray:
        """Whether each concept's held-out F1 can be ranked.

        Parameters
        ----------
        concepts
            Concept indices.

        Returns
        -------
        numpy.ndarray
            Per concept: ``"ok"``, or ``"too few instances"`` (held-out instances < ``min_test_instances``).
        """
        few = self.n_instances[TEST, concepts] < self.config.min_test_instances
        return np.where(few, "too few instances", "ok").astype(object)

    def best_concepts(self) -> pd.DataFrame:
        """Per feature: the (concept, threshold) with the best select F1, and its scores on the test split.

        Returns
        -------
        pandas.DataFrame
            ``feature, concept, threshold, f1_select, f1_test, precision_test, recall_test``.
        """
        sel = self.f1[SELECT]  # [T, F, C]
        n_t, n_f, n_c = sel.shape
        flat = sel.transpose(1, 0, 2).reshape(n_f, n_t * n_c).argmax(1)
        t, c = np.divmod(flat, n_c)
        f = np.arange(n_f)
        return pd.DataFrame({
            "feature": f, "concept": np.array(self.concepts, dtype=object)[c],
            "threshold": np.array(self.config.thresholds)[t],
            "f1_select": sel[t, f, c], "f1_test": self.f1[TEST, t, f, c],
            "precision_test": self.precision[TEST, t, f, c], "recall_test": self.recall[TEST, t, f, c],
            "instances_select": self.n_instances[SELECT, c], "instances_test": self.n_instances[TEST, c],
            "status": self.status(c),
        })

    def best_features(self) -> pd.DataFrame:
        """Per concept: the (feature, threshold) with the best select F1, and its scores on the test split.

        Returns
        -------
        pandas.DataFrame
            ``concept, feature, threshold, f1_select, f1_test, precision_test, recall_test, instances_select,
            instances_test``.
        """
        sel = self.f1[SELECT]
        n_t, n_f, n_c = sel.shape
        flat = sel.transpose(2, 0, 1).reshape(n_c, n_t * n_f).argmax(1)
        t, f = np.divmod(flat, n_f)
        c = np.arange(n_c)
        return pd.DataFrame({
            "concept": list(self.concepts), "feature": f, "threshold": np.array(self.config.thresholds)[t],
            "f1_select": sel[t, f, c], "f1_test": self.f1[TEST, t, f, c],
            "precision_test": self.precision[TEST, t, f, c], "recall_test": self.recall[TEST, t, f, c],
            "instances_select": self.n_instances[SELECT, c], "instances_test": self.n_instances[TEST, c],
            "status": self.status(c),
        })

    def feature_concepts(self, feature: int, *, top: int = 5) -> pd.DataFrame:
        """A feature's ``top`` concepts by select F1 (best threshold each), with test scores.

        Parameters
        ----------
        feature
            The feature.
        top
            How many concepts.

        Returns
        -------
        pandas.DataFrame
            ``concept, threshold, f1_select, f1_test, precision_test, recall_test``, best first.
        """
        sel = self.f1[SELECT, :, feature, :]  # [T, C]
        t = sel.argmax(0)
        c = np.arange(sel.shape[1])
        frame = pd.DataFrame({
            "concept": list(self.concepts), "threshold": np.array(self.config.thresholds)[t],
            "f1_select": sel[t, c], "f1_test": self.f1[TEST, t, feature, c],
            "precision_test": self.precision[TEST, t, feature, c], "recall_test": self.recall[TEST, t, feature, c],
            "instances_select": self.n_instances[SELECT, c], "instances_test": self.n_instances[TEST, c],
            "status": self.status(c),
        })
        return frame.sort_values("f1_select", ascending=False, kind="stable").head(top).reset_index(drop=True)

    def to_npz(self) -> dict[str, np.ndarray]:
        """The arrays to save (``concepts.npz`` of an annotation folder); :meth:`from_npz` reads them back.

        Returns
        -------
        dict of str to numpy.ndarray
            Concepts, scores, counts and thresholds.
        """
        return {
            "concepts": np.array(self.concepts), "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "n_rows": self.n_rows, "n_instances": self.n_instances, "thresholds": np.array(self.config.thresholds),
        }

    @classmethod
    def from_npz(cls, data: dict, config: dict | None = None) -> Alignment:
        """Inverse of :meth:`to_npz`.

        Parameters
        ----------
        data
            The arrays :meth:`to_npz` wrote.
        config
            The alignment settings recorded beside them (``annotate.json``); thresholds come from ``data``.

        Returns
        -------
        Alignment
            The scores.
        """
        cfg = AlignmentConfig(**{**(config or {}), "thresholds": tuple(data["thresholds"].tolist())})
        return cls(tuple(str(c) for c in data["concepts"]), data["precision"], data["recall"], data["f1"],
                   data["n_rows"], data["n_instances"], cfg)

    def config_dict(self) -> dict:
        """The alignment settings as a JSON-ready dict.

        Returns
        -------
        dict
            One entry per :class:`AlignmentConfig` field.
        """
        return asdict(self.config)


def split_sequences(sequences: pd.DataFrame, *, test_fraction: float, seed: int) -> np.ndarray:
    """Split (0 select, 1 test) per stored sequence; sequences of one region share a split."""
    regions = sequences["region"] if "region" in sequences else [None] * len(sequences)
    unit = [r if isinstance(r, str) and r else f"id:{i}" for r, i in zip(regions, sequences["id"], strict=True)]
    names = sorted(set(unit))
    if len(names) < 2:
        raise ConfigError(
            "a held-out split needs at least two sequences (or regions); the store has one",
            hint="embed more sequences",
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    n_test = min(len(names) - 1, max(1, round(test_fraction * len(names))))
    test = {names[i] for i in order[:n_test]}
    return np.array([1 if u in test else 0 for u in unit], dtype=np.int64)


def sequence_keys(source: StoreSource, concepts: ConceptSet) -> tuple[list[str], np.ndarray]:
    """Distinct annotation keys, and per stored sequence the index of its key (-1: not evaluated)."""
    column = "id" if concepts.space == "sequence" else "contig"
    values = source.sequences[column].to_numpy(dtype=object)
    names = sorted({v for v in values if isinstance(v, str) and v in concepts.keys})
    index = {k: i for i, k in enumerate(names)}
    return names, np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)


def row_keys(chunk, concepts: ConceptSet, seq_key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """Per row: key index (-1 = not evaluated) and the closed coordinate interval [lo, hi] to look up."""
    keys = seq_key[chunk.seq]
    if concepts.space == "sequence":
        return keys, chunk.span[:, 0], chunk.span[:, 1] - 1
    keys = np.where((chunk.ref >= 0).all(axis=1), keys, -1)  # rows without reference coordinates are left out
    return keys, chunk.ref.min(axis=1), chunk.ref.max(axis=1)


def align_concepts(
    source: StoreSource,
    *,
    sae: torch.nn.Module,
    concepts: ConceptSet,
    feature_max: np.ndarray,
    config: AlignmentConfig | None = None,
) -> Alignment:
    """Score every feature against every concept on the store's rows (see the module docstring).

    Parameters
    ----------
    source
        The store's rows of one layer.
    sae
        The SAE whose features are scored (anything with ``cfg.d_sae`` and ``encode``).
    concepts
        Concept intervals (annotation labels, motif sites, domains) on the store's sequences or contigs.
    feature_max
        Each feature's maximum activation over the store, ``[d_sae]``: thresholds are fractions of it.
    config
        Thresholds, recall definition and select/test split (default :class:`AlignmentConfig`).

    Returns
    -------
    Alignment
        Precision, recall and F1 per split, threshold, feature and concept; :meth:`Alignment.best_concepts`
        and :meth:`Alignment.best_features` pick the best pairs on the select half and score them on the test
        half.
    """
    config = config or AlignmentConfig()
    d_sae, n_c, n_t = int(sae.cfg.d_sae), len(concepts.names), len(config.thresholds)
    split = split_sequences(source.sequences, test_fraction=config.test_fraction, seed=config.seed)
    key_names, seq_key = sequence_keys(source, concepts)
    thr = torch.tensor(config.thresholds)[:, None] * torch.from_numpy(np.asarray(feature_max, dtype=np.float32))
    thr = torch.where(thr > 0, thr, torch.zeros_like(thr))  # [T, F]; fires means act > thr (so > 0 at t=0)
    tp = torch.zeros(2, n_t, d_sae, n_c, dtype=torch.float64)
    n_fire = torch.zeros(2, n_t, d_sae, dtype=torch.float64)
    n_pos = torch.zeros(2, n_c, dtype=torch.float64)
    n_rows = np.zeros(2, dtype=np.int64)
    inst_max = torch.zeros(2, concepts.n_instances, d_sae)
    inst_seen = np.zeros((2, concepts.n_instances), dtype=bool)
    chunk_rows = max(1, min(config.chunk_rows, MAX_CHUNK_ELEMENTS // max(d_sae * n_t, 1)))
    for chunk in source.chunks(chunk_rows=chunk_rows):
        keys, lo, hi = row_keys(chunk, concepts, seq_key)
        inst = np.full((chunk.n_rows, n_c), -1, dtype=np.int64)
        for k in np.unique(keys[keys >= 0]):
            rows = np.nonzero(keys == k)[0]
            for c in range(n_c):
                inst[rows, c] = concepts.lookup(key_names[k], c, lo[rows], hi[rows])
        counted = keys >= 0
        if not counted.any():
            continue
        codes = encode(chunk.acts, sae=sae)
        row_split = split[chunk.seq]
        for s in (SELECT, TEST):
            sel = counted & (row_split == s)
            if not sel.any():
                continue
            n_rows[s] += int(sel.sum())
            c_s = codes[torch.from_numpy(sel)]
            lab = torch.from_numpy((inst[sel] >= 0).astype(np.float32))  # [R, C]
            n_pos[s] += lab.sum(0)
            fires = (c_s[None] > thr[:, None, :]).float()  # [T, R, F]; float32 counts are exact per chunk
            n_fire[s] += fires.sum(1).double()
            tp[s] += torch.einsum("trf,rc->tfc", fires, lab).double()
            for c in range(n_c):
                ids = inst[sel, c]
                hit = ids >= 0
                if hit.any():
                    idx = torch.from_numpy(ids[hit])
                    inst_seen[s, ids[hit]] = True
                    src = c_s[torch.from_numpy(hit)]
                    inst_max[s].scatter_reduce_(0, idx[:, None].expand(-1, d_sae), src, "amax")
    precision = (tp / n_fire[..., None].clamp_min(1)).numpy()
    inst_concept = concepts.instance_concepts()
    n_inst = np.zeros((2, n_c), dtype=np.int64)
    recall = np.zeros_like(precision)
    for s in (SELECT, TEST):
        np.add.at(n_inst[s], inst_concept[inst_seen[s]], 1)
        if config.recall == "row":
            recall[s] = (tp[s] / n_pos[s].clamp_min(1)).numpy()
            continue
        for c in range(n_c):
            ids = np.nonzero(inst_seen[s] & (inst_concept == c))[0]
            if ids.size:
                fired = inst_max[s][torch.from_numpy(ids)][None] > thr[:, None, :]  # [T, n, F]
                recall[s, :, :, c] = fired.double().mean(1).numpy()
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return Alignment(concepts.names, precision, recall, f1, n_rows, n_inst, config)
