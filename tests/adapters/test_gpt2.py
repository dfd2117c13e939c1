"""GPT-2 (causal) family: activations and next-token log-probabilities; the real IgLM and IgLM-S."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genolens.adapters import load_adapter
from genolens.adapters.gpt2 import Gpt2Adapter
from genolens.adapters.tokens import read_vocab
from genolens.errors import ConfigError, SequenceError
from genolens.io.records import SequenceRecord

PROTEINS = ["EVQLVESGGGLVQPGG", "DIQMTQSPSS", "QVQLQESGPGLVKPSETLSLTC", "EVQLXESGG"]
# real variable domains (Abagovomab heavy and light chain, Thera-SAbDab), as in the AntiBERTy fixture
_ANTIBODY = json.loads((Path(__file__).resolve().parents[1] / "data" / "antiberty" / "reference.json").read_text())
CHAINS = dict(zip(("heavy", "light"), _ANTIBODY["sequences"][:2], strict=True))


def _lm_outputs(folder, ids: np.ndarray):
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids)[None], output_hidden_states=True)
    return [h[0] for h in out.hidden_states], torch.log_softmax(out.logits[0], -1)


def test_gpt2_matches_transformers_per_layer_and_log_probs(gpt2_dir):
    adapter = load_adapter(gpt2_dir)
    assert isinstance(adapter, Gpt2Adapter) and adapter.condition == ("[HEAVY]", "[HUMAN]")
    records = [SequenceRecord(f"p{i}", s, "protein") for i, s in enumerate(PROTEINS)]
    result = adapter.embed(records, layers=[0, 1, 3], batch_tokens=40)
    assert result.padded_tokens > result.real_tokens  # right padding in a causal model changes nothing
    scores = adapter.next_token_log_probs(records, batch_tokens=40)
    vocab = adapter.tokenizer.vocab
    for rec, acts, sc in zip(records, result.sequences, scores, strict=True):
        ids = adapter.tokenizer.encode(rec.sequence).input_ids
        assert ids[:2].tolist() == [vocab["[HEAVY]"], vocab["[HUMAN]"]]
        hidden, logp = _lm_outputs(gpt2_dir, ids)
        for layer in (0, 1, 3):
            torch.testing.assert_close(acts.layers[layer], hidden[layer][2:], atol=1e-5, rtol=0)
        # residue i is predicted at the token before it; the end ([SEP]) after the last residue
        torch.testing.assert_close(torch.from_numpy(sc.log_probs), logp[1:-1], atol=1e-5, rtol=0)
        expected = logp[np.arange(1, len(rec) + 1), torch.from_numpy(ids[2:])]
        torch.testing.assert_close(torch.from_numpy(sc.observed), expected, atol=1e-5, rtol=0)
        assert sc.end == pytest.approx(float(logp[-1, vocab["[SEP]"]]), abs=1e-5)
        assert sc.total() == pytest.approx(float(expected.sum()) + sc.end, abs=1e-4)


def test_condition_changes_the_prefix_and_is_checked(gpt2_dir, esm2_dir):
    light = load_adapter(gpt2_dir, condition=["[LIGHT]", "[MOUSE]"])
    vocab = light.tokenizer.vocab
    assert light.tokenizer.encode("EV").input_ids.tolist() == [vocab[t] for t in ("[LIGHT]", "[MOUSE]", "E", "V")]
    heavy = load_adapter(gpt2_dir)
    rec = [SequenceRecord("a", PROTEINS[0], "protein")]
    a, b = light.embed(rec, layers=[2]).sequences[0], heavy.embed(rec, layers=[2]).sequences[0]
    assert not torch.allclose(a.layers[2], b.layers[2])  # the tags condition every position
    with pytest.raises(ConfigError, match=r"unknown conditioning tag.*\[DOG\]"):
        load_adapter(gpt2_dir, condition=["[HEAVY]", "[DOG]"])
    with pytest.raises(ConfigError, match="takes no conditioning tags"):
        load_adapter(esm2_dir, condition=["[HEAVY]"])


def test_log_probs_refuse_what_they_cannot_score(gpt2_dir):
    adapter = load_adapter(gpt2_dir)
    with pytest.raises(SequenceError, match="exceed the context"):
        adapter.next_token_log_probs([SequenceRecord("long", "A" * 60, "protein")])
    with pytest.raises(SequenceError, match="non-empty protein"):
        adapter.next_token_log_probs([SequenceRecord("dna", "ACGT", "dna")])


class _VocabTokenizer:
    """IgLM's runner tokeniser, read from the same vocab.txt.

    IgLM builds ``BertTokenizerFast(vocab_file=...)``, which transformers 5 ignores
    (every token becomes [UNK]); this gives the runner the ids IgLM meant.
    """

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.unk_token_id, self.sep_token_id, self.cls_token_id = vocab["[UNK]"], vocab["[SEP]"], vocab["[CLS]"]
        self.sep_token, self.cls_token = "[SEP]", "[CLS]"

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]


@pytest.mark.parametrize(
    ("name", "runner_name", "layers", "width"), [("iglm", "IgLM", 4, 512), ("iglm-s", "IgLM-S", 3, 192)]
)
def test_iglm_matches_package_runner(name, runner_name, layers, width):
    """The real IgLM through genolens equals iglm's own runner: log-likelihoods and hidden states (1e-5)."""
    runner_mod = importlib.import_module("iglm.model.IgLM")
    runner = runner_mod.IgLM(runner_name)
    runner.tokenizer = _VocabTokenizer(read_vocab(runner_mod.VOCAB_FILE))
    for chain_tag, chain in (("[HEAVY]", "heavy"), ("[LIGHT]", "light")):
        adapter = load_adapter(name, condition=[chain_tag, "[HUMAN]"])
        assert (adapter.num_layers, adapter.hidden_size, adapter.dropped_head) == (layers, width, None)
        rec = SequenceRecord(chain, CHAINS[chain], "protein")
        (score,) = adapter.next_token_log_probs([rec])
        # the runner's log_likelihood: mean log-probability of the residues and the closing [SEP]
        expected = runner.log_likelihood(rec.sequence, chain_tag, "[HUMAN]")
        assert score.total() / (len(rec) + 1) == pytest.approx(expected, abs=1e-5)
        ids = torch.from_numpy(adapter.tokenizer.encode(rec.sequence).input_ids)[None]
        with torch.no_grad():
            hidden = runner.model(ids, output_hidden_states=True).hidden_states
        acts = adapter.embed([rec], layers=list(range(layers + 1))).sequences[0]
        for layer in range(layers + 1):
            torch.testing.assert_close(acts.layers[layer], hidden[layer][0, 2:], atol=1e-5, rtol=0)


def test_language_model_head_is_gpt2s_tied_head(gpt2_dir):
    """Loss recovered scores next tokens with GPT2LMHeadModel's own (tied) head."""
    from genolens.adapters.heads import language_model_head

    adapter = load_adapter(gpt2_dir)
    head = language_model_head(adapter)
    assert head.objective == "clm"
    ids = adapter.tokenizer.encode(PROTEINS[0]).input_ids
    hidden = adapter.forward(torch.from_numpy(ids)[None], torch.ones(1, len(ids)), layers=[3])[3]
    _, logp = _lm_outputs(gpt2_dir, ids)
    with torch.inference_mode():
        got = torch.log_softmax(head.logits(hidden[0]), -1)
    torch.testing.assert_close(got, logp, atol=1e-5, rtol=0)
