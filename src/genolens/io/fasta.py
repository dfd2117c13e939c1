"""FASTA / FASTA.gz reading (biopython's parser) and writing.

Strict by default: a file must start with a ``>`` header, every record needs
a non-empty, unique ID and a non-empty sequence of its alphabet. Errors name
the file, the header line and the record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO

from Bio.SeqIO.FastaIO import SimpleFastaParser

from genolens.errors import InputFileError, InputFormatError, SequenceError
from genolens.io.alphabet import AlphabetChoice, AmbiguityPolicy, detect_alphabet, normalise_sequence
from genolens.io.files import atomic_write, open_text
from genolens.io.records import SequenceRecord


class _LineCounter:
    """Feeds lines to the parser while remembering the line number of each header.

    An iterator, not an iterable: the parser loops over it twice and both
    loops must share one position.
    """

    def __init__(self, handle: IO[str], path: str) -> None:
        self._lines = iter(handle)
        self.path = path
        self.number = 0
        self.header_lines: list[int] = []

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        if line.startswith(">"):
            self.header_lines.append(self.number)
        elif line.strip() and not self.header_lines:
            raise InputFormatError(
                f"expected a FASTA header starting with '>', found {line.strip()[:40]!r}",
                path=self.path,
                line=self.number,
                hint="is this FASTA? FASTQ, GenBank and plain text are not accepted",
            )
        return line


def iter_fasta(
    path: str | os.PathLike[str],
    *,
    alphabet: AlphabetChoice = "auto",
    ambiguous: AmbiguityPolicy = "n",
) -> Iterator[SequenceRecord]:
    """Stream validated records from a FASTA or gzipped FASTA file.

    With ``alphabet="auto"`` the first record decides (see
    :func:`~genolens.io.alphabet.detect_alphabet`) and every later record must
    agree, so a file never mixes DNA and protein silently.

    Parameters
    ----------
    path
        FASTA file, plain or gzip/bgzip.
    alphabet
        ``"dna"``, ``"protein"`` or ``"auto"`` (the first record decides).
    ambiguous
        IUPAC ambiguity codes: ``"n"`` turns them into N (DNA) or X (protein), ``"reject"`` raises.

    Yields
    ------
    SequenceRecord
        Each record, upper-cased, with its soft-mask (lowercase letters) as ``mask``.
    """
    if alphabet not in ("auto", "dna", "protein"):
        raise ValueError(f"alphabet must be 'auto', 'dna' or 'protein', got {alphabet!r}")
    spath = str(path)
    seen: dict[str, int] = {}
    chosen: str | None = None if alphabet == "auto" else alphabet
    with open_text(path, what="FASTA file") as handle:
        lines = _LineCounter(handle, spath)
        for title, raw in SimpleFastaParser(lines):
            line = lines.header_lines[len(seen)]
            seq_id, _, description = title.strip().partition(" ")
            if not seq_id:
                raise InputFormatError("empty sequence ID after '>'", path=spath, line=line)
            if seq_id in seen:
                raise InputFormatError(
                    f"duplicate sequence ID (first seen at line {seen[seq_id]})",
                    path=spath,
                    line=line,
                    record=seq_id,
                )
            seen[seq_id] = line
            if not raw:
                raise SequenceError("record has an empty sequence", path=spath, line=line, record=seq_id)
            this = detect_alphabet(raw.upper())
            if chosen is None:
                chosen = this
            elif alphabet == "auto" and this != chosen:
                raise InputFormatError(
                    f"looks like {this} but earlier records are {chosen}",
                    path=spath,
                    line=line,
                    record=seq_id,
                    hint="pass the alphabet explicitly, or split DNA and protein into separate files",
                )
            seq, mask = normalise_sequence(raw, alphabet=chosen, ambiguous=ambiguous, record=seq_id, path=spath)
            yield SequenceRecord(
                id=seq_id, sequence=seq, alphabet=chosen, mask=mask, description=description.strip()
            )
    if not seen:
        raise InputFileError("no FASTA records found", path=spath)


def read_fasta(
    path: str | os.PathLike[str],
    *,
    alphabet: AlphabetChoice = "auto",
    ambiguous: AmbiguityPolicy = "n",
) -> list[SequenceRecord]:
    """Read every record of a FASTA file (see :func:`iter_fasta`).

    Parameters
    ----------
    path, alphabet, ambiguous
        As :func:`iter_fasta`.

    Returns
    -------
    list of SequenceRecord
        The records in file order.
    """
    return list(iter_fasta(path, alphabet=alphabet, ambiguous=ambiguous))


def write_fasta(
    records: Iterable[SequenceRecord], path: str | os.PathLike[str], *, line_width: int = 60
) -> int:
    """Write records atomically, soft-masked bases in lowercase.

    Parameters
    ----------
    records
        Records to write.
    path
        Output FASTA; a ``.gz`` name is gzip-compressed.
    line_width
        Bases per line.

    Returns
    -------
    int
        The number of records written.
    """
    if line_width < 1:
        raise ValueError(f"line_width must be >= 1, got {line_width}")
    n = 0
    with atomic_write(path) as fh:
        for rec in records:
            header = f">{rec.id} {rec.description}".rstrip()
            seq = rec.soft_masked()
            fh.write(header + "\n")
            for i in range(0, len(seq), line_width):
                fh.write(seq[i : i + line_width] + "\n")
            n += 1
    return n
