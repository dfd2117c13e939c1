"""The shared embedding loop: early stop, length bucketing, layer checks, input errors."""

from __future__ import annotations

import pytest
import torch

from genolens.adapters import load_adapter
from genolens.adapters.batching import plan_batches
from genolens.errors import ConfigError, SequenceError
from genolens.io.records import SequenceRecord


def test_forward_stops_at_deepest_requested_layer(esm2_dir):
    adapter = load_adapter(esm2_dir)
    ran = []
    handles = [
        layer.register_forward_hook(lambda m, i, o, k=k: ran.append(k))
        for k, layer in enumerate(adapter.model.encoder.layer)
    ]
    handles.append(adapter.model.encoder.emb_layer_norm_after.register_forward_hook(lambda *a: ran.append("ln")))
    adapter.embed([SequenceRecord("p", "MKTAYIAKQR", "protein")], layers=[1])
    assert ran == [0]  # blocks 2, 3 and the final norm never ran
    ran.clear()
    adapter.embed([SequenceRecord("p", "MKTAYIAKQR", "protein")], layers=[-1])
    assert ran == [0, 1, 2, "ln"]
    for h in handles:
        h.remove()


def test_plan_batches_buckets_by_length_and_reports_waste():
    lengths = [10, 100, 12, 98, 11, 101]
    plan = plan_batches(lengths, batch_tokens=303)
    assert plan.batches == [[5, 1, 3], [2, 4, 0]]
    assert plan.real_tokens == sum(lengths)
    assert plan.padded_tokens == 3 * 101 + 3 * 12
    assert plan.padding_waste == pytest.approx(1 - 332 / 339)
    naive = plan_batches(lengths, batch_tokens=10**6, batch_overhead=10**9)  # one batch: everything padded to 101
    assert naive.padding_waste > 0.4 > plan.padding_waste
    assert plan_batches(lengths, batch_tokens=10**6).batches == plan.batches  # long and short apart
    # a lone long outlier gets its own batch instead of padding everyone to its length
    outlier = plan_batches([142] + [120] * 40, batch_tokens=8192)
    assert outlier.batches[0] == [0] and outlier.padded_tokens == 142 + 120 * 40
    assert plan_batches([500], batch_tokens=10).batches == [[0]]  # an overlong item goes alone


def test_embed_reports_padding_and_keeps_input_order(esm2_dir):
    adapter = load_adapter(esm2_dir)
    recs = [SequenceRecord(f"p{i}", "MK" * n, "protein") for i, n in enumerate([3, 30, 5, 28])]
    result = adapter.embed(recs, layers=[2], batch_tokens=130)
    assert [s.record.id for s in result.sequences] == ["p0", "p1", "p2", "p3"]
    assert [s.n_rows for s in result.sequences] == [6, 60, 10, 56]
    assert result.real_tokens == sum(len(r) + 2 for r in recs)
    assert 0 < result.padding_waste < 0.2


def test_layer_and_input_errors(esm2_dir, nt_dir):
    adapter = load_adapter(esm2_dir)
    with pytest.raises(ConfigError, match="layer 4 does not exist"):
        adapter.embed([SequenceRecord("p", "MK", "protein")], layers=[4])
    with pytest.raises(ConfigError, match="no layers"):
        adapter.check_layers([])
    assert adapter.check_layers([-1, 0, 3]) == [0, 3]
    with pytest.raises(SequenceError, match="reads protein sequences, got a dna"):
        adapter.embed([SequenceRecord("d", "ACGT", "dna")], layers=[1])
    with pytest.raises(ConfigError, match="batch_tokens must be > 0"):
        adapter.embed([SequenceRecord("p", "MK", "protein")], layers=[1], batch_tokens=0)
    with pytest.raises(SequenceError, match="empty sequence"):
        load_adapter(nt_dir).embed([SequenceRecord("e", "", "dna")], layers=[1])


def test_bfloat16_autocast_on_cpu_is_close_to_float32(esm2_dir):
    """The bf16 path (autocast; on CUDA in production) stays within bf16 tolerance of float32."""
    rec = [SequenceRecord("p", "MKTAYIAKQRQISFVKSHFSRQ", "protein")]
    f32 = load_adapter(esm2_dir).embed(rec, layers=[2]).sequences[0].layers[2]
    b16 = load_adapter(esm2_dir, dtype="bfloat16").embed(rec, layers=[2]).sequences[0].layers[2]
    assert b16.dtype == torch.float32
    torch.testing.assert_close(b16, f32, atol=0.1, rtol=0.05)
    assert not torch.equal(b16, f32)  # it really ran in bf16
