"""DNABERT-2 (MosaicBERT): genolens' own implementation against outputs of the original code.

The fixture (tests/data/dnabert2, made by its make_fixture.py) holds a tiny random
checkpoint in DNABERT-2's form and every layer's output computed by DNABERT-2's own
``bert_layers.py`` forward path, one sequence at a time and as a padded batch.
"""

from __future__ import annotations

import builtins
import json
import math
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from testpaths import TESTDATA

from genolens.adapters import load_adapter
from genolens.adapters.checkpoint import family_of
from genolens.adapters.dnabert2 import DnaBert2Adapter, alibi_slopes, mlm_head
from genolens.adapters.heads import language_model_head
from genolens.adapters.hooks import intervene
from genolens.errors import ConfigError, InputFileError
from genolens.io.records import SequenceRecord

FIXTURE = TESTDATA / "dnabert2"
CHECKPOINT = FIXTURE / "checkpoint"


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads((FIXTURE / "reference.json").read_text())


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    return load_file(str(FIXTURE / "reference.safetensors"))


@pytest.fixture(scope="module")
def adapter() -> DnaBert2Adapter:
    return load_adapter(CHECKPOINT)


def test_config_routes_to_native_dnabert2(adapter):
    config = json.loads((CHECKPOINT / "config.json").read_text())
    assert config["model_type"] == "bert" and family_of(config) == "dnabert2"
    assert family_of({"model_type": "bert", "auto_map": {"AutoModel": "bert_layers.BertModel"}}) == "dnabert2"
    assert family_of({"model_type": "bert"}) == "bert"
    assert isinstance(adapter, DnaBert2Adapter) and adapter.alphabet == "dna"
    assert adapter.num_layers == config["num_hidden_layers"] and adapter.hidden_size == config["hidden_size"]


def test_every_layer_equals_original_code(adapter, meta, ref):
    """All sequences in one call (padded batches), every layer, against single and batched original runs."""
    records = [SequenceRecord(name, seq, "dna") for name, seq in meta["sequences"].items()]
    result = adapter.embed(records, layers=meta["layers"])
    assert result.padded_tokens > result.real_tokens  # padding was really exercised
    for rec, acts in zip(records, result.sequences, strict=True):
        assert adapter.tokenizer.encode(rec.sequence).input_ids.tolist() == meta["ids"][rec.id]
        for layer in meta["layers"]:
            for run in ("single", "batch"):
                expected = ref[f"{run}.{rec.id}.L{layer}"][1:-1]  # [CLS] and [SEP] dropped
                torch.testing.assert_close(acts.layers[layer], expected, atol=1e-5, rtol=0)


def test_bpe_spans_cover_bases_with_n_and_lowercase(adapter, meta):
    for name, seq in meta["sequences"].items():
        acts = adapter.embed([SequenceRecord(name, seq, "dna")], layers=[1]).sequences[0]
        spans = acts.spans
        assert spans[0, 0] == 0 and spans[-1, 1] == len(seq)
        assert np.array_equal(spans[1:, 0], spans[:-1, 1])  # contiguous, nothing lost or doubled
        per_base = acts.base_values(1)
        for row, (s, e) in enumerate(spans):
            assert torch.equal(per_base[s:e], acts.layers[1][row].expand(e - s, -1))
    long = adapter.embed([SequenceRecord("long", meta["sequences"]["long"], "dna")], layers=[1]).sequences[0]
    assert (long.spans[:, 1] - long.spans[:, 0]).max() > 1  # real multi-base BPE tokens


def test_lowercase_is_the_same_sequence(adapter):
    upper = SequenceRecord("u", "ACGTTGACAGGCGCGCATATAAT", "dna")
    lower = SequenceRecord("l", "acgtTGACAggcgcgcATATAAT", "dna")
    a, b = adapter.embed([upper, lower], layers=[2]).sequences
    torch.testing.assert_close(a.layers[2], b.layers[2])


def test_alibi_slopes():
    assert alibi_slopes(8) == [2.0**-i for i in range(1, 9)]
    # 6 heads: the 4-head sequence, then every other slope of the 8-head one
    assert alibi_slopes(6) == [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3]
    assert all(math.isclose(a, b) for a, b in zip(alibi_slopes(12)[:8], [2.0**-i for i in range(1, 9)], strict=True))


def test_mlm_head_equals_original(adapter, meta, ref):
    head = language_model_head(adapter)
    assert head.objective == "mlm" and head.mask_id == adapter.tokenizer.vocab["[MASK]"]
    ids = torch.tensor([meta["ids"]["plain"]])
    last = adapter.forward(ids, torch.ones_like(ids), layers=[adapter.num_layers])[adapter.num_layers][0]
    expected = ref["single.plain.logits"]
    with torch.inference_mode():
        logits = head.logits(last)
    torch.testing.assert_close(logits, expected, atol=1e-4 * expected.abs().max().item(), rtol=0)


def test_hooks_write_back(adapter):
    """An edit at layer 1 changes layer 2, and adding zero changes nothing."""
    ids = torch.from_numpy(adapter.tokenizer.encode("ACGTAGGCTTAACGGAT").input_ids)[None]
    mask = torch.ones_like(ids)
    clean = adapter.forward(ids, mask, layers=[2])[2]
    with intervene(adapter, 1, lambda a: a + 0.0):
        same = adapter.forward(ids, mask, layers=[2])[2]
    with intervene(adapter, 1, lambda a: a + 1.0):
        shifted = adapter.forward(ids, mask, layers=[2])[2]
    torch.testing.assert_close(same, clean)
    assert (shifted - clean).abs().max() > 1e-3


def test_never_imports_checkpoint_code(tmp_path, monkeypatch):
    folder = tmp_path / "ckpt"
    shutil.copytree(CHECKPOINT, folder)
    (folder / "bert_layers.py").write_text("raise RuntimeError('checkpoint code was executed')\n")
    real_import = builtins.__import__

    def guard(name, *args, **kwargs):
        assert "bert_layers" not in name
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guard)
    assert load_adapter(folder).family == "dnabert2"


def test_pytorch_bin_weights_load_the_same(tmp_path, adapter):
    folder = tmp_path / "bin"
    shutil.copytree(CHECKPOINT, folder)
    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    other = load_adapter(folder)
    mine, theirs = adapter.model.state_dict(), other.model.state_dict()
    assert mine.keys() == theirs.keys()
    for key, value in mine.items():
        assert torch.equal(value, theirs[key]), key


def test_mismatched_or_headless_checkpoints_are_refused(tmp_path, adapter):
    folder = tmp_path / "bad"
    shutil.copytree(CHECKPOINT, folder)
    state = load_file(str(folder / "model.safetensors"))
    broken = {k.replace("mlp.gated_layers", "mlp.up"): v for k, v in state.items()}
    save_file(broken, str(folder / "model.safetensors"))
    with pytest.raises(InputFileError, match="does not match the DNABERT-2 architecture"):
        load_adapter(folder)
    headless = {k: v for k, v in state.items() if not k.startswith("cls.")}
    save_file(headless, str(folder / "model.safetensors"))
    with pytest.raises(InputFileError, match="no trained masked-LM head"):
        mlm_head(load_adapter(folder).model, folder)


class _NotATensor:
    """Pickled into a fake checkpoint: weights-only loading must refuse to rebuild it."""


def test_pickled_code_in_weights_is_refused(tmp_path):
    folder = tmp_path / "unsafe"
    shutil.copytree(CHECKPOINT, folder)
    (folder / "model.safetensors").unlink()
    torch.save({"bert.embeddings.word_embeddings.weight": _NotATensor()}, folder / "pytorch_model.bin")
    with pytest.raises(InputFileError, match="cannot read weights"):
        load_adapter(folder)


def test_bfloat16_autocast_stays_close_to_float32(meta):
    """ALiBi biases over a few hundred tokens survive the bf16 path (autocast; CUDA in production)."""
    rec = [SequenceRecord("long", meta["sequences"]["long"], "dna")]
    f32 = load_adapter(CHECKPOINT).embed(rec, layers=[3]).sequences[0].layers[3]
    b16 = load_adapter(CHECKPOINT, dtype="bfloat16").embed(rec, layers=[3]).sequences[0].layers[3]
    assert not torch.equal(b16, f32)  # it really ran in bf16
    torch.testing.assert_close(b16, f32, atol=0.1, rtol=0.05)


def test_null_config_values(tmp_path, hyena_dir):
    """An unset pad_token_id means 0; any other architecture field set to null is a clear error."""
    folder = tmp_path / "null_pad"
    shutil.copytree(CHECKPOINT, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "pad_token_id": None}))
    assert load_adapter(folder).model.config.pad_token_id == 0
    (folder / "config.json").write_text(json.dumps({**config, "hidden_size": None}))
    with pytest.raises(ConfigError, match="sets hidden_size to null"):
        load_adapter(folder)
    hyena = tmp_path / "hyena"
    shutil.copytree(hyena_dir, hyena)
    hcfg = json.loads((hyena / "config.json").read_text())
    (hyena / "config.json").write_text(json.dumps({**hcfg, "d_model": None}))
    with pytest.raises(ConfigError, match="sets d_model to null"):
        load_adapter(hyena)
