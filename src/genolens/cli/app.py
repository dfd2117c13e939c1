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


def allow_partial_option() -> bool:
    """The ``--allow-partial`` option of every command that reads a store."""
    return typer.Option(
        False, "--allow-partial",
        help="Use an unfinished store (only the shards written so far); recorded in the output's provenance.",
    )
