"""Confound diagnostics: how much of each feature ancestry explains, and a category per feature.

The category comes from estimates, not from comparing two significance thresholds ("a difference in
significance is not a significant difference"): the adjusted effect's q-value, the unadjusted
effect's q-value and the q-value of the test of the change between the two
(:mod:`genolens.stats.effect_change`), all BH over the features tested, at one ``alpha``:

- ``biomarker_candidate``: the adjusted effect is significant and the change is not;
- ``both``: the adjusted effect is significant and so is the change (ancestry accounts for part of the
  unadjusted effect, or, with the opposite sign, masked part of it);
- ``ancestry_confounded``: the unadjusted effect is significant, the adjusted one is not, the change
  is significant (an attenuation or a change of sign), the fraction of the unadjusted effect that ancestry
  explains is at least ``min_fraction`` (default 0.5: most of it) by its estimate, and its confidence
  interval excludes small shares (lower bound at least ``min_fraction_low``, default 0.25). Requiring the
  *lower bound* to reach one half, as an earlier rule did, is a test a moderate cohort almost never passes
  (the Fieller interval of a ratio whose denominator is barely significant is wide): on planted pure
  confounds it called 30% of those with a significant unadjusted effect, against 72% now, with every call
  one where ancestry explains most of the effect (``tests/stats/test_confound_power.py``);
- ``unresolved``: significant only without adjustment and not shown to be ancestry's; the ``reason``
  column says why (the change not significant: a confound cannot be told from a loss of power; ancestry's
  share too small or too uncertain; the adjusted effect larger, ancestry masking it);
- ``none``: otherwise.

``ancestry_r2`` (the variance of the feature the PCs explain) is reported beside it as a descriptor and
takes no part in the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from genolens.errors import ConfigError
from genolens.stats.ols import covariate_basis
from genolens.stats.scan import column_sums, scan

CATEGORIES = ("biomarker_candidate", "both", "ancestry_confounded", "unresolved", "none", "untestable")
CHANGE_TESTS = ("sandwich", "clogg")

# The rule, in words, written to associate.json beside the counts.
CATEGORY_RULE = {
    "biomarker_candidate": "qvalue < alpha and qvalue_change >= alpha",
    "both": "qvalue < alpha and qvalue_change < alpha",
    "ancestry_confounded": "qvalue >= alpha, qvalue_unadjusted < alpha, qvalue_change < alpha, |beta| < "
    "|beta_unadjusted| or the sign changed, fraction_explained >= min_fraction and fraction_explained_low >= "
    "min_fraction_low (ancestry explains most of the effect by its estimate, and not merely a small share by its "
    "confidence interval)",
    "unresolved": "qvalue >= alpha, qvalue_unadjusted < alpha, and not ancestry_confounded (column reason: why)",
    "none": "otherwise",
    "untestable": "the feature does not vary enough over the tested samples to be fitted (column reason: "
    "near_constant or too_few_varying); left out of the q-values",
}


@dataclass(frozen=True)
class ConfoundThresholds:
    """Significance level (on BH q-values), confidence level, which test of the change in effect, and the
    share of the unadjusted effect ancestry must explain for a feature to be called ``ancestry_confounded``:
    at least ``min_fraction`` by its estimate, at least ``min_fraction_low`` by the lower bound of its
    confidence interval.

    ``change_test``: ``sandwich`` (regressors random: is the effect confounded in the population sampled)
    or ``clogg`` (Clogg, Petkova & Haritou 1995, conditional on the design; least squares only).
    """

    alpha: float = 0.05
    level: float = 0.95
    change_test: str = "sandwich"
    min_fraction: float = 0.5
    min_fraction_low: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"confidence level must be in (0, 1), got {self.level}")
        if self.change_test not in CHANGE_TESTS:
            raise ConfigError(f"change_test must be one of {list(CHANGE_TESTS)}, got {self.change_test!r}")
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ConfigError(f"min_fraction must be in [0, 1], got {self.min_fraction}")
        if not self.min_fraction_low <= self.min_fraction:
            raise ConfigError(f"min_fraction_low ({self.min_fraction_low}) must be <= min_fraction "
                              f"({self.min_fraction})")


def explained_variance(features: Any, *, predictors: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """R^2 of each feature regressed on ``predictors`` (plus intercept), on its own complete samples."""
    n_total = features.shape[0]
    rows = np.ones(n_total, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    p_rows = np.column_stack([np.ones(int(rows.sum())), np.asarray(predictors, dtype=float)[rows]])
    full = covariate_basis(p_rows)

    def fit(mask: np.ndarray, block: np.ndarray) -> dict[str, np.ndarray]:
        q = full.q if mask.all() else covariate_basis(p_rows[mask]).q
        xc = block - column_sums(block) / block.shape[0]  # NaN columns stay NaN and are flagged
        total = np.einsum("ij,ij->j", xc, xc)
        qtx = q.T @ xc
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.einsum("ij,ij->j", qtx, qtx) / total
        r2[total <= 0] = np.nan
        return {"beta": np.clip(r2, 0.0, 1.0), "has_nan": np.isnan(total)}

    return scan(features, fit_block=fit, rows=rows)["beta"]


def categorise(
    *,
    qvalue: np.ndarray,
    qvalue_unadjusted: np.ndarray,
    qvalue_change: np.ndarray,
    beta: np.ndarray,
    beta_unadjusted: np.ndarray,
    fraction: np.ndarray,
    fraction_low: np.ndarray,
    alpha: float = 0.05,
    min_fraction: float = 0.5,
    min_fraction_low: float = 0.25,
) -> np.ndarray:
    """One category per feature from the adjusted, unadjusted and change q-values (see the module).

    Parameters
    ----------
    qvalue, qvalue_unadjusted, qvalue_change
        BH q-values of the adjusted effect, the unadjusted effect and the change between them (NaN: not
        significant).
    beta, beta_unadjusted
        The adjusted and unadjusted effects (for the direction of the change).
    fraction, fraction_low
        The fraction of the unadjusted effect that ancestry explains, and the lower bound of its interval.
    alpha
        Significance level.
    min_fraction, min_fraction_low
        Smallest ``fraction`` and ``fraction_low`` of an ``ancestry_confounded`` call.

    Returns
    -------
    numpy.ndarray
        Object array of :data:`CATEGORIES`.
    """

    def sig(q: np.ndarray) -> np.ndarray:
        return np.nan_to_num(np.asarray(q, dtype=float), nan=1.0) < alpha

    sig_adj, sig_unadj, sig_change = sig(qvalue), sig(qvalue_unadjusted), sig(qvalue_change)
    b_f, b_r = np.asarray(beta, dtype=float), np.asarray(beta_unadjusted, dtype=float)
    attenuated = (np.abs(b_f) < np.abs(b_r)) | (np.sign(b_f) != np.sign(b_r))
    out = np.full(sig_adj.shape, "none", dtype=object)
    out[sig_adj & ~sig_change] = "biomarker_candidate"
    out[sig_adj & sig_change] = "both"
    lost = ~sig_adj & sig_unadj
    out[lost] = "unresolved"
    share = np.nan_to_num(np.asarray(fraction, dtype=float), nan=-np.inf)
    low = np.nan_to_num(np.asarray(fraction_low, dtype=float), nan=-np.inf)
    mostly = (share >= min_fraction) & (low >= min_fraction_low)
    out[lost & sig_change & attenuated & mostly] = "ancestry_confounded"
    return out


def unresolved_reasons(
    category: np.ndarray,
    *,
    qvalue_change: np.ndarray,
    beta: np.ndarray,
    beta_unadjusted: np.ndarray,
    fraction: np.ndarray,
    fraction_low: np.ndarray,
    thresholds: ConfoundThresholds = ConfoundThresholds(),
) -> np.ndarray:
    """Why each ``unresolved`` feature is not called ``ancestry_confounded`` (``""`` for the other categories).

    Parameters
    ----------
    category
        The categories (:func:`categorise`).
    qvalue_change, beta, beta_unadjusted, fraction, fraction_low
        As :func:`categorise`.
    thresholds
        Its significance level and share thresholds.

    Returns
    -------
    numpy.ndarray
        Object array of reasons in words.
    """
    alpha, min_fraction, min_fraction_low = thresholds.alpha, thresholds.min_fraction, thresholds.min_fraction_low
    out = np.full(len(category), "", dtype=object)
    q = np.nan_to_num(np.asarray(qvalue_change, dtype=float), nan=1.0)
    b_f, b_r = np.asarray(beta, dtype=float), np.asarray(beta_unadjusted, dtype=float)
    share, low = np.asarray(fraction, dtype=float), np.asarray(fraction_low, dtype=float)
    for i in np.flatnonzero(np.asarray(category) == "unresolved"):
        if not q[i] < alpha:
            out[i] = (f"change not significant (qvalue_change {q[i]:.2g}): the adjusted effect may be lost to "
                      "power, not to ancestry")
        elif abs(b_f[i]) >= abs(b_r[i]) and np.sign(b_f[i]) == np.sign(b_r[i]):
            out[i] = "the adjusted effect is larger: ancestry masks part of it; the adjusted test lacks power"
        elif not share[i] >= min_fraction:
            out[i] = (f"ancestry explains {share[i]:.2f} of the effect (< {min_fraction}): the rest lacks power "
                      "after adjustment")
        else:
            out[i] = (f"ancestry's share {share[i]:.2f} is uncertain (lower bound {low[i]:.2f} < "
                      f"{min_fraction_low})")
    return out
