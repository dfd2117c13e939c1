"""``gl.tl``: the analysis steps, in scanpy's style.

Functions that act on an AnnData (samples × features) take it first and everything else by keyword,
write their results into documented ``obs``/``var``/``uns`` keys (``key_added``), work in place by
default (``copy=False``) and, with ``copy=True``, leave the input untouched and work on a copy. Each also
returns a result object (a table and a summary), which ``gl.write_*`` saves and ``gl.read_*`` reads back.

The command line calls exactly these functions: ``genolens aggregate`` -> :func:`aggregate`,
``genolens ancestry`` -> :func:`ancestry`, ``genolens associate`` -> :func:`associate` (``--cis``:
:func:`cis`), ``genolens audit`` -> :func:`audit`, ``genolens baseline`` -> :func:`baseline`, ``genolens
annotate`` -> :func:`annotate`, ``genolens track`` -> :func:`write_feature_track` (``associate``, ``cis`` and
``audit`` also take the path of a ``.h5ad``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import anndata as ad
import pandas as pd

from genolens.cohort.ancestry import AncestryPCs, PCAConfig, vcf_pcs
from genolens.cohort.phenotype_bed import PhenotypeBed, read_phenotype_bed
from genolens.cohort.sample_table import ancestry_pcs_for, join_panel, pc_columns
from genolens.errors import ConfigError
from genolens.features.annotate import AnnotateConfig
from genolens.features.concepts import align_concepts
from genolens.features.motifs import feature_motif
from genolens.features.tracks import ReferenceTracks
from genolens.io.files import json_ready
from genolens.io.regions import Region
from genolens.report.results import AnnotationResults
from genolens.stats.associate import AssociationConfig
from genolens.stats.associate import associate as _associate
from genolens.stats.audit import AuditConfig, embedding_audit
from genolens.stats.baseline import BaselineConfig
from genolens.stats.confound import ConfoundThresholds
from genolens.stats.design import CollinearityThresholds
from genolens.stats.results import AssociationResult, AuditResult, BaselineResult, CisResult
from genolens.stats.stratified import stratified_associations

PathLike = str | os.PathLike[str]

__all__ = [
    "aggregate", "align_concepts", "ancestry", "annotate", "associate", "audit", "baseline", "cis", "feature_motif",
    "feature_track", "write_feature_track",
]


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


def _features(adata: ad.AnnData | PathLike) -> tuple[ad.AnnData, bool]:
    """An AnnData as given, or read from a ``.h5ad`` path (then True: the caller owns it)."""
    if isinstance(adata, ad.AnnData):
        return adata, False
    from genolens.cohort.aggregate import read_features

    return read_features(adata), True


def associate(
    adata: ad.AnnData | PathLike,
    *,
    phenotype: str,
    covariates: Sequence[str] = (),
    n_pcs: int = 10,
    eigenvec: PathLike | None = None,
    vcf: PathLike | None = None,
    pca: PCAConfig | None = None,
    panel: PathLike | None = None,
    binary: bool = False,
    stratify: str | None = None,
    population: str | None = None,
    no_ancestry: bool = False,
    allow_collinear: bool = False,
    collinearity: CollinearityThresholds = CollinearityThresholds(),
    confound: ConfoundThresholds = ConfoundThresholds(),
    layer: str | None = None,
    key_added: str = "association",
    copy: bool = False,
) -> AssociationResult:
    """Test every feature against a phenotype with and without ancestry PCs, and say what each result is.

    Fits ``phenotype ~ covariates + PC1..PCk + feature`` (least squares, or logistic with Firth's
    correction for a binary phenotype) for every feature at once, and the same without the PCs; adds
    q-values, the variance of each feature that the PCs explain and a confound category
    (:mod:`genolens.stats.confound`). With ``stratify``, also the test within each population and a
    feature × population interaction test.

    Parameters
    ----------
    adata
        Samples × features; ``obs`` holds the phenotype and covariates. A path to a ``.h5ad`` is read
        (and the AnnData tested is returned as ``result.adata``).
    phenotype
        ``obs`` column to test (numeric; 0/1 when ``binary``).
    covariates
        ``obs`` columns adjusted for besides the PCs (categorical ones are one-hot encoded).
    n_pcs
        Ancestry PCs adjusted for (ignored with ``no_ancestry``).
    eigenvec, vcf
        Where the PCs come from: a PLINK ``.eigenvec``, or a VCF to compute them from (settings in
        ``pca``); with neither, ``obs`` must hold ``PC1..PC{n_pcs}``.
    pca
        Variant filters and PCA settings for ``vcf``.
    panel
        Population panel TSV whose columns (``pop``, ``super_pop``, ...) are joined into ``obs``.
    binary
        Binary phenotype: logistic regression.
    stratify
        ``obs``/panel column: per-population tests and the interaction test.
    population
        Column for the variance of each feature explained by population labels (default: ``stratify``).
    no_ancestry
        Test without any ancestry term, on purpose.
    allow_collinear
        Fit even when covariates are collinear (PLINK 2's VIF and correlation rules).
    collinearity, confound
        Thresholds of the collinearity check and of the categories.
    layer
        AnnData layer to test instead of ``X``.
    key_added
        Prefix of the results in ``var`` and key of the summary in ``uns``.
    copy
        Work on a copy of ``adata`` (returned as ``result.adata``) and leave ``adata`` untouched.

    Returns
    -------
    AssociationResult
        ``table``: one row per feature (``feature, beta, se, stat, pvalue, neg_log10_p, qvalue, n,
        ancestry_r2, pvalue_unadjusted, category``, then ``beta_unadjusted, qvalue_unadjusted, method,
        reason`` and, when stratified, the interaction columns); ``summary``; ``per_stratum``.

        Written into the AnnData: ``var["{key_added}_<column>"]`` for the table's columns,
        ``uns[key_added]`` the summary, ``obs["PC1".."PCk"]`` the PCs used and the panel's columns.
    """
    adata, from_file = _features(adata)
    target = adata.copy() if copy else adata
    obs = target.obs
    if panel is not None:
        obs = join_panel(obs, panel=panel)
    for name, column in (("stratify", stratify), ("population", population)):
        if column is not None and column not in obs.columns:
            raise ConfigError(f"{name} column {column!r} not found in the sample table",
                              hint="add it to obs, or give a panel with population labels")
    if no_ancestry and (eigenvec is not None or vcf is not None):
        raise ConfigError("no_ancestry contradicts an eigenvec file or VCF for the PCs")
    n_used = 0 if no_ancestry else n_pcs
    obs, pc_info = ancestry_pcs_for(obs, n_pcs=n_used, eigenvec=eigenvec, vcf=vcf, pca=pca)
    target.obs = obs
    config = AssociationConfig(
        phenotype=phenotype,
        covariates=tuple(covariates),
        pcs=tuple(f"PC{i + 1}" for i in range(n_used)),
        binary=binary,
        population=population or stratify,
        no_ancestry=no_ancestry,
        allow_collinear=allow_collinear,
        collinearity=collinearity,
        confound=confound,
    )
    result = _associate(target, config=config, layer=layer, key_added=key_added)
    result.summary = {"pcs": pc_info, **result.summary}
    if stratify is not None:
        strat = stratified_associations(target, config=config, stratify=stratify, layer=layer)
        extra = strat.interaction.drop(columns=["feature"])
        result.table = pd.concat([result.table, extra.set_axis(result.table.index)], axis=1)
        result.per_stratum = strat.per_stratum
        result.summary["stratified"] = strat.summary
        for col in ("interaction_pvalue", "interaction_qvalue", "effect_pattern"):
            target.var[f"{key_added}_{col}"] = extra[col].to_numpy()
    target.uns[key_added] = json_ready(result.summary)
    if copy or from_file:
        result.adata = target
    return result


def cis(
    adata: ad.AnnData | PathLike,
    *,
    phenotypes: PathLike | PhenotypeBed,
    covariates: Sequence[str] = (),
    n_pcs: int = 10,
    eigenvec: PathLike | None = None,
    vcf: PathLike | None = None,
    pca: PCAConfig | None = None,
    no_ancestry: bool = False,
    window: int | None = None,
    mapping: dict[str, list[str]] | PathLike | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
    confound: ConfoundThresholds = ConfoundThresholds(),
    layer: str | None = None,
    key_added: str = "cis",
    copy: bool = False,
    per_sd: bool = False,
) -> CisResult:
    """Cis mapping: each gene's expression against the features of its own window(s), as tensorQTL's map_cis.

    Per gene, every feature of its regions is tested (``phenotype ~ covariates + PCs + feature``); the best
    one gets a permutation p-value and tensorQTL's beta-approximated p-value, and q-values (BH) across genes.
    The best feature's effect without the PCs, the test of the change and a confound category follow
    (:mod:`genolens.stats.confound`, with the gene-level q-values).

    Parameters
    ----------
    adata
        Samples × features with ``var["region"]`` (``aggregate`` with ``regions``); ``obs`` holds covariates.
    phenotypes
        Phenotype BED (``#chr start end gene_id sample1 ...``, as GEUVADIS/fastQTL/tensorQTL) or its contents.
    covariates
        ``obs`` columns adjusted for besides the PCs.
    n_pcs, eigenvec, vcf, pca, no_ancestry
        Ancestry PCs, as in :func:`associate`.
    window
        Features of regions within this many bp of the gene's TSS; None: regions named like the gene (or
        listed for it in ``mapping``).
    mapping
        Gene ID -> region names, for regions not named by the gene's ID (or a TSV of ``gene_id``, ``region``
        lines).
    n_permutations, seed
        Permutations (the same for every gene; tensorQTL's for the same seed).
    confound
        Significance level and category settings.
    layer
        AnnData layer to test instead of ``X``.
    key_added
        Key of the summary in ``uns``.
    copy
        Work on a copy of ``adata`` (returned as ``result.adata``).
    per_sd
        Report every effect per SD of the feature (raw slopes kept as ``slope_raw``, ``slope_se_raw``).

    Returns
    -------
    CisResult
        ``table`` (one row per gene: ``phenotype_id, num_var, beta_shape1, beta_shape2, true_df,
        pval_true_df, feature_id, pval_nominal, slope, slope_se, pval_perm, pval_beta, qval``, then the
        confound columns), ``nominal`` (every gene × feature pair), ``summary``. Slopes are per unit of the
        feature (tensorQTL's convention) unless ``per_sd`` (:func:`genolens.stats.cis.effects_per_sd`: per SD
        of the feature, the reading for model features). Written into the AnnData:
        ``uns[key_added]`` (the summary) and ``obs["PC1".."PCk"]``.
    """
    from genolens.stats.cis import CisConfig, cis_map, effects_per_sd
    from genolens.stats.confound import CATEGORY_RULE

    adata, from_file = _features(adata)
    bed = phenotypes if isinstance(phenotypes, PhenotypeBed) else read_phenotype_bed(phenotypes)
    config = CisConfig(window=window, n_permutations=n_permutations, seed=seed)
    target = adata.copy() if copy else adata
    inputs = _cis_inputs(target, bed, covariates=covariates, n_pcs=0 if no_ancestry else n_pcs,
                         no_ancestry=no_ancestry, eigenvec=eigenvec, vcf=vcf, pca=pca, layer=layer, window=window,
                         mapping=mapping)
    design, rows, n_reduced, x, samples, groups, pcs, pc_info = inputs
    scan = cis_map(x, feature_names=list(map(str, target.var_names)), phenotypes=bed.values.loc[samples],
                   groups=groups, reduced=design.matrix[:, :n_reduced], full=design.matrix, config=config,
                   alpha=confound.alpha, min_fraction=confound.min_fraction)
    if per_sd:
        scan = effects_per_sd(scan)
    counts = scan.table["category"].value_counts().to_dict() if len(scan.table) else {}
    summary = {
        "pcs": pc_info,
        "config": {**config.to_dict(), "covariates": list(covariates), "pcs": pcs, "confound": asdict(confound)},
        "n_samples_used": int(rows.sum()),
        "n_phenotypes": int(bed.positions.shape[0]),
        "n_phenotypes_mapped": int(len(scan.table)),
        "skipped": scan.skipped,
        "design_columns": design.columns,
        "n_significant": int((scan.table["qval"] < confound.alpha).sum()) if len(scan.table) else 0,
        "q_values": "Benjamini-Hochberg over genes on pval_beta (tensorQTL uses Storey's qvalue)",
        "category_counts": {str(k): int(v) for k, v in counts.items()},
        "category_rule": {**CATEGORY_RULE, "alpha": confound.alpha, "min_fraction": confound.min_fraction,
                          "change_test": "sandwich" if pcs else "none (no ancestry terms)",
                          "significance": "qval (gene level) and qval_unadjusted (the best feature's unadjusted "
                          "p read through the gene's beta null)"},
    }
    target.uns[key_added] = json_ready(summary)
    return CisResult(table=scan.table, nominal=scan.nominal, summary=summary,
                     adata=target if copy or from_file else None)


def baseline(
    adata: ad.AnnData | PathLike,
    *,
    phenotypes: PathLike | PhenotypeBed,
    vcf: PathLike,
    covariates: Sequence[str] = (),
    n_pcs: int = 10,
    eigenvec: PathLike | None = None,
    pca: PCAConfig | None = None,
    no_ancestry: bool = False,
    window: int | None = None,
    mapping: dict[str, list[str]] | PathLike | None = None,
    genotype_window: int = 1_000_000,
    genotype_regions: bool = False,
    min_maf: float = 0.01,
    n_permutations: int = 1000,
    config: BaselineConfig = BaselineConfig(),
    layer: str | None = None,
    key_added: str = "baseline",
    copy: bool = False,
) -> BaselineResult:
    """The genotype baseline: a cis-eQTL scan on the VCF, and cross-validated prediction of each gene's
    expression from its model features vs from its cis genotypes (elastic net, identical folds).

    Parameters
    ----------
    adata
        Samples × features with ``var["region"]`` (as for :func:`cis`).
    phenotypes
        Phenotype BED (``#chr start end gene_id sample1 ...``) or its contents.
    vcf
        Genotypes of the samples: biallelic SNVs within ``genotype_window`` of each TSS are the baseline's
        predictors (missing dosages imputed by the variant's mean, as tensorQTL does); also the source of
        the PCs when ``obs`` lacks them and no ``eigenvec`` is given.
    covariates, n_pcs, eigenvec, pca, no_ancestry
        Covariates and ancestry PCs, as in :func:`associate`; expression is residualised on them.
    window, mapping
        Which features belong to a gene, as in :func:`cis`.
    genotype_window
        Bp either side of the TSS for the cis genotypes (tensorQTL's default 1 Mb).
    genotype_regions
        Instead of ``genotype_window``: the variants inside the gene's own feature regions
        (``uns["aggregation"]["regions"]``, on the gene's chromosome), so that genotypes and features see
        the same bases.
    min_maf
        Variants with a lower minor-allele frequency over the samples are left out.
    n_permutations
        Permutations of the genotype cis-eQTL scan.
    config
        Folds, elastic-net settings, the R² margin of a ``match``, seed.
    layer
        AnnData layer to use instead of ``X``.
    key_added
        Key of the summary in ``uns``.
    copy
        Work on a copy of ``adata``.

    Returns
    -------
    BaselineResult
        ``table`` (per gene: R², Pearson r and its sign from features and from genotypes, the correlation of
        the two predictions, ``delta_r2``, ``verdict`` and the genotype eQTL's best variant, ``eqtl_pval_beta``
        and ``eqtl_qval``), ``eqtl`` (the genotype cis-eQTL scan in tensorQTL's columns), ``summary``.
        Written into the AnnData: ``uns[key_added]`` and ``obs["PC1".."PCk"]``.
    """
    import numpy as np

    from genolens.cohort.ancestry import read_dosages
    from genolens.io.vcf import vcf_samples
    from genolens.stats.baseline import genotype_baseline, variant_regions, variant_windows
    from genolens.stats.cis import CisConfig, cis_map, effects_per_sd
    from genolens.stats.results import BASELINE_CIS_COLUMNS

    adata, _ = _features(adata)
    bed = phenotypes if isinstance(phenotypes, PhenotypeBed) else read_phenotype_bed(phenotypes)
    target = adata.copy() if copy else adata
    n_used = 0 if no_ancestry else n_pcs
    has_pcs = all(f"PC{i + 1}" in target.obs.columns for i in range(n_used))
    in_vcf = vcf_samples(vcf)
    design, rows, n_reduced, x, samples, groups, pcs, pc_info = _cis_inputs(
        target, bed, covariates=covariates, n_pcs=n_used, no_ancestry=no_ancestry, eigenvec=eigenvec,
        vcf=None if has_pcs or eigenvec is not None or n_used == 0 else vcf, pca=pca, layer=layer, window=window,
        mapping=mapping, samples_in=in_vcf,
    )
    dosages, _, sites = read_dosages(vcf, samples=[str(s) for s in samples], min_maf=min_maf)
    means = np.nanmean(dosages, axis=1, keepdims=True)
    dosages = np.where(np.isnan(dosages), means, dosages)
    varies = dosages.std(axis=1) > 0
    dosages, sites = dosages[varies], sites[varies].reset_index(drop=True)
    if genotype_regions:
        spans = dict(target.uns.get("aggregation", {}).get("regions", {}))
        chrom = bed.positions["chr"]
        own = {}
        for gene, idx in groups.items():
            names = sorted(set(map(str, target.var["region"].iloc[idx])))
            lacking = [n for n in names if len(spans.get(n, [])) != 2]
            if lacking:
                raise ConfigError(f"the features carry no coordinates for regions {lacking[:3]}",
                                  hint="aggregate with --regions BED (uns['aggregation']['regions'])")
            own[gene] = [(str(chrom[gene]), int(spans[n][0]), int(spans[n][1])) for n in names]
        variant_groups = variant_regions(sites, own)
    else:
        variant_groups = variant_windows(sites, bed.positions.loc[list(groups)], window=genotype_window)
    phen = bed.values.loc[samples]
    ids = [f"{c}:{p}:{v}" for c, p, v in zip(sites["contig"], sites["pos"], sites["id"], strict=True)]
    eqtl = cis_map(dosages.T, feature_names=ids, phenotypes=phen, groups=variant_groups,
                   reduced=design.matrix[:, :n_reduced], full=design.matrix,
                   config=CisConfig(n_permutations=n_permutations, seed=config.seed))
    table = genotype_baseline(x, genotypes=dosages.T, phenotypes=phen, feature_groups=groups,
                              variant_groups=variant_groups, covariates=design.matrix, config=config)
    best = eqtl.table.set_index("phenotype_id")[["feature_id", "pval_nominal", "pval_beta", "qval"]]
    best.columns = ["eqtl_variant", "eqtl_pval_nominal", "eqtl_pval_beta", "eqtl_qval"]
    table = table.join(best, on="phenotype_id")
    # the same cis test on the gene's model features: which genes' features carry signal, and of what kind
    features_cis = effects_per_sd(cis_map(
        x, feature_names=list(map(str, target.var_names)), phenotypes=phen,
        groups={g: groups[g] for g in table["phenotype_id"]}, reduced=design.matrix[:, :n_reduced],
        full=design.matrix, config=CisConfig(n_permutations=n_permutations, seed=config.seed)))
    fbest = features_cis.table.set_index("phenotype_id")[list(BASELINE_CIS_COLUMNS)]
    fbest.columns = [f"features_{'slope_per_sd' if c == 'slope' else c}" for c in BASELINE_CIS_COLUMNS]
    table = table.join(fbest, on="phenotype_id")
    alpha = 0.05
    eqtl_genes = table.loc[table["eqtl_qval"] < alpha, "phenotype_id"].tolist()
    feature_genes = table.loc[table["features_qval"] < alpha, "phenotype_id"].tolist()
    counts = table["verdict"].value_counts().to_dict()
    summary = {
        "pcs": pc_info,
        "config": {**config.to_dict(), "covariates": list(covariates), "pcs": pcs,
                   "genotype_window": "the gene's feature regions" if genotype_regions else genotype_window,
                   "feature_window": window, "min_maf": min_maf, "n_permutations": n_permutations, "vcf": str(vcf)},
        "n_samples_used": int(rows.sum()),
        "n_variants": int(dosages.shape[0]),
        "n_genes_compared": int(len(table)),
        "verdict_counts": {str(k): int(v) for k, v in counts.items()},
        "median_r2_features": float(table["r2_features"].median()) if len(table) else float("nan"),
        "median_r2_genotypes": float(table["r2_genotypes"].median()) if len(table) else float("nan"),
        "residualised_on": design.columns,
        "alpha": alpha,
        "genes_with_eqtl": eqtl_genes,
        "genes_with_feature_signal": feature_genes,
        "genes_features_and_genotypes": [g for g in eqtl_genes if g in feature_genes],
        "genes_only_genotypes": [g for g in eqtl_genes if g not in feature_genes],
        "genes_only_features": [g for g in feature_genes if g not in eqtl_genes],
        "features_cis_skipped": features_cis.skipped,
    }
    target.uns[key_added] = json_ready(summary)
    return BaselineResult(table=table, eqtl=eqtl.table, summary=summary, features_cis=features_cis.table)

def _cis_inputs(target: ad.AnnData, bed: PhenotypeBed, *, covariates: Sequence[str], n_pcs: int, no_ancestry: bool,
                eigenvec: PathLike | None, vcf: PathLike | None, pca: PCAConfig | None, layer: str | None,
                window: int | None, mapping: dict[str, list[str]] | PathLike | None,
                samples_in: Sequence[str] | None = None):  # noqa: ANN202
    """PCs into ``target.obs``; the design, feature matrix and gene -> feature groups of a cis run."""
    import numpy as np
    import scipy.sparse as sp

    from genolens.stats.associate import feature_matrix
    from genolens.stats.cis import cis_groups, read_cis_map
    from genolens.stats.design import build_design, encode_columns

    if not no_ancestry and n_pcs < 1:
        raise ConfigError("no ancestry terms (PCs) in the model", hint="pass no_ancestry=True to do it on purpose")
    if mapping is not None and not isinstance(mapping, dict):
        mapping = read_cis_map(mapping)
    obs, pc_info = ancestry_pcs_for(target.obs, n_pcs=n_pcs, eigenvec=eigenvec, vcf=vcf, pca=pca)
    target.obs = obs
    usable = obs.index.isin(bed.values.index)
    if samples_in is not None:
        usable &= obs.index.isin(list(samples_in))
    if usable.sum() < 10:
        raise ConfigError(f"only {int(usable.sum())} samples of the features are in the phenotype BED"
                          + (" and the VCF" if samples_in is not None else ""),
                          hint="the BED's sample columns must be the AnnData's obs names")
    pcs = [f"PC{i + 1}" for i in range(n_pcs)]
    design = build_design(obs, columns=list(covariates) + pcs, extra_mask=usable)
    rows = design.keep
    n_reduced = 1 + encode_columns(obs, columns=list(covariates))[0].shape[1]
    x = feature_matrix(target, layer=layer)
    x = x[rows].toarray() if sp.issparse(x) else np.asarray(x[rows], dtype=float)
    regions = {k: tuple(v) for k, v in dict(target.uns.get("aggregation", {}).get("regions", {})).items() if len(v)}
    groups = cis_groups(target.var, bed.positions, window=window, regions=regions, mapping=mapping)
    if not groups:
        raise ConfigError("no gene of the phenotype BED has a feature region",
                          hint="name regions by gene ID, pass a mapping, or give a window around the TSS")
    return design, rows, n_reduced, x, obs.index[rows], groups, pcs, pc_info


def audit(
    adata: ad.AnnData | PathLike,
    *,
    labels: str | None = None,
    pcs: int | Sequence[str] | None = None,
    eigenvec: PathLike | None = None,
    use_rep: str | None = None,
    config: AuditConfig = AuditConfig(),
    key_added: str = "audit",
    copy: bool = False,
) -> AuditResult:
    """How much ancestry a cross-validated linear probe reads from per-sample features or embeddings.

    Parameters
    ----------
    adata
        Samples × features (or an embedding in ``obsm[use_rep]``); a path to a ``.h5ad`` is read.
    labels
        ``obs`` column with the population label (multinomial logistic probe: accuracy, balanced accuracy).
    pcs
        PCs to probe (ridge: R² each): a number k (``PC1..PCk``), column names, or None for every ``PC``
        column present; 0 for none.
    eigenvec
        PLINK ``.eigenvec`` whose PCs are joined into ``obs`` first.
    use_rep
        ``obsm`` key of an embedding to probe instead of ``X``.
    config
        Folds, permutations, bootstrap resamples, confidence level and seed.
    key_added
        Key of the results in ``uns``.
    copy
        Join the PCs into a copy of ``adata`` and leave ``adata`` untouched.

    Returns
    -------
    AuditResult
        ``table``: one row per target and metric (score, bootstrap interval, chance, permutation-null mean
        and p-value); ``summary``. Written into the AnnData: ``uns[key_added]`` (summary and rows) and,
        with ``eigenvec``, ``obs["PC1".."PCk"]``.
    """
    from genolens.cohort.ancestry import attach_pcs, read_eigenvec

    adata, _ = _features(adata)
    target = adata.copy() if copy else adata
    if eigenvec is not None:
        target.obs = attach_pcs(target.obs, pcs=read_eigenvec(eigenvec), source=str(eigenvec))
    if pcs is None:
        names = pc_columns(target.obs)
    elif isinstance(pcs, int):
        if pcs < 0:
            raise ConfigError(f"the number of PCs (--pcs) must be >= 0, got {pcs}")
        names = [f"PC{i + 1}" for i in range(pcs)]
        missing = [p for p in names if p not in target.obs.columns]
        if missing:
            raise ConfigError(f"{pcs} PCs asked for but obs lacks {missing[:5]}")
    else:
        names = list(pcs)
    result = embedding_audit(target, labels=labels, pcs=names, use_rep=use_rep, config=config)
    result.summary = {**result.summary, "pcs": names}
    target.uns[key_added] = json_ready({**result.summary, "results": result.table.to_dict(orient="records")})
    return result


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
    from genolens.io.fasta import iter_fasta
    from genolens.report.results import read_results

    model, source = _sae_on_store(sae, store, layer=layer, allow_partial=allow_partial)
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
        model, source = _sae_on_store(sae, store, layer=layer, allow_partial=allow_partial)
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


def _sae_on_store(sae: PathLike, store: PathLike, *, layer: int | None, allow_partial: bool):  # noqa: ANN202
    """Load an SAE and open the store's layer (default: the SAE's) it reads; another model or layer is refused."""
    from genolens.features.source import sae_source

    return sae_source(store, sae=sae, layer=layer, partial=allow_partial)


# issue #15 (kept at the end: tl.py is edited in parallel)
from genolens.probes.erase import EraseResult, erase  # noqa: E402
from genolens.probes.probe_train import probe  # noqa: E402 - ``genolens probe train``


def erase_features(features: PathLike | ad.AnnData, *, out: PathLike | None = None, **kwargs) -> EraseResult:  # noqa: ANN003
    """:func:`erase` on an AnnData or a ``.h5ad`` path, writing the result folder to ``out`` when given.

    ``genolens erase`` calls this.

    Parameters
    ----------
    features
        Samples × features, or the path of a ``.h5ad``.
    out
        Folder to write the result into (eraser, audits, summary); None: nothing is written.
    **kwargs
        :func:`erase`'s settings (``concept``, ``phenotypes``, ``use_rep``, ``config``).

    Returns
    -------
    EraseResult
        As :func:`erase`.
    """
    adata, _ = _features(features)
    result = erase(adata, **kwargs)
    if out is not None:
        result.write(out)
    return result


__all__ += ["erase", "erase_features", "probe"]


# issue #16 (kept at the end: tl.py is edited in parallel)
from genolens.interventions.variant_effects import VariantEffects, VariantEffectsConfig  # noqa: E402


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
    from genolens.adapters.fingerprint import tokenizer_fingerprint, weights_fingerprint
    from genolens.adapters.heads import language_model_head
    from genolens.adapters.registry import load_adapter
    from genolens.interventions.variant_effects import variant_effects as _variant_effects
    from genolens.io.reference import Reference
    from genolens.io.regions import read_regions
    from genolens.report.results import read_results
    from genolens.report.variant_effects import write_variant_effects
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.sae.config import Provenance

    config = config or VariantEffectsConfig()
    if not isinstance(config, VariantEffectsConfig):
        raise ConfigError(f"config must be a VariantEffectsConfig, got {type(config).__name__}")
    adapter = load_adapter(model, device=device)
    head = language_model_head(adapter)
    sae_model = None
    if sae is not None:
        sae_model = load_sae(sae, device=device)
        check_compatible(sae_model, Provenance(model=model, model_hash=weights_fingerprint(adapter.model),
                                               tokenizer=tokenizer_fingerprint(adapter.tokenizer)),
                         what=f"model {model}")
    annotation = read_results(labels) if labels is not None else None
    if annotation is not None and sae_model is not None and annotation.meta.get("sae", {}).get("name") not in (
            None, sae_model.cfg.name):
        raise ConfigError(f"the annotation folder is of SAE {annotation.meta['sae']['name']!r}, not "
                          f"{sae_model.cfg.name!r}", path=labels)
    with Reference(reference) as ref:
        region_list = (read_regions(list(regions), contig_lengths=ref.contig_lengths) if regions
                       else [Region(c, 0, n) for c, n in ref.contig_lengths.items()])
        result = _variant_effects(adapter, reference=ref, vcf=vcf, regions=region_list, head=head, sae=sae_model,
                                  labels=None if annotation is None else annotation.features, config=config,
                                  progress=progress)
    result.meta["inputs"] = {"reference": str(reference), "vcf": str(vcf), "regions": list(regions or []),
                             "sae": str(sae or ""), "labels": str(labels or "")}
    if out is not None:
        write_variant_effects(result, out=out, annotation=annotation, max_pages=max_pages)
    return result


from genolens.interventions.ism import IsmConfig, IsmResult  # noqa: E402


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
    from genolens.report.ism import write_ism
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.sae.config import Provenance

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


__all__ += ["ism", "variant_effects", "variants_behind"]


# issue #18 (kept at the end: tl.py is edited in parallel)
from genolens.interventions.ablate import AblateConfig, AblationResult  # noqa: E402
from genolens.interventions.steer import SteerConfig, SteerResult  # noqa: E402


def _model_and_sae(model: str, sae: PathLike, *, device: str):  # noqa: ANN202
    """Load the model, its head and the SAE; an SAE of another model, tokenizer or weights is refused."""
    from genolens.adapters.fingerprint import tokenizer_fingerprint, weights_fingerprint
    from genolens.adapters.heads import language_model_head
    from genolens.adapters.registry import load_adapter
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.sae.config import Provenance

    sae_model = load_sae(sae, device=device)
    check_compatible(sae_model, Provenance(model=model), what=f"model {model}")
    adapter = load_adapter(model, device=device)
    check_compatible(sae_model, Provenance(model=model, model_hash=weights_fingerprint(adapter.model),
                                           tokenizer=tokenizer_fingerprint(adapter.tokenizer)),
                     what=f"model {model}")
    return adapter, language_model_head(adapter), sae_model


def _input_records(adapter, *, fasta: PathLike | None, store: PathLike | None, sequences: Sequence[str],  # noqa: ANN001, ANN202
                   max_sequences: int | None):
    """The records of a FASTA or a store (its own bases; the store must be of this model)."""
    from genolens.io.fasta import read_fasta
    from genolens.io.records import SequenceRecord

    if (fasta is None) == (store is None):
        raise ConfigError("read exactly one input: a FASTA (--input) or an activation store (--store)")
    if fasta is not None:
        records = list(read_fasta(fasta, alphabet=adapter.alphabet))
    else:
        from genolens.store import ActivationStore

        opened = ActivationStore(store)
        if opened.config.model not in (adapter.name, ""):
            raise ConfigError(f"the store was embedded with {opened.config.model}, not {adapter.name}", path=store)
        bases = opened.bases_by_id()
        if bases is None:
            raise ConfigError("the store keeps no bases (format older than 0.3.0)", path=store,
                              hint="pass the FASTA it was embedded from (--input)")
        records = [SequenceRecord(i, s, adapter.alphabet) for i, s in bases.items()]
    if sequences:
        known = {r.id for r in records}
        missing = [s for s in sequences if s not in known]
        if missing:
            raise ConfigError(f"sequence(s) {', '.join(missing[:5])} are not in the input")
        wanted = set(sequences)
        records = [r for r in records if r.id in wanted]
    if max_sequences is not None:
        records = records[:max_sequences]
    return records


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

    adapter, head, sae_model = _model_and_sae(model, sae, device=device)
    records = _input_records(adapter, fasta=fasta, store=store, sequences=sequences, max_sequences=max_sequences)
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
    from genolens.report.interventions import write_steer
    from genolens.sae.checkpoint import check_compatible, load_sae
    from genolens.sae.config import Provenance

    adapter, head, sae_model = _model_and_sae(model, sae, device=device)
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
    records = _input_records(adapter, fasta=fasta, store=store, sequences=sequences, max_sequences=max_sequences)
    result = _steer(adapter, records, sae=sae_model, head=head, feature=feature, config=config, later_sae=later,
                    probes=weights)
    result.meta["inputs"] = {"sae": str(sae), "fasta": str(fasta or ""), "store": str(store or ""),
                             "later_sae": str(later_sae or ""), "probes": [str(p) for p in probes]}
    if out is not None:
        write_steer(result, out=out)
    return result


__all__ += ["ablate", "steer"]
