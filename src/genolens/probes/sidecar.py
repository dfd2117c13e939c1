"""Probes and erasers riding along ``genolens embed``: scores written beside the activations, edits before them.

The store writer shows every sequence's rows to an observer as it writes them
(:data:`genolens.store.writer.Observer`); :class:`ProbeScorer` multiplies the probe layer's rows by the
probes' weights (a ``[rows, outputs]`` matmul per sequence, nothing else kept) and scores them as
``genolens monitor`` does (:func:`genolens.probes.monitor.score_record`), so the sidecar of an embedding
equals the monitor's scores of the same sequences. Erasers act inside the forward pass (a hook on their
layer), so the store holds the erased activations and records the edit in its ``edits``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genolens.errors import ConfigError
from genolens.io.gaps import GapPolicy
from genolens.io.records import SequenceRecord
from genolens.probes.erase import Eraser, load_eraser
from genolens.probes.monitor import SCORE_COLUMNS, SPAN_COLUMNS, MonitorResult, check_erasers, score_record
from genolens.probes.probe_file import LinearProbe, check_probe, load_probe
from genolens.provenance import Provenance
from genolens.store.embed import model_provenance
from genolens.store.writer import WriteSummary

SIDECAR = "probes"  # folder of the store that holds the probe scores


class ProbeScorer:
    """Observer of the store writer that scores each sequence with raw-activation probes as it is written.

    Parameters
    ----------
    probes
        Per-base or per-sequence probes on raw activations of stored layers.
    names
        A name per probe (default its target).
    """

    def __init__(self, probes: Sequence[LinearProbe], names: Sequence[str] | None = None) -> None:
        self.probes = list(probes)
        self.names = list(names or [p.target for p in self.probes])
        if len(self.names) != len(self.probes):
            raise ConfigError(f"{len(self.names)} names for {len(self.probes)} probes")
        self._w = [(torch.from_numpy(p.weight).double(), torch.from_numpy(p.bias).double()) for p in self.probes]
        self._current: SequenceRecord | None = None
        self._z: list[list[torch.Tensor]] = []
        self._spans: list[np.ndarray] = []
        self.scores: list[tuple] = []
        self.spans: list[tuple] = []
        self.tracks: dict[str, list] = {n: [] for n, p in zip(self.names, self.probes, strict=True)
                                        if p.level == "base"}

    def __call__(self, record: SequenceRecord, spans: np.ndarray, layers: dict[int, torch.Tensor]) -> None:
        """Take rows of ``record`` (a new record first closes the previous one)."""
        if record is not self._current:
            self._close()
            self._current, self._z, self._spans = record, [[] for _ in self.probes], []
        self._spans.append(np.asarray(spans))
        for j, (p, (w, b)) in enumerate(zip(self.probes, self._w, strict=True)):
            self._z[j].append(torch.addmm(b, layers[p.provenance.layer].double(), w.T))

    def _close(self) -> None:
        if self._current is None:
            return
        spans = np.concatenate(self._spans)
        for j, (name, p) in enumerate(zip(self.names, self.probes, strict=True)):
            got = score_record(self._current, spans, torch.cat(self._z[j]).float(), probe=p, name=name)
            self.scores += got[0]
            self.spans += got[1]
            if p.level == "base":
                self.tracks[name] += got[2]
        self._current = None

    def result(self) -> MonitorResult:
        """The scores of every sequence seen (closes the last one).

        Returns
        -------
        MonitorResult
            As :func:`genolens.probes.monitor.monitor_records` gives.
        """
        self._close()
        tracks = {k: v for k, v in self.tracks.items() if v}
        return MonitorResult(pd.DataFrame(self.scores, columns=SCORE_COLUMNS),
                             pd.DataFrame(self.spans, columns=SPAN_COLUMNS), tracks)


def _probe_name(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    return p.parent.name if p.name in ("raw", "sae") else p.name


def check_sidecar_probes(probes: Sequence[LinearProbe], *, provenance: Callable[[int], Provenance],
                         layers: Sequence[int], hidden_size: int, what: str) -> None:
    """Refuse probes that are not raw per-base/per-sequence ones, read another model, or an unstored layer.

    Parameters
    ----------
    probes
        The probes.
    provenance
        ``provenance(layer)``: what the embedding's layer is (model, weights hash, tokenizer).
    layers
        The stored layers.
    hidden_size
        Their width.
    what
        How errors name the embedding.
    """
    for p in probes:
        if p.representation != "raw" or p.level == "sample":
            raise ConfigError(f"probe {p.target!r} reads {p.representation} features per {p.level}: embed runs "
                              "probes on raw activations per base or per sequence")
        check_probe(p, provenance(p.provenance.layer), what=what)
        if p.provenance.layer not in layers:
            raise ConfigError(f"probe {p.target!r} reads layer {p.provenance.layer}, which is not stored "
                              f"(layers {list(layers)})", hint=f"add {p.provenance.layer} to --layers, "
                              "or score without storing: genolens monitor")
        if p.d_in != hidden_size:
            raise ConfigError(f"probe {p.target!r} reads {p.d_in} dimensions, the model has {hidden_size}")


def embed_with_sidecars(
    model: str,
    *,
    layers: Sequence[int],
    out: str | os.PathLike[str],
    probes: Sequence[str | os.PathLike[str]] = (),
    erasers: Sequence[str | os.PathLike[str]] = (),
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
) -> tuple[WriteSummary, MonitorResult | None]:
    """Embed into a store (``genolens embed``) with probes scoring alongside and erasers applied in the pass.

    Parameters
    ----------
    model
        Short name, hub id or checkpoint folder.
    layers, out, fasta, reference, vcf, regions, samples, gaps, device, dtype, batch_tokens, shard_size
        As :func:`genolens.store.embed.embed_inputs`.
    overlap, trust_remote_code, condition, progress, notes
        As :func:`genolens.store.embed.embed_inputs`.
    probes
        Probe folders (raw activations of stored layers): their scores go to ``OUT/probes/scores.tsv``
        (with ``spans.tsv`` and per-base ``<probe>.bedGraph``), as ``genolens monitor`` writes them.
    erasers
        Per-token eraser folders (``genolens erase --store``): each edits its layer's output in the forward
        pass, so the store (and the probes) see the erased activations; the store's ``edits`` records them.

    Returns
    -------
    tuple
        The writer's summary, and the probe scores (None without probes).
    """
    from genolens.adapters import load_adapter
    from genolens.io.inputs import input_records
    from genolens.store.embed import embed_records
    from genolens.store.format import STORE_JSON
    from genolens.store.reader import ActivationStore

    loaded = [load_probe(p) for p in probes]
    erase = [load_eraser(e) for e in erasers]
    if loaded and (Path(out) / STORE_JSON).is_file() and ActivationStore(out, partial=True).n_shards:
        raise ConfigError("probe scores ride along a fresh embedding; this store already holds shards", path=out,
                          hint="embed into a new --out, or score the sequences with genolens monitor")
    extra = {} if condition is None else {"condition": condition}
    adapter = load_adapter(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code, **extra)
    stored = adapter.check_layers(list(layers))

    def provenance(layer: int) -> Provenance:
        return model_provenance(adapter, model=model, layer=layer)

    check_sidecar_probes(loaded, provenance=provenance, layers=stored, hidden_size=adapter.hidden_size,
                         what=f"model {model}")
    check_erasers(erase, adapter=adapter, model=model, deepest=max(stored))
    if len({e.provenance.layer for e in erase}) != len(erase):
        raise ConfigError("give at most one eraser per layer")
    scorer = ProbeScorer(loaded, [_probe_name(p) for p in probes]) if loaded else None
    records = input_records(fasta=fasta, reference=reference, vcf=vcf, regions=regions, samples=samples, gaps=gaps,
                            notes=notes)
    summary = embed_records(records, model=adapter, model_name=model, layers=layers, out=out, device=device,
                            dtype=dtype, batch_tokens=batch_tokens, shard_size=shard_size, overlap=overlap,
                            progress=progress, notes=notes, observe=scorer, edits=edit_hooks(erase))
    if scorer is None:
        return summary, None
    result = scorer.result()
    result.write(Path(out) / SIDECAR / "scores.tsv")
    return summary, result


def edit_hooks(erasers: Sequence[Eraser]) -> dict[int, tuple[str, Eraser]]:
    """``{layer: (name, eraser)}`` for :func:`genolens.store.embed.embed_records`'s ``edits``.

    Parameters
    ----------
    erasers
        Per-token erasers, at most one per layer.

    Returns
    -------
    dict
        The edits, named ``leace:<concept>@L<layer>``.
    """
    return {e.provenance.layer: (f"leace:{e.concept}@L{e.provenance.layer}", e) for e in erasers}
