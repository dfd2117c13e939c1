"""Embed sequences into a store: one call from Python or ``genolens embed``, with full provenance.

:func:`store_config` builds a store's settings from the adapter itself (family, width, checked layers and
the fingerprints of its weights and tokeniser), so a store written from a notebook carries the same
provenance as one written by the CLI and an SAE trained on it keeps its guard rail.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from tqdm import tqdm

from genolens.adapters import Adapter, load_adapter
from genolens.adapters.base import check_dtype
from genolens.adapters.fingerprint import tokenizer_fingerprint, weights_fingerprint
from genolens.adapters.hooks import Edit, intervene
from genolens.errors import ConfigError
from genolens.io.gaps import GapPolicy
from genolens.io.inputs import input_records
from genolens.io.records import SequenceRecord
from genolens.provenance import Provenance
from genolens.store.format import StoreConfig
from genolens.store.writer import Observer, WriteSummary, write_store

DEVICES = ("cpu", "cuda")


def store_config(
    adapter: Adapter,
    *,
    model: str,
    layers: Sequence[int],
    dtype: str = "float32",
    shard_size: int = 100_000,
    batch_tokens: int = 8192,
    overlap: int | None = None,
    edits: Sequence[str] = (),
) -> StoreConfig:
    """The settings of a store of ``adapter``'s activations, with the model's provenance filled in.

    Parameters
    ----------
    adapter
        The loaded model.
    model
        The name it was loaded by (short name, hub id or folder), recorded as given.
    layers
        Layers to store (negative counts from the last; checked against the model).
    dtype, shard_size, batch_tokens, overlap, edits
        As :class:`~genolens.store.format.StoreConfig`.

    Returns
    -------
    StoreConfig
        With ``family``, ``hidden_size``, ``model_hash`` and ``tokenizer`` taken from the adapter; a conditioned
        model's tags (IgLM's chain and species) are part of ``tokenizer``: they change what it reads.
    """
    provenance = model_provenance(adapter, model=model)
    return StoreConfig(
        model=model,
        family=adapter.family,
        layers=tuple(adapter.check_layers(list(layers))),
        hidden_size=adapter.hidden_size,
        dtype=dtype,
        shard_size=shard_size,
        batch_tokens=batch_tokens,
        overlap=overlap,
        model_hash=provenance.model_hash,
        tokenizer=provenance.tokenizer,
        edits=tuple(edits),
    )


def model_provenance(adapter: Adapter, *, model: str, layer: int = -1) -> Provenance:
    """What an artefact made from ``adapter``'s activations records: model, weights, tokenizer (and layer).

    The layer is not checked against the model here, so that a probe or eraser of another model is refused
    for its model (:func:`genolens.provenance.check_provenance`) before its layer is looked up.

    Parameters
    ----------
    adapter
        The loaded model.
    model
        The name it was loaded by.
    layer
        The layer read (``-1``: not compared).

    Returns
    -------
    Provenance
        The fingerprints of the weights and of the tokenizer; a conditioned model's tags (IgLM's chain and
        species) are part of ``tokenizer``.
    """
    tokenizer = tokenizer_fingerprint(adapter.tokenizer)
    condition = tuple(getattr(adapter, "condition", ()) or ())
    if condition:
        tokenizer += "|condition=" + " ".join(condition)
    return Provenance(model=model, model_hash=weights_fingerprint(adapter.model), layer=layer, tokenizer=tokenizer)


def embed_records(
    records: Iterable[SequenceRecord],
    *,
    model: str | Adapter,
    layers: Sequence[int],
    out: str | os.PathLike[str],
    device: str = "cpu",
    dtype: str = "float32",
    batch_tokens: int = 8192,
    shard_size: int = 100_000,
    overlap: int | None = None,
    trust_remote_code: bool = False,
    condition: Sequence[str] | None = None,
    model_name: str | None = None,
    progress: bool | Callable[[int, int], None] = False,
    notes: Callable[[str], None] | None = None,
    observe: Observer | None = None,
    edits: Mapping[int, tuple[str, Edit]] | None = None,
) -> WriteSummary:
    """Run a model over sequences and write per-token activations of ``layers`` to a store.

    Resumes an interrupted run into the same ``out``; a finished store is never extended.

    Parameters
    ----------
    records
        The sequences (``gl.io.read_fasta``, ``gl.io.build_haplotypes``, :func:`genolens.io.inputs.input_records`).
    model
        A short name (``antiberty``, ``hyenadna-tiny``, ...), hub id or folder, or an adapter already loaded.
    layers
        Layers to store (``0`` = embeddings; negative counts from the last).
    out
        Store folder.
    device
        ``cpu`` or ``cuda``.
    dtype
        ``float32``, or ``bfloat16`` (autocast; stored as bfloat16).
    batch_tokens
        Padded tokens per forward pass.
    shard_size
        Bases (residues) per shard: memory is about shard size × width × layers.
    overlap
        Tiling overlap in bases for sequences longer than the context (default a quarter window).
    trust_remote_code
        Allow model code from the checkpoint (only the optional families need it).
    condition
        Conditioning tags read before every sequence (IgLM: chain and species, default ``[HEAVY] [HUMAN]``);
        recorded in the store's tokeniser fingerprint.
    model_name
        Name recorded for an adapter passed in (default: its checkpoint path).
    progress
        A progress bar on stderr (``True``), or ``callback(n_sequences, n_tokens)`` after each shard.
    notes
        Called with each note about the chosen layers (e.g. a layer that is the embedding table).
    observe
        ``observe(record, spans, {layer: rows})`` with the rows of every sequence written
        (:data:`genolens.store.writer.Observer`; probe sidecars use it).
    edits
        ``{layer: (name, edit)}``: ``edit`` replaces the layer's output in the forward pass (e.g. a concept
        eraser), so the stored layer and every later one see the edited activations; ``name`` goes into the
        store's ``edits``.

    Returns
    -------
    WriteSummary
        Shards written and skipped, sequences, rows, real and padded tokens of this run.
    """
    if device not in DEVICES:
        raise ConfigError(f"device must be cpu or cuda, got {device!r}")
    check_dtype(dtype)
    if isinstance(model, Adapter):
        adapter, name = model, model_name or str(getattr(model, "name", "") or type(model).__name__)
    else:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device cuda: no CUDA device is available")
        extra = {} if condition is None else {"condition": condition}
        adapter = load_adapter(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code, **extra)
        name = model
    if notes is not None:
        for note in adapter.layer_notes(adapter.check_layers(list(layers))):
            notes(note)
    edits = dict(edits or {})
    config = store_config(adapter, model=name, layers=layers, dtype=dtype, shard_size=shard_size,
                          batch_tokens=batch_tokens, overlap=overlap,
                          edits=[label for _, (label, _) in sorted(edits.items())])
    with contextlib.ExitStack() as stack:
        for layer, (_, edit) in sorted(edits.items()):
            stack.enter_context(intervene(adapter, adapter.check_layers([layer])[0], edit))
        return _write_with_progress(records, adapter, out, config=config, progress=progress, observe=observe)


def _write_with_progress(records: Iterable[SequenceRecord], adapter: Adapter, out: str | os.PathLike[str], *,
                         config: StoreConfig, progress: bool | Callable[[int, int], None],
                         observe: Observer | None) -> WriteSummary:
    if callable(progress):
        return write_store(records, adapter, out, config=config, on_group=progress, observe=observe)
    bar = tqdm(unit="seq", desc="embed", disable=not progress, mininterval=0.5 if sys.stderr.isatty() else 30.0)
    start, tokens = time.perf_counter(), 0

    def on_group(n_seq: int, n_tok: int) -> None:
        nonlocal tokens
        tokens += n_tok
        bar.set_postfix_str(f"{tokens / max(time.perf_counter() - start, 1e-9):,.0f} tokens/s")
        bar.update(n_seq)

    try:
        return write_store(records, adapter, out, config=config, on_group=on_group, observe=observe)
    finally:
        bar.close()


def embed_inputs(
    model: str | Adapter,
    *,
    layers: Sequence[int],
    out: str | os.PathLike[str],
    fasta: str | os.PathLike[str] | None = None,
    reference: str | os.PathLike[str] | None = None,
    vcf: str | os.PathLike[str] | None = None,
    regions: Sequence[str] = (),
    samples: Sequence[str] = (),
    gaps: GapPolicy | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    batch_tokens: int = 8192,
    shard_size: int = 100_000,
    overlap: int | None = None,
    trust_remote_code: bool = False,
    condition: Sequence[str] | None = None,
    progress: bool | Callable[[int, int], None] = False,
    notes: Callable[[str], None] | None = None,
    observe: Observer | None = None,
    edits: Mapping[int, tuple[str, Edit]] | None = None,
) -> WriteSummary:
    """Embed a FASTA, or reference regions (personal haplotypes with a VCF), into a store: what
    ``genolens embed`` runs.

    Parameters
    ----------
    model
        A short name, hub id or folder, or an adapter already loaded.
    layers, out, device, dtype, batch_tokens, shard_size, overlap, trust_remote_code, condition, progress, notes
        As :func:`embed_records`.
    observe, edits
        As :func:`embed_records`.
    fasta, reference, vcf, regions, samples, gaps
        The input, as :func:`genolens.io.inputs.input_records` chooses it (``gaps``: the N policy for
        reference regions; its summary goes to ``notes``).

    Returns
    -------
    WriteSummary
        Shards written and skipped, sequences, rows, real and padded tokens of this run.
    """
    records = input_records(fasta=fasta, reference=reference, vcf=vcf, regions=regions, samples=samples, gaps=gaps,
                            notes=notes)
    return embed_records(records, model=model, layers=layers, out=out, device=device, dtype=dtype,
                         batch_tokens=batch_tokens, shard_size=shard_size, overlap=overlap,
                         trust_remote_code=trust_remote_code, condition=condition, progress=progress, notes=notes,
                         observe=observe, edits=edits)
