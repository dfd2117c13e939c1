"""Which features vary enough over the tested samples to be tested at all, and each feature's spread.

A feature whose values are identical, or identical up to floating-point noise, in the tested samples
has no information about a phenotype, yet least squares will happily fit it: the slope of a phenotype on
a feature whose spread is 1e-9 is 1e8 or more, and its p-value is whatever the noise makes it. The same
holds in spirit for a feature that differs from its typical value in only two or three people: the test
is then about those people, not about the feature. Such features are reported as untestable, with the
reason, and left out of the multiple-testing correction:

- ``near_constant``: its standard deviation is at most ``rel_sd`` times its largest absolute value
  (activations are float32, whose relative resolution is about 1e-7; aggregating hundreds of tokens and
  batching with different padding leaves relative noise of about 1e-6, so the default of 1e-5 is well
  above what arithmetic alone produces and far below any real difference between people);
- ``too_few_varying``: fewer than ``min_varying`` samples differ from the feature's median by more than
  that same tolerance (the minor-allele-count filter of genotype scans, for any kind of feature).

The feature's standard deviation over the tested samples is also what converts a slope into one *per
standard deviation of the feature*, the scale on which effect sizes of different features can be read
side by side.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from genolens.errors import ConfigError

# Bytes of one dense block of columns while screening (the feature matrix itself is never copied whole).
_BLOCK_BYTES = 64 * 2**20

# Per-feature fields of a scan that stay meaningful for an untestable feature (sample counts).
_KEEP = frozenset({"n", "df"})


@dataclass(frozen=True)
class VariationThresholds:
    """When a feature counts as untestable for lack of variation (see the module docstring).

    Parameters
    ----------
    rel_sd
        A feature whose SD is at most this fraction of its largest absolute value is ``near_constant``.
    min_varying
        A feature with fewer samples away from its median (by more than ``rel_sd`` of its largest absolute
        value) is ``too_few_varying``; 0 turns that rule off.
    """

    rel_sd: float = 1e-5
    min_varying: int = 5

    def __post_init__(self) -> None:
        if not 0.0 <= self.rel_sd < 1.0:
            raise ConfigError(f"rel_sd must be in [0, 1), got {self.rel_sd}")
        if self.min_varying < 0:
            raise ConfigError(f"min_varying must be >= 0, got {self.min_varying}")


@dataclass(frozen=True)
class FeatureSpread:
    """Per feature over the tested samples: SD (ddof 1), samples away from the median, and why untestable.

    ``reason`` is ``""`` for a testable feature, else ``near_constant`` or ``too_few_varying``.
    """

    sd: np.ndarray
    n_varying: np.ndarray
    reason: np.ndarray

    @property
    def untestable(self) -> np.ndarray:
        """Boolean mask of the features that must not be fitted."""
        return self.reason != ""


def feature_spread(
    features: Any,
    *,
    rows: np.ndarray | None = None,
    thresholds: VariationThresholds = VariationThresholds(),
) -> FeatureSpread:
    """Spread of every column of ``features`` (samples x features, dense or sparse) over ``rows``.

    A column's own missing values (NaN) are ignored for that column.

    Parameters
    ----------
    features
        Samples x features, numpy or scipy sparse.
    rows
        Boolean mask of the tested samples (all when None).
    thresholds
        What counts as too little variation.

    Returns
    -------
    FeatureSpread
        SD, number of varying samples and the reason a feature is untestable (``""`` when testable).
    """
    n_total, f = features.shape
    rows = np.ones(n_total, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if rows.shape != (n_total,):
        raise ConfigError(f"rows mask has shape {rows.shape}, expected ({n_total},)")
    n = int(rows.sum())
    sd = np.full(f, np.nan)
    n_varying = np.zeros(f, dtype=np.int64)
    reason = np.full(f, "", dtype=object)
    step = max(1, _BLOCK_BYTES // max(8 * n, 1))
    matrix = features.tocsc() if sp.issparse(features) else features
    for lo in range(0, f, step):
        hi = min(f, lo + step)
        block = matrix[:, lo:hi]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        block = np.asarray(block[rows], dtype=np.float64)
        finite = np.isfinite(block)
        counts = finite.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column is reported, not warned
            scale = np.nanmax(np.abs(block), axis=0)
            spread = np.nanstd(block, axis=0, ddof=1)
            median = np.nanmedian(block, axis=0)
        tol = thresholds.rel_sd * np.where(np.isfinite(scale), scale, 0.0)
        away = (np.abs(block - median) > tol) & finite
        n_varying[lo:hi] = away.sum(axis=0)
        sd[lo:hi] = np.where(counts > 1, spread, np.nan)
        flat = ~(spread > tol) | (counts < 2) | (scale == 0)
        few = ~flat & (n_varying[lo:hi] < thresholds.min_varying)
        reason[lo:hi][flat] = "near_constant"
        reason[lo:hi][few] = "too_few_varying"
    return FeatureSpread(sd=sd, n_varying=n_varying, reason=reason)


def mask_untestable(result: dict[str, np.ndarray], spread: FeatureSpread) -> dict[str, np.ndarray]:
    """A scan's per-feature arrays with the untestable features set to NaN, their reason, and q-values redone.

    Parameters
    ----------
    result
        Per-feature arrays of one scan (``beta``, ``se``, ``pvalue``, ..., optionally ``reason`` and ``qvalue``).
    spread
        :func:`feature_spread` of the same features over the same samples.

    Returns
    -------
    dict
        The same keys; untestable features are NaN in every float array but the sample counts, carry
        their ``reason``, and the BH q-values are computed over the testable features only.
    """
    from genolens.stats.multiple_testing import bh_qvalues

    bad = spread.untestable
    if not bad.any():
        return result
    out = {}
    for key, values in result.items():
        arr = np.asarray(values)
        if key not in _KEEP and arr.shape[:1] == bad.shape and arr.dtype.kind == "f":
            arr = arr.copy()
            arr[bad] = np.nan
        out[key] = arr
    if "reason" in out:
        reason = np.asarray(out["reason"], dtype=object).copy()
        reason[bad] = spread.reason[bad]
        out["reason"] = reason
    if "qvalue" in out:
        out["qvalue"] = bh_qvalues(out["pvalue"])
    return out
