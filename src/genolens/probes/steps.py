"""The probe steps as ``gl.tl`` and the CLI call them."""

from __future__ import annotations

import os

import anndata as ad

from genolens.cohort.aggregate import as_features
from genolens.probes.erase import EraseResult, erase

PathLike = str | os.PathLike[str]


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
    adata, _ = as_features(features)
    result = erase(adata, **kwargs)
    if out is not None:
        result.write(out)
    return result
