"""Gaps (N) in the reference under requested windows: find them and apply an explicit policy.

A partial reference (an assembly gap, or a reference known only in part) holds runs of N. A model fed
such a window reads kilobases of N as if they were sequence, and every person's haplotype shares them,
so the gap shows up as a feature of nothing. Before any sequence is built, each window's reference is
screened and :class:`GapPolicy` decides:

* ``"error"`` (default): a window with more N than ``max_n_fraction`` is an error naming it;
* ``"skip"``: such windows are left out;
* ``"trim"``: such a window is cut to its longest N-free stretch (name and strand kept, so
  per-window features still join to their gene), or left out when that stretch is shorter than
  ``min_length`` bases;
* ``"keep"``: such windows are used as they are (their N content is still counted and reported).

Windows with at most ``max_n_fraction`` N (default 0: none at all) are used unchanged. Every window
that was skipped, trimmed or kept with N is counted in a :class:`GapReport`, with examples, and the
report goes into the JSON beside the sequences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from genolens.errors import ConfigError, RegionError
from genolens.io.regions import Region

if TYPE_CHECKING:
    from genolens.io.reference import Reference

GapAction = Literal["error", "skip", "trim", "keep"]
GAP_ACTIONS: tuple[str, ...] = ("error", "skip", "trim", "keep")


@dataclass(frozen=True)
class GapPolicy:
    """What to do with windows whose reference holds N (see the module docstring).

    Attributes
    ----------
    action
        ``"error"`` (default), ``"skip"``, ``"trim"`` or ``"keep"``.
    max_n_fraction
        Windows with at most this fraction of N bases are used unchanged (0 to 1; default 0).
    min_length
        With ``"trim"``: the shortest N-free stretch worth keeping, in bases (default 100).
    """

    action: GapAction = "error"
    max_n_fraction: float = 0.0
    min_length: int = 100

    def __post_init__(self) -> None:
        if self.action not in GAP_ACTIONS:
            raise ConfigError(f"N policy must be one of {', '.join(GAP_ACTIONS)}, got {self.action!r}")
        if not 0.0 <= self.max_n_fraction <= 1.0:
            raise ConfigError(f"max_n_fraction must be in [0, 1], got {self.max_n_fraction}")
        if self.min_length < 1:
            raise ConfigError(f"min_length must be >= 1, got {self.min_length}")


@dataclass
class GapReport:
    """How many windows were requested, used unchanged, trimmed, skipped or kept with N, with examples.

    Attributes
    ----------
    policy
        The N policy applied.
    requested
        Windows requested.
    n_bases_before, n_bases_after
        Bases requested, and bases in the windows used.
    counts
        Windows per outcome (``clean``, ``trimmed``, ``skipped``, ...).
    examples
        A few windows of each outcome.
    max_examples
        How many examples are kept per outcome.
    """

    policy: GapPolicy = field(default_factory=GapPolicy)
    requested: int = 0
    n_bases_before: int = 0
    n_bases_after: int = 0
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = 10

    def add(self, outcome: str, example: str) -> None:
        """Count one window under ``outcome``, keeping it as an example while there is room.

        Parameters
        ----------
        outcome
            What happened to the window.
        example
            The window, as text (``contig:start-end``).
        """
        self.counts[outcome] += 1
        shown = self.examples.setdefault(outcome, [])
        if len(shown) < self.max_examples:
            shown.append(example)

    @property
    def used(self) -> int:
        """Windows that go on to become sequences (clean, tolerated, trimmed or kept with N)."""
        return self.requested - self.counts["skipped"] - self.counts["skipped_too_short"]

    def to_dict(self) -> dict:
        """The report as a JSON-ready dict.

        Returns
        -------
        dict
            Policy, windows requested and used, counts per outcome, bases requested and used, examples.
        """
        return {
            "policy": {"action": self.policy.action, "max_n_fraction": self.policy.max_n_fraction,
                       "min_length": self.policy.min_length},
            "windows_requested": self.requested,
            "windows_used": self.used,
            "counts": {k: self.counts[k] for k in sorted(self.counts)},
            "n_bases_requested": self.n_bases_before,
            "n_bases_used": self.n_bases_after,
            "examples": self.examples,
        }

    def summary(self) -> str:
        """The report in one line.

        Returns
        -------
        str
            E.g. ``29 windows, 23 used: 3 clean, 20 trimmed, 6 skipped (N policy trim, ...)``.
        """
        parts = [f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(self.counts.items())]
        return (f"{self.requested:,} windows, {self.used:,} used: {', '.join(parts) or 'none'}"
                f" (N policy {self.policy.action}, N bases {self.n_bases_before:,} -> {self.n_bases_after:,})")


def screen_regions(reference: Reference, regions: Iterable[Region], *, policy: GapPolicy | None = None,
                   report: GapReport | None = None) -> list[Region]:
    """The windows to build after applying the N policy to each one's reference bases.

    Parameters
    ----------
    reference
        The open reference the windows will be built from.
    regions
        Requested windows, in order.
    policy
        What to do with windows holding N; the default policy (error) when None.
    report
        Filled with the counts and examples (a new one when None).

    Returns
    -------
    list of Region
        The windows to build, in the requested order: unchanged, trimmed (same name and strand), or
        absent when skipped.
    """
    policy = policy or GapPolicy()
    report = report if report is not None else GapReport(policy=policy)
    report.policy = policy
    kept: list[Region] = []
    for region in regions:
        report.requested += 1
        is_n = np.frombuffer(reference.fetch(region).upper().encode("ascii"), dtype=np.uint8) == ord("N")
        n = int(is_n.sum())
        report.n_bases_before += n
        what = f"{region.label} ({region.spec}): {n:,} of {len(region):,} bases N"
        if n == 0:
            report.add("without_n", region.label)
        elif n <= policy.max_n_fraction * len(region):
            report.add("n_below_threshold", what)
        elif policy.action == "error":
            raise RegionError(
                f"the reference has {n:,} N bases ({n / len(region):.0%}) in this window",
                path=reference.path, record=f"{region.label} ({region.spec})",
                hint="choose an N policy: skip, trim (to the longest N-free stretch) or keep",
            )
        elif policy.action == "keep":
            report.add("kept_with_n", what)
        elif policy.action == "skip":
            report.add("skipped", what)
            continue
        else:
            start, end = longest_run(~is_n)
            if end - start < policy.min_length:
                report.add("skipped_too_short", f"{what}; longest N-free stretch {end - start:,}")
                continue
            region = replace(region, start=region.start + start, end=region.start + end)
            report.add("trimmed", f"{what}; trimmed to {region.spec}")
            n = 0
        report.n_bases_after += n
        kept.append(region)
    if not kept:
        raise RegionError(
            f"no window is left after the N policy ({report.summary()})", path=reference.path,
            hint="choose other windows, a lower min_length, or the policy keep",
        )
    return kept


def longest_run(flags: np.ndarray) -> tuple[int, int]:
    """``[start, end)`` of the longest run of True in a boolean vector (the first such run; (0, 0) if none)."""
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    if not len(edges):
        return 0, 0
    starts, ends = edges[::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best])
