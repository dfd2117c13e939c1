"""Gene names for gene IDs: a TSV with a ``gene_id`` column and a name column (``gene_name`` or ``symbol``)."""

from __future__ import annotations

import os

import pandas as pd

from genolens.errors import InputFormatError
from genolens.io.files import require_file

NAME_COLUMNS = ("gene_name", "symbol", "name")


def read_gene_names(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{gene_id: name}`` from a TSV (e.g. ``data/dense/genes.tsv``); IDs without a name are left out.

    Parameters
    ----------
    path
        TSV with a ``gene_id`` column and one of ``gene_name``, ``symbol`` or ``name``.

    Returns
    -------
    dict
        Gene ID (as written, version included) -> name.
    """
    table = pd.read_csv(require_file(path, what="gene names"), sep="\t", dtype=str, keep_default_na=False)
    column = next((c for c in NAME_COLUMNS if c in table.columns), None)
    if "gene_id" not in table.columns or column is None:
        raise InputFormatError(f"a gene names table needs a gene_id column and one of {list(NAME_COLUMNS)}",
                               path=path, hint=f"it has {list(table.columns)}")
    ids = table["gene_id"].str.strip()
    if ids.duplicated().any():
        raise InputFormatError(f"gene IDs listed twice: {ids[ids.duplicated()].tolist()[:5]}", path=path)
    return {i: n.strip() for i, n in zip(ids, table[column], strict=True) if i and n.strip()}


def with_name(gene_id: str, names: dict[str, str] | None) -> str:
    """``NAME (ID)`` when the ID has a name, else the ID (also matched without its version suffix).

    Parameters
    ----------
    gene_id
        E.g. ``ENSG00000184164.10``.
    names
        From :func:`read_gene_names` (None: no names).

    Returns
    -------
    str
        E.g. ``CRELD2 (ENSG00000184164.10)``.
    """
    if not names:
        return gene_id
    name = names.get(gene_id)
    if name is None:  # the same gene under another version suffix
        stem = gene_id.split(".")[0]
        name = next((v for k, v in names.items() if k.split(".")[0] == stem), None)
    return f"{name} ({gene_id})" if name else gene_id
