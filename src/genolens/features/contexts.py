"""Top activating contexts: where each feature's top rows are, with the bases around them.

For every (feature, rank) in a :class:`FeatureSummary`'s top list this gives the
sequence id, the position (0-based base in the sequence), the reference
coordinate where the store knows it, the surrounding bases (``flank`` each side,
from the sequences given, else from the store's own bases; empty for a store
older than format 0.3.0, which keeps none) and the feature's activation on every
base of that window, for shading. Shards are read
once each and only the rows needed around the top rows are re-encoded.

The top rows are distinct loci (see :mod:`~genolens.features.summary`); ``n_sequences``
says how many stored sequences cover each one (a row at the same reference position,
contig and strand; without reference coordinates, identical sequences at the same
position), and ``n_identical`` how many of them carry exactly the context's bases around
it (the window shown). Both come from row metadata and bases alone (no activations).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError, InputFormatError
from genolens.features.source import StoreSource
from genolens.features.summary import FeatureSummary, encode

CONTEXT_COLUMNS = [
    "feature", "rank", "activation", "n_sequences", "n_identical", "sequence_id", "sequence_index", "position",
    "span_end", "contig", "strand", "ref_pos", "window_start", "window_end", "bases", "base_activations",
]


def check_sequences(source: StoreSource, *, sequences: Mapping[str, str], path: str | None = None) -> None:
    """Every stored sequence must be given (``path``: where they came from, for the message), as it was embedded.

    Lengths are checked always; the bases themselves (SHA-256) where the store keeps digests (format 0.3.0 on).
    """
    table = source.sequences
    for index, (seq_id, length) in enumerate(zip(table["id"], table["length"], strict=True)):
        text = sequences.get(seq_id)
        if text is None:
            raise InputFormatError(
                "a sequence of the store is missing from the sequences given", path=path, record=seq_id,
                hint="pass the FASTA the store was embedded from",
            )
        if len(text) != int(length):
            raise InputFormatError(
                f"sequence has {len(text)} bases, the store says {int(length)}", path=path, record=seq_id,
                hint="pass the FASTA the store was embedded from",
            )
        if source.same_bases(index, text) is False:
            raise InputFormatError(
                "sequence differs from the one the store was embedded from (SHA-256 of its bases)", path=path,
                record=seq_id, hint="pass the FASTA the store was embedded from, or leave --sequences out",
            )


def top_contexts(
    source: StoreSource,
    *,
    sae: torch.nn.Module,
    summary: FeatureSummary,
    sequences: Mapping[str, str] | None = None,
    flank: int = 10,
) -> pd.DataFrame:
    """One row per (feature, rank) with a filled slot; ``base_activations`` is a float32 array per row.

    ``sequences`` (checked against the store) give the bases; without them the store's own are used.
    """
    if flank < 0:
        raise ConfigError(f"flank must be >= 0, got {flank}")
    if sequences is not None:
        check_sequences(source, sequences=sequences)
    else:
        sequences = source.bases
    feats, ranks = np.nonzero(summary.top_rows >= 0)
    rows = summary.top_rows[feats, ranks]
    if rows.size == 0:
        return pd.DataFrame(columns=CONTEXT_COLUMNS)
    shards, local = source.locate(rows)
    loci = summary.top_loci[feats, ranks] if summary.top_loci is not None else None
    table = source.sequences
    metas = table.to_dict("records")  # row access without pandas overhead per context
    ids = [str(i) for i in table["id"]]
    out: list[dict] = []
    for shard in np.unique(shards):
        pick = np.nonzero(shards == shard)[0]
        store = source.store
        acts = store.activations(int(shard), source.layer)
        seq_local = store.read(int(shard), "row.seq").numpy()
        span = store.read(int(shard), "row.span").numpy()
        ref = store.read(int(shard), "row.ref").numpy()
        n_local = acts.shape[0]
        lo = np.clip(local[pick] - flank, 0, n_local)
        hi = np.clip(local[pick] + flank + 1, 0, n_local)
        need = np.unique(np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)]))
        codes = encode(acts[torch.from_numpy(need)], sae=sae).numpy()  # [len(need), F]
        where = np.searchsorted(need, np.arange(n_local))  # local row -> index in need (valid where needed)
        seq0 = int(table.index[table["shard"] == shard][0])
        for j, a, b in zip(pick, lo, hi, strict=True):
            f, r = int(feats[j]), int(local[j])
            s_idx = seq0 + int(seq_local[r])
            meta = metas[s_idx]
            start, end = int(span[r, 0]), int(span[r, 1])
            w0, w1 = max(0, start - flank), min(int(meta["length"]), end + flank)
            shade = np.zeros(w1 - w0, dtype=np.float32)
            for rr in range(a, b):
                if seq_local[rr] != seq_local[r]:
                    continue
                s0, s1 = max(int(span[rr, 0]), w0), min(int(span[rr, 1]), w1)
                if s1 > s0:
                    shade[s0 - w0 : s1 - w0] = np.maximum(shade[s0 - w0 : s1 - w0], codes[where[rr], f])
            bases = sequences[meta["id"]][w0:w1] if sequences is not None else ""
            out.append({
                "feature": f, "rank": int(ranks[j]), "activation": float(summary.top_values[f, ranks[j]]),
                "locus": None if loci is None else int(loci[j]),
                "sequence_id": meta["id"], "sequence_index": s_idx, "position": start, "span_end": end,
                "contig": meta.get("contig"), "strand": meta.get("strand"), "ref_pos": int(ref[r, 0]),
                "window_start": w0, "window_end": w1, "bases": bases, "base_activations": shade,
            })
    frame = pd.DataFrame(out).sort_values(["feature", "rank"], kind="stable").reset_index(drop=True)
    if loci is None:  # an old summary without keys: each context stands for itself
        frame["n_sequences"], frame["n_identical"] = 1, 1
    else:
        keys = frame["locus"].to_numpy(dtype=np.int64)
        frame["n_sequences"], frame["n_identical"] = _carriers(frame, keys, source.locus_rows(keys),
                                                               sequences=sequences, ids=ids)
    return frame[CONTEXT_COLUMNS]


def _carriers(
    frame: pd.DataFrame, loci: np.ndarray, at_loci: pd.DataFrame, *, sequences: Mapping[str, str] | None,
    ids: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Per context (``loci`` its keys): sequences covering its locus, and those with its very bases around it.

    The bases are compared sequence by sequence in store order (a store's bases are read a shard at a time).
    Without bases ``n_identical`` is -1.
    """
    covered = at_loci["locus"].value_counts()
    n_sequences = covered.reindex(loci, fill_value=0).to_numpy(dtype=np.int64)
    if sequences is None or frame.empty:
        return n_sequences, np.full(len(frame), -1, dtype=np.int64)
    ctx = pd.DataFrame({"locus": loci, "context": np.arange(len(frame)),
                        "left": (frame["position"] - frame["window_start"]).to_numpy()})
    pairs = ctx.merge(at_loci, on="locus").sort_values("sequence_index", kind="stable")
    bases = frame["bases"].tolist()
    same = np.zeros(len(frame), dtype=np.int64)
    for s_idx, rows in pairs.groupby("sequence_index", sort=True):
        text = sequences[ids[int(s_idx)]]
        for c, left, start in zip(rows["context"], rows["left"], rows["start"], strict=True):
            a = int(start) - int(left)
            same[c] += a >= 0 and text[a : a + len(bases[c])] == bases[c]
    return n_sequences, same


def write_contexts(contexts: pd.DataFrame, *, path: str | Path) -> None:
    """TSV with ``base_activations`` as comma-separated values (4 significant digits)."""
    frame = contexts.copy()
    frame["base_activations"] = [",".join(f"{v:.4g}" for v in a) for a in frame["base_activations"]]
    frame.to_csv(path, sep="\t", index=False)


def read_contexts(path: str | Path) -> pd.DataFrame:
    """Inverse of :func:`write_contexts`."""
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, dtype={"bases": str, "contig": str, "strand": str})
    frame["base_activations"] = [
        np.array([float(v) for v in s.split(",")] if s else [], dtype=np.float32) for s in frame["base_activations"]
    ]
    return frame
