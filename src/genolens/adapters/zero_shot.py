"""Zero-shot variant scores from the model's own token predictions, and the activations that go with them.

Each reference/alternate window pair is scored by the method its model's objective allows
(:func:`score_method`), recorded beside the score:

* ``llr`` (causal models: HyenaDNA, GPT-2-style protein models): the log-likelihood ratio
  ``sum_t log p(alt_t | alt_<t) - sum_t log p(ref_t | ref_<t)`` over every real token that has a
  real predecessor in the window (the first token has no prediction; special tokens are not scored).
* ``masked_marginal`` (masked models, substitutions): the tokens covering the changed bases are
  masked together in the *reference* window and ``sum log p(alt token) - log p(ref token)`` is read
  at the masked positions (Meier et al. 2021). Falls back to ``pll_span`` when the alternate window
  tokenises differently there (a k-mer tokeniser meeting an N).
* ``pll_span`` (masked models, indels): pseudo-log-likelihood of the changed span, each token
  masked on its own, alternate minus reference. The span is the same offsets in both windows,
  ``[offset, offset + max(len(REF), len(ALT)))``, so both sums have the same number of bases and the
  score is not biased by allele length.

Every window pair goes through the model with the other jobs of its chunk, batched by length
(:func:`genolens.adapters.batching.plan_batches`): the two windows of a pair have the same width, so
a causal model reads them in the same batch, and a masked model's masked copies ride along. Identical
inputs are run once (the reference window that all substitutions of a saturation mutagenesis share, the
one masked copy that scores all three substitutions of a base). The activations of the chosen layer
(real tokens only) come out of the same forward passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genolens.adapters.base import DEFAULT_BATCH_TOKENS, Adapter
from genolens.adapters.batching import pad_batch, plan_batches
from genolens.adapters.heads import LMHead
from genolens.adapters.tokens import Tokenized
from genolens.errors import ConfigError, SequenceError
from genolens.io.records import SequenceRecord

METHODS = ("llr", "masked_marginal", "pll_span")


@dataclass(frozen=True, eq=False)
class WindowPair:
    """A reference and an alternate window whose allele starts at ``offset`` in both.

    Parameters
    ----------
    ref, alt
        The two windows (same alphabet; usually the same width).
    offset
        Where the allele starts in both windows (0-based).
    ref_len, alt_len
        Length of the REF and ALT alleles.
    """

    ref: SequenceRecord
    alt: SequenceRecord
    offset: int
    ref_len: int
    alt_len: int

    @property
    def substitution(self) -> bool:
        """REF and ALT have the same length (SNV or MNV)."""
        return self.ref_len == self.alt_len


@dataclass(frozen=True, eq=False)
class PairScore:
    """The score of one pair and the chosen layer's activations of both windows.

    ``ref_acts``/``alt_acts`` are ``[real tokens, dim]`` float32 on CPU; ``ref_spans``/``alt_spans`` the
    ``[start, end)`` bases each row covers (as :class:`~genolens.adapters.base.SequenceActivations`).
    """

    pair: WindowPair
    score: float
    method: str
    ref_acts: torch.Tensor
    alt_acts: torch.Tensor
    ref_spans: np.ndarray
    alt_spans: np.ndarray

    @property
    def cosine_distance(self) -> float:
        """``1 - cos`` between the mean activations of the two windows."""
        a, b = self.ref_acts.mean(0).double(), self.alt_acts.mean(0).double()
        denom = float(a.norm() * b.norm())
        return float(1.0 - float(a @ b) / denom) if denom > 0 else float("nan")

    @property
    def l2_distance(self) -> float:
        """Euclidean distance between the mean activations of the two windows."""
        return float((self.ref_acts.mean(0).double() - self.alt_acts.mean(0).double()).norm())


def score_method(head: LMHead, pair: WindowPair | None = None) -> str:
    """The scoring method for ``head``'s objective (and, for masked models, the kind of variant).

    Parameters
    ----------
    head
        The model's language-model head.
    pair
        The pair (masked models: substitutions get ``masked_marginal``, indels ``pll_span``).

    Returns
    -------
    str
        One of :data:`METHODS`.
    """
    if head.objective == "clm":
        return "llr"
    return "masked_marginal" if pair is None or pair.substitution else "pll_span"


@dataclass(frozen=True)
class _Job:
    pair: int
    role: str  # "ref", "alt" (plain windows) or "mask" (a masked copy)
    ids: np.ndarray
    # masked copies: (token index, id whose log-prob is read, sign) for each masked token
    reads: tuple[tuple[int, int, int], ...] = ()


def _covering(tok: Tokenized, start: int, end: int) -> np.ndarray:
    """Indices of the real tokens whose span overlaps bases ``[start, end)``."""
    s = tok.spans
    return np.flatnonzero((s[:, 0] >= 0) & (s[:, 0] < end) & (s[:, 1] > start))


def _mask_jobs(i: int, pair: WindowPair, ref: Tokenized, alt: Tokenized, mask_id: int) -> tuple[str, list[_Job]]:
    if pair.substitution:
        changed = [p for p in range(pair.offset, pair.offset + pair.ref_len)
                   if pair.ref.sequence[p] != pair.alt.sequence[p]]
        if changed:
            at = _covering(ref, min(changed), max(changed) + 1)
            same_tokens = len(ref) == len(alt) and np.array_equal(ref.spans[at], alt.spans[at])
            if same_tokens:
                ids = ref.input_ids.copy()
                ids[at] = mask_id
                reads = tuple((int(t), int(alt.input_ids[t]), 1) for t in at) + tuple(
                    (int(t), int(ref.input_ids[t]), -1) for t in at)
                return "masked_marginal", [_Job(i, "mask", ids, reads)]
        else:  # REF == ALT (cannot come from a VCF, but score it 0 rather than divide by nothing)
            return "masked_marginal", []
    span = (pair.offset, pair.offset + max(pair.ref_len, pair.alt_len))
    jobs = []
    for tok, sign in ((ref, -1), (alt, 1)):
        for t in _covering(tok, *span):
            ids = tok.input_ids.copy()
            ids[t] = mask_id
            jobs.append(_Job(i, "mask", ids, ((int(t), int(tok.input_ids[t]), sign),)))
    return "pll_span", jobs


def _causal_log_prob(logp: torch.Tensor, ids: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per row: sum over real tokens t >= 1 with a real predecessor of log p(token t | tokens < t)."""
    targets = ids[:, 1:]
    scored = real[:, 1:] & real[:, :-1]
    lp = logp[:, :-1].gather(-1, targets[..., None])[..., 0]
    return torch.where(scored, lp, torch.zeros_like(lp)).sum(1)


def score_pairs(
    adapter: Adapter,
    pairs: Sequence[WindowPair],
    *,
    head: LMHead,
    layer: int,
    batch_tokens: int = DEFAULT_BATCH_TOKENS,
) -> list[PairScore]:
    """Score ``pairs`` and collect the activations of ``layer`` for both windows, in batched forward passes.

    Parameters
    ----------
    adapter
        The model.
    pairs
        Window pairs (each window must fit the model's context in one piece).
    head
        The model's own language-model head (:func:`genolens.adapters.heads.language_model_head`).
    layer
        Layer whose activations are returned (negative counts from the end).
    batch_tokens
        Padded tokens per forward pass.

    Returns
    -------
    list of PairScore
        One per pair, in input order.
    """
    if batch_tokens <= 0:
        raise ConfigError(f"batch_tokens must be > 0, got {batch_tokens}")
    (layer,) = adapter.check_layers([layer])
    if head.objective == "mlm" and head.mask_id is None:
        raise ConfigError(f"{adapter.name}: the masked-language head has no mask token")
    jobs: list[_Job] = []
    toks: list[tuple[Tokenized, Tokenized]] = []
    methods: list[str] = []
    for i, pair in enumerate(pairs):
        ref, alt = adapter.tokenizer.encode(pair.ref.sequence), adapter.tokenizer.encode(pair.alt.sequence)
        for rec, tok in ((pair.ref, ref), (pair.alt, alt)):
            if rec.alphabet != adapter.alphabet:
                raise SequenceError(f"{adapter.name} reads {adapter.alphabet} sequences", record=rec.id)
            if len(tok) > adapter.max_tokens:
                raise ConfigError(
                    f"window {rec.id} is {len(tok)} tokens, more than {adapter.name}'s context of "
                    f"{adapter.max_tokens}", hint="use a smaller window width",
                )
        toks.append((ref, alt))
        jobs += [_Job(i, "ref", ref.input_ids), _Job(i, "alt", alt.input_ids)]
        if head.objective == "clm":
            methods.append("llr")
        else:
            method, extra = _mask_jobs(i, pair, ref, alt, head.mask_id)
            methods.append(method)
            jobs += extra
    # identical inputs (a window shared by several pairs, the same masked copy) go through the model once
    unique: dict[bytes, int] = {}
    consumers: list[list[_Job]] = []
    for job in jobs:
        key = job.ids.tobytes()
        if key not in unique:
            unique[key] = len(consumers)
            consumers.append([])
        consumers[unique[key]].append(job)
    inputs = [c[0].ids for c in consumers]
    scores = np.zeros(len(pairs), dtype=np.float64)
    acts: dict[tuple[int, str], torch.Tensor] = {}
    final = adapter.num_layers
    plan = plan_batches([len(x) for x in inputs], batch_tokens=batch_tokens)
    for batch in plan.batches:
        ids, attn = pad_batch([inputs[k] for k in batch], pad_id=adapter.tokenizer.pad_id)
        out = adapter.forward(ids, attn, layers=sorted({layer, final}))
        with torch.inference_mode():
            logp = torch.log_softmax(head.logits(out[final].float()), dim=-1).double().cpu()
        causal = None
        if head.objective == "clm":
            real = torch.zeros_like(ids, dtype=torch.bool)
            for row, k in enumerate(batch):
                job = consumers[k][0]
                tok = toks[job.pair][0 if job.role == "ref" else 1]
                real[row, : len(tok)] = torch.from_numpy(tok.spans[:, 0] >= 0)
            causal = _causal_log_prob(logp, ids, real)
        for row, k in enumerate(batch):
            for job in consumers[k]:
                if job.role == "mask":
                    scores[job.pair] += sum(sign * float(logp[row, t, tid]) for t, tid, sign in job.reads)
                    continue
                tok = toks[job.pair][0 if job.role == "ref" else 1]
                keep = torch.from_numpy(np.flatnonzero(tok.spans[:, 0] >= 0))
                a = out[layer][row, : len(tok)]
                acts[(job.pair, job.role)] = a.index_select(0, keep.to(a.device)).float().cpu()
                if causal is not None:
                    scores[job.pair] += float(causal[row]) * (1 if job.role == "alt" else -1)
    result = []
    for i, pair in enumerate(pairs):
        ref, alt = toks[i]
        result.append(PairScore(
            pair, float(scores[i]), methods[i], acts[(i, "ref")], acts[(i, "alt")],
            ref.spans[ref.spans[:, 0] >= 0], alt.spans[alt.spans[:, 0] >= 0],
        ))
    return result


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter).

    Parameters
    ----------
    items
        Any iterable.
    size
        Items per list (> 0).

    Yields
    ------
    list
        The next ``size`` items.
    """
    if size <= 0:
        raise ConfigError(f"chunk size must be > 0, got {size}")
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
