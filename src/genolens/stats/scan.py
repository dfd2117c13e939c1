"""Feature-chunked scans that honour each feature's own missing values.

A regression scan fits ``y ~ covariates + feature`` for every feature. Features
without missing values share one sample set and are fitted together, a chunk of
features at a time (bounded memory). A feature with NaN values needs its own
complete-case subset; features are grouped by their missingness pattern so that
each distinct pattern is fitted once, as a block, on exactly its samples -- the
same subset statsmodels would use with ``missing="drop"``.

Fits receive a float64 block (a view of float64 input, no copy) and report
which of its columns hold NaN (a NaN anywhere in a column shows up in its sum,
which the OLS fit gets from the matrix product it does anyway, so no extra pass
over memory); those columns are then refitted on their own samples. Every model
here has an intercept, so a fit may centre the block (``block - sums / n``)
without changing any slope, standard error or likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

# Scans return these per-feature fields.
RESULT_FIELDS = ("beta", "se", "stat", "pvalue", "n", "df")

# Target size in bytes of one float64 block of features held in memory (cache-friendly).
BLOCK_BYTES = 1 << 26


def empty_result(n_features: int) -> dict[str, np.ndarray]:
    """All-NaN result arrays, reason empty and method empty."""
    out = {name: np.full(n_features, np.nan) for name in RESULT_FIELDS}
    out["reason"] = np.full(n_features, "", dtype=object)
    out["method"] = np.full(n_features, "", dtype=object)
    return out


def column_block(features: Any, *, columns: slice | np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``features[rows, columns]`` as a numpy array (numpy, torch, or scipy sparse input; a view if possible)."""
    if hasattr(features, "detach"):  # torch tensor
        block = features[:, columns].detach().cpu().numpy()
    elif sp.issparse(features):
        block = features[:, columns].toarray()
    else:
        block = np.asarray(features[:, columns])
    if rows is not None:
        block = block[rows]
    if block.dtype != np.float64:
        block = block.astype(np.float64)
    return block


def column_sums(block: np.ndarray) -> np.ndarray:
    """Column sums by one BLAS matrix-vector product (NaN where a column has NaN)."""
    return np.ones(block.shape[0]) @ block


def chunk_width(n_rows: int, block_bytes: int = BLOCK_BYTES) -> int:
    """How many float64 feature columns of ``n_rows`` fit in ``block_bytes`` (at least 8)."""
    return max(8, block_bytes // max(1, 8 * n_rows))


def with_nan_columns(result: dict[str, np.ndarray], has_nan: np.ndarray) -> dict[str, np.ndarray]:
    """Spread a fit of the NaN-free columns back over all columns and add ``has_nan``."""
    out: dict[str, np.ndarray] = {}
    for name, values in result.items():
        values = np.asarray(values)
        full = np.full(has_nan.shape, "" if values.dtype == object else np.nan, dtype=values.dtype)
        if values.dtype != object:
            full = full.astype(float)
        full[~has_nan] = values
        out[name] = full
    out["has_nan"] = has_nan
    return out


FitBlock = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def scan(
    features: Any,
    *,
    fit_block: FitBlock,
    rows: np.ndarray | None = None,
    block_bytes: int = BLOCK_BYTES,
    fit_copies: bool = True,
    fit_float32: bool = False,
) -> dict[str, np.ndarray]:
    """Run ``fit_block(row_mask, block)`` over all features, grouping NaN patterns.

    ``rows`` restricts the scan to a boolean subset of samples (complete cases of
    phenotype and covariates). ``fit_block`` receives a boolean mask over those
    rows and a float64 block (masked rows x features); it returns per-feature
    arrays (at least ``beta``) and ``has_nan``, the columns holding NaN, whose
    results are discarded: they are refitted on their own complete samples,
    grouped by missingness pattern.

    Blocks are at most ``block_bytes`` of float64, except when the input is a
    float64 numpy array read without a row subset and ``fit_copies`` is False
    (the fit makes no samples x features temporaries): then blocks are views,
    cost no memory, and the whole matrix goes to the fit at once (one large
    matrix product is faster than many narrow, strided ones). With
    ``fit_float32`` as well, a float32 numpy array is passed the same way, as
    a float32 view, for a fit that widens it to float64 itself, tile by tile.
    """
    n_total, n_features = features.shape
    rows = None if rows is None or np.all(rows) else np.asarray(rows, dtype=bool)
    n = n_total if rows is None else int(rows.sum())
    out = empty_result(n_features)
    all_rows = np.ones(n, dtype=bool)
    patterns: dict[bytes, list[int]] = {}  # packed missingness mask -> feature columns
    view_dtypes = (np.float64, np.float32) if fit_float32 and not fit_copies else (np.float64,)
    is_view = isinstance(features, np.ndarray) and features.dtype in view_dtypes and rows is None
    width = max(1, n_features) if is_view and not fit_copies else chunk_width(n, block_bytes)
    for start in range(0, n_features, width):
        stop = min(start + width, n_features)
        block = features[:, start:stop] if is_view else column_block(features, columns=slice(start, stop), rows=rows)
        result = fit_block(all_rows, block)
        has_nan = result.pop("has_nan")
        if has_nan.any():
            cols = np.arange(start, stop)
            _store(out, cols[~has_nan], {k: v[~has_nan] for k, v in result.items()})
            for j in np.flatnonzero(has_nan):
                missing = np.isnan(block[:, j])
                patterns.setdefault(np.packbits(missing).tobytes(), []).append(int(cols[j]))
        else:
            _store(out, slice(start, stop), result)
        del block
    row_index = np.arange(n_total) if rows is None else np.flatnonzero(rows)
    for key, members in patterns.items():
        keep = ~np.unpackbits(np.frombuffer(key, dtype=np.uint8), count=n).astype(bool)
        sub_rows = row_index[keep]
        step = chunk_width(int(keep.sum()), block_bytes)
        for start in range(0, len(members), step):
            cols = np.asarray(members[start : start + step])
            result = fit_block(keep, column_block(features, columns=cols, rows=sub_rows))
            result.pop("has_nan")
            _store(out, cols, result)
    return out


def _store(out: dict[str, np.ndarray], cols: np.ndarray | slice, result: dict[str, np.ndarray]) -> None:
    n_features = len(out["beta"])
    for name, values in result.items():
        if name not in out:  # a field this fit adds beyond RESULT_FIELDS
            values = np.asarray(values)
            kind = object if values.dtype == object else float
            out[name] = np.full(n_features, "" if kind is object else np.nan, dtype=kind)
        out[name][cols] = values
