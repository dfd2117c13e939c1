"""Steering: push one SAE feature at its layer and read what the model starts to predict.

Two edits at the SAE's layer, at chosen base positions (the tokens covering them) or at every real
token:

* ``scale``: add ``scale * W_dec[f]``, the *raw* decoder row (``W_dec[f] / input_scale``, as
  :func:`genolens.sae.splice.decoder_directions` gives it), so ``scale`` is in units of the feature's
  own activation: ``scale = 3`` adds what the feature firing at 3 would add to the SAE's reconstruction,
  comparable with its ``max`` in an annotation. ``normalize=True`` adds ``scale`` times the unit-norm
  direction instead (``scale`` then in units of activation norm).
* ``clamp``: set the feature's activation to ``v`` through the SAE with its error term kept
  (:func:`genolens.sae.splice.set_features`): ``x + (v - z_f) * W_dec[f]``.

Every sequence runs clean and steered in the same batch. Reported, per scored position, the
log-probability of each letter of the alphabet (``A C G T``, or the 20 amino acids) before and after,
from the full-vocabulary softmax of the model's own head: causal models' prediction at token ``t`` is
for the base of token ``t + 1``; masked models mask each position on its own (one copy per position)
and read the masked token. Only single-letter tokenisers are supported (a k-mer token has no per-base
distribution). With a later-layer SAE, the change of each of its features (mean over real tokens)
between the clean and the steered unmasked run; with probes (weights and bias as plain arrays, see
:class:`ProbeWeights`), their scores before and after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from genolens.adapters.base import DEFAULT_BATCH_TOKENS, Adapter
from genolens.adapters.batching import pad_batch, plan_batches
from genolens.adapters.heads import LMHead
from genolens.adapters.hooks import StopForward, capture, intervene
from genolens.errors import ConfigError, SequenceError
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.sae.base import SparseAutoencoder
from genolens.sae.splice import decoder_directions, set_features

LETTERS = {"dna": "ACGT", "protein": "ACDEFGHIKLMNPQRSTVWY"}
#: columns of :attr:`SteerResult.positions`
POSITION_COLUMNS = ("sequence_id", "position", "base", "steered", "logp_base_before", "logp_base_after",
                    "delta_base", "kl", "rose", "rose_by", "fell", "fell_by")


@dataclass(frozen=True)
class SteerConfig:
    """Settings of :func:`steer` (exactly one of ``scale`` and ``clamp``).

    Parameters
    ----------
    scale
        Add ``scale`` times the feature's decoder row.
    clamp
        Or set the feature's activation to this value (error term kept).
    positions
        0-based base positions steered (the tokens covering them); None: every real token.
    normalize
        ``scale`` multiplies the unit-norm direction rather than the raw decoder row.
    batch_tokens
        Padded tokens per forward pass.
    top
        Later-layer features listed (largest mean change).
    """

    scale: float | None = None
    clamp: float | None = None
    positions: tuple[int, ...] | None = None
    normalize: bool = False
    batch_tokens: int = DEFAULT_BATCH_TOKENS
    top: int = 20

    def __post_init__(self) -> None:
        if (self.scale is None) == (self.clamp is None):
            raise ConfigError("steer with exactly one of a scale (--scale) and a clamp value (--clamp)")
        if self.batch_tokens <= 0:
            raise ConfigError(f"batch_tokens must be > 0, got {self.batch_tokens}")
        if self.positions is not None and any(p < 0 for p in self.positions):
            raise ConfigError("steered positions are 0-based and >= 0")
        if self.top < 1:
            raise ConfigError(f"top must be >= 1, got {self.top}")


@dataclass(frozen=True, eq=False)
class ProbeWeights:
    """A linear probe as plain arrays (``scores = x @ weight.T + bias``), read at ``layer``.

    Parameters
    ----------
    name
        What the probe predicts (its target).
    layer
        The layer it reads.
    weight
        ``[outputs, d_in]``.
    bias
        ``[outputs]``.
    outputs
        Names of its outputs.
    level
        ``"base"`` (every real token, scores averaged over them) or ``"sequence"`` (the mean activation).
    """

    name: str
    layer: int
    weight: np.ndarray
    bias: np.ndarray
    outputs: tuple[str, ...]
    level: str = "sequence"


@dataclass(frozen=True, eq=False)
class SteerResult:
    """The result of :func:`steer`.

    Parameters
    ----------
    positions
        One row per scored position (:data:`POSITION_COLUMNS`): the actual base's log-probability before
        and after, the KL divergence of the letter distributions (renormalised over the letters) and
        the letters that rose and fell most.
    letters
        Long table: ``sequence_id, position, letter, logp_before, logp_after, delta``.
    features
        Later-layer SAE features with the largest mean change (``feature, mean_before, mean_after,
        delta, frequency_before, frequency_after``), or None.
    probes
        ``sequence_id, probe, output, before, after, delta``, or None.
    meta
        Model, layers, feature, settings.
    coords
        ``{sequence_id: coordinate map}`` for the tracks.
    """

    positions: pd.DataFrame
    letters: pd.DataFrame
    features: pd.DataFrame | None
    probes: pd.DataFrame | None
    meta: dict
    coords: dict[str, CoordinateMap] = field(default_factory=dict)

    def distribution(self, sequence: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """The predicted letter distribution along one sequence, before and after (renormalised over letters).

        Parameters
        ----------
        sequence
            A sequence ID.

        Returns
        -------
        tuple
            ``(positions [n], before [n, letters], after [n, letters], letters)``.
        """
        rows = self.letters[self.letters["sequence_id"] == sequence]
        if rows.empty:
            raise ConfigError(f"no steering result for sequence {sequence!r}")
        letters = self.meta["letters"]
        wide_b = rows.pivot(index="position", columns="letter", values="logp_before")[list(letters)]
        wide_a = rows.pivot(index="position", columns="letter", values="logp_after")[list(letters)]
        b, a = np.exp(wide_b.to_numpy()), np.exp(wide_a.to_numpy())
        return (wide_b.index.to_numpy(), b / b.sum(1, keepdims=True), a / a.sum(1, keepdims=True), letters)

    def track(self, sequence: str) -> np.ndarray:
        """Per-base change of the actual base's log-probability (NaN where not scored).

        Parameters
        ----------
        sequence
            A sequence ID.

        Returns
        -------
        numpy.ndarray
            ``[bases]`` float64.
        """
        rows = self.positions[self.positions["sequence_id"] == sequence]
        out = np.full(len(self.coords[sequence]), np.nan)
        out[rows["position"].to_numpy()] = rows["delta_base"].to_numpy()
        return out


@dataclass(frozen=True)
class _Job:
    seq: int
    ids: np.ndarray
    steered: bool
    read: int  # token read (masked copies), -1: every scored token (causal / unmasked run)
    unmasked: bool


def _letter_ids(adapter: Adapter) -> tuple[str, list[int]]:
    letters = LETTERS[adapter.alphabet]
    vocab = getattr(adapter.tokenizer, "vocab", None) or {}
    missing = [c for c in letters if c not in vocab]
    if missing:
        raise ConfigError(f"{adapter.name}'s vocabulary has no single-letter token for {', '.join(missing[:5])}",
                          hint="steer reports per-letter probabilities: it needs a one-letter-per-token model")
    return letters, [int(vocab[c]) for c in letters]


def steer(
    adapter: Adapter,
    records: Sequence[SequenceRecord],
    *,
    sae: SparseAutoencoder,
    head: LMHead,
    feature: int,
    config: SteerConfig,
    later_sae: SparseAutoencoder | None = None,
    probes: Sequence[ProbeWeights] = (),
) -> SteerResult:
    """Steer ``feature`` of ``sae`` at its layer and report what changes (module docstring).

    Parameters
    ----------
    adapter
        The model the SAE was trained on.
    records
        Sequences (each fits the model's context in one piece).
    sae
        The SAE whose feature is steered.
    head
        The model's language-model head.
    feature
        The feature.
    config
        Scale or clamp, positions, batching (:class:`SteerConfig`).
    later_sae
        An SAE of a later layer of the same model, whose features' change is reported.
    probes
        Linear probes whose scores are read before and after.

    Returns
    -------
    SteerResult
        Per-position and per-letter tables, later features, probe scores.
    """
    layer = sae.cfg.provenance.layer
    if layer < 0:
        raise ConfigError("the SAE records no layer")
    (layer,) = adapter.check_layers([layer])
    if not 0 <= feature < sae.cfg.d_sae:
        raise ConfigError(f"feature {feature} out of range: the SAE has {sae.cfg.d_sae} features")
    if sae.cfg.d_in != adapter.hidden_size:
        raise ConfigError(f"the SAE reads {sae.cfg.d_in}-wide activations; {adapter.name} has {adapter.hidden_size}")
    later_layer = None
    if later_sae is not None:
        (later_layer,) = adapter.check_layers([later_sae.cfg.provenance.layer])
        if later_layer <= layer:
            raise ConfigError(f"the later SAE reads layer {later_layer}, not after the steered layer {layer}")
        later_sae = later_sae.to(adapter.device).eval()
    for p in probes:
        if p.weight.shape[1] != adapter.hidden_size:
            raise ConfigError(f"probe {p.name} reads {p.weight.shape[1]}-wide inputs; {adapter.name} has "
                              f"{adapter.hidden_size}")
        if p.level not in ("base", "sequence"):
            raise ConfigError(f"probe {p.name}: level {p.level!r} cannot be read from one sequence")
    if not records:
        raise ConfigError("no sequences to steer")
    sae = sae.to(adapter.device).eval()
    letters, letter_ids = _letter_ids(adapter)
    direction = decoder_directions(sae, torch.tensor([feature]))[0]
    if config.normalize:
        direction = direction / direction.norm().clamp_min(1e-12)
    toks, jobs = [], []
    for i, rec in enumerate(records):
        if rec.alphabet != adapter.alphabet:
            raise SequenceError(f"{adapter.name} reads {adapter.alphabet} sequences", record=rec.id)
        tok = adapter.tokenizer.encode(rec.sequence)
        if len(tok) > adapter.max_tokens:
            raise ConfigError(f"sequence {rec.id} is {len(tok)} tokens, more than {adapter.name}'s context")
        toks.append(tok)
        for steered in (False, True):
            jobs.append(_Job(i, tok.input_ids, steered, -1, True))
            if head.objective == "mlm":
                for t in np.flatnonzero(tok.spans[:, 0] >= 0):
                    ids = tok.input_ids.copy()
                    ids[t] = head.mask_id
                    jobs.append(_Job(i, ids, steered, int(t), False))
    logp: dict[tuple[int, bool], np.ndarray] = {}  # (seq, steered) -> [tokens, letters] at scored tokens
    later: dict[tuple[int, bool], np.ndarray] = {}
    probe_scores: dict[tuple[int, bool], list[np.ndarray]] = {}
    read_layers = sorted({adapter.num_layers, *([later_layer] if later_layer is not None else []),
                          *(adapter.check_layers([p.layer])[0] for p in probes)})
    plan = plan_batches([len(j.ids) for j in jobs], batch_tokens=config.batch_tokens)
    for batch in plan.batches:
        ids, attn = pad_batch([jobs[k].ids for k in batch], pad_id=adapter.tokenizer.pad_id)
        where = torch.zeros_like(ids, dtype=torch.bool)
        for row, k in enumerate(batch):
            job = jobs[k]
            if job.steered:
                where[row, : len(job.ids)] = _steered_tokens(toks[job.seq], config.positions)
        edit = _edit(sae, feature, direction, where, config)
        acts = _forward(adapter, ids, attn, layer=layer, edit=edit, layers=read_layers)
        with torch.inference_mode():
            lp = torch.log_softmax(head.logits(acts[adapter.num_layers].float()), dim=-1)[..., letter_ids]
            lp = lp.double().cpu().numpy()
        for row, k in enumerate(batch):
            job = jobs[k]
            tok = toks[job.seq]
            n = len(tok)
            key = (job.seq, job.steered)
            if head.objective == "clm" and job.unmasked:
                logp[key] = lp[row, :n]
            elif not job.unmasked:
                logp.setdefault(key, np.full((n, len(letters)), np.nan))[job.read] = lp[row, job.read]
            if job.unmasked:
                real = torch.from_numpy(tok.spans[:, 0] >= 0)
                if later_layer is not None:
                    a = acts[later_layer][row, :n][real.to(acts[later_layer].device)].float()
                    with torch.inference_mode():
                        later[key] = later_sae.encode(a).double().cpu().numpy()
                probe_scores[key] = [_probe_score(p, acts[adapter.check_layers([p.layer])[0]][row, :n], real)
                                     for p in probes]
    positions, letter_rows = _tables(records, toks, logp, letters, head.objective, config)
    coords = {r.id: r.coords or CoordinateMap(r.id, "+", np.arange(len(r.sequence), dtype=np.int64))
              for r in records}
    features = None
    if later_layer is not None:
        before = np.concatenate([later[(i, False)] for i in range(len(records))])
        after = np.concatenate([later[(i, True)] for i in range(len(records))])
        delta = after.mean(0) - before.mean(0)
        order = np.argsort(-np.abs(delta), kind="stable")[: config.top]
        features = pd.DataFrame({"feature": order, "mean_before": before.mean(0)[order],
                                 "mean_after": after.mean(0)[order], "delta": delta[order],
                                 "frequency_before": (before > 0).mean(0)[order],
                                 "frequency_after": (after > 0).mean(0)[order]})
    probe_table = None
    if probes:
        rows = []
        for i, rec in enumerate(records):
            for p, b, a in zip(probes, probe_scores[(i, False)], probe_scores[(i, True)], strict=True):
                rows += [(rec.id, p.name, out, float(b[o]), float(a[o]), float(a[o] - b[o]))
                         for o, out in enumerate(p.outputs)]
        probe_table = pd.DataFrame(rows, columns=["sequence_id", "probe", "output", "before", "after", "delta"])
    meta = {
        "model": adapter.name, "family": adapter.family, "objective": head.objective, "layer": layer,
        "sae": sae.cfg.name, "feature": int(feature), "config": asdict(config), "letters": letters,
        "direction_norm": float(direction.norm()), "n_sequences": len(records),
        "later_sae": None if later_sae is None else later_sae.cfg.name, "later_layer": later_layer,
        "probes": [p.name for p in probes],
    }
    return SteerResult(positions, letter_rows, features, probe_table, meta, coords)


def _steered_tokens(tok: object, positions: tuple[int, ...] | None) -> torch.Tensor:
    real = tok.spans[:, 0] >= 0
    if positions is None:
        return torch.from_numpy(real)
    pos = np.asarray(positions, dtype=np.int64)
    length = int(tok.spans[real, 1].max()) if real.any() else 0
    if (pos >= length).any():
        raise ConfigError(f"steered position {int(pos.max())} is past the sequence's end ({length} bases)")
    hit = real & np.array([bool(((pos >= a) & (pos < b)).any()) for a, b in tok.spans])
    return torch.from_numpy(hit)


def _edit(sae: SparseAutoencoder, feature: int, direction: torch.Tensor, where: torch.Tensor,
          config: SteerConfig):  # noqa: ANN202 - an Edit
    if config.scale is not None:
        def add(acts: torch.Tensor) -> torch.Tensor:
            delta = config.scale * direction.to(acts.device)
            m = where.to(acts.device)[..., None]
            return torch.where(m, (acts.float() + delta).to(acts.dtype), acts)
        return add

    def clamp(acts: torch.Tensor) -> torch.Tensor:
        feats = torch.full((acts.shape[0],), feature, dtype=torch.long)
        values = torch.full((acts.shape[0],), float(config.clamp))
        return set_features(sae, acts, feats, positions=where.to(acts.device), values=values)
    return clamp


def _forward(adapter: Adapter, ids: torch.Tensor, attn: torch.Tensor, *, layer: int, edit, layers: list[int]  # noqa: ANN001
             ) -> dict[int, torch.Tensor]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.inference_mode())
        stack.enter_context(adapter._autocast())
        stack.enter_context(intervene(adapter, layer, edit))
        acts = stack.enter_context(capture(adapter, layers, stop=True))
        with contextlib.suppress(StopForward):
            adapter._call_model(ids.to(adapter.device), attn.to(adapter.device))
    return dict(acts)


def _probe_score(probe: ProbeWeights, acts: torch.Tensor, real: torch.Tensor) -> np.ndarray:
    x = acts[real.to(acts.device)].double().cpu().numpy()
    if probe.level == "sequence":
        x = x.mean(0, keepdims=True)
    return (x @ np.asarray(probe.weight, np.float64).T + np.asarray(probe.bias, np.float64)).mean(0)


def _tables(records: Sequence[SequenceRecord], toks: list, logp: dict, letters: str, objective: str,
            config: SteerConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, long = [], []
    for i, rec in enumerate(records):
        tok = toks[i]
        before, after = logp[(i, False)], logp[(i, True)]
        steered = _steered_tokens(tok, config.positions).numpy()
        real = tok.spans[:, 0] >= 0
        for t in np.flatnonzero(real):
            u = t + 1 if objective == "clm" else t
            if u >= len(tok) or not real[u]:
                continue
            pos = int(tok.spans[u, 0])
            base = rec.sequence[pos].upper()
            b, a = before[t], after[t]
            k = letters.find(base)
            pb, pa = np.exp(b) / np.exp(b).sum(), np.exp(a) / np.exp(a).sum()
            kl = float((pb * (np.log(pb) - np.log(pa))).sum())
            d = a - b
            rows.append((rec.id, pos, base, bool(steered[: t + 1].any() if objective == "clm" else steered.any()),
                         float(b[k]) if k >= 0 else np.nan, float(a[k]) if k >= 0 else np.nan,
                         float(d[k]) if k >= 0 else np.nan, kl, letters[int(d.argmax())], float(d.max()),
                         letters[int(d.argmin())], float(d.min())))
            long += [(rec.id, pos, letters[j], float(b[j]), float(a[j]), float(d[j])) for j in range(len(letters))]
    positions = pd.DataFrame(rows, columns=list(POSITION_COLUMNS))
    letters_t = pd.DataFrame(long, columns=["sequence_id", "position", "letter", "logp_before", "logp_after", "delta"])
    return positions, letters_t
