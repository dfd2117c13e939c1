"""Covariate encoding and the PLINK 2-style collinearity checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genolens.errors import ConfigError
from genolens.stats.design import CollinearityThresholds, build_design, collinearity, encode_columns


def test_categoricals_become_drop_first_indicators_and_missing_rows_drop():
    frame = pd.DataFrame({"age": [30.0, 40.0, np.nan, 50.0], "sex": ["m", "f", "f", None]})
    design = build_design(frame, columns=["age", "sex"])
    assert design.columns == ["intercept", "age", "sex[m]"]
    assert list(design.keep) == [True, True, False, False]
    assert design.n_dropped == 2
    assert design.dropped_by_column == {"age": 1, "sex": 1}
    np.testing.assert_array_equal(design.matrix, [[1, 30, 1], [1, 40, 0]])


def test_unknown_or_single_level_columns_raise():
    frame = pd.DataFrame({"batch": ["a", "a"]})
    with pytest.raises(ConfigError, match="not found"):
        encode_columns(frame, columns=["nope"])
    with pytest.raises(ConfigError, match="fewer than two levels"):
        encode_columns(frame, columns=["batch"])


def test_vif_and_max_correlation_flag_collinear_covariates():
    rng = np.random.default_rng(0)
    n = 500
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    ok = collinearity(np.column_stack([np.ones(n), a, b]), columns=["intercept", "a", "b"])
    assert ok.ok and ok.vif["a"] < 1.1
    # a + b + tiny noise: VIF huge, pairwise correlations moderate
    c = a + b + 0.01 * rng.normal(size=n)
    report = collinearity(np.column_stack([np.ones(n), a, b, c]), columns=["intercept", "a", "b", "c"])
    assert not report.ok
    assert report.vif["c"] > 50 and any("VIF" in p for p in report.problems)
    # exact duplicate: |corr| = 1
    dup = collinearity(np.column_stack([np.ones(n), a, 2 * a + 1]), columns=["intercept", "a", "a2"])
    assert dup.max_corr > 0.999 and set(dup.max_corr_pair) == {"a", "a2"}
    # constant covariate besides the intercept
    const = collinearity(np.column_stack([np.ones(n), a, np.full(n, 3.0)]), columns=["intercept", "a", "k"])
    assert any("constant" in p for p in const.problems)


def test_real_constant_covariate_is_detected(geuvadis, genotypes):
    """GEUVADIS's PHASE1 flag is constant over the samples that are also in the phase-1 VCF."""
    frame = geuvadis.loc[[s for s in geuvadis.index if s in set(genotypes.samples)]]
    design = build_design(frame, columns=["geu_PC1", "geu_PC2", "geu_PHASE1"])
    report = collinearity(design.matrix, columns=design.columns)
    assert report.problems == ["covariate 'geu_PHASE1' is constant"]


@pytest.mark.parametrize("kwargs", [{"vif": 1.0}, {"max_corr": 0.0}, {"max_corr": 1.5}])
def test_thresholds_are_validated(kwargs):
    with pytest.raises(ConfigError):
        CollinearityThresholds(**kwargs)
