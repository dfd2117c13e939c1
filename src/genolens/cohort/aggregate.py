"""From per-token activations to one row per sample: an AnnData of sample-level features.

Input is generic so any activation source can feed it: chunks of a per-token
activation matrix (tokens x features, numpy or torch) with, per token, the
sample, the haplotype and the reference position. For each sample, haplotype
and region (a named interval, e.g. a gene, or the whole input) every feature is
summarised by

- ``mean``: mean activation over the tokens,
- ``max``: maximum activation,
- ``frac_active``: fraction of tokens (bases) whose activation exceeds ``threshold``.

Each statistic is computed per haplotype first and the haplotypes of a sample
are then combined: ``mean`` averages them (a per-genome level, comparable
between haploid and diploid samples); ``sum`` adds them (a dosage-like total:
two active copies count twice). Only haplotypes that have tokens in the region
are combined; a sample with no token in a region gets NaN there.

Tokens with a negative position (e.g. inserted bases without a reference
coordinate) count for the whole input but for no region.

Sequences embedded once for all the people who carry them (``genolens sequences --distinct``) come with
a ``carriers`` table (sequence, sample, haplotype): the running sums, counts, maxima and active counts of
each distinct sequence are then given to every (sample, haplotype) that carries it before the statistics
are formed, which is exactly what embedding every copy would have given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from genolens.errors import ConfigError, InputFormatError, SampleMismatchError

STATISTICS = ("mean", "max", "frac_active")
WHOLE = "whole"


@dataclass(frozen=True)
class AggregationConfig:
    """Which statistics, the activity threshold and how haplotypes combine."""

    statistics: tuple[str, ...] = ("mean",)
    threshold: float = 0.0
    haplotypes: str = "mean"

    def __post_init__(self) -> None:
        if not self.statistics:
            raise ConfigError("statistics must not be empty")
        unknown = [s for s in self.statistics if s not in STATISTICS]
        if unknown:
            raise ConfigError(f"unknown statistics {unknown}; choose from {list(STATISTICS)}")
        if len(set(self.statistics)) != len(self.statistics):
            raise ConfigError(f"statistics listed twice: {list(self.statistics)}")
        if self.haplotypes not in ("mean", "sum"):
            raise ConfigError(f"haplotypes must be 'mean' or 'sum', got {self.haplotypes!r}")


@dataclass
class TokenChunk:
    """A chunk of tokens: activations (tokens x features) and per-token sample, haplotype, position."""

    activations: Any
    samples: Sequence[str] | np.ndarray
    haplotypes: Sequence[int] | np.ndarray | None = None
    positions: Sequence[int] | np.ndarray | None = None


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().to("cpu").float().numpy()
    if sp.issparse(x):
        x = x.toarray()
    return np.asarray(x, dtype=np.float64)


class _Accumulator:
    """Running sums, counts, maxima and active counts per (sample, haplotype, region)."""

    def __init__(self, n_features: int, regions: list[tuple[str, int, int]], threshold: float) -> None:
        self.f = n_features
        self.regions = regions
        self.threshold = threshold
        self.keys: dict[tuple[str, int], int] = {}
        self.sums: list[np.ndarray] = []  # per region: groups x features
        self.maxs: list[np.ndarray] = []
        self.active: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        for _ in range(len(regions) + 1):
            self.sums.append(np.zeros((0, n_features)))
            self.maxs.append(np.full((0, n_features), -np.inf))
            self.active.append(np.zeros((0, n_features)))
            self.counts.append(np.zeros(0))

    def _group_ids(self, samples: np.ndarray, haps: np.ndarray) -> np.ndarray:
        codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([samples, haps]))
        lookup = np.array([self.keys.setdefault((str(s), int(h)), len(self.keys)) for s, h in uniques], dtype=np.intp)
        ids = lookup[codes]
        grow = len(self.keys) - self.sums[0].shape[0]
        if grow > 0:
            for r in range(len(self.sums)):
                self.sums[r] = np.vstack([self.sums[r], np.zeros((grow, self.f))])
                self.maxs[r] = np.vstack([self.maxs[r], np.full((grow, self.f), -np.inf)])
                self.active[r] = np.vstack([self.active[r], np.zeros((grow, self.f))])
                self.counts[r] = np.concatenate([self.counts[r], np.zeros(grow)])
        return ids

    def add(self, acts: np.ndarray, samples: np.ndarray, haps: np.ndarray, pos: np.ndarray | None) -> None:
        ids = self._group_ids(samples, haps)
        n_groups = len(self.keys)
        masks = [np.ones(len(ids), dtype=bool)]
        for _, start, end in self.regions:
            masks.append((pos >= start) & (pos < end) & (pos >= 0))
        for r, mask in enumerate(masks):
            if not mask.any():
                continue
            g, a = ids[mask], acts[mask]
            ind = sp.csr_matrix((np.ones(len(g)), (g, np.arange(len(g)))), shape=(n_groups, len(g)))
            self.sums[r] += ind @ a
            self.active[r] += ind @ (a > self.threshold).astype(np.float64)
            self.counts[r] += np.bincount(g, minlength=n_groups)
            order = np.argsort(g, kind="stable")
            gs = g[order]
            starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
            self.maxs[r][gs[starts]] = np.maximum(
                self.maxs[r][gs[starts]], np.maximum.reduceat(a[order], starts, axis=0)
            )

    def expand(self, carriers: pd.DataFrame) -> None:
        """Turn per-sequence groups into per-(sample, haplotype) groups through the carriers table."""
        by_seq = {}
        for (seq, hap), i in self.keys.items():
            if hap != 0 or seq in by_seq:
                raise InputFormatError(f"sequence {seq!r} has a sample and haplotype of its own: with a carriers "
                                       "table the sequences must be the distinct ones (genolens sequences --distinct)")
            by_seq[seq] = i
        seqs = carriers["sequence_id"].astype(str).to_numpy()
        absent = sorted(set(by_seq) - set(seqs))
        if absent:
            raise SampleMismatchError(f"{len(absent)} embedded sequences have no carrier: {absent[:5]}",
                                      hint="use the carriers table written with these sequences")
        unknown = sorted(set(seqs) - set(by_seq))
        if unknown:
            raise SampleMismatchError(f"{len(unknown)} sequences of the carriers table were not embedded: "
                                      f"{unknown[:5]}", hint="is the store complete (every shard gathered)?")
        src = np.array([by_seq[q] for q in seqs], dtype=np.intp)
        codes, uniques = pd.factorize(pd.MultiIndex.from_arrays(
            [carriers["sample"].astype(str).to_numpy(), carriers["haplotype"].to_numpy(dtype=np.int64)]))
        ind = sp.csr_matrix((np.ones(len(src)), (codes, src)), shape=(len(uniques), len(self.keys)))
        order = np.argsort(codes, kind="stable")
        starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
        for r in range(len(self.sums)):
            self.sums[r] = ind @ self.sums[r]
            self.active[r] = ind @ self.active[r]
            self.counts[r] = ind @ self.counts[r]
            self.maxs[r] = np.maximum.reduceat(self.maxs[r][src[order]], starts, axis=0)
        self.keys = {(str(s), int(h)): i for i, (s, h) in enumerate(uniques)}


def aggregate_chunks(
    chunks: Iterable[TokenChunk],
    *,
    regions: Mapping[str, tuple[int, int]] | None = None,
    feature_names: Sequence[str] | None = None,
    sample_sheet: pd.DataFrame | None = None,
    config: AggregationConfig = AggregationConfig(),
    carriers: pd.DataFrame | None = None,
) -> ad.AnnData:
    """Aggregate streamed token chunks into an AnnData (samples x features[/statistic/region]).

    ``regions`` maps a name (e.g. a gene) to a half-open ``(start, end)``
    interval in the positions' coordinates; without it the whole input is
    aggregated. ``sample_sheet`` (indexed by sample, or with a ``sample``
    column) supplies phenotypes and covariates for ``obs``; every sample with
    activations must be in it. ``carriers`` (``sequence_id, sample, haplotype``,
    :func:`genolens.io.distinct.read_carriers`): the chunks' "samples" are distinct
    sequences, each standing for every (sample, haplotype) that carries it.
    """
    region_list = [(str(k), int(v[0]), int(v[1])) for k, v in (regions or {}).items()]
    for name, start, end in region_list:
        if end <= start:
            raise ConfigError(f"region {name!r} is empty or reversed: [{start}, {end})")
    acc: _Accumulator | None = None
    n_tokens = 0
    for chunk in chunks:
        acts = _as_array(chunk.activations)
        if acts.ndim != 2:
            raise InputFormatError(f"activations must be 2-D (tokens x features), got shape {acts.shape}")
        t = acts.shape[0]
        samples = np.asarray(chunk.samples).astype(str)
        haps = np.zeros(t, dtype=np.int64) if chunk.haplotypes is None else np.asarray(chunk.haplotypes, dtype=np.int64)
        pos = None if chunk.positions is None else np.asarray(chunk.positions, dtype=np.int64)
        for label, arr in (("samples", samples), ("haplotypes", haps), ("positions", pos)):
            if arr is not None and arr.shape != (t,):
                raise InputFormatError(f"{label} must have one entry per token ({t}), got shape {arr.shape}")
        if region_list and pos is None:
            raise ConfigError("regions need per-token positions")
        if acc is None:
            acc = _Accumulator(acts.shape[1], region_list, config.threshold)
        elif acts.shape[1] != acc.f:
            raise InputFormatError(f"chunk has {acts.shape[1]} features, earlier chunks had {acc.f}")
        acc.add(acts, samples, haps, pos)
        n_tokens += t
    if acc is None or n_tokens == 0:
        raise InputFormatError("no tokens to aggregate")
    if carriers is not None:
        acc.expand(carriers)
    names = [str(n) for n in feature_names] if feature_names is not None else [f"f{j}" for j in range(acc.f)]
    if len(names) != acc.f:
        raise ConfigError(f"{len(names)} feature names for {acc.f} features")
    sample_order = list(dict.fromkeys(s for s, _ in acc.keys))
    s_index = {s: i for i, s in enumerate(sample_order)}
    group_sample = np.array([s_index[s] for s, _ in acc.keys], dtype=np.intp)
    region_names = [WHOLE] if not region_list else [r[0] for r in region_list]
    region_slots = [0] if not region_list else list(range(1, len(region_list) + 1))
    blocks, var_rows = [], []
    for rname, slot in zip(region_names, region_slots, strict=True):
        counts = acc.counts[slot]
        with np.errstate(divide="ignore", invalid="ignore"):
            per_group = {
                "mean": acc.sums[slot] / counts[:, None],
                "max": np.where(counts[:, None] > 0, acc.maxs[slot], np.nan),
                "frac_active": acc.active[slot] / counts[:, None],
            }
        for stat in config.statistics:
            blocks.append(_combine(per_group[stat], counts > 0, group_sample, len(sample_order), config.haplotypes))
            var_rows += [(n, stat, rname) for n in names]
    x = np.hstack(blocks)
    var = pd.DataFrame(var_rows, columns=["feature", "statistic", "region"])
    single = len(config.statistics) == 1 and len(region_names) == 1
    var.index = pd.Index(var["feature"] if single else var["feature"] + "|" + var["statistic"] + "|" + var["region"])
    obs = _sample_obs(sample_order, sample_sheet)
    adata = ad.AnnData(X=x, obs=obs, var=var)
    adata.uns["aggregation"] = {
        **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        "regions": {name: [start, end] for name, start, end in region_list} or {WHOLE: []},
        "n_tokens": int(n_tokens),
    }
    if carriers is not None:  # the tokens embedded: of the distinct sequences
        adata.uns["aggregation"]["distinct_sequences"] = int(carriers["sequence_id"].nunique())
    return adata


def _combine(values: np.ndarray, present: np.ndarray, group_sample: np.ndarray, n_samples: int, how: str) -> np.ndarray:
    """Combine per-haplotype rows into per-sample rows by sum or mean over present haplotypes."""
    vals = np.where(present[:, None], values, 0.0)
    ind = sp.csr_matrix(
        (np.ones(len(group_sample)), (group_sample, np.arange(len(group_sample)))),
        shape=(n_samples, len(group_sample)),
    )
    total = ind @ vals
    n_present = ind @ present.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / n_present[:, None] if how == "mean" else total
    out[n_present == 0] = np.nan
    return out


def _sample_obs(samples: list[str], sheet: pd.DataFrame | None) -> pd.DataFrame:
    index = pd.Index(samples, name="sample")
    if sheet is None:
        return pd.DataFrame(index=index)
    frame = sheet.set_index("sample") if "sample" in sheet.columns else sheet
    frame.index = frame.index.astype(str)
    absent = [s for s in samples if s not in frame.index]
    if absent:
        raise SampleMismatchError(
            f"{len(absent)} samples with activations are not in the sample sheet: " + ", ".join(absent[:10]),
            hint="add them to the sheet or drop their tokens",
        )
    if frame.index.duplicated().any():
        raise InputFormatError(
            f"duplicate samples in the sample sheet: {list(frame.index[frame.index.duplicated()][:5])}"
        )
    obs = frame.loc[samples].copy()
    obs.index = index
    return obs


def aggregate_activations(
    activations: Any,
    *,
    samples: Sequence[str] | np.ndarray,
    haplotypes: Sequence[int] | np.ndarray | None = None,
    positions: Sequence[int] | np.ndarray | None = None,
    regions: Mapping[str, tuple[int, int]] | None = None,
    feature_names: Sequence[str] | None = None,
    sample_sheet: pd.DataFrame | None = None,
    config: AggregationConfig = AggregationConfig(),
) -> ad.AnnData:
    """Aggregate one in-memory activation matrix; see :func:`aggregate_chunks`."""
    chunk = TokenChunk(activations=activations, samples=samples, haplotypes=haplotypes, positions=positions)
    return aggregate_chunks(
        [chunk], regions=regions, feature_names=feature_names, sample_sheet=sample_sheet, config=config
    )


def write_features(adata: ad.AnnData, *, path: str | os.PathLike[str]) -> None:
    """Write sample-level features as ``.h5ad`` (readable by scanpy / anndata).

    Parameters
    ----------
    adata
        Samples × features (:func:`genolens.tl.aggregate`), with whatever ``obs``/``var``/``uns`` it holds.
    path
        Output ``.h5ad``.
    """
    adata.write_h5ad(path)


def read_features(path: str | os.PathLike[str]) -> ad.AnnData:
    """Read a samples x features ``.h5ad``, with typed errors for a missing or unreadable file.

    Parameters
    ----------
    path
        ``.h5ad`` written by ``genolens aggregate`` / :func:`write_features`.

    Returns
    -------
    anndata.AnnData
        Samples × features; an empty matrix or repeated sample names are errors.
    """
    from pathlib import Path

    from genolens.errors import InputFileError

    p = Path(path)
    if not p.is_file():
        raise InputFileError("features file not found", path=p, hint="expected a .h5ad from genolens")
    try:
        adata = ad.read_h5ad(p)
    except Exception as exc:  # h5py/anndata raise many types for a non-h5ad file
        raise InputFormatError(f"not a readable .h5ad file ({type(exc).__name__}: {exc})", path=p) from None
    if adata.n_obs == 0 or adata.n_vars == 0:
        shape = f"{adata.n_obs} samples x {adata.n_vars} features"
        raise InputFormatError(f"features file is empty ({shape})", path=p)
    if not adata.obs_names.is_unique:
        raise InputFormatError("sample names (obs_names) are not unique", path=p)
    return adata


def as_features(adata: ad.AnnData | str | os.PathLike[str]) -> tuple[ad.AnnData, bool]:
    """An AnnData as given, or read from a ``.h5ad`` path by :func:`read_features`.

    Parameters
    ----------
    adata
        Samples × features, or the path of a ``.h5ad``.

    Returns
    -------
    tuple
        The AnnData, and whether it was read from a file (then the caller owns it and hands it back).
    """
    if isinstance(adata, ad.AnnData):
        return adata, False
    return read_features(adata), True
