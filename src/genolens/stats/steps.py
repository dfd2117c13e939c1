"""The association steps as ``gl.tl`` and the CLI call them.

Each resolves its inputs (an AnnData or a ``.h5ad``, ancestry PCs from ``obs``, an ``.eigenvec`` or a VCF, a panel,
a phenotype BED), runs the engine and writes its results into the AnnData (``var``/``uns`` under ``key_added``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import anndata as ad
import numpy as np
import pandas as pd

from genolens.cohort.aggregate import as_features
from genolens.cohort.ancestry import PCAConfig
from genolens.cohort.phenotype_bed import PhenotypeBed, read_phenotype_bed
from genolens.cohort.sample_table import ancestry_pcs_for, join_panel, pc_columns
from genolens.errors import ConfigError
from genolens.io.files import json_ready
from genolens.stats.associate import AssociationConfig
from genolens.stats.associate import associate as _associate
from genolens.stats.audit import AuditConfig, embedding_audit
from genolens.stats.baseline import BaselineConfig
from genolens.stats.confound import ConfoundThresholds
from genolens.stats.design import CollinearityThresholds, Design
from genolens.stats.results import AssociationResult, AuditResult, BaselineResult, CisResult
from genolens.stats.stratified import stratified_associations

PathLike = str | os.PathLike[str]


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
    adata, from_file = as_features(adata)
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

    adata, from_file = as_features(adata)
    bed = phenotypes if isinstance(phenotypes, PhenotypeBed) else read_phenotype_bed(phenotypes)
    config = CisConfig(window=window, n_permutations=n_permutations, seed=seed)
    target = adata.copy() if copy else adata
    inputs = cis_inputs(target, bed, covariates=covariates, n_pcs=0 if no_ancestry else n_pcs,
                        no_ancestry=no_ancestry, eigenvec=eigenvec, vcf=vcf, pca=pca, layer=layer, window=window,
                        mapping=mapping)
    design, pcs = inputs.design, inputs.pcs
    scan = cis_map(inputs.x, feature_names=list(map(str, target.var_names)), phenotypes=bed.values.loc[inputs.samples],
                   groups=inputs.groups, reduced=inputs.reduced, full=design.matrix, config=config,
                   alpha=confound.alpha, min_fraction=confound.min_fraction,
                   min_fraction_low=confound.min_fraction_low)
    if per_sd:
        scan = effects_per_sd(scan)
    counts = scan.table["category"].value_counts().to_dict() if len(scan.table) else {}
    summary = {
        "pcs": inputs.pc_info,
        "config": {**config.to_dict(), "covariates": list(covariates), "pcs": pcs, "confound": asdict(confound)},
        "n_samples_used": int(inputs.rows.sum()),
        "n_phenotypes": int(bed.positions.shape[0]),
        "n_phenotypes_mapped": int(len(scan.table)),
        "skipped": scan.skipped,
        "design_columns": design.columns,
        "n_significant": int((scan.table["qval"] < confound.alpha).sum()) if len(scan.table) else 0,
        "q_values": "Benjamini-Hochberg over genes on pval_beta (tensorQTL uses Storey's qvalue)",
        "category_counts": {str(k): int(v) for k, v in counts.items()},
        "category_rule": {**CATEGORY_RULE, "alpha": confound.alpha, "min_fraction": confound.min_fraction,
                          "min_fraction_low": confound.min_fraction_low,
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
    from genolens.cohort.ancestry import read_dosages
    from genolens.io.vcf import vcf_samples
    from genolens.stats.baseline import genotype_baseline, variant_regions, variant_windows
    from genolens.stats.cis import CisConfig, cis_map, effects_per_sd
    from genolens.stats.results import BASELINE_CIS_COLUMNS

    adata, _ = as_features(adata)
    bed = phenotypes if isinstance(phenotypes, PhenotypeBed) else read_phenotype_bed(phenotypes)
    target = adata.copy() if copy else adata
    n_used = 0 if no_ancestry else n_pcs
    has_pcs = all(f"PC{i + 1}" in target.obs.columns for i in range(n_used))
    in_vcf = vcf_samples(vcf)
    inputs = cis_inputs(
        target, bed, covariates=covariates, n_pcs=n_used, no_ancestry=no_ancestry, eigenvec=eigenvec,
        vcf=None if has_pcs or eigenvec is not None or n_used == 0 else vcf, pca=pca, layer=layer, window=window,
        mapping=mapping, samples_in=in_vcf,
    )
    design, x, groups, pcs = inputs.design, inputs.x, inputs.groups, inputs.pcs
    dosages, _, sites = read_dosages(vcf, samples=[str(s) for s in inputs.samples], min_maf=min_maf)
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
    phen = bed.values.loc[inputs.samples]
    ids = [f"{c}:{p}:{v}" for c, p, v in zip(sites["contig"], sites["pos"], sites["id"], strict=True)]
    eqtl = cis_map(dosages.T, feature_names=ids, phenotypes=phen, groups=variant_groups,
                   reduced=inputs.reduced, full=design.matrix,
                   config=CisConfig(n_permutations=n_permutations, seed=config.seed))
    table = genotype_baseline(x, genotypes=dosages.T, phenotypes=phen, feature_groups=groups,
                              variant_groups=variant_groups, covariates=design.matrix, config=config)
    best = eqtl.table.set_index("phenotype_id")[["feature_id", "pval_nominal", "pval_beta", "qval"]]
    best.columns = ["eqtl_variant", "eqtl_pval_nominal", "eqtl_pval_beta", "eqtl_qval"]
    table = table.join(best, on="phenotype_id")
    # the same cis test on the gene's model features: which genes' features carry signal, and of what kind
    features_cis = effects_per_sd(cis_map(
        x, feature_names=list(map(str, target.var_names)), phenotypes=phen,
        groups={g: groups[g] for g in table["phenotype_id"]}, reduced=inputs.reduced,
        full=design.matrix, config=CisConfig(n_permutations=n_permutations, seed=config.seed)))
    fbest = features_cis.table.set_index("phenotype_id")[list(BASELINE_CIS_COLUMNS)]
    fbest.columns = [f"features_{'slope_per_sd' if c == 'slope' else c}" for c in BASELINE_CIS_COLUMNS]
    table = table.join(fbest, on="phenotype_id")
    alpha = 0.05
    eqtl_genes = table.loc[table["eqtl_qval"] < alpha, "phenotype_id"].tolist()
    feature_genes = table.loc[table["features_qval"] < alpha, "phenotype_id"].tolist()
    counts = table["verdict"].value_counts().to_dict()
    summary = {
        "pcs": inputs.pc_info,
        "config": {**config.to_dict(), "covariates": list(covariates), "pcs": pcs,
                   "genotype_window": "the gene's feature regions" if genotype_regions else genotype_window,
                   "feature_window": window, "min_maf": min_maf, "n_permutations": n_permutations, "vcf": str(vcf)},
        "n_samples_used": int(inputs.rows.sum()),
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


@dataclass(frozen=True)
class CisInputs:
    """What a cis run tests: the design, the feature matrix of the samples used and each gene's features.

    Attributes
    ----------
    design
        Intercept, covariates and PCs over the samples used (``design.keep`` marks them among ``obs``).
    n_reduced
        Columns of ``design.matrix`` without the PCs (intercept and covariates).
    x
        Samples used × features (dense).
    samples
        Their names.
    groups
        Gene ID -> indices of its features.
    pcs
        The PC columns of the design.
    pc_info
        Where the PCs came from (for the summary).
    """

    design: Design
    n_reduced: int
    x: np.ndarray
    samples: pd.Index
    groups: dict[str, np.ndarray]
    pcs: list[str]
    pc_info: dict

    @property
    def rows(self) -> np.ndarray:
        """Which samples of ``obs`` are used."""
        return self.design.keep

    @property
    def reduced(self) -> np.ndarray:
        """The design without the PCs."""
        return self.design.matrix[:, : self.n_reduced]


def cis_inputs(target: ad.AnnData, bed: PhenotypeBed, *, covariates: Sequence[str], n_pcs: int, no_ancestry: bool,
               eigenvec: PathLike | None, vcf: PathLike | None, pca: PCAConfig | None, layer: str | None,
               window: int | None, mapping: dict[str, list[str]] | PathLike | None,
               samples_in: Sequence[str] | None = None) -> CisInputs:
    """Join the PCs into ``target.obs`` and gather what a cis run tests (:class:`CisInputs`).

    Parameters
    ----------
    target
        Samples × features with ``var["region"]``; its ``obs`` gains the PCs.
    bed
        The phenotypes; only samples in it (and in ``samples_in``) are used.
    covariates, n_pcs, no_ancestry, eigenvec, vcf, pca, layer, window, mapping
        As :func:`cis`.
    samples_in
        Only samples also in this list (the VCF's, for the baseline).

    Returns
    -------
    CisInputs
        The design, features and gene groups.
    """
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
    return CisInputs(design=design, n_reduced=n_reduced, x=x, samples=obs.index[rows], groups=groups, pcs=pcs,
                     pc_info=pc_info)


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

    adata, _ = as_features(adata)
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
