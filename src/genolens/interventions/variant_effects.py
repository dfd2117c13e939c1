"""What a variant does to the model: a zero-shot score, the embedding shift and the SAE features it moves.

For each variant allele the reference and alternate windows of :func:`genolens.io.windows.variant_windows`
(both ``width`` bases, the allele at offset ``width // 2``) go through the model together
(:func:`genolens.adapters.zero_shot.score_pairs`), giving

* the zero-shot score by the method the model's objective allows (``llr``, ``masked_marginal`` or
  ``pll_span``, recorded in the ``method`` column);
* the distance between the two windows' mean activations at the chosen layer (cosine distance
  ``1 - cos`` and L2);
* with an SAE, every feature's change, per base, between the windows, compared at *aligned* bases:
  bases of the two windows that carry the same reference coordinate (their coordinate maps), so
  an indel does not shift everything downstream of it. Two summaries per feature:

  - ``delta_variant``: max over the ALT allele's bases of the alternate codes minus max over the
    REF allele's bases of the reference codes (the variant's own bases);
  - ``delta_window``: the change of the feature's maximum over the window, taken over the aligned
    bases and the allele's own (so bases an indel pushes out of, or pulls into, the window's edge
    do not count).

  Features are ranked by ``delta_window`` over the bases within ``span`` (default 4) of the variant
  (``rank_by="variant"``: ``delta_variant``), relative to each
  feature's range when the label table gives it (its ``max`` column, an annotation's largest
  activation; the change is then in units of that maximum, so strong and weak features compare):
  the most gained (largest positive) and lost (most negative), each with its label from the
  annotation (best concept and its held-out F1, best JASPAR match) when one is given; changes of at most
  ``min_change`` are not listed. A motif's feature fires at one base of the motif, so a variant at another
  of its bases barely changes it there: ranking by the change near the variant finds it wherever in the
  motif the variant falls, while the maximum over the whole window is dominated, for a causal model, by
  features that change downstream of any variant.

Variants that cannot be scored (window off the contig, symbolic allele, filtered, and with
``on_mismatch="skip"`` a REF allele disagreeing with the reference) are listed in
:attr:`VariantEffects.skipped` with the reason; none is dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from genolens.adapters.base import DEFAULT_BATCH_TOKENS, Adapter
from genolens.adapters.heads import LMHead
from genolens.adapters.spans import per_base
from genolens.adapters.zero_shot import PairScore, WindowPair, chunked, score_pairs
from genolens.errors import ConfigError
from genolens.io.haplotypes import BuildReport
from genolens.io.records import SequenceRecord
from genolens.io.reference import Reference
from genolens.io.regions import Region
from genolens.io.vcf import Variant, VariantFile
from genolens.io.windows import variant_windows
from genolens.sae.base import SparseAutoencoder

PathLike = str | os.PathLike[str]

#: columns of :attr:`VariantEffects.table` (SAE columns only with an SAE)
BASE_COLUMNS = ("variant", "id", "filter", "contig", "pos", "ref", "alt", "kind", "method", "score",
                "cosine_distance", "l2_distance")
SAE_COLUMNS = ("top_feature", "top_delta", "top_label", "top_gained", "top_lost", "top_gained_labels",
               "top_lost_labels")
SKIP_COLUMNS = ("variant", "reason", "id", "filter", "end")  # end: the record's 1-based END, as the VCF says
_NOT_SKIPS = ("windows",)


@dataclass(frozen=True)
class VariantEffectsConfig:
    """Settings of :func:`variant_effects`.

    Parameters
    ----------
    width
        Window width in bases; the allele starts at ``width // 2`` in both windows.
    layer
        Layer whose activations give the embedding distance and feed the SAE (None: the SAE's layer, or
        the model's last).
    top
        Features listed as gained and as lost per variant.
    batch_tokens
        Padded tokens per forward pass.
    chunk
        Variant alleles scored together (bounds memory).
    include_filtered
        Also score records whose FILTER is not PASS (otherwise they are skipped as ``filtered``).
    on_mismatch
        ``"error"``: a REF allele that disagrees with the reference stops the run; ``"skip"``: it is
        recorded as a ``ref_mismatch`` skip.
    rank_by
        ``"window"`` (default): the change of each feature's maximum over the aligned bases within ``span`` of
        the variant, so that a variant anywhere in a motif moves the feature that fires at another base of
        it; ``"variant"``: the change at the variant's own bases only.
    span
        Bases either side of the variant over which ``"window"`` takes each feature's maximum (None: the
        whole window). The default, 4, was chosen on planted REST sites (held-out sequences): a variant at
        either of the motif's two most informative columns put the motif's feature among the 3 most moved in
        58% and 52% of cases with 4 (at the variant's own base only: 60% and 0%; with 2: 69% and 43%; with
        20: 12% and 25%, where downstream changes of a causal model dominate).
    relative
        Rank by the change over the feature's ``max`` (from the label table; raw changes without one).
    min_change
        Changes of at most this size (in the ranking's units: a fraction of the feature's ``max`` when
        ``relative``) are not listed as gained or lost: float noise is not an effect. A variant that moves no
        feature by more has ``top_feature`` -1.
    """

    width: int = 128
    layer: int | None = None
    top: int = 5
    batch_tokens: int = DEFAULT_BATCH_TOKENS
    chunk: int = 64
    include_filtered: bool = False
    on_mismatch: str = "error"
    rank_by: str = "window"
    span: int | None = 4
    relative: bool = True
    min_change: float = 1e-3

    def __post_init__(self) -> None:
        if self.width < 2:
            raise ConfigError(f"width must be >= 2, got {self.width}")
        if self.top < 1:
            raise ConfigError(f"top must be >= 1, got {self.top}")
        if self.batch_tokens <= 0:
            raise ConfigError(f"batch_tokens must be > 0, got {self.batch_tokens}")
        if self.chunk <= 0:
            raise ConfigError(f"chunk must be > 0, got {self.chunk}")
        if self.on_mismatch not in ("error", "skip"):
            raise ConfigError(f"on_mismatch must be 'error' or 'skip', got {self.on_mismatch!r}")
        if self.rank_by not in ("variant", "window"):
            raise ConfigError(f"rank_by must be 'variant' or 'window', got {self.rank_by!r}")
        if self.span is not None and self.span < 0:
            raise ConfigError(f"span must be >= 0 (or None: the whole window), got {self.span}")
        if not self.min_change >= 0:
            raise ConfigError(f"min_change must be >= 0, got {self.min_change}")


@dataclass(frozen=True, eq=False)
class VariantTracks:
    """Per-base codes of one variant's top features over both windows (for the variant pages).

    ``ref``/``alt`` are ``[len(features), width]``; ``features`` the SAE feature indices.
    """

    features: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    ref_sequence: str
    alt_sequence: str
    offset: int
    ref_len: int
    alt_len: int


@dataclass(frozen=True, eq=False)
class VariantEffects:
    """The result of :func:`variant_effects`.

    Parameters
    ----------
    table
        One row per scored variant allele (:data:`BASE_COLUMNS`, plus :data:`SAE_COLUMNS` with an SAE).
    skipped
        One row per variant allele (or record) not scored: ``variant``, ``reason``.
    meta
        Model, layer, SAE, settings and counts.
    delta_variant, delta_window
        ``[variants, d_sae]`` feature changes (see the module docstring), or None without an SAE.
    tracks
        Per row of ``table``, the top features' per-base codes (empty without an SAE).
    labels
        The per-feature label table used (``feature`` and label columns), or None.
    scale
        ``[d_sae]``: what each change was divided by for ranking (:func:`feature_scale`), or None.
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    meta: dict
    delta_variant: np.ndarray | None = None
    delta_window: np.ndarray | None = None
    tracks: list[VariantTracks] = field(default_factory=list)
    labels: pd.DataFrame | None = None
    scale: np.ndarray | None = None


def variant_kind(ref: str, alt: str) -> str:
    """``snv``, ``mnv``, ``ins``, ``del`` or ``complex`` from the two alleles.

    Parameters
    ----------
    ref, alt
        REF and ALT alleles.

    Returns
    -------
    str
        The kind (an insertion or deletion keeps its anchor base: one allele is a prefix of the other).
    """
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    if len(alt) > len(ref) and alt.startswith(ref):
        return "ins"
    if len(ref) > len(alt) and ref.startswith(alt):
        return "del"
    return "complex"


def window_pair(ref: SequenceRecord, alt: SequenceRecord) -> WindowPair:
    """The :class:`WindowPair` of two windows made by :func:`~genolens.io.windows.variant_windows`.

    Parameters
    ----------
    ref, alt
        The reference and alternate window (``meta["variant"]`` is ``CONTIG:POS:REF>ALT``).

    Returns
    -------
    WindowPair
        With the allele offset ``width // 2`` and the two allele lengths.
    """
    ref_allele, alt_allele = ref.meta["variant"].rsplit(":", 1)[1].split(">")
    return WindowPair(ref, alt, len(ref) // 2, len(ref_allele), len(alt_allele))


def aligned_bases(ref: SequenceRecord, alt: SequenceRecord) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the bases of ``ref`` and ``alt`` that carry the same reference coordinate.

    Parameters
    ----------
    ref, alt
        Two windows with coordinate maps (inserted bases, ``-1``, match nothing).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ref_index, alt_index)``, paired, in coordinate order.
    """
    if ref.coords is None or alt.coords is None or ref.coords.contig != alt.coords.contig:
        raise ConfigError("aligning two windows needs coordinate maps on the same contig", record=ref.id)
    rp, ap = ref.coords.ref_pos, alt.coords.ref_pos
    _, ri, ai = np.intersect1d(np.where(rp >= 0, rp, -2), np.where(ap >= 0, ap, -3), return_indices=True)
    return ri.astype(np.int64), ai.astype(np.int64)


def feature_changes(
    score: PairScore, *, sae: SparseAutoencoder, span: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-base SAE codes of both windows and each feature's change (module docstring).

    Parameters
    ----------
    score
        A scored pair with its layer activations.
    sae
        The SAE (on the activations' layer).
    span
        ``delta_window`` over the aligned bases within this many bases of the variant (None: the whole window).

    Returns
    -------
    tuple of numpy.ndarray
        ``delta_variant [d_sae]``, ``delta_window [d_sae]``, the reference codes ``[width, d_sae]`` and the
        alternate codes ``[width, d_sae]``.
    """
    pair = score.pair
    device = next(sae.parameters()).device
    with torch.inference_mode():
        z_ref = sae.encode(per_base(score.ref_acts, score.ref_spans, len(pair.ref)).to(device).float()).float().cpu()
        z_alt = sae.encode(per_base(score.alt_acts, score.alt_spans, len(pair.alt)).to(device).float()).float().cpu()
    z_ref_np, z_alt_np = z_ref.numpy(), z_alt.numpy()
    a, b = pair.offset, pair.offset
    ref_max = z_ref_np[a : a + pair.ref_len].max(0)
    alt_max = z_alt_np[b : b + pair.alt_len].max(0) if pair.alt_len else np.zeros_like(ref_max)
    at_variant = alt_max - ref_max
    ri, ai = aligned_bases(pair.ref, pair.alt)
    if span is not None:
        near = (ri >= a - span) & (ri < a + pair.ref_len + span)
        ri, ai = ri[near], ai[near]
    ref_rows = np.union1d(ri, np.arange(a, a + pair.ref_len))
    alt_rows = np.union1d(ai, np.arange(b, b + pair.alt_len))
    in_window = z_alt_np[alt_rows].max(0) - z_ref_np[ref_rows].max(0)
    return at_variant, in_window, z_ref_np, z_alt_np


def label_text(labels: pd.DataFrame | None, feature: int) -> str:
    """A feature's label: best concept with its held-out F1 and best JASPAR match (``""`` when unknown).

    Parameters
    ----------
    labels
        Per-feature table indexed by feature (``concept``, ``concept_f1_test``, ``motif_matrix_id``,
        ``motif_name``; any may be missing), e.g. an annotation folder's ``features.tsv``.
    feature
        The feature.

    Returns
    -------
    str
        E.g. ``planted_MA0138.3 (F1 0.62) / MA0138.3 REST``.
    """
    if labels is None or feature not in labels.index:
        return ""
    row = labels.loc[feature]
    parts = []
    if "concept" in row and isinstance(row["concept"], str):
        f1 = row.get("concept_f1_test")
        parts.append(row["concept"] + (f" (F1 {float(f1):.2f})" if f1 is not None and pd.notna(f1) else ""))
    if "motif_matrix_id" in row and isinstance(row["motif_matrix_id"], str):
        name = row.get("motif_name")
        parts.append(row["motif_matrix_id"] + (f" {name}" if isinstance(name, str) else ""))
    return " / ".join(parts)


def _ranked(delta: np.ndarray, top: int, *, gained: bool, tol: float = 0.0) -> np.ndarray:
    order = np.argsort(-delta if gained else delta, kind="stable")[:top]
    keep = delta[order] > tol if gained else delta[order] < -tol
    return order[keep]


def _site_fields(variant: Variant | None) -> tuple[str, str, int]:
    """ID, FILTER and 1-based END of a skipped record (its END as the VCF says, for a symbolic allele)."""
    if variant is None:
        return ".", ".", -1
    return variant.id or ".", ";".join(variant.filters) or ".", variant.stop or variant.end


def _row(pair: WindowPair, score: PairScore) -> dict:
    contig, pos, alleles = pair.ref.meta["variant"].rsplit(":", 2)
    ref, alt = alleles.split(">")
    return {
        "variant": pair.ref.meta["variant"], "id": pair.ref.meta.get("variant_id", "."),
        "filter": pair.ref.meta.get("filter", "."), "contig": contig,
        "pos": int(pos), "ref": ref, "alt": alt, "kind": variant_kind(ref, alt), "method": score.method,
        "score": score.score, "cosine_distance": score.cosine_distance, "l2_distance": score.l2_distance,
    }


def variant_effects(
    adapter: Adapter,
    *,
    reference: PathLike | Reference,
    vcf: PathLike | VariantFile,
    regions: Iterable[Region] | None,
    head: LMHead,
    sae: SparseAutoencoder | None = None,
    labels: pd.DataFrame | None = None,
    config: VariantEffectsConfig | None = None,
    progress: bool = False,
) -> VariantEffects:
    """Score every variant allele starting in ``regions`` and, with an SAE, find the features it moves.

    Parameters
    ----------
    adapter
        The model.
    reference
        Indexed reference FASTA (or an open :class:`~genolens.io.reference.Reference`).
    vcf
        Indexed VCF/BCF (or an open :class:`~genolens.io.vcf.VariantFile`).
    regions
        Regions whose variants are scored (a variant belongs to the region it starts in); None: every record
        of the VCF (those on contigs the reference lacks are skipped as ``contig_not_in_reference``).
    head
        The model's language-model head (:func:`genolens.adapters.heads.language_model_head`).
    sae
        An SAE trained on ``config.layer`` of this model, or None.
    labels
        Per-feature labels (an annotation folder's ``features.tsv``), or None.
    config
        Window width, layer, number of top features, batching, skip policy.
    progress
        Show a progress bar.

    Returns
    -------
    VariantEffects
        The table, the skipped variants with reasons, the feature changes and the top features' tracks.
    """
    config = config or VariantEffectsConfig()
    layer = config.layer
    if sae is not None:
        sae_layer = sae.cfg.provenance.layer
        if layer is None:
            layer = sae_layer
        elif sae_layer >= 0 and adapter.check_layers([layer]) != adapter.check_layers([sae_layer]):
            raise ConfigError(f"layer {layer} is not the SAE's layer {sae_layer}")
        if sae.cfg.d_in != adapter.hidden_size:
            raise ConfigError(f"SAE reads {sae.cfg.d_in}-wide activations; {adapter.name} has {adapter.hidden_size}")
        sae = sae.to(adapter.device).eval()
    (layer,) = adapter.check_layers([adapter.num_layers if layer is None else layer])
    if layer < 0:
        raise ConfigError("the SAE records no layer; pass one")
    if labels is not None:
        if "feature" not in labels.columns:
            raise ConfigError("the label table has no 'feature' column")
        labels = labels.set_index(labels["feature"].astype(int), drop=False)
    report = BuildReport(max_examples=2**62)  # every skipped variant is listed, not only examples
    ref = reference if isinstance(reference, Reference) else Reference(reference)
    try:
        return _run(adapter, ref, vcf, regions, head=head, sae=sae, labels=labels, config=config, layer=layer,
                    report=report, progress=progress)
    finally:
        if ref is not reference:
            ref.close()


def _run(adapter: Adapter, ref: Reference, vcf: PathLike | VariantFile, regions: Iterable[Region] | None, *,
         head: LMHead, sae: SparseAutoencoder | None, labels: pd.DataFrame | None, config: VariantEffectsConfig,
         layer: int, report: BuildReport, progress: bool) -> VariantEffects:
    scale = feature_scale(labels, d_sae=0 if sae is None else int(sae.cfg.d_sae), relative=config.relative)
    sites: dict[str, Variant] = {}
    pairs = variant_windows(ref, vcf, regions, width=config.width, include_filtered=config.include_filtered,
                            report=report, on_mismatch=config.on_mismatch, sites=sites)
    rows: list[dict] = []
    d_variant: list[np.ndarray] = []
    d_window: list[np.ndarray] = []
    tracks: list[VariantTracks] = []
    bar = tqdm(unit="variant", desc="variant-effects", disable=not progress)
    for chunk in chunked(pairs, config.chunk):
        wps = [window_pair(r, a) for r, a in chunk]
        for pair, score in zip(wps, score_pairs(adapter, wps, head=head, layer=layer,
                                                batch_tokens=config.batch_tokens), strict=True):
            row = _row(pair, score)
            if sae is not None:
                at_variant, in_window, z_ref, z_alt = feature_changes(score, sae=sae, span=config.span)
                d_variant.append(at_variant)
                d_window.append(in_window)
                ranking = (at_variant if config.rank_by == "variant" else in_window) / scale
                row.update(_top_columns(ranking, config.top, labels, tol=config.min_change))
                shown = np.concatenate([_ranked(ranking, config.top, gained=True, tol=config.min_change),
                                        _ranked(ranking, config.top, gained=False, tol=config.min_change)])
                tracks.append(VariantTracks(shown, z_ref[:, shown].T.copy(), z_alt[:, shown].T.copy(),
                                            pair.ref.sequence, pair.alt.sequence, pair.offset, pair.ref_len,
                                            pair.alt_len))
            rows.append(row)
        bar.update(len(chunk))
    bar.close()
    columns = list(BASE_COLUMNS) + (list(SAE_COLUMNS) if sae is not None else [])
    table = pd.DataFrame(rows, columns=columns)
    skipped = pd.DataFrame(
        [(label, reason, *_site_fields(sites.get(label))) for reason, labels_ in report.examples.items()
         if reason not in _NOT_SKIPS for label in labels_],
        columns=list(SKIP_COLUMNS),
    )
    meta = {
        "model": adapter.name, "family": adapter.family, "objective": head.objective, "layer": layer,
        "sae": None if sae is None else sae.cfg.name, "d_sae": None if sae is None else int(sae.cfg.d_sae),
        "config": asdict(config), "n_scored": len(table), "ranked_by": config.rank_by,
        "contigs": dict(ref.contig_lengths),
        "relative": bool(sae is not None and config.relative and labels is not None and "max" in labels.columns),
        "skipped": {k: int(v) for k, v in report.counts.items() if k not in _NOT_SKIPS},
        "methods": {k: int(v) for k, v in table["method"].value_counts().items()},
    }

    def stack(parts: list[np.ndarray]) -> np.ndarray | None:
        if sae is None:
            return None
        return np.stack(parts).astype(np.float32) if parts else np.zeros((0, int(sae.cfg.d_sae)), np.float32)

    return VariantEffects(table, skipped, meta, stack(d_variant), stack(d_window), tracks, labels,
                          scale if sae is not None else None)


def feature_scale(labels: pd.DataFrame | None, *, d_sae: int, relative: bool = True) -> np.ndarray:
    """What each feature's change is divided by before ranking: its ``max`` from the labels, else 1.

    Parameters
    ----------
    labels
        Per-feature table indexed by feature, with a ``max`` column (an annotation's ``features.tsv``).
    d_sae
        Number of features.
    relative
        False: all ones (rank raw changes).

    Returns
    -------
    numpy.ndarray
        ``[d_sae]`` positive scales (a feature that never fired, or is missing, keeps 1).
    """
    scale = np.ones(d_sae, dtype=np.float64)
    if relative and labels is not None and "max" in labels.columns and d_sae:
        known = labels["max"].astype(float)
        idx = known.index.to_numpy(dtype=np.int64)
        ok = (idx >= 0) & (idx < d_sae) & (known.to_numpy() > 0)
        scale[idx[ok]] = known.to_numpy()[ok]
    return scale


def _top_columns(delta: np.ndarray, top: int, labels: pd.DataFrame | None, *, tol: float) -> dict:
    gained, lost = _ranked(delta, top, gained=True, tol=tol), _ranked(delta, top, gained=False, tol=tol)
    best = int(np.abs(delta).argmax())
    moved = abs(float(delta[best])) > tol
    return {
        "top_feature": best if moved else -1, "top_delta": float(delta[best]) if moved else float("nan"),
        "top_label": label_text(labels, best) if moved else "",
        "top_gained": ";".join(f"{int(f)}:{delta[f]:.4g}" for f in gained),
        "top_lost": ";".join(f"{int(f)}:{delta[f]:.4g}" for f in lost),
        "top_gained_labels": ";".join(label_text(labels, int(f)) for f in gained),
        "top_lost_labels": ";".join(label_text(labels, int(f)) for f in lost),
    }
