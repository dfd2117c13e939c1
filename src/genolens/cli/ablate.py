"""``genolens ablate`` and ``genolens steer``: what a feature does to the model, measured."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list, int_list


@app.command("ablate")
def ablate_command(
    model: str = typer.Option(..., "--model", help="Model short name, hub id or folder (the SAE's model)."),
    sae: Path = typer.Option(..., "--sae", help="SAE folder trained on this model (its layer is edited)."),
    features: str = typer.Option("all", "--features", help="Features to ablate, e.g. '3,17', or 'all' (live)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (ablation.tsv, ablation.json, tracks/)."),
    fasta: Path | None = typer.Option(None, "--input", "-i", help="FASTA of sequences to score."),
    store: Path | None = typer.Option(None, "--store", help="Or an activation store of this model (its bases)."),
    sequences: str | None = typer.Option(None, "--sequences", help="Only these sequence IDs (comma-separated)."),
    max_sequences: int | None = typer.Option(None, "--max-sequences", help="At most this many sequences."),
    tracks: str | None = typer.Option(None, "--tracks", help="Sequence IDs whose per-base loss change is written."),
    mask_fraction: float = typer.Option(0.15, "--mask-fraction", help="Masked models: fraction masked."),
    seed: int = typer.Option(0, "--seed", help="Seed of the masked positions."),
    method: str = typer.Option("batched", "--method", help="'batched' (one copy per feature) or 'loop'."),
    batch_tokens: int = typer.Option(8192, "--batch-tokens", help="Token slots per forward pass."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Zero SAE features in the model's layer (error term kept) and report each one's loss change."""
    from genolens.interventions.ablate import AblateConfig
    from genolens.tl import ablate

    chosen = None if features.strip().lower() == "all" else list(int_list(features, "--features"))
    config = AblateConfig(mask_fraction=mask_fraction, seed=seed, batch_tokens=batch_tokens, method=method)
    result = ablate(model, sae=sae, fasta=fasta, store=store, features=chosen, sequences=comma_list(sequences) or (),
                    max_sequences=max_sequences, track_sequences=comma_list(tracks) or (), config=config, out=out,
                    device=device, progress=not quiet)
    typer.echo(f"{len(result.table)} features ablated on {result.meta['n_sequences']} sequences "
               f"({result.meta['n_scored']} scored tokens, clean loss {result.meta['clean_loss']:.4f}) -> {out}",
               err=True)


@app.command("steer")
def steer_command(
    model: str = typer.Option(..., "--model", help="Model short name, hub id or folder (the SAE's model)."),
    sae: Path = typer.Option(..., "--sae", help="SAE folder trained on this model."),
    feature: int = typer.Option(..., "--feature", help="The feature steered."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (TSVs, tracks/, plots)."),
    scale: float | None = typer.Option(None, "--scale", help="Add SCALE x the feature's raw decoder row."),
    clamp: float | None = typer.Option(None, "--clamp", help="Or set the feature's activation to this value."),
    positions: str | None = typer.Option(None, "--positions", help="0-based base positions steered "
                                         "(comma-separated; default: everywhere)."),
    normalize: bool = typer.Option(False, "--normalize", help="--scale multiplies the unit-norm direction."),
    fasta: Path | None = typer.Option(None, "--input", "-i", help="FASTA of sequences."),
    store: Path | None = typer.Option(None, "--store", help="Or an activation store of this model (its bases)."),
    sequences: str | None = typer.Option(None, "--sequences", help="Only these sequence IDs (comma-separated)."),
    max_sequences: int | None = typer.Option(None, "--max-sequences", help="At most this many sequences."),
    later_sae: Path | None = typer.Option(None, "--later-sae", help="SAE of a later layer: its features' change."),
    probes: list[Path] = typer.Option([], "--probe", help="Probe folder (raw activations); repeatable."),
    batch_tokens: int = typer.Option(8192, "--batch-tokens", help="Padded tokens per forward pass."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
) -> None:
    """Add a feature's decoder direction (or clamp it) at its layer and report what the model predicts."""
    from genolens.interventions.steer import SteerConfig
    from genolens.tl import steer

    where = None if positions is None else int_list(positions, "--positions")
    config = SteerConfig(scale=scale, clamp=clamp, positions=where, normalize=normalize, batch_tokens=batch_tokens)
    result = steer(model, sae=sae, feature=feature, config=config, fasta=fasta, store=store,
                   sequences=comma_list(sequences) or (), max_sequences=max_sequences, later_sae=later_sae,
                   probes=probes, out=out, device=device)
    typer.echo(f"feature {feature} steered on {result.meta['n_sequences']} sequences "
               f"({len(result.positions)} positions scored) -> {out}", err=True)
