"""The typer application that every sub-command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="genolens",
    help="Open up genomic and protein foundation models: sequences, activations, SAEs, features, statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
