"""The interface every model family implements, and the embedding loop they share.

An adapter wraps a loaded model and its tokeniser. Layer ``l`` means what
transformers returns as ``hidden_states[l]`` with ``output_hidden_states=True``:
``0`` is the embedding output, ``l`` the residual stream after block ``l``
(for ESM and HyenaDNA the last entry has the model's final layer norm applied,
exactly as transformers/the original code return it). Each family only says which
module produces each layer (:meth:`Adapter.hook_module`) and how to call the
model; reading, stopping early and writing happen through :mod:`.hooks`.

:meth:`Adapter.embed` tokenises, tiles sequences longer than the context
(:mod:`.tiling`), batches by length (:mod:`.batching`), runs the model under
``torch.inference_mode`` (bf16 autocast on CUDA when asked) up to the deepest
requested layer only, and returns per sequence the activations of its real
tokens (special and padding tokens dropped) with each token's base span.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, Protocol

import numpy as np
import torch
from torch import nn

from genolens.adapters.batching import pad_batch, padding_waste, plan_batches
from genolens.adapters.hooks import StopForward, capture
from genolens.adapters.spans import per_base
from genolens.adapters.tiling import Window, plan_windows, stitch
from genolens.adapters.tokens import Tokenized
from genolens.errors import ConfigError, SequenceError
from genolens.io.records import SequenceRecord

DType = Literal["float32", "bfloat16"]
DTYPES: tuple[str, ...] = ("float32", "bfloat16")


def check_dtype(dtype: str) -> DType:
    """``dtype`` if it is one genolens computes and stores in (``float32``, ``bfloat16``), else a ConfigError.

    Parameters
    ----------
    dtype
        The name to check.

    Returns
    -------
    str
        The same name.
    """
    if dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype  # type: ignore[return-value]

DEFAULT_BATCH_TOKENS = 8192


class Tokenizer(Protocol):
    pad_id: int
    n_special: int

    def encode(self, sequence: str) -> Tokenized: ...

    def max_bases(self, max_tokens: int) -> int: ...


@dataclass(frozen=True, eq=False)
class SequenceActivations:
    """Activations of one sequence: ``layers[l]`` is ``[rows, dim]`` float32 on CPU.

    ``spans[i] = (start, end)`` are the bases (0-based, half-open, in
    ``record.sequence``) that row ``i`` covers. Normally a row is a token; for a
    sequence that was tiled (longer than the context) rows are bases
    (``per_base=True``, spans of width 1), stitched by :mod:`.tiling`'s rule.
    """

    record: SequenceRecord
    layers: dict[int, torch.Tensor]
    spans: np.ndarray
    per_base: bool = False

    @property
    def n_rows(self) -> int:
        return int(self.spans.shape[0])

    def base_values(self, layer: int) -> torch.Tensor:
        """``[len(sequence), dim]`` per-base activations of ``layer`` (token value copied to each base it covers)."""
        return per_base(self.layers[layer], self.spans, len(self.record))


@dataclass(frozen=True, eq=False)
class EmbedResult:
    """Activations in input order, with the token counts that batching cost."""

    sequences: list[SequenceActivations]
    real_tokens: int
    padded_tokens: int
    tiled: int = 0

    @property
    def padding_waste(self) -> float:
        return padding_waste(self.real_tokens, self.padded_tokens)


@dataclass(frozen=True, eq=False)
class TilePiece:
    """Per-base activations ``layers[l]`` ``[end - start, dim]`` of bases ``[start, end)`` of one sequence.

    ``real_tokens`` / ``padded_tokens`` count the forward pass that made it, on the first piece of
    each batch only (summing over pieces counts each pass once).
    """

    start: int
    end: int
    layers: dict[int, torch.Tensor]
    real_tokens: int = 0
    padded_tokens: int = 0


@dataclass(frozen=True)
class _Item:
    record: int
    tokens: Tokenized
    window: Window | None = None


@dataclass(frozen=True)
class LoadOptions:
    """What :meth:`Adapter.from_pretrained` passes to a family's loader, once checked.

    Parameters
    ----------
    device, dtype
        Where and in what precision the model runs.
    tokenizer_path
        The tokeniser's own file or folder, or None (beside the weights).
    trust_remote_code
        Whether the checkpoint's own modelling code may run.
    condition
        Conditioning tags placed before every sequence, or None.
    """

    device: str = "cpu"
    dtype: DType = "float32"
    tokenizer_path: str | Path | None = None
    trust_remote_code: bool = False
    condition: tuple[str, ...] | None = None


@dataclass
class Adapter(ABC):
    """A model, its tokeniser and what genolens needs to know about them.

    Each family's ``from_pretrained`` builds one (:func:`genolens.models.load` picks the family).

    Parameters
    ----------
    model
        The model (put in eval mode on ``device``).
    tokenizer
        Sequence -> token IDs with the bases or residues each token covers.
    name
        Model name, as recorded in stores.
    num_layers
        The last layer index (layers ``0..num_layers``: 0 = embeddings, then the blocks, and for
        ``final_norm_layer`` families the final layer norm).
    hidden_size
        Width of the activations.
    max_tokens
        Context length in tokens (longer sequences are tiled).
    device
        Where the model runs.
    dtype
        ``"float32"``, or ``"bfloat16"`` (autocast).
    dropped_head
        A task head the checkpoint had and the backbone left out, or None.
    """

    family: ClassVar[str]
    alphabet: ClassVar[Literal["dna", "protein"]]
    #: whether padded positions can influence real ones only through the attention mask
    uses_attention_mask: ClassVar[bool] = True
    #: whether the last layer index is the final layer norm's output rather than a block's (HyenaDNA)
    final_norm_layer: ClassVar[bool] = False
    #: the checkpoint's own modelling code must run (Caduceus): loading needs ``trust_remote_code=True``
    needs_remote_code: ClassVar[bool] = False
    #: the tokeniser can come from a file or folder of its own (``tokenizer_path``)
    takes_tokenizer_path: ClassVar[bool] = True
    #: conditioning tags can be placed before every sequence (IgLM)
    takes_condition: ClassVar[bool] = False
    #: where and in what precision :meth:`from_pretrained` runs the model unless told (Caduceus and Evo 2: CUDA,
    #: bfloat16, as their kernels need)
    default_device: ClassVar[str] = "cpu"
    default_dtype: ClassVar[DType] = "float32"

    model: nn.Module
    tokenizer: Tokenizer
    name: str
    num_layers: int
    hidden_size: int
    max_tokens: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: DType = "float32"
    #: a task head the checkpoint had and the backbone left out (see ``checkpoint.Backbone``)
    dropped_head: str | None = None

    def __post_init__(self) -> None:
        check_dtype(self.dtype)
        self.device = torch.device(self.device)
        self.model.eval().to(self.device)

    # -- loading: one public entry point, one loader per family --------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | None = None,
        dtype: DType | None = None,
        tokenizer_path: str | Path | None = None,
        trust_remote_code: bool = False,
        condition: Sequence[str] | None = None,
    ) -> Adapter:
        """Load a checkpoint of this family (weights through safetensors or ``torch.load(weights_only=True)``).

        Options the family does not declare (``takes_tokenizer_path``, ``needs_remote_code``,
        ``takes_condition``) are refused (:meth:`check_options`); the family's :meth:`_load` does the rest.

        Parameters
        ----------
        name_or_path
            Checkpoint folder or file (or hub id where the family's loader accepts one).
        device, dtype
            Where and in what precision the model runs (None: the family's ``default_device`` and
            ``default_dtype``, the CPU in float32 but for Caduceus and Evo 2).
        tokenizer_path
            The tokeniser's own file or folder, when it is not beside the weights.
        trust_remote_code
            Allow the checkpoint's own modelling code (families with ``needs_remote_code`` only).
        condition
            Conditioning tags placed before every sequence (families with ``takes_condition`` only).

        Returns
        -------
        Adapter
            The loaded model behind the common interface.
        """
        cls.check_options(str(name_or_path), tokenizer_path=tokenizer_path, trust_remote_code=trust_remote_code,
                          condition=condition)
        options = LoadOptions(device=device or cls.default_device, dtype=dtype or cls.default_dtype,
                              tokenizer_path=tokenizer_path,
                              trust_remote_code=trust_remote_code,
                              condition=None if condition is None else tuple(condition))
        return cls._load(name_or_path, options)

    @classmethod
    @abstractmethod
    def _load(cls, name_or_path: str | Path, options: LoadOptions) -> Adapter:
        """Load a checkpoint of this family with options already checked (see :meth:`from_pretrained`).

        Parameters
        ----------
        name_or_path
            Checkpoint folder or file.
        options
            Device, precision, tokeniser path, remote-code permission and conditioning tags.

        Returns
        -------
        Adapter
            The loaded model.
        """

    @classmethod
    def check_options(
        cls,
        name: str,
        *,
        tokenizer_path: str | Path | None = None,
        trust_remote_code: bool = False,
        condition: Sequence[str] | None = None,
    ) -> None:
        """Refuse an option this family does not use, instead of ignoring it silently.

        Parameters
        ----------
        name
            The model, for the message.
        tokenizer_path, trust_remote_code, condition
            As :meth:`from_pretrained`.

        Raises
        ------
        ConfigError
            For a tokeniser path, remote-code permission or conditioning tags the family does not take.
        """
        if tokenizer_path is not None and not cls.takes_tokenizer_path:
            raise ConfigError(f"{name} ({cls.family}) has a fixed tokeniser; a tokeniser path does not apply")
        if trust_remote_code and not cls.needs_remote_code:
            raise ConfigError(
                f"{name} ({cls.family}) runs genolens' own implementation: trust_remote_code does not apply",
                hint="leave --trust-remote-code off for this model",
            )
        if condition is not None and not cls.takes_condition:
            raise ConfigError(f"{name} ({cls.family}) takes no conditioning tags")

    @abstractmethod
    def hook_module(self, layer: int) -> nn.Module:
        """The module whose output is layer ``layer`` (0 = embeddings ... ``num_layers``).

        Parameters
        ----------
        layer
            A layer index, already checked.

        Returns
        -------
        torch.nn.Module
            The module the hooks attach to.
        """

    @abstractmethod
    def _call_model(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
        """Run the model's forward pass (hooks collect what is needed)."""

    # -- shared ---------------------------------------------------------------------------
    def check_layers(self, layers: Iterable[int]) -> list[int]:
        """Requested layers, negatives counted from the end, validated, sorted, unique.

        Parameters
        ----------
        layers
            Layer indices (``-1`` = the last); an index out of range is an error listing what each one is.

        Returns
        -------
        list of int
            The layers as non-negative indices.
        """
        out = set()
        for layer in layers:
            norm = layer + self.num_layers + 1 if layer < 0 else layer
            if not 0 <= norm <= self.num_layers:
                raise ConfigError(f"layer {layer} does not exist in {self.name}: {self.layer_map()}")
            out.add(norm)
        if not out:
            raise ConfigError("no layers requested")
        return sorted(out)

    @property
    def n_blocks(self) -> int:
        """The model's blocks (transformer or Hyena layers)."""
        return self.num_layers - 1 if self.final_norm_layer else self.num_layers

    def layer_map(self) -> str:
        """What each layer index is, e.g. ``layers 0..3: 0 = embeddings, 1..2 = blocks, 3 = final layer norm``.

        Returns
        -------
        str
            One line.
        """
        blocks = f"1..{self.n_blocks} = its {self.n_blocks} blocks" if self.n_blocks > 1 else "1 = its block"
        norm = f", {self.num_layers} = the final layer norm after the last block" if self.final_norm_layer else ""
        return f"layers 0..{self.num_layers}: 0 = embeddings, {blocks}{norm}; negative counts from the end"

    def layer_notes(self, layers: Iterable[int]) -> list[str]:
        """Notes on requested layers that are not what their number suggests (a final layer norm's output).

        Parameters
        ----------
        layers
            Requested layer indices.

        Returns
        -------
        list of str
            One note per such layer (empty for most families).
        """
        if not self.final_norm_layer:
            return []
        return [
            f"layer {layer} of {self.name} is the final layer norm's output (after block {self.n_blocks}), "
            f"not a block: the model has {self.n_blocks} blocks"
            for layer in self.check_layers(layers) if layer == self.num_layers
        ]

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == "bfloat16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, *, layers: Sequence[int]
    ) -> dict[int, torch.Tensor]:
        """``{layer: [batch, tokens, dim]}`` for a padded batch; stops after the deepest layer.

        Parameters
        ----------
        input_ids
            ``[batch, tokens]`` token IDs, padded.
        attention_mask
            ``[batch, tokens]``, 1 on real tokens.
        layers
            Layers to return.

        Returns
        -------
        dict of int to torch.Tensor
            The activations of each layer, on the adapter's device.
        """
        layers = self.check_layers(layers)
        with (
            torch.inference_mode(),
            self._autocast(),
            capture(self, layers, stop=True) as acts,
            contextlib.suppress(StopForward),
        ):
            self._call_model(input_ids.to(self.device), attention_mask.to(self.device))
        return dict(acts)

    def window_bases(self) -> int:
        """Bases per window when tiling (the longest sequence that is sure to fit the context).

        Returns
        -------
        int
            The window width in bases (residues).
        """
        return self.tokenizer.max_bases(self.max_tokens)

    def fits(self, sequence: str) -> bool:
        """True when ``sequence`` goes through the model in one window (is not tiled).

        Parameters
        ----------
        sequence
            Bases or residues, upper-case.

        Returns
        -------
        bool
            Whether its tokens fit the context.
        """
        return self._whole_tokens(sequence) is not None

    def _whole_tokens(self, sequence: str) -> Tokenized | None:
        """The tokens of ``sequence`` when it fits the context, else None.

        A long sequence is judged on a prefix (twice a window, doubling while it fits), so
        deciding never tokenises much more than the context.
        """
        probe = 2 * max(self.window_bases(), 1)
        while True:
            tok = self.tokenizer.encode(sequence[:probe])
            if len(tok) > self.max_tokens:
                return None
            if probe >= len(sequence):
                return tok
            probe *= 2

    def _check_record(self, rec: SequenceRecord) -> None:
        if rec.alphabet != self.alphabet:
            raise SequenceError(
                f"{self.name} reads {self.alphabet} sequences, got a {rec.alphabet} sequence", record=rec.id
            )
        if len(rec) == 0:
            raise SequenceError("empty sequence", record=rec.id)

    def _items(self, records: Sequence[SequenceRecord], overlap: int | None) -> tuple[list[_Item], int]:
        items: list[_Item] = []
        tiled = 0
        for ri, rec in enumerate(records):
            self._check_record(rec)
            whole = self._whole_tokens(rec.sequence)
            if whole is not None:
                items.append(_Item(ri, whole))
                continue
            tiled += 1
            items.extend(
                _Item(ri, self.tokenizer.encode(rec.sequence[w.start : w.end]).shifted(w.start), w)
                for w in self.plan_tiles(rec.sequence, overlap)
            )
        return items, tiled

    def plan_tiles(self, seq: str, overlap: int | None) -> list[Window]:
        """The windows a sequence longer than the context is tiled into (rule in :mod:`.tiling`).

        Parameters
        ----------
        seq
            Bases or residues, upper-case.
        overlap
            Overlap of neighbouring windows in bases (None: a quarter window).

        Returns
        -------
        list of Window
            Half-open windows covering the sequence, each fitting the context.
        """
        # k-mer tokenisers: a window with many N needs more tokens than window_bases() assumes;
        # then fall back to windows that fit even at one base per token.
        for attempt in (self.window_bases(), self.max_tokens - self.tokenizer.n_special):
            ov = attempt // 4 if overlap is None else min(overlap, attempt - 1)
            windows = plan_windows(len(seq), window=attempt, overlap=ov)
            if all(len(self.tokenizer.encode(seq[w.start : w.end])) <= self.max_tokens for w in windows):
                return windows
        raise AssertionError("a window of max_tokens - specials bases always fits")  # pragma: no cover

    def embed_tiles(
        self,
        record: SequenceRecord,
        *,
        layers: Sequence[int],
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        overlap: int | None = None,
    ) -> Iterator[TilePiece]:
        """Per-base activations of a long sequence, streamed window by window in base order.

        Each piece holds the bases one window owns (the stitching rule of :mod:`.tiling`, so
        the pieces concatenate to what :meth:`embed` gives for a tiled sequence). Only one
        batch of windows is held at a time: memory does not grow with the sequence.
        Consecutive windows are batched up to ``batch_tokens`` padded tokens.

        Parameters
        ----------
        record
            The sequence (any length; one that fits the context is a single piece).
        layers
            Layers to return.
        batch_tokens
            Padded tokens per forward pass.
        overlap
            Tiling overlap in bases (default a quarter window).

        Returns
        -------
        Iterator[TilePiece]
            Pieces covering bases ``[0, len(record))`` in order.
        """
        if batch_tokens <= 0:
            raise ConfigError(f"batch_tokens must be > 0, got {batch_tokens}")
        layers = self.check_layers(layers)
        self._check_record(record)
        seq = record.sequence
        windows = [Window(0, len(seq), 0, len(seq))] if self.fits(seq) else self.plan_tiles(seq, overlap)
        pending: list[tuple[Window, Tokenized]] = []
        for w in windows:
            tok = self.tokenizer.encode(seq[w.start : w.end]).shifted(w.start)
            width = max([len(tok), *(len(t) for _, t in pending)])
            if pending and (len(pending) + 1) * width > batch_tokens:
                yield from self._tile_batch(pending, layers)
                pending = []
            pending.append((w, tok))
        if pending:
            yield from self._tile_batch(pending, layers)

    def _tile_batch(self, pending: list[tuple[Window, Tokenized]], layers: list[int]) -> Iterator[TilePiece]:
        ids, mask = pad_batch([t.input_ids for _, t in pending], pad_id=self.tokenizer.pad_id)
        acts = self.forward(ids, mask, layers=layers)
        real_tokens = sum(len(t) for _, t in pending)
        padded = int(ids.shape[0] * ids.shape[1])
        for row, (w, tok) in enumerate(pending):
            real = np.flatnonzero(tok.spans[:, 0] >= 0)
            keep = torch.from_numpy(real)
            own = slice(w.own_start - w.start, w.own_end - w.start)
            values = {}
            for layer, a in acts.items():
                token_acts = a[row, : len(tok)].index_select(0, keep.to(a.device)).float().cpu()
                values[layer] = per_base(token_acts, tok.spans[real] - w.start, w.end - w.start)[own]
            first = row == 0  # the batch's counts go on its first piece only
            yield TilePiece(w.own_start, w.own_end, values, real_tokens if first else 0, padded if first else 0)

    def embed(
        self,
        records: Sequence[SequenceRecord],
        *,
        layers: Sequence[int],
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        overlap: int | None = None,
    ) -> EmbedResult:
        """Activations of ``layers`` for every record, in input order (see module docstring).

        ``batch_tokens`` bounds padded tokens per forward pass; ``overlap`` is the tiling
        overlap in bases for sequences longer than the context (default a quarter window).

        Parameters
        ----------
        records
            Sequences of the adapter's alphabet.
        layers
            Layers to return (negative counts from the end).
        batch_tokens
            Padded tokens per forward pass.
        overlap
            Tiling overlap in bases for sequences longer than the context.

        Returns
        -------
        EmbedResult
            Per sequence, the activations of each layer with the span of bases each token covers; the real and
            padded token counts and how many sequences were tiled.
        """
        if batch_tokens <= 0:
            raise ConfigError(f"batch_tokens must be > 0, got {batch_tokens}")
        layers = self.check_layers(layers)
        items, tiled = self._items(records, overlap)
        plan = plan_batches([len(it.tokens) for it in items], batch_tokens=batch_tokens)
        outputs: list[dict[int, torch.Tensor] | None] = [None] * len(items)
        for batch in plan.batches:
            ids, mask = pad_batch([items[i].tokens.input_ids for i in batch], pad_id=self.tokenizer.pad_id)
            acts = self.forward(ids, mask, layers=layers)
            for row, i in enumerate(batch):
                real = items[i].tokens.spans[:, 0] >= 0
                keep = torch.from_numpy(np.flatnonzero(real))
                outputs[i] = {
                    layer: a[row, : len(items[i].tokens)].index_select(0, keep.to(a.device)).float().cpu()
                    for layer, a in acts.items()
                }
        return EmbedResult(self._assemble(records, items, outputs), plan.real_tokens, plan.padded_tokens, tiled)

    def _assemble(
        self, records: Sequence[SequenceRecord], items: list[_Item], outputs: list
    ) -> list[SequenceActivations]:
        by_record: dict[int, list[int]] = {}
        for i, it in enumerate(items):
            by_record.setdefault(it.record, []).append(i)
        result = []
        for ri, rec in enumerate(records):
            idx = by_record[ri]
            if items[idx[0]].window is None:
                it = items[idx[0]]
                spans = it.tokens.spans[it.tokens.spans[:, 0] >= 0]
                result.append(SequenceActivations(rec, outputs[idx[0]], spans))
                continue
            windows = [items[i].window for i in idx]
            stitched = {}
            for layer in outputs[idx[0]]:
                per_window = []
                for i in idx:
                    it = items[i]
                    w = it.window
                    local = it.tokens.spans[it.tokens.spans[:, 0] >= 0] - w.start
                    per_window.append(per_base(outputs[i][layer], local, w.end - w.start))
                stitched[layer] = stitch(windows, per_window)
            pos = np.arange(len(rec), dtype=np.int64)
            result.append(SequenceActivations(rec, stitched, np.stack([pos, pos + 1], axis=1), per_base=True))
        return result
