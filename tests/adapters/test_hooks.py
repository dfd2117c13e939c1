"""Hooks: read any layer; replace it or add a vector during the forward pass."""

from __future__ import annotations

import torch

from genolens.adapters import load_adapter
from genolens.adapters.hooks import add_vector, capture, intervene, replace_with


def _ids(adapter, seq):
    ids = torch.from_numpy(adapter.tokenizer.encode(seq).input_ids)[None]
    return ids, torch.ones_like(ids)


def test_capture_reads_every_layer(esm2_dir):
    from transformers import EsmForMaskedLM

    adapter = load_adapter(esm2_dir)
    ids, mask = _ids(adapter, "MKTAYIAKQR")
    with torch.no_grad(), capture(adapter, range(4), stop=False) as acts:
        adapter.model(input_ids=ids, attention_mask=mask)
        ref = EsmForMaskedLM.from_pretrained(str(esm2_dir)).eval()(input_ids=ids, output_hidden_states=True)
    for layer in range(4):
        torch.testing.assert_close(acts[layer], ref.hidden_states[layer], atol=1e-5, rtol=0)


def test_add_vector_at_layer_1_equals_next_block_on_shifted_input(bert_protein_dir):
    from transformers import BertForMaskedLM

    adapter = load_adapter(bert_protein_dir)
    ids, mask = _ids(adapter, "EVQLVESGG")
    vec = torch.randn(adapter.hidden_size)
    with intervene(adapter, 1, add_vector(vec, scale=0.5)):
        steered = adapter.forward(ids, mask, layers=[2])[2]
    plain = adapter.forward(ids, mask, layers=[2])[2]
    assert not torch.allclose(steered, plain)
    # independent reference: run layer 2 of the transformers model on (layer-1 output + 0.5 vec)
    ref_model = BertForMaskedLM.from_pretrained(str(bert_protein_dir)).eval()
    with torch.no_grad():
        h1 = ref_model(input_ids=ids, output_hidden_states=True).hidden_states[1] + 0.5 * vec
        out = ref_model.bert.encoder.layer[1](h1)  # no padding: no attention mask needed
        h2 = out[0] if isinstance(out, tuple) else out
    torch.testing.assert_close(steered, h2, atol=1e-5, rtol=0)


def test_replace_then_downstream_sees_replacement(hyena_dir):
    adapter = load_adapter(hyena_dir)
    ids, mask = _ids(adapter, "ACGTACGTAC")
    zeros = torch.zeros(adapter.hidden_size)
    with intervene(adapter, 1, replace_with(zeros)):
        acts = adapter.forward(ids, mask, layers=[1, 2])
    assert torch.equal(acts[1], torch.zeros_like(acts[1]))
    # block 2 on a zero residual stream, computed directly
    with torch.no_grad():
        expected = adapter.model.backbone.layers[1](torch.zeros_like(acts[1]))
    torch.testing.assert_close(acts[2], expected, atol=1e-6, rtol=0)
    # hooks are removed on exit
    assert not torch.equal(adapter.forward(ids, mask, layers=[1])[1], acts[1])


def test_add_vector_at_positions_only(hyena_dir):
    adapter = load_adapter(hyena_dir)
    ids, mask = _ids(adapter, "ACGTAC")
    vec = torch.ones(adapter.hidden_size)
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[0, 2] = True
    base = adapter.forward(ids, mask, layers=[0])[0]
    with intervene(adapter, 0, add_vector(vec, positions=where)):
        edited = adapter.forward(ids, mask, layers=[0])[0]
    diff = (edited - base).abs().sum(-1)[0]
    assert diff[2] > 0 and diff[torch.arange(diff.numel()) != 2].abs().max() == 0
