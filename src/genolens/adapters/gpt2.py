"""Causal (GPT-2) protein language models: IgLM and other one-token-per-residue GPT-2 checkpoints.

Loads into ``transformers.GPT2Model`` (the LM head of ``GPT2LMHeadModel`` is the
token embedding matrix, tied, so nothing is lost). Tokeniser: the checkpoint's
``vocab.txt``, one token per residue. IgLM conditions every sequence on a chain
and a species tag placed before it (``[HEAVY] [HUMAN] E V Q ...``); those tags are
the adapter's ``condition`` (default ``("[HEAVY]", "[HUMAN]")``, recorded on the
adapter), and the end of a sequence is ``[SEP]``, as in IgLM's own scoring.

Besides per-token activations (layer ``l`` = ``hidden_states[l]``; the last has
GPT-2's final layer norm), :meth:`Gpt2Adapter.next_token_log_probs` gives each
residue's log-probability given the tags and the residues before it, the
quantity zero-shot variant scoring sums.

Deviation from IgLM's runner: it tokenises with ``BertTokenizerFast(vocab_file=...)``,
which transformers 5 no longer reads (every token becomes ``[UNK]`` there); we map
residues to ids from the same ``vocab.txt`` directly (same ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genolens.adapters.base import Adapter, LoadOptions
from genolens.adapters.batching import pad_batch, plan_batches
from genolens.adapters.checkpoint import find_file, load_base_model, read_config
from genolens.adapters.tokens import CharTokenizer, read_vocab
from genolens.errors import ConfigError, SequenceError
from genolens.io.records import SequenceRecord

#: IgLM's conditioning tags: a chain tag, then a species tag
IGLM_CHAINS = ("[HEAVY]", "[LIGHT]")
IGLM_DEFAULT_CONDITION = ("[HEAVY]", "[HUMAN]")
END_TOKEN = "[SEP]"


@dataclass(frozen=True, eq=False)
class NextTokenLogProbs:
    """Next-token log-probabilities over one sequence.

    ``log_probs[i, v]`` is log P(residue ``i`` is token ``v`` | condition, residues ``< i``)
    (``[len(sequence), vocab]``); ``observed[i]`` the value for the residue actually there;
    ``end`` the log-probability of the end token after the last residue (NaN when the
    vocabulary has none).
    """

    record: SequenceRecord
    log_probs: np.ndarray
    observed: np.ndarray
    end: float

    def total(self, *, include_end: bool = True) -> float:
        """Log-likelihood of the sequence: the sum of ``observed`` (plus ``end``)."""
        extra = self.end if include_end and np.isfinite(self.end) else 0.0
        return float(self.observed.sum() + extra)


def condition_ids(vocab: dict[str, int], condition: Sequence[str] | None) -> tuple[int, ...]:
    """Ids of the conditioning tags; IgLM-style vocabularies default to ``[HEAVY] [HUMAN]``."""
    tagged = any(chain in vocab for chain in IGLM_CHAINS)
    if condition is None:
        condition = IGLM_DEFAULT_CONDITION if tagged else ()
    elif not tagged:
        raise ConfigError("this checkpoint's vocabulary has no conditioning tags", hint="leave condition unset")
    tags = sorted(t for t in vocab if t.startswith("[") and t not in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"))
    unknown = [t for t in condition if t not in tags]
    if unknown:
        raise ConfigError(f"unknown conditioning tag(s) {', '.join(unknown)}", hint=f"tags: {', '.join(tags)}")
    return tuple(vocab[t] for t in condition)


class Gpt2Adapter(Adapter):
    """A GPT-2 protein language model through ``transformers.GPT2Model``."""

    family = "gpt2"
    alphabet = "protein"
    takes_condition = True

    def __init__(self, model: nn.Module, tokenizer: CharTokenizer, *, name: str, condition: tuple[str, ...], **kw):  # noqa: ANN003
        self.condition = condition
        cfg = model.config
        super().__init__(
            model,
            tokenizer,
            name=name,
            num_layers=cfg.n_layer,
            hidden_size=cfg.n_embd,
            max_tokens=cfg.n_positions,
            **kw,
        )

    @classmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> Gpt2Adapter:
        """Load a GPT-2 checkpoint; ``options.condition``: conditioning tags placed before every sequence (IgLM)."""
        from transformers import GPT2Model

        if read_config(name_or_path).get("tie_word_embeddings") is False:
            raise ConfigError("GPT-2 checkpoint with an untied LM head", hint="only tied heads are supported")
        backbone = load_base_model(GPT2Model, name_or_path)
        vocab_path = options.tokenizer_path or find_file(name_or_path, "vocab.txt", required=False)
        if vocab_path is None:
            raise ConfigError(
                f"{name_or_path} has no vocab.txt (one token per residue)",
                hint="pass the tokenizer file, or use a short name from genolens.models.short_names() (iglm, iglm-s)",
            )
        vocab = read_vocab(vocab_path)
        prefix = condition_ids(vocab, options.condition)
        tok = CharTokenizer(vocab, vocab["[UNK]"], vocab["[PAD]"], prefix, ())
        names = {i: t for t, i in vocab.items()}
        return cls(
            backbone.model,
            tok,
            name=str(name_or_path),
            condition=tuple(names[i] for i in prefix),
            device=options.device,
            dtype=options.dtype,
            dropped_head=backbone.dropped_head,
        )

    def hook_module(self, layer: int) -> nn.Module:
        m = self.model
        if layer == 0:
            return m.drop  # token + position embeddings (dropout is the identity in eval)
        if layer == self.num_layers:
            return m.ln_f  # transformers' last hidden state is taken after the final layer norm
        return m.h[layer - 1]

    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)

    def next_token_log_probs(
        self, records: Sequence[SequenceRecord], *, batch_tokens: int = 8192
    ) -> list[NextTokenLogProbs]:
        """Each residue's log-probability given the condition and the residues before it (input order).

        Parameters
        ----------
        records
            Protein sequences that fit the context (``max_tokens`` minus the condition).
        batch_tokens
            Padded tokens per forward pass.

        Returns
        -------
        list[NextTokenLogProbs]
            One per record.
        """
        n_prefix = len(self.tokenizer.prefix)
        if n_prefix == 0:
            raise ConfigError(f"{self.name}: next-token scores need a start token (conditioning tags)")
        toks = []
        for rec in records:
            tok = self.tokenizer.encode(rec.sequence)
            if rec.alphabet != self.alphabet or len(rec) == 0:
                raise SequenceError(f"{self.name} scores non-empty protein sequences", record=rec.id)
            if len(tok) > self.max_tokens:
                raise SequenceError(f"{len(tok)} tokens exceed the context of {self.max_tokens}", record=rec.id)
            toks.append(tok)
        end_id = self.tokenizer.vocab.get(END_TOKEN)
        weight = self.model.wte.weight
        out: list[NextTokenLogProbs | None] = [None] * len(records)
        plan = plan_batches([len(t) for t in toks], batch_tokens=batch_tokens)
        for batch in plan.batches:
            ids, mask = pad_batch([toks[i].input_ids for i in batch], pad_id=self.tokenizer.pad_id)
            hidden = self.forward(ids, mask, layers=[self.num_layers])[self.num_layers]
            with torch.inference_mode():
                logp = torch.log_softmax(hidden.float() @ weight.float().T, dim=-1).cpu()
            for row, i in enumerate(batch):
                n = len(records[i])
                # logits at token t predict token t + 1: residues are predicted from the last tag on
                lp = logp[row, n_prefix - 1 : n_prefix + n].numpy()
                body = toks[i].input_ids[n_prefix:]
                observed = lp[np.arange(n), body]
                end = float(lp[n, end_id]) if end_id is not None else float("nan")
                out[i] = NextTokenLogProbs(records[i], lp[:n], observed, end)
        return out  # type: ignore[return-value]
