"""JASPAR position frequency matrices (the ``.jaspar`` text format) as count matrices.

::

    >MA0004.1	Arnt
    A  [      4     19      0      0      0      0 ]
    C  [     16      0     20      0      0      0 ]
    G  [      0      1      0     20      0     20 ]
    T  [      0      0      0      0     20      0 ]

Rows may also be bare numbers without the letter and brackets (the older
``.pfm`` layout); the four rows are always A, C, G, T in that order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from genolens.errors import InputFileError, InputFormatError
from genolens.io.files import open_text

BASES = "ACGT"
#: the JASPAR 2024 CORE vertebrate non-redundant set, shipped as package data (CC BY 4.0; see its SOURCE.txt)
EXAMPLE_JASPAR = Path(
    str(resources.files("genolens") / "resources" / "jaspar" / "JASPAR2024_CORE_vertebrates_nonredundant_pfms.jaspar")
)


@dataclass(frozen=True, eq=False)
class Motif:
    """A motif: ``counts [length, 4]`` over A, C, G, T."""

    id: str
    name: str
    counts: np.ndarray

    @property
    def length(self) -> int:
        return int(self.counts.shape[0])

    def probabilities(self, *, pseudocount: float = 0.01) -> np.ndarray:
        """Column frequencies with ``pseudocount`` (in probability units) mixed in uniformly."""
        totals = self.counts.sum(1, keepdims=True)
        freq = np.divide(self.counts, totals, out=np.full_like(self.counts, 0.25), where=totals > 0)
        return (freq + pseudocount * 0.25) / (1 + pseudocount)


def _row(text: str, expected: str, *, path: str, line: int) -> np.ndarray:
    body = text.strip()
    if body[:1].upper() in BASES:
        if body[0].upper() != expected:
            raise InputFormatError(f"expected the {expected} row, found {body[:1]!r}", path=path, line=line)
        body = body[1:]
    body = body.replace("[", " ").replace("]", " ")
    try:
        values = np.array([float(v) for v in body.split()], dtype=np.float64)
    except ValueError:
        raise InputFormatError(f"counts must be numbers, found {text.strip()!r}", path=path, line=line) from None
    if values.size == 0 or (values < 0).any():
        raise InputFormatError(f"expected non-negative counts, found {text.strip()!r}", path=path, line=line)
    return values


def read_jaspar(path: str | os.PathLike[str] = EXAMPLE_JASPAR) -> list[Motif]:
    """Every matrix of a JASPAR text file, in file order."""
    spath = str(path)
    if not Path(path).is_file():
        raise InputFileError(
            "JASPAR file not found", path=spath,
            hint="pass --jaspar FILE",
        )
    motifs: list[Motif] = []
    seen: set[str] = set()
    with open_text(path, what="JASPAR file") as fh:
        lines = [(n, line) for n, line in enumerate(fh, start=1) if line.strip()]
    i = 0
    while i < len(lines):
        number, header = lines[i]
        if not header.startswith(">"):
            raise InputFormatError(
                f"expected a '>ID name' header, found {header.strip()[:40]!r}", path=spath, line=number
            )
        parts = header[1:].split(None, 1)
        if not parts:
            raise InputFormatError("empty matrix ID after '>'", path=spath, line=number)
        motif_id, name = parts[0], (parts[1].strip() if len(parts) > 1 else parts[0])
        if motif_id in seen:
            raise InputFormatError("duplicate matrix ID", path=spath, line=number, record=motif_id)
        seen.add(motif_id)
        body = lines[i + 1 : i + 5]
        if len(body) < 4 or any(text.startswith(">") for _, text in body):
            raise InputFormatError("matrix has fewer than 4 rows (A, C, G, T)", path=spath, line=number,
                                   record=motif_id)
        rows = [_row(text, BASES[k], path=spath, line=n) for k, (n, text) in enumerate(body)]
        if len({r.size for r in rows}) != 1:
            raise InputFormatError(
                f"rows have different lengths {[r.size for r in rows]}", path=spath, line=number, record=motif_id
            )
        motifs.append(Motif(motif_id, name, np.stack(rows, axis=1)))
        i += 5
    if not motifs:
        raise InputFormatError("no matrices found", path=spath)
    return motifs
