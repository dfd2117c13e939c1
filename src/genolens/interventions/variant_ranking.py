"""Variants behind a biomarker: which variants move the SAE features an association found.

Given an association table and the variant effects of the cohort's variants in the region
(:func:`genolens.interventions.variant_effects.variant_effects` with the same SAE), rank, for each
significant feature, the variants by how much they move it: ``|delta| / scale``, relative to the feature's
range (raw when no scale was recorded), where ``delta`` is by default the change of the feature's maximum over
the aligned bases within the effects run's ``span`` of the variant (``genolens variant-effects --span``, default
4; -1: the whole window) (``rank_by="variant"``: at the variant's own bases). A variant that does not move the
feature at all is not listed.

Two kinds of association table are read:

* ``genolens associate``: one row per feature (``f<i>`` or ``f<i>_<stat>`` names) with ``pvalue`` and
  ``qvalue``; every feature at or below the cut is ranked;
* ``genolens associate --cis`` (tensorQTL ``map_cis`` columns): one row per gene with its best feature
  (``feature_id``, e.g. ``f12|mean|ARSA_promoter``), gene-level ``pval_beta`` and ``qval``; the best feature
  of every significant gene is ranked, and the gene is carried along.

Joined with the genotype cis-eQTL scan (``genolens baseline``'s ``eqtl.tsv``, whose ``feature_id`` is the
lead variant ``contig:pos:id``), each ranked variant says whether it *is* its gene's eQTL lead (same contig
and position) and its LD with the lead (squared Pearson correlation of the two variants' alt-allele dosages
over the cohort, pairwise complete; NaN where either is not a biallelic SNV of the VCF).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from genolens.errors import ConfigError
from genolens.interventions.variant_effects import VariantEffects

RANK_COLUMNS = ("feature", "feature_name", "pvalue", "qvalue", "rank", "variant", "id", "change", "abs_change",
                "n_candidates", "n_moving", "score", "method")
RANK_BY = ("window", "variant")
# Added with the cohort's genotypes: the SD of the variant's alt-allele dosage and |change| x that SD.
GENOTYPE_COLUMNS = ("dosage_sd", "contribution")
# Added when the ranking is joined with a genotype cis-eQTL scan.
EQTL_COLUMNS = ("phenotype_id", "eqtl_variant", "is_eqtl_lead", "ld_r2_eqtl_lead")
_NAME = re.compile(r"^f(\d+)(?:[_|].*)?$")
# column asked for -> the cis table's gene-level column
_CIS_COLUMN = {"qvalue": "qval", "pvalue": "pval_beta"}


def feature_index(name: str) -> int:
    """The SAE feature behind an aggregated feature name (``f12``, ``f12_mean``, ``f12|mean|ARSA_promoter``).

    Parameters
    ----------
    name
        A feature name of :func:`genolens.tl.aggregate`.

    Returns
    -------
    int
        The SAE feature index.
    """
    m = _NAME.match(str(name))
    if m is None:
        raise ConfigError(f"feature name {name!r} is not an SAE feature (f<i>, f<i>_<statistic> or "
                          "f<i>|<statistic>|<region>)")
    return int(m.group(1))


def significant_features(associations: pd.DataFrame, *, alpha: float = 0.05,
                         column: str = "qvalue") -> pd.DataFrame:
    """The significant rows of an ``associate`` or ``associate --cis`` table, most significant first.

    Parameters
    ----------
    associations
        ``associate`` table (``feature``, ``pvalue``, ``qvalue``) or cis table (``phenotype_id``,
        ``feature_id``, ``pval_beta``, ``qval``).
    alpha
        Significance cut on ``column``.
    column
        ``"qvalue"`` or ``"pvalue"`` (for a cis table: ``qval`` or the gene-level ``pval_beta``).

    Returns
    -------
    pandas.DataFrame
        ``feature_name``, ``phenotype_id`` (None for an ``associate`` table), ``pvalue``, ``qvalue``.
    """
    if column not in _CIS_COLUMN:
        raise ConfigError(f"column must be 'qvalue' or 'pvalue', got {column!r}")
    cols = set(associations.columns)
    if {"phenotype_id", "feature_id", _CIS_COLUMN[column]} <= cols:
        t = associations
        out = pd.DataFrame({"feature_name": t["feature_id"].astype(str), "phenotype_id": t["phenotype_id"].astype(str),
                            "pvalue": t.get("pval_beta", np.nan), "qvalue": t.get("qval", np.nan)})
        out = out[associations[_CIS_COLUMN[column]].to_numpy() <= alpha]
        out = out[out["feature_name"].str.len() > 0]  # a gene with no testable feature has no best feature
    elif {"feature", column} <= cols:
        t = associations
        out = pd.DataFrame({"feature_name": t["feature"].astype(str), "phenotype_id": None,
                            "pvalue": t.get("pvalue", np.nan), "qvalue": t.get("qvalue", np.nan)})
        out = out[associations[column].to_numpy() <= alpha]
    else:
        raise ConfigError(f"the association table needs 'feature' and {column!r} columns (associate) or "
                          f"'phenotype_id', 'feature_id' and {_CIS_COLUMN[column]!r} (associate --cis)")
    return out.sort_values(column, kind="stable").reset_index(drop=True)


def _lead_site(variant_id: str) -> str:
    """``contig:pos`` of an eQTL variant (``contig:pos:id``, the id may itself hold colons)."""
    parts = str(variant_id).split(":", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConfigError(f"eQTL variant {variant_id!r} is not contig:pos:id")
    return f"{parts[0]}:{parts[1]}"


def ld_r2(genotypes: pd.DataFrame, a: str, b: str) -> float:
    """Squared Pearson correlation of two sites' dosages over samples (pairwise complete), NaN if unknown.

    Parameters
    ----------
    genotypes
        Alt-allele dosages, sites (``contig:pos``) x samples; a site that occurs twice is ambiguous (NaN).
    a, b
        The two sites (``contig:pos``).

    Returns
    -------
    float
        r² in [0, 1], or NaN when a site is absent, duplicated or constant over the shared samples.
    """
    index = genotypes.index
    if a not in index or b not in index or (index == a).sum() != 1 or (index == b).sum() != 1:
        return float("nan")
    x, y = genotypes.loc[a].to_numpy(float), genotypes.loc[b].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    den = np.sqrt((x @ x) * (y @ y))
    return float((x @ y) ** 2 / den ** 2) if den > 0 else float("nan")


def _dosage_sd(genotypes: pd.DataFrame, sites: Sequence[str]) -> np.ndarray:
    """SD over samples of each site's alt-allele dosage (NaN where the site is absent or not unique)."""
    counts = genotypes.index.value_counts()
    sd = genotypes.std(axis=1, ddof=0, skipna=True)
    return np.array([float(sd.loc[x]) if counts.get(x, 0) == 1 else np.nan for x in sites])


def _inside(table: pd.DataFrame, spans: Sequence[tuple[str, int, int]]) -> np.ndarray:
    """Which variants (1-based ``pos``) start inside one of ``spans`` (0-based, half-open)."""
    contig, pos0 = table["contig"].astype(str).to_numpy(), table["pos"].to_numpy(np.int64) - 1
    inside = np.zeros(len(table), dtype=bool)
    for c, start, end in spans:
        inside |= (contig == str(c)) & (pos0 >= int(start)) & (pos0 < int(end))
    return inside


def rank_variants(
    effects: VariantEffects,
    associations: pd.DataFrame,
    *,
    alpha: float = 0.05,
    column: str = "qvalue",
    top: int = 10,
    eqtl: pd.DataFrame | None = None,
    genotypes: pd.DataFrame | None = None,
    gene: str | None = None,
    regions: Mapping[str, Sequence[tuple[str, int, int]]] | None = None,
    rank_by: str = "window",
) -> pd.DataFrame:
    """For each significant feature, the ``top`` variants that move it most, joined with the gene's eQTL lead.

    Parameters
    ----------
    effects
        Variant effects computed with the SAE the associated features come from.
    associations
        ``associate`` or ``associate --cis`` table (see :func:`significant_features`).
    alpha
        Significance cut on ``column``.
    column
        ``"qvalue"`` or ``"pvalue"``.
    top
        Variants listed per feature.
    eqtl
        The genotype cis-eQTL scan (``genolens baseline``'s ``eqtl.tsv``: ``phenotype_id`` and its lead variant
        ``feature_id``), to say whether each variant is its gene's lead.
    genotypes
        Alt-allele dosages (sites ``contig:pos`` x samples) of the cohort. With them the variants are ranked by
        their ``contribution`` to the feature's variation across people, ``|change| x`` the SD of their dosage
        (a rare variant that moves a feature a lot moves few people's features; variants without a dosage,
        e.g. indels, come last), and each has its LD with the eQTL lead; without them the ranking is by
        ``|change|`` and ``ld_r2_eqtl_lead`` is NaN except at the lead itself (1).
    gene
        The phenotype an ``associate`` table was tested against (its row in ``eqtl``); a cis table names its
        genes itself.
    regions
        Region name -> its spans (contig, 0-based start, end), e.g. from the windows BED the features were
        aggregated over. A feature aggregated per region (``f12|mean|ARSA_body``) is then ranked only over the
        variants inside its own region: a variant elsewhere does not move the feature the association
        measured. Without it every variant of the effects folder is ranked.
    rank_by
        ``"window"`` (default): the change of the feature's maximum over the aligned bases within the effects
        run's ``span`` of the variant (its ``meta["config"]["span"]``; the whole window with ``span`` None);
        ``"variant"``: its change at the variant's own bases.
        Variants that do not move the feature at all (a change of exactly 0) are not listed; ``n_candidates``
        and ``n_moving`` count the variants ranked over and those that move it.

    Returns
    -------
    pandas.DataFrame
        :data:`RANK_COLUMNS` (and :data:`EQTL_COLUMNS` with ``eqtl``): per significant feature (most
        significant first) the variants that move it, by decreasing ``abs_change`` (``change`` signed,
        relative to the feature's range: positive means the ALT allele raises the feature).
    """
    if effects.delta_variant is None:
        raise ConfigError("the variant effects were computed without an SAE: no feature changes to rank")
    if top < 1:
        raise ConfigError(f"top must be >= 1, got {top}")
    if rank_by not in RANK_BY:
        raise ConfigError(f"rank_by must be one of {', '.join(RANK_BY)}, got {rank_by!r}")
    delta = effects.delta_window if rank_by == "window" else effects.delta_variant
    hits = significant_features(associations, alpha=alpha, column=column)
    if gene is not None:
        if hits["phenotype_id"].notna().any():
            raise ConfigError("gene is for an associate table; a cis table names its genes")
        hits["phenotype_id"] = gene
    leads: dict[str, str] = {}
    if eqtl is not None:
        if not {"phenotype_id", "feature_id"} <= set(eqtl.columns):
            raise ConfigError("the eQTL table needs 'phenotype_id' and 'feature_id' (genolens baseline eqtl.tsv)")
        if hits["phenotype_id"].isna().any():
            raise ConfigError("an associate table does not say which gene it tested: give gene to join the eQTL "
                              "scan")
        leads = {str(g): str(v) for g, v in zip(eqtl["phenotype_id"], eqtl["feature_id"], strict=True)
                 if isinstance(v, str) and v}
    scale = effects.scale if effects.scale is not None else np.ones(effects.delta_variant.shape[1])
    d_sae = effects.delta_variant.shape[1]
    sites = [f"{c}:{p}" for c, p in zip(effects.table["contig"], effects.table["pos"], strict=True)] if (
        eqtl is not None or genotypes is not None) else []
    sd = _dosage_sd(genotypes, sites) if genotypes is not None else None
    rows = []
    for hit in hits.itertuples(index=False):
        f = feature_index(hit.feature_name)
        if not 0 <= f < d_sae:
            raise ConfigError(f"feature {hit.feature_name!r} is not in the SAE of the variant effects (d_sae {d_sae})")
        change = delta[:, f] / scale[f]
        candidates = np.arange(len(change))
        if regions is not None and str(hit.feature_name).count("|") == 2:
            region = str(hit.feature_name).rsplit("|", 1)[1]
            if region not in regions:
                raise ConfigError(f"feature {hit.feature_name!r}: region {region!r} is not among the regions given")
            candidates = np.flatnonzero(_inside(effects.table, regions[region]))
        lead = leads.get(str(hit.phenotype_id)) if eqtl is not None else None
        lead_site = _lead_site(lead) if lead else None
        weight = np.abs(change) if sd is None else np.nan_to_num(np.abs(change) * sd, nan=-1.0)
        order = candidates[np.argsort(-weight[candidates], kind="stable")]
        moving = order[change[order] != 0]
        for rank, i in enumerate(moving[:top], start=1):
            v = effects.table.iloc[int(i)]
            row = [f, str(hit.feature_name), hit.pvalue, hit.qvalue, rank, v["variant"], v["id"], float(change[i]),
                   float(abs(change[i])), len(candidates), len(moving), float(v["score"]), v["method"]]
            if sd is not None:
                row += [float(sd[i]), float(abs(change[i]) * sd[i])]
            if eqtl is not None:
                is_lead = lead_site is not None and sites[int(i)] == lead_site
                r2 = (1.0 if is_lead else ld_r2(genotypes, sites[int(i)], lead_site)) if (
                    lead_site is not None and (is_lead or genotypes is not None)) else float("nan")
                row += [hit.phenotype_id, lead or "", bool(is_lead), r2]
            rows.append(row)
    columns = (list(RANK_COLUMNS) + (list(GENOTYPE_COLUMNS) if sd is not None else [])
               + (list(EQTL_COLUMNS) if eqtl is not None else []))
    return pd.DataFrame(rows, columns=columns)
