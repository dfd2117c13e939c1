"""Every released store format version stays readable (fixtures under tests/data/store_v*)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from genolens.adapters.hyena import HyenaAdapter
from genolens.errors import ConfigError
from genolens.io.fasta import read_fasta
from genolens.io.records import SequenceRecord
from genolens.store import ActivationStore, write_store

DATA = Path(__file__).resolve().parents[1] / "data"
V010, V020, V030 = DATA / "store_v0_1_0", DATA / "store_v0_2_0", DATA / "store_v0_3_0"


def _values_match_the_fixture_model(store: ActivationStore) -> None:
    records = read_fasta(V010 / "input.fa")
    assert store.sequences["id"].tolist() == ["a", "b", "c"]
    assert store.sequences["rows"].tolist() == [len(r) for r in records]
    # values: the fixture's own tiny model, run now, gives what the old store holds
    expected = HyenaAdapter.from_pretrained(V010 / "model").embed(records, layers=[1, 3]).sequences
    for rec, exp in zip(records, expected, strict=True):
        for layer in (1, 3):
            acts, spans = store.sequence(rec.id, layer)
            torch.testing.assert_close(acts, exp.layers[layer], atol=1e-5, rtol=0)
            assert spans[:, 0].tolist() == list(range(len(rec)))


@pytest.mark.parametrize(("root", "version"), [(V010, "0.1.0"), (V020, "0.2.0")])
def test_reads_old_formats(root, version):
    store = ActivationStore(root / "store")
    assert store.version == version and store.complete and store.n_shards == 2
    assert store.layers == (1, 3) and store.config.hidden_size == 8
    assert store.config.model_hash.startswith("sha256:") == (version == "0.2.0")
    _values_match_the_fixture_model(store)
    # no bases before 0.3.0: the reader says so instead of failing
    assert not store.has_bases and store.bases_by_id() is None
    assert store.bases("a") is None and store.base_ref("a") is None
    assert "sha256" not in store.sequences.columns


def test_reads_format_0_3_0_with_its_bases_and_no_checksums():
    store = ActivationStore(V030 / "store")
    assert store.version == "0.3.0" and store.complete and store.n_shards == 2 and store.has_bases
    _values_match_the_fixture_model(store)
    records = read_fasta(V010 / "input.fa")
    assert [store.bases(r.id) for r in records] == [r.sequence for r in records]
    done = store.verify()  # headers, sizes and tables checked; 0.3.0 shards record no data checksum
    assert (done.shards, done.sequences, done.checksums) == (2, 3, 0)


def test_an_old_store_resumes_in_its_own_format_on_ids(tmp_path):
    """A 0.2.0 store interrupted before this genolens resumes as 0.2.0 (IDs checked; no bases, no digests)."""
    out = tmp_path / "store"
    shutil.copytree(V020 / "store", out)
    (out / "complete.json").unlink()
    (out / "shards" / "shard-000001.safetensors").unlink()
    old = ActivationStore(V020 / "store")
    adapter = HyenaAdapter.from_pretrained(V010 / "model")
    records = read_fasta(V010 / "input.fa")
    renamed = [SequenceRecord("z", records[0].sequence, "dna"), *records[1:]]
    with pytest.raises(ConfigError, match="record 'z': input differs from the interrupted run's"):
        write_store(renamed, adapter, out, config=old.config)
    summary = write_store(records, adapter, out, config=old.config)
    assert summary.shards_skipped == 1 and summary.shards_written == 1
    store = ActivationStore(out)
    assert store.complete and store.version == "0.2.0" and not store.has_bases
    with safe_open(str(store.shard_path(1)), framework="pt") as shard:
        meta, keys = shard.metadata(), set(shard.keys())  # noqa: SIM118 - safe_open is not a dict
    assert meta["encoding-version"] == "0.2.0" and not {"base.seq", "base.ref"} & keys
    assert json.loads(meta["sequences"]) == old.shard_sequences(1)  # as the old writer wrote them: no sha256
    _values_match_the_fixture_model(store)
