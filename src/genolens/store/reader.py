"""Read an activation store: its config, sequences, and shards (memory-mapped by safetensors)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open

from genolens.errors import GenolensError, InputFileError, InputFormatError
from genolens.io.tensorfile import read_header, verify_digest
from genolens.store.format import (
    COMPLETE_JSON,
    SHARD_DIR,
    SHARD_TYPE,
    STORE_JSON,
    STORE_TYPE,
    SUPPORTED_VERSIONS,
    TMP_SUFFIX,
    WITHOUT_BASES,
    StoreConfig,
    act_key,
    shard_name,
)

REPAIR_HINT = (
    "delete this shard, the shards after it and complete.json, then run the same `genolens embed` again: "
    "it rewrites them"
)
SHARD_NAME = re.compile(r"shard-\d{6}\.safetensors")


@dataclass(frozen=True)
class StoreCheck:
    """What :meth:`ActivationStore.verify` checked: shards, sequences, rows, bytes, data checksums compared."""

    shards: int
    sequences: int
    rows: int
    bytes: int
    checksums: int


class ActivationStore:
    """A store on disk. Shards are opened on demand; nothing but metadata is read up front.

    Every shard is checked against its header when first opened (a file cut short, grown,
    or with a damaged header is an error naming it); :meth:`verify` also checks the data
    checksums (``genolens check``).

    Parameters
    ----------
    path
        The store folder.
    partial
        Read a store whose embed has not finished (no ``complete.json``): only the shards
        written so far. Off by default, so that no result is silently computed on part of
        the data; :meth:`provenance` records it for the outputs made from such a store.
    """

    def __init__(self, path: str | Path, *, partial: bool = False) -> None:
        self.path = Path(path)
        self.partial = partial
        self._checked: set[int] = set()
        meta_path = self.path / STORE_JSON
        if not meta_path.is_file():
            raise InputFileError("not an activation store (no store.json)", path=self.path)
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"store.json is not valid JSON: {exc}", path=meta_path) from exc
        if meta.get("encoding-type") != STORE_TYPE:
            raise InputFormatError(
                f"expected encoding-type {STORE_TYPE!r}, found {meta.get('encoding-type')!r}", path=meta_path
            )
        version = meta.get("encoding-version")
        if version not in SUPPORTED_VERSIONS:
            raise InputFormatError(
                f"store format version {version!r} is not supported (supported: {', '.join(SUPPORTED_VERSIONS)})",
                path=meta_path,
                hint="a newer genolens wrote it?",
            )
        self.version: str = version
        self.genolens_version: str = meta.get("genolens", "")
        self.config = StoreConfig.from_json(meta["config"])
        self.n_shards = self._count_shards()
        if self.complete:
            try:
                expected = json.loads((self.path / COMPLETE_JSON).read_text()).get("shards")
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                raise InputFormatError(
                    "complete.json is damaged (not a JSON object)", path=self.path / COMPLETE_JSON
                ) from None
            if expected != self.n_shards:
                raise InputFormatError(
                    f"finished store has {self.n_shards} shards, complete.json says {expected}", path=self.path,
                    hint="shards were removed or added after the store was finished",
                )
        elif not partial:
            raise InputFileError(
                f"store is unfinished: {self.n_shards} shard(s) written and no complete.json "
                "(its embed was interrupted or is still running)",
                path=self.path,
                hint="finish it by running the same `genolens embed` command again (it resumes), "
                "or pass --allow-partial to use only the shards written so far",
            )

    def _count_shards(self) -> int:
        folder = self.path / SHARD_DIR
        if not folder.is_dir():
            raise InputFileError("store has no shards folder", path=self.path)
        names = []
        for p in sorted(folder.iterdir()):
            if p.name.endswith(TMP_SUFFIX):
                continue  # a shard being written (or left by a killed run): not part of the store
            if not SHARD_NAME.fullmatch(p.name) or not p.is_file():
                raise InputFormatError(
                    "foreign file in the store's shards folder (only shard-NNNNNN.safetensors belong there)",
                    path=p, hint="move it out of the store",
                )
            names.append(p.name)
        for i, name in enumerate(names):
            if name != shard_name(i):
                raise InputFormatError(f"shard {shard_name(i)} is missing (found {name})", path=self.path)
        return len(names)

    def provenance(self) -> dict:
        """Where outputs made from this store came from: path, format, shards, finished or partial.

        Returns
        -------
        dict
            ``path``, ``format``, ``shards``, ``complete``.
        """
        return {"path": str(self.path), "format": self.version, "shards": self.n_shards, "complete": self.complete}

    def verify(self) -> StoreCheck:
        """Check every shard: header, size, tables (rows and bases add up) and data SHA-256 (format 0.4.0 on).

        The first problem found is raised, naming the shard.

        Returns
        -------
        StoreCheck
            What was checked.
        """
        total = checksums = rows = sequences = 0
        for index in range(self.n_shards):
            path = self.shard_path(index)
            try:
                checksums += verify_digest(path, what="shard")
            except GenolensError as exc:
                exc.hint = exc.hint or REPAIR_HINT
                raise
            seqs = self.shard_sequences(index)
            n_rows, listed_rows = self.shard_rows(index), sum(int(s["rows"]) for s in seqs)
            if n_rows != listed_rows:
                raise InputFormatError(f"shard lists {listed_rows} rows, holds {n_rows}", path=path)
            n_bases = self._open(index)[0].get_slice("base.seq").get_shape()[0] if self.has_bases else None
            if n_bases is not None and n_bases != sum(int(s["length"]) for s in seqs):
                raise InputFormatError("shard's bases do not add up to its sequences' lengths", path=path)
            total += path.stat().st_size
            rows += n_rows
            sequences += len(seqs)
        if self.complete:
            listed = json.loads((self.path / COMPLETE_JSON).read_text()).get("sequences")
            if listed is not None and listed != sequences:
                raise InputFormatError(
                    f"finished store holds {sequences} sequences, complete.json says {listed}", path=self.path
                )
        return StoreCheck(self.n_shards, sequences, rows, total, checksums)

    @property
    def complete(self) -> bool:
        """True when the run that wrote the store finished."""
        return (self.path / COMPLETE_JSON).is_file()

    @property
    def layers(self) -> tuple[int, ...]:
        return self.config.layers

    @property
    def has_bases(self) -> bool:
        """True when the store keeps its sequences' bases, reference positions and digests (format >= 0.3.0)."""
        return self.version not in WITHOUT_BASES

    def shard_path(self, index: int) -> Path:
        """The file of shard ``index``.

        Parameters
        ----------
        index
            Shard number, from 0.

        Returns
        -------
        pathlib.Path
            ``STORE/shards/shard-NNNNNN.safetensors``.
        """
        if not 0 <= index < self.n_shards:
            raise IndexError(f"shard {index} out of range (store has {self.n_shards})")
        return self.path / SHARD_DIR / shard_name(index)

    def _open(self, index: int):  # noqa: ANN202
        path = self.shard_path(index)
        try:
            if index not in self._checked:
                read_header(path, what="shard")  # cut short, grown or damaged: one clear error, not a SafetensorError
                self._checked.add(index)
            try:
                handle = safe_open(str(path), framework="pt")
            except SafetensorError as exc:
                raise InputFormatError(f"shard is damaged: {exc}", path=path) from None
        except GenolensError as exc:
            exc.hint = exc.hint or REPAIR_HINT
            raise
        meta = handle.metadata() or {}
        if meta.get("encoding-type") != SHARD_TYPE or meta.get("encoding-version") not in SUPPORTED_VERSIONS:
            raise InputFormatError("not a genolens activation shard of a supported version", path=path)
        return handle, meta

    def shard_sequences(self, index: int) -> list[dict]:
        """The sequences of shard ``index`` (id, length, rows, contig, strand, ...).

        Parameters
        ----------
        index
            Shard number, from 0.

        Returns
        -------
        list of dict
            One entry per sequence, in shard order, from the shard's header.
        """
        _, meta = self._open(index)
        try:
            seqs = json.loads(meta["sequences"])
        except (KeyError, TypeError, json.JSONDecodeError):
            raise InputFormatError("shard is damaged: its list of sequences is missing or not JSON",
                                   path=self.shard_path(index)) from None
        return seqs

    def shard_rows(self, index: int) -> int:
        """How many activation rows (tokens) shard ``index`` holds.

        Parameters
        ----------
        index
            Shard number, from 0.

        Returns
        -------
        int
            The row count.
        """
        handle, _ = self._open(index)
        return handle.get_slice("row.seq").get_shape()[0]

    def read(self, index: int, key: str) -> torch.Tensor:
        """One tensor of a shard: ``acts.L{layer}``, ``row.seq``/``span``/``ref``, ``base.seq``/``ref``.

        Parameters
        ----------
        index
            Shard number, from 0.
        key
            Tensor name (an unknown one is a KeyError listing the shard's).

        Returns
        -------
        torch.Tensor
            The tensor, memory-mapped.
        """
        handle, _ = self._open(index)
        if key not in handle.keys():  # noqa: SIM118 - safe_open is not a dict
            raise KeyError(f"shard {index} has no tensor {key!r} (has {sorted(handle.keys())})")
        return handle.get_tensor(key)

    def activations(self, index: int, layer: int) -> torch.Tensor:
        """``[rows, dim]`` activations of ``layer`` in shard ``index``.

        Parameters
        ----------
        index
            Shard number, from 0.
        layer
            A stored layer (:attr:`layers`).

        Returns
        -------
        torch.Tensor
            In the store's dtype (float32 or bfloat16).
        """
        if layer not in self.layers:
            raise KeyError(f"layer {layer} is not in the store (layers {list(self.layers)})")
        return self.read(index, act_key(layer))

    @cached_property
    def sequences(self) -> pd.DataFrame:
        """One row per stored sequence: its shard, first row and first base in the shard, and metadata."""
        rows = []
        for shard in range(self.n_shards):
            offset = base = 0
            for seq in self.shard_sequences(shard):
                rows.append({"shard": shard, "row_offset": offset, "base_offset": base, **seq})
                offset += seq["rows"]
                base += seq["length"]
        return pd.DataFrame(rows)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {seq_id: i for i, seq_id in enumerate(self.sequences["id"])} if self.n_shards else {}

    @cached_property
    def _base_locations(self) -> np.ndarray:
        """``[sequences, 3]`` int64: shard, first base in the shard, length (fast per-ID lookups)."""
        if not self.n_shards:
            return np.zeros((0, 3), dtype=np.int64)
        return self.sequences[["shard", "base_offset", "length"]].to_numpy(dtype=np.int64)

    def _position(self, seq_id: str) -> int:
        """Index of a sequence in :attr:`sequences`."""
        i = self._index.get(seq_id)
        if i is None:
            raise KeyError(f"sequence {seq_id!r} is not in the store")
        return i

    def _locate(self, seq_id: str) -> tuple[int, int, int]:
        """(shard, first base in the shard, length) of a sequence."""
        shard, start, length = self._base_locations[self._position(seq_id)].tolist()
        return shard, start, length

    @property
    def n_rows(self) -> int:
        return int(self.sequences["rows"].sum()) if self.n_shards else 0

    def sequence(self, seq_id: str, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Activations ``[rows, dim]`` and spans ``[rows, 2]`` of one sequence.

        Parameters
        ----------
        seq_id
            Sequence ID.
        layer
            A stored layer.

        Returns
        -------
        tuple of torch.Tensor
            The activations, and for each row the half-open span of bases (residues) it covers.
        """
        row = self.sequences.iloc[self._position(seq_id)]
        sl = slice(int(row.row_offset), int(row.row_offset) + int(row.rows))
        return self.activations(int(row.shard), layer)[sl], self.read(int(row.shard), "row.span")[sl]

    def _base_slice(self, seq_id: str, key: str) -> torch.Tensor | None:
        shard, start, length = self._locate(seq_id)
        if not self.has_bases:
            return None
        handle, _ = self._open(shard)
        return handle.get_slice(key)[start : start + length]

    def bases(self, seq_id: str) -> str | None:
        """The bases of one sequence as embedded (upper-case), or None for a store older than format 0.3.0.

        Parameters
        ----------
        seq_id
            Sequence ID.

        Returns
        -------
        str or None
            The bases the model read.
        """
        chars = self._base_slice(seq_id, "base.seq")
        return None if chars is None else chars.numpy().tobytes().decode("ascii")

    def bases_by_id(self) -> Mapping[str, str] | None:
        """Every sequence's bases by ID, read lazily a shard at a time; None for a store older than format 0.3.0.

        Returns
        -------
        Mapping of str to str, or None
            Sequence ID -> bases.
        """
        return StoredBases(self) if self.has_bases else None

    def base_ref(self, seq_id: str) -> np.ndarray | None:
        """Per-base 0-based reference positions of one sequence (-1: inserted or no coordinates); None before 0.3.0.

        Parameters
        ----------
        seq_id
            Sequence ID.

        Returns
        -------
        numpy.ndarray or None
            int64 positions, one per base.
        """
        ref = self._base_slice(seq_id, "base.ref")
        return None if ref is None else ref.numpy()


class StoredBases(Mapping[str, str]):
    """The ``{id: sequence}`` mapping a FASTA would give, served from a store's ``base.seq``.

    Only the shard last read is held, so visiting the sequences in store order reads each shard once.
    """

    def __init__(self, store: ActivationStore) -> None:
        self._store = store
        self._shard = -1
        self._chars = b""

    def __getitem__(self, seq_id: str) -> str:
        shard, start, length = self._store._locate(seq_id)
        if shard != self._shard:
            self._chars = self._store.read(shard, "base.seq").numpy().tobytes()
            self._shard = shard
        return self._chars[start : start + length].decode("ascii")

    def __iter__(self) -> Iterator[str]:
        return iter(self._store._index)

    def __len__(self) -> int:
        return len(self._store._index)
