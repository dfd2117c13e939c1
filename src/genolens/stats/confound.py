"""Confound diagnostics: how much of each feature ancestry explains, and a category per feature.

The category comes from estimates, not from comparing two significance thresholds ("a difference in
significance is not a significant difference"): the adjusted effect's q-value, the unadjusted
effect's q-value and the q-value of the test of the change between the two
(:mod:`genolens.stats.effect_change`), all BH over the features tested, at one ``alpha``:

- ``biomarker_candidate``: the adjusted effect is significant and the change is not;
- ``both``: the adjusted effect is significant and so is the change (ancestry accounts for part of the
  unadjusted effect, or, with the opposite sign, masked part of it);
- ``ancestry_confounded``: the unadjusted effect is significant, the adjusted one is not, the change
  is significant (an attenuation or a change of sign), and the lower confidence bound of the fraction of
  the unadjusted effect that ancestry explains is at least ``min_fraction`` (default 0.5: ancestry
  accounts for most of the effect, not merely for some of it while the rest lacks power);
- ``unresolved``: significant only without adjustment, but the change itself is not significant: the
  data cannot tell a confound from a loss of power;
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
    "|beta_unadjusted| or the sign changed, and fraction_explained_low >= min_fraction",
    "unresolved": "qvalue >= alpha, qvalue_unadjusted < alpha, and not ancestry_confounded",
    "none": "otherwise",
    "untestable": "the feature does not vary enough over the tested samples to be fitted (column reason: "
    "near_constant or too_few_varying); left out of the q-values",
}


@dataclass(frozen=True)
class ConfoundThresholds:
    """Significance level (on BH q-values), confidence level, which test of the change in effect, and the
    smallest fraction of the unadjusted effect (its lower confidence bound) ancestry must explain for a
    feature to be called ``ancestry_confounded``.

    ``change_test``: ``sandwich`` (regressors random: is the effect confounded in the population sampled)
    or ``clogg`` (Clogg, Petkova & Haritou 1995, conditional on the design; least squares only).
    """

    alpha: float = 0.05
    level: float = 0.95
    change_test: str = "sandwich"
    min_fraction: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"confidence level must be in (0, 1), got {self.level}")
        if self.change_test not in CHANGE_TESTS:
            raise ConfigError(f"change_test must be one of {list(CHANGE_TESTS)}, got {self.change_test!r}")
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ConfigError(f"min_fraction must be in [0, 1], got {self.min_fraction}")


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
    fraction_low: np.ndarray,
    alpha: float = 0.05,
    min_fraction: float = 0.5,
) -> np.ndarray:
    """One category per feature from the adjusted, unadjusted and change q-values (see the module).

    Parameters
    ----------
    qvalue, qvalue_unadjusted, qvalue_change
        BH q-values of the adjusted effect, the unadjusted effect and the change between them (NaN: not
        significant).
    beta, beta_unadjusted
        The adjusted and unadjusted effects (for the direction of the change).
    fraction_low
        Lower confidence bound of the fraction of the unadjusted effect that ancestry explains.
    alpha
        Significance level.
    min_fraction
        Smallest ``fraction_low`` of an ``ancestry_confounded`` call.

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
    mostly = np.nan_to_num(np.asarray(fraction_low, dtype=float), nan=-np.inf) >= min_fraction
    out[lost & sig_change & attenuated & mostly] = "ancestry_confounded"
    return out
