"""Saturation in-silico mutagenesis: every substitution of every base of a region, scored at once.

The model reads the region (plus ``flank`` reference bases on each side) as one window; each of
the ``3 x L`` single-base substitutions inside the region is a window pair scored by
:func:`genolens.adapters.zero_shot.score_pairs` (``llr`` for causal models, ``masked_marginal`` for
masked ones: one masked copy per base scores its three substitutions, and the reference window
runs once). With an SAE, each substitution's effect on chosen features is the change of the
feature's maximum over the window (``delta_window`` of :mod:`genolens.interventions.variant_effects`).

Effects are ``[L, 4]`` matrices over A, C, G, T (the reference base's own cell is 0); a per-base
track keeps, at each base, the effect of largest magnitude (signed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from genolens.adapters.base import DEFAULT_BATCH_TOKENS, Adapter
from genolens.adapters.heads import LMHead
from genolens.adapters.zero_shot import WindowPair, chunked, score_pairs
from genolens.errors import ConfigError, SequenceError
from genolens.interventions.variant_effects import feature_changes
from genolens.io.alphabet import normalise_sequence
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.io.reference import Reference
from genolens.io.regions import Region, check_region

BASES = "ACGT"


@dataclass(frozen=True)
class IsmConfig:
    """Settings of :func:`ism`.

    Parameters
    ----------
    flank
        Reference bases read on each side of the region (context; not mutated).
    layer
        Layer the SAE reads (None: the SAE's, or the last).
    batch_tokens
        Padded tokens per forward pass.
    chunk
        Substitutions scored together (bounds memory).
    max_length
        Longest region accepted (``3 x L`` forward passes).
    """

    flank: int = 0
    layer: int | None = None
    batch_tokens: int = DEFAULT_BATCH_TOKENS
    chunk: int = 96
    max_length: int = 2000

    def __post_init__(self) -> None:
        if self.flank < 0:
            raise ConfigError(f"flank must be >= 0, got {self.flank}")
        if self.chunk <= 0 or self.batch_tokens <= 0:
            raise ConfigError("chunk and batch_tokens must be > 0")
        if self.max_length <= 0:
            raise ConfigError(f"max_length must be > 0, got {self.max_length}")


@dataclass(frozen=True, eq=False)
class IsmResult:
    """Effects of every substitution of a region.

    Parameters
    ----------
    region
        The region mutated.
    ref
        Its reference bases.
    effects
        Target name -> ``[L, 4]`` effect matrix over A, C, G, T (``"score"``: the zero-shot score,
        ``"feature_<i>"``: SAE feature ``i``); the reference base's cell is 0, an N base's row NaN.
    method
        The zero-shot scoring method.
    meta
        Model, layer, SAE and settings.
    """

    region: Region
    ref: str
    effects: dict[str, np.ndarray]
    method: str
    meta: dict = field(default_factory=dict)

    @property
    def positions(self) -> np.ndarray:
        """0-based reference position of each row."""
        return np.arange(self.region.start, self.region.end, dtype=np.int64)

    def track(self, target: str = "score") -> np.ndarray:
        """``[L]``: at each base, the effect of largest magnitude among its substitutions (signed).

        Parameters
        ----------
        target
            A key of :attr:`effects`.

        Returns
        -------
        numpy.ndarray
            One value per base (NaN where the base is N).
        """
        m = self.effects[_check_target(self, target)]
        out = np.full(m.shape[0], np.nan)
        ok = ~np.isnan(m).all(1)
        idx = np.nanargmax(np.abs(m[ok]), axis=1)
        out[ok] = m[ok][np.arange(ok.sum()), idx]
        return out

    def table(self):  # noqa: ANN201 - pandas.DataFrame
        """Long table: one row per substitution (``contig, pos`` 1-based, ``ref, alt`` and one column per target).

        Returns
        -------
        pandas.DataFrame
            ``3 x L`` rows (N bases left out).
        """
        import pandas as pd

        rows = {"contig": [], "pos": [], "ref": [], "alt": []}
        cells = []
        for i, base in enumerate(self.ref):
            for j, alt in enumerate(BASES):
                if base in BASES and alt != base:
                    rows["contig"].append(self.region.contig)
                    rows["pos"].append(self.region.start + i + 1)
                    rows["ref"].append(base)
                    rows["alt"].append(alt)
                    cells.append((i, j))
        frame = pd.DataFrame(rows)
        for name, m in self.effects.items():
            frame[name] = [m[i, j] for i, j in cells]
        return frame


def _check_target(result: IsmResult, target: str) -> str:
    if target not in result.effects:
        raise ConfigError(f"no ISM target {target!r}; have {', '.join(result.effects)}")
    return target


def ism(
    adapter: Adapter,
    *,
    reference: str | Reference,
    region: Region,
    head: LMHead,
    sae=None,  # noqa: ANN001 - SparseAutoencoder
    features: Sequence[int] = (),
    config: IsmConfig | None = None,
    progress: bool = False,
) -> IsmResult:
    """Score all ``3 x L`` substitutions of ``region`` (and their effect on ``features`` of ``sae``).

    Parameters
    ----------
    adapter
        The model (DNA).
    reference
        Indexed reference FASTA, or an open :class:`~genolens.io.reference.Reference`.
    region
        The bases to mutate (plus strand).
    head
        The model's language-model head.
    sae
        An SAE on this model, needed for ``features``.
    features
        SAE features whose change is measured.
    config
        Flank, layer, batching, length limit.
    progress
        Show a progress bar.

    Returns
    -------
    IsmResult
        One ``[L, 4]`` matrix for the score and one per feature.
    """
    config = config or IsmConfig()
    if adapter.alphabet != "dna":
        raise SequenceError(f"{adapter.name} reads {adapter.alphabet}; saturation mutagenesis here is over DNA")
    if features and sae is None:
        raise ConfigError("features need an SAE")
    if sae is not None:
        bad = [f for f in features if not 0 <= f < sae.cfg.d_sae]
        if bad:
            raise ConfigError(f"features {bad} are not in the SAE (d_sae {sae.cfg.d_sae})")
        sae = sae.to(adapter.device).eval()
    if len(region) > config.max_length:
        raise ConfigError(f"region {region.spec} is {len(region):,} bases, more than max_length "
                          f"{config.max_length:,}", hint="mutagenise a smaller region, or raise max_length")
    layer = config.layer
    if layer is None:
        layer = sae.cfg.provenance.layer if sae is not None and sae.cfg.provenance.layer >= 0 else adapter.num_layers
    ref = reference if isinstance(reference, Reference) else Reference(reference)
    try:
        window = Region(region.contig, region.start - config.flank, region.end + config.flank)
        check_region(window, ref.contig_lengths)
        bases, _ = normalise_sequence(ref.fetch(window), alphabet="dna", record=window.spec, path=str(ref.path))
    finally:
        if ref is not reference:
            ref.close()
    positions = np.arange(window.start, window.end, dtype=np.int64)
    ref_rec = SequenceRecord(f"{region.spec}|ref", bases, "dna", coords=CoordinateMap(region.contig, "+", positions))
    cells: list[tuple[int, int]] = []
    pairs: list[WindowPair] = []
    for i in range(len(region)):
        at = config.flank + i
        for j, alt in enumerate(BASES):
            if bases[at] in BASES and alt != bases[at]:
                seq = bases[:at] + alt + bases[at + 1 :]
                rec = SequenceRecord(f"{region.spec}|{at}{alt}", seq, "dna",
                                     coords=CoordinateMap(region.contig, "+", positions))
                pairs.append(WindowPair(ref_rec, rec, at, 1, 1))
                cells.append((i, j))
    effects = {"score": _blank(bases, config.flank, len(region))}
    for f in features:
        effects[f"feature_{int(f)}"] = _blank(bases, config.flank, len(region))
    method = ""
    bar = tqdm(total=len(pairs), unit="substitution", desc="ism", disable=not progress)
    done = 0
    for chunk in chunked(pairs, config.chunk):
        scores = score_pairs(adapter, chunk, head=head, layer=layer, batch_tokens=config.batch_tokens)
        for score in scores:
            i, j = cells[done]
            done += 1
            method = score.method
            effects["score"][i, j] = score.score
            if features:
                _, in_window, _, _ = feature_changes(score, sae=sae)
                for f in features:
                    effects[f"feature_{int(f)}"][i, j] = in_window[f]
        bar.update(len(chunk))
    bar.close()
    meta = {"model": adapter.name, "layer": int(adapter.check_layers([layer])[0]), "objective": head.objective,
            "sae": None if sae is None else sae.cfg.name, "features": [int(f) for f in features],
            "region": region.spec, "flank": config.flank, "n_substitutions": len(pairs)}
    return IsmResult(region, bases[config.flank : config.flank + len(region)], effects, method, meta)


def _blank(bases: str, flank: int, length: int) -> np.ndarray:
    m = np.zeros((length, 4), dtype=np.float64)
    for i in range(length):
        if bases[flank + i] not in BASES:
            m[i] = np.nan
    return m
