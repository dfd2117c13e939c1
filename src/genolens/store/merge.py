"""Gather stores written in parallel (one per shard of the input) into one store.

Shards are copied in the order the stores are given, renumbered, and their
``first_record`` offsets shifted, so the result reads exactly like a store
written in one run over the concatenated input. Every tensor of a shard is
copied (``base.seq``/``base.ref`` included). Inputs must be finished, made with
the same settings and of the same format version (the result keeps it: a merge
of 0.2.0 stores is a 0.2.0 store, without bases); sequence IDs must be unique
across them.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save

from genolens import __version__
from genolens.errors import ConfigError, InputFileError
from genolens.store.format import (
    COMPLETE_JSON,
    SHARD_DIR,
    STORE_JSON,
    STORE_TYPE,
    shard_name,
    write_bytes_atomic,
    write_json_atomic,
)
from genolens.store.reader import ActivationStore
from genolens.store.writer import canonical_safetensors


def merge_stores(inputs: list[str | Path], out: str | Path) -> tuple[int, int]:
    """Write ``out`` from ``inputs``; returns (shards, sequences)."""
    if not inputs:
        raise ConfigError("no stores to merge")
    stores = [ActivationStore(p) for p in inputs]
    for st in stores:
        if not st.complete:
            raise InputFileError("store is not finished (no complete.json): its embed was interrupted", path=st.path)
        if st.config != stores[0].config:
            raise ConfigError(
                "stores were made with different settings", path=st.path,
                hint=f"{stores[0].path} has {stores[0].config.to_json()}, this one {st.config.to_json()}",
            )
        if st.version != stores[0].version:
            raise ConfigError(
                f"store format {st.version} differs from {stores[0].path}'s {stores[0].version}", path=st.path,
                hint="re-embed the older stores with this genolens",
            )
    version = stores[0].version
    out = Path(out)
    if (out / STORE_JSON).exists() or ((out / SHARD_DIR).exists() and any((out / SHARD_DIR).iterdir())):
        raise ConfigError("output store already exists; merge into a new folder", path=out)
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / STORE_JSON, {"encoding-type": STORE_TYPE, "encoding-version": version,
                                         "genolens": __version__, "config": stores[0].config.to_json()})
    seen: set[str] = set()
    index = first = 0
    for st in stores:
        for shard in range(st.n_shards):
            path = st.shard_path(shard)
            with safe_open(str(path), framework="pt") as handle:
                meta = dict(handle.metadata() or {})
                tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
            seqs = json.loads(meta["sequences"])
            for s in seqs:
                if s["id"] in seen:
                    raise ConfigError(f"sequence {s['id']!r} is in more than one store", path=st.path)
                seen.add(s["id"])
            meta.update({"shard": str(index), "first_record": str(first), "encoding-version": version})
            write_bytes_atomic(out / SHARD_DIR / shard_name(index), canonical_safetensors(save(tensors, metadata=meta)))
            index += 1
            first += len(seqs)
    write_json_atomic(out / COMPLETE_JSON, {"shards": index, "sequences": first})
    return index, first
