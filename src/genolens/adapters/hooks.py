"""Read and write activations at any layer during the forward pass.

A layer's activation is the output of the module the adapter names for it
(``adapter.hook_module(layer)``), so that layer ``l`` equals the
``hidden_states[l]`` that transformers returns with ``output_hidden_states``.
Reading registers a forward hook that keeps the output; writing registers one
that returns an edited output (replace it, or add a vector), which is how later
stages splice SAE reconstructions in and steer features.

Stopping early: :func:`capture` with ``stop=True`` raises :class:`StopForward`
from the hook of the deepest requested layer, so no layer (and no head) after
it runs. The adapter catches it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

import torch
from torch import nn

Edit = Callable[[torch.Tensor], torch.Tensor]


class HasHookModules(Protocol):
    def hook_module(self, layer: int) -> nn.Module: ...


class StopForward(Exception):  # noqa: N818 - control flow, not an error
    """Raised from a hook to end the forward pass after the deepest requested layer."""


def tensor_of(output: object) -> torch.Tensor:
    """The hidden-state tensor inside a module's output (a tensor or a tuple starting with one)."""
    return output[0] if isinstance(output, tuple) else output  # type: ignore[return-value]


def with_tensor(output: object, new: torch.Tensor) -> object:
    """``output`` with its hidden-state tensor replaced by ``new``."""
    return (new, *output[1:]) if isinstance(output, tuple) else new


@contextmanager
def capture(adapter: HasHookModules, layers: Iterable[int], *, stop: bool = True) -> Iterator[dict[int, torch.Tensor]]:
    """Collect the activations of ``layers`` (``{layer: [batch, tokens, dim]}``) during a forward pass."""
    layers = sorted(set(layers))
    acts: dict[int, torch.Tensor] = {}
    deepest = layers[-1]
    handles = []

    for layer in layers:

        def hook(_mod: nn.Module, _inp: object, out: object, layer: int = layer) -> None:
            acts[layer] = tensor_of(out)
            if stop and layer == deepest:
                raise StopForward

        handles.append(adapter.hook_module(layer).register_forward_hook(hook))
    try:
        yield acts
    finally:
        for h in handles:
            h.remove()


@contextmanager
def intervene(adapter: HasHookModules, layer: int, edit: Edit) -> Iterator[None]:
    """Replace layer ``layer``'s activation by ``edit(activation)`` in every forward pass inside the block.

    Hooks registered later (e.g. by :func:`capture`) see the edited value, and so do all later layers.
    """

    def hook(_mod: nn.Module, _inp: object, out: object) -> object:
        return with_tensor(out, edit(tensor_of(out)))

    handle = adapter.hook_module(layer).register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def replace_with(values: torch.Tensor) -> Edit:
    """An edit that replaces the activation by ``values`` (broadcast to ``[batch, tokens, dim]``)."""

    def edit(acts: torch.Tensor) -> torch.Tensor:
        return values.to(device=acts.device, dtype=acts.dtype).expand_as(acts).clone()

    return edit


def add_vector(vector: torch.Tensor, *, scale: float = 1.0, positions: torch.Tensor | None = None) -> Edit:
    """An edit adding ``scale * vector`` (``[dim]``) at every token, or where ``positions`` is True.

    ``positions`` is a ``[batch, tokens]`` boolean mask.
    """

    def edit(acts: torch.Tensor) -> torch.Tensor:
        delta = scale * vector.to(device=acts.device, dtype=acts.dtype)
        if positions is None:
            return acts + delta
        return acts + positions.to(acts.device).unsqueeze(-1).to(acts.dtype) * delta

    return edit
