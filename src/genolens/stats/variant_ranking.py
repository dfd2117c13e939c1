"""Variants behind a biomarker: which variants move the SAE features an association found.

Given an association table (``genolens associate``: one row per feature, ``f<i>`` or ``f<i>_<stat>``
names, with p- and q-values) and the variant effects of the cohort's variants in the region
(:func:`genolens.features.variant_effects.variant_effects` with the same SAE), rank, for each
significant feature, the variants by how much they move it: ``|delta_variant| / scale``, the change at
the variant's own bases relative to the feature's range (raw when no scale was recorded).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from genolens.errors import ConfigError
from genolens.features.variant_effects import VariantEffects

RANK_COLUMNS = ("feature", "feature_name", "pvalue", "qvalue", "rank", "variant", "id", "change", "abs_change",
                "score", "method")
_NAME = re.compile(r"^f(\d+)(?:_.*)?$")


def feature_index(name: str) -> int:
    """The SAE feature behind an aggregated feature name (``f12``, ``f12_mean``, ``f12_max``).

    Parameters
    ----------
    name
        A feature name of :func:`genolens.tl.aggregate`.

    Returns
    -------
    int
        The SAE feature index.
    """
    m = _NAME.match(str(name))
    if m is None:
        raise ConfigError(f"feature name {name!r} is not an SAE feature (f<i> or f<i>_<statistic>)")
    return int(m.group(1))


def rank_variants(
    effects: VariantEffects,
    associations: pd.DataFrame,
    *,
    alpha: float = 0.05,
    column: str = "qvalue",
    top: int = 10,
) -> pd.DataFrame:
    """For each feature with ``associations[column] <= alpha``, the ``top`` variants that move it most.

    Parameters
    ----------
    effects
        Variant effects computed with the SAE the associated features come from.
    associations
        Association table with ``feature`` and ``column`` (and ``pvalue``/``qvalue`` when present).
    alpha
        Significance cut on ``column``.
    column
        ``"qvalue"`` or ``"pvalue"``.
    top
        Variants listed per feature.

    Returns
    -------
    pandas.DataFrame
        :data:`RANK_COLUMNS`: per significant feature (most significant first) its variants by decreasing
        ``abs_change`` (``change`` signed: positive means the ALT allele raises the feature).
    """
    if effects.delta_variant is None:
        raise ConfigError("the variant effects were computed without an SAE: no feature changes to rank")
    if "feature" not in associations.columns or column not in associations.columns:
        raise ConfigError(f"the association table needs 'feature' and {column!r} columns")
    if top < 1:
        raise ConfigError(f"top must be >= 1, got {top}")
    scale = effects.scale if effects.scale is not None else np.ones(effects.delta_variant.shape[1])
    hits = associations[associations[column] <= alpha].sort_values(column, kind="stable")
    rows = []
    d_sae = effects.delta_variant.shape[1]
    for hit in hits.itertuples(index=False):
        f = feature_index(hit.feature)
        if not 0 <= f < d_sae:
            raise ConfigError(f"feature {hit.feature!r} is not in the SAE of the variant effects (d_sae {d_sae})")
        change = effects.delta_variant[:, f] / scale[f]
        for rank, i in enumerate(np.argsort(-np.abs(change), kind="stable")[:top], start=1):
            v = effects.table.iloc[int(i)]
            rows.append((f, str(hit.feature), getattr(hit, "pvalue", np.nan), getattr(hit, "qvalue", np.nan), rank,
                         v["variant"], v["id"], float(change[i]), float(abs(change[i])), float(v["score"]),
                         v["method"]))
    return pd.DataFrame(rows, columns=list(RANK_COLUMNS))
