"""Read an activation store: its config, sequences, and shards (memory-mapped by safetensors)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch
from safetensors import safe_open

from genolens.errors import InputFileError, InputFormatError
from genolens.store.format import (
    COMPLETE_JSON,
    SHARD_DIR,
    SHARD_TYPE,
    STORE_JSON,
    STORE_TYPE,
    SUPPORTED_VERSIONS,
    StoreConfig,
    act_key,
    shard_name,
)


class ActivationStore:
    """A store on disk. Shards are opened on demand; nothing but metadata is read up front."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
            expected = json.loads((self.path / COMPLETE_JSON).read_text()).get("shards")
            if expected != self.n_shards:
                raise InputFormatError(
                    f"finished store has {self.n_shards} shards, complete.json says {expected}", path=self.path
                )

    def _count_shards(self) -> int:
        names = sorted(p.name for p in (self.path / SHARD_DIR).glob("shard-*.safetensors"))
        for i, name in enumerate(names):
            if name != shard_name(i):
                raise InputFormatError(f"shard {shard_name(i)} is missing (found {name})", path=self.path)
        return len(names)

    @property
    def complete(self) -> bool:
        """True when the run that wrote the store finished."""
        return (self.path / COMPLETE_JSON).is_file()

    @property
    def layers(self) -> tuple[int, ...]:
        return self.config.layers

    def shard_path(self, index: int) -> Path:
        if not 0 <= index < self.n_shards:
            raise IndexError(f"shard {index} out of range (store has {self.n_shards})")
        return self.path / SHARD_DIR / shard_name(index)

    def _open(self, index: int):  # noqa: ANN202
        path = self.shard_path(index)
        handle = safe_open(str(path), framework="pt")
        meta = handle.metadata() or {}
        if meta.get("encoding-type") != SHARD_TYPE or meta.get("encoding-version") not in SUPPORTED_VERSIONS:
            raise InputFormatError("not a genolens activation shard of a supported version", path=path)
        return handle, meta

    def shard_sequences(self, index: int) -> list[dict]:
        """The sequences of shard ``index`` (id, length, rows, contig, strand, ...)."""
        _, meta = self._open(index)
        return json.loads(meta["sequences"])

    def shard_rows(self, index: int) -> int:
        handle, _ = self._open(index)
        return handle.get_slice("row.seq").get_shape()[0]

    def read(self, index: int, key: str) -> torch.Tensor:
        """One tensor of a shard: ``acts.L{layer}``, ``row.seq``, ``row.span`` or ``row.ref``."""
        handle, _ = self._open(index)
        if key not in handle.keys():  # noqa: SIM118 - safe_open is not a dict
            raise KeyError(f"shard {index} has no tensor {key!r} (has {sorted(handle.keys())})")
        return handle.get_tensor(key)

    def activations(self, index: int, layer: int) -> torch.Tensor:
        """``[rows, dim]`` activations of ``layer`` in shard ``index``."""
        if layer not in self.layers:
            raise KeyError(f"layer {layer} is not in the store (layers {list(self.layers)})")
        return self.read(index, act_key(layer))

    @cached_property
    def sequences(self) -> pd.DataFrame:
        """One row per stored sequence: its shard, first row in the shard and metadata."""
        rows = []
        for shard in range(self.n_shards):
            offset = 0
            for seq in self.shard_sequences(shard):
                rows.append({"shard": shard, "row_offset": offset, **seq})
                offset += seq["rows"]
        return pd.DataFrame(rows)

    @property
    def n_rows(self) -> int:
        return int(self.sequences["rows"].sum()) if self.n_shards else 0

    def sequence(self, seq_id: str, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Activations ``[rows, dim]`` and spans ``[rows, 2]`` of one sequence."""
        table = self.sequences
        hit = table[table["id"] == seq_id]
        if hit.empty:
            raise KeyError(f"sequence {seq_id!r} is not in the store")
        row = hit.iloc[0]
        sl = slice(int(row.row_offset), int(row.row_offset) + int(row.rows))
        return self.activations(int(row.shard), layer)[sl], self.read(int(row.shard), "row.span")[sl]
