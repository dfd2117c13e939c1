"""Token ids equal the reference tokenisers'; spans cover every base exactly once."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import ANTIBERTY_VOCAB, ESM2_VOCAB, NT_VOCAB, make_bpe_tokenizer

from genolens.adapters.bert import bert_char_tokenizer
from genolens.adapters.esm import esm_tokenizer
from genolens.adapters.hyena import hyena_tokenizer
from genolens.adapters.spans import base_to_token
from genolens.adapters.tokens import BPETokenizer, KmerTokenizer

DNA_CASES = ["ACGTACGTAC", "ACGTNACGTACGG", "NNACGTAC", "ACGTACGN", "AC", "ACGTACGTACGTA", "acgtACGTnnAC", "N"]


def _write(tmp_path, vocab):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    return path


def _covers_each_base_once(spans: np.ndarray, length: int) -> None:
    real = spans[spans[:, 0] >= 0]
    assert np.all(real[:, 1] > real[:, 0])
    assert real[0, 0] == 0 and real[-1, 1] == length
    assert np.array_equal(real[1:, 0], real[:-1, 1])  # contiguous, no overlap, no gap
    assert (base_to_token(spans, length) >= 0).all()


@pytest.mark.parametrize("seq", DNA_CASES)
def test_nt_kmer_ids_match_esm_tokenizer_and_spans(tmp_path, seq):
    from transformers import EsmTokenizer

    vocab_path = _write(tmp_path, NT_VOCAB)
    ref = EsmTokenizer(str(vocab_path))
    tok = esm_tokenizer({t: i for i, t in enumerate(NT_VOCAB)})
    assert isinstance(tok, KmerTokenizer) and tok.k == 6
    out = tok.encode(seq)
    assert out.input_ids.tolist() == ref(seq.upper())["input_ids"]
    _covers_each_base_once(out.spans, len(seq))
    # each token's text is exactly the bases its span covers
    inv = {i: t for i, t in enumerate(NT_VOCAB)}
    for tid, (s, e) in zip(out.input_ids, out.spans, strict=True):
        if s >= 0:
            assert inv[int(tid)] == seq.upper()[s:e]


def test_nt_kmer_spans_explicit():
    tok = esm_tokenizer({t: i for i, t in enumerate(NT_VOCAB)})
    # 6-mer, then N breaks the k-mer: singles until six clean bases follow; a 3-base tail is single bases
    out = tok.encode("ACGTACgtnACGTACGTA")
    real = out.spans[out.spans[:, 0] >= 0].tolist()
    assert real == [[0, 6], [6, 7], [7, 8], [8, 9], [9, 15], [15, 16], [16, 17], [17, 18]]
    assert out.spans[0].tolist() == [-1, -1]  # <cls>
    assert out.spans[-1].tolist() == [-1, -1]  # <eos>


def test_esm2_char_ids_match_esm_tokenizer(tmp_path):
    from transformers import EsmTokenizer

    ref = EsmTokenizer(str(_write(tmp_path, ESM2_VOCAB)))
    tok = esm_tokenizer({t: i for i, t in enumerate(ESM2_VOCAB)})
    for seq in ["MKTAYIAKQR", "MKXB", "A"]:
        out = tok.encode(seq)
        assert out.input_ids.tolist() == ref(seq)["input_ids"]
        _covers_each_base_once(out.spans, len(seq))
    assert tok.encode("mkta").input_ids.tolist() == tok.encode("MKTA").input_ids.tolist()


def test_antiberty_char_ids_match_bert_tokenizer(tmp_path):
    from transformers import BertTokenizer

    # transformers 5 takes the vocabulary as `vocab` (4.x, used by the antiberty runner: `vocab_file`)
    ref = BertTokenizer(vocab=str(_write(tmp_path, ANTIBERTY_VOCAB)), do_lower_case=False)
    tok = bert_char_tokenizer({t: i for i, t in enumerate(ANTIBERTY_VOCAB)})
    for seq in ["EVQLVESGGGLVQ", "EVQLXESGG", "QVKLQESG"]:
        assert tok.encode(seq).input_ids.tolist() == ref(" ".join(seq))["input_ids"]


def test_hyena_char_ids_lowercase_is_not_unknown():
    tok = hyena_tokenizer()
    assert tok.encode("ACGTN").input_ids.tolist() == [7, 8, 9, 10, 11, 1]
    assert tok.encode("acgtn").input_ids.tolist() == [7, 8, 9, 10, 11, 1]
    assert tok.encode("AXC").input_ids.tolist() == [7, 6, 8, 1]
    out = tok.encode("ACG")
    assert out.spans.tolist() == [[0, 1], [1, 2], [2, 3], [-1, -1]]


def test_bpe_spans_from_offsets(tmp_path):
    tok = BPETokenizer.from_file(make_bpe_tokenizer(tmp_path / "tokenizer.json"))
    seq = "ACGTTGCAAGGCTTAACGGATCCGATTACANACGT"
    out = tok.encode(seq.lower())
    _covers_each_base_once(out.spans, len(seq))
    assert out.spans[0].tolist() == [-1, -1] and out.spans[-1].tolist() == [-1, -1]
    widths = out.spans[1:-1, 1] - out.spans[1:-1, 0]
    assert widths.max() > 1  # real multi-base BPE tokens
    vocab = {v: k for k, v in tok._tok.get_vocab().items()}
    for tid, (s, e) in zip(out.input_ids[1:-1], out.spans[1:-1], strict=True):
        if vocab[int(tid)] != "[UNK]":
            assert vocab[int(tid)] == seq[s:e]
