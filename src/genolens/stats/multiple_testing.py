"""Multiple-testing corrections and genomic inflation.

Benjamini-Hochberg q-values control the false discovery rate over the features
tested; lambda GC summarises how far the bulk of the test statistics sits above
the null, the usual sign of uncorrected population structure.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

# Median of a chi-square with one degree of freedom.
CHI2_1DF_MEDIAN = float(sps.chi2.ppf(0.5, 1))


def bh_qvalues(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values; NaN p-values stay NaN and are not counted as tests."""
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def lambda_gc(pvalues: np.ndarray) -> float:
    """Genomic inflation factor: median observed 1-df chi-square over its null median (NaN if no tests)."""
    p = np.asarray(pvalues, dtype=float)
    p = p[np.isfinite(p)]
    if p.size == 0:
        return float("nan")
    chi2 = sps.chi2.isf(np.clip(p, 1e-300, 1.0), 1)
    return float(np.median(chi2) / CHI2_1DF_MEDIAN)


def neg_log10(pvalues: np.ndarray) -> np.ndarray:
    """-log10(p), with p = 0 (underflow) mapped to the largest finite value representable."""
    p = np.asarray(pvalues, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log10(np.clip(p, np.finfo(float).tiny, None))
    out[~np.isfinite(p)] = np.nan
    return out
