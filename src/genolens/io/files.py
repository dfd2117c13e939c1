"""Opening input and output files: plain or gzip/bgzip, with errors that name the file."""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from genolens.errors import InputFileError, InputFormatError

GZIP_MAGIC = b"\x1f\x8b"


def require_file(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """Return ``path`` as a Path, raising :class:`InputFileError` if it is not a readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} does not exist", path=p)
    if p.is_dir():
        raise InputFileError(f"expected a {what}, found a directory", path=p)
    if not os.access(p, os.R_OK):
        raise InputFileError(f"{what} is not readable (permissions)", path=p)
    if p.stat().st_size == 0:
        raise InputFileError(f"{what} is empty", path=p)
    return p


def output_folder(path: str | os.PathLike[str]) -> Path:
    """Create an output folder (parents too) and return it; a file in its place is an error.

    Parameters
    ----------
    path
        The folder to create, or to reuse when it exists.

    Returns
    -------
    Path
        ``path`` as a Path.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputFileError("output path exists and is not a folder", path=out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def is_gzipped(path: str | os.PathLike[str]) -> bool:
    """True if the file starts with the gzip magic bytes (gzip and bgzip alike)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


@contextmanager
def open_text(path: str | os.PathLike[str], *, what: str = "file") -> Iterator[IO[str]]:
    """Open a plain or gzip-compressed text file for reading.

    A UTF-8 byte-order mark at the start (spreadsheet exports) is dropped.
    Decoding and decompression errors are re-raised as genolens errors naming
    the file: a truncated gzip stream is an :class:`InputFileError`, binary or
    non-UTF-8 content an :class:`InputFormatError`.
    """
    p = require_file(path, what=what)
    raw: IO[bytes] = gzip.open(p, "rb") if is_gzipped(p) else open(p, "rb")  # noqa: SIM115
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None)  # -sig: a leading byte-order mark is dropped
    try:
        yield text
    except EOFError as exc:
        raise InputFileError(
            "compressed stream ends before its end-of-stream marker", path=p, hint="file truncated?"
        ) from exc
    except gzip.BadGzipFile as exc:
        raise InputFileError(f"corrupt gzip data ({exc})", path=p) from exc
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"not a text file: byte 0x{exc.object[exc.start]:02x} is not UTF-8", path=p,
            hint=f"is this a binary file rather than a {what}?",
        ) from exc
    finally:
        text.close()


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and move it into place only on success.

    A crash or an error part-way never leaves a half-written output behind.
    Paths ending in ``.gz`` are gzip-compressed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        binary = "b" in mode
        if target.suffix == ".gz":
            fh = gzip.open(  # noqa: SIM115
                tmp, "wb" if binary else "wt", compresslevel=6, encoding=None if binary else "utf-8"
            )
        else:
            fh = open(tmp, mode, encoding=None if binary else "utf-8")  # noqa: SIM115
        with fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs get the usual permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_ready(value: Any) -> Any:
    """Nested dicts/lists of plain Python values: numpy scalars unwrapped, NaN/inf as strings, None as ''.

    The form both JSON files and AnnData's ``uns`` (h5ad) accept.

    Parameters
    ----------
    value
        A dict, list, tuple or scalar (numpy or Python), nested to any depth.

    Returns
    -------
    object
        The same structure with JSON-safe values; other objects are returned as they are.
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if value is None:
        return ""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # a numpy (or torch) scalar
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return value


def write_json(path: str | os.PathLike[str], data: Any, *, indent: int = 2) -> Path:
    """Write ``data`` as JSON, atomically, through :func:`json_ready` (other objects as their ``str``).

    Parameters
    ----------
    path
        The file to write (its folder must exist).
    data
        What to write.
    indent
        Indentation of the JSON text.

    Returns
    -------
    Path
        The file written.
    """
    with atomic_write(path) as fh:
        fh.write(json.dumps(json_ready(data), indent=indent, default=str) + "\n")
    return Path(path)
