"""Typed errors for bad input.

Each error is also a builtin (``ValueError`` or ``OSError``) so callers that
do not know genolens can still catch it. Every error carries the file and, where
there is one, the line or record it refers to; the message says what was
expected, quotes what was found and, where it can, suggests the cause. Only the
CLI turns these into an exit status (2) and one line of text.
"""

from __future__ import annotations

from os import PathLike


class GenolensError(Exception):
    """Base class of all errors genolens raises about its input."""

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        record: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.record = record
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record!r}")
        text = f"{': '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:  # keep str() in sync with the attributes
        return self._format()


class InputFormatError(GenolensError, ValueError):
    """A file's content is not what its format requires (malformed FASTA, VCF, BED, ...)."""


class InputFileError(GenolensError, OSError):
    """A file is missing, unreadable, empty, truncated or lacks its index."""


class SequenceError(InputFormatError):
    """A sequence holds characters its alphabet does not allow, or is empty."""


class RegionError(GenolensError, ValueError):
    """A genomic region is malformed or lies outside its contig."""


class ReferenceMismatchError(InputFormatError):
    """A VCF record's REF allele disagrees with the reference sequence."""


class VariantPolicyError(InputFormatError):
    """A variant or genotype the chosen policy refuses (unphased, missing, symbolic, ...)."""


class SampleMismatchError(GenolensError, ValueError):
    """Samples named in one input are absent from another."""


class ConfigError(GenolensError, ValueError):
    """An option or configuration value is invalid."""
