"""Tiling: windows own disjoint regions covering the sequence; 100 kb on a 1 kb model works."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from genolens.adapters import load_adapter
from genolens.adapters.spans import per_base
from genolens.adapters.tiling import plan_windows
from genolens.errors import ConfigError
from genolens.io.records import SequenceRecord


@pytest.mark.parametrize(("length", "window", "overlap"), [(10, 20, 5), (100, 20, 5), (101, 20, 0), (1000, 64, 63)])
def test_windows_partition_the_sequence(length, window, overlap):
    windows = plan_windows(length, window=window, overlap=overlap)
    owned = np.concatenate([np.arange(w.own_start, w.own_end) for w in windows])
    assert np.array_equal(owned, np.arange(length))  # every base exactly once, in order
    for w in windows:
        assert 0 <= w.start <= w.own_start <= w.own_end <= w.end <= length
        assert w.end - w.start == min(window, length)
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.end - b.start >= overlap  # neighbours overlap at least as asked
        assert a.own_end == b.own_start == (a.end + b.start) // 2  # split at the overlap's midpoint


def test_window_errors():
    with pytest.raises(ConfigError, match="overlap"):
        plan_windows(100, window=10, overlap=10)
    with pytest.raises(ConfigError, match="window must be > 0"):
        plan_windows(100, window=0, overlap=0)


def test_100kb_on_hyena_1k_model_stitches_windows():
    adapter = load_adapter("hyenadna-tiny")
    assert adapter.window_bases() == 1025  # 1026 tokens incl. [SEP]
    rng = random.Random(0)
    seq = "".join(rng.choice("ACGT") for _ in range(100_000))
    result = adapter.embed([SequenceRecord("long", seq, "dna")], layers=[2], overlap=256, batch_tokens=16 * 1026)
    acts = result.sequences[0]
    assert result.tiled == 1 and acts.per_base
    assert acts.layers[2].shape == (100_000, 128)
    assert np.array_equal(acts.spans[:, 0], np.arange(100_000))
    # the rule, checked against independent single-window runs at two places
    windows = plan_windows(100_000, window=1025, overlap=256)
    for w in (windows[0], windows[57]):
        alone = adapter.embed([SequenceRecord("w", seq[w.start : w.end], "dna")], layers=[2]).sequences[0]
        base = per_base(alone.layers[2], alone.spans, w.end - w.start)
        torch.testing.assert_close(
            acts.layers[2][w.own_start : w.own_end],
            base[w.own_start - w.start : w.own_end - w.start],
            atol=1e-5,
            rtol=0,
        )


def test_kmer_model_tiles_with_n_rich_windows(nt_dir):
    adapter = load_adapter(nt_dir)  # 40 tokens: 38 k-mers + <cls>
    seq = "ACGTAC" * 60 + "N" * 100 + "TTGACC" * 30
    acts = adapter.embed([SequenceRecord("s", seq, "dna")], layers=[2]).sequences[0]
    assert acts.per_base and acts.layers[2].shape == (len(seq), 32)
    assert not torch.isnan(acts.layers[2]).any()
