"""Writing a store: contents equal the adapter's output; atomic shards; resume gives identical bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from store_records import random_records

from genolens.errors import ConfigError, InputFileError, InputFormatError
from genolens.store import ActivationStore, StoreConfig, write_store
from genolens.store.format import SHARD_DIR


def _config(hyena, **kw) -> StoreConfig:
    base = {
        "model": "hyenadna-tiny",
        "family": "hyenadna",
        "layers": (1, 3),
        "hidden_size": 128,
        "shard_size": 1500,
        "batch_tokens": 4096,
    }
    return StoreConfig(**{**base, **kw})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_store_holds_what_the_adapter_returns(hyena, tmp_path):
    records = random_records(12)
    summary = write_store(records, hyena, tmp_path / "st", config=_config(hyena, shard_size=800))
    store = ActivationStore(tmp_path / "st")
    assert store.complete and store.n_shards == summary.shards_written > 2
    assert store.n_rows == sum(len(r) for r in records) == summary.rows
    expected = hyena.embed(records, layers=[1, 3]).sequences
    table = store.sequences
    assert table["id"].tolist() == [r.id for r in records]
    for rec, exp in zip(records, expected, strict=True):
        acts, spans = store.sequence(rec.id, 3)
        torch.testing.assert_close(acts, exp.layers[3], atol=1e-4, rtol=0)  # other batches: other FFT sizes
        assert np.array_equal(spans.numpy(), exp.spans)
    # reference coordinates: inserted base -> -1; minus strand runs downwards
    s0 = table.iloc[0]
    ref0 = store.read(int(s0.shard), "row.ref")[int(s0.row_offset) : int(s0.row_offset) + int(s0.rows)]
    assert ref0[5].tolist() == [-1, -1] and ref0[6, 0] == 5 and s0.contig == "22" and s0.strand == "+"
    s1 = table.iloc[1]
    ref1 = store.read(int(s1.shard), "row.ref")[int(s1.row_offset) : int(s1.row_offset) + int(s1.rows)]
    assert ref1[0, 0] == 1000 + records[1].coords.ref_pos.size - 1 and ref1[1, 0] == ref1[0, 0] - 1
    s2 = table.iloc[2]
    assert (store.read(int(s2.shard), "row.ref")[int(s2.row_offset)] == -1).all()  # no coordinates


def test_bfloat16_store(hyena, tmp_path):
    records = random_records(3)
    write_store(records, hyena, tmp_path / "st", config=_config(hyena, dtype="bfloat16"))
    store = ActivationStore(tmp_path / "st")
    assert store.activations(0, 1).dtype == torch.bfloat16


def test_interrupted_run_resumes_to_identical_store(hyena, tmp_path):
    records = random_records(15, seed=1)
    write_store(records, hyena, tmp_path / "once", config=_config(hyena))

    class Stop(Exception):
        pass

    calls = []

    def stop_after_two(n_seq, n_tok):
        calls.append(n_seq)
        if len(calls) == 2:
            raise Stop

    with pytest.raises(Stop):
        write_store(records, hyena, tmp_path / "twice", config=_config(hyena), on_group=stop_after_two)
    with pytest.raises(InputFileError, match="store is unfinished: 2 shard"):
        ActivationStore(tmp_path / "twice")
    partial = ActivationStore(tmp_path / "twice", partial=True)
    assert partial.n_shards == 2 and not partial.complete
    (tmp_path / "twice" / SHARD_DIR / "shard-000002.safetensors.x.tmp").write_bytes(b"half")  # a killed write
    summary = write_store(records, hyena, tmp_path / "twice", config=_config(hyena))
    assert summary.shards_skipped == 2 and summary.shards_written == ActivationStore(tmp_path / "once").n_shards - 2
    assert _snapshot(tmp_path / "twice") == _snapshot(tmp_path / "once")
    # running a finished store again writes nothing and changes nothing
    again = write_store(records, hyena, tmp_path / "twice", config=_config(hyena))
    assert again.shards_written == 0
    assert _snapshot(tmp_path / "twice") == _snapshot(tmp_path / "once")


def test_resume_refuses_other_settings_or_input(hyena, tmp_path):
    records = random_records(6)
    write_store(records, hyena, tmp_path / "st", config=_config(hyena))
    with pytest.raises(ConfigError, match="other settings"):
        write_store(records, hyena, tmp_path / "st", config=_config(hyena, layers=(2,)))
    changed = [*records[:2], random_records(1, seed=9)[0], *records[3:]]
    with pytest.raises(ConfigError, match="input differs"):
        write_store(changed, hyena, tmp_path / "st", config=_config(hyena))
    with pytest.raises(ConfigError, match="shorter"):
        write_store(records[:1], hyena, tmp_path / "st", config=_config(hyena))


def test_reader_errors(tmp_path, hyena):
    with pytest.raises(InputFileError, match="no store.json"):
        ActivationStore(tmp_path)
    write_store(random_records(16), hyena, tmp_path / "st", config=_config(hyena))
    meta = json.loads((tmp_path / "st" / "store.json").read_text())
    (tmp_path / "st" / "store.json").write_text(json.dumps({**meta, "encoding-version": "9.0.0"}))
    with pytest.raises(InputFormatError, match="version '9.0.0' is not supported"):
        ActivationStore(tmp_path / "st")
    (tmp_path / "st" / "store.json").write_text(json.dumps(meta))
    (tmp_path / "st" / SHARD_DIR / "shard-000000.safetensors").unlink()
    with pytest.raises(InputFormatError, match="shard-000000.safetensors is missing"):
        ActivationStore(tmp_path / "st")
    for shard in (tmp_path / "st" / SHARD_DIR).glob("*"):
        shard.unlink()
    with pytest.raises(InputFormatError, match="finished store has 0 shards, complete.json says"):
        ActivationStore(tmp_path / "st")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("layers", (), "layers must not be empty"),
        ("dtype", "float16", "dtype must be"),
        ("shard_size", 0, "shard_size must be > 0"),
        ("batch_tokens", -1, "batch_tokens must be > 0"),
    ],
)
def test_store_config_validation(hyena, field, value, message):
    with pytest.raises(ConfigError, match=message):
        _config(hyena, **{field: value})


def test_a_sequence_longer_than_a_shard_streams_into_it_window_by_window(hyena, tmp_path):
    """Its tiles are written as the model makes them (several pieces, one batch held at a time)."""
    records = random_records(3, seed=4)
    long = random_records(1, seed=5, lo=6000, hi=6000)[0]
    long = type(long)("long", long.sequence, "dna", coords=long.coords)
    pieces = list(hyena.embed_tiles(long, layers=[1, 3], batch_tokens=2048))
    assert len(pieces) > 4 and max(p.end - p.start for p in pieces) < 1024  # bounded pieces, not the sequence
    assert [p.start for p in pieces[1:]] == [p.end for p in pieces[:-1]] and pieces[-1].end == len(long)
    in_memory = hyena.embed([long], layers=[1, 3], batch_tokens=2048).sequences[0]
    torch.testing.assert_close(torch.cat([p.layers[3] for p in pieces]), in_memory.layers[3], atol=1e-4, rtol=0)

    summary = write_store([*records, long], hyena, tmp_path / "st", config=_config(hyena, batch_tokens=2048))
    store = ActivationStore(tmp_path / "st")
    assert summary.rows == store.n_rows == sum(len(r) for r in records) + len(long)
    acts, spans = store.sequence("long", 1)
    torch.testing.assert_close(acts, in_memory.layers[1], atol=1e-4, rtol=0)
    assert spans[:, 0].tolist() == list(range(len(long)))
    assert store.bases("long") == long.sequence and np.array_equal(store.base_ref("long"), long.coords.ref_pos)
    row = store.sequences.set_index("id").loc["long"]
    ref = store.read(int(row.shard), "row.ref")[int(row.row_offset) :]
    assert np.array_equal(ref[:, 0].numpy(), long.coords.ref_pos)
    assert bool(row.per_base)
    for rec in records:  # the short sequences before it in the same shard are untouched
        torch.testing.assert_close(store.sequence(rec.id, 3)[0], hyena.embed([rec], layers=[3]).sequences[0].layers[3],
                                   atol=1e-4, rtol=0)
    assert store.verify().checksums == store.n_shards  # the checksum written after streaming matches
