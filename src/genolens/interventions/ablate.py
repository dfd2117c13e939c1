"""Ablation: what the model loses when an SAE feature is removed from its layer.

The SAE's layer is edited in the forward pass: each chosen feature is set to zero in the SAE's
reconstruction *and the SAE's error term is kept*, so the layer becomes
``decode(z without f) + (x - decode(z)) = x - z_f * W_dec[f]`` (:func:`genolens.sae.splice.set_features`).
Nothing but the feature's own contribution changes: with no feature ablated, or at a sequence where
the feature is zero at every token, the model's outputs are the clean ones bit for bit.

The loss is the model's own objective (:func:`genolens.adapters.heads.lm_objective`): next-token
cross-entropy for causal models (the hidden state at token ``t`` predicts token ``t + 1``); for masked
models, cross-entropy at ``mask_fraction`` of real tokens replaced by the mask token, drawn once per
sequence from ``seed`` (the same positions for the clean and every ablated run). Special tokens are
never scored. The change is *ablated minus clean*, in nats per scored token: positive means the model
needed the feature.

Per feature, over all scored positions and split by whether the feature *fired* (was non-zero) at the
scoring position's own token in the input the model read (for a causal model the token whose hidden
state makes the prediction; for a masked model the masked token itself): ``delta_loss`` (mean over all
scored positions), ``delta_fired`` and ``delta_elsewhere`` (means over the two groups) with their counts,
``abs_fired``/``abs_elsewhere`` (mean absolute change: how much the predictions move, whichever way) and
the clean loss in each group. On sequences unlike the model's training data (random background) the
signed change is dominated by calibration: removing almost any feature of an over-confident model lowers
its loss, so read the absolute change as "the model uses this feature here".
For a causal model a feature can only change predictions at or after a token where it fired.

Two ways to run it, with the same numbers:

* ``batched`` (default): each sequence goes through the model once per group of features, with the
  batch expanded at the SAE's layer into one copy per feature (plus an unedited copy, the clean
  reference): the layers before the SAE's run once, each copy ablates its own feature in the layers
  after. A (sequence, feature) pair where the feature never fires is not run (its change is exactly 0).
  The expansion needs the layer's output to be the whole state passed on: the tests check it against
  ``loop`` for the HyenaDNA, GPT-2, ESM-2 and BERT adapters; for other families (DNABERT-2, Caduceus, ...)
  it is unchecked, and ``loop`` is the safe choice.
* ``loop``: one forward pass over every sequence per feature (the plain approach, the baseline of
  ``benchmarks/ablate.py``).

Per-base tracks of the change: a scored token's change is placed on the bases of the token it
predicts (causal: token ``t + 1``; masked: the masked token), NaN where nothing is scored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from genolens.adapters.base import DEFAULT_BATCH_TOKENS, Adapter
from genolens.adapters.batching import pad_batch, plan_batches
from genolens.adapters.heads import LMHead, lm_objective
from genolens.adapters.hooks import StopForward, capture, intervene, tensor_of
from genolens.errors import ConfigError, SequenceError
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.sae.base import SparseAutoencoder
from genolens.sae.splice import set_features

METHODS = ("batched", "loop")
#: columns of :attr:`AblationResult.table`
COLUMNS = ("feature", "frequency", "n_sequences", "n_scored", "n_fired", "n_elsewhere", "delta_loss",
           "delta_fired", "delta_elsewhere", "abs_fired", "abs_elsewhere", "clean_loss_fired",
           "clean_loss_elsewhere")


@dataclass(frozen=True)
class AblateConfig:
    """Settings of :func:`ablate`.

    Parameters
    ----------
    mask_fraction
        Masked models: fraction of real tokens masked and scored.
    seed
        Seed of the masked positions (drawn per sequence, in input order).
    batch_tokens
        Token slots per forward pass (``batched``: copies of one sequence; ``loop``: padded sequences).
    method
        ``"batched"`` or ``"loop"`` (module docstring).
    skip_silent
        ``batched``: do not run (sequence, feature) pairs where the feature is zero at every token
        (their change is exactly zero); False runs them too (the exactness check).
    """

    mask_fraction: float = 0.15
    seed: int = 0
    batch_tokens: int = DEFAULT_BATCH_TOKENS
    method: str = "batched"
    skip_silent: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.mask_fraction < 1:
            raise ConfigError(f"mask_fraction must be in (0, 1), got {self.mask_fraction}")
        if self.batch_tokens <= 0:
            raise ConfigError(f"batch_tokens must be > 0, got {self.batch_tokens}")
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")


@dataclass(frozen=True, eq=False)
class AblationResult:
    """The result of :func:`ablate`.

    Parameters
    ----------
    table
        One row per feature (:data:`COLUMNS`), sorted by feature.
    meta
        Model, layer, SAE, objective, settings, clean loss and counts.
    tracks
        ``{(sequence_id, feature): per-base loss change}`` for the sequences asked for.
    coords
        ``{sequence_id: coordinate map}`` of those sequences (reference coordinates when the record has
        them, else the sequence's own, contig = its ID).
    """

    table: pd.DataFrame
    meta: dict
    tracks: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    coords: dict[str, CoordinateMap] = field(default_factory=dict)

    def track(self, sequence: str, feature: int) -> np.ndarray:
        """Per-base loss change of ``sequence`` with ``feature`` ablated.

        Parameters
        ----------
        sequence
            A sequence ID given in ``track_sequences``.
        feature
            An ablated feature.

        Returns
        -------
        numpy.ndarray
            ``[bases]`` float64, NaN at bases no scored token predicts.
        """
        key = (sequence, int(feature))
        if key not in self.tracks:
            raise ConfigError(f"no track of sequence {sequence!r} with feature {feature} ablated",
                              hint="pass the sequence in track_sequences")
        return self.tracks[key]


@dataclass(eq=False)
class _Seq:
    """One tokenised sequence with its objective: model inputs, targets and scored positions."""

    record: SequenceRecord
    inputs: torch.Tensor  # [T]
    targets: torch.Tensor  # [T]
    scored: torch.Tensor  # [T] bool
    real: torch.Tensor  # [T] bool
    spans: np.ndarray  # [T, 2]

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def prepare_sequences(
    adapter: Adapter, records: Sequence[SequenceRecord], *, head: LMHead, mask_fraction: float, seed: int
) -> list[_Seq]:
    """Tokenise ``records`` and fix each one's objective (masked positions drawn per sequence, in order).

    Parameters
    ----------
    adapter
        The model.
    records
        Sequences, each fitting the model's context in one piece.
    head
        The model's language-model head.
    mask_fraction, seed
        Masked models: fraction masked and the seed of the positions.

    Returns
    -------
    list
        One prepared sequence per record.
    """
    rng = np.random.default_rng(seed)
    out = []
    for rec in records:
        if rec.alphabet != adapter.alphabet:
            raise SequenceError(f"{adapter.name} reads {adapter.alphabet} sequences", record=rec.id)
        tok = adapter.tokenizer.encode(rec.sequence)
        if len(tok) > adapter.max_tokens:
            raise ConfigError(f"sequence {rec.id} is {len(tok)} tokens, more than {adapter.name}'s context of "
                              f"{adapter.max_tokens}", hint="cut it into windows that fit")
        ids = torch.from_numpy(tok.input_ids)[None]
        real = torch.from_numpy(tok.spans[:, 0] >= 0)[None]
        inputs, targets, scored = lm_objective(head, ids, real, mask_fraction=mask_fraction, rng=rng)
        out.append(_Seq(rec, inputs[0], targets[0], scored[0], real[0], tok.spans))
    return out


def token_losses(head: LMHead, hidden: torch.Tensor, targets: torch.Tensor, scored: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``head`` at every position, 0 where not scored.

    Parameters
    ----------
    head
        The language-model head.
    hidden
        ``[rows, tokens, d]`` final hidden states.
    targets
        ``[rows, tokens]`` target token IDs (anything where not scored).
    scored
        ``[rows, tokens]`` boolean.

    Returns
    -------
    torch.Tensor
        ``[rows, tokens]`` float64 on the CPU.
    """
    with torch.inference_mode():
        logits = head.logits(hidden.float())
        keep = scored.to(logits.device)
        tgt = torch.where(keep, targets.to(logits.device), torch.zeros_like(keep, dtype=torch.long))
        ce = F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")
        return torch.where(keep, ce, torch.zeros_like(ce)).double().cpu()


def _run_final(adapter: Adapter, ids: torch.Tensor, attn: torch.Tensor, *, edit: Callable | None, layer: int,
               expand: Callable | None = None) -> torch.Tensor:
    """The final layer's hidden states of one pass, with an edit (or an expanding hook) at ``layer``."""
    final = adapter.num_layers
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.inference_mode())
        stack.enter_context(adapter._autocast())
        if edit is not None:
            stack.enter_context(intervene(adapter, layer, edit))
        if expand is not None:
            handle = adapter.hook_module(layer).register_forward_hook(expand)
            stack.callback(handle.remove)
        acts = stack.enter_context(capture(adapter, [final], stop=True))
        with contextlib.suppress(StopForward):
            adapter._call_model(ids.to(adapter.device), attn.to(adapter.device))
    return acts[final]


class _Totals:
    """Per-feature sums of loss changes and counts."""

    def __init__(self, d_sae: int) -> None:
        self.sum_all = np.zeros(d_sae)
        self.sum_fired = np.zeros(d_sae)
        self.n_fired = np.zeros(d_sae, dtype=np.int64)
        self.clean_fired = np.zeros(d_sae)
        self.abs_all = np.zeros(d_sae)
        self.abs_fired = np.zeros(d_sae)

    def add(self, features: np.ndarray, delta: torch.Tensor, fired: torch.Tensor, scored: torch.Tensor,
            clean: torch.Tensor) -> None:
        """``delta``/``fired``: ``[len(features), T]``; ``scored``/``clean``: ``[T]``."""
        s = scored[None].expand_as(fired)
        hit = fired & s
        self.sum_all[features] += torch.where(s, delta, torch.zeros_like(delta)).sum(1).numpy()
        self.sum_fired[features] += torch.where(hit, delta, torch.zeros_like(delta)).sum(1).numpy()
        self.n_fired[features] += hit.sum(1).numpy()
        size = delta.abs()
        self.abs_all[features] += torch.where(s, size, torch.zeros_like(size)).sum(1).numpy()
        self.abs_fired[features] += torch.where(hit, size, torch.zeros_like(size)).sum(1).numpy()
        base = clean[None].expand_as(delta)
        self.clean_fired[features] += torch.where(hit, base, torch.zeros_like(base)).sum(1).numpy()


def ablate(
    adapter: Adapter,
    records: Sequence[SequenceRecord],
    *,
    sae: SparseAutoencoder,
    head: LMHead,
    features: Iterable[int] | None = None,
    config: AblateConfig | None = None,
    track_sequences: Sequence[str] = (),
    progress: bool = False,
) -> AblationResult:
    """Ablate SAE features one at a time (error term kept) and measure the model's loss change.

    Parameters
    ----------
    adapter
        The model the SAE was trained on.
    records
        Sequences (each fits the model's context).
    sae
        The SAE; its layer is edited.
    head
        The model's language-model head (:func:`genolens.adapters.heads.language_model_head`).
    features
        Features to ablate, each on its own; None: every feature that fires on ``records`` (live).
    config
        Objective, batching and method (:class:`AblateConfig`).
    track_sequences
        IDs of sequences whose per-base loss change is kept for every ablated feature.
    progress
        Show a progress bar.

    Returns
    -------
    AblationResult
        The per-feature table, the settings and the per-base tracks.
    """
    config = config or AblateConfig()
    layer = sae.cfg.provenance.layer
    if layer < 0:
        raise ConfigError("the SAE records no layer")
    (layer,) = adapter.check_layers([layer])
    if sae.cfg.d_in != adapter.hidden_size:
        raise ConfigError(f"the SAE reads {sae.cfg.d_in}-wide activations; {adapter.name} has {adapter.hidden_size}")
    if head.objective == "mlm" and head.mask_id is None:
        raise ConfigError(f"{adapter.name}: the masked-language head has no mask token")
    d_sae = int(sae.cfg.d_sae)
    sae = sae.to(adapter.device).eval()
    features = None if features is None else list(features)
    if features is not None and not features:
        raise ConfigError("the list of features to ablate is empty", hint="name features like '3,17', or 'all'")
    if not records:
        raise ConfigError("no sequences to ablate on")
    ids_seen = [r.id for r in records]
    missing = sorted(set(track_sequences) - set(ids_seen))
    if missing:
        raise ConfigError(f"track sequence(s) {', '.join(missing[:5])} are not among the inputs")
    seqs = prepare_sequences(adapter, records, head=head, mask_fraction=config.mask_fraction, seed=config.seed)
    clean, fired_sets, fire_counts, seq_counts, real_tokens = _clean_pass(adapter, seqs, sae=sae, head=head,
                                                                          layer=layer, config=config)
    if features is None:
        chosen = np.flatnonzero(fire_counts > 0)
    else:
        chosen = np.unique(np.asarray(list(features), dtype=np.int64))
        bad = chosen[(chosen < 0) | (chosen >= d_sae)]
        if bad.size:
            raise ConfigError(f"feature(s) {bad[:5].tolist()} out of range: the SAE has {d_sae} features")
    if chosen.size == 0:
        raise ConfigError("no feature to ablate: none fires on these sequences")
    totals = _Totals(d_sae)
    tracked = set(track_sequences)
    per_token: dict[tuple[str, int], torch.Tensor] = {}
    run = _batched if config.method == "batched" else _loop
    run(adapter, seqs, sae=sae, head=head, layer=layer, config=config, features=chosen, clean=clean,
        fired_sets=fired_sets, totals=totals, tracked=tracked, per_token=per_token, progress=progress)
    n_scored = int(sum(int(s.scored.sum()) for s in seqs))
    clean_sum = float(sum(float(c.sum()) for c in clean))
    n_else = n_scored - totals.n_fired[chosen]
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "feature": chosen,
            "frequency": fire_counts[chosen] / max(real_tokens, 1),
            "n_sequences": seq_counts[chosen],
            "n_scored": n_scored,
            "n_fired": totals.n_fired[chosen],
            "n_elsewhere": n_else,
            "delta_loss": totals.sum_all[chosen] / n_scored,
            "delta_fired": np.where(totals.n_fired[chosen] > 0, totals.sum_fired[chosen] / totals.n_fired[chosen],
                                    np.nan),
            "delta_elsewhere": np.where(n_else > 0, (totals.sum_all[chosen] - totals.sum_fired[chosen]) / n_else,
                                        np.nan),
            "abs_fired": np.where(totals.n_fired[chosen] > 0, totals.abs_fired[chosen] / totals.n_fired[chosen],
                                  np.nan),
            "abs_elsewhere": np.where(n_else > 0, (totals.abs_all[chosen] - totals.abs_fired[chosen]) / n_else,
                                      np.nan),
            "clean_loss_fired": np.where(totals.n_fired[chosen] > 0,
                                         totals.clean_fired[chosen] / totals.n_fired[chosen], np.nan),
            "clean_loss_elsewhere": np.where(n_else > 0, (clean_sum - totals.clean_fired[chosen]) / n_else, np.nan),
        }, columns=list(COLUMNS))
    tracks, coords = {}, {}
    by_id = {s.record.id: s for s in seqs}
    for (sid, f), delta in per_token.items():
        s = by_id[sid]
        tracks[(sid, f)] = per_base_change(delta, s, objective=head.objective)
        coords[sid] = s.record.coords or CoordinateMap(sid, "+", np.arange(len(s.record.sequence), dtype=np.int64))
    meta = {
        "model": adapter.name, "family": adapter.family, "objective": head.objective, "layer": layer,
        "sae": sae.cfg.name, "d_sae": d_sae, "config": asdict(config), "n_sequences": len(seqs),
        "n_scored": n_scored, "clean_loss": clean_sum / max(n_scored, 1), "n_features": int(chosen.size),
        "features": "live" if features is None else "given", "real_tokens": int(real_tokens),
        "track_sequences": list(track_sequences),
    }
    return AblationResult(table, meta, tracks, coords)


def per_base_change(delta: torch.Tensor, seq: _Seq, *, objective: str) -> np.ndarray:
    """A scored token's change placed on the bases of the token it predicts (module docstring).

    Parameters
    ----------
    delta
        ``[tokens]`` loss change per position.
    seq
        The prepared sequence.
    objective
        ``"clm"`` or ``"mlm"``.

    Returns
    -------
    numpy.ndarray
        ``[bases]`` float64, NaN where nothing is scored.
    """
    out = np.full(len(seq.record.sequence), np.nan)
    scored = np.flatnonzero(seq.scored.numpy())
    target = scored + 1 if objective == "clm" else scored
    d = delta.numpy()
    for t, u in zip(scored, target, strict=True):
        a, b = seq.spans[u]
        out[a:b] = d[t]
    return out


def _clean_pass(adapter: Adapter, seqs: list[_Seq], *, sae: SparseAutoencoder, head: LMHead, layer: int,
                config: AblateConfig) -> tuple[list[torch.Tensor], list[np.ndarray], np.ndarray, np.ndarray, int]:
    """Clean per-token losses, the features firing in each sequence and per-feature firing counts."""
    d_sae = int(sae.cfg.d_sae)
    clean: list[torch.Tensor] = [torch.zeros(0)] * len(seqs)
    fired_sets: list[np.ndarray] = [np.zeros(0, np.int64)] * len(seqs)
    fire_counts = np.zeros(d_sae, dtype=np.int64)
    seq_counts = np.zeros(d_sae, dtype=np.int64)
    real_tokens = 0
    plan = plan_batches([len(s) for s in seqs], batch_tokens=config.batch_tokens)
    final = adapter.num_layers
    for batch in plan.batches:
        ids, attn = pad_batch([seqs[i].inputs.numpy() for i in batch], pad_id=adapter.tokenizer.pad_id)
        out = adapter.forward(ids, attn, layers=sorted({layer, final}))
        with torch.inference_mode():
            for row, i in enumerate(batch):
                s = seqs[i]
                n = len(s)
                ce = token_losses(head, out[final][row : row + 1, :n], s.targets[None], s.scored[None])[0]
                clean[i] = ce
                z = sae.encode(out[layer][row, :n].float())
                z = z[s.real.to(z.device)]
                counts = (z > 0).sum(0).cpu().numpy()
                fire_counts += counts
                seq_counts += counts > 0
                fired_sets[i] = np.flatnonzero(counts)
                real_tokens += int(s.real.sum())
    return clean, fired_sets, fire_counts, seq_counts, real_tokens


def _expand_hook(sae: SparseAutoencoder, group: torch.Tensor, real: torch.Tensor, store: dict) -> Callable:
    """A forward hook that turns a one-sequence batch into ``1 + len(group)`` copies (copy 0 unedited, copy
    ``j`` with feature ``group[j - 1]`` ablated) and records which copies' feature fired where."""
    copies = 1 + int(group.numel())
    feats = torch.cat([torch.full((1,), -1, dtype=torch.long), group])

    def hook(_mod: torch.nn.Module, _inp: object, out: object) -> object:
        acts = tensor_of(out)
        if acts.shape[0] != 1:
            raise ConfigError("the batched ablation expands one sequence at a time")
        many = acts.expand(copies, *acts.shape[1:])
        z = sae.encode(acts.float())
        edited = set_features(sae, many, feats, positions=real[None].to(acts.device), codes=z)
        store["fired"] = (z[0][:, group.to(z.device)] > 0).T.cpu() & real[None]
        if isinstance(out, tuple):
            rest = tuple(o.expand(copies, *o.shape[1:]) if torch.is_tensor(o) and o.dim() > 0 and o.shape[0] == 1
                         else o for o in out[1:])
            return (edited, *rest)
        return edited

    return hook


def _batched(adapter: Adapter, seqs: list[_Seq], *, sae: SparseAutoencoder, head: LMHead, layer: int,
             config: AblateConfig, features: np.ndarray, clean: list[torch.Tensor], fired_sets: list[np.ndarray],
             totals: _Totals, tracked: set[str], per_token: dict, progress: bool) -> None:
    wanted = set(features.tolist())
    bar = tqdm(total=len(seqs), unit="sequence", desc="ablate", disable=not progress)
    for i, s in enumerate(seqs):
        todo = features if not config.skip_silent else np.asarray(
            [f for f in fired_sets[i] if f in wanted], dtype=np.int64)
        per_pass = max(1, config.batch_tokens // max(len(s), 1) - 1)
        for start in range(0, todo.size, per_pass):
            group = torch.from_numpy(todo[start : start + per_pass])
            store: dict = {}
            hook = _expand_hook(sae, group, s.real, store)
            try:
                hidden = _run_final(adapter, s.inputs[None], torch.ones(1, len(s), dtype=torch.long), edit=None,
                                    layer=layer, expand=hook)
            except RuntimeError as exc:
                raise ConfigError(f"{adapter.name}: the batched ablation cannot expand the batch at layer {layer} "
                                  f"({str(exc).splitlines()[0]})", hint="use method 'loop'") from exc
            ce = token_losses(head, hidden, s.targets[None].expand(hidden.shape[0], -1),
                              s.scored[None].expand(hidden.shape[0], -1))
            delta = ce[1:] - ce[:1]
            g = group.numpy()
            totals.add(g, delta, store["fired"], s.scored, ce[0])
            if s.record.id in tracked:
                for j, f in enumerate(g):
                    per_token[(s.record.id, int(f))] = delta[j].clone()
        if s.record.id in tracked:  # features not run there changed nothing
            for f in features:
                per_token.setdefault((s.record.id, int(f)), torch.zeros(len(s), dtype=torch.float64))
        bar.update(1)
    bar.close()


def _loop(adapter: Adapter, seqs: list[_Seq], *, sae: SparseAutoencoder, head: LMHead, layer: int,
          config: AblateConfig, features: np.ndarray, clean: list[torch.Tensor], fired_sets: list[np.ndarray],
          totals: _Totals, tracked: set[str], per_token: dict, progress: bool) -> None:
    del fired_sets  # every sequence is run for every feature
    plan = plan_batches([len(s) for s in seqs], batch_tokens=config.batch_tokens)
    padded = []
    for batch in plan.batches:
        ids, attn = pad_batch([seqs[i].inputs.numpy() for i in batch], pad_id=adapter.tokenizer.pad_id)
        real = torch.zeros_like(ids, dtype=torch.bool)
        for row, i in enumerate(batch):
            real[row, : len(seqs[i])] = seqs[i].real
        padded.append((batch, ids, attn, real))
    bar = tqdm(total=len(features), unit="feature", desc="ablate (loop)", disable=not progress)
    for f in features:
        for batch, ids, attn, real in padded:
            store: dict = {}
            feats = torch.full((ids.shape[0],), int(f), dtype=torch.long)

            def edit(acts: torch.Tensor, feats: torch.Tensor = feats, real: torch.Tensor = real,
                     store: dict = store, f: int = int(f)) -> torch.Tensor:
                z = sae.encode(acts.float())
                store["fired"] = (z[..., f] > 0).cpu() & real
                return set_features(sae, acts, feats, positions=real.to(acts.device), codes=z)

            hidden = _run_final(adapter, ids, attn, edit=edit, layer=layer)
            for row, i in enumerate(batch):
                s = seqs[i]
                n = len(s)
                ce = token_losses(head, hidden[row : row + 1, :n], s.targets[None], s.scored[None])[0]
                delta = (ce - clean[i])[None]
                totals.add(np.asarray([f]), delta, store["fired"][row : row + 1, :n], s.scored, clean[i])
                if s.record.id in tracked:
                    per_token[(s.record.id, int(f))] = delta[0].clone()
        bar.update(1)
    bar.close()
