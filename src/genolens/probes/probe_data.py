"""The rows a probe learns from, at the level its labels come in.

* per base/residue: rows of one store layer, labelled by the concepts of an annotation (BED, GFF3/GTF or
  residue TSV, read as ``annotate`` reads them: :mod:`genolens.features.concept_sets`); groups are regions
  (all haplotypes of a locus together) or sequences;
* per sequence: each stored sequence's mean over its rows, labelled by a table keyed by sequence ID; groups
  are sequences, regions, samples, a table column, or clusters of near-identical sequences;
* per sample: an AnnData's features (``X`` or ``obsm``) and ``obs`` columns, as ``audit`` reads them.

With an SAE, its features of the same rows (pooled the same way) come alongside the raw activations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

from genolens.errors import ConfigError
from genolens.features.concept_sets import ConceptSet
from genolens.features.concepts import row_keys, sequence_keys
from genolens.features.source import StoreSource
from genolens.features.summary import encode
from genolens.probes.probe import Target, make_target
from genolens.provenance import Provenance

CHUNK_ROWS = 8192


MAX_LISTED = 100  # IDs listed in the summary (all are counted)


@dataclass(frozen=True, eq=False)
class ProbeRows:
    """Inputs per representation (``raw``, ``sae``), targets and groups of the same rows."""

    level: str
    x: dict[str, np.ndarray]
    targets: list[Target]
    groups: np.ndarray
    provenance: Provenance = field(default_factory=Provenance)
    info: dict = field(default_factory=dict)


def sequence_clusters(sequences: Sequence[str], *, min_similarity: float = 0.9, k: int = 3) -> np.ndarray:
    """Cluster label per sequence: single-linkage over k-mer profile cosine similarity >= ``min_similarity``.

    Near-identical sequences (biosimilars, a humanised antibody and its parent) share a cluster, so grouped
    folds keep them on one side.
    """
    if not 0 < min_similarity <= 1 or k < 1:
        raise ConfigError(f"min_similarity must be in (0, 1] and k >= 1, got {min_similarity}, {k}")
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(sequences):
        for j in range(len(s) - k + 1):
            rows.append(i)
            cols.append(vocab.setdefault(s[j:j + k], len(vocab)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sequences), max(len(vocab), 1)))
    norm = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
    m = sp.diags(1.0 / np.where(norm > 0, norm, 1.0)) @ m
    sim = (m @ m.T).toarray()
    _, labels = connected_components(sp.csr_matrix(sim >= min_similarity - 1e-12), directed=False)
    return labels


def _sequence_groups(source: StoreSource, by: str, table: pd.DataFrame | None = None) -> np.ndarray:
    """Group of every stored sequence: ``auto`` (region when stored, else sequence), ``sequence``, ``region``,
    ``sample``, ``cluster`` (near-identical bases) or a column of ``table``."""
    seqs = source.sequences
    ids = seqs["id"].astype(str).to_numpy()
    if by == "auto":
        has_region = "region" in seqs and seqs["region"].map(lambda r: isinstance(r, str) and bool(r)).all()
        by = "region" if has_region else "sequence"
    if by == "sequence":
        return ids
    if by in ("region", "sample"):
        if by not in seqs or not seqs[by].map(lambda r: isinstance(r, str) and bool(r)).all():
            raise ConfigError(f"stored sequences have no {by} to group by", hint="group by sequence or cluster")
        return seqs[by].astype(str).to_numpy()
    if by == "cluster":
        bases = source.bases
        if bases is None:
            raise ConfigError("grouping by cluster needs the bases, and this store keeps none", path=source.path)
        return np.array([f"cluster{c}" for c in sequence_clusters([bases[i] for i in ids])])
    if table is not None and by in table.columns:
        return table.reindex(ids)[by].astype(str).to_numpy()
    raise ConfigError(f"cannot group by {by!r}", hint="auto, sequence, region, sample, cluster or a table column")


def _pick_sequences(source: StoreSource, groups: np.ndarray, *, max_rows: int, seed: int) -> np.ndarray:
    """Whole groups at random until ``max_rows`` rows: a boolean per stored sequence."""
    rows = source.sequences["rows"].to_numpy()
    names, codes = np.unique(groups, return_inverse=True)
    per_group = np.bincount(codes, weights=rows)
    order = np.random.default_rng(seed).permutation(len(names))
    keep = order[: int(np.searchsorted(np.cumsum(per_group[order]), max_rows) + 1)]
    return np.isin(codes, keep)


def base_rows(
    source: StoreSource,
    concepts: ConceptSet,
    *,
    labels: Sequence[str] = (),
    sae: torch.nn.Module | None = None,
    group_by: str = "auto",
    max_rows: int = 50_000,
    row_stride: int = 1,
    seed: int = 0,
) -> ProbeRows:
    """Per-row inputs and one yes/no target per concept (``labels``; default every concept in the set).

    Whole groups are drawn at random until ``max_rows`` rows; of those, every ``row_stride``-th row is kept.
    """
    names = list(labels) or list(concepts.names)
    missing = [n for n in names if n not in concepts.names]
    if missing:
        raise ConfigError(f"labels {missing} are not in the annotation", hint=f"it has {list(concepts.names)}")
    index = [concepts.names.index(n) for n in names]
    seq_groups = _sequence_groups(source, group_by)
    chosen = _pick_sequences(source, seq_groups, max_rows=max_rows, seed=seed)
    key_names, seq_key = sequence_keys(source, concepts)
    xs: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    labs: list[np.ndarray] = []
    grp: list[np.ndarray] = []
    for chunk in source.chunks(chunk_rows=CHUNK_ROWS):
        keys, lo, hi = row_keys(chunk, concepts, seq_key)
        keep = (keys >= 0) & chosen[chunk.seq] & ((chunk.first_row + np.arange(chunk.n_rows)) % row_stride == 0)
        if not keep.any():
            continue
        lab = np.zeros((int(keep.sum()), len(index)), dtype=bool)
        kk, kl, kh = keys[keep], lo[keep], hi[keep]
        for k in np.unique(kk):
            sel = kk == k
            for j, c in enumerate(index):
                lab[sel, j] = concepts.lookup(key_names[k], c, kl[sel], kh[sel]) >= 0
        acts = chunk.acts[torch.from_numpy(keep)]
        xs.append(acts.numpy().astype(np.float32))
        if sae is not None:
            codes.append(encode(acts, sae=sae).numpy())
        labs.append(lab)
        grp.append(seq_groups[chunk.seq[keep]])
    if not xs:
        raise ConfigError("no stored row is covered by the annotation", path=source.path,
                          hint="check the contig names (--contig-map) and that the annotation spans the sequences")
    y = np.vstack(labs)
    x = {"raw": np.vstack(xs)} | ({"sae": np.vstack(codes)} if sae is not None else {})
    targets = [make_target(n, np.where(y[:, j], "yes", "no"), kind="classes") for j, n in enumerate(names)]
    return ProbeRows("base", x, targets, np.concatenate(grp), source.provenance(),
                     {"n_sequences": int(chosen.sum()), "group_by": group_by})


def pooled_sequences(source: StoreSource, *, sae: torch.nn.Module | None = None) -> dict[str, np.ndarray]:
    """Mean over its rows of every stored sequence: ``raw [sequences, d]`` (and ``sae [sequences, d_sae]``)."""
    n = len(source.sequences)
    sums: dict[str, torch.Tensor] = {}
    counts = torch.zeros(n, dtype=torch.float64)
    for chunk in source.chunks(chunk_rows=CHUNK_ROWS):
        seq = torch.from_numpy(chunk.seq)
        counts.index_add_(0, seq, torch.ones(len(seq), dtype=torch.float64))
        parts = {"raw": chunk.acts} | ({"sae": encode(chunk.acts, sae=sae)} if sae is not None else {})
        for name, v in parts.items():
            acc = sums.setdefault(name, torch.zeros(n, v.shape[1], dtype=torch.float64))
            acc.index_add_(0, seq, v.double())
    return {k: (v / counts.clamp_min(1)[:, None]).numpy().astype(np.float32) for k, v in sums.items()}


def sequence_rows(
    source: StoreSource,
    table: pd.DataFrame,
    *,
    targets: Sequence[str],
    sae: torch.nn.Module | None = None,
    group_by: str = "cluster",
    kind: str = "auto",
) -> ProbeRows:
    """Per-sequence inputs (mean over rows) and ``targets`` from ``table`` (indexed by sequence ID)."""
    if not targets:
        raise ConfigError("name the table column(s) to probe for")
    missing = [t for t in targets if t not in table.columns]
    if missing:
        raise ConfigError(f"columns {missing} not in the label table", hint=f"it has {list(table.columns)}")
    ids = source.sequences["id"].astype(str).to_numpy()
    known = set(ids)
    absent = [i for i in table.index.astype(str) if i not in known]
    if len(absent) == len(table):
        raise ConfigError(f"none of the label table's {len(table)} IDs is a sequence of the store "
                          f"(table: {', '.join(absent[:3])}...; store: {', '.join(ids[:3])}...)",
                          hint="the table's index must be the sequence IDs of the store")
    joined = table.reindex(ids)
    present = joined[list(targets)].notna().all(axis=1).to_numpy()
    if present.sum() < 2:
        raise ConfigError("fewer than two stored sequences have labels in the table",
                          hint="the table's index must be the sequence IDs of the store")
    groups = _sequence_groups(source, group_by, table)[present]
    x = {k: v[present] for k, v in pooled_sequences(source, sae=sae).items()}
    made = [make_target(t, joined[t].to_numpy()[present], kind=kind) for t in targets]
    return ProbeRows("sequence", x, made, groups, source.provenance(),
                     {"n_sequences": int(present.sum()), "n_unlabelled": int((~present).sum()), "group_by": group_by,
                      "n_labels_not_in_store": len(absent), "labels_not_in_store": absent[:MAX_LISTED]})


def sample_rows(
    adata: ad.AnnData,
    *,
    targets: Sequence[str],
    use_rep: str | None = None,
    group_by: str | None = None,
    kind: str = "auto",
) -> ProbeRows:
    """Per-sample inputs (``X`` or ``obsm[use_rep]``) and ``obs`` columns; groups: an ``obs`` column or samples."""
    from genolens.stats.audit import _embedding

    obs = adata.obs
    missing = [t for t in [*targets, *([group_by] if group_by else [])] if t not in obs.columns]
    if missing or not targets:
        raise ConfigError(f"obs columns {missing or 'to probe'} not found", hint=f"obs has {list(obs.columns)}")
    present = obs[list(targets)].notna().all(axis=1).to_numpy()
    x = _embedding(adata, use_rep)[present].astype(np.float32)
    if np.isnan(x).any():
        raise ConfigError("the features have missing values: impute or drop them before probing")
    groups = (obs[group_by].astype(str) if group_by else obs.index.to_series().astype(str)).to_numpy()[present]
    made = [make_target(t, obs[t].to_numpy()[present], kind=kind) for t in targets]
    source = adata.uns.get("source", {}) if isinstance(adata.uns.get("source"), dict) else {}
    prov = Provenance(model=str(source.get("model", "")), layer=int(source.get("layer", -1) or -1))
    return ProbeRows("sample", {"raw": x}, made, groups, prov,
                     {"n_samples": int(present.sum()), "n_unlabelled": int((~present).sum())})
