"""Probes as sidecar monitors: score sequences while the model reads them, keeping no activations.

The model runs only up to the deepest probe layer (the hook of that layer raises
:class:`~genolens.adapters.hooks.StopForward`); at each probe layer a forward hook multiplies the layer's
output by the stacked weights of the probes on it and keeps only those scores (``[batch, tokens, outputs]``).
A probe trained per sequence scores the mean over a sequence's tokens (a linear probe of the mean is the mean
of its per-token logits); a per-base probe scores every base (each token's score on the bases it covers),
and the runs of bases at or above its threshold are the flagged spans. Probes are checked against the
model's provenance (name, weights hash, tokenizer) before anything runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genolens.adapters.base import Adapter
from genolens.adapters.batching import pad_batch, plan_batches
from genolens.adapters.hooks import StopForward, intervene, tensor_of
from genolens.adapters.spans import per_base
from genolens.errors import ConfigError
from genolens.io.files import atomic_write
from genolens.io.records import SequenceRecord
from genolens.probes.erase import Eraser, check_eraser
from genolens.probes.probe_file import LinearProbe, check_probe
from genolens.provenance import Provenance
from genolens.sae.base import SparseAutoencoder

SCORE_COLUMNS = ["id", "probe", "output", "level", "score", "max_score", "n_flagged_bases"]
SPAN_COLUMNS = ["id", "probe", "start", "end", "max_score", "contig", "ref_start", "ref_end"]


@dataclass(eq=False)
class MonitorResult:
    """Per-sequence scores, flagged spans and per-base score tracks (reference coordinates where known)."""

    scores: pd.DataFrame
    spans: pd.DataFrame
    tracks: dict[str, list[tuple[str, int, int, float]]] = field(default_factory=dict)  # probe -> bedGraph rows

    def write(self, out: str | os.PathLike[str]) -> list[Path]:
        """``out`` (scores TSV), ``<out stem>.spans.tsv`` and ``<out stem>.<probe>.bedGraph``; return the paths."""
        path = Path(out)
        stem = path.with_suffix("") if path.suffix == ".tsv" else path
        paths = [path, Path(f"{stem}.spans.tsv")]
        with atomic_write(path) as fh:
            self.scores.to_csv(fh, sep="\t", index=False)
        with atomic_write(paths[1]) as fh:
            self.spans.to_csv(fh, sep="\t", index=False)
        for name, rows in self.tracks.items():
            p = Path(f"{stem}.{name}.bedGraph")
            with atomic_write(p) as fh:
                fh.write(f'track type=bedGraph name="{name}"\n')
                fh.writelines(f"{c}\t{s}\t{e}\t{v:.4g}\n" for c, s, e, v in rows)
            paths.append(p)
        return paths


def _runs(flag: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[0, flag.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _bedgraph(rec: SequenceRecord, values: np.ndarray) -> list[tuple[str, int, int, float]]:
    """Per-base values on the reference (bases without a reference position left out), runs merged."""
    if rec.coords is None:
        return []
    pos = rec.coords.ref_pos
    order = np.argsort(pos, kind="stable")
    pos, vals = pos[order], np.round(values[order], 4)
    keep = pos >= 0
    pos, vals = pos[keep], vals[keep]
    rows: list[tuple[str, int, int, float]] = []
    for p, v in zip(pos.tolist(), vals.tolist(), strict=True):
        if rows and rows[-1][2] == p and rows[-1][3] == v:
            rows[-1] = (rows[-1][0], rows[-1][1], p + 1, v)
        else:
            rows.append((rec.coords.contig, p, p + 1, v))
    return rows


def score_record(
    rec: SequenceRecord, spans: np.ndarray, z: torch.Tensor, *, probe: LinearProbe, name: str
) -> tuple[list[tuple], list[tuple], list[tuple[str, int, int, float]]]:
    """Score rows, flagged spans and bedGraph rows of one sequence from its probe logits ``z [rows, outputs]``.

    ``spans`` are the bases each row covers. A per-sequence probe scores the mean logit over the rows (the probe
    of the mean activation); a per-base probe scores every base (its row's score), flags the bases at or above
    its threshold (binary probes) and gives the first output's per-base track.

    Parameters
    ----------
    rec
        The sequence (reference coordinates, if any, place the spans and the track).
    spans
        ``[rows, 2]`` bases of each row.
    z
        The probe's logits of those rows (float, CPU).
    probe
        The probe.
    name
        Its name in the outputs.

    Returns
    -------
    tuple of list
        Rows of :data:`SCORE_COLUMNS`, of :data:`SPAN_COLUMNS`, and bedGraph rows.
    """
    if probe.level == "sequence":
        s = _activate(probe, z.mean(0))
        return ([(rec.id, name, o, "sequence", float(v), float(v), 0)
                 for o, v in zip(probe.outputs, s.reshape(-1).tolist(), strict=True)], [], [])
    scores, found, track = [], [], []
    base = per_base(_activate(probe, z), spans, len(rec.sequence)).numpy()
    for j, o in enumerate(probe.outputs):
        v = base[:, j] if base.ndim == 2 else base
        flag = v >= probe.threshold if probe.kind == "binary" else np.zeros(len(v), dtype=bool)
        scores.append((rec.id, name, o, "base", float(v.mean()), float(v.max()), int(flag.sum())))
        for a, e in _runs(flag):
            ref = rec.coords.ref_pos[a:e] if rec.coords is not None else np.array([-1])
            known = ref[ref >= 0]
            found.append((rec.id, name, a, e, float(v[a:e].max()), rec.coords.contig if rec.coords is not None else "",
                          int(known.min()) if known.size else -1, int(known.max()) + 1 if known.size else -1))
        if j == 0:
            track = _bedgraph(rec, v)
    return scores, found, track


@contextlib.contextmanager
def probe_hooks(adapter: Adapter, probes: Sequence[LinearProbe],
                saes: Sequence[SparseAutoencoder | None] | None = None):  # noqa: ANN201
    """Forward hooks that keep ``{(layer, sae): [batch, tokens, outputs]}`` probe logits and stop at the deepest layer.

    A probe on SAE features reads ``saes[i].encode`` of its layer's output (encoded once per SAE and layer);
    ``sae`` in the key is the index of the probe's SAE in ``saes`` (-1 for raw activations).
    """
    saes = list(saes) if saes is not None else [None] * len(probes)
    layers = sorted({p.provenance.layer for p in probes})
    logits: dict[tuple[int, int], torch.Tensor] = {}
    handles = []
    for layer in layers:
        groups = {}
        for p, sae in zip(probes, saes, strict=True):
            if p.provenance.layer == layer:
                groups.setdefault(_sae_key(saes, sae), []).append(p)
        stacked = {k: (torch.from_numpy(np.vstack([p.weight for p in g])).to(adapter.device),
                       torch.from_numpy(np.concatenate([p.bias for p in g])).to(adapter.device))
                   for k, g in groups.items()}

        def hook(_m: torch.nn.Module, _i: object, out: object, layer: int = layer, stacked: dict = stacked) -> None:
            h = tensor_of(out)
            for key, (w, b) in stacked.items():
                x = h if key < 0 else saes[key].encode(h.float())
                logits[(layer, key)] = torch.matmul(x, w.T.to(x.dtype)) + b.to(x.dtype)  # [batch, tokens, out]
            if layer == layers[-1]:
                raise StopForward

        handles.append(adapter.hook_module(layer).register_forward_hook(hook))
    try:
        yield logits
    finally:
        for h in handles:
            h.remove()


def _sae_key(saes: Sequence[SparseAutoencoder | None], sae: SparseAutoencoder | None) -> int:
    """Index of the first occurrence of ``sae`` in ``saes`` (by identity), -1 for none."""
    if sae is None:
        return -1
    return next(i for i, s in enumerate(saes) if s is sae)


def check_probe_sae(probe: LinearProbe, sae: SparseAutoencoder | None, *, provenance: Provenance) -> None:
    """Refuse an SAE-feature probe without its SAE, or with another SAE than the one it was trained on.

    Parameters
    ----------
    probe
        The probe (``representation == "sae"``; ``probe.sae`` records the SAE's name, width and weights hash).
    sae
        The SAE given to read its features.
    provenance
        The model and layer the monitor runs (the SAE must have been trained on them).
    """
    if sae is None:
        raise ConfigError(f"probe {probe.target!r} reads SAE features: give its SAE",
                          hint=f"it was trained on {probe.sae.get('path', 'an SAE')}")
    from genolens.adapters.fingerprint import weights_fingerprint
    from genolens.sae.checkpoint import check_compatible

    check_compatible(sae, provenance, what=f"model {provenance.model}")  # model, weights, tokenizer, layer
    recorded = probe.sae
    if int(sae.cfg.d_sae) != probe.d_in or ("d_sae" in recorded and int(recorded["d_sae"]) != int(sae.cfg.d_sae)):
        raise ConfigError(f"probe {probe.target!r} reads {probe.d_in} SAE features, the SAE has {sae.cfg.d_sae}")
    if recorded.get("weights_hash") and recorded["weights_hash"] != weights_fingerprint(sae):
        raise ConfigError(f"probe {probe.target!r} was trained on the features of another SAE "
                          f"({recorded.get('name', '?')}, weights {recorded['weights_hash']})",
                          hint="give the SAE the probe was trained with")


def check_erasers(erasers: Sequence[Eraser], *, adapter: Adapter, model: str, deepest: int) -> None:
    """Refuse an eraser that is not per token, was fit on another model/layer/tokenizer, or acts after ``deepest``.

    Parameters
    ----------
    erasers
        The erasers to apply in the forward pass.
    adapter, model
        The loaded model and the name it was loaded by.
    deepest
        The deepest layer read (stored or probed): an eraser deeper than it would change nothing.
    """
    from genolens.store.embed import model_provenance

    for e in erasers:
        if e.level != "token":
            raise ConfigError(f"eraser {e.concept!r} was fit on per-{e.level} features: only an eraser fit on a "
                              "layer's per-token activations (genolens erase --store) can act in the forward pass")
        layer = e.provenance.layer
        check_eraser(e, model_provenance(adapter, model=model, layer=layer), what=f"model {model}")
        adapter.check_layers([layer])
        if e.d_in != adapter.hidden_size:
            raise ConfigError(f"eraser {e.concept!r} reads {e.d_in} dimensions, the model has {adapter.hidden_size}")
        if layer > deepest:
            raise ConfigError(f"eraser {e.concept!r} acts at layer {layer}, after the deepest layer read ({deepest})",
                              hint="nothing would see its edit")


def _activate(probe: LinearProbe, z: torch.Tensor) -> torch.Tensor:
    if probe.kind == "binary":
        return torch.sigmoid(z)
    if probe.kind == "multiclass":
        return torch.softmax(z, dim=-1)
    return z


def monitor_records(
    records: Iterable[SequenceRecord],
    *,
    adapter: Adapter,
    model: str,
    probes: Sequence[LinearProbe],
    names: Sequence[str] | None = None,
    batch_tokens: int = 8192,
    erasers: Sequence[Eraser] = (),
    saes: Sequence[SparseAutoencoder | None] | None = None,
) -> MonitorResult:
    """Run ``adapter`` over ``records`` up to the probes' deepest layer and score them with ``probes``.

    Parameters
    ----------
    records
        Sequences (with reference coordinates for bedGraph tracks).
    adapter
        The loaded model.
    model
        The name it was loaded by (checked against each probe's provenance with the weights hash and tokenizer).
    probes
        Probes of the model's layers (per base or per sequence), on raw activations or on SAE features.
    names
        A name per probe (default its target), used in the outputs.
    batch_tokens
        Padded tokens per forward pass.
    erasers
        Per-token concept erasers (``genolens erase --store``), applied to their layer's output in the forward
        pass before any probe reads it (checked against the model like the probes).
    saes
        One entry per probe: the SAE whose features an SAE-feature probe reads (checked against the model and
        against the SAE the probe was trained on), None for a raw-activation probe. The SAE encodes the
        layer's output inside the forward pass.

    Returns
    -------
    MonitorResult
        Scores per sequence and probe output, flagged spans, per-base tracks.
    """
    from genolens.store.embed import model_provenance

    if not probes:
        raise ConfigError("give at least one probe")
    names = list(names or [p.target for p in probes])
    saes = list(saes) if saes is not None else [None] * len(probes)
    if len(saes) != len(probes):
        raise ConfigError(f"{len(saes)} SAE entries for {len(probes)} probes (one per probe, None for raw)")
    for p, sae in zip(probes, saes, strict=True):
        if p.representation not in ("raw", "sae") or p.level == "sample":
            raise ConfigError(f"probe {p.target!r} reads {p.representation} features per {p.level}: the monitor "
                              "runs probes on raw activations or SAE features, per base or per sequence")
        here = model_provenance(adapter, model=model, layer=p.provenance.layer)
        check_probe(p, here, what=f"model {model}")  # the model first, then whether it has the probe's layer
        adapter.check_layers([p.provenance.layer])
        if p.representation == "sae":
            check_probe_sae(p, sae, provenance=here)
        elif sae is not None:
            raise ConfigError(f"probe {p.target!r} reads raw activations: no SAE applies to it")
        elif p.d_in != adapter.hidden_size:
            raise ConfigError(f"probe {p.target!r} reads {p.d_in} dimensions, the model has {adapter.hidden_size}")
    saes = [s.to(adapter.device).eval() if s is not None else None for s in saes]
    check_erasers(erasers, adapter=adapter, model=model, deepest=max(p.provenance.layer for p in probes))
    records = list(records)
    tokens = [adapter.tokenizer.encode(r.sequence) for r in records]
    for r, t in zip(records, tokens, strict=True):
        if len(t) > adapter.max_tokens:
            raise ConfigError(f"sequence {r.id!r} has {len(t)} tokens, more than the model's {adapter.max_tokens}",
                              hint="split it (genolens windows / split-fasta) before monitoring")
    offsets = {}  # probe -> (its logits' key in probe_hooks, first and last output column)
    groups: dict[tuple[int, int], list[LinearProbe]] = {}
    for p, sae in zip(probes, saes, strict=True):
        groups.setdefault((p.provenance.layer, _sae_key(saes, sae)), []).append(p)
    for key, at in groups.items():
        starts = np.cumsum([0] + [p.weight.shape[0] for p in at])
        offsets.update({id(p): (key, int(s), int(s) + p.weight.shape[0]) for p, s in zip(at, starts, strict=False)})
    scores, spans = [], []
    tracks: dict[str, list] = {n: [] for n, p in zip(names, probes, strict=True) if p.level == "base"}
    plan = plan_batches([len(t) for t in tokens], batch_tokens=batch_tokens)
    deepest = max(p.provenance.layer for p in probes)
    with contextlib.ExitStack() as stack:
        for eraser in erasers:
            stack.enter_context(intervene(adapter, eraser.provenance.layer, eraser))
        logits = stack.enter_context(probe_hooks(adapter, probes, saes))
        for batch in plan.batches:
            ids, mask = pad_batch([tokens[i].input_ids for i in batch], pad_id=adapter.tokenizer.pad_id)
            adapter.forward(ids, mask, layers=[deepest])  # our hook at `deepest` ends the pass before capture's
            for row, i in enumerate(batch):
                rec, tok = records[i], tokens[i]
                real = np.flatnonzero(tok.spans[:, 0] >= 0)
                for name, p in zip(names, probes, strict=True):
                    key, lo, hi = offsets[id(p)]
                    z = logits[key][row, real, lo:hi].float().cpu()
                    got = score_record(rec, tok.spans[real], z, probe=p, name=name)
                    scores += got[0]
                    spans += got[1]
                    if p.level == "base":
                        tracks[name] += got[2]
    return MonitorResult(pd.DataFrame(scores, columns=SCORE_COLUMNS), pd.DataFrame(spans, columns=SPAN_COLUMNS),
                         {k: v for k, v in tracks.items() if v})


def monitor(
    model: str,
    *,
    probes: Sequence[str | os.PathLike[str]],
    fasta: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    batch_tokens: int = 8192,
    erasers: Sequence[str | os.PathLike[str]] = (),
    sae: str | os.PathLike[str] | None = None,
) -> MonitorResult:
    """Load ``model`` and the probe folders, score the FASTA's sequences (``genolens monitor``), write to ``out``.

    Parameters
    ----------
    model
        Short name, hub id or checkpoint folder.
    probes
        Probe folders (``genolens probe train`` writes ``OUT/<target>/raw``).
    fasta
        Input sequences (a ``.coords.tsv`` sidecar gives reference coordinates for bedGraph tracks).
    out
        Scores TSV to write (with ``.spans.tsv`` and ``.<probe>.bedGraph`` beside it).
    device
        Where the model runs.
    batch_tokens
        Padded tokens per forward pass.
    erasers
        Eraser folders (``genolens erase --store`` writes ``OUT/eraser``) applied in the forward pass first.
    sae
        The SAE folder that SAE-feature probes read (default: the one each was trained on, as its ``cfg.json``
        records); checked against the SAE the probe was trained on.

    Returns
    -------
    MonitorResult
        See :func:`monitor_records`.
    """
    from genolens.adapters.registry import load_adapter
    from genolens.io.inputs import input_records
    from genolens.probes.erase import load_eraser
    from genolens.probes.probe_file import load_probe

    loaded = [load_probe(p) for p in probes]
    names = [Path(p).parent.name if Path(p).name in ("raw", "sae") else Path(p).name for p in probes]
    from genolens.sae.checkpoint import load_sae

    cache: dict[str, SparseAutoencoder] = {}

    def probe_sae(p: LinearProbe) -> SparseAutoencoder | None:
        if p.representation != "sae":
            return None
        path = str(sae) if sae is not None else p.sae.get("path")
        if not path:
            raise ConfigError(f"probe {p.target!r} reads SAE features and records no SAE path: give --sae")
        if path not in cache:
            cache[path] = load_sae(path)
        return cache[path]

    saes = [probe_sae(p) for p in loaded]
    adapter = load_adapter(model, device=device)
    result = monitor_records(input_records(fasta=fasta), adapter=adapter, model=model, probes=loaded, names=names,
                             batch_tokens=batch_tokens, erasers=[load_eraser(e) for e in erasers], saes=saes)
    if out is not None:
        result.write(out)
    return result
