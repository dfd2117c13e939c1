"""The genolens Snakemake workflow, shipped inside the package.

The Snakefile, its ``rules/*.smk`` and ``schemas/`` live in this folder (``pipelines/workflow`` in the
repository is a symlink to it), so an installed genolens carries the workflow and a user's own Snakefile
can use it without copying files::

    import genolens.workflow

    configfile: "config.yaml"

    module genolens:
        snakefile: genolens.workflow.snakefile()
        config: config

    use rule * from genolens as genolens_*

The rules only call the ``genolens`` command line; all logic stays in the tested package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from genolens.errors import InputFileError

__all__ = ["snakefile", "workflow_dir"]


def workflow_dir() -> Path:
    """Folder holding ``Snakefile``, ``rules/`` and ``schemas/`` of the installed workflow.

    Resolved through :mod:`importlib.resources`, so it works for editable and regular installs
    (the package is installed as plain files, never zipped: Snakemake needs real paths).
    """
    resource = files(__name__)
    folder = Path(str(resource))
    if not isinstance(resource, Path) or not (folder / "Snakefile").is_file():
        raise InputFileError(
            "the genolens workflow has no Snakefile",
            path=folder,
            hint="the installed package lacks its package data, or is zipped; reinstall genolens from a wheel",
        )
    return folder


def snakefile() -> str:
    """Path of the workflow's ``Snakefile`` as a string, for ``module ...: snakefile:``."""
    return str(workflow_dir() / "Snakefile")
