"""Tile sequences longer than a model's context into overlapping windows, and stitch them back.

Windows are ``window`` bases long and start every ``window - overlap`` bases;
the last one is moved left so that it ends at the sequence end (so all windows
are full-length when the sequence is longer than one window). Stitching rule:
each base takes its per-base activation from exactly one window, the one that
*owns* it; two neighbouring windows split their overlap at its midpoint, so
every base but those within ``overlap // 2`` of the sequence ends sees at least
``overlap // 2`` bases of context on both sides. No base is lost or counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genolens.errors import ConfigError


@dataclass(frozen=True)
class Window:
    """Bases ``[start, end)`` go through the model; bases ``[own_start, own_end)`` are kept from it."""

    start: int
    end: int
    own_start: int
    own_end: int


def plan_windows(length: int, *, window: int, overlap: int) -> list[Window]:
    """Overlapping windows covering ``length`` bases (rule in the module docstring)."""
    if window <= 0:
        raise ConfigError(f"window must be > 0, got {window}")
    if not 0 <= overlap < window:
        raise ConfigError(f"overlap must be in [0, window={window}), got {overlap}")
    if length <= window:
        return [Window(0, length, 0, length)]
    stride = window - overlap
    starts = list(range(0, length - window, stride)) + [length - window]
    if len(starts) > 1 and starts[-1] == starts[-2]:
        starts.pop()
    bounds = [0] + [(nxt + prev + window) // 2 for prev, nxt in zip(starts, starts[1:], strict=False)] + [length]
    return [Window(s, s + window, bounds[i], bounds[i + 1]) for i, s in enumerate(starts)]


def stitch(windows: list[Window], per_window: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate each window's owned bases (``per_window[i]`` is ``[window length, dim]`` per-base)."""
    parts = [acts[w.own_start - w.start : w.own_end - w.start] for w, acts in zip(windows, per_window, strict=True)]
    return torch.cat(parts, dim=0)
