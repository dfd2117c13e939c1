"""Sample sheets: one row per sample with phenotypes and covariates (CSV or TSV).

The sheet is checked before any model runs: unique, non-empty sample IDs;
declared numeric columns really numeric (the first offending line and value
are named); and samples reconciled with the VCF, with every sample on only one
side reported, never silently dropped.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genolens.errors import ConfigError, InputFormatError, SampleMismatchError
from genolens.io.files import open_text
from genolens.io.vcf import vcf_samples

MISSING = {"", "NA", "NaN", "nan", "N/A", "NULL", "null", "."}


def read_sample_sheet(
    path: str | os.PathLike[str],
    *,
    id_column: str = "sample",
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    binary: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV/TSV sample sheet into a DataFrame indexed by sample ID.

    Columns named in ``numeric`` must hold numbers (missing values allowed:
    empty, NA, NaN, N/A, NULL, ``.``); ``binary`` columns must hold two distinct
    values at most (0/1, case/control, ...) and are coded 0/1 in sorted order
    of their labels unless already 0/1; ``categorical`` columns are kept as
    pandas categoricals. Other columns are kept as read (numbers when every
    value parses).

    Parameters
    ----------
    path
        CSV or TSV file (the delimiter is told from the header line; ``#`` lines before it are skipped).
    id_column
        Column of sample IDs (non-empty, unique).
    numeric
        Columns that must hold numbers.
    categorical
        Columns kept as pandas categoricals.
    binary
        Columns with at most two distinct values, coded 0/1.

    Returns
    -------
    pandas.DataFrame
        One row per sample, indexed by sample ID; missing values are NaN.
    """
    spath = str(path)
    with open_text(path, what="sample sheet") as fh:
        text = fh.read()
    lines = text.splitlines()
    header_line = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if header_line is None:
        raise InputFormatError("sample sheet has no header line", path=spath)
    delimiter = _delimiter(spath, lines[header_line])
    rows = list(csv.reader(lines[header_line:], delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    if id_column not in header:
        raise InputFormatError(
            f"no sample ID column {id_column!r}; columns are {header}",
            path=spath,
            line=header_line + 1,
            hint="name the ID column with id_column / --id-column",
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputFormatError(f"duplicate column name(s) {dup}", path=spath, line=header_line + 1)
    for wanted in (*numeric, *categorical, *binary):
        if wanted not in header:
            raise InputFormatError(f"column {wanted!r} not found; columns are {header}", path=spath)
    records: list[list[str]] = []
    line_of: list[int] = []
    for offset, fields in enumerate(rows[1:], start=header_line + 2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise InputFormatError(
                f"expected {len(header)} columns, found {len(fields)}", path=spath, line=offset
            )
        records.append([f.strip() for f in fields])
        line_of.append(offset)
    if not records:
        raise InputFormatError("sample sheet has a header but no samples", path=spath)
    df = pd.DataFrame(records, columns=header)
    ids = df[id_column]
    for i, sample in enumerate(ids):
        if sample in MISSING:
            raise InputFormatError("empty or missing sample ID", path=spath, line=line_of[i])
    dup = ids[ids.duplicated()]
    if not dup.empty:
        i = int(dup.index[0])
        raise InputFormatError(f"duplicate sample ID {dup.iloc[0]!r}", path=spath, line=line_of[i])
    for column in header:
        if column == id_column:
            continue
        values = df[column].where(~df[column].isin(MISSING), None)
        if column in binary:
            df[column] = _to_binary(values, column, spath)
        elif column in numeric:
            df[column] = _to_numeric(values, column, spath, line_of)
        elif column in categorical:
            df[column] = pd.Categorical(values)
        else:
            parsed = pd.to_numeric(values, errors="coerce")
            if parsed.notna().sum() == values.notna().sum():
                df[column] = parsed
            else:
                _refuse_decimal_comma(values, column, spath, line_of)
                df[column] = values
    return df.set_index(id_column)


DECIMAL_COMMA = r"[+-]?\d+,\d+"


def _refuse_decimal_comma(values: pd.Series, column: str, path: str, line_of: list[int]) -> None:
    """A column of numbers written with a decimal comma would pass as text and fail only later: say so now."""
    present = values.dropna()
    comma = present.str.fullmatch(DECIMAL_COMMA)
    if comma.any() and pd.to_numeric(present.str.replace(",", ".", regex=False), errors="coerce").notna().all():
        i = int(np.flatnonzero(values.notna().to_numpy())[int(np.argmax(comma.to_numpy()))])
        raise InputFormatError(
            f"column {column!r} holds numbers with a decimal comma ({values.iloc[i]!r}): genolens reads '.' "
            "as the decimal point", path=path, line=line_of[i], hint="write them with '.', e.g. 1.5",
        )


def _delimiter(path: str, header: str) -> str:
    lower = path.lower().removesuffix(".gz")
    if lower.endswith(".csv"):
        return ","
    if lower.endswith((".tsv", ".txt", ".tab")):
        return "\t"
    return "\t" if header.count("\t") >= header.count(",") else ","


def _to_numeric(values: pd.Series, column: str, path: str, line_of: list[int]) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        comma = re.fullmatch(DECIMAL_COMMA, str(values.iloc[i])) is not None
        raise InputFormatError(
            f"column {column!r} must be numeric, found {values.iloc[i]!r}", path=path, line=line_of[i],
            hint="a decimal comma: write '.' instead" if comma else None,
        )
    return parsed.astype(float)


def _to_binary(values: pd.Series, column: str, path: str) -> pd.Series:
    labels = sorted(values.dropna().unique(), key=str)
    if len(labels) > 2:
        raise InputFormatError(
            f"binary column {column!r} has {len(labels)} distinct values {labels[:5]}, expected at most 2",
            path=path,
        )
    if set(map(str, labels)) <= {"0", "1", "0.0", "1.0"}:
        return pd.to_numeric(values).astype(float)
    return values.map({label: float(i) for i, label in enumerate(labels)}).astype(float)


@dataclass(frozen=True)
class SampleMatch:
    """How a sample sheet and a VCF overlap.

    Parameters
    ----------
    common
        Samples in both, in sheet order.
    only_in_sheet
        Sheet samples absent from the VCF.
    only_in_vcf
        VCF samples absent from the sheet, in VCF order.
    """

    common: list[str]
    only_in_sheet: list[str]
    only_in_vcf: list[str]

    def summary(self) -> str:
        """One line: how many samples are in both, only in the sheet, only in the VCF.

        Returns
        -------
        str
            The line.
        """
        return (
            f"{len(self.common)} samples in both; {len(self.only_in_sheet)} only in the sample sheet; "
            f"{len(self.only_in_vcf)} only in the VCF"
        )


def match_samples(
    sheet: pd.DataFrame,
    vcf_samples: Sequence[str],
    *,
    on_missing: str = "error",
    sheet_path: str | None = None,
) -> SampleMatch:
    """Reconcile sheet and VCF samples (sheet order kept).

    Samples in the sheet but not the VCF raise :class:`SampleMismatchError`
    unless ``on_missing="warn"``; samples only in the VCF are reported in the
    result either way.

    Parameters
    ----------
    sheet
        Sample sheet indexed by sample ID (:func:`read_sample_sheet`).
    vcf_samples
        Sample IDs of the VCF (:func:`vcf_samples`).
    on_missing
        Sheet samples absent from the VCF: ``"error"`` raises, ``"warn"`` continues (they are listed in
        ``only_in_sheet``).
    sheet_path
        The sheet's file, named in errors.

    Returns
    -------
    SampleMatch
        Samples in both, only in the sheet, only in the VCF.
    """
    if on_missing not in ("error", "warn"):
        raise ValueError(f"on_missing must be 'error' or 'warn', got {on_missing!r}")
    in_vcf = set(vcf_samples)
    in_sheet = set(sheet.index)
    match = SampleMatch(
        common=[s for s in sheet.index if s in in_vcf],
        only_in_sheet=[s for s in sheet.index if s not in in_vcf],
        only_in_vcf=[s for s in vcf_samples if s not in in_sheet],
    )
    if match.only_in_sheet and on_missing == "error":
        shown = ", ".join(match.only_in_sheet[:10]) + (" ..." if len(match.only_in_sheet) > 10 else "")
        raise SampleMismatchError(
            f"{len(match.only_in_sheet)} sample(s) in the sample sheet are not in the VCF: {shown}",
            path=sheet_path,
            hint="fix the IDs, or allow it explicitly (--allow-missing-samples) to continue with the rest",
        )
    if not match.common:
        raise SampleMismatchError("no sample of the sample sheet is in the VCF", path=sheet_path)
    return match


def choose_samples(
    vcf: str | os.PathLike[str],
    *,
    samples: Sequence[str] | None = None,
    sample_sheet: str | os.PathLike[str] | None = None,
    id_column: str = "sample",
    allow_missing: bool = False,
) -> tuple[list[str] | None, SampleMatch | None]:
    """The VCF samples to build: listed IDs, a sample sheet's samples, or all (None).

    Parameters
    ----------
    vcf
        The VCF/BCF the samples come from.
    samples
        Sample IDs, taken as given (the VCF reader rejects unknown ones).
    sample_sheet
        A CSV/TSV sample sheet whose samples are taken (instead of ``samples``).
    id_column
        Sample-ID column of the sample sheet.
    allow_missing
        Continue when sheet samples are absent from the VCF (listed in the match) instead of raising
        :class:`~genolens.errors.SampleMismatchError`.

    Returns
    -------
    tuple
        The chosen IDs (None: every sample of the VCF) and, for a sample sheet, how it matched the VCF.
    """
    if samples and sample_sheet:
        raise ConfigError("give sample IDs or a sample sheet, not both")
    if samples:
        return [s.strip() for s in samples if s.strip()], None
    if sample_sheet is None:
        return None, None
    sheet = read_sample_sheet(sample_sheet, id_column=id_column)
    match = match_samples(sheet, vcf_samples(vcf), on_missing="warn" if allow_missing else "error",
                          sheet_path=str(sample_sheet))
    return match.common, match


@dataclass(frozen=True)
class SampleSheetCheck:
    """A checked sample sheet: the table, its missing values per column and its overlap with a VCF.

    Parameters
    ----------
    sheet
        The parsed sheet, indexed by sample ID.
    missing
        Missing values per column, for the columns that have any.
    match
        How the sheet and the VCF overlap, when a VCF was given.
    """

    sheet: pd.DataFrame
    missing: dict[str, int]
    match: SampleMatch | None = None


def check_sample_sheet(
    path: str | os.PathLike[str],
    *,
    vcf: str | os.PathLike[str] | None = None,
    id_column: str = "sample",
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    binary: Sequence[str] = (),
    allow_missing_samples: bool = False,
) -> SampleSheetCheck:
    """Check a sample sheet's IDs and column types, and its overlap with a VCF, before a run.

    Parameters
    ----------
    path
        CSV/TSV sample sheet.
    vcf
        VCF whose samples the sheet must match (optional).
    id_column
        Sample-ID column.
    numeric, categorical, binary
        Columns that must be numeric, categorical, or two-valued (see :func:`read_sample_sheet`).
    allow_missing_samples
        Only report sheet samples absent from the VCF instead of raising.

    Returns
    -------
    SampleSheetCheck
        The parsed sheet, the number of missing values of each column that has any, and the VCF match.
    """
    sheet = read_sample_sheet(path, id_column=id_column, numeric=numeric, categorical=categorical, binary=binary)
    missing = {str(c): int(n) for c, n in sheet.isna().sum().items() if n}
    match = None
    if vcf is not None:
        match = match_samples(sheet, vcf_samples(vcf), on_missing="warn" if allow_missing_samples else "error",
                              sheet_path=str(path))
    return SampleSheetCheck(sheet=sheet, missing=missing, match=match)
