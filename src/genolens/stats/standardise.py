"""Standardisation for linear models (probes, the audit, the genotype baseline) fit on a training fold: columns that do
not vary over the training rows are set to 0, not divided by their tiny SD.

``StandardScaler`` divides a column by its SD over the training rows. A column that is constant there up to
floating-point noise (SD ~1e-11, common among per-sample SAE features: a latent that fires in no training sample, or
pooled to the same value in all of them) gets a scale of ~1e-11, and any real variation in the held-out rows becomes
a value of ~1e10 that a ridge probe turns into predictions far off the scale of the target (measured on the dense
main job's 23,552 per-sample features: out-of-fold R² ~ -3e4 with such columns, 0.165 without; the genotype
baseline's R² of -23,263 for CRELD2 came the same way). :class:`Standardiser` standardises only the columns whose
training SD exceeds ``rel_sd`` of their largest absolute value (the ``near_constant`` rule of
:class:`genolens.stats.screen.VariationThresholds`) and sets the others to 0: a column the probe saw no variation in
cannot inform it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from genolens.stats.screen import VariationThresholds

REL_SD = VariationThresholds().rel_sd


class Standardiser(TransformerMixin, BaseEstimator):
    """Centre and scale the columns that vary over the fitting rows; the others become 0.

    Parameters
    ----------
    rel_sd
        A column whose SD over the fitting rows is at most this fraction of its largest absolute value
        there is ``near_constant`` and is not used.
    """

    def __init__(self, rel_sd: float = REL_SD) -> None:
        self.rel_sd = rel_sd

    def fit(self, x: np.ndarray, y: np.ndarray | None = None) -> Standardiser:
        """Learn each column's mean and SD, and which columns vary.

        Parameters
        ----------
        x
            Rows x columns.
        y
            Ignored (pipeline compatibility).

        Returns
        -------
        Standardiser
            ``self``, with ``mean_``, ``scale_`` (1 where not varying) and ``varying_``.
        """
        x = np.asarray(x, dtype=np.float64)
        self.mean_ = x.mean(axis=0)
        sd = x.std(axis=0)
        top = np.abs(x).max(axis=0) if len(x) else np.zeros(x.shape[1])
        self.varying_ = sd > self.rel_sd * top
        self.scale_ = np.where(self.varying_, sd, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised columns (0 for the columns that did not vary when fit).

        Parameters
        ----------
        x
            Rows x the same columns.

        Returns
        -------
        numpy.ndarray
            ``(x - mean) / sd`` on varying columns, 0 elsewhere (float64).
        """
        out = (np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_
        out[:, ~self.varying_] = 0.0
        return out

    def fold_into(self, weight: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A linear model on the standardised columns as one on the raw columns (weight 0 where not varying).

        Parameters
        ----------
        weight
            ``[outputs, columns]`` on the standardised scale.
        intercept
            ``[outputs]``.

        Returns
        -------
        tuple of numpy.ndarray
            ``weight [outputs, columns]`` and ``bias [outputs]`` on the raw scale.
        """
        raw = np.where(self.varying_, np.atleast_2d(weight) / self.scale_, 0.0)
        return raw, np.atleast_1d(intercept) - raw @ self.mean_
