"""Check a safetensors file before trusting it: whole, the size its header says, and its checksum.

A safetensors file is an 8-byte little-endian header length ``n``, ``n`` bytes of JSON
(tensor name -> dtype, shape, ``data_offsets`` into the data section; ``__metadata__``
-> strings) and the data section. :func:`read_header` reads only the header and
the file's size, so it is cheap enough to run on every open; it turns what the
safetensors library would report as a ``SafetensorError`` traceback (a file cut short,
bytes appended, a damaged header) into an :class:`~genolens.errors.InputFileError` or
:class:`~genolens.errors.InputFormatError` naming the file. :func:`data_digest` hashes
the data section in bounded chunks; writers record it in the metadata under
:data:`DIGEST_KEY` and :func:`verify_digest` compares.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from genolens.errors import InputFileError, InputFormatError

DIGEST_KEY = "data-sha256"
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
MAX_HEADER = 100_000_000  # the safetensors library's own limit
CHUNK = 16 << 20


@dataclass(frozen=True)
class TensorFileHeader:
    """What a safetensors header says: its length, the tensors' entries, the metadata and the data size."""

    header_bytes: int
    tensors: dict[str, dict]
    metadata: dict[str, str]
    data_bytes: int

    @property
    def data_start(self) -> int:
        return 8 + self.header_bytes

    @property
    def file_bytes(self) -> int:
        return self.data_start + self.data_bytes


def read_header(path: str | os.PathLike[str], *, what: str = "safetensors file") -> TensorFileHeader:
    """Parse and validate the header of a safetensors file and check the file's size against it.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (``"shard"``, ``"SAE weights"``).

    Returns
    -------
    TensorFileHeader
        The parsed header.

    Raises
    ------
    InputFileError
        The file is missing, cut short (truncated) or longer than its header says.
    InputFormatError
        The header is not a safetensors header (damaged, or not a safetensors file).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{what} is missing", path=p)
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise InputFileError(f"{what} is truncated: {size} bytes, not even a safetensors header", path=p)
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER:
            raise InputFormatError(f"{what} is damaged or not a safetensors file (header length {n})", path=p)
        if 8 + n > size:
            raise InputFileError(f"{what} is truncated: {size} bytes, its header alone needs {8 + n}", path=p)
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputFormatError(f"{what} is damaged: its header is not valid JSON", path=p) from None
    if not isinstance(header, dict):
        raise InputFormatError(f"{what} is damaged: its header is not a JSON object", path=p)
    metadata = header.pop("__metadata__", None) or {}
    end = 0
    spans = []
    for name, entry in header.items():
        try:
            start, stop = (int(x) for x in entry["data_offsets"])
            count = 1
            for dim in entry["shape"]:
                count *= int(dim)
            expected = count * ITEMSIZE[entry["dtype"]]
        except (KeyError, TypeError, ValueError):
            raise InputFormatError(f"{what} is damaged: header entry {name!r} is malformed", path=p) from None
        if stop - start != expected or start < 0:
            raise InputFormatError(
                f"{what} is damaged: tensor {name!r} spans {stop - start} bytes, its shape needs {expected}", path=p
            )
        spans.append((start, stop))
        end = max(end, stop)
    covered = 0
    for start, stop in sorted(spans):
        if start != covered:
            raise InputFormatError(f"{what} is damaged: its tensors do not tile the data section", path=p)
        covered = stop
    parsed = TensorFileHeader(n, header, dict(metadata), end)
    if size < parsed.file_bytes:
        raise InputFileError(
            f"{what} is truncated: {size:,} bytes, its header says {parsed.file_bytes:,} (the file was cut short)",
            path=p,
        )
    if size > parsed.file_bytes:
        raise InputFileError(
            f"{what} has the wrong size: {size:,} bytes, its header says {parsed.file_bytes:,} (bytes appended)",
            path=p,
        )
    return parsed


def data_digest(path: str | os.PathLike[str], header: TensorFileHeader) -> str:
    """Hex SHA-256 of a safetensors file's data section, read in bounded chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(header.data_start)
        left = header.data_bytes
        while left:
            block = fh.read(min(CHUNK, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def bytes_digest(blob: bytes) -> str:
    """Hex SHA-256 of the data section of a safetensors file held in memory."""
    n = int.from_bytes(blob[:8], "little")
    return hashlib.sha256(memoryview(blob)[8 + n :]).hexdigest()


def verify_digest(path: str | os.PathLike[str], *, what: str = "safetensors file") -> bool:
    """Check the file (as :func:`read_header`) and its recorded data checksum.

    Returns
    -------
    bool
        True when a checksum was recorded and matches; False when the file records none
        (written before checksums were kept).

    Raises
    ------
    InputFormatError
        The data section's SHA-256 differs from the one recorded (the file was damaged).
    """
    header = read_header(path, what=what)
    recorded = header.metadata.get(DIGEST_KEY)
    if recorded is None:
        return False
    found = data_digest(path, header)
    if found != recorded:
        raise InputFormatError(
            f"{what} checksum mismatch: its data's SHA-256 is {found[:12]}..., recorded {recorded[:12]}... "
            "(the file was damaged after it was written)",
            path=path,
        )
    return True
