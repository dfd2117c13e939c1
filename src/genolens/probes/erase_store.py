"""LEACE erasure of a concept from a layer's per-token activations: fit on a store, audit, write an erased store.

The concept is a label per sequence (a column of a table keyed by sequence ID; every token of a sequence
carries it) or per base (a concept of an annotation, as ``probe train`` reads it). The eraser is fit on the
store's rows (whole sequences drawn at random up to ``max_rows``); the audit probes the concept and the
targets to retain on those rows before erasure and after a *cross-fitted* erasure (each fold of groups
erased by an eraser fit on the others, see :func:`genolens.probes.erase.cross_fitted`), with the
shuffled-label controls. The erased store is the input store with the layer's rows passed through the
eraser fit on all rows; its ``edits`` records the erasure, its provenance stays the model's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError
from genolens.features.source import StoreSource
from genolens.io.files import write_json
from genolens.io.tensorfile import DIGEST_KEY
from genolens.probes.erase import Eraser, concept_matrix, fit_eraser, save_eraser
from genolens.probes.probe import ProbeConfig, Target, cross_validate, group_folds, make_target
from genolens.probes.probe_data import CHUNK_ROWS, _pick_sequences, _sequence_groups, base_rows
from genolens.store.format import COMPLETE_JSON, SHARD_DIR, STORE_JSON, WITHOUT_DIGEST, act_key, write_json_atomic
from genolens.store.shardfile import ShardFile, TensorSpec


@dataclass(eq=False)
class StoreEraseResult:
    """The per-token eraser, the probes before/after (``audit``) and the erased store's path.

    Attributes
    ----------
    eraser
        The LEACE eraser (``level="token"``, the store layer's provenance).
    audit
        target, representation (``before``/``after`` and ``shuffled_*``), metric, score, CI, chance.
    store
        The erased store (None when not written).
    summary
        JSON-ready settings and counts.
    """

    eraser: Eraser
    audit: pd.DataFrame
    store: Path | None
    summary: dict[str, Any]

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write ``eraser/``, ``audit.tsv`` and ``summary.json`` into ``out``; return it."""
        root = Path(out)
        save_eraser(self.eraser, root / "eraser")
        self.audit.to_csv(root / "audit.tsv", sep="\t", index=False)
        write_json(root / "summary.json", self.summary)
        return root


def _table_rows(source: StoreSource, table: pd.DataFrame, columns: Sequence[str], *, group_by: str,
                max_rows: int, seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Rows of whole labelled sequences (up to ``max_rows``), each token labelled by its sequence's columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"columns {missing} not in the label table", hint=f"it has {list(table.columns)}")
    ids = source.sequences["id"].astype(str).to_numpy()
    joined = table.reindex(ids)[list(columns)]
    labelled = joined.notna().all(axis=1).to_numpy()
    groups = _sequence_groups(source, group_by, table)
    chosen = labelled & _pick_sequences(source, np.where(labelled, groups, "\0unlabelled"), max_rows=max_rows,
                                        seed=seed)
    xs, seqs = [], []
    for chunk in source.chunks(chunk_rows=CHUNK_ROWS):
        keep = chosen[chunk.seq]
        if keep.any():
            xs.append(chunk.acts[torch.from_numpy(keep)].numpy().astype(np.float64))
            seqs.append(chunk.seq[keep])
    if not xs:
        raise ConfigError("no stored sequence has labels in the table", path=source.path,
                          hint="the table's index must be the sequence IDs of the store")
    seq = np.concatenate(seqs)
    return np.vstack(xs), [joined[c].to_numpy()[seq] for c in columns], groups[seq]


def _grouped_cross_fit(x: np.ndarray, z: np.ndarray, groups: np.ndarray, *, n_folds: int, seed: int) -> np.ndarray:
    fold = group_folds(groups, n_folds=n_folds, seed=seed)
    out = np.empty_like(x)
    for k in range(n_folds):
        train = fold != k
        out[~train] = fit_eraser(x[train], z[train], concept="").apply(x[~train])
    return out


def write_erased_store(source: StoreSource, eraser: Eraser, out: str | os.PathLike[str]) -> Path:
    """Copy ``source``'s store to ``out`` with its layer's rows erased (shard by shard, in chunks).

    Parameters
    ----------
    source
        The store and layer the eraser was fit on.
    eraser
        The per-token eraser.
    out
        New store folder (must not hold a store).

    Returns
    -------
    pathlib.Path
        The erased store.
    """
    store, target = source.store, Path(out)
    if (target / STORE_JSON).exists():
        raise ConfigError("the output folder already holds a store", path=target, hint="choose a new folder")
    (target / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    meta = json.loads((store.path / STORE_JSON).read_text())
    config = dict(meta["config"])
    config["edits"] = [*config.get("edits", []), f"leace:{eraser.concept}@L{source.layer}"]
    write_json_atomic(target / STORE_JSON, {**meta, "config": config})
    key = act_key(source.layer)
    for index in range(store.n_shards):
        handle, shard_meta = store._open(index)
        names = sorted(handle.keys())
        tensors = {n: handle.get_slice(n) for n in names}
        specs = [TensorSpec(n, store.read(index, n).dtype, tuple(tensors[n].get_shape())) for n in names]
        clean = {k: v for k, v in shard_meta.items() if k != DIGEST_KEY}
        with ShardFile(target / SHARD_DIR / store.shard_path(index).name, specs, clean,
                       digest=store.version not in WITHOUT_DIGEST) as shard:
            for n in names:
                values = store.read(index, n)
                if n != key:
                    shard.write(n, 0, values)
                    continue
                for lo in range(0, values.shape[0], CHUNK_ROWS):
                    shard.write(n, lo, eraser(values[lo:lo + CHUNK_ROWS].float()))
    if store.complete:
        write_json_atomic(target / COMPLETE_JSON, json.loads((store.path / COMPLETE_JSON).read_text()))
    return target


def erase_store(
    store: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | pd.DataFrame,
    concept: str,
    retain: Sequence[str] = (),
    layer: int | None = None,
    out_store: str | os.PathLike[str] | None = None,
    id_column: str = "id",
    group_by: str | None = None,
    contig_map: Mapping[str, str] | None = None,
    max_rows: int = 50_000,
    config: ProbeConfig = ProbeConfig(l1_steps=0),
    allow_partial: bool = False,
) -> StoreEraseResult:
    """Fit a LEACE eraser of ``concept`` on a store layer's tokens, audit it, and write the erased store.

    Parameters
    ----------
    store
        Activation store folder.
    labels
        A table keyed by sequence ID (CSV/TSV or DataFrame: a label per sequence, given to its tokens) or an
        annotation (BED/GFF3/GTF or residue TSV: a yes/no label per base).
    concept
        The table column, or the annotation concept, to erase.
    retain
        Other columns/concepts to probe before and after (what the erased layer still supports).
    layer
        Store layer (default the only one).
    out_store
        Where to write the erased store (None: audit only).
    id_column, contig_map
        As :func:`genolens.probes.probe_train.probe`.
    group_by
        What stays in one fold (default ``cluster`` for tables, region-or-sequence for annotations).
    max_rows
        Rows (whole sequences at random) to fit and audit on.
    config
        The audit probes' folds, bootstrap and seed.
    allow_partial
        Read an unfinished store.

    Returns
    -------
    StoreEraseResult
        The eraser, the audit (``before``/``after`` and shuffled controls per target) and the erased store.
    """
    from genolens.probes.probe_train import _read_table

    source = StoreSource(store, layer=layer, partial=allow_partial)
    columns = [concept, *retain]
    is_annotation = not isinstance(labels, pd.DataFrame) and str(labels).lower().removesuffix(".gz").endswith(
        (".bed", ".gff", ".gff3", ".gtf"))
    if is_annotation:
        from genolens.features.concept_sets import read_concepts

        concepts = read_concepts(labels, sequence_ids=set(source.sequences["id"].astype(str)),
                                 extents=source.ref_extents(), contig_map=contig_map)
        rows = base_rows(source, concepts, labels=columns, group_by=group_by or "auto", max_rows=max_rows,
                         seed=config.seed)
        x, groups, targets = rows.x["raw"].astype(np.float64), rows.groups, list(rows.targets)
    else:
        table = labels if isinstance(labels, pd.DataFrame) else _read_table(labels, id_column=id_column)
        x, values, groups = _table_rows(source, table, columns, group_by=group_by or "cluster", max_rows=max_rows,
                                        seed=config.seed)
        targets = [make_target(c, v) for c, v in zip(columns, values, strict=True)]
    target: Target = targets[0]
    z, classes = concept_matrix(target.y)
    eraser = fit_eraser(x, z, concept=concept, classes=classes, level="token", provenance=source.provenance())
    erased = _grouped_cross_fit(x, z, groups, n_folds=config.n_folds, seed=config.seed)
    audit = cross_validate({"before": x, "after": erased}, targets, groups=groups, config=config).table
    written = write_erased_store(source, eraser, out_store) if out_store is not None else None
    summary = {"concept": concept, "retain": list(retain), "layer": source.layer, "n_rows": int(len(x)),
               "n_groups": int(np.unique(groups.astype(str)).size), "rank": int(eraser.proj_left.shape[1]),
               "store": str(source.path), "erased_store": str(written) if written else None}
    return StoreEraseResult(eraser, audit, written, summary)
