"""``genolens train-sae`` and ``genolens eval-sae``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app
from genolens.cli.options import comma_list, typed_list
from genolens.sae.config import ARCHITECTURES, options

ARCH_HELP = "Settings: " + "; ".join(f"{a}: {', '.join(options(a)) or '-'}" for a in ARCHITECTURES) + "."


@app.command("train-sae")
def train_sae(
    store: Path = typer.Option(..., help="Activation store written by `genolens embed`."),
    layer: int = typer.Option(..., help="Layer of the store to train on."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one SAE, or one sub-folder per SAE of a sweep)."),
    arch: str = typer.Option("topk", help=f"{' | '.join(ARCHITECTURES)}; comma list = sweep. {ARCH_HELP}"),
    k: str | None = typer.Option(
        None, help="Active latents per token (target L0 for jumprelu; default 32); comma list = sweep."
    ),
    width: str = typer.Option("4096", help="Dictionary size d_sae; comma list = sweep."),
    seeds: str = typer.Option("0", help="Initialisation seeds; comma list = sweep (feature stability)."),
    tokens: int = typer.Option(..., help="Training tokens (activation rows) per SAE."),
    batch_size: int = typer.Option(4096, help="Rows per step."),
    lr: float = typer.Option(2e-3, help="Peak learning rate (Adam); lower it for runs of 100M+ tokens."),
    l1_coeff: float | None = typer.Option(None, help="ReLU SAE: L1 coefficient (default 5)."),
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
    from genolens.sae.sweep import train

    result = train(
        store, layer=layer, out=out, tokens=tokens, architecture=comma_list(arch),
        k=None if k is None else typed_list(k, int, "--k"), width=typed_list(width, int, "--width"),
        seed=typed_list(seeds, int, "--seeds"),
        batch_size=batch_size, lr=lr, l1_coeff=l1_coeff, heldout_fraction=heldout_fraction,
        checkpoint_every=checkpoint_every, device=device, data_seed=seed, warn_epochs=warn_epochs,
        allow_partial=allow_partial, progress=progress, report=lambda line: typer.echo(line, err=True),
    )
    for sae, path in zip(result.saes, result.paths, strict=True):
        typer.echo(f"saved {sae.cfg.name} to {path}", err=True)
    for row in result.stability:
        typer.echo(f"stability {row['a']} vs {row['b']}: {row['matched_fraction']:.1%} of latents matched "
                   f"(decoder cosine > {row['threshold']})", err=True)


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
    from genolens.sae.sweep import evaluate_on_store

    result = evaluate_on_store(sae, store, heldout_fraction=heldout_fraction, model=model, sequences=sequences,
                               max_sequences=max_sequences, device=device, out=out, allow_partial=allow_partial)
    typer.echo(json.dumps(result, indent=2))
