"""The sample table of a test: population labels from a panel and ancestry PCs joined into ``obs``.

Ancestry PCs come from one of three places, chosen explicitly: a PLINK ``.eigenvec``, a VCF (computed for
exactly the samples of the table), or ``PC1..PCk`` columns the table already holds. Every sample must be
covered; a sample without PCs or without a panel row is an error, never silently dropped.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any

import pandas as pd

from genolens.cohort.ancestry import PCAConfig, attach_pcs, read_eigenvec, read_panel, vcf_pcs
from genolens.errors import ConfigError, SampleMismatchError

PC_COLUMN = re.compile(r"^PC(\d+)$")


def pc_columns(obs: pd.DataFrame) -> list[str]:
    """The ``PC1, PC2, ...`` columns of a sample table, in numeric order.

    Parameters
    ----------
    obs
        A sample table (``adata.obs``).

    Returns
    -------
    list of str
        Column names matching ``PC<number>``, sorted by that number.
    """
    return sorted((str(c) for c in obs.columns if PC_COLUMN.match(str(c))), key=lambda c: int(c[2:]))


def join_panel(obs: pd.DataFrame, *, panel: str | os.PathLike[str]) -> pd.DataFrame:
    """``obs`` with the panel's columns (``pop``, ``super_pop``, ...) that it lacks, joined by sample.

    Parameters
    ----------
    obs
        Sample table indexed by sample ID.
    panel
        Population panel TSV with a ``sample`` column (:func:`genolens.cohort.ancestry.read_panel`).

    Returns
    -------
    pandas.DataFrame
        A new table; ``obs`` is not modified. Columns ``obs`` already has are kept as they are.

    Raises
    ------
    SampleMismatchError
        When a sample of ``obs`` has no row in the panel.
    """
    table = read_panel(panel)
    absent = [s for s in obs.index if s not in table.index]
    if absent:
        raise SampleMismatchError(
            f"{len(absent)} of {len(obs)} samples are not in the panel: " + ", ".join(map(str, absent[:10])),
            path=panel,
        )
    return obs.join(table[[c for c in table.columns if c not in obs.columns]])


def ancestry_pcs_for(
    obs: pd.DataFrame,
    *,
    n_pcs: int,
    eigenvec: str | os.PathLike[str] | None = None,
    vcf: str | os.PathLike[str] | None = None,
    pca: PCAConfig | None = None,
    source_name: str = "obs",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``obs`` with ancestry PCs ``PC1..PC{n_pcs}`` from an ``.eigenvec``, a VCF or its own columns.

    Parameters
    ----------
    obs
        Sample table indexed by sample ID.
    n_pcs
        How many PCs the model adjusts for (0: none; then ``eigenvec`` and ``vcf`` must be None).
    eigenvec
        PLINK 1.9/2 ``.eigenvec`` holding at least ``n_pcs`` PCs for every sample.
    vcf
        VCF to compute the PCs from, for exactly the samples of ``obs`` (:func:`vcf_pcs`).
    pca
        Variant filters and PCA settings for ``vcf`` (``n_pcs`` overrides its own).
    source_name
        How to name ``obs`` in error messages.

    Returns
    -------
    obs : pandas.DataFrame
        A new table with the PC columns (``obs`` is not modified).
    info : dict
        Where the PCs came from: ``{"source": "eigenvec"|"vcf"|"obs"|"none", ...}`` (for the run's JSON).
    """
    if eigenvec is not None and vcf is not None:
        raise ConfigError("give either an eigenvec file (--eigenvec) or a VCF (--vcf) for the PCs, not both")
    if n_pcs < 0:
        raise ConfigError(f"the number of PCs (--pcs) must be >= 0, got {n_pcs}")
    if n_pcs == 0:
        if eigenvec is not None or vcf is not None:
            raise ConfigError("no ancestry terms were asked for, but an eigenvec file or a VCF was given")
        return obs, {"source": "none"}
    names = [f"PC{i + 1}" for i in range(n_pcs)]
    if eigenvec is not None:
        frame = read_eigenvec(eigenvec)
        if frame.shape[1] < n_pcs:
            raise ConfigError(f"{n_pcs} PCs asked for but {eigenvec} holds only {frame.shape[1]} PCs")
        return attach_pcs(obs, pcs=frame[names], source=str(eigenvec)), {"source": "eigenvec", "path": str(eigenvec)}
    if vcf is not None:
        config = replace(pca or PCAConfig(), n_pcs=n_pcs)
        result = vcf_pcs(vcf, samples=[str(s) for s in obs.index], config=config)
        return attach_pcs(obs, pcs=result.pcs, source=str(vcf)), {"source": "vcf", "path": str(vcf), **result.to_dict()}
    missing = [p for p in names if p not in obs.columns]
    if missing:
        present = pc_columns(obs)
        raise ConfigError(
            f"{n_pcs} PCs asked for but {source_name} has no column(s) {missing[:5]}"
            + (f" (it has {present})" if present else ""),
            hint="give an eigenvec file or a VCF (--eigenvec/--vcf), ask for fewer PCs, "
            "or run without ancestry terms on purpose (--no-ancestry)",
        )
    return obs, {"source": "obs"}
