"""Shuffled streaming: each row once per epoch, seeded order, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from store_records import random_records

from genolens.errors import ConfigError
from genolens.store import ActivationStore, ShuffledLoader, StoreConfig, write_store


@pytest.fixture(scope="module")
def store(hyena, tmp_path_factory):
    path = tmp_path_factory.mktemp("loader") / "st"
    cfg = StoreConfig(model="hyenadna-tiny", family="hyenadna", layers=(2,), hidden_size=128, shard_size=800)
    write_store(random_records(20, seed=4), hyena, path, config=cfg)
    return ActivationStore(path)


def _all_rows(store):
    return torch.cat([store.activations(i, 2) for i in range(store.n_shards)])


def _sorted_rows(x):
    """Rows in lexicographic order (a causal model repeats rows, so sort on every column)."""
    arr = x.numpy()
    return arr[np.lexsort(arr.T[::-1])]


def test_every_row_once_per_epoch_bounded_memory(store):
    loader = ShuffledLoader(store, layer=2, batch_size=64, seed=0, buffer_rows=1000)
    batches = list(loader)
    assert all(b.shape == (64, 128) for b in batches[:-1]) and batches[-1].shape[0] <= 64
    got = torch.cat(batches)
    assert np.array_equal(_sorted_rows(got), _sorted_rows(_all_rows(store)))
    largest_shard = max(store.shard_rows(i) for i in range(store.n_shards))
    assert store.n_rows > 3 * 1000
    assert loader.peak_rows <= 1000 + largest_shard


def test_order_is_seeded_and_shuffled(store):
    a = torch.cat(list(ShuffledLoader(store, layer=2, batch_size=32, seed=1, buffer_rows=2000)))
    b = torch.cat(list(ShuffledLoader(store, layer=2, batch_size=32, seed=1, buffer_rows=2000)))
    c = torch.cat(list(ShuffledLoader(store, layer=2, batch_size=32, seed=2, buffer_rows=2000)))
    e1 = torch.cat(list(ShuffledLoader(store, layer=2, batch_size=32, seed=1, buffer_rows=2000).epoch(1)))
    assert torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, e1)
    assert not torch.equal(a, _all_rows(store))  # not the stored order


def test_drop_last_and_errors(store):
    batches = list(ShuffledLoader(store, layer=2, batch_size=100, seed=0, buffer_rows=500, drop_last=True))
    assert all(b.shape[0] == 100 for b in batches)
    assert len(batches) == store.n_rows // 100 or len(batches) >= store.n_rows // 100 - store.n_shards
    with pytest.raises(ConfigError, match="layer 1 is not in the store"):
        ShuffledLoader(store, layer=1, batch_size=10, seed=0)
    with pytest.raises(ConfigError, match="buffer_rows must be >= batch_size"):
        ShuffledLoader(store, layer=2, batch_size=10, seed=0, buffer_rows=5)
