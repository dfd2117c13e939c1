"""The one place where feature interpretation touches the activation store.

Everything in :mod:`genolens.features` reads activations through
:class:`StoreSource`: chunks of rows of one layer with, per row, the global
index of its sequence, its base span and its reference span. Keeping the store
coupling here means a change in the store's layout is a change in this file only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError
from genolens.provenance import Provenance
from genolens.store.format import sequence_digest


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive rows of one shard: ``acts [rows, d_in]`` and per-row metadata (numpy)."""

    shard: int
    first_row: int  # global index of the first row
    acts: torch.Tensor
    seq: np.ndarray  # [rows] global sequence index (into StoreSource.sequences)
    span: np.ndarray  # [rows, 2] bases [start, end) in the sequence
    ref: np.ndarray  # [rows, 2] reference position of first/last base, -1 unknown
    locus: np.ndarray | None = None  # [rows] int64 locus key (:meth:`StoreSource.locus_keys`); None: row index

    @property
    def n_rows(self) -> int:
        return int(self.seq.shape[0])


_LOCUS_SPAN = np.int64(1) << 40  # positions (and base offsets) per contig/strand in a locus key


def _sequence_codes(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence: a code of its (contig, strand) (-1: no contig), and a code of its bases (SHA-256)."""
    contig = table["contig"] if "contig" in table else pd.Series([None] * len(table))
    strand = table["strand"] if "strand" in table else pd.Series(["+"] * len(table))
    pairs = [(c, s if isinstance(s, str) else "+") if isinstance(c, str) and c else None
             for c, s in zip(contig, strand, strict=True)]
    names = {p: i for i, p in enumerate(sorted({p for p in pairs if p is not None}))}
    strand_code = np.array([names[p] if p is not None else -1 for p in pairs], dtype=np.int64)
    digests = table["sha256"] if "sha256" in table else pd.Series([None] * len(table))
    keys = [d if isinstance(d, str) else f"#{i}" for i, d in enumerate(digests)]
    codes = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return strand_code, np.array([codes[k] for k in keys], dtype=np.int64)


class StoreSource:
    """Rows of ``layer`` in a store, in store order, with global row and sequence indices."""

    def __init__(self, path: str | Path, *, layer: int | None = None, partial: bool = False) -> None:
        from genolens.store.reader import ActivationStore

        self.store = ActivationStore(path, partial=partial)
        self.path = Path(path)
        layers = list(self.store.layers)
        if layer is None or layer < 0:
            if len(layers) != 1:
                raise ConfigError(
                    f"the store holds layers {layers}: say which one", path=self.path, hint="pass --layer"
                )
            layer = layers[0]
        if layer not in layers:
            raise ConfigError(f"layer {layer} is not in the store (layers {layers})", path=self.path)
        self.layer = int(layer)
        table = self.store.sequences.reset_index(drop=True)
        if table.empty:
            raise ConfigError("the store holds no sequences", path=self.path)
        self.sequences: pd.DataFrame = table
        counts = table.groupby("shard")["rows"].sum()
        self._shard_first = np.concatenate([[0], np.cumsum(counts.to_numpy())]).astype(np.int64)
        self._shard_seq0 = np.concatenate([[0], np.cumsum(table.groupby("shard").size().to_numpy())])
        self._seq_strand, self._seq_bases = _sequence_codes(table)

    @property
    def n_rows(self) -> int:
        return int(self._shard_first[-1])

    @property
    def hidden_size(self) -> int:
        return int(self.store.config.hidden_size)

    @property
    def model(self) -> str:
        return str(self.store.config.model)

    def provenance(self) -> Provenance:
        """Model, weights hash, layer and tokenizer of the rows (what SAEs and probes trained on them record)."""
        return Provenance.of_store(self.store, layer=self.layer)

    @property
    def has_bases(self) -> bool:
        """True when the store keeps the bases of its sequences (format 0.3.0 on)."""
        return self.store.has_bases

    def same_bases(self, index: int, text: str) -> bool | None:
        """Whether ``text`` is what stored sequence ``index`` was embedded from (SHA-256); None: the store can't say."""
        digest = self.sequences["sha256"].iat[index] if "sha256" in self.sequences else None
        return sequence_digest(text) == digest if isinstance(digest, str) else None

    @property
    def bases(self) -> Mapping[str, str] | None:
        """The stored bases by sequence ID (read a shard at a time), or None for a store that keeps none."""
        return self.store.bases_by_id()

    def shard_chunks(self, shard: int, *, chunk_rows: int) -> Iterator[Chunk]:
        """Chunks of at most ``chunk_rows`` rows of one shard (the shard is read once)."""
        acts = self.store.activations(shard, self.layer)
        seq = self.store.read(shard, "row.seq").numpy() + self._shard_seq0[shard]
        span = self.store.read(shard, "row.span").numpy()
        ref = self.store.read(shard, "row.ref").numpy()
        locus = self.locus_keys(seq, span, ref)
        base = int(self._shard_first[shard])
        for lo in range(0, acts.shape[0], chunk_rows):
            hi = min(lo + chunk_rows, acts.shape[0])
            yield Chunk(shard, base + lo, acts[lo:hi].float(), seq[lo:hi], span[lo:hi], ref[lo:hi], locus[lo:hi])

    def chunks(self, *, chunk_rows: int) -> Iterator[Chunk]:
        """Every row of the layer, shard by shard, in chunks (memory: one shard + one chunk)."""
        for shard in range(self.store.n_shards):
            yield from self.shard_chunks(shard, chunk_rows=chunk_rows)

    def locus_keys(self, seq: np.ndarray, span: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """One int64 key per row: rows of different sequences at the same locus share it.

        A row with a reference coordinate (its first base's, else its last's) is keyed by (contig,
        strand, that position), so the haplotypes of many people over one reference position share a
        key; a row without one by (the sequence's bases, SHA-256, and the row's start in it), so only
        identical sequences share it (a store without digests: each sequence is its own).
        """
        pos = np.where(ref[:, 0] >= 0, ref[:, 0], ref[:, 1])
        strand = self._seq_strand[seq]
        keyed = (pos >= 0) & (strand >= 0)
        by_ref = strand * _LOCUS_SPAN + pos
        by_bases = -1 - (self._seq_bases[seq] * _LOCUS_SPAN + span[:, 0])
        return np.where(keyed, by_ref, by_bases).astype(np.int64)

    def locus_rows(self, keys: np.ndarray) -> pd.DataFrame:
        """Every stored row at one of ``keys`` (reads row metadata only).

        Parameters
        ----------
        keys
            Locus keys (:meth:`locus_keys`).

        Returns
        -------
        pandas.DataFrame
            ``locus``, ``sequence_index`` (global) and ``start`` (the row's first base in its sequence), one row
            per stored row found, sorted by locus.
        """
        wanted = np.unique(keys)
        parts = []
        for shard in range(self.store.n_shards if wanted.size else 0):
            seq = self.store.read(shard, "row.seq").numpy() + self._shard_seq0[shard]
            span = self.store.read(shard, "row.span").numpy()
            found = self.locus_keys(seq, span, self.store.read(shard, "row.ref").numpy())
            hit = wanted[np.searchsorted(wanted, found).clip(0, wanted.size - 1)] == found
            parts.append(pd.DataFrame({"locus": found[hit], "sequence_index": seq[hit], "start": span[hit, 0]}))
        if not parts:
            return pd.DataFrame({"locus": [], "sequence_index": [], "start": []}, dtype=np.int64)
        return pd.concat(parts, ignore_index=True).sort_values("locus", kind="stable").reset_index(drop=True)

    def ref_extents(self) -> dict[str, tuple[int, int]]:
        """Reference span ``[min, max + 1)`` of the stored rows per contig (reads only row metadata)."""
        contigs = self.sequences["contig"].to_numpy()
        out: dict[str, tuple[int, int]] = {}
        for shard in range(self.store.n_shards):
            seq = self.store.read(shard, "row.seq").numpy() + self._shard_seq0[shard]
            ref = self.store.read(shard, "row.ref").numpy()
            known = (ref >= 0).all(axis=1)
            for contig in {c for c in contigs[seq[known]] if isinstance(c, str)}:
                sel = known & (contigs[seq] == contig)
                lo, hi = int(ref[sel].min()), int(ref[sel].max()) + 1
                old = out.get(contig, (lo, hi))
                out[contig] = (min(lo, old[0]), max(hi, old[1]))
        return out

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shard, row within shard) of global row indices."""
        shard = np.searchsorted(self._shard_first, rows, side="right") - 1
        return shard, rows - self._shard_first[shard]


def sae_source(
    store: str | Path, *, sae: str | Path, layer: int | None = None, partial: bool = False
) -> tuple[torch.nn.Module, StoreSource]:
    """Load an SAE and open the store's layer it reads (default: the SAE's); another model or layer is refused.

    Parameters
    ----------
    store
        Activation store folder.
    sae
        SAE folder.
    layer
        Store layer (default: the SAE's).
    partial
        Read an unfinished store.

    Returns
    -------
    tuple
        The SAE (eval mode, CPU) and the :class:`StoreSource` of its layer.
    """
    from genolens.sae.checkpoint import check_compatible, load_sae

    model = load_sae(sae)
    if layer is None and model.cfg.provenance.layer >= 0:
        layer = model.cfg.provenance.layer
    source = StoreSource(store, layer=layer, partial=partial)
    check_compatible(model, Provenance(model=source.model, layer=source.layer), what=f"store {store}")
    return model, source
