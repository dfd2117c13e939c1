"""Native HyenaDNA equals the checkpoint's own modelling code (run here on purpose, trust_remote_code=True)."""

from __future__ import annotations

import shutil

import pytest
import torch

from genolens.adapters import load_adapter
from genolens.adapters.hyena import HyenaAdapter, HyenaDNA, hyena_tokenizer
from genolens.errors import ConfigError
from genolens.io.records import SequenceRecord

SEQS = ["ACGTNACGTTGCAAGG" * 30, "ACGTAC", "GGGATTACA" * 11]


def _original(folder):
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(folder), trust_remote_code=True).eval()


def test_native_matches_original_code_on_real_checkpoint(hyena_tiny_real):
    native = HyenaDNA.from_pretrained(hyena_tiny_real).eval()
    assert sum(p.numel() for p in native.parameters()) == 436_096
    original = _original(hyena_tiny_real)
    tok = hyena_tokenizer()
    for seq in SEQS:
        ids = torch.from_numpy(tok.encode(seq).input_ids)[None]
        with torch.no_grad():
            _, ours = native(ids, output_hidden_states=True)
            theirs = original(ids, output_hidden_states=True).hidden_states
        assert len(ours) == len(theirs) == 4
        for a, b in zip(ours, theirs, strict=True):
            assert (a - b).abs().max().item() < 1e-4


def test_random_native_checkpoint_loads_in_original_code(hyena_dir, hyena_tiny_real, tmp_path):
    """A tiny random model saved by genolens, run by the original code: same hidden states."""
    folder = tmp_path / "hyena"
    shutil.copytree(hyena_dir, folder)
    for name in ("configuration_hyena.py", "modeling_hyena.py"):
        shutil.copy(hyena_tiny_real / name, folder / name)
    import json

    cfg = json.loads((folder / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "configuration_hyena.HyenaConfig", "AutoModel": "modeling_hyena.HyenaDNAModel"}
    (folder / "config.json").write_text(json.dumps(cfg))
    original = _original(folder)
    adapter = load_adapter(hyena_dir)
    assert isinstance(adapter, HyenaAdapter) and adapter.num_layers == 3
    records = [SequenceRecord(f"s{i}", s[:60], "dna") for i, s in enumerate(SEQS)]
    result = adapter.embed(records, layers=[0, 1, 2, 3])  # batched: right padding must not leak
    for rec, acts in zip(records, result.sequences, strict=True):
        ids = torch.from_numpy(adapter.tokenizer.encode(rec.sequence).input_ids)[None]
        with torch.no_grad():
            theirs = original(ids, output_hidden_states=True).hidden_states
        for layer in range(4):
            torch.testing.assert_close(acts.layers[layer], theirs[layer][0, :-1], atol=1e-5, rtol=0)


def test_real_hyena_lowercase_equals_uppercase(hyena_tiny_real):
    adapter = load_adapter("hyenadna-tiny")
    a, b = adapter.embed(
        [SequenceRecord("u", "ACGTTGCA" * 10, "dna"), SequenceRecord("l", "acgttgca" * 10, "dna")], layers=[2]
    ).sequences
    assert torch.equal(a.layers[2], b.layers[2])


def test_the_final_layer_norm_layer_is_named_and_out_of_range_layers_are_mapped(hyena_tiny_real):
    adapter = HyenaAdapter.from_pretrained(hyena_tiny_real)
    assert adapter.n_blocks == 2 and adapter.num_layers == 3
    (note,) = adapter.layer_notes([1, 3])
    assert note.startswith("layer 3 ")
    assert "final layer norm's output (after block 2), not a block: the model has 2 blocks" in note
    assert adapter.layer_notes([-1]) == [note] and adapter.layer_notes([0, 2]) == []
    with pytest.raises(ConfigError, match=r"layer 4 does not exist in .*: layers 0..3: 0 = embeddings, "
                                          r"1..2 = its 2 blocks, 3 = the final layer norm after the last block"):
        adapter.check_layers([4])
