"""One streaming pass over a store through an SAE: per-feature statistics and top activating rows.

Per feature: how often it fires (activation > 0), its mean and maximum
activation, a histogram of its non-zero activations (log10 bins, fixed edges so
chunks add up), and the ``top_n`` rows where it is highest. Memory is bounded by
one shard plus one chunk of ``[rows, d_sae]`` codes plus ``d_sae x top_n`` heaps;
every step is vectorised across features (no Python loop over features or rows).

A row only enters a feature's top list if it is a local peak: the largest value
within ``separation`` rows either side (and the first row of a plateau), so one
motif instance does not fill the list with its neighbours. The list holds distinct
*loci* (:meth:`~genolens.features.source.StoreSource.locus_keys`): the haplotypes of
many people over one reference position count once (their highest row stands for
them), so one common locus cannot fill the list with copies of itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from genolens.errors import ConfigError
from genolens.features.source import StoreSource

MAX_CHUNK_ELEMENTS = 1 << 24  # rows x d_sae codes held at once (64 MiB of float32)


@dataclass(frozen=True)
class SummaryConfig:
    """Settings of the summary pass."""

    top_n: int = 20
    separation: int = 10
    hist_bins: int = 60
    hist_log10_range: tuple[float, float] = (-4.0, 2.0)
    chunk_rows: int = 4096

    def __post_init__(self) -> None:
        for name in ("top_n", "hist_bins", "chunk_rows"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.separation < 0:
            raise ConfigError(f"separation must be >= 0, got {self.separation}")
        lo, hi = self.hist_log10_range
        if not hi > lo:
            raise ConfigError(f"hist_log10_range must be (low, high) with high > low, got {self.hist_log10_range}")
        object.__setattr__(self, "hist_log10_range", (float(lo), float(hi)))


@dataclass(frozen=True, eq=False)
class FeatureSummary:
    """What the pass collected; ``top_rows`` are global store rows (-1 = empty slot)."""

    n_rows: int
    fires: np.ndarray  # [F] int64: rows with activation > 0
    sums: np.ndarray  # [F] float64
    max: np.ndarray  # [F] float32
    hist: np.ndarray  # [F, bins] int64 counts of non-zero activations
    hist_edges: np.ndarray  # [bins + 1] log10 activation
    top_values: np.ndarray  # [F, top_n] float32, descending, nan = empty
    top_rows: np.ndarray  # [F, top_n] int64
    top_loci: np.ndarray | None = None  # [F, top_n] int64 locus keys of the top rows (None: older summary)
    config: SummaryConfig = field(default_factory=SummaryConfig)

    @property
    def d_sae(self) -> int:
        return int(self.fires.shape[0])

    @property
    def frequency(self) -> np.ndarray:
        return self.fires / max(self.n_rows, 1)

    @property
    def mean(self) -> np.ndarray:
        """Mean activation over all rows (zeros included)."""
        return self.sums / max(self.n_rows, 1)

    @property
    def mean_active(self) -> np.ndarray:
        """Mean activation over the rows where the feature fires."""
        return np.divide(self.sums, self.fires, out=np.zeros_like(self.sums), where=self.fires > 0)

    def table(self) -> pd.DataFrame:
        """One row per feature: n_active, frequency, mean, mean_active, max."""
        return pd.DataFrame(
            {
                "feature": np.arange(self.d_sae),
                "n_active": self.fires,
                "frequency": self.frequency,
                "mean": self.mean,
                "mean_active": self.mean_active,
                "max": self.max,
            }
        )

    def to_npz(self) -> dict[str, np.ndarray]:
        return {
            "n_rows": np.array(self.n_rows), "fires": self.fires, "sums": self.sums, "max": self.max,
            "hist": self.hist, "hist_edges": self.hist_edges, "top_values": self.top_values,
            "top_rows": self.top_rows,
            **({"top_loci": self.top_loci} if self.top_loci is not None else {}),
        }

    def config_dict(self) -> dict:
        return asdict(self.config)


def encode(x: torch.Tensor, *, sae: torch.nn.Module) -> torch.Tensor:
    """SAE codes ``[rows, d_sae]`` of raw activations, without autograd."""
    with torch.inference_mode():
        return sae.encode(x.float()).float()


def _peaks(codes_FR: torch.Tensor, separation: int) -> torch.Tensor:
    """Mask of local maxima along rows (largest within +-separation; first row of a plateau)."""
    if separation == 0:
        return codes_FR > 0
    pooled = F.max_pool1d(codes_FR[None], 2 * separation + 1, stride=1, padding=separation)[0]
    prev = torch.cat([torch.full_like(codes_FR[:, :1], -1.0), codes_FR[:, :-1]], dim=1)
    return (codes_FR == pooled) & (codes_FR > prev) & (codes_FR > 0)


_NO_KEY = torch.iinfo(torch.int64).max  # key of an empty slot


def _best_per_key(values: torch.Tensor, keys: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of ``values [F, M]``: the ``n`` best distinct ``keys [F, M]``, each by its highest entry.

    Returns (values ``[F, n]`` descending, -inf = empty; positions ``[F, n]`` into the columns of the input,
    the first highest entry of each key).
    """
    n_f, m = values.shape
    order = torch.argsort(keys, dim=1, stable=True)
    k, v = keys.gather(1, order), values.gather(1, order)
    new = torch.ones_like(k, dtype=torch.bool)
    new[:, 1:] = k[:, 1:] != k[:, :-1]
    group = new.long().cumsum(1) - 1  # [F, M] group of each sorted entry
    gmax = torch.full((n_f, m), -torch.inf).scatter_reduce(1, group, v, "amax")
    best = v == gmax.gather(1, group)
    where = torch.where(best, -torch.arange(m, dtype=torch.float32).expand(n_f, m), torch.tensor(-torch.inf))
    first = -torch.full((n_f, m), -torch.inf).scatter_reduce(1, group, where, "amax")  # sorted position per group
    top_v, pick = gmax.topk(min(n, m), dim=1)
    pos = first.gather(1, pick).nan_to_num(posinf=0).clamp(0, m - 1).long()
    return top_v, order.gather(1, pos)


def _chunk_candidates(
    masked_FR: torch.Tensor, locus: torch.Tensor, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``n`` best distinct loci of every feature in one chunk: (values, rows within the chunk, keys)."""
    n_f, n_r = masked_FR.shape
    uniq, inv = torch.unique(locus, return_inverse=True)
    index = inv.expand(n_f, n_r)
    per_key = torch.full((n_f, uniq.numel()), -torch.inf).scatter_reduce(1, index, masked_FR, "amax")
    best = (masked_FR == per_key.gather(1, index)) & torch.isfinite(masked_FR)
    rows = torch.where(best, -torch.arange(n_r, dtype=torch.float32).expand(n_f, n_r), torch.tensor(-torch.inf))
    first = -torch.full_like(per_key, -torch.inf).scatter_reduce(1, index, rows, "amax")
    top_v, pick = per_key.topk(min(n, uniq.numel()), dim=1)
    top_rows = first.gather(1, pick).nan_to_num(posinf=-1).long()
    return top_v, top_rows, uniq[pick]


def summarize_features(
    source: StoreSource, *, sae: torch.nn.Module, config: SummaryConfig | None = None
) -> FeatureSummary:
    """Stream every row of ``source`` through ``sae`` once and collect per-feature statistics."""
    config = config or SummaryConfig()
    d_sae = int(sae.cfg.d_sae)
    if int(sae.cfg.d_in) != source.hidden_size:
        raise ConfigError(
            f"the SAE reads {sae.cfg.d_in}-dimensional activations, the store holds {source.hidden_size}",
            path=source.path, hint="use the SAE trained on this model and layer",
        )
    chunk_rows = max(1, min(config.chunk_rows, MAX_CHUNK_ELEMENTS // d_sae))
    lo, hi = config.hist_log10_range
    bins = config.hist_bins
    width = (hi - lo) / bins
    fires = torch.zeros(d_sae, dtype=torch.int64)
    sums = torch.zeros(d_sae, dtype=torch.float64)
    vmax = torch.zeros(d_sae)
    hist = torch.zeros(d_sae * bins, dtype=torch.int64)
    n = config.top_n
    top_v = torch.full((d_sae, n), -torch.inf)
    top_r = torch.full((d_sae, n), -1, dtype=torch.int64)
    top_k = torch.full((d_sae, n), _NO_KEY, dtype=torch.int64)
    n_rows = 0
    for chunk in source.chunks(chunk_rows=chunk_rows):
        codes = encode(chunk.acts, sae=sae)  # [R, F]
        n_rows += chunk.n_rows
        active = codes > 0
        fires += active.sum(0)
        sums += codes.sum(0, dtype=torch.float64)
        vmax = torch.maximum(vmax, codes.max(0).values)
        r_idx, f_idx = active.nonzero(as_tuple=True)
        logv = torch.log10(codes[r_idx, f_idx])
        b = ((logv - lo) / width).floor().clamp(0, bins - 1).long()
        hist += torch.bincount(f_idx * bins + b, minlength=d_sae * bins)
        codes_FR = codes.T.contiguous()
        masked = torch.where(_peaks(codes_FR, config.separation), codes_FR, torch.tensor(-torch.inf))
        if chunk.locus is not None:
            locus = torch.from_numpy(chunk.locus)
        else:  # no keys: every row is its own locus
            locus = torch.arange(chunk.n_rows) + chunk.first_row
        cv, ci, ck = _chunk_candidates(masked, locus, n)
        ck = torch.where(torch.isinf(cv), torch.tensor(_NO_KEY), ck)
        all_v = torch.cat([top_v, cv], dim=1)
        all_r = torch.cat([top_r, ci + chunk.first_row], dim=1)
        all_k = torch.cat([top_k, ck], dim=1)
        top_v, pos = _best_per_key(all_v, all_k, n)
        top_r, top_k = all_r.gather(1, pos), all_k.gather(1, pos)
        top_k = torch.where(torch.isinf(top_v), torch.tensor(_NO_KEY), top_k)
    empty = torch.isinf(top_v)
    top_r[empty] = -1
    top_k[empty] = -1
    top_values = top_v.numpy().astype(np.float32)
    top_values[empty.numpy()] = np.nan
    return FeatureSummary(
        n_rows=n_rows,
        fires=fires.numpy(),
        sums=sums.numpy(),
        max=vmax.numpy(),
        hist=hist.view(d_sae, bins).numpy(),
        hist_edges=np.linspace(lo, hi, bins + 1),
        top_values=top_values,
        top_rows=top_r.numpy(),
        top_loci=top_k.numpy(),
        config=config,
    )
