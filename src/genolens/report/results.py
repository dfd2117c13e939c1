"""Read a folder written by :func:`genolens.features.annotate.annotate_features`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genolens.errors import InputFileError, InputFormatError
from genolens.features.annotate import FORMAT, READABLE_VERSIONS
from genolens.features.concepts import Alignment
from genolens.features.contexts import read_contexts


@dataclass(frozen=True, eq=False)
class AnnotationResults:
    """Everything the dashboard shows; optional parts are None when annotate did not make them."""

    path: Path
    meta: dict
    features: pd.DataFrame
    hist: np.ndarray
    hist_edges: np.ndarray
    contexts: pd.DataFrame
    alignment: Alignment | None
    best_features: pd.DataFrame | None
    motifs: pd.DataFrame | None
    logos: dict[int, bytes]  # drawn ones: logos/ of a format-0.1.0 folder; none from 0.2.0 on
    pwms: dict[str, np.ndarray] | None = None  # pwms.npz: feature, probs, trimmed, n_sites

    def logo_png(self, feature: int) -> bytes | None:
        """The logo of ``feature``'s PWM as PNG bytes, drawn now (None when it has no informative PWM).

        Parameters
        ----------
        feature
            Feature index.

        Returns
        -------
        bytes or None
            PNG of the information-content logo (position 0: the activating base; shaded: trimmed motif).
        """
        if feature in self.logos:
            return self.logos[feature]
        if self.pwms is None:
            return None
        at = np.nonzero(self.pwms["feature"] == feature)[0]
        if at.size == 0:
            return None
        a, b = (int(v) for v in self.pwms["trimmed"][at[0]])
        if a < 0:
            return None
        from genolens.features.logo import logo_png

        probs = self.pwms["probs"][at[0]]
        n = int(self.pwms["n_sites"][at[0]])
        return logo_png(probs, title=f"feature {feature}: {n} distinct windows",
                        first_position=-(len(probs) // 2), highlight=(a, b))


def _tsv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"not a readable TSV: {exc}", path=path) from None


def read_results(path: str | Path) -> AnnotationResults:
    """Load and check an annotation folder (format and version from ``annotate.json``)."""
    root = Path(path)
    meta_path = root / "annotate.json"
    if not meta_path.is_file():
        raise InputFileError("not a genolens annotation folder (no annotate.json)", path=root,
                             hint="make one with 'genolens annotate'")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"annotate.json is not valid JSON: {exc}", path=meta_path) from None
    if meta.get("encoding-type") != FORMAT:
        raise InputFormatError(f"expected encoding-type {FORMAT!r}, found {meta.get('encoding-type')!r}",
                               path=meta_path)
    if meta.get("encoding-version") not in READABLE_VERSIONS:
        raise InputFormatError(
            f"annotation format version {meta.get('encoding-version')!r} is not supported "
            f"(supported: {', '.join(READABLE_VERSIONS)})", path=meta_path,
        )
    for name in ("features.tsv", "summary.npz", "contexts.tsv"):
        if not (root / name).is_file():
            raise InputFileError(f"annotation folder lacks {name}", path=root, hint="was annotate interrupted?")
    features = _tsv(root / "features.tsv")
    with np.load(root / "summary.npz") as data:
        hist, edges = data["hist"], data["hist_edges"]
    alignment = None
    if (root / "concepts.npz").is_file():
        with np.load(root / "concepts.npz") as data:
            alignment = Alignment.from_npz({k: data[k] for k in data.files}, meta["config"]["alignment"])
    logos = {}
    if (root / "logos").is_dir():
        for png in sorted((root / "logos").glob("feature_*.png")):
            logos[int(png.stem.split("_")[1])] = png.read_bytes()
    pwms = None
    if (root / "pwms.npz").is_file():
        with np.load(root / "pwms.npz") as data:
            pwms = {k: data[k] for k in data.files}
    return AnnotationResults(
        path=root, meta=meta, features=features, hist=hist, hist_edges=edges,
        contexts=read_contexts(root / "contexts.tsv"), alignment=alignment,
        best_features=_tsv(root / "best_features.tsv"), motifs=_tsv(root / "motifs.tsv"), logos=logos,
        pwms=pwms,
    )
