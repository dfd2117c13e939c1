"""The interpretation steps as ``gl.tl`` and the CLI call them: annotate an SAE on a store, draw a feature
along the reference."""

from __future__ import annotations

import os
from collections.abc import Sequence

from genolens.errors import ConfigError
from genolens.features.annotate import AnnotateConfig
from genolens.features.results import AnnotationResults
from genolens.features.source import sae_source
from genolens.features.tracks import ReferenceTracks

PathLike = str | os.PathLike[str]


def annotate(
    store: PathLike,
    *,
    sae: PathLike,
    out: PathLike,
    annotations: Sequence[PathLike] = (),
    sequences: PathLike | None = None,
    layer: int | None = None,
    jaspar: PathLike | None = None,
    motifs: bool = True,
    contig_map: dict[str, str] | None = None,
    config: AnnotateConfig | None = None,
    allow_partial: bool = False,
) -> AnnotationResults:
    """Interpret an SAE's features on a store: statistics, top contexts, concept alignment, JASPAR motifs.

    Parameters
    ----------
    store
        Activation store holding the SAE's layer.
    sae
        SAE folder; its model and layer must match the store's.
    out
        Output folder (the input of ``genolens dashboard`` and :func:`genolens.read_annotation`).
    annotations
        Concept sources: BED, GFF3/GTF (per-base tracks) or a per-residue TSV (1-based inclusive).
    sequences
        FASTA the store was embedded from; needed only for stores older than format 0.3.0 (checked
        against the store when given).
    layer
        Store layer (default: the SAE's).
    jaspar
        JASPAR matrices to compare feature PWMs with (default: the bundled JASPAR 2024 CORE vertebrates).
    motifs
        Compare DNA features with JASPAR.
    contig_map
        ``{store contig: annotation contig}``, e.g. ``{"22": "chr22"}``.
    config
        Top contexts, thresholds, held-out split, motif null (:class:`AnnotateConfig`).
    allow_partial
        Use an unfinished store (only the shards written so far); recorded in ``annotate.json``.

    Returns
    -------
    AnnotationResults
        The folder read back: ``features`` (one row per feature), ``contexts``, ``alignment``,
        ``best_features``, ``motifs``, histograms and logos.
    """
    from genolens.features.annotate import annotate_features
    from genolens.features.concept_sets import read_concepts
    from genolens.features.contexts import check_sequences
    from genolens.features.jaspar import EXAMPLE_JASPAR, read_jaspar
    from genolens.features.results import read_results
    from genolens.io.fasta import iter_fasta

    model, source = sae_source(store, sae=sae, layer=layer, partial=allow_partial)
    seqs = None
    if sequences is not None:
        seqs = {r.id: r.sequence for r in iter_fasta(sequences)}
        check_sequences(source, sequences=seqs, path=str(sequences))
    elif not source.has_bases:
        raise ConfigError(
            f"the store (format {source.store.version}) keeps no bases, and no --sequences were given", path=store,
            hint="pass the FASTA it was embedded from (--sequences), or re-embed it with this genolens",
        )
    ids = set(source.sequences["id"])
    genomic = any(str(a).lower().removesuffix(".gz").endswith((".gff", ".gff3", ".gtf", ".bed")) for a in annotations)
    extents = source.ref_extents() if genomic else {}
    concepts = [read_concepts(a, sequence_ids=ids, extents=extents, contig_map=contig_map or {})
                for a in annotations]
    database = read_jaspar(jaspar or EXAMPLE_JASPAR) if motifs else None
    inputs = {"sae": str(sae), "store": str(store), "store_complete": source.store.complete,
              "store_shards": source.store.n_shards, "sequences": str(sequences or "store"),
              "annotations": ",".join(map(str, annotations)), "jaspar": str(jaspar or "bundled") if motifs else ""}
    folder = annotate_features(source, sae=model, out=out, sequences=seqs, concepts=concepts, motifs=database,
                               config=config, inputs=inputs)
    return read_results(folder)


def feature_track(
    store: PathLike,
    *,
    sae: PathLike | None = None,
    feature: int | None = None,
    layer: int | None = None,
    unit: int | None = None,
    sequences: Sequence[str] = (),
    samples: Sequence[str] = (),
    combine: str = "mean",
    allow_partial: bool = False,
) -> ReferenceTracks:
    """Per-base values of one SAE feature, or one unit of a layer, over reference coordinates.

    Each token's value is placed on every base it covers and mapped to the reference through the store's
    per-base positions (inserted bases left out); where several selected sequences (haplotypes of many
    samples) cover one position on a strand, their values are combined by ``combine``.

    Parameters
    ----------
    store
        Activation store of format 0.3.0 or later, embedded from a reference.
    sae, feature
        Draw this feature of this SAE (its layer by default).
    layer, unit
        Or draw this unit (dimension) of this layer.
    sequences
        Only these sequence IDs (default: all).
    samples
        Only these samples' sequences.
    combine
        ``mean``, ``max`` or ``first`` (in store order).
    allow_partial
        Use an unfinished store (only the shards written so far); recorded in the result.

    Returns
    -------
    ReferenceTracks
        One track per contig and strand (values and coordinate map), with ``name``, the number of
        sequences and of positions covered by several of them; ``gl.pl.feature_track`` draws it and
        :func:`genolens.features.tracks.write_tracks` writes bedGraph/bigWig.
    """
    from dataclasses import replace

    from genolens.features.source import StoreSource
    from genolens.features.tracks import TrackConfig, feature_values, reference_tracks, select_sequences, unit_values

    if (unit is None) == (sae is None):
        raise ConfigError("say what to draw: --layer L --unit U, or --sae DIR --feature F (one of them)")
    if (sae is None) != (feature is None):
        raise ConfigError("--sae and --feature go together")
    config = TrackConfig(combine=combine)
    if sae is not None:
        model, source = sae_source(store, sae=sae, layer=layer, partial=allow_partial)
        if int(model.cfg.d_in) != source.hidden_size:
            raise ConfigError(
                f"the SAE reads {model.cfg.d_in}-dimensional activations, the store holds {source.hidden_size}",
                path=store, hint="use the SAE trained on this model and layer",
            )
        values = feature_values(model, feature=feature)
        name = f"{model.cfg.name} feature {feature} (L{source.layer})"
    else:
        source = StoreSource(store, layer=layer, partial=allow_partial)
        values = unit_values(unit, hidden_size=source.hidden_size)
        name = f"L{source.layer} unit {unit}"
    select = select_sequences(source, ids=list(sequences), samples=list(samples))
    result = reference_tracks(source, values=values, select=select, config=config)
    return replace(result, name=name, model=source.model, layer=source.layer, store_complete=source.store.complete,
                   store_shards=source.store.n_shards)


def write_feature_track(
    store: PathLike,
    *,
    out: PathLike,
    sae: PathLike | None = None,
    feature: int | None = None,
    layer: int | None = None,
    unit: int | None = None,
    sequences: Sequence[str] = (),
    samples: Sequence[str] = (),
    combine: str = "mean",
    reference: PathLike | None = None,
    bigwig: bool = False,
    allow_partial: bool = False,
) -> tuple[ReferenceTracks, list[os.PathLike[str]]]:
    """:func:`feature_track` written as ``OUT.{plus,minus}.bedGraph`` (and ``.bw``) with ``OUT.track.json``.

    Parameters
    ----------
    store, sae, feature, layer, unit, sequences, samples, combine, allow_partial
        As :func:`feature_track`.
    out
        Output prefix.
    reference
        Reference FASTA or its ``.fai``: the contig lengths, checked against the store's positions (needed
        for bigWig).
    bigwig
        Also write bigWig files.

    Returns
    -------
    tuple
        The tracks and the paths written (the JSON sidecar last).
    """
    from genolens.features.tracks import check_contigs, write_tracks
    from genolens.io.reference import contig_lengths

    if bigwig and reference is None:
        raise ConfigError("bigWig needs a reference FASTA or FASTA.fai (the contig lengths)")
    lengths = contig_lengths(reference) if reference is not None else None
    result = feature_track(store, sae=sae, feature=feature, layer=layer, unit=unit, sequences=sequences,
                           samples=samples, combine=combine, allow_partial=allow_partial)
    if lengths is not None:
        check_contigs(result, contig_lengths=lengths, path=reference)
    description = f"{result.name}, {result.model}, {result.n_sequences} sequences, shared positions: {combine}"
    inputs = {"store": str(store), "store_complete": result.store_complete, "store_shards": result.store_shards,
              "layer": result.layer, "unit": unit, "sae": str(sae or ""), "feature": feature,
              "sequences": list(sequences), "samples": list(samples), "reference": str(reference or "")}
    paths = write_tracks(result, prefix=out, name=result.name, description=description, contig_lengths=lengths,
                         bigwig=bigwig, inputs=inputs)
    return result, paths
