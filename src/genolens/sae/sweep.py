"""Train SAEs on a store: one SAE or a sweep (architectures × k × widths × seeds) from one pass over the data,
with the token budget stated in passes over the training rows and the seed stability of every sweep.

``gl.sae.train`` and ``genolens train-sae`` are this function; ``gl.sae.evaluate`` and ``genolens eval-sae``
are :func:`evaluate_on_store`.
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from genolens.errors import ConfigError
from genolens.io.files import write_json
from genolens.provenance import Provenance
from genolens.sae.base import SparseAutoencoder
from genolens.sae.checkpoint import check_compatible, load_sae
from genolens.sae.config import SAEConfig, TrainConfig, make_config, options
from genolens.sae.data import StoreSplit, TokenBudget
from genolens.sae.metrics import density_histogram, evaluate_sae, feature_stability
from genolens.sae.trainer import sae_dir, train_saes
from genolens.store.reader import ActivationStore

PathLike = str | os.PathLike[str]
STABILITY_THRESHOLD = 0.9


@dataclass
class TrainResult:
    """SAEs trained by :func:`train`, where each was saved, the budget and the seed stability of a sweep.

    Parameters
    ----------
    saes
        The trained SAEs, in sweep order.
    paths
        The folder each was saved in.
    budget
        The token budget against the training rows (``budget.epochs``: passes over the data).
    n_heldout_rows
        Rows held out for evaluation (whole sequences).
    stability
        Seed stability of SAEs that differ only in seed (:func:`seed_stability`), also in ``stability.json``.
    warning
        The budget's warning when it repeats the data too often, else None.
    """

    saes: list[SparseAutoencoder]
    paths: list[Path]
    budget: TokenBudget
    n_heldout_rows: int
    stability: list[dict[str, Any]] = field(default_factory=list)
    warning: str | None = None


def _seq(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def seed_stability(saes: Sequence[SparseAutoencoder], *, threshold: float = STABILITY_THRESHOLD) -> list[dict]:
    """For SAEs that differ only in seed: the fraction of latents with a match in the other run.

    Parameters
    ----------
    saes
        Trained SAEs; those whose configs are equal but for the seed are compared pairwise.
    threshold
        Decoder cosine above which two latents match.

    Returns
    -------
    list of dict
        One row per pair: ``a``, ``b``, ``threshold``, ``matched_fraction`` (a's latents matched in b) and
        ``matched_fraction_reverse``.
    """
    groups: dict[str, list[SparseAutoencoder]] = {}
    for sae in saes:
        key = tuple(sorted(replace(sae.cfg, seed=0, name="").to_dict().items(), key=lambda kv: kv[0]))
        groups.setdefault(repr(key), []).append(sae)
    rows = []
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            rows.append({"a": a.cfg.name, "b": b.cfg.name, "threshold": threshold,
                         "matched_fraction": feature_stability(a, b, threshold=threshold),
                         "matched_fraction_reverse": feature_stability(b, a, threshold=threshold)})
    return rows


def sweep_configs(
    architecture: str | Sequence[str],
    *,
    d_in: int,
    k: int | Sequence[int] | None = None,
    width: int | Sequence[int] = 4096,
    seed: int | Sequence[int] = 0,
    l1_coeff: float | None = None,
    provenance: Provenance | None = None,
) -> list[SAEConfig]:
    """The configs of a sweep: every architecture × k × width × seed, each setting only where it applies.

    ``k`` (active latents, or target L0 for JumpReLU) applies to the architectures that take it and
    ``l1_coeff`` to ReLU; a value given for a sweep in which no architecture takes it is an error, never
    silently ignored.

    Parameters
    ----------
    architecture
        One name or several (:data:`genolens.sae.registry.ARCHITECTURES`).
    d_in
        Width of the activations.
    k
        One value or several (default: each architecture's own, 32).
    width, seed
        Dictionary sizes and initialisation seeds.
    l1_coeff
        L1 coefficient of ReLU SAEs (default: the config's).
    provenance
        What the SAEs are trained on (model, weights hash, layer, tokeniser).

    Returns
    -------
    list of SAEConfig
        One config per distinct SAE, in sweep order.
    """
    names = [str(a).strip() for a in _seq(architecture)]
    takes = {a: options(a) for a in names}
    for option, value in (("k", k), ("l1_coeff", l1_coeff)):
        if value is not None and not any(option in t for t in takes.values()):
            raise ConfigError(f"{option} does not apply to {', '.join(names)} SAEs",
                              hint="; ".join(f"{a} takes {', '.join(t) or 'nothing else'}" for a, t in takes.items()))
    cfgs: dict[str, SAEConfig] = {}
    for a, kk, w, s in itertools.product(names, _seq(k), _seq(width), _seq(seed)):
        settings: dict[str, Any] = {"d_in": d_in, "d_sae": int(w), "seed": int(s),
                                    "provenance": provenance or Provenance()}
        if kk is not None and "k" in takes[a]:
            settings["k"] = int(kk)
        if l1_coeff is not None and "l1_coeff" in takes[a]:
            settings["l1_coeff"] = float(l1_coeff)
        cfg = make_config(a, **settings)
        cfgs.setdefault(cfg.name, cfg)
    return list(cfgs.values())


def train(
    store: PathLike | ActivationStore,
    *,
    layer: int,
    out: PathLike,
    tokens: int,
    architecture: str | Sequence[str] = "topk",
    k: int | Sequence[int] | None = None,
    width: int | Sequence[int] = 4096,
    seed: int | Sequence[int] = 0,
    batch_size: int = 4096,
    lr: float = 2e-3,
    l1_coeff: float | None = None,
    heldout_fraction: float = 0.1,
    checkpoint_every: int = 500,
    device: str = "cpu",
    data_seed: int = 0,
    warn_epochs: float = 10.0,
    allow_partial: bool = False,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train one SAE, or a sweep of SAEs from one pass over a store's layer; resumes an interrupted run.

    Parameters
    ----------
    store
        Activation store (folder or opened).
    layer
        Store layer to train on.
    out
        Output folder: the SAE itself for one SAE, one sub-folder per SAE (named by its config) for a sweep.
    tokens
        Training tokens (activation rows) per SAE.
    architecture, k, width, seed
        One value each, or lists: their product is the sweep (see :func:`sweep_configs`).
    batch_size, lr
        Rows per step, peak Adam learning rate.
    l1_coeff
        L1 coefficient of ReLU SAEs (default 5).
    heldout_fraction
        Fraction of sequences kept out of training (by a hash of the sequence ID, so evaluation finds them).
    checkpoint_every
        Steps between resumable checkpoints.
    device
        ``cpu`` or ``cuda``.
    data_seed
        Seed of the data order.
    warn_epochs
        Warn when ``tokens`` means more passes than this over the training rows.
    allow_partial
        Train on an unfinished store (recorded in every SAE's config).
    progress
        Progress bar with live loss, L0 and dead fraction.
    report
        Called with the plan (rows, passes) and any warning, before training (default: warnings only, as
        Python warnings).

    Returns
    -------
    TrainResult
        The SAEs, their folders, the token budget (``budget.epochs`` passes), held-out rows and, for
        sweeps over seeds, the stability rows (also written to ``out/stability.json``).
    """
    opened = store if isinstance(store, ActivationStore) else ActivationStore(store, partial=allow_partial)
    split = StoreSplit(opened, layer, heldout_fraction=heldout_fraction)
    prov = split.provenance()
    d_in = opened.config.hidden_size
    cfgs = sweep_configs(architecture, d_in=d_in, k=k, width=width, seed=seed, l1_coeff=l1_coeff, provenance=prov)
    config = TrainConfig(total_tokens=tokens, batch_size=batch_size, lr=lr, seed=data_seed, device=device,
                         checkpoint_every=checkpoint_every)
    n_train, n_held = split.n_rows()
    if n_train == 0:
        raise ConfigError("no training rows left after holding out sequences", hint="lower --heldout-fraction")
    budget = TokenBudget(tokens, n_train)
    warning = budget.warning(max_epochs=warn_epochs)
    if report is not None:
        report(f"{len(cfgs)} SAE(s) on layer {layer}: {n_train:,} training rows, {n_held:,} held out; "
               f"{budget.describe()}")
        if warning:
            report(f"genolens: warning: {warning}")
    elif warning:
        warnings.warn(warning, stacklevel=2)
    out = Path(out)
    single = len(cfgs) == 1
    record = {"epochs": budget.epochs, "train_rows": n_train, "store": opened.provenance()}
    saes = train_saes(split.train_batches(batch_size=batch_size, seed=data_seed), cfgs, config, out,
                      progress=progress, single=single, record=record)
    stability = seed_stability(saes)
    if stability:
        write_json(out / "stability.json", stability)
    return TrainResult(saes=saes, paths=[sae_dir(out, s.cfg.name, single=single) for s in saes], budget=budget,
                       n_heldout_rows=n_held, stability=stability, warning=warning)


def evaluate_on_store(
    sae: PathLike | SparseAutoencoder,
    store: PathLike | ActivationStore,
    *,
    heldout_fraction: float = 0.1,
    model: str | None = None,
    sequences: PathLike | None = None,
    max_sequences: int = 64,
    device: str = "cpu",
    out: PathLike | None = None,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Judge an SAE on its store's held-out sequences; optionally the model loss it preserves.

    Parameters
    ----------
    sae
        SAE folder or loaded SAE; its model and layer must match the store's.
    store
        The store it was trained on.
    heldout_fraction
        The fraction given to :func:`train` (the same sequences are held out).
    model
        Model name or path: also splice the SAE into the model and measure loss recovered.
    sequences
        FASTA for loss recovered (default: the store's own bases; needed for stores before format 0.3.0).
    max_sequences
        Held-out sequences used for loss recovered.
    device
        ``cpu`` or ``cuda``.
    out
        Where to write the metrics JSON and, beside it, the density histogram (default: ``SAE/eval.json``
        for an SAE folder; nothing is written for an SAE object without ``out``).
    allow_partial
        Evaluate on an unfinished store (recorded).

    Returns
    -------
    dict
        ``tokens, mse, fve, l0, dead_fraction, dense_fraction`` and more (:class:`SAEMetrics`), the store's
        completeness, and ``loss_recovered`` with ``model``; :func:`read_evaluation` reads the JSON back.
    """
    loaded = sae if isinstance(sae, SparseAutoencoder) else load_sae(sae, device=device)
    layer = loaded.cfg.provenance.layer
    if sequences is not None and model is None:
        raise ConfigError("--sequences is for the loss-recovered check, which needs --model too")
    if model is not None:  # refuse a mismatched model before any work
        check_compatible(loaded, Provenance(model=model, layer=layer), what=f"model {model}")
    activations = store if isinstance(store, ActivationStore) else ActivationStore(store, partial=allow_partial)
    if model is not None and sequences is None and not activations.has_bases:
        raise ConfigError(
            f"the store (format {activations.version}) keeps no bases: loss recovered needs --sequences FASTA",
            path=activations.path, hint="pass the FASTA the store was embedded from, or re-embed it with this genolens",
        )
    split = StoreSplit(activations, layer, heldout_fraction=heldout_fraction)
    check_compatible(loaded, split.provenance(), what=f"store {activations.path}")
    if split.n_rows()[1] == 0:
        raise ConfigError(
            f"no held-out sequences in {activations.path} at --heldout-fraction {heldout_fraction}",
            hint="use the fraction given to train-sae; tiny stores need a larger fraction",
        )
    metrics = evaluate_sae(loaded, split.heldout_batches(), device=device)
    result = {"sae": str(sae) if not isinstance(sae, SparseAutoencoder) else loaded.cfg.name,
              "store": str(activations.path), "store_complete": activations.complete,
              "store_shards": activations.n_shards, "layer": layer, **metrics.to_dict()}
    if model is not None:
        from genolens.sae.splice import loss_recovered

        result["loss_recovered"] = loss_recovered(
            loaded, model=model, fasta=sequences,
            sequences=activations.bases_by_id() if sequences is None else None, max_sequences=max_sequences,
            device=device, heldout_fraction=heldout_fraction,
        ).to_dict()
    if out is None and not isinstance(sae, SparseAutoencoder):
        out = Path(sae) / "eval.json"
    if out is not None:
        out = Path(out)
        density_histogram(metrics.density, out.with_suffix(".density.png"), title=loaded.cfg.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, result)
    return result


def read_evaluation(path: PathLike) -> dict[str, Any]:
    """The metrics ``genolens eval-sae`` wrote (an SAE folder's ``eval.json``, or the JSON itself).

    Parameters
    ----------
    path
        An SAE folder or an evaluation JSON.

    Returns
    -------
    dict
        The metrics, as :func:`evaluate_on_store` returned them.
    """
    from genolens.errors import InputFileError, InputFormatError

    p = Path(path)
    if p.is_dir():
        p = p / "eval.json"
    if not p.is_file():
        raise InputFileError("no SAE evaluation here", path=p, hint="make one with 'genolens eval-sae'")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"not valid JSON: {exc}", path=p) from None
