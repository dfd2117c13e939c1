"""Command-line interface: ``genolens <command>``.

Library code raises typed :mod:`genolens.errors`; only here are they turned
into exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

try:  # newer typer ships its own copy of click, whose exceptions are not click's
    from typer._click import echo
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - typer built on click itself
    from click import ClickException, echo

from genolens.cli.app import app
from genolens.errors import GenolensError

# Each module registers its commands on ``app`` when imported.
COMMAND_MODULES = [
    "genolens.cli.associate",
    "genolens.cli.baseline",
    "genolens.cli.audit",
    "genolens.cli.embed",
    "genolens.cli.sequences",
    "genolens.cli.samples",
    "genolens.cli.sae",
    "genolens.cli.aggregate",
    "genolens.cli.ancestry",
    "genolens.cli.report",
    "genolens.cli.annotate",
    "genolens.cli.dashboard",
    "genolens.cli.track",
    "genolens.cli.check",
    "genolens.cli.probe",
    "genolens.cli.erase",
    "genolens.cli.monitor",
    "genolens.cli.variant_effects",
    "genolens.cli.ism",
    "genolens.cli.ablate",
]

EXIT_BAD_INPUT = 2

def _load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return its exit status (tests call this)."""
    _load_commands()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="genolens", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except ClickException as exc:
        exc.show()
        return exc.exit_code
    except typer.Abort:
        echo("genolens: aborted", err=True)
        return 1
    except GenolensError as exc:
        echo(f"genolens: error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        echo(f"genolens: error: {exc.filename}: {exc.strerror}", err=True)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. a hub id that cannot be fetched offline, a full disk
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        echo(f"genolens: error: {first}", err=True)
        return EXIT_BAD_INPUT
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point of the ``genolens`` console script."""
    sys.exit(run())
