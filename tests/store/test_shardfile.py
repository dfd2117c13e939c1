"""The shard writer: rows written at offsets give a valid safetensors file; half-written shards never appear."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from genolens.io.tensorfile import DIGEST_KEY, read_header, verify_digest
from genolens.store.shardfile import ShardFile, TensorSpec


def _specs() -> list[TensorSpec]:
    return [TensorSpec("acts", torch.bfloat16, (5, 3)), TensorSpec("idx", torch.int64, (5,)),
            TensorSpec("chars", torch.uint8, (7,))]


def test_rows_written_out_of_order_read_back_equal(tmp_path):
    acts = torch.randn(5, 3).to(torch.bfloat16)
    path = tmp_path / "s.safetensors"
    with ShardFile(path, _specs(), {"k": "v"}, digest=True) as shard:
        shard.write("acts", 3, acts[3:])  # any order: each row goes to its offset
        shard.write("chars", 0, torch.frombuffer(bytearray(b"ACGTNNA"), dtype=torch.uint8))
        shard.write("acts", 0, acts[:3])
        shard.write("idx", 0, torch.arange(5))
    with safe_open(str(path), framework="pt") as f:
        assert torch.equal(f.get_tensor("acts"), acts) and f.get_tensor("idx").tolist() == [0, 1, 2, 3, 4]
        assert bytes(f.get_tensor("chars").tolist()) == b"ACGTNNA" and f.metadata()["k"] == "v"
    header = read_header(path)
    assert header.header_bytes % 8 == 0 and len(header.metadata[DIGEST_KEY]) == 64 and verify_digest(path)
    starts = {name: e["data_offsets"][0] for name, e in header.tensors.items()}
    assert starts["idx"] % 8 == 0 and starts["acts"] % 2 == 0  # every tensor aligned to its item size


def test_a_shard_not_fully_written_or_interrupted_never_appears(tmp_path):
    path = tmp_path / "s.safetensors"
    with pytest.raises(RuntimeError, match="not fully written"), ShardFile(path, _specs(), {}, digest=False) as shard:
        shard.write("idx", 0, torch.arange(5))
    with pytest.raises(ValueError, match="do not fit"), ShardFile(path, _specs(), {}, digest=False) as shard:
        shard.write("idx", 3, torch.arange(5))
    assert list(tmp_path.iterdir()) == []  # neither the shard nor a temporary file is left
