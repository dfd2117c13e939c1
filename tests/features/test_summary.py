"""The summary pass against a brute-force reference on the planted store, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genolens.errors import ConfigError
from genolens.features.source import StoreSource
from genolens.features.summary import SummaryConfig, _peaks, summarize_features
from genolens.sae.checkpoint import load_sae
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae


@pytest.fixture(scope="module")
def run(planted):
    source = StoreSource(planted["store"])
    sae = load_sae(planted["sae"])
    acts = torch.cat([source.store.activations(s, source.layer) for s in range(source.store.n_shards)]).float()
    with torch.no_grad():
        codes = sae.encode(acts).numpy()
    return source, sae, codes


def test_statistics_match_brute_force(run):
    source, sae, codes = run
    cfg = SummaryConfig(top_n=5, chunk_rows=3000)
    s = summarize_features(source, sae=sae, config=cfg)
    assert s.n_rows == codes.shape[0] == source.n_rows
    np.testing.assert_array_equal(s.fires, (codes > 0).sum(0))
    np.testing.assert_allclose(s.mean, codes.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(s.max, codes.max(0), rtol=1e-6)
    np.testing.assert_array_equal(s.hist.sum(1), s.fires)  # every non-zero value lands in a bin
    nz = codes[:, 0][codes[:, 0] > 0]
    lo, hi = cfg.hist_log10_range
    expected, _ = np.histogram(np.clip(np.log10(nz), lo, hi - 1e-9), bins=cfg.hist_bins, range=(lo, hi))
    np.testing.assert_array_equal(s.hist[0], expected)
    alive = s.fires > 0
    np.testing.assert_allclose(s.top_values[alive, 0], codes.max(0)[alive], rtol=1e-6)
    rows = s.top_rows[alive, 0]
    np.testing.assert_allclose(codes[rows, np.nonzero(alive)[0]], s.top_values[alive, 0], rtol=1e-6)


def test_top_lists_are_sorted_separated_peaks(run):
    source, sae, codes = run
    s = summarize_features(source, sae=sae, config=SummaryConfig(top_n=8, separation=6))
    for f in np.nonzero(s.fires > 0)[0][:40]:
        vals = s.top_values[f][~np.isnan(s.top_values[f])]
        assert np.all(np.diff(vals) <= 0)
        rows = np.sort(s.top_rows[f][s.top_rows[f] >= 0])
        assert np.all(np.diff(rows) > 6)  # no two within the separation window


def test_chunk_size_does_not_change_the_result(run):
    source, sae, _ = run
    a = summarize_features(source, sae=sae, config=SummaryConfig(chunk_rows=4096, separation=0))
    b = summarize_features(source, sae=sae, config=SummaryConfig(chunk_rows=777, separation=0))
    np.testing.assert_array_equal(a.fires, b.fires)
    np.testing.assert_array_equal(a.hist, b.hist)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-9)
    np.testing.assert_allclose(a.top_values, b.top_values)


def test_peaks_marks_first_row_of_plateau_only():
    x = torch.tensor([[0.0, 1.0, 3.0, 3.0, 1.0, 0.0, 2.0]])
    assert _peaks(x, 1).tolist() == [[False, False, True, False, False, False, True]]


def test_bad_config_and_wrong_sae_width(run):
    source, _, _ = run
    with pytest.raises(ConfigError, match="top_n must be > 0"):
        SummaryConfig(top_n=0)
    with pytest.raises(ConfigError, match="high > low"):
        SummaryConfig(hist_log10_range=(1.0, 1.0))
    other = build_sae(make_config("topk", d_in=16, d_sae=32, k=4))
    with pytest.raises(ConfigError, match="16-dimensional"):
        summarize_features(source, sae=other)
