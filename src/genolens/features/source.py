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
from genolens.sae.config import Provenance
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

    @property
    def n_rows(self) -> int:
        return int(self.seq.shape[0])


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
        base = int(self._shard_first[shard])
        for lo in range(0, acts.shape[0], chunk_rows):
            hi = min(lo + chunk_rows, acts.shape[0])
            yield Chunk(shard, base + lo, acts[lo:hi].float(), seq[lo:hi], span[lo:hi], ref[lo:hi])

    def chunks(self, *, chunk_rows: int) -> Iterator[Chunk]:
        """Every row of the layer, shard by shard, in chunks (memory: one shard + one chunk)."""
        for shard in range(self.store.n_shards):
            yield from self.shard_chunks(shard, chunk_rows=chunk_rows)

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
