"""Read a folder written by :func:`genolens.features.annotate.annotate_features`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genolens.errors import InputFileError, InputFormatError
from genolens.features.annotate import FORMAT, READABLE_VERSIONS
from genolens.features.concepts import Alignment
from genolens.features.contexts import read_contexts
from genolens.io.runfolder import read_header


@dataclass(frozen=True, eq=False)
class FeaturePWM:
    """One feature's position probability matrix, built from the windows around its top contexts.

    ``probs`` is ``[2 * flank + 1, 4]`` (A, C, G, T) with the activating base at column ``flank``;
    ``first_position`` (``-flank``) labels the first column; ``trimmed`` is the informative block
    ``[start, end)`` compared with JASPAR (None when no block was informative enough); ``n_sites`` the
    number of windows.
    """

    feature: int
    probs: np.ndarray = field(repr=False)
    trimmed: tuple[int, int] | None
    n_sites: int
    first_position: int


@dataclass(frozen=True, eq=False)
class AnnotationResults:
    """Everything the dashboard shows; optional parts are None when annotate did not make them.

    Parameters
    ----------
    path
        The annotation folder.
    meta
        ``annotate.json``: format, settings, counts.
    features
        One row per feature (``features.tsv``: statistics, best concept, best motif).
    hist, hist_edges
        ``[feature, bin]`` counts of non-zero activations (log10 bins) and the bin edges (``summary.npz``).
    contexts
        Top activating contexts (``contexts.tsv``).
    alignment
        Concept alignment scores (``concepts.npz``), or None.
    best_features
        Each concept's best feature (``best_features.tsv``), or None.
    motifs
        JASPAR matches of feature motifs (``motifs.tsv``), or None.
    logos
        Feature -> PNG bytes of its sequence logo.
    pwms
        Feature -> its position weight matrix and the sites it came from (``pwms.npz``); empty without motifs.
    """

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
    pwms: dict[int, FeaturePWM] = field(default_factory=dict)  # by feature; empty without motifs

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
        pwm = self.pwms.get(feature)
        if pwm is None or pwm.trimmed is None:
            return None
        from genolens.features.logo import logo_png

        return logo_png(pwm.probs, title=f"feature {feature}: {pwm.n_sites} distinct windows",
                        first_position=pwm.first_position, highlight=pwm.trimmed)


def _tsv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"not a readable TSV: {exc}", path=path) from None


def _read_pwms(path: Path, *, flank: int) -> dict[int, FeaturePWM]:
    if not path.is_file():
        return {}
    with np.load(path) as data:
        features, probs, trimmed, n_sites = data["feature"], data["probs"], data["trimmed"], data["n_sites"]
    if not (len(features) == len(probs) == len(trimmed) == len(n_sites)) or probs.shape[1:] != (2 * flank + 1, 4):
        raise InputFormatError(f"PWM arrays disagree: {len(features)} features, probs {probs.shape}, "
                               f"{len(trimmed)} blocks, flank {flank}", path=path)
    return {
        int(f): FeaturePWM(feature=int(f), probs=p, trimmed=None if a < 0 else (int(a), int(b)), n_sites=int(n),
                           first_position=-flank)
        for f, p, (a, b), n in zip(features, probs, trimmed, n_sites, strict=True)
    }


def read_results(path: str | Path) -> AnnotationResults:
    """Load and check an annotation folder (format and version from ``annotate.json``).

    Parameters
    ----------
    path
        A folder written by ``genolens annotate`` (:func:`genolens.tl.annotate`).

    Returns
    -------
    AnnotationResults
        ``features`` (one row per feature: statistics, best concept, best motif), ``hist`` ``[features, bins]``
        with the shared ``hist_edges`` (log10 activation), ``contexts``, ``alignment``, ``best_features``,
        ``motifs``, ``pwms`` (by feature) and ``logos`` (PNG bytes by feature).
    """
    root = Path(path)
    meta_path = root / "annotate.json"
    meta = read_header(meta_path, encoding=FORMAT, command="annotate", what="annotation")
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
    return AnnotationResults(
        path=root, meta=meta, features=features, hist=hist, hist_edges=edges,
        contexts=read_contexts(root / "contexts.tsv"), alignment=alignment,
        best_features=_tsv(root / "best_features.tsv"), motifs=_tsv(root / "motifs.tsv"), logos=logos,
        pwms=_read_pwms(root / "pwms.npz", flank=int(meta["config"]["motif"]["flank"])),
    )
