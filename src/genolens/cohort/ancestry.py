"""Ancestry: genotype principal components and population labels.

PCs are computed from a VCF the usual way: biallelic SNVs only, a minor-allele
frequency filter, greedy LD thinning (a variant is dropped when its r^2 with one
of the last kept variants nearby exceeds a threshold, like a simplified PLINK
``--indep-pairwise``), Patterson scaling ``(g - 2p) / sqrt(2p(1 - p))`` and an
exact (or, for large inputs, randomized) SVD. Like PLINK's ``.eigenvec``, the
PCs reported are the unit-norm eigenvectors over samples. PCs can also be read
from a PLINK 1.9 / 2 ``.eigenvec`` file, and population labels from a panel TSV.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genolens.errors import ConfigError, InputFileError, InputFormatError, SampleMismatchError
from genolens.io.files import write_json

_BASES = frozenset("ACGT")


@dataclass(frozen=True)
class PCAConfig:
    """Variant filters and PCA settings for genotype PCs."""

    n_pcs: int = 10
    maf: float = 0.05
    ld_r2: float = 0.2
    ld_window: int = 50
    ld_window_bp: int = 500_000
    method: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_pcs < 1:
            raise ConfigError(f"n_pcs must be >= 1, got {self.n_pcs}")
        if not 0.0 <= self.maf < 0.5:
            raise ConfigError(f"maf must be in [0, 0.5), got {self.maf}")
        if not 0.0 < self.ld_r2 <= 1.0:
            raise ConfigError(f"ld_r2 must be in (0, 1], got {self.ld_r2}")
        if self.ld_window < 1 or self.ld_window_bp < 1:
            raise ConfigError(f"LD windows must be >= 1, got {self.ld_window} variants, {self.ld_window_bp} bp")
        if self.method not in ("auto", "exact", "randomized"):
            raise ConfigError(f"method must be auto, exact or randomized, got {self.method!r}")


@dataclass
class AncestryPCs:
    """Genotype PCs (samples x PC1..PCk), eigenvalues and how many variants each step kept.

    Parameters
    ----------
    pcs
        Samples × ``PC1``..``PCk``, indexed by sample.
    eigenvalues
        One per PC.
    counts
        Variants kept by each step (biallelic SNVs passing MAF, after LD thinning).
    config
        The filters and PCA settings used.
    """

    pcs: pd.DataFrame
    eigenvalues: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    config: PCAConfig = field(default_factory=PCAConfig)

    def to_dict(self) -> dict:
        """What the PCs were made with, JSON-ready (the JSON beside an ``.eigenvec``).

        Returns
        -------
        dict
            ``config``, ``counts``, ``eigenvalues``.
        """
        return {
            "config": asdict(self.config),
            "counts": dict(self.counts),
            "eigenvalues": [float(v) for v in self.eigenvalues],
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the PCs as a PLINK 2 ``.eigenvec`` with a JSON beside it (see :func:`write_eigenvec`).

        Parameters
        ----------
        path
            The ``.eigenvec`` to write.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        return write_eigenvec(self, path)


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path)


def read_dosages(
    path: str | os.PathLike[str], *, samples: Sequence[str] | None = None, min_maf: float = 0.0
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """Alt-allele dosages (variants x samples, NaN = missing) of the biallelic SNVs of a VCF.

    SNVs whose minor-allele frequency over the chosen samples is below
    ``min_maf`` are skipped while reading, so memory grows with the common
    variants only.

    ``samples`` picks and orders samples; any sample absent from the VCF raises
    :class:`SampleMismatchError` naming them (never dropped silently). Returns the
    dosages, the sample order and a table of the variants kept (contig, pos, id).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("VCF not found", path=path)
    rows: list[np.ndarray] = []
    sites: list[tuple[str, int, str]] = []
    header: list[str] | None = None
    pick: np.ndarray | None = None
    with _open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.startswith("##"):
                continue
            if line.startswith("#CHROM"):
                header = line.rstrip("\n").split("\t")
                vcf_samples = header[9:]
                if samples is None:
                    samples = list(vcf_samples)
                index = {s: i for i, s in enumerate(vcf_samples)}
                absent = [s for s in samples if s not in index]
                if absent:
                    raise SampleMismatchError(
                        f"{len(absent)} of {len(samples)} samples are not in the VCF: "
                        + ", ".join(absent[:10])
                        + (" ..." if len(absent) > 10 else ""),
                        path=path,
                        hint="PCs need genotypes for every sample; subset the features or use another VCF",
                    )
                pick = np.array([index[s] for s in samples], dtype=np.intp)
                continue
            if header is None or pick is None:
                raise InputFormatError("data line before the #CHROM header", path=path, line=lineno)
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(header):
                raise InputFormatError(
                    f"expected {len(header)} tab-separated fields, found {len(fields)}",
                    path=path,
                    line=lineno,
                )
            ref, alt = fields[3].upper(), fields[4].upper()
            if len(ref) != 1 or len(alt) != 1 or ref not in _BASES or alt not in _BASES:
                continue
            if not fields[8].startswith("GT"):
                raise InputFormatError(f"FORMAT must start with GT, found {fields[8]!r}", path=path, line=lineno)
            dosage = _parse_gt(fields[9:], pick, path=path, line=lineno)
            if min_maf > 0.0:
                freq = np.nanmean(dosage) / 2.0 if np.isfinite(dosage).any() else np.nan
                if not min(freq, 1.0 - freq) >= min_maf:
                    continue
            rows.append(dosage)
            sites.append((fields[0], int(fields[1]), fields[2]))
    if header is None:
        raise InputFormatError("no #CHROM header line", path=path, hint="is this a VCF?")
    dosages = np.vstack(rows) if rows else np.empty((0, len(samples or [])))
    return dosages, list(samples or []), pd.DataFrame(sites, columns=["contig", "pos", "id"])


def _parse_gt(calls: list[str], pick: np.ndarray, *, path: Path, line: int) -> np.ndarray:
    """Dosage of allele 1 per picked sample from GT calls ('0|1', '1/1', './.', '0')."""
    chosen = [calls[i] for i in pick]
    if all(len(c) == 3 for c in chosen):  # fast path: 'a|b' with one-digit alleles and no other fields
        raw = np.frombuffer(("\t".join(chosen) + "\t").encode("ascii"), dtype=np.uint8).reshape(-1, 4)
        a = raw[:, 0].astype(np.int16) - 48
        b = raw[:, 2].astype(np.int16) - 48
        if ((a >= 0) & (a <= 1) & (b >= 0) & (b <= 1)).all():
            return (a + b).astype(np.float32)
    out = np.empty(len(chosen), dtype=np.float32)
    for i, call in enumerate(chosen):
        gt = call.split(":", 1)[0].replace("|", "/").split("/")
        if any(g == "." for g in gt):
            out[i] = np.nan
            continue
        try:
            out[i] = sum(int(g) for g in gt)
        except ValueError:
            raise InputFormatError(f"unreadable genotype {call!r}", path=path, line=line) from None
    return out


def genotype_pcs(
    dosages: np.ndarray,
    *,
    samples: Sequence[str],
    config: PCAConfig = PCAConfig(),
    positions: np.ndarray | None = None,
    contigs: np.ndarray | None = None,
) -> AncestryPCs:
    """PCs from a dosage matrix (variants x samples): MAF filter, LD thinning, Patterson scaling, SVD."""
    g = np.asarray(dosages, dtype=np.float64)
    counts = {"variants": int(g.shape[0])}
    freq = np.nanmean(g, axis=1) / 2.0 if g.size else np.empty(0)
    maf = np.minimum(freq, 1.0 - freq)
    keep = np.isfinite(maf) & (maf >= max(config.maf, 1e-12))
    counts["after_maf"] = int(keep.sum())
    g, freq = g[keep], freq[keep]
    pos = np.asarray(positions)[keep] if positions is not None else np.arange(g.shape[0])
    ctg = np.asarray(contigs)[keep] if contigs is not None else np.zeros(g.shape[0])
    z = (g - 2.0 * freq[:, None]) / np.sqrt(2.0 * freq * (1.0 - freq))[:, None]
    z[~np.isfinite(z)] = 0.0  # missing genotypes: mean-imputed
    thin = _ld_thin(z, pos, ctg, config)
    z = z[thin]
    counts["after_ld_thinning"] = int(z.shape[0])
    k = config.n_pcs
    if z.shape[0] < k or z.shape[1] <= k:
        raise ConfigError(
            f"{z.shape[0]} variants and {z.shape[1]} samples left after filtering: too few for {k} PCs",
            hint="lower --maf / raise the LD threshold, or ask for fewer PCs",
        )
    x = z.T  # samples x variants
    method = config.method
    if method == "auto":
        method = "exact" if min(x.shape) <= 4000 else "randomized"
    if method == "exact":
        u, s, _ = np.linalg.svd(x, full_matrices=False)
    else:
        from sklearn.utils.extmath import randomized_svd

        u, s, _ = randomized_svd(x, n_components=k, n_iter=7, random_state=config.seed)
    u, s = u[:, :k], s[:k]
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(k)])
    u = u * signs
    frame = pd.DataFrame(u, index=pd.Index(list(samples), name="sample"), columns=[f"PC{i + 1}" for i in range(k)])
    return AncestryPCs(pcs=frame, eigenvalues=s**2 / z.shape[0], counts=counts, config=config)


def _ld_thin(z: np.ndarray, pos: np.ndarray, ctg: np.ndarray, config: PCAConfig) -> np.ndarray:
    """Greedy LD thinning: drop a variant with r^2 > ld_r2 to a recent kept one (same contig, in window)."""
    centred = z - z.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    unit = centred / np.where(norms > 0, norms, 1.0)[:, None]  # rows of unit norm: dot products are r
    kept: list[int] = []
    for i in range(z.shape[0]):
        recent = [j for j in kept[-config.ld_window :] if ctg[j] == ctg[i] and pos[i] - pos[j] <= config.ld_window_bp]
        if recent:
            r = unit[recent] @ unit[i]
            if np.max(r * r) > config.ld_r2:
                continue
        kept.append(i)
    return np.asarray(kept, dtype=np.intp)


def vcf_pcs(
    path: str | os.PathLike[str], *, samples: Sequence[str] | None = None, config: PCAConfig = PCAConfig()
) -> AncestryPCs:
    """Genotype PCs of ``samples`` (all VCF samples when None) from a VCF (plain or gzipped)."""
    dosages, order, sites = read_dosages(path, samples=samples, min_maf=config.maf)
    result = genotype_pcs(
        dosages,
        samples=order,
        config=config,
        positions=sites["pos"].to_numpy(),
        contigs=sites["contig"].to_numpy(),
    )
    result.counts = {"biallelic_snvs_passing_maf": result.counts.pop("variants"), **result.counts}
    return result


def read_eigenvec(path: str | os.PathLike[str]) -> pd.DataFrame:
    """PCs from a PLINK ``.eigenvec``: 1.9 (``FID IID PC..``, no header) or 2 (``#FID IID ..``, ``#IID ..``).

    Parameters
    ----------
    path
        ``.eigenvec`` file (plain or gzipped), e.g. from ``genolens ancestry`` or PLINK.

    Returns
    -------
    pandas.DataFrame
        Indexed by IID, with columns PC1..PCk.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("eigenvec file not found", path=path)
    with _open(path) as fh:
        lines = [(i, ln.split()) for i, ln in enumerate(fh, start=1) if ln.strip()]
    if not lines:
        raise InputFileError("eigenvec file is empty", path=path)
    first = lines[0][1]
    if first[0].startswith("#"):
        names = [first[0].lstrip("#"), *first[1:]]
        body = lines[1:]
        if "IID" not in names:
            raise InputFormatError(f"header has no IID column: {first}", path=path, line=lines[0][0])
        id_col = names.index("IID")
        n_ids = id_col + 1
    else:  # PLINK 1.9: FID IID then PCs, no header
        body, id_col, n_ids = lines, 1, 2
        names = ["FID", "IID", *[f"PC{i + 1}" for i in range(len(first) - 2)]]
    n_pcs = len(names) - n_ids
    if n_pcs < 1:
        raise InputFormatError(f"expected ID columns then PC columns, found {len(names)} columns", path=path)
    ids: list[str] = []
    values = np.empty((len(body), n_pcs))
    for row, (lineno, parts) in enumerate(body):
        if len(parts) != len(names):
            raise InputFormatError(f"expected {len(names)} columns, found {len(parts)}", path=path, line=lineno)
        try:
            values[row] = [float(v) for v in parts[n_ids:]]
        except ValueError:
            raise InputFormatError(
                f"non-numeric PC value in {parts[n_ids:][:3]}...",
                path=path,
                line=lineno,
                record=parts[id_col],
            ) from None
        ids.append(parts[id_col])
    dup = pd.Index(ids)[pd.Index(ids).duplicated()]
    if len(dup):
        raise InputFormatError(f"duplicate sample IDs: {list(dup[:5])}", path=path)
    return pd.DataFrame(values, index=pd.Index(ids, name="sample"), columns=[f"PC{i + 1}" for i in range(n_pcs)])


def read_panel(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Population panel TSV (columns ``sample``, ``pop``, ``super_pop``, ...) indexed by sample."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("panel file not found", path=path)
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str)
    except pd.errors.EmptyDataError:
        raise InputFileError("panel file is empty", path=path) from None
    if "sample" not in frame.columns:
        raise InputFormatError(f"panel needs a 'sample' column, found {list(frame.columns)}", path=path, line=1)
    dup = frame["sample"][frame["sample"].duplicated()]
    if len(dup):
        raise InputFormatError(f"duplicate samples in panel: {list(dup[:5])}", path=path)
    return frame.set_index("sample")


def attach_pcs(obs: pd.DataFrame, *, pcs: pd.DataFrame, source: str) -> pd.DataFrame:
    """``obs`` with the PC columns joined by sample; samples without PCs raise SampleMismatchError."""
    absent = [s for s in obs.index if s not in pcs.index]
    if absent:
        raise SampleMismatchError(
            f"{len(absent)} of {len(obs)} samples have no PCs in {source}: "
            + ", ".join(map(str, absent[:10]))
            + (" ..." if len(absent) > 10 else ""),
            path=source,
        )
    out = obs.drop(columns=[c for c in pcs.columns if c in obs.columns])
    return out.join(pcs.loc[obs.index])


def write_eigenvec(result: AncestryPCs, path: str | os.PathLike[str]) -> Path:
    """Write PCs as a PLINK 2 ``.eigenvec`` (``#FID IID PC1..PCk``) and what was kept beside it (``.json``).

    Parameters
    ----------
    result
        PCs from :func:`vcf_pcs` or :func:`genolens.tl.ancestry`.
    path
        The ``.eigenvec`` to write (atomically); the JSON goes to the same path with suffix ``.json``.

    Returns
    -------
    Path
        ``path``.
    """
    from genolens.io.files import atomic_write

    path = Path(path)
    table = result.pcs
    with atomic_write(path) as fh:
        fh.write("#FID\tIID\t" + "\t".join(table.columns) + "\n")
        for sample, row in table.iterrows():
            fh.write(f"{sample}\t{sample}\t" + "\t".join(f"{v:.6g}" for v in row.to_numpy()) + "\n")
    write_json(path.with_suffix(".json"), result.to_dict())
    return path


def read_ancestry(path: str | os.PathLike[str]) -> AncestryPCs:
    """Read what :func:`write_eigenvec` (``genolens ancestry``) wrote: the PCs and the summary beside them.

    Parameters
    ----------
    path
        The ``.eigenvec``; its summary (eigenvalues, variant counts, PCA settings) is read from the same
        path with suffix ``.json``.

    Returns
    -------
    AncestryPCs
        ``pcs`` (samples × PC1..PCk), ``eigenvalues``, ``counts`` of the variants each filter kept and the
        ``config`` the PCs were computed with.
    """
    path = Path(path)
    pcs = read_eigenvec(path)
    summary_path = path.with_suffix(".json")
    if not summary_path.is_file():
        raise InputFileError(f"no {summary_path.name} beside the eigenvec (eigenvalues and settings)",
                             path=summary_path, hint="an eigenvec alone reads with read_eigenvec")
    try:
        summary = json.loads(summary_path.read_text())
        eigenvalues = np.asarray(summary["eigenvalues"], dtype=np.float64)
        config = PCAConfig(**summary["config"])
        counts = {str(k): int(v) for k, v in summary.get("counts", {}).items()}
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"not valid JSON: {exc}", path=summary_path) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputFormatError(f"not an ancestry summary ({type(exc).__name__}: {exc})", path=summary_path) from None
    if eigenvalues.shape != (pcs.shape[1],):
        raise InputFormatError(f"{eigenvalues.size} eigenvalues for {pcs.shape[1]} PCs in {path.name}",
                               path=summary_path)
    return AncestryPCs(pcs=pcs, eigenvalues=eigenvalues, counts=counts, config=config)
