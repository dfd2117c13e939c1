"""The cohort steps as ``gl.tl`` and the CLI call them: per-sample features from a store, genotype PCs of a VCF."""

from __future__ import annotations

import os
from collections.abc import Sequence

import anndata as ad
import pandas as pd

from genolens.cohort.ancestry import AncestryPCs, PCAConfig, vcf_pcs
from genolens.cohort.kinship import Kinship
from genolens.errors import ConfigError

PathLike = str | os.PathLike[str]


def aggregate(
    store: PathLike,
    *,
    sae: PathLike | None = None,
    layer: int | None = None,
    sample_sheet: PathLike | pd.DataFrame | None = None,
    id_column: str = "sample",
    statistics: Sequence[str] = ("mean",),
    threshold: float = 0.0,
    haplotypes: str = "mean",
    regions: PathLike | None = None,
    device: str = "cpu",
    allow_partial: bool = False,
    carriers: PathLike | pd.DataFrame | None = None,
) -> ad.AnnData:
    """Per-sample features (samples × features) from an activation store, through an SAE or from a layer.

    Parameters
    ----------
    store
        Activation store folder (``genolens embed``).
    sae
        SAE folder: aggregate its features; without it, the raw activations of ``layer``.
    layer
        Store layer (default: the SAE's).
    sample_sheet
        CSV/TSV sample sheet (or a table indexed by sample) whose columns become ``obs``.
    id_column
        Sample ID column of the sheet.
    statistics
        Any of ``mean``, ``max``, ``frac_active`` (fraction of bases above ``threshold``).
    threshold
        Activation above which a token counts as active (``frac_active``).
    haplotypes
        Combine a sample's haplotypes by ``mean`` or ``sum``.
    regions
        BED of named regions (e.g. genes): each feature is aggregated over each region separately.
    device
        ``cpu`` or ``cuda`` for the SAE encoding.
    allow_partial
        Use an unfinished store (only the shards written so far); recorded in ``uns["source"]``.
    carriers
        The store holds distinct haplotypes (``genolens sequences --distinct``): their carriers table
        (``NAME.carriers.tsv``), so that each distinct sequence counts for every sample and haplotype
        carrying it.

    Returns
    -------
    anndata.AnnData
        ``obs``: samples (with the sheet's columns); ``var``: features (``f{i}`` for SAE features,
        ``L{layer}.d{i}`` for raw units; with ``regions``, one per feature and region);
        ``uns["aggregation"]`` the parameters and ``uns["source"]`` the store, layer, model and SAE.
    """
    from genolens.cohort.aggregate import AggregationConfig
    from genolens.cohort.store_features import store_features
    from genolens.io.regions import read_bed
    from genolens.io.samplesheet import read_sample_sheet
    from genolens.sae.checkpoint import load_sae
    from genolens.store.reader import ActivationStore

    config = AggregationConfig(statistics=tuple(statistics), threshold=threshold, haplotypes=haplotypes)
    sheet = sample_sheet
    if sheet is not None and not isinstance(sheet, pd.DataFrame):
        sheet = read_sample_sheet(sheet, id_column=id_column)
    region_map = None
    if regions is not None:
        region_map = {}
        for r in read_bed(regions):
            if r.label in region_map:
                raise ConfigError(f"region name {r.label!r} appears twice in {regions}")
            region_map[r.label] = (r.start, r.end)
    model = load_sae(sae, device=device) if sae is not None else None
    if carriers is not None and not isinstance(carriers, pd.DataFrame):
        from genolens.io.distinct import read_carriers

        carriers = read_carriers(carriers)
    if carriers is not None and allow_partial:
        raise ConfigError("a carriers table needs the whole store (every distinct sequence), not a partial one")
    return store_features(ActivationStore(store, partial=allow_partial), layer=layer, sae=model, sample_sheet=sheet,
                          regions=region_map, config=config, carriers=carriers)


def ancestry(
    vcf: PathLike,
    *,
    samples: Sequence[str] | None = None,
    sample_sheet: PathLike | None = None,
    id_column: str = "sample",
    config: PCAConfig = PCAConfig(),
) -> AncestryPCs:
    """Genotype PCs (biallelic SNVs, MAF filter, LD thinning, PCA) of the samples of a VCF.

    Parameters
    ----------
    vcf
        VCF (plain or bgzipped) with the samples' genotypes.
    samples
        Only these samples (default: all of the VCF, or the sheet's).
    sample_sheet
        Only the sheet's samples; every one must be in the VCF.
    id_column
        Sample ID column of the sheet.
    config
        Number of PCs, MAF and LD filters, PCA method and seed.

    Returns
    -------
    AncestryPCs
        ``pcs`` (samples × PC1..PCk), ``eigenvalues``, ``counts`` of the variants each filter kept;
        :func:`genolens.cohort.ancestry.write_eigenvec` saves it as a PLINK 2 ``.eigenvec``.
    """
    if samples is not None and sample_sheet is not None:
        raise ConfigError("give samples or a sample sheet, not both")
    if sample_sheet is not None:
        from genolens.io.samplesheet import match_samples, read_sample_sheet
        from genolens.io.vcf import vcf_samples

        sheet = read_sample_sheet(sample_sheet, id_column=id_column)
        samples = match_samples(sheet, vcf_samples(vcf), sheet_path=str(sample_sheet)).common
    return vcf_pcs(vcf, samples=samples, config=config)


def kinship(
    vcf: PathLike,
    *,
    out: PathLike | None = None,
    sample_sheet: PathLike | None = None,
    id_column: str = "sample",
    min_maf: float = 0.05,
    cutoff: float = 0.0884,
    remove_related: bool = False,
) -> Kinship:
    """KING-robust kinship of every pair of samples of a VCF (``plink2 --make-king-table``), written when ``out``.

    Parameters
    ----------
    vcf
        VCF with the samples' genotypes.
    out
        Output prefix: ``PREFIX.kin0`` (pairs above ``cutoff``), ``PREFIX.king.json`` and, with
        ``remove_related``, ``PREFIX.king.cutoff.out.id`` (:func:`genolens.cohort.kinship.write_kinship`).
    sample_sheet
        Only the sheet's samples; every one must be in the VCF.
    id_column
        Sample ID column of the sheet.
    min_maf
        Minor allele frequency filter.
    cutoff
        Kinship above which a pair counts as related (0.0884: second degree).
    remove_related
        Also write the samples to remove so that no related pair is left.

    Returns
    -------
    Kinship
        Pairwise kinship; ``n_sites`` the variants used, ``trustworthy`` whether they are enough.
    """
    from genolens.cohort.kinship import king_kinship, write_kinship

    samples = None
    if sample_sheet is not None:
        from genolens.io.samplesheet import read_sample_sheet

        samples = list(read_sample_sheet(sample_sheet, id_column=id_column).index.astype(str))
    result = king_kinship(vcf, samples=samples, min_maf=min_maf)
    if out is not None:
        write_kinship(result, out, cutoff=cutoff, remove=remove_related)
    return result
