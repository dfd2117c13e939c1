"""``genolens train-sae`` and ``genolens eval-sae``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app
from genolens.errors import ConfigError


def _list(text: str, kind: type, option: str) -> list:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{option} takes a comma-separated list, got {text!r}") from None


@app.command("train-sae")
def train_sae(
    store: Path = typer.Option(..., help="Activation store written by `genolens embed`."),
    layer: int = typer.Option(..., help="Layer of the store to train on."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one SAE, or one sub-folder per SAE of a sweep)."),
    arch: str = typer.Option("topk", help="topk | batchtopk | matryoshka | relu | jumprelu; comma list = sweep."),
    k: str = typer.Option("32", help="Active latents per token (target L0 for jumprelu); comma list = sweep."),
    width: str = typer.Option("4096", help="Dictionary size d_sae; comma list = sweep."),
    seeds: str = typer.Option("0", help="Initialisation seeds; comma list = sweep (feature stability)."),
    tokens: int = typer.Option(..., help="Training tokens (activation rows) per SAE."),
    batch_size: int = typer.Option(4096, help="Rows per step."),
    lr: float = typer.Option(2e-3, help="Peak learning rate (Adam); lower it for runs of 100M+ tokens."),
    l1_coeff: float = typer.Option(5.0, help="ReLU SAE: L1 coefficient."),
    heldout_fraction: float = typer.Option(0.1, help="Fraction of sequences kept out of training."),
    checkpoint_every: int = typer.Option(500, help="Steps between resumable checkpoints."),
    device: str = typer.Option("cpu", help="cpu | cuda."),
    seed: int = typer.Option(0, help="Data-order seed."),
    progress: bool = typer.Option(True, help="Progress bar with live loss, L0 and dead fraction."),
    warn_epochs: float = typer.Option(
        10.0, "--warn-epochs", help="Warn when --tokens means more passes than this over the training rows."
    ),
    allow_partial: bool = allow_partial_option(),
) -> None:
    """Train one SAE, or a sweep of SAEs from one pass over the store; resumes an interrupted run."""
    from genolens.sae.config import SAEConfig, TrainConfig
    from genolens.sae.data import StoreSplit, TokenBudget
    from genolens.sae.trainer import sae_dir, train_saes
    from genolens.store.reader import ActivationStore

    split = StoreSplit(ActivationStore(store, partial=allow_partial), layer, heldout_fraction=heldout_fraction)
    d_in = split.store.config.hidden_size
    prov = split.provenance()
    grid = itertools.product(
        arch.split(","), _list(k, int, "--k"), _list(width, int, "--width"), _list(seeds, int, "--seeds")
    )
    cfgs = [
        SAEConfig(architecture=a.strip(), d_in=d_in, d_sae=w, k=kk, seed=s, l1_coeff=l1_coeff, provenance=prov)
        for a, kk, w, s in grid
    ]
    train = TrainConfig(total_tokens=tokens, batch_size=batch_size, lr=lr, seed=seed, device=device,
                        checkpoint_every=checkpoint_every)
    n_train, n_held = split.n_rows()
    if n_train == 0:
        raise ConfigError("no training rows left after holding out sequences", hint="lower --heldout-fraction")
    budget = TokenBudget(tokens, n_train)
    typer.echo(f"{len(cfgs)} SAE(s) on layer {layer}: {n_train:,} training rows, {n_held:,} held out; "
               f"{budget.describe()}", err=True)
    warning = budget.warning(max_epochs=warn_epochs)
    if warning:
        typer.echo(f"genolens: warning: {warning}", err=True)
    batches = split.train_batches(batch_size=batch_size, seed=seed)
    single = len(cfgs) == 1
    record = {"epochs": budget.epochs, "train_rows": n_train, "store": split.store.provenance()}
    saes = train_saes(batches, cfgs, train, out, progress=progress, single=single, record=record)
    for sae in saes:
        typer.echo(f"saved {sae.cfg.name} to {sae_dir(out, sae.cfg.name, single=single)}", err=True)
    stability = _seed_stability(saes)
    if stability:
        (out / "stability.json").write_text(json.dumps(stability, indent=2))
        for row in stability:
            typer.echo(f"stability {row['a']} vs {row['b']}: {row['matched_fraction']:.1%} of latents matched "
                       f"(decoder cosine > {row['threshold']})", err=True)


def _seed_stability(saes: list) -> list[dict]:
    """For SAEs that differ only in seed: fraction of latents with a match (cosine > 0.9) in the other run."""
    from dataclasses import replace

    from genolens.sae.evaluate import feature_stability

    groups: dict[tuple, list] = {}
    for sae in saes:
        key = tuple(sorted(replace(sae.cfg, seed=0, name="").to_dict().items(), key=lambda kv: kv[0]))
        groups.setdefault(repr(key), []).append(sae)
    rows = []
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            rows.append({"a": a.cfg.name, "b": b.cfg.name, "threshold": 0.9,
                         "matched_fraction": feature_stability(a, b),
                         "matched_fraction_reverse": feature_stability(b, a)})
    return rows


@app.command("eval-sae")
def eval_sae(
    sae: Path = typer.Option(..., help="SAE folder (cfg.json + sae_weights.safetensors)."),
    store: Path = typer.Option(..., help="Activation store with the SAE's layer."),
    out: Path | None = typer.Option(None, help="Metrics JSON (default: SAE/eval.json; histogram beside it)."),
    heldout_fraction: float = typer.Option(0.1, help="Must equal the value used for training."),
    model: str | None = typer.Option(None, help="Model name/path: also measure loss recovered."),
    sequences: Path | None = typer.Option(
        None, help="FASTA for the loss-recovered check (default: the store's own bases; needed for stores "
        "older than format 0.3.0)."
    ),
    max_sequences: int = typer.Option(64, help="Sequences used for loss recovered."),
    device: str = typer.Option("cpu", help="cpu | cuda."),
    allow_partial: bool = allow_partial_option(),
) -> None:
    """Held-out MSE, variance explained, L0, dead and dense latents, density histogram, loss recovered."""
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.sae.config import Provenance
    from genolens.sae.data import StoreSplit
    from genolens.sae.evaluate import density_histogram, evaluate_sae
    from genolens.store.reader import ActivationStore

    model_sae = load_sae(sae, device=device)
    layer = model_sae.cfg.provenance.layer
    if sequences is not None and model is None:
        raise ConfigError("--sequences is for the loss-recovered check, which needs --model too")
    if model is not None:  # refuse a mismatched model before any work
        check_compatible(model_sae, Provenance(model=model, layer=layer), what=f"model {model}")
    activations = ActivationStore(store, partial=allow_partial)
    if model is not None and sequences is None and not activations.has_bases:
        raise ConfigError(
            f"the store (format {activations.version}) keeps no bases: loss recovered needs --sequences FASTA",
            path=store, hint="pass the FASTA the store was embedded from, or re-embed it with this genolens",
        )
    split = StoreSplit(activations, layer, heldout_fraction=heldout_fraction)
    check_compatible(model_sae, split.provenance(), what=f"store {store}")
    if split.n_rows()[1] == 0:
        raise ConfigError(
            f"no held-out sequences in {store} at --heldout-fraction {heldout_fraction}",
            hint="use the fraction given to train-sae; tiny stores need a larger fraction",
        )
    metrics = evaluate_sae(model_sae, split.heldout_batches(), device=device)
    result = {"sae": str(sae), "store": str(store), "store_complete": activations.complete,
              "store_shards": activations.n_shards, "layer": layer, **metrics.to_dict()}
    out = out or sae / "eval.json"
    density_histogram(metrics.density, out.with_suffix(".density.png"), title=model_sae.cfg.name)
    if model is not None:
        from genolens.sae.splice import loss_recovered

        result["loss_recovered"] = loss_recovered(
            model_sae, model=model, fasta=sequences,
            sequences=activations.bases_by_id() if sequences is None else None, max_sequences=max_sequences,
            device=device, heldout_fraction=heldout_fraction,
        ).to_dict()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    typer.echo(json.dumps(result, indent=2))
