"""The sequence record every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from genolens.io.coordmap import CoordinateMap

Alphabet = Literal["dna", "protein"]


@dataclass(frozen=True, eq=False)
class SequenceRecord:
    """One input sequence, upper-cased, with its soft-mask and provenance.

    ``mask`` is True where the source had lowercase (soft-masked, usually
    repeats) letters; the sequence itself is always upper-case so that
    tokenisers never see lowercase. ``coords`` maps each base back to the
    reference when the sequence was built from one (``None`` for plain FASTA).
    ``sample``/``haplotype``/``region`` are set for personal haplotypes.

    Parameters
    ----------
    id
        Sequence ID (unique within a file or store).
    sequence
        The letters, upper-case.
    alphabet
        ``"dna"`` or ``"protein"``.
    mask
        Soft-mask, one boolean per letter (``None``: nothing masked).
    coords
        Map of each base to the reference, for sequences built from one.
    description
        The FASTA header after the ID.
    sample, haplotype, region
        Provenance of a personal haplotype: VCF sample, 1-based haplotype, region label.
    meta
        Free-form string fields carried along with the record.
    """

    id: str
    sequence: str
    alphabet: Alphabet
    mask: np.ndarray | None = None
    coords: CoordinateMap | None = None
    description: str = ""
    sample: str | None = None
    haplotype: int | None = None
    region: str | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mask is not None:
            mask = np.asarray(self.mask, dtype=bool)
            if mask.shape != (len(self.sequence),):
                raise ValueError(
                    f"mask of {self.id!r} has shape {mask.shape}, expected ({len(self.sequence)},)"
                )
            object.__setattr__(self, "mask", mask)
        if self.coords is not None and len(self.coords) != len(self.sequence):
            raise ValueError(
                f"coordinate map of {self.id!r} has {len(self.coords)} positions, "
                f"sequence has {len(self.sequence)}"
            )

    def __len__(self) -> int:
        return len(self.sequence)

    def soft_masked(self) -> str:
        """The sequence with soft-masked bases in lowercase, as FASTA writes it.

        Returns
        -------
        str
            The letters, masked ones lowercase.
        """
        if self.mask is None or not self.mask.any():
            return self.sequence
        chars = np.frombuffer(self.sequence.encode("ascii"), dtype=np.uint8).copy()
        chars[self.mask] = np.frombuffer(self.sequence.lower().encode("ascii"), dtype=np.uint8)[self.mask]
        return chars.tobytes().decode("ascii")
