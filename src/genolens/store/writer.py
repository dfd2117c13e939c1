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

from genolens import __version__
from genolens.adapters.base import Adapter, SequenceActivations, TilePiece
from genolens.adapters.batching import padding_waste
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
    WITHOUT_DIGEST,
    StoreConfig,
    act_key,
    sequence_digest,
    shard_name,
    write_json_atomic,
)
from genolens.store.reader import ActivationStore
from genolens.store.shardfile import ShardFile, TensorSpec

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
COLUMN_CHUNK = 1 << 20  # bases of a streamed sequence whose row/base columns are written at once

Observer = Callable[[SequenceRecord, np.ndarray, dict[int, torch.Tensor]], None]
"""``observe(record, spans, {layer: rows})``: rows of a record as they are written (a sequence longer than a
shard arrives in several calls, in base order, each with its own spans)."""


@dataclass
class WriteSummary:
    """What a (possibly resumed) run did.

    Parameters
    ----------
    shards_written
        Shards written by this run.
    shards_skipped
        Shards already in the store (a resumed run).
    sequences
        Sequences embedded by this run.
    rows
        Activation rows (tokens) written.
    real_tokens, padded_tokens
        Tokens of the sequences, and tokens including batch padding (:attr:`padding_waste` compares them).
    """

    shards_written: int = 0
    shards_skipped: int = 0
    sequences: int = 0
    rows: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0

    @property
    def padding_waste(self) -> float:
        return padding_waste(self.real_tokens, self.padded_tokens)


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


def _base_ref(rec: SequenceRecord, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """Reference positions of bases ``[lo, hi)`` (-1: inserted, or no coordinates)."""
    hi = len(rec) if hi is None else hi
    if rec.coords is None:
        return np.full(hi - lo, -1, dtype=np.int64)
    return rec.coords.ref_pos[lo:hi].astype(np.int64)


def _seq_meta(rec: SequenceRecord, rows: int, *, per_base: bool, digest: bool) -> dict:
    return {
        "id": rec.id,
        **({"sha256": sequence_digest(rec.sequence)} if digest else {}),
        "length": len(rec),
        "rows": rows,
        "per_base": per_base,
        "contig": rec.coords.contig if rec.coords is not None else None,
        "strand": rec.coords.strand if rec.coords is not None else None,
        "sample": rec.sample,
        "haplotype": rec.haplotype,
        "region": rec.region,
    }


@dataclass(frozen=True, eq=False)
class StreamedSequence:
    """The last sequence of a shard, too long to hold: its per-base activations arrive window by window."""

    record: SequenceRecord
    pieces: Iterator[TilePiece]


def write_shard(
    path: Path,
    index: int,
    first_record: int,
    seqs: list[SequenceActivations],
    cfg: StoreConfig,
    *,
    version: str = VERSION,
    tail: StreamedSequence | None = None,
    observe: Observer | None = None,
) -> tuple[int, int, int]:
    """Write one shard atomically; returns (rows, real tokens, padded tokens) of the streamed tail.

    ``seqs`` are held in memory (their total is about ``cfg.shard_size`` bases); ``tail``, a
    sequence longer than a shard, is written piece by piece as the model produces it, so
    memory does not grow with its length. ``version`` is the store's: a store begun before
    0.3.0 is resumed in its own format, without bases; before 0.4.0, without a data checksum.
    ``observe`` sees every sequence's rows (and every piece of the tail) as they are written.
    """
    with_bases = version not in WITHOUT_BASES
    dtype = TORCH_DTYPES[cfg.dtype]
    head_rows = sum(s.n_rows for s in seqs)
    head_bases = sum(len(s.record) for s in seqs)
    tail_len = len(tail.record) if tail is not None else 0
    rows, bases = head_rows + tail_len, head_bases + tail_len
    specs = [TensorSpec(act_key(layer), dtype, (rows, cfg.hidden_size)) for layer in cfg.layers]
    specs += [TensorSpec("row.seq", torch.int64, (rows,)), TensorSpec("row.span", torch.int64, (rows, 2)),
              TensorSpec("row.ref", torch.int64, (rows, 2))]
    if with_bases:
        specs += [TensorSpec("base.seq", torch.uint8, (bases,)), TensorSpec("base.ref", torch.int64, (bases,))]
    listed = [_seq_meta(s.record, s.n_rows, per_base=s.per_base, digest=with_bases) for s in seqs]
    if tail is not None:
        listed.append(_seq_meta(tail.record, tail_len, per_base=True, digest=with_bases))
    meta = {
        "encoding-type": SHARD_TYPE,
        "encoding-version": version,
        "shard": str(index),
        "first_record": str(first_record),
        "sequences": json.dumps(listed),
    }
    real = padded = 0
    with ShardFile(path, specs, meta, digest=version not in WITHOUT_DIGEST) as shard:
        if seqs:
            row = 0
            for s in seqs:  # one sequence at a time: no copy of the whole shard in memory
                for layer in cfg.layers:
                    shard.write(act_key(layer), row, s.layers[layer])
                if observe is not None:
                    observe(s.record, s.spans, s.layers)
                row += s.n_rows
            listed_spans = [(i, s.record, s.spans) for i, s in enumerate(seqs)]
            _write_columns(shard, 0, 0, seqs=listed_spans, with_bases=with_bases)
        if tail is not None:
            for piece in tail.pieces:
                for layer in cfg.layers:
                    shard.write(act_key(layer), head_rows + piece.start, piece.layers[layer])
                if observe is not None:
                    pos = np.arange(piece.start, piece.end, dtype=np.int64)
                    observe(tail.record, np.stack([pos, pos + 1], axis=1), piece.layers)
                real += piece.real_tokens
                padded += piece.padded_tokens
            for start in range(0, tail_len, COLUMN_CHUNK):
                end = min(start + COLUMN_CHUNK, tail_len)
                pos = np.arange(start, end, dtype=np.int64)
                piece = [(len(seqs), tail.record, np.stack([pos, pos + 1], axis=1))]
                _write_columns(shard, head_rows + start, head_bases + start, seqs=piece, with_bases=with_bases,
                               base_range=(start, end))
    return rows, real, padded


def _write_columns(
    shard: ShardFile,
    row: int,
    base: int,
    *,
    seqs: list[tuple[int, SequenceRecord, np.ndarray]],
    with_bases: bool,
    base_range: tuple[int, int] | None = None,
) -> None:
    """``row.*`` (and ``base.*``) of ``(index in shard, record, spans)`` from row ``row`` (base ``base``) on.

    ``base_range``: only those bases of the (one) record.
    """
    spans = np.concatenate([sp for _, _, sp in seqs]).astype(np.int64)
    shard.write("row.seq", row, torch.from_numpy(np.repeat([i for i, _, _ in seqs], [len(sp) for _, _, sp in seqs])))
    shard.write("row.span", row, torch.from_numpy(np.ascontiguousarray(spans)))
    shard.write("row.ref", row, torch.from_numpy(np.concatenate([_ref_columns(rec, sp) for _, rec, sp in seqs])))
    if with_bases:
        lo, hi = base_range if base_range is not None else (0, None)
        chars = "".join(rec.sequence[lo:hi] for _, rec, _ in seqs).encode("ascii")
        shard.write("base.seq", base, torch.frombuffer(bytearray(chars), dtype=torch.uint8))
        shard.write("base.ref", base, torch.from_numpy(np.concatenate([_base_ref(rec, lo, hi) for _, rec, _ in seqs])))


@dataclass(frozen=True)
class _Existing:
    """What is on disk before a run: format version, shards, (id, sha256) of their records, finished or not."""

    version: str
    shards: int
    done: list[tuple[str, str | None]]
    complete: bool
    created: bool  # this run made the store: nothing of an earlier run to keep


def _new_store(out: Path, cfg: StoreConfig) -> _Existing:
    write_json_atomic(
        out / STORE_JSON,
        {"encoding-type": STORE_TYPE, "encoding-version": VERSION, "genolens": __version__, "config": cfg.to_json()},
    )
    return _Existing(VERSION, 0, [], complete=False, created=True)


def _prepare(out: Path, cfg: StoreConfig) -> _Existing:
    """Create the store, or check an existing one (its settings must be this run's).

    A store without a shard holds nothing worth keeping: a run with other settings replaces it.
    The digest is None in stores older than 0.3.0: those resume on IDs alone.
    """
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob(f"*{TMP_SUFFIX}")) + list((out / SHARD_DIR).glob(f"*{TMP_SUFFIX}")):
        stale.unlink()  # a temporary file left by a killed run: never a finished shard
    if not (out / STORE_JSON).exists():
        if any((out / SHARD_DIR).iterdir()):
            raise InputFormatError("folder holds shards but no store.json", path=out)
        return _new_store(out, cfg)
    store = ActivationStore(out, partial=True)
    if store.config != cfg:
        if store.n_shards == 0 and not store.complete:  # an earlier run failed before its first shard
            return _new_store(out, cfg)
        raise ConfigError(
            f"the store was made with other settings: {store.config.differences(cfg, names=('store', 'this run'))}",
            path=out,
            hint="use the same options to resume, or a new --out",
        )
    done = [(s["id"], s.get("sha256")) for shard in range(store.n_shards) for s in store.shard_sequences(shard)]
    return _Existing(store.version, store.n_shards, done, complete=store.complete, created=False)


def _remove_empty_store(out: Path) -> None:
    """Undo :func:`_prepare` for a run that failed before writing a shard (so a corrected retry starts clean)."""
    shards = out / SHARD_DIR
    if shards.is_dir() and not any(shards.iterdir()):
        (out / STORE_JSON).unlink(missing_ok=True)
        shards.rmdir()
        if not any(out.iterdir()):
            out.rmdir()


def _check_done(out: Path, rec: SequenceRecord, done: tuple[str, str | None] | None, *, finished: bool) -> None:
    """A record of an already written shard must be the one on disk: same ID, same bases where the store knows."""
    if done is None and finished:
        _refuse_new_input(out, rec)
    state = "finished" if finished else "interrupted"
    if done is None or done[0] != rec.id:
        raise ConfigError(
            f"input differs from the {state} run's",
            path=out,
            record=rec.id,
            hint="resume with the same input, or write to a new store",
        )
    if done[1] is not None and done[1] != sequence_digest(rec.sequence):
        raise ConfigError(
            f"sequence changed since the {state} run embedded it under this ID (its SHA-256 differs)",
            path=out,
            record=rec.id,
            hint="resume with the same input; for new input use a new --out, or delete this store and run again",
        )


def _refuse_new_input(out: Path, rec: SequenceRecord) -> None:
    raise ConfigError(
        "the store is finished (complete.json) and is never modified; the input has sequences it does not hold",
        path=out,
        record=rec.id,
        hint="embed the new sequences into a new --out, then `genolens merge-stores` the two",
    )


def write_store(
    records: Iterable[SequenceRecord],
    adapter: Adapter,
    out: str | Path,
    *,
    config: StoreConfig,
    on_group: Callable[[int, int], None] | None = None,
    observe: Observer | None = None,
) -> WriteSummary:
    """Embed ``records`` with ``adapter`` into the store at ``out``, resuming if it was interrupted.

    A finished store is only checked against the input, never written to. A run that fails
    before its first shard leaves no store behind. A sequence longer than a shard is streamed
    into its shard window by window (memory bounded by the shard size and the batch, not by
    the sequence's length).

    Parameters
    ----------
    records
        The sequences, in order (the same order on resume).
    adapter
        The model.
    out
        The store folder.
    config
        The store's settings (a resumed store must have been made with the same).
    on_group
        ``on_group(n_sequences, n_tokens)`` after each shard (skipped ones count 0 tokens), for progress bars.
    observe
        ``observe(record, spans, {layer: rows})`` with the rows of every sequence this run writes (probe
        sidecars); sequences of shards already on disk are not seen.

    Returns
    -------
    WriteSummary
        What this run did.
    """
    out = Path(out)
    existing = _prepare(out, config)
    try:
        return _write(records, adapter, out, config, existing, on_group, observe)
    except BaseException:
        if existing.created:
            _remove_empty_store(out)
        raise


def _write(
    records: Iterable[SequenceRecord],
    adapter: Adapter,
    out: Path,
    config: StoreConfig,
    existing: _Existing,
    on_group: Callable[[int, int], None] | None,
    observe: Observer | None = None,
) -> WriteSummary:
    done = existing.done
    summary = WriteSummary(shards_skipped=existing.shards)
    index = first = 0
    for group in _groups(records, config.shard_size):
        tokens = 0
        if index < existing.shards:
            for j, rec in enumerate(group):
                _check_done(out, rec, done[first + j] if first + j < len(done) else None, finished=existing.complete)
        elif existing.complete:
            _refuse_new_input(out, group[0])
        else:
            head, tail = group, None
            if len(group[-1]) > config.shard_size and not adapter.fits(group[-1].sequence):
                head = group[:-1]
                tail = StreamedSequence(group[-1], adapter.embed_tiles(
                    group[-1], layers=config.layers, batch_tokens=config.batch_tokens, overlap=config.overlap))
            result = adapter.embed(head, layers=config.layers, batch_tokens=config.batch_tokens, overlap=config.overlap)
            rows, real, padded = write_shard(
                out / SHARD_DIR / shard_name(index), index, first, result.sequences, config,
                version=existing.version, tail=tail, observe=observe,
            )
            summary.shards_written += 1
            summary.rows += rows
            tokens = result.real_tokens + real
            summary.real_tokens += tokens
            summary.padded_tokens += result.padded_tokens + padded
        summary.sequences += len(group)
        if on_group is not None:
            on_group(len(group), tokens)
        index += 1
        first += len(group)
    if first < len(done):
        state = "finished" if existing.complete else "interrupted"
        raise ConfigError(f"input is shorter than the {state} run's", path=out)
    if not existing.complete:
        write_json_atomic(out / COMPLETE_JSON, {"shards": index, "sequences": first})
    return summary
