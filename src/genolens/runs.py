"""The intervention runs end to end, as ``gl.tl`` and the CLI call them.

Each loads the model (and an SAE checked against it), runs an engine of :mod:`genolens.interventions` and
writes its output folder. They sit above :mod:`genolens.report` because those folders hold its pages
(variant effects) and read the association results of :mod:`genolens.stats` and the probe files of
:mod:`genolens.probes` (variants behind a biomarker, probes read while steering)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from genolens.errors import ConfigError
from genolens.interventions.ablate import AblateConfig, AblationResult
from genolens.interventions.inputs import input_records, load_model_and_sae
from genolens.interventions.ism import IsmConfig, IsmResult
from genolens.interventions.steer import SteerConfig, SteerResult
from genolens.interventions.variant_effects import VariantEffects, VariantEffectsConfig
from genolens.io.regions import Region
from genolens.stats.results import AssociationResult, BaselineResult, CisResult

PathLike = str | os.PathLike[str]


def variant_effects(
    model: str,
    *,
    reference: PathLike,
    vcf: PathLike,
    regions: Sequence[str] | None = None,
    sae: PathLike | None = None,
    labels: PathLike | None = None,
    out: PathLike | None = None,
    config: VariantEffectsConfig | None = None,
    device: str = "cpu",
    max_pages: int = 200,
    progress: bool = False,
) -> VariantEffects:
    """What each variant does to the model: zero-shot score, embedding distance and the SAE features it moves.

    ``genolens variant-effects`` calls this. See :mod:`genolens.interventions.variant_effects` for the
    scores (``llr`` for causal models, ``masked_marginal`` / ``pll_span`` for masked ones) and how
    feature changes are aligned through the windows' coordinate maps.

    Parameters
    ----------
    model
        Model short name, hub id or folder (its own language-model head gives the score).
    reference
        Indexed reference FASTA.
    vcf
        Indexed VCF/BCF (genotypes are not read).
    regions
        BED files or ``chr:start-end`` strings whose variants are scored (default: every contig).
    sae
        SAE folder trained on this model; its layer is used.
    labels
        Annotation folder of that SAE (``genolens annotate``): feature labels, ranking scale and logos.
    out
        Output folder (:func:`genolens.report.variant_effects.write_variant_effects`); None writes nothing.
    config
        A :class:`~genolens.interventions.variant_effects.VariantEffectsConfig` (width, layer, top, batching,
        skip policy, ranking).
    device
        Where the model runs.
    max_pages
        Variant pages written under ``out``.
    progress
        Show a progress bar.

    Returns
    -------
    VariantEffects
        One row per variant allele, the skipped ones with reasons, feature changes and tracks.
    """
    from genolens.adapters.heads import language_model_head
    from genolens.adapters.registry import load_adapter
    from genolens.features.results import read_results
    from genolens.interventions.variant_effects import variant_effects as _variant_effects
    from genolens.io.reference import Reference
    from genolens.io.regions import read_regions
    from genolens.report.variant_effects import write_variant_effects
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.store.embed import model_provenance

    config = config or VariantEffectsConfig()
    if not isinstance(config, VariantEffectsConfig):
        raise ConfigError(f"config must be a VariantEffectsConfig, got {type(config).__name__}")
    adapter = load_adapter(model, device=device)
    head = language_model_head(adapter)
    sae_model = None
    if sae is not None:
        sae_model = load_sae(sae, device=device)
        check_compatible(sae_model, model_provenance(adapter, model=model), what=f"model {model}")
    annotation = read_results(labels) if labels is not None else None
    if annotation is not None and sae_model is not None and annotation.meta.get("sae", {}).get("name") not in (
            None, sae_model.cfg.name):
        raise ConfigError(f"the annotation folder is of SAE {annotation.meta['sae']['name']!r}, not "
                          f"{sae_model.cfg.name!r}", path=labels)
    with Reference(reference) as ref:
        region_list = read_regions(list(regions), contig_lengths=ref.contig_lengths) if regions else None
        result = _variant_effects(adapter, reference=ref, vcf=vcf, regions=region_list, head=head, sae=sae_model,
                                  labels=None if annotation is None else annotation.features, config=config,
                                  progress=progress)
    result.meta["inputs"] = {"reference": str(reference), "vcf": str(vcf), "regions": list(regions or []),
                             "sae": str(sae or ""), "labels": str(labels or "")}
    if out is not None:
        write_variant_effects(result, out=out, annotation=annotation, max_pages=max_pages)
    return result


def ism(
    model: str,
    *,
    reference: PathLike,
    region: str,
    sae: PathLike | None = None,
    features: Sequence[int] = (),
    out: PathLike | None = None,
    config: IsmConfig | None = None,
    bigwig: bool = False,
    device: str = "cpu",
    progress: bool = False,
) -> IsmResult:
    """Saturation in-silico mutagenesis of a region: all ``3 x L`` substitutions, zero-shot and on chosen features.

    ``genolens ism`` calls this (see :mod:`genolens.interventions.ism`).

    Parameters
    ----------
    model
        DNA model short name, hub id or folder.
    reference
        Indexed reference FASTA.
    region
        ``chr:start-end`` (1-based inclusive) to mutate.
    sae
        SAE folder trained on this model, for ``features``.
    features
        SAE features whose change is measured.
    out
        Output folder (:func:`genolens.report.ism.write_ism`); None writes nothing.
    config
        Flank, layer, batching, length limit (:class:`~genolens.interventions.ism.IsmConfig`).
    bigwig
        Also write the tracks as bigWig.
    device
        Where the model runs.
    progress
        Show a progress bar.

    Returns
    -------
    IsmResult
        One ``[L, 4]`` effect matrix per target (``score``, ``feature_<i>``).
    """
    from genolens.adapters.heads import language_model_head
    from genolens.adapters.registry import load_adapter
    from genolens.interventions.ism import ism as _ism
    from genolens.io.reference import Reference
    from genolens.io.regions import parse_region
    from genolens.provenance import Provenance
    from genolens.report.ism import write_ism
    from genolens.sae.checkpoint import check_compatible, load_sae

    adapter = load_adapter(model, device=device)
    sae_model = None
    if sae is not None:
        sae_model = load_sae(sae, device=device)
        check_compatible(sae_model, Provenance(model=model), what=f"model {model}")
    with Reference(reference) as ref:
        where = parse_region(region, contig_lengths=ref.contig_lengths)
        result = _ism(adapter, reference=ref, region=where, head=language_model_head(adapter), sae=sae_model,
                      features=features, config=config, progress=progress)
        lengths = dict(ref.contig_lengths)
    if out is not None:
        write_ism(result, out=out, bigwig=bigwig, contig_lengths=lengths)
    return result


def variants_behind(
    effects: VariantEffects | PathLike,
    *,
    associations: AssociationResult | CisResult | BaselineResult | pd.DataFrame | PathLike,
    alpha: float = 0.05,
    column: str = "qvalue",
    top: int = 10,
    eqtl: BaselineResult | pd.DataFrame | PathLike | None = None,
    vcf: PathLike | None = None,
    gene: str | None = None,
    regions: PathLike | Sequence[Region] | None = None,
    rank_by: str = "window",
) -> pd.DataFrame:
    """Variants behind a biomarker: per significant associated feature, the variants that move it most.

    Parameters
    ----------
    effects
        :func:`variant_effects` of the cohort's variants in the region (same SAE), or its output folder.
    associations
        :func:`associate` or :func:`cis` result, its table, or its output folder; or a :func:`baseline` result
        or folder, whose features' own cis scan is ranked and joined with its genotype eQTL scan.
    alpha
        Significance cut on ``column``.
    column
        ``"qvalue"`` or ``"pvalue"`` (for a cis result: gene-level ``qval`` or ``pval_beta``).
    top
        Variants listed per feature.
    eqtl
        The genotype cis-eQTL scan to join: a :func:`baseline` result, its folder or its ``eqtl`` table. Each
        variant then says whether it is its gene's eQTL lead and its LD (r²) with the lead.
    vcf
        The cohort's genotypes (alt-allele dosages of its biallelic SNVs over all its samples): variants are
        then ranked by their contribution to the feature's variation across people (``|change|`` x the SD of
        their dosage), and joined with the eQTL lead by LD.
    gene
        The phenotype an :func:`associate` result was tested against (a cis result names its genes).
    regions
        The named regions the features were aggregated over (a BED, e.g. ``sequences.windows.bed``, or
        :class:`~genolens.io.regions.Region` objects): a per-region feature is ranked only over the variants
        inside its own region.
    rank_by
        ``"window"``: the change of the feature's maximum over the variant's window; ``"variant"``: at the
        variant's own bases.

    Returns
    -------
    pandas.DataFrame
        See :func:`genolens.interventions.variant_ranking.rank_variants`.
    """
    from genolens.cohort.ancestry import read_dosages
    from genolens.interventions.variant_ranking import rank_variants
    from genolens.report.variant_effects import read_variant_effects
    from genolens.stats.results import read_association, read_baseline, read_cis

    if not isinstance(effects, VariantEffects):
        effects = read_variant_effects(effects)
    if isinstance(associations, (str, os.PathLike)) and (Path(associations) / "baseline.json").is_file():
        associations = read_baseline(associations)
    if isinstance(associations, BaselineResult):  # its features' own cis scan, joined with its eQTL scan
        if associations.features_cis is None:
            raise ConfigError("the baseline run holds no cis scan of the features (features_cis.tsv)")
        eqtl = associations if eqtl is None else eqtl
        table = associations.features_cis
    elif isinstance(associations, (AssociationResult, CisResult)):
        table = associations.table
    elif isinstance(associations, pd.DataFrame):
        table = associations
    elif (Path(associations) / "cis.json").is_file():
        table = read_cis(associations).table
    else:
        table = read_association(associations).table
    if isinstance(eqtl, BaselineResult):
        eqtl = eqtl.eqtl
    elif eqtl is not None and not isinstance(eqtl, pd.DataFrame):
        eqtl = read_baseline(eqtl).eqtl
    genotypes = None
    if vcf is not None:
        dosages, samples, sites = read_dosages(vcf)
        genotypes = pd.DataFrame(dosages, index=[f"{c}:{p}" for c, p in zip(sites["contig"], sites["pos"],
                                                                            strict=True)], columns=samples)
    spans = None
    if regions is not None:
        from genolens.io.regions import read_bed

        spans = {}
        for r in read_bed(regions) if isinstance(regions, (str, os.PathLike)) else regions:
            if not r.name:
                raise ConfigError(f"region {r.contig}:{r.start + 1}-{r.end} has no name (BED column 4)")
            spans.setdefault(r.name, []).append((r.contig, r.start, r.end))
    return rank_variants(effects, table, alpha=alpha, column=column, top=top, eqtl=eqtl, genotypes=genotypes,
                         gene=gene, regions=spans, rank_by=rank_by)


def ablate(
    model: str,
    *,
    sae: PathLike,
    fasta: PathLike | None = None,
    store: PathLike | None = None,
    features: Sequence[int] | None = None,
    sequences: Sequence[str] = (),
    max_sequences: int | None = None,
    track_sequences: Sequence[str] = (),
    config: AblateConfig | None = None,
    out: PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> AblationResult:
    """Ablate SAE features (error term kept) and measure the model's loss change per feature.

    ``genolens ablate`` calls this; see :mod:`genolens.interventions.ablate` for the objective, the split into
    positions where the feature fired and elsewhere, and the batched method.

    Parameters
    ----------
    model
        Model short name, hub id or folder (the SAE's model; its own head gives the loss).
    sae
        SAE folder trained on this model.
    fasta
        Sequences to score (each must fit the model's context).
    store
        Or an activation store of this model: its own bases are used.
    features
        Features ablated, each on its own; None: every feature that fires on the input.
    sequences
        Only these sequence IDs (default: all).
    max_sequences
        At most this many sequences (the first ones).
    track_sequences
        Sequences whose per-base loss change is kept (and written as bedGraph) for every feature.
    config
        :class:`~genolens.interventions.ablate.AblateConfig` (mask fraction, seed, batching, method).
    out
        Output folder (:func:`genolens.report.interventions.write_ablation`); None writes nothing.
    device
        Where the model runs.
    progress
        Show a progress bar.

    Returns
    -------
    AblationResult
        The per-feature table, settings and tracks.
    """
    from genolens.interventions.ablate import ablate as _ablate
    from genolens.report.interventions import write_ablation

    adapter, head, sae_model = load_model_and_sae(model, sae, device=device)
    records = input_records(adapter, fasta=fasta, store=store, sequences=sequences, max_sequences=max_sequences)
    result = _ablate(adapter, records, sae=sae_model, head=head, features=features, config=config,
                     track_sequences=track_sequences, progress=progress)
    result.meta["inputs"] = {"sae": str(sae), "fasta": str(fasta or ""), "store": str(store or "")}
    if out is not None:
        write_ablation(result, out=out)
    return result


def steer(
    model: str,
    *,
    sae: PathLike,
    feature: int,
    config: SteerConfig,
    fasta: PathLike | None = None,
    store: PathLike | None = None,
    sequences: Sequence[str] = (),
    max_sequences: int | None = None,
    later_sae: PathLike | None = None,
    probes: Sequence[PathLike] = (),
    out: PathLike | None = None,
    device: str = "cpu",
) -> SteerResult:
    """Steer one SAE feature (add its decoder row, or clamp it) and report what the model predicts.

    ``genolens steer`` calls this; see :mod:`genolens.interventions.steer` (``scale`` multiplies the raw decoder
    row: the units of the feature's activation).

    Parameters
    ----------
    model
        Model short name, hub id or folder (the SAE's model).
    sae
        SAE folder trained on this model.
    feature
        The feature steered.
    config
        :class:`~genolens.interventions.steer.SteerConfig` (scale or clamp, positions, batching).
    fasta
        Sequences (each must fit the model's context).
    store
        Or an activation store of this model: its own bases are used.
    sequences
        Only these sequence IDs.
    max_sequences
        At most this many sequences (the first ones).
    later_sae
        An SAE of a later layer of the same model: its features' change is reported.
    probes
        Probe files (``genolens probe train``) on raw activations of this model, read before and after.
    out
        Output folder (:func:`genolens.report.interventions.write_steer`); None writes nothing.
    device
        Where the model runs.

    Returns
    -------
    SteerResult
        Per-position and per-letter log-probabilities, later features, probe scores.
    """
    from genolens.interventions.steer import ProbeWeights
    from genolens.interventions.steer import steer as _steer
    from genolens.probes.probe_file import check_probe, load_probe
    from genolens.provenance import Provenance
    from genolens.report.interventions import write_steer
    from genolens.sae.checkpoint import check_compatible, load_sae

    adapter, head, sae_model = load_model_and_sae(model, sae, device=device)
    later = None
    if later_sae is not None:
        later = load_sae(later_sae, device=device)
        check_compatible(later, Provenance(model=model), what=f"model {model}")
    weights = []
    for path in probes:
        probe = load_probe(path)
        check_probe(probe, Provenance(model=model), what=f"model {model}")
        if probe.representation != "raw":
            raise ConfigError(f"probe {path} reads SAE features; steer reads probes on raw activations", path=path)
        if probe.provenance.layer < 0:
            raise ConfigError("the probe records no layer", path=path)
        weights.append(ProbeWeights(probe.target, probe.provenance.layer, probe.weight, probe.bias, probe.outputs,
                                    probe.level))
    records = input_records(adapter, fasta=fasta, store=store, sequences=sequences, max_sequences=max_sequences)
    result = _steer(adapter, records, sae=sae_model, head=head, feature=feature, config=config, later_sae=later,
                    probes=weights)
    result.meta["inputs"] = {"sae": str(sae), "fasta": str(fasta or ""), "store": str(store or ""),
                             "later_sae": str(later_sae or ""), "probes": [str(p) for p in probes]}
    if out is not None:
        write_steer(result, out=out)
    return result
