"""Phenotype matrices in the BED layout of fastQTL, tensorQTL and GEUVADIS.

``#chr  start  end  phenotype_id  sample1  sample2 ...``: one row per phenotype (gene), 0-based
half-open coordinates whose ``end`` is the TSS for genes (``start = end - 1``), then one column per sample.
Header names of the first four columns vary (``#Chr``, ``TargetID``, ``gene_id``); their positions do not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genolens.errors import InputFileError, InputFormatError


@dataclass
class PhenotypeBed:
    """Positions (index ``phenotype_id``; ``chr``, ``start``, ``end``) and values (samples x phenotypes).

    Parameters
    ----------
    positions
        Indexed by ``phenotype_id``, with ``chr``, ``start``, ``end``.
    values
        Samples × phenotypes.
    """

    positions: pd.DataFrame
    values: pd.DataFrame

    @property
    def tss(self) -> pd.Series:
        """The TSS of each phenotype (1-based, as tensorQTL reads it: the BED ``end``)."""
        return self.positions["end"]


def read_phenotype_bed(path: str | os.PathLike[str]) -> PhenotypeBed:
    """Read a phenotype BED (plain or gzip/bgzip).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    PhenotypeBed
        Positions and a samples x phenotypes table of floats (NaN where missing).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError("phenotype BED not found", path=p)
    try:
        frame = pd.read_csv(p, sep="\t", dtype={0: str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InputFormatError(f"not a readable phenotype BED: {exc}", path=p) from None
    if frame.shape[1] < 5 or not str(frame.columns[0]).startswith("#"):
        raise InputFormatError(
            f"expected a header '#chr start end phenotype_id sample1 ...', found {list(frame.columns[:5])}", path=p,
            hint="the fastQTL/tensorQTL phenotype BED layout",
        )
    head = frame.iloc[:, :4].copy()
    head.columns = ["chr", "start", "end", "phenotype_id"]
    for col in ("start", "end"):
        if not pd.api.types.is_integer_dtype(head[col]):
            raise InputFormatError(f"column {frame.columns[1 if col == 'start' else 2]!r} must hold integers", path=p)
    ids = head["phenotype_id"].astype(str)
    if ids.duplicated().any():
        raise InputFormatError(f"phenotype IDs listed twice: {sorted(set(ids[ids.duplicated()]))[:5]}", path=p)
    values = frame.iloc[:, 4:]
    try:
        values = values.astype(float)
    except ValueError as exc:
        raise InputFormatError(f"phenotype values must be numbers: {exc}", path=p) from None
    if pd.Index(values.columns).duplicated().any():
        raise InputFormatError("sample names are not unique", path=p)
    positions = head.assign(chr=head["chr"].astype(str), phenotype_id=ids).set_index("phenotype_id")
    table = pd.DataFrame(values.to_numpy(dtype=float).T, index=pd.Index(values.columns.astype(str), name="sample"),
                         columns=positions.index)
    if not np.isfinite(table.to_numpy()).any():
        raise InputFormatError("no finite phenotype value", path=p)
    return PhenotypeBed(positions=positions, values=table)
