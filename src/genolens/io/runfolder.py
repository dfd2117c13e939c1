"""The header of a genolens output folder: one JSON file that says what the folder holds.

Every run folder (association, audit, cis, baseline, annotation, tracks, variant effects, ISM, ablation,
steering) carries a JSON file whose first keys are the same everywhere, as anndata's elements carry theirs:

- ``encoding-type``: what the folder is (``genolens-association``, ``genolens-ablation``, ...);
- ``encoding-version``: the version of that layout;
- ``genolens_version``: the genolens that wrote it;

followed by the run's own settings and counts. :func:`write_header` writes it and :func:`read_header` reads it
back, refusing a folder of another kind with one clear message. Readers dispatch on ``encoding-type``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from genolens.errors import InputFileError, InputFormatError
from genolens.io.files import write_json

TYPE_KEY = "encoding-type"
VERSION_KEY = "encoding-version"
WRITER_KEY = "genolens_version"


def write_header(path: str | os.PathLike[str], *, encoding: str, version: str, **fields: Any) -> Path:
    """Write a folder's header file: the three header keys, then ``fields``.

    Parameters
    ----------
    path
        The JSON file (its folder must exist).
    encoding
        What the folder is (``encoding-type``).
    version
        The version of its layout (``encoding-version``).
    **fields
        The run's settings and counts (JSON-ready through :func:`genolens.io.files.json_ready`).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from genolens import __version__

    return write_json(path, {TYPE_KEY: encoding, VERSION_KEY: version, WRITER_KEY: __version__, **fields})


def read_header(path: str | os.PathLike[str], *, encoding: str, command: str, what: str | None = None,
                untyped_ok: bool = False) -> dict[str, Any]:
    """Read a folder's header file and check what the folder is.

    Parameters
    ----------
    path
        The JSON file.
    encoding
        The ``encoding-type`` expected.
    command
        The ``genolens`` command that writes such folders (for the messages).
    what
        The folder's kind in words (``"annotation"``); the command's name when not given.
    untyped_ok
        Accept a file without ``encoding-type`` (folders written before their layout was versioned).

    Returns
    -------
    dict
        The whole header (the three header keys and the run's fields).

    Raises
    ------
    InputFileError
        The file is missing (not a folder of this kind).
    InputFormatError
        The file is not JSON, or says the folder is of another kind.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"not a genolens {what or command} folder (no {path.name})", path=path.parent,
                             hint=f"make one with 'genolens {command}'")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{path.name} is not valid JSON: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise InputFormatError(f"{path.name} does not hold a JSON object", path=path)
    found = data.get(TYPE_KEY, encoding if untyped_ok else None)
    if found != encoding:
        raise InputFormatError(f"expected {TYPE_KEY} {encoding!r}, found {found!r}", path=path,
                               hint=f"this is not the output of 'genolens {command}'")
    return data
