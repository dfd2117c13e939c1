"""ESM-2 and Nucleotide Transformer: activations equal transformers' hidden states; k-mer spans."""

from __future__ import annotations

import numpy as np
import torch

from genolens.adapters import load_adapter
from genolens.adapters.esm import EsmAdapter
from genolens.io.records import SequenceRecord

PROTEINS = [
    "MKTAYIAKQRQISFVKSHFSRQ",
    "MSKGEELFTGVVPILVELD",
    "MKV",
    "MSTNPKPQRKTKRNTNRRPQDVKFPGGGQIVGGVYLLPRRGPRLGVRATRKTSERSQPRGRRQPIPK",
]
DNA = ["ACGTACGTACGTAAC", "ACGTNACGTACGGTTAGCA", "acgtacGTACNNTTGACCAGTA", "ACGTA", "TTGACCAGTACCGATCGATTACAGATCA"]


def _reference_hidden(folder, ids: np.ndarray) -> tuple[torch.Tensor, ...]:
    from transformers import EsmForMaskedLM

    model = EsmForMaskedLM.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids)[None], output_hidden_states=True)
    return tuple(h[0] for h in out.hidden_states)


def test_esm2_matches_transformers_per_layer(esm2_dir):
    adapter = load_adapter(esm2_dir)
    assert isinstance(adapter, EsmAdapter) and adapter.alphabet == "protein" and adapter.num_layers == 3
    records = [SequenceRecord(f"p{i}", s, "protein") for i, s in enumerate(PROTEINS)]
    result = adapter.embed(records, layers=[0, 1, 3], batch_tokens=200)
    assert result.padded_tokens > result.real_tokens  # batched with padding, still equal below
    for rec, acts in zip(records, result.sequences, strict=True):
        tok = adapter.tokenizer.encode(rec.sequence)
        hidden = _reference_hidden(esm2_dir, tok.input_ids)
        for layer in (0, 1, 3):
            ref = hidden[layer][1:-1]  # drop <cls> and <eos>
            assert acts.layers[layer].shape == ref.shape
            torch.testing.assert_close(acts.layers[layer], ref, atol=1e-5, rtol=0)
        assert acts.spans.tolist() == [[i, i + 1] for i in range(len(rec))]


def test_nt_matches_transformers_and_kmer_spans(nt_dir):
    adapter = load_adapter(nt_dir)
    assert adapter.alphabet == "dna" and adapter.tokenizer.k == 6
    assert adapter.max_tokens == 40  # 42 learned positions, offset by padding_idx + 1
    records = [SequenceRecord(f"d{i}", s.upper(), "dna") for i, s in enumerate(DNA)]
    result = adapter.embed(records, layers=[1, 2], batch_tokens=64)
    for rec, acts in zip(records, result.sequences, strict=True):
        tok = adapter.tokenizer.encode(rec.sequence)
        assert tok.input_ids[-1] != 4  # NT: no <eos> when the tokenizer config says so
        hidden = _reference_hidden(nt_dir, tok.input_ids)
        for layer in (1, 2):
            torch.testing.assert_close(acts.layers[layer], hidden[layer][1:], atol=1e-5, rtol=0)
        # per-base rule: a 6-mer's activation is copied to its six bases
        per_base = acts.base_values(2)
        assert per_base.shape == (len(rec), adapter.hidden_size)
        for row, (s, e) in enumerate(acts.spans):
            assert torch.equal(per_base[s:e], acts.layers[2][row].expand(e - s, -1))


def test_lowercase_input_gives_same_activations(nt_dir):
    adapter = load_adapter(nt_dir)
    upper = SequenceRecord("u", DNA[2].upper(), "dna")
    lower = SequenceRecord("l", DNA[2], "dna")  # a record built by hand, not through genolens.io
    tok = adapter.tokenizer
    assert np.array_equal(tok.encode(DNA[2]).input_ids, tok.encode(DNA[2].upper()).input_ids)
    a, b = adapter.embed([upper, lower], layers=[2]).sequences
    torch.testing.assert_close(a.layers[2], b.layers[2], atol=1e-6, rtol=0)
    assert np.array_equal(a.spans, b.spans)
