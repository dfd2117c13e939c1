"""Output folders of the association and audit runs: written by one function each, read back as objects.

``write_association`` / ``read_association``: ``associations.tsv`` (one row per feature, the columns of
:data:`TABLE_COLUMNS` first), ``stratified.tsv`` (per population, when
stratified), ``qq.png``, ``volcano.png``, ``features.h5ad`` (the tested AnnData with the results in
``var``/``uns``) and ``associate.json`` (the summary). ``write_audit`` / ``read_audit``: ``audit.tsv`` and
``audit.json``. ``write_cis`` / ``read_cis``: ``cis.tsv`` (one row per gene), ``cis_nominal.tsv`` (every
gene x feature pair) and ``cis.json``. ``write_baseline`` / ``read_baseline``: ``baseline.tsv`` (one row per
gene), ``eqtl.tsv`` (the genotype cis-eQTL scan), ``baseline.png`` and ``baseline.json``. A notebook reads
a folder back into the same result object the run returned, never by parsing files by hand.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from genolens.errors import InputFileError, InputFormatError
from genolens.io.files import output_folder
from genolens.io.runfolder import read_header, write_header
from genolens.stats.plots import baseline_plot, gene_qq_plot, qq_plot, volcano_plot

ASSOCIATION_FORMAT = "genolens-association"
AUDIT_FORMAT = "genolens-audit"
CIS_FORMAT = "genolens-cis"
BASELINE_FORMAT = "genolens-baseline"
FORMAT_VERSION = "0.1.0"
# columns of an association table that hold text
TEXT_COLUMNS = ("feature", "category", "method", "reason", "effect_pattern")


# The first columns of every association table, in this order.
TABLE_COLUMNS = (
    "feature",
    "beta",
    "se",
    "stat",
    "pvalue",
    "neg_log10_p",
    "qvalue",
    "n",
    "ancestry_r2",
    "pvalue_unadjusted",
    "category",
)



@dataclass
class AssociationResult:
    """The per-feature table and a JSON-ready summary (sample counts, lambda GC, collinearity).

    ``per_stratum`` holds the per-population tests of a stratified run (else None); ``adata`` the tested
    AnnData when the caller asked for a copy or read a folder back with its features.

    Parameters
    ----------
    table
        One row per feature: ``feature, beta, se, stat, pvalue, neg_log10_p, qvalue, n, ancestry_r2,
        pvalue_unadjusted, category`` and more columns (the unadjusted fit, method, reason for NA).
    summary
        Settings, sample counts (used, dropped for missing values), design columns, collinearity, lambda GC
        with and without the PCs, category counts.
    per_stratum
        Per-population tests of a stratified run, or None.
    adata
        The tested AnnData, or None.
    """

    table: pd.DataFrame
    summary: dict[str, Any]
    per_stratum: pd.DataFrame | None = None
    adata: ad.AnnData | None = None

    def write(self, out: str | os.PathLike[str], *, adata: ad.AnnData | None = None) -> Path:
        """Write the run's folder (see :func:`genolens.stats.results.write_association`); return it.

        Parameters
        ----------
        out, adata
            As :func:`~genolens.stats.results.write_association`.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        return write_association(self, out, adata=adata)


@dataclass
class AuditResult:
    """One row per (target, metric) and a JSON-ready summary.

    Parameters
    ----------
    table
        Columns ``target, metric, score, ci_low, ci_high, chance, null_mean, perm_pvalue, perm_pvalue_floor``
        (the smallest p-value the permutations can give, ``1 / (n_permutations + 1)``: a p-value there reads
        "at most this").
    summary
        Settings, sample counts, samples dropped for missing labels or PCs, class sizes.
    """

    table: pd.DataFrame
    summary: dict[str, Any]

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write the audit's folder (see :func:`genolens.stats.results.write_audit`); return it.

        Parameters
        ----------
        out
            Output folder (created).

        Returns
        -------
        pathlib.Path
            The folder.
        """
        return write_audit(self, out)


@dataclass
class BaselineResult:
    """Per gene: the feature-vs-genotype comparison (``table``), the genotype cis-eQTL scan (``eqtl``, tensorQTL
    map_cis columns), and the ``summary``.

    Parameters
    ----------
    table
        One row per gene: the feature-vs-genotype comparison.
    eqtl
        The genotype cis-eQTL scan, one row per gene (tensorQTL ``map_cis`` columns).
    summary
        The run's settings and counts, JSON-ready.
    features_cis
        The same cis scan on each gene's model features (one row per gene), or None.
    """

    table: pd.DataFrame
    eqtl: pd.DataFrame
    summary: dict
    features_cis: pd.DataFrame | None = None

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write the run's folder (see :func:`genolens.stats.results.write_baseline`); return it.

        Parameters
        ----------
        out
            Output folder (created).

        Returns
        -------
        pathlib.Path
            The folder.
        """
        return write_baseline(self, out)



# Columns of the baseline table, in this order.
BASELINE_COLUMNS = (
    "phenotype_id", "n_features", "n_variants", "r2_features", "r_features", "sign_features", "r2_genotypes",
    "r_genotypes", "sign_genotypes", "r_between", "delta_r2", "verdict",
)



# The columns of the features' own cis scan (its best feature) joined as ``features_<column>``.
BASELINE_CIS_COLUMNS = ("feature_id", "slope", "pval_nominal", "pval_beta", "qval", "category")



# The bootstrap confidence bounds that follow them.
BASELINE_CI_COLUMNS = (
    "r2_features_low", "r2_features_high", "r2_genotypes_low", "r2_genotypes_high", "delta_r2_low", "delta_r2_high",
)


# Columns of a cis table, in this order (tensorQTL map_cis names; feature_id where it has variant_id).
CIS_COLUMNS = (
    "phenotype_id", "num_var", "beta_shape1", "beta_shape2", "true_df", "pval_true_df", "feature_id",
    "pval_nominal", "slope", "slope_se", "pval_perm", "pval_beta", "qval",
)



# The confound columns that follow them (for each gene's best feature).
CIS_CONFOUND_COLUMNS = (
    "slope_unadjusted", "pval_nominal_unadjusted", "pval_beta_unadjusted", "qval_unadjusted", "beta_change",
    "se_change", "pvalue_change", "qvalue_change", "fraction_explained", "fraction_explained_low",
    "fraction_explained_high", "ancestry_r2", "category", "slope_per_sd", "slope_se_per_sd", "feature_sd",
    "num_var_untestable",
)



@dataclass
class CisResult:
    """A cis run: one row per gene (``table``), every gene x feature pair (``nominal``), the ``summary``.

    Parameters
    ----------
    table
        One row per gene.
    nominal
        Every gene × feature pair tested.
    summary
        The run's settings and counts, JSON-ready.
    adata
        The tested AnnData when the caller asked for a copy or passed a path, else None.
    """

    table: pd.DataFrame
    nominal: pd.DataFrame
    summary: dict
    adata: object | None = None

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write the run's folder (see :func:`genolens.stats.results.write_cis`); return it.

        Parameters
        ----------
        out
            Output folder (created).

        Returns
        -------
        pathlib.Path
            The folder.
        """
        return write_cis(self, out)


def _read_tsv(path: Path, *, columns: Sequence[str] = ()) -> pd.DataFrame:
    """A run folder's table; every one of ``columns`` must be there."""
    if not path.is_file():
        raise InputFileError(f"{path.name} is missing", path=path)
    try:
        table = pd.read_csv(path, sep="\t", keep_default_na=True, na_values=["NA"])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"not a readable TSV: {exc}", path=path) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputFormatError(f"{path.name} lacks the columns {missing}", path=path)
    return table


def write_association(
    result: AssociationResult, out: str | os.PathLike[str], *, adata: ad.AnnData | None = None
) -> Path:
    """Write an association run's folder.

    Parameters
    ----------
    result
        What :func:`genolens.tl.associate` returned.
    out
        Output folder (created).
    adata
        The tested AnnData, written as ``features.h5ad`` (default: ``result.adata`` when set).

    Returns
    -------
    Path
        The folder.
    """
    out = output_folder(out)
    table = result.table
    if list(table.columns[: len(TABLE_COLUMNS)]) != list(TABLE_COLUMNS):
        raise InputFormatError(f"an association table starts with {list(TABLE_COLUMNS)}, found "
                               f"{list(table.columns[: len(TABLE_COLUMNS)])}")
    table.to_csv(out / "associations.tsv", sep="\t", index=False, na_rep="NA")
    if result.per_stratum is not None:
        result.per_stratum.to_csv(out / "stratified.tsv", sep="\t", index=False, na_rep="NA")
    qq_plot(table, path=out / "qq.png")
    volcano_plot(table, path=out / "volcano.png")
    adata = adata if adata is not None else result.adata
    if adata is not None:
        adata.write_h5ad(out / "features.h5ad")
    write_header(out / "associate.json", encoding=ASSOCIATION_FORMAT, version=FORMAT_VERSION, **result.summary)
    return out


def read_association(path: str | os.PathLike[str], *, features: bool = False) -> AssociationResult:
    """Read a folder written by ``genolens associate`` (or :func:`write_association`).

    Parameters
    ----------
    path
        The folder.
    features
        Also load ``features.h5ad`` into ``result.adata``.

    Returns
    -------
    AssociationResult
        ``table`` (one row per feature), ``summary`` (``associate.json``), ``per_stratum`` (or None) and
        ``adata`` (when ``features``).
    """
    root = Path(path)
    summary = read_header(root / "associate.json", encoding=ASSOCIATION_FORMAT, command="associate", untyped_ok=True)
    table = _read_tsv(root / "associations.tsv", columns=TABLE_COLUMNS)
    for col in TEXT_COLUMNS:  # an empty text cell ("no reason") reads back as "", not as a float NaN
        if col in table.columns:
            table[col] = table[col].fillna("").astype(str)
    strat = root / "stratified.tsv"
    per_stratum = _read_tsv(strat) if strat.is_file() else None
    adata = ad.read_h5ad(root / "features.h5ad") if features else None
    return AssociationResult(table=table, summary=summary, per_stratum=per_stratum, adata=adata)


def write_audit(result: AuditResult, out: str | os.PathLike[str]) -> Path:
    """Write an audit run's folder (``audit.tsv``, ``audit.json`` with the table's rows too).

    Parameters
    ----------
    result
        What :func:`genolens.tl.audit` returned.
    out
        Output folder (created).

    Returns
    -------
    Path
        The folder.
    """
    out = output_folder(out)
    result.table.to_csv(out / "audit.tsv", sep="\t", index=False, na_rep="NA")
    summary = {**result.summary, "results": result.table.to_dict(orient="records")}
    write_header(out / "audit.json", encoding=AUDIT_FORMAT, version=FORMAT_VERSION, **summary)
    return out


def read_audit(path: str | os.PathLike[str]) -> AuditResult:
    """Read a folder written by ``genolens audit`` (or :func:`write_audit`).

    Parameters
    ----------
    path
        The folder.

    Returns
    -------
    AuditResult
        ``table`` (one row per target and metric: score, confidence interval, chance, permutation p) and
        ``summary`` (``audit.json`` without the rows).
    """
    root = Path(path)
    summary = read_header(root / "audit.json", encoding=AUDIT_FORMAT, command="audit", untyped_ok=True)
    summary.pop("results", None)
    return AuditResult(table=_read_tsv(root / "audit.tsv"), summary=summary)


def _write_tables(out: str | os.PathLike[str], tables: dict[str, pd.DataFrame], summary: dict, *, name: str,
                  encoding: str) -> Path:
    """A run folder: each table as TSV (NA for missing) and the summary as versioned JSON."""
    folder = output_folder(out)
    for filename, table in tables.items():
        table.to_csv(folder / filename, sep="\t", index=False, na_rep="NA")
    write_header(folder / name, encoding=encoding, version=FORMAT_VERSION, **summary)
    return folder


def write_cis(result: CisResult, out: str | os.PathLike[str]) -> Path:
    """Write a cis run's folder (``cis.tsv``, ``cis_nominal.tsv``, ``cis.json``).

    Parameters
    ----------
    result
        What :func:`genolens.tl.cis` returned.
    out
        Output folder (created).

    Returns
    -------
    Path
        The folder.
    """
    return _write_tables(out, {"cis.tsv": result.table, "cis_nominal.tsv": result.nominal}, result.summary,
                         name="cis.json", encoding=CIS_FORMAT)


def read_cis(path: str | os.PathLike[str]) -> CisResult:
    """Read a folder written by ``genolens associate --cis`` (or :func:`write_cis`).

    Parameters
    ----------
    path
        The folder.

    Returns
    -------
    CisResult
        ``table`` (one row per gene), ``nominal`` (every gene x feature pair) and ``summary``.
    """
    root = Path(path)
    summary = read_header(root / "cis.json", encoding=CIS_FORMAT, command="associate --cis", untyped_ok=True)
    table = _read_tsv(root / "cis.tsv", columns=CIS_COLUMNS)
    for col in ("phenotype_id", "feature_id", "category"):
        table[col] = table[col].fillna("").astype(str)
    return CisResult(table=table, nominal=_read_tsv(root / "cis_nominal.tsv"), summary=summary)


def write_baseline(result: BaselineResult, out: str | os.PathLike[str]) -> Path:
    """Write a genotype-baseline run's folder (``baseline.tsv``, ``eqtl.tsv``, ``baseline.png``, ``baseline.json``).

    Parameters
    ----------
    result
        What :func:`genolens.tl.baseline` returned.
    out
        Output folder (created).

    Returns
    -------
    Path
        The folder.
    """
    tables = {"baseline.tsv": result.table, "eqtl.tsv": result.eqtl}
    if result.features_cis is not None:
        tables["features_cis.tsv"] = result.features_cis
    out = _write_tables(out, tables, result.summary, name="baseline.json", encoding=BASELINE_FORMAT)
    baseline_plot(result.table, path=out / "baseline.png")
    if result.features_cis is not None:
        gene_qq_plot({"genotypes (cis-eQTL)": result.eqtl["pval_beta"], "model features": result.features_cis[
            "pval_beta"]}, path=out / "qq_genes.png")
    return out


def read_baseline(path: str | os.PathLike[str]) -> BaselineResult:
    """Read a folder written by ``genolens baseline`` (or :func:`write_baseline`).

    Parameters
    ----------
    path
        The folder.

    Returns
    -------
    BaselineResult
        ``table`` (one row per gene), ``eqtl`` (the genotype cis-eQTL scan), ``summary`` and
        ``features_cis`` (the features' cis scan, when the folder holds one).
    """
    root = Path(path)
    summary = read_header(root / "baseline.json", encoding=BASELINE_FORMAT, command="baseline", untyped_ok=True)
    table = _read_tsv(root / "baseline.tsv", columns=BASELINE_COLUMNS)
    features_cis = _read_tsv(root / "features_cis.tsv") if (root / "features_cis.tsv").is_file() else None
    return BaselineResult(table=table, eqtl=_read_tsv(root / "eqtl.tsv"), summary=summary, features_cis=features_cis)
