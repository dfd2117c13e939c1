"""BERT family: AntiBERTy-style (one residue per token) and DNABERT-2-style BPE; the real AntiBERTy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from genolens.adapters import load_adapter
from genolens.adapters.bert import BertAdapter
from genolens.io.records import SequenceRecord

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "antiberty"


def _bert_hidden(folder, ids: np.ndarray) -> tuple[torch.Tensor, ...]:
    from transformers import BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids)[None], output_hidden_states=True)
    return tuple(h[0] for h in out.hidden_states)


def test_bert_protein_matches_transformers(bert_protein_dir):
    adapter = load_adapter(bert_protein_dir)
    assert isinstance(adapter, BertAdapter) and adapter.alphabet == "protein"
    records = [SequenceRecord("a", "EVQLVESGGGLVQPGG", "protein"), SequenceRecord("b", "DIQMTQ", "protein")]
    result = adapter.embed(records, layers=[0, 2, 3])
    for rec, acts in zip(records, result.sequences, strict=True):
        hidden = _bert_hidden(bert_protein_dir, adapter.tokenizer.encode(rec.sequence).input_ids)
        for layer in (0, 2, 3):
            torch.testing.assert_close(acts.layers[layer], hidden[layer][1:-1], atol=1e-5, rtol=0)


def test_bert_bpe_matches_transformers_and_spans(bert_bpe_dir):
    adapter = load_adapter(bert_bpe_dir)
    assert adapter.alphabet == "dna"
    seqs = ["ACGTTGCAAGGCTTAACGGATCCGATTACAACGT", "TTAGGCNNACGTAGCTAG", "ACG"]
    records = [SequenceRecord(f"s{i}", s, "dna") for i, s in enumerate(seqs)]
    result = adapter.embed(records, layers=[1, 2])
    for rec, acts in zip(records, result.sequences, strict=True):
        tok = adapter.tokenizer.encode(rec.sequence)
        hidden = _bert_hidden(bert_bpe_dir, tok.input_ids)
        torch.testing.assert_close(acts.layers[2], hidden[2][1:-1], atol=1e-5, rtol=0)
        # spans tile the sequence; a BPE token's activation goes to each base it covers
        assert acts.spans[0, 0] == 0 and acts.spans[-1, 1] == len(rec)
        assert np.array_equal(acts.spans[1:, 0], acts.spans[:-1, 1])
        per_base = acts.base_values(1)
        for row, (s, e) in enumerate(acts.spans):
            assert torch.equal(per_base[s:e], acts.layers[1][row].expand(e - s, -1))
    assert (result.sequences[0].spans[:, 1] - result.sequences[0].spans[:, 0]).max() > 1


def test_antiberty_matches_package_runner():
    """The real AntiBERTy through genolens equals the antiberty runner's embeddings (fixture, transformers 4.57)."""
    meta = json.loads((FIXTURE / "reference.json").read_text())
    ref = load_file(str(FIXTURE / "reference.safetensors"))
    adapter = load_adapter("antiberty")
    assert adapter.num_layers == 8 and adapter.hidden_size == 512
    records = [SequenceRecord(i, s, "protein") for i, s in zip(meta["ids"], meta["sequences"], strict=True)]
    result = adapter.embed(records, layers=meta["layers"])
    for k, (rec, acts) in enumerate(zip(records, result.sequences, strict=True)):
        for layer in meta["layers"]:
            expected = ref[f"emb_L{layer}_{k}"]
            assert expected.shape == (len(rec) + 2, 512)  # runner keeps [CLS] and [SEP]
            torch.testing.assert_close(acts.layers[layer], expected[1:-1], atol=1e-4, rtol=1e-5)
