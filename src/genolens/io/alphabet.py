"""DNA and protein alphabets and the policy for ambiguity codes.

Policy (``ambiguous=``):

* ``"n"`` (default): a DNA IUPAC ambiguity code (R, Y, S, W, K, M, B, D, H, V)
  becomes ``N``; a protein ambiguity code (B, Z, J) becomes ``X``. ``N`` in DNA
  and ``X`` in protein are always allowed: they are what models see for
  unknown positions.
* ``"reject"``: any ambiguity code raises :class:`~genolens.errors.SequenceError`
  naming the record and position.

Soft-masking is not an alphabet matter: lowercase letters are accepted and
recorded as a mask track, and the sequence is upper-cased. Gaps (``-``, ``.``),
digits and any other character are rejected. In protein sequences a single
trailing ``*`` (stop) is removed; an internal ``*`` is rejected.
Selenocysteine (U) and pyrrolysine (O) are residues, not ambiguity codes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from genolens.errors import SequenceError

AmbiguityPolicy = Literal["n", "reject"]
AlphabetChoice = Literal["auto", "dna", "protein"]

DNA_BASES = "ACGT"
DNA_AMBIGUOUS = "RYSWKMBDHV"
DNA_LETTERS = DNA_BASES + "N" + DNA_AMBIGUOUS
PROTEIN_STANDARD = "ACDEFGHIKLMNPQRSTVWY"
PROTEIN_AMBIGUOUS = "BZJ"
PROTEIN_LETTERS = PROTEIN_STANDARD + "XUO" + PROTEIN_AMBIGUOUS

_UNKNOWN = {"dna": "N", "protein": "X"}
_AMBIGUOUS = {"dna": DNA_AMBIGUOUS, "protein": PROTEIN_AMBIGUOUS}
_LETTERS = {"dna": DNA_LETTERS, "protein": PROTEIN_LETTERS}


def _lookup(chars: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars.encode("ascii"), dtype=np.uint8)] = True
    return table


_ALLOWED = {name: _lookup(letters) for name, letters in _LETTERS.items()}
_IS_AMBIGUOUS = {name: _lookup(letters) for name, letters in _AMBIGUOUS.items()}
_ACGTN = _lookup("ACGTN")


def detect_alphabet(sequence: str) -> Literal["dna", "protein"]:
    """Guess ``dna`` or ``protein`` from an upper-case sequence.

    DNA when every letter is an IUPAC nucleotide code and at least 90% are
    A, C, G, T or N; protein otherwise.
    """
    codes = np.frombuffer(sequence.encode("ascii", errors="replace"), dtype=np.uint8)
    if codes.size and _ALLOWED["dna"][codes].all() and _ACGTN[codes].mean() >= 0.9:
        return "dna"
    return "protein"


def normalise_sequence(
    raw: str,
    *,
    alphabet: Literal["dna", "protein"],
    ambiguous: AmbiguityPolicy = "n",
    record: str | None = None,
    path: str | None = None,
) -> tuple[str, np.ndarray]:
    """Validate ``raw`` against ``alphabet``; return the upper-case sequence and its soft-mask.

    The mask is True where ``raw`` had a lowercase letter.
    """
    if ambiguous not in ("n", "reject"):
        raise ValueError(f"ambiguous must be 'n' or 'reject', got {ambiguous!r}")
    if alphabet == "protein" and raw.endswith("*"):
        raw = raw[:-1]
    if not raw:
        raise SequenceError("empty sequence", path=path, record=record)
    try:
        codes = np.frombuffer(raw.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as exc:
        raise SequenceError(
            f"non-ASCII character {raw[exc.start]!r} at position {exc.start + 1}", path=path, record=record
        ) from exc
    mask = (codes >= ord("a")) & (codes <= ord("z"))
    upper = np.where(mask, codes - 32, codes).astype(np.uint8)
    bad = ~_ALLOWED[alphabet][upper]
    if bad.any():
        i = int(np.argmax(bad))
        raise SequenceError(
            f"character {raw[i]!r} at position {i + 1} is not in the {alphabet} alphabet "
            f"({_LETTERS[alphabet]}, any case)",
            path=path,
            record=record,
            hint="gaps, digits and stop codons inside a sequence are not allowed",
        )
    amb = _IS_AMBIGUOUS[alphabet][upper]
    if amb.any():
        if ambiguous == "reject":
            i = int(np.argmax(amb))
            raise SequenceError(
                f"ambiguity code {raw[i]!r} at position {i + 1} rejected (policy ambiguous='reject')",
                path=path,
                record=record,
                hint=f"use ambiguous='n' to turn ambiguity codes into {_UNKNOWN[alphabet]}",
            )
        upper = upper.copy()
        upper[amb] = ord(_UNKNOWN[alphabet])
    return upper.tobytes().decode("ascii"), mask
