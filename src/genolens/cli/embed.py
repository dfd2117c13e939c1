"""``genolens embed``: run a model over sequences and write their activations to a store."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from genolens.cli.app import app
from genolens.cli.options import comma_list
from genolens.errors import ConfigError


def parse_layers(text: str) -> list[int]:
    """``"4,8"`` / ``"2-4"`` / ``"-1"`` -> layer indices (negatives count from the last layer)."""
    layers: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = part[0] + part[1:].split("-", 1)[0], part[1:].split("-", 1)[1]
                layers.extend(range(int(lo), int(hi) + 1))
            else:
                layers.append(int(part))
        except ValueError:
            raise ConfigError(f"--layers expects integers like '4,8' or '2-6', got {text!r}") from None
    return layers


@app.command("embed")
def embed(
    model: str = typer.Option(..., "--model", help="Short name (antiberty, hyenadna-tiny), hub id or folder."),
    layers: str = typer.Option(..., "--layers", help="Layers to store, e.g. '4,8', '2-6' or '-1' (0 = embeddings)."),
    out: Path = typer.Option(..., "--out", help="Store folder (created; an interrupted run resumes)."),
    fasta: Path | None = typer.Option(
        None, "--input", help="FASTA of DNA or protein sequences (a NAME.coords.tsv sidecar restores coordinates)."
    ),
    reference: Path | None = typer.Option(None, "--reference", help="Indexed reference FASTA."),
    vcf: Path | None = typer.Option(None, "--vcf", help="Phased VCF: embed personal haplotypes."),
    regions: list[str] = typer.Option([], "--regions", help="BED file or chr:start-end (repeatable)."),
    samples: list[str] = typer.Option([], "--sample", help="VCF samples to use (repeatable; default all)."),
    n_policy: str = typer.Option(
        "error", "--n-policy", help="Regions whose reference holds N: error | skip | trim | keep (see sequences)."
    ),
    max_n_fraction: float = typer.Option(0.0, "--max-n-fraction", help="Regions with at most this N fraction pass."),
    n_min_length: int = typer.Option(100, "--n-min-length", help="With --n-policy trim: shortest stretch kept."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    dtype: str = typer.Option("float32", "--dtype", help="float32, or bfloat16 (autocast; stored as bfloat16)."),
    batch_tokens: int = typer.Option(8192, "--batch-tokens", help="Padded tokens per forward pass."),
    shard_size: int = typer.Option(
        100_000, "--shard-size", help="Bases (residues) per shard; memory ~ shard size x width x layers."
    ),
    overlap: int | None = typer.Option(None, "--overlap", help="Tiling overlap in bases (default window/4)."),
    trust_remote_code: bool = typer.Option(
        False, "--trust-remote-code", help="Allow running model code from the checkpoint (optional families)."
    ),
    condition: str | None = typer.Option(
        None, "--condition", help="Conditioning tags before every sequence, e.g. '[LIGHT],[HUMAN]' (IgLM)."
    ),
    probe: list[Path] = typer.Option(
        [], "--probe", help="Probe folder scoring a stored layer as it is embedded (repeatable): OUT/probes/."
    ),
    erase: list[Path] = typer.Option(
        [], "--erase", help="Per-token eraser folder (genolens erase --store) applied in the forward pass."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Embed sequences with a model and write per-token activations to a sharded store."""
    from genolens.io.gaps import GapPolicy
    from genolens.store.embed import embed_inputs

    start = time.perf_counter()
    kwargs = dict(
        layers=parse_layers(layers), out=out, fasta=fasta, reference=reference, vcf=vcf, regions=regions,
        samples=samples, gaps=GapPolicy(action=n_policy, max_n_fraction=max_n_fraction, min_length=n_min_length),  # type: ignore[arg-type]
        device=device, dtype=dtype, batch_tokens=batch_tokens, shard_size=shard_size,
        overlap=overlap, trust_remote_code=trust_remote_code, condition=comma_list(condition),
        progress=not quiet, notes=None if quiet else lambda note: typer.echo(f"genolens: note: {note}", err=True),
    )
    if probe or erase:
        from genolens.probes.sidecar import embed_with_sidecars

        summary, scores = embed_with_sidecars(model, probes=probe, erasers=erase, **kwargs)  # type: ignore[arg-type]
        if scores is not None and not quiet:
            typer.echo(f"probe scores of {scores.scores['id'].nunique()} sequences -> {out}/probes/scores.tsv",
                       err=True)
    else:
        summary = embed_inputs(model, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    if not quiet:
        typer.echo(
            f"{summary.sequences:,} sequences ({summary.shards_written} shards written, "
            f"{summary.shards_skipped} already done), {summary.real_tokens:,} tokens in {elapsed:.1f} s "
            f"({summary.real_tokens / max(elapsed, 1e-9):,.0f} tokens/s), padding waste "
            f"{summary.padding_waste:.1%} -> {out}", err=True,
        )


@app.command("merge-stores")
def merge_stores_command(
    stores: list[Path] = typer.Argument(..., help="Finished stores, in order."),
    out: Path = typer.Option(..., "--out", help="New store folder."),
) -> None:
    """Gather stores embedded in parallel (one per input shard) into one store."""
    from genolens.store.merge import merge_stores

    n_shards, n_seqs = merge_stores(list(stores), out)
    typer.echo(f"merged {len(stores)} stores: {n_shards} shards, {n_seqs} sequences -> {out}", err=True)
