"""Motifs from a feature's top DNA windows, compared with a motif database (JASPAR).

:func:`windows_pwm` aligns the windows on their activating base and counts
bases per column (``N`` and off-sequence positions count a quarter to each
base); :func:`trim` keeps the block between the first and last column whose
information content reaches ``min_ic`` bits.

:func:`compare_pwm` scores the query against every database motif with the
sum of per-column Pearson correlations (as Tomtom's PCC column score) over every
offset with at least ``min_overlap`` overlapping columns, on both strands, and
keeps the best. The null comes from the same query with its columns shuffled
(``n_shuffles`` permutations, which keep its composition and information content
but destroy its order): per database motif, its best score against each
shuffled query. Three numbers come from it:

* ``z = (score - null mean) / null sd``;
* ``p_empirical = (1 + #null >= score) / (n_shuffles + 1)``, which can never go below
  ``p_floor = 1 / (n_shuffles + 1)``: at the floor it only says "< p_floor";
* ``p_value``, semi-analytic: a Gumbel (extreme-value) distribution fitted to the
  null by its mean and sd (the score is a maximum over offsets and strands), whose
  tail resolves strong matches far below the floor. ``e_value = p_value x`` the number
  of database motifs (as Tomtom's E-value): the expected number of motifs matching
  as well by chance; ``e_value < 0.05`` is the threshold the dashboard reports.

On column-shuffled random queries (tests/features/test_motifs.py) the Gumbel p-values
are close to uniform (calibrated); on a planted motif they fall well below the old
floor of 20 shuffles (1/21). Matches are ranked by score (ties by z): on PWMs
sampled from JASPAR motifs themselves, ranking by score put the source motif
first more often than ranking by z or p.

A feature's PWM is built from its *distinct* top windows (identical windows, e.g. one
locus in the haplotypes of many people, count once); ``n_sites`` is their number.

Vectorised: one ``[query, all database columns]`` correlation matrix per strand;
a shuffled query only permutes its rows, and every offset of every database
motif is one diagonal sum over a padded layout (a loop over query columns only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from genolens.errors import ConfigError
from genolens.features.jaspar import Motif

_CODE = np.full(256, 4, dtype=np.int64)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i


@dataclass(frozen=True)
class MotifConfig:
    """How windows become a PWM and how it is compared."""

    flank: int = 15
    min_sites: int = 5
    min_ic: float = 0.5
    pseudocount: float = 0.5
    min_overlap: int = 5
    n_shuffles: int = 100
    top: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("min_sites", "min_overlap", "n_shuffles", "top"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.flank < 0 or self.pseudocount < 0 or not 0 <= self.min_ic <= 2:
            raise ConfigError("flank and pseudocount must be >= 0 and min_ic in [0, 2]")


def windows_pwm(windows: Sequence[str]) -> np.ndarray:
    """Counts ``[length, 4]`` of equal-length aligned windows (N or '-' adds 0.25 to each base)."""
    if not windows:
        raise ConfigError("no windows to build a PWM from")
    length = len(windows[0])
    if any(len(w) != length for w in windows):
        raise ConfigError("windows must all have the same length")
    codes = _CODE[np.frombuffer("".join(windows).encode("ascii"), dtype=np.uint8)].reshape(len(windows), length)
    counts = np.zeros((length, 5))
    np.add.at(counts, (np.broadcast_to(np.arange(length), codes.shape), codes), 1.0)
    return counts[:, :4] + counts[:, 4:] * 0.25


def probabilities(counts: np.ndarray, *, pseudocount: float = 0.5) -> np.ndarray:
    """Column probabilities with ``pseudocount`` counts spread evenly over the four bases."""
    c = counts + pseudocount / 4
    return c / c.sum(1, keepdims=True)


def information_content(probs: np.ndarray) -> np.ndarray:
    """Bits per column: 2 - entropy."""
    p = np.clip(probs, 1e-12, 1)
    return 2 + (p * np.log2(p)).sum(1)


def trim(probs: np.ndarray, *, min_ic: float) -> tuple[int, int] | None:
    """``[start, end)`` from the first to the last column with at least ``min_ic`` bits; None if none has."""
    keep = np.nonzero(information_content(probs) >= min_ic)[0]
    if keep.size == 0:
        return None
    return int(keep[0]), int(keep[-1]) + 1


def reverse_complement(matrix: np.ndarray) -> np.ndarray:
    """Reverse complement of an ``[length, 4]`` A, C, G, T matrix."""
    return matrix[::-1, ::-1].copy()


def _standardise(probs: np.ndarray) -> np.ndarray:
    centred = probs - probs.mean(1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 1e-9)


@dataclass(frozen=True, eq=False)
class MotifDatabase:
    """Database motifs as standardised columns, for fast all-against-all comparison."""

    motifs: tuple[Motif, ...]
    columns: np.ndarray  # [total columns, 4] standardised
    starts: np.ndarray  # [n] first column of each motif in ``columns``
    lengths: np.ndarray  # [n]

    @classmethod
    def build(cls, motifs: Sequence[Motif], *, pseudocount: float = 0.01) -> MotifDatabase:
        if not motifs:
            raise ConfigError("the motif database is empty")
        cols = [_standardise(m.probabilities(pseudocount=pseudocount)) for m in motifs]
        lengths = np.array([c.shape[0] for c in cols], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return cls(tuple(motifs), np.concatenate(cols), starts, lengths)

    def layout(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Columns with ``m - 1`` zero columns around every motif: (padded columns, motif starts, valid mask)."""
        pad = m - 1
        total = int(self.lengths.sum()) + pad * (len(self.lengths) + 1)
        padded = np.zeros((total, 4))
        valid = np.zeros(total, dtype=bool)
        starts = self.starts + pad * (np.arange(len(self.lengths)) + 1)
        for s, a, n in zip(starts, self.starts, self.lengths, strict=True):
            padded[s : s + n] = self.columns[a : a + n]
            valid[s : s + n] = True
        return padded, starts, valid


def _diagonals(rows: np.ndarray) -> np.ndarray:
    """``out[..., g] = sum_i rows[..., i, g + i]`` for every start ``g`` of an m-column window."""
    m, total = rows.shape[-2:]
    width = total - m + 1
    out = np.zeros((*rows.shape[:-2], width), dtype=rows.dtype)
    for i in range(m):
        out += rows[..., i, i : i + width]
    return out


EULER_GAMMA = 0.5772156649015329


def gumbel_sf(x: np.ndarray, *, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """P(X >= x) under the Gumbel (maximum) distribution with this mean and sd (method of moments).

    Parameters
    ----------
    x, mean, sd
        Observed scores and the null's mean and standard deviation (broadcast together).

    Returns
    -------
    numpy.ndarray
        Upper-tail probabilities; accurate far into the tail (``-expm1``), 1 where the null has no spread
        and ``x`` does not exceed its mean, 0 where it does.
    """
    sd = np.asarray(sd, dtype=np.float64)
    beta = sd * np.sqrt(6) / np.pi
    mu = np.asarray(mean, dtype=np.float64) - EULER_GAMMA * beta
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = -np.expm1(-np.exp(-(np.asarray(x, dtype=np.float64) - mu) / beta))
    flat = np.where(np.asarray(x) > mean, 0.0, 1.0)
    return np.where(sd > 1e-9, p, flat)


def compare_pwm(query: np.ndarray, *, database: MotifDatabase, config: MotifConfig | None = None) -> pd.DataFrame:
    """The ``config.top`` best database matches of ``query`` (probabilities ``[length, 4]``), best first."""
    config = config or MotifConfig()
    m = int(query.shape[0])
    if m == 0 or query.shape[1] != 4:
        raise ConfigError(f"query must be [length >= 1, 4], got {query.shape}")
    padded, starts, valid = database.layout(m)
    zq = _standardise(query)
    s_fwd = zq @ padded.T  # [m, total]
    s_rc = _standardise(query[:, ::-1]) @ padded.T  # complement of each query column, query order
    overlap = _diagonals(np.broadcast_to(valid.astype(np.float64), (m, valid.size)))
    seg = starts - (m - 1)  # first window start of each motif
    need = np.minimum(np.minimum(config.min_overlap, m), database.lengths)
    need_per_g = np.repeat(need, np.diff(np.concatenate([seg, [overlap.size]])))
    ok = overlap >= need_per_g

    def best(rows_fwd: np.ndarray, rows_rc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fwd = np.where(ok, _diagonals(rows_fwd), -np.inf)
        rc = np.where(ok, _diagonals(rows_rc), -np.inf)
        both = np.maximum(np.maximum.reduceat(fwd, seg, axis=-1), np.maximum.reduceat(rc, seg, axis=-1))
        return fwd, rc, both

    fwd, rc, observed = best(s_fwd, s_rc[::-1])
    rng = np.random.default_rng(config.seed)
    perms = np.stack([rng.permutation(m) for _ in range(config.n_shuffles)])
    null = np.empty((config.n_shuffles, len(seg)))
    f32_fwd, f32_rc = s_fwd.astype(np.float32), s_rc.astype(np.float32)
    batch = max(1, (1 << 23) // (m * s_fwd.shape[1]))  # shuffles per block: ~32 MiB of float32 rows
    for lo in range(0, config.n_shuffles, batch):
        p = perms[lo : lo + batch]
        null[lo : lo + batch] = best(f32_fwd[p], f32_rc[p[:, ::-1]])[2]
    mean, sd = null.mean(0), null.std(0)
    z = (observed - mean) / np.maximum(sd, 1e-6)
    p_emp = (1 + (null >= observed[None] - 1e-12).sum(0)) / (config.n_shuffles + 1)
    p = gumbel_sf(observed, mean=mean, sd=sd)
    order = np.lexsort((-z, -observed))[: config.top]
    out = []
    for rank, k in enumerate(order):
        lo, n = seg[k], database.lengths[k]
        hi = lo + n + m - 1
        f_at, r_at = int(np.argmax(fwd[lo:hi])), int(np.argmax(rc[lo:hi]))
        strand, g = ("+", f_at) if fwd[lo + f_at] >= rc[lo + r_at] else ("-", r_at)
        motif = database.motifs[k]
        out.append({
            "rank": rank + 1, "matrix_id": motif.id, "name": motif.name, "score": float(observed[k]),
            "z": float(z[k]), "p_value": float(p[k]), "e_value": float(p[k]) * len(database.motifs),
            "p_empirical": float(p_emp[k]), "p_floor": 1 / (config.n_shuffles + 1),
            "strand": strand, "offset": int(g - (m - 1)), "overlap": int(overlap[lo + g]), "length": int(n),
        })
    return pd.DataFrame(out)


@dataclass(frozen=True, eq=False)
class FeatureMotif:
    """A feature's PWM: full window counts, and the trimmed informative block (None if none).

    Parameters
    ----------
    feature
        The feature.
    counts
        ``[window, 4]`` base counts (A, C, G, T) of the windows centred on its activating bases.
    probs
        ``[window, 4]`` probabilities (counts with a pseudocount).
    trimmed
        ``[start, end)`` columns of the informative block, or None.
    n_sites
        Contexts counted.
    """

    feature: int
    counts: np.ndarray
    probs: np.ndarray
    trimmed: tuple[int, int] | None
    n_sites: int

    @property
    def query(self) -> np.ndarray | None:
        return None if self.trimmed is None else self.probs[self.trimmed[0] : self.trimmed[1]]


def context_windows(contexts: pd.DataFrame, *, flank: int) -> list[str]:
    """Windows of ``2 * flank + 1`` bases centred on each context's activating base (padded with N)."""
    out = []
    for bases, pos, w0 in zip(contexts["bases"], contexts["position"], contexts["window_start"], strict=True):
        centre = int(pos) - int(w0)
        left = "N" * max(0, flank - centre) + bases[max(0, centre - flank) : centre]
        right = bases[centre : centre + flank + 1]
        out.append(left + right + "N" * (flank + 1 - len(right)))
    return out


def feature_motif(
    contexts: pd.DataFrame, *, feature: int, config: MotifConfig | None = None
) -> FeatureMotif | None:
    """The PWM of one feature's distinct top windows (None when it has fewer than ``min_sites`` with bases).

    Parameters
    ----------
    contexts
        Top activating contexts (``contexts`` of :func:`genolens.tl.annotate`'s result: ``feature``,
        ``bases``, ``position``, ``window_start`` columns).
    feature
        The feature.
    config
        Window flank, minimum sites, trimming and pseudocount (default :class:`MotifConfig`).

    Returns
    -------
    FeatureMotif or None
        Counts and probabilities of the distinct windows centred on each activating base, and the trimmed informative
        block; None with too few sites.
    """
    config = config or MotifConfig()
    rows = contexts[(contexts["feature"] == feature) & (contexts["bases"].str.len() > 0)]
    windows = list(dict.fromkeys(context_windows(rows, flank=config.flank)))  # distinct, first (best) kept
    if len(windows) < config.min_sites:
        return None
    counts = windows_pwm(windows)
    probs = probabilities(counts, pseudocount=config.pseudocount)
    block = trim(probs, min_ic=config.min_ic)
    if block is not None and block[1] - block[0] < config.min_overlap:
        block = None  # too short to compare meaningfully
    return FeatureMotif(feature, counts, probs, block, len(windows))


def config_dict(config: MotifConfig) -> dict:
    return asdict(config)
