"""``genolens check``: verify a store or an SAE on disk (every byte read once)."""

from __future__ import annotations

from pathlib import Path

import typer

from genolens.cli.app import allow_partial_option, app


@app.command("check")
def check(
    path: Path = typer.Argument(..., help="An activation store folder or an SAE folder."),
    allow_partial: bool = allow_partial_option(),
) -> None:
    """Verify an activation store (shards whole, tables consistent, checksums) or an SAE (weights whole, shapes)."""
    from genolens.sae.check import check_artifact

    result = check_artifact(path, partial=allow_partial)
    typer.echo(f"{result.path}: ok: {result.summary}")
