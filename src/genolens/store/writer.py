"""Write activations to a store in shards; resume an interrupted run.

Sequences are grouped in input order into shards of about ``shard_size`` bases
(a shard closes at the first sequence boundary at or past it). Each group is
embedded on its own (batches never mix groups) and written atomically. Because
grouping depends only on the input, a resumed run skips the sequences of the
shards already on disk, recomputes exactly the missing groups and produces the
same bytes as a single run: no token is lost or duplicated. The skipped
sequences must be the ones on disk: same IDs and, for stores that keep them
(format 0.3.0 on), the same SHA-256 of their bases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save

from genolens import __version__
from genolens.adapters.base import Adapter, SequenceActivations
from genolens.errors import ConfigError, InputFormatError
from genolens.io.records import SequenceRecord
from genolens.store.format import (
    COMPLETE_JSON,
    SHARD_DIR,
    SHARD_TYPE,
    STORE_JSON,
    STORE_TYPE,
    TMP_SUFFIX,
    VERSION,
    WITHOUT_BASES,
    StoreConfig,
    act_key,
    sequence_digest,
    shard_name,
    write_bytes_atomic,
    write_json_atomic,
)
from genolens.store.reader import ActivationStore

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class WriteSummary:
    """What a (possibly resumed) run did."""

    shards_written: int = 0
    shards_skipped: int = 0
    sequences: int = 0
    rows: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0

    @property
    def padding_waste(self) -> float:
        return 1.0 - self.real_tokens / self.padded_tokens if self.padded_tokens else 0.0


def _groups(records: Iterable[SequenceRecord], shard_size: int) -> Iterator[list[SequenceRecord]]:
    group: list[SequenceRecord] = []
    size = 0
    for rec in records:
        group.append(rec)
        size += len(rec)
        if size >= shard_size:
            yield group
            group, size = [], 0
    if group:
        yield group


def _ref_columns(rec: SequenceRecord, spans: np.ndarray) -> np.ndarray:
    if rec.coords is None or spans.size == 0:
        return np.full((len(spans), 2), -1, dtype=np.int64)
    pos = rec.coords.ref_pos
    return np.stack([pos[spans[:, 0]], pos[spans[:, 1] - 1]], axis=1).astype(np.int64)


def _base_ref(rec: SequenceRecord) -> np.ndarray:
    if rec.coords is None:
        return np.full(len(rec), -1, dtype=np.int64)
    return rec.coords.ref_pos.astype(np.int64)


def _seq_meta(rec: SequenceRecord, acts: SequenceActivations, *, digest: bool) -> dict:
    return {
        "id": rec.id,
        **({"sha256": sequence_digest(rec.sequence)} if digest else {}),
        "length": len(rec),
        "rows": acts.n_rows,
        "per_base": acts.per_base,
        "contig": rec.coords.contig if rec.coords is not None else None,
        "strand": rec.coords.strand if rec.coords is not None else None,
        "sample": rec.sample,
        "haplotype": rec.haplotype,
        "region": rec.region,
    }


def canonical_safetensors(blob: bytes) -> bytes:
    """The same safetensors file with its JSON header keys sorted.

    safetensors writes header entries in hash-map order, which changes between runs;
    sorting them makes a shard's bytes a function of its content only, so a resumed
    store is byte-identical to one written in a single run. Tensor offsets are relative
    to the data section and do not change; the header is re-padded to 8 bytes.
    """
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + blob[8 + n :]


def write_shard(
    path: Path,
    index: int,
    first_record: int,
    seqs: list[SequenceActivations],
    cfg: StoreConfig,
    *,
    version: str = VERSION,
) -> int:
    """Write one shard atomically (temporary file + ``os.replace``); returns its row count.

    ``version`` is the store's: a store begun before 0.3.0 is resumed in its own format, without bases.
    """
    with_bases = version not in WITHOUT_BASES
    dtype = TORCH_DTYPES[cfg.dtype]
    tensors: dict[str, torch.Tensor] = {}
    for layer in cfg.layers:
        tensors[act_key(layer)] = torch.cat([s.layers[layer] for s in seqs]).to(dtype).contiguous()
    spans = np.concatenate([s.spans for s in seqs]).astype(np.int64)
    tensors["row.seq"] = torch.from_numpy(np.repeat(np.arange(len(seqs)), [s.n_rows for s in seqs]).astype(np.int64))
    tensors["row.span"] = torch.from_numpy(np.ascontiguousarray(spans))
    tensors["row.ref"] = torch.from_numpy(np.concatenate([_ref_columns(s.record, s.spans) for s in seqs]))
    if with_bases:
        bases = "".join(s.record.sequence for s in seqs).encode("ascii")
        tensors["base.seq"] = torch.frombuffer(bytearray(bases), dtype=torch.uint8)
        tensors["base.ref"] = torch.from_numpy(np.concatenate([_base_ref(s.record) for s in seqs]))
    meta = {
        "encoding-type": SHARD_TYPE,
        "encoding-version": version,
        "shard": str(index),
        "first_record": str(first_record),
        "sequences": json.dumps([_seq_meta(s.record, s, digest=with_bases) for s in seqs]),
    }
    write_bytes_atomic(path, canonical_safetensors(save(tensors, metadata=meta)))
    return int(spans.shape[0])


def _prepare(out: Path, cfg: StoreConfig) -> tuple[str, int, list[tuple[str, str | None]]]:
    """Create the store, or check an existing one; returns (format version, shards done, (id, sha256) of their records).

    The digest is None in stores older than 0.3.0: those resume on IDs alone.
    """
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob(f"*{TMP_SUFFIX}")) + list((out / SHARD_DIR).glob(f"*{TMP_SUFFIX}")):
        stale.unlink()  # a temporary file left by a killed run: never a finished shard
    if not (out / STORE_JSON).exists():
        if any((out / SHARD_DIR).iterdir()):
            raise InputFormatError("folder holds shards but no store.json", path=out)
        write_json_atomic(
            out / STORE_JSON,
            {
                "encoding-type": STORE_TYPE,
                "encoding-version": VERSION,
                "genolens": __version__,
                "config": cfg.to_json(),
            },
        )
        return VERSION, 0, []
    store = ActivationStore(out)
    if store.config != cfg:
        raise ConfigError(
            "the store was made with other settings",
            path=out,
            hint=f"it has {store.config.to_json()}, this run {cfg.to_json()}; use a new --out or the same options",
        )
    done = [(s["id"], s.get("sha256")) for shard in range(store.n_shards) for s in store.shard_sequences(shard)]
    return store.version, store.n_shards, done


def _check_done(out: Path, rec: SequenceRecord, done: tuple[str, str | None] | None) -> None:
    """A record of an already written shard must be the one on disk: same ID, same bases where the store knows."""
    if done is None or done[0] != rec.id:
        raise ConfigError(
            "input differs from the interrupted run's",
            path=out,
            record=rec.id,
            hint="resume with the same input, or write to a new store",
        )
    if done[1] is not None and done[1] != sequence_digest(rec.sequence):
        raise ConfigError(
            "sequence changed since the interrupted run embedded it under this ID (its SHA-256 differs)",
            path=out,
            record=rec.id,
            hint="resume with the same input; for new input use a new --out, or delete this store and run again",
        )


def write_store(
    records: Iterable[SequenceRecord],
    adapter: Adapter,
    out: str | Path,
    *,
    config: StoreConfig,
    on_group: Callable[[int, int], None] | None = None,
) -> WriteSummary:
    """Embed ``records`` with ``adapter`` into the store at ``out``, resuming if it was interrupted.

    ``on_group(n_sequences, n_tokens)`` is called after each shard (skipped ones count 0 tokens), for progress bars.
    """
    out = Path(out)
    version, shards_done, done = _prepare(out, config)
    summary = WriteSummary(shards_skipped=shards_done)
    index = 0
    first = 0
    for group in _groups(records, config.shard_size):
        if index < shards_done:
            for j, rec in enumerate(group):
                _check_done(out, rec, done[first + j] if first + j < len(done) else None)
        else:
            result = adapter.embed(
                group, layers=config.layers, batch_tokens=config.batch_tokens, overlap=config.overlap
            )
            rows = write_shard(
                out / SHARD_DIR / shard_name(index), index, first, result.sequences, config, version=version
            )
            summary.shards_written += 1
            summary.rows += rows
            summary.real_tokens += result.real_tokens
            summary.padded_tokens += result.padded_tokens
        summary.sequences += len(group)
        if on_group is not None:
            on_group(len(group), result.real_tokens if index >= shards_done else 0)
        index += 1
        first += len(group)
    if first < len(done):
        raise ConfigError("input is shorter than the interrupted run's", path=out)
    write_json_atomic(out / COMPLETE_JSON, {"shards": index, "sequences": first})
    return summary
