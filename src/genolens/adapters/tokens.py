"""Tokenisers that also say which bases each token covers.

Every tokeniser returns :class:`Tokenized`: the model's input ids and, per
token, the half-open span ``[start, end)`` of sequence positions it covers;
special tokens (CLS, SEP, EOS) get the span ``(-1, -1)`` and are dropped later.

Three kinds cover the supported families:

* :class:`CharTokenizer`: one token per base or residue (ESM-2, AntiBERTy,
  HyenaDNA, Caduceus). A character missing from the vocabulary becomes the
  unknown token and still covers its one position.
* :class:`KmerTokenizer`: Nucleotide Transformer's 6-mers with single-base
  fallback. Greedy from the left: a k-mer token where the next k bases are all
  in the vocabulary as one k-mer, otherwise one single-base token (``N``, or the
  tail when fewer than k bases are left). This is what NT's own tokeniser does
  (its vocabulary is matched longest-first from the left).
* :class:`BPETokenizer`: a ``tokenizers`` BPE model (DNABERT-2); spans come from
  the tokeniser's own character offsets.

Input is upper-cased first: the vocabularies are upper-case, and HyenaDNA's own
tokeniser turns every lowercase (soft-masked) base into ``[UNK]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPECIAL_SPAN = -1


@dataclass(frozen=True, eq=False)
class Tokenized:
    """Input ids of one sequence and the ``[start, end)`` span of each token (-1 for specials)."""

    input_ids: np.ndarray
    spans: np.ndarray

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def shifted(self, offset: int) -> Tokenized:
        """The same tokens with spans moved by ``offset`` (a window's start in its sequence)."""
        spans = self.spans.copy()
        real = spans[:, 0] >= 0
        spans[real] += offset
        return Tokenized(self.input_ids, spans)


def read_vocab(path: str | Path) -> dict[str, int]:
    """A one-token-per-line vocabulary (``vocab.txt``) as token -> id."""
    tokens = Path(path).read_text().splitlines()
    return {tok.strip(): i for i, tok in enumerate(tokens) if tok.strip()}


def _assemble(
    body_ids: list[int], body_spans: list[tuple[int, int]], prefix: list[int], suffix: list[int]
) -> Tokenized:
    ids = np.asarray(prefix + body_ids + suffix, dtype=np.int64)
    spans = np.full((len(ids), 2), SPECIAL_SPAN, dtype=np.int64)
    if body_spans:
        spans[len(prefix) : len(prefix) + len(body_ids)] = np.asarray(body_spans, dtype=np.int64)
    return Tokenized(ids, spans)


@dataclass(frozen=True)
class CharTokenizer:
    """One token per character; ``prefix``/``suffix`` are the special ids around the sequence."""

    vocab: dict[str, int]
    unk_id: int
    pad_id: int
    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        lut = np.full(256, self.unk_id, dtype=np.int64)
        for tok, idx in self.vocab.items():
            if len(tok) == 1 and ord(tok) < 128:
                lut[ord(tok)] = idx
        object.__setattr__(self, "_lut", lut)

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def encode(self, sequence: str) -> Tokenized:
        seq = sequence.upper()
        raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
        body = self._lut[raw]
        ids = np.concatenate([np.asarray(self.prefix, np.int64), body, np.asarray(self.suffix, np.int64)])
        spans = np.full((len(ids), 2), SPECIAL_SPAN, dtype=np.int64)
        pos = np.arange(len(seq), dtype=np.int64)
        spans[len(self.prefix) : len(self.prefix) + len(seq), 0] = pos
        spans[len(self.prefix) : len(self.prefix) + len(seq), 1] = pos + 1
        return Tokenized(ids, spans)

    def max_bases(self, max_tokens: int) -> int:
        """Longest sequence that fits ``max_tokens`` tokens."""
        return max_tokens - self.n_special


@dataclass(frozen=True)
class KmerTokenizer:
    """Nucleotide Transformer k-mers with single-base fallback (see module docstring)."""

    vocab: dict[str, int]
    k: int
    unk_id: int
    pad_id: int
    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def encode(self, sequence: str) -> Tokenized:
        seq = sequence.upper()
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        i, n, k, vocab = 0, len(seq), self.k, self.vocab
        while i < n:
            kmer = seq[i : i + k] if i + k <= n else None
            if kmer is not None and kmer in vocab:
                ids.append(vocab[kmer])
                spans.append((i, i + k))
                i += k
            else:
                ids.append(vocab.get(seq[i], self.unk_id))
                spans.append((i, i + 1))
                i += 1
        return _assemble(ids, spans, list(self.prefix), list(self.suffix))

    def max_bases(self, max_tokens: int) -> int:
        """Longest sequence that fits ``max_tokens`` tokens when it has no N (k bases per token)."""
        return (max_tokens - self.n_special) * self.k


class BPETokenizer:
    """A ``tokenizers`` model (``tokenizer.json``), e.g. DNABERT-2's BPE; spans from its offsets."""

    def __init__(self, tokenizer, *, pad_id: int) -> None:  # noqa: ANN001 - tokenizers.Tokenizer
        self._tok = tokenizer
        self.pad_id = pad_id
        self.n_special = self._tok.post_processor.num_special_tokens_to_add(False) if self._tok.post_processor else 0

    @property
    def vocab(self) -> dict[str, int]:
        """Token -> id, special tokens included."""
        return self._tok.get_vocab()

    @classmethod
    def from_file(cls, path: str | Path) -> BPETokenizer:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        pad = tok.token_to_id("[PAD]")
        return cls(tok, pad_id=0 if pad is None else pad)

    def encode(self, sequence: str) -> Tokenized:
        enc = self._tok.encode(sequence.upper())
        ids = np.asarray(enc.ids, dtype=np.int64)
        spans = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        special = np.asarray(enc.special_tokens_mask, dtype=bool)
        spans[special] = SPECIAL_SPAN
        return Tokenized(ids, spans)

    def max_bases(self, max_tokens: int) -> int:
        """Longest sequence guaranteed to fit: one base per token in the worst case."""
        return max_tokens - self.n_special
