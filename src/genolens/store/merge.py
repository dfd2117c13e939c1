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

import shutil
from pathlib import Path

import torch
from safetensors import safe_open

from genolens import __version__
from genolens.errors import ConfigError
from genolens.io.tensorfile import DIGEST_KEY, verify_digest
from genolens.store.format import (
    COMPLETE_JSON,
    SHARD_DIR,
    STORE_JSON,
    STORE_TYPE,
    WITHOUT_DIGEST,
    shard_name,
    write_json_atomic,
)
from genolens.store.reader import ActivationStore
from genolens.store.shardfile import ShardFile, TensorSpec

COPY_BYTES = 64 << 20  # bytes of one tensor copied at a time
_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "I64": torch.int64, "U8": torch.uint8}


def merge_stores(inputs: list[str | Path], out: str | Path) -> tuple[int, int]:
    """Write ``out`` from ``inputs``; returns (shards, sequences)."""
    if not inputs:
        raise ConfigError("no stores to merge")
    stores = [ActivationStore(p) for p in inputs]  # each must be finished
    for st in stores:
        if st.config != stores[0].config:
            raise ConfigError(
                "stores were made with different settings: "
                + st.config.differences(stores[0].config, names=("this store", str(stores[0].path))), path=st.path,
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
    created = not out.exists()
    try:
        return _merge(stores, out, version)
    except BaseException:  # a failed merge leaves no half store behind (a retry would find "already exists")
        shutil.rmtree(out / SHARD_DIR, ignore_errors=True)
        (out / STORE_JSON).unlink(missing_ok=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _merge(stores: list[ActivationStore], out: Path, version: str) -> tuple[int, int]:
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / STORE_JSON, {"encoding-type": STORE_TYPE, "encoding-version": version,
                                         "genolens": __version__, "config": stores[0].config.to_json()})
    seen: set[str] = set()
    index = first = 0
    for st in stores:
        for shard in range(st.n_shards):
            seqs = st.shard_sequences(shard)
            for s in seqs:
                if s["id"] in seen:
                    raise ConfigError(f"sequence {s['id']!r} is in more than one store", path=st.path)
                seen.add(s["id"])
            changes = {"shard": str(index), "first_record": str(first)}
            _copy_shard(st, shard, out / SHARD_DIR / shard_name(index), changes)
            index += 1
            first += len(seqs)
    write_json_atomic(out / COMPLETE_JSON, {"shards": index, "sequences": first})
    return index, first


def _copy_shard(store: ActivationStore, index: int, target: Path, changes: dict[str, str]) -> None:
    """Copy every tensor of a shard under new metadata, a bounded number of rows at a time."""
    path = store.shard_path(index)
    store.read(index, "row.seq")  # checks the shard's header and size
    verify_digest(path, what="shard")  # and its data, so that a damaged shard is never re-hashed as whole
    with safe_open(str(path), framework="pt") as handle:
        meta = {k: v for k, v in (handle.metadata() or {}).items() if k != DIGEST_KEY}
        slices = {k: handle.get_slice(k) for k in handle.keys()}  # noqa: SIM118 - safe_open is not a dict
        specs = [TensorSpec(k, _DTYPES[sl.get_dtype()], tuple(sl.get_shape())) for k, sl in slices.items()]
        with ShardFile(target, specs, {**meta, **changes}, digest=store.version not in WITHOUT_DIGEST) as shard:
            for spec in specs:
                step = max(1, COPY_BYTES // max(spec.row_bytes, 1))
                for start in range(0, spec.shape[0], step):
                    shard.write(spec.name, start, slices[spec.name][start : start + step])
