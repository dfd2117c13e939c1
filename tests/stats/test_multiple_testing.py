"""BH q-values and lambda GC against independent references."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from genolens.stats.multiple_testing import bh_qvalues, lambda_gc, neg_log10


def test_bh_matches_statsmodels_and_skips_nan():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=200), rng.uniform(0, 1e-4, 20)])
    p[[3, 50]] = np.nan
    q = bh_qvalues(p)
    ok = np.isfinite(p)
    np.testing.assert_allclose(q[ok], multipletests(p[ok], method="fdr_bh")[1], rtol=1e-12)
    assert np.isnan(q[[3, 50]]).all()
    assert np.isnan(bh_qvalues(np.array([np.nan]))).all()


def test_lambda_gc_is_one_under_the_null_and_scales_with_inflation():
    rng = np.random.default_rng(1)
    chi2 = sps.chi2.rvs(1, size=200_000, random_state=rng)
    assert abs(lambda_gc(sps.chi2.sf(chi2, 1)) - 1.0) < 0.02
    assert abs(lambda_gc(sps.chi2.sf(1.5 * chi2, 1)) - 1.5) < 0.03
    assert np.isnan(lambda_gc(np.array([np.nan])))


def test_neg_log10_handles_zero_and_nan():
    out = neg_log10(np.array([1.0, 1e-10, 0.0, np.nan]))
    assert out[0] == 0 and abs(out[1] - 10) < 1e-12 and np.isfinite(out[2]) and np.isnan(out[3])
