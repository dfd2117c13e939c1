"""Caduceus and Evo 2: what can be tested without their CUDA packages."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny_models import ESM2_VOCAB
from torch import nn

from genolens.adapters import load_adapter
from genolens.adapters.caduceus import CaduceusAdapter, WrappedCharTokenizer
from genolens.adapters.evo2 import ByteTokenizer
from genolens.errors import ConfigError
from genolens.io.records import SequenceRecord


def test_evo2_without_package_names_the_extra(monkeypatch):
    import genolens.adapters.optional as optional

    real = optional.importlib.import_module

    def fake_import(name, *a, **k):
        if name == "evo2":
            raise ImportError("No module named 'evo2'")
        return real(name, *a, **k)

    monkeypatch.setattr(optional.importlib, "import_module", fake_import)
    with pytest.raises(ConfigError, match=r"genolens\[evo2\]"):
        load_adapter("evo2_7b")


def test_caduceus_needs_explicit_trust_then_mamba(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "caduceus", "d_model": 8, "n_layer": 2}))
    with pytest.raises(ConfigError, match="trust_remote_code=True"):
        load_adapter(tmp_path)
    import genolens.adapters.optional as optional

    real = optional.importlib.import_module

    def fake_import(name, *a, **k):
        if name == "mamba_ssm":
            raise ImportError("No module named 'mamba_ssm'")
        return real(name, *a, **k)

    monkeypatch.setattr(optional.importlib, "import_module", fake_import)
    with pytest.raises(ConfigError, match=r"genolens\[caduceus\]"):
        load_adapter(tmp_path, trust_remote_code=True)


def test_evo2_byte_tokenizer():
    out = ByteTokenizer().encode("acgN")
    assert out.input_ids.tolist() == [ord(c) for c in "ACGN"]
    assert out.spans.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]


def test_wrapped_char_tokenizer_spans(tmp_path):
    from transformers import EsmTokenizer

    (tmp_path / "vocab.txt").write_text("\n".join(ESM2_VOCAB))
    tok = WrappedCharTokenizer(EsmTokenizer(str(tmp_path / "vocab.txt")))
    out = tok.encode("MKV")
    assert out.input_ids.tolist() == [0, 20, 15, 7, 2]
    assert out.spans.tolist() == [[-1, -1], [0, 1], [1, 2], [2, 3], [-1, -1]]
    assert tok.n_special == 2


class _Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.mix = nn.Linear(d, d)

    def forward(self, h, residual=None):
        residual = h if residual is None else h + residual
        return torch.tanh(self.mix(residual)).cumsum(1), residual  # bidirectional-ish mixing


class _FakeCaduceus(nn.Module):
    """Module tree shaped like Caduceus (caduceus.backbone.{embeddings,layers,norm_f})."""

    def __init__(self, d=8, n=2):
        super().__init__()
        bb = nn.Module()
        bb.embeddings = nn.Embedding(16, d)
        bb.layers = nn.ModuleList([_Block(d) for _ in range(n)])
        bb.norm_f = nn.LayerNorm(d)
        self.caduceus = nn.Module()
        self.caduceus.backbone = bb

    def forward(self, input_ids):
        bb = self.caduceus.backbone
        h, res, states = bb.embeddings(input_ids), None, []
        for layer in bb.layers:
            states.append(h)
            h, res = layer(h, res)
        states.append(bb.norm_f(h + res))
        return states


def test_caduceus_wiring_on_a_fake_backbone():
    torch.manual_seed(0)
    model = _FakeCaduceus()
    char = SimpleNamespace(pad_token_id=4, model_max_length=64)
    vocab = {c: 7 + i for i, c in enumerate("ACGTN")}
    char.encode = lambda s, add_special_tokens=False: [vocab[c] for c in s]
    char.build_inputs_with_special_tokens = lambda ids: [*ids, 1]
    adapter = CaduceusAdapter(model, WrappedCharTokenizer(char), name="fake", config={"d_model": 8, "n_layer": 2})
    recs = [SequenceRecord("a", "ACGTAC", "dna"), SequenceRecord("b", "GGA", "dna")]
    result = adapter.embed(recs, layers=[1, 2])
    assert result.padded_tokens == result.real_tokens  # never padded: no mask to hide padding
    for rec, acts in zip(recs, result.sequences, strict=True):
        ids = torch.tensor([[vocab[c] for c in rec.sequence] + [1]])
        with torch.no_grad():
            states = model(ids)
        for layer in (1, 2):
            torch.testing.assert_close(acts.layers[layer], states[layer][0, :-1])
        assert np.array_equal(acts.spans[:, 0], np.arange(len(rec)))
