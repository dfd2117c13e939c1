"""Coordinate maps from a (personal) sequence back to the reference.

A personal haplotype differs from the reference by SNVs and indels. So that a
per-base value computed on the personal sequence (an activation, a feature)
lands on the right reference base, every sequence built from a reference keeps
a map: for each base of the sequence, its 0-based reference position, or -1
for a base that an insertion added. Deleted reference bases simply do not occur.
For a minus-strand sequence (reverse complement) the positions run downwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

INSERTED = -1

BLOCK_COLUMNS = ["sequence_id", "seq_start", "seq_end", "contig", "ref_start", "ref_end", "strand", "kind"]


@dataclass(frozen=True, eq=False)
class CoordinateMap:
    """Per-base 0-based reference positions of a sequence (``-1`` = inserted base).

    Parameters
    ----------
    contig
        Reference contig of the sequence.
    strand
        ``"+"``, or ``"-"`` for a reverse-complemented sequence (positions run downwards).
    ref_pos
        One 0-based reference position per base of the sequence, ``-1`` for inserted bases.
    """

    contig: str
    strand: str
    ref_pos: np.ndarray

    def __post_init__(self) -> None:
        if self.strand not in ("+", "-"):
            raise ValueError(f"strand must be '+' or '-', got {self.strand!r}")
        arr = np.asarray(self.ref_pos, dtype=np.int64)
        if arr.ndim != 1:
            raise ValueError(f"ref_pos must be one-dimensional, got shape {arr.shape}")
        object.__setattr__(self, "ref_pos", arr)

    def __len__(self) -> int:
        return int(self.ref_pos.shape[0])

    @classmethod
    def identity(cls, contig: str, start: int, end: int, strand: str = "+") -> CoordinateMap:
        """Map of an unchanged reference slice ``[start, end)``.

        Parameters
        ----------
        contig
            Reference contig.
        start, end
            0-based half-open slice.
        strand
            ``"-"``: the slice's reverse complement (positions run downwards).

        Returns
        -------
        CoordinateMap
            One position per base of the slice.
        """
        pos = np.arange(start, end, dtype=np.int64)
        return cls(contig, strand, pos[::-1].copy() if strand == "-" else pos)

    def reverse_complemented(self) -> CoordinateMap:
        """The map of this sequence's reverse complement.

        Returns
        -------
        CoordinateMap
            Positions reversed, strand flipped.
        """
        return CoordinateMap(self.contig, "-" if self.strand == "+" else "+", self.ref_pos[::-1].copy())

    def to_reference(self, seq_positions: np.ndarray | int) -> np.ndarray:
        """0-based reference positions of 0-based sequence positions (-1 where inserted).

        Parameters
        ----------
        seq_positions
            One position or an array of them.

        Returns
        -------
        numpy.ndarray
            The reference positions, shaped as ``seq_positions``.
        """
        return self.ref_pos[np.asarray(seq_positions)]

    def reference_span(self) -> tuple[int, int]:
        """Half-open reference interval ``[start, end)`` spanned by the mapped bases.

        Returns
        -------
        tuple of int
            ``(start, end)``; ``(0, 0)`` when no base maps to the reference.
        """
        mapped = self.ref_pos[self.ref_pos >= 0]
        if mapped.size == 0:
            return (0, 0)
        return int(mapped.min()), int(mapped.max()) + 1

    def blocks(self, sequence_id: str) -> pd.DataFrame:
        """Run-length table of the map: ``ref`` blocks, ``ins`` and ``del`` gaps.

        Coordinates are 0-based half-open, like BED. A ``ref`` block maps
        ``seq_start..seq_end`` one to one onto ``ref_start..ref_end`` (on the
        minus strand the reference runs backwards over the block); an ``ins``
        block has an empty reference span at the position where it was inserted;
        a ``del`` block has an empty sequence span.

        Parameters
        ----------
        sequence_id
            The sequence's ID, written in every row.

        Returns
        -------
        pandas.DataFrame
            Columns ``sequence_id, seq_start, seq_end, contig, ref_start, ref_end, strand, kind``.
        """
        pos = self.ref_pos
        n = len(pos)
        step = 1 if self.strand == "+" else -1
        ins = pos == INSERTED
        # segment boundaries: insertion status changes, or the reference jumps
        breaks = np.flatnonzero((ins[1:] != ins[:-1]) | (~ins[1:] & ~ins[:-1] & (pos[1:] != pos[:-1] + step))) + 1
        bounds = np.concatenate([[0], breaks, [n]]) if n else np.zeros(1, dtype=np.int64)
        rows: list[tuple] = []
        prev_ref: int | None = None  # reference position of the last mapped base
        for i, j in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if ins[i]:
                anchor = self._gap_anchor(prev_ref, step)
                rows.append((sequence_id, i, j, self.contig, anchor, anchor, self.strand, "ins"))
                continue
            first, last = int(pos[i]), int(pos[j - 1])
            if prev_ref is not None and first != prev_ref + step:
                gap = self._deleted_span(prev_ref, first, step)
                rows.append((sequence_id, i, i, self.contig, gap[0], gap[1], self.strand, "del"))
            lo, hi = min(first, last), max(first, last)
            rows.append((sequence_id, i, j, self.contig, lo, hi + 1, self.strand, "ref"))
            prev_ref = last
        return pd.DataFrame(rows, columns=BLOCK_COLUMNS)

    @staticmethod
    def _gap_anchor(prev_ref: int | None, step: int) -> int:
        if prev_ref is None:
            return -1
        return prev_ref + 1 if step == 1 else prev_ref

    @staticmethod
    def _deleted_span(prev_ref: int, next_ref: int, step: int) -> tuple[int, int]:
        if step == 1:
            return prev_ref + 1, next_ref
        return next_ref + 1, prev_ref

    @classmethod
    def from_blocks(cls, blocks: pd.DataFrame) -> CoordinateMap:
        """Rebuild a map from the rows of :meth:`blocks` for one sequence.

        Parameters
        ----------
        blocks
            The block-table rows of one sequence.

        Returns
        -------
        CoordinateMap
            The map the rows describe.
        """
        if blocks.empty:
            raise ValueError("no blocks to rebuild a coordinate map from")
        contig = str(blocks["contig"].iloc[0])
        strand = str(blocks["strand"].iloc[0])
        length = int(blocks["seq_end"].max())
        pos = np.full(length, INSERTED, dtype=np.int64)
        for row in blocks.itertuples(index=False):
            if row.kind != "ref":
                continue
            span = np.arange(row.ref_start, row.ref_end, dtype=np.int64)
            pos[row.seq_start : row.seq_end] = span if strand == "+" else span[::-1]
        return cls(contig, strand, pos)
