"""Judging an SAE on held-out activations: reconstruction, sparsity, dead and dense latents, stability.

All statistics stream over batches with O(d_sae + d_in) memory. Fraction of
variance explained is ``1 - SSE / SST`` with SST around the held-out mean.
A latent is dead if it never fires on the evaluation tokens, dense if it fires
on more than ``dense_threshold`` (10%) of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes

from genolens.sae.base import SparseAutoencoder


@dataclass
class SAEMetrics:
    """Reconstruction and sparsity of an SAE over evaluation tokens (:func:`evaluate_sae`).

    Parameters
    ----------
    tokens
        Evaluation tokens (activation rows).
    mse
        Mean squared reconstruction error per element, in the raw activation space.
    fve
        Fraction of variance explained, ``1 - SSE / SST`` around the evaluation mean.
    l0
        Mean number of active latents per token.
    dead_fraction, n_dead
        Latents that never fired: fraction and count.
    dense_fraction, n_dense
        Latents that fired on more than ``dense_threshold`` of the tokens: fraction and count.
    density
        Firing frequency of each latent, ``[d_sae]``.
    """

    tokens: int
    mse: float
    fve: float
    l0: float
    dead_fraction: float
    dense_fraction: float
    n_dead: int
    n_dense: int
    density: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """The metrics as a JSON-ready dict, without the per-latent ``density``.

        Returns
        -------
        dict
            One entry per scalar field.
        """
        out = asdict(self)
        out.pop("density")
        return out


@torch.no_grad()
def evaluate_sae(
    sae: SparseAutoencoder,
    batches: Iterable[torch.Tensor],
    *,
    dense_threshold: float = 0.1,
    device: str | torch.device = "cpu",
) -> SAEMetrics:
    """Reconstruction and sparsity metrics of ``sae`` over ``batches`` of raw activations.

    Parameters
    ----------
    sae
        The SAE to judge.
    batches
        ``[rows, d_in]`` batches of raw activations (held-out ones, for an honest figure).
    dense_threshold
        Firing frequency above which a latent counts as dense.
    device
        Where the SAE runs.

    Returns
    -------
    SAEMetrics
        MSE, fraction of variance explained, L0, dead and dense latents, per-latent density.
    """
    sae = sae.to(device).eval()
    d_in, d_sae = sae.cfg.d_in, sae.cfg.d_sae
    n = 0
    sse = 0.0
    sum_x = torch.zeros(d_in, dtype=torch.float64, device=device)
    sum_sq = 0.0
    l0 = 0.0
    fires = torch.zeros(d_sae, dtype=torch.float64, device=device)
    for batch in batches:
        x = batch.to(device, torch.float32)
        recon, f = sae(x)
        sse += float((recon - x).double().pow(2).sum())
        sum_x += x.double().sum(0)
        sum_sq += float(x.double().pow(2).sum())
        active = f > 0
        l0 += float(active.sum())
        fires += active.double().sum(0)
        n += x.shape[0]
    if n == 0:
        raise ValueError("no evaluation tokens")
    sst = sum_sq - float(sum_x.pow(2).sum()) / n
    density = (fires / n).cpu().numpy()
    n_dead = int((density == 0).sum())
    n_dense = int((density > dense_threshold).sum())
    return SAEMetrics(
        tokens=n,
        mse=sse / (n * d_in),
        fve=1.0 - sse / sst if sst > 0 else float("nan"),
        l0=l0 / n,
        dead_fraction=n_dead / d_sae,
        dense_fraction=n_dense / d_sae,
        n_dead=n_dead,
        n_dense=n_dense,
        density=density,
    )


def draw_density(density: np.ndarray, *, ax: Axes, title: str = "") -> Axes:
    """Histogram of log10 firing frequency on ``ax`` (dead latents counted in the leftmost bar).

    The bins are fixed over [-7, 0] (frequencies lie in [0, 1]): bins from the data's range would collapse
    when every latent fires at the same frequency to rounding.
    """
    floor = 1e-7
    values = np.clip(np.log10(np.maximum(density, floor)), np.log10(floor), 0.0)
    ax.hist(values, bins=np.linspace(np.log10(floor), 0.0, 71), color="#3b6ea8")
    ax.axvline(np.log10(0.1), color="#b33", ls="--", lw=1, label="dense (10%)")
    ax.set_xlabel("log10 firing frequency (dead at -7)")
    ax.set_ylabel("latents")
    ax.set_title(title or "feature density")
    ax.legend(frameon=False)
    return ax


def density_histogram(density: np.ndarray, path: str | Path, *, title: str = "") -> Path:
    """PNG of :func:`draw_density` (drawn without pyplot, so a notebook's backend is left alone)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5))
    draw_density(density, ax=fig.subplots(), title=title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


@torch.no_grad()
def feature_stability(a: SparseAutoencoder, b: SparseAutoencoder, *, threshold: float = 0.9) -> float:
    """Fraction of ``a``'s latents whose decoder direction has a match (cosine > threshold) in ``b``.

    Parameters
    ----------
    a, b
        Two SAEs over the same activations (e.g. the same settings, another seed).
    threshold
        Cosine similarity above which two decoder rows match.

    Returns
    -------
    float
        The fraction, in [0, 1].
    """
    da = torch.nn.functional.normalize(a.W_dec.detach().float().cpu(), dim=1)
    db = torch.nn.functional.normalize(b.W_dec.detach().float().cpu(), dim=1)
    best = torch.cat([(chunk @ db.T).max(1).values for chunk in da.split(4096)])
    return float((best > threshold).float().mean())


@torch.no_grad()
def recovered_atoms(sae: SparseAutoencoder, atoms_KD: torch.Tensor, *, threshold: float = 0.9) -> float:
    """Fraction of true dictionary atoms that some decoder row matches with cosine > threshold."""
    dec = torch.nn.functional.normalize(sae.W_dec.detach().float().cpu(), dim=1)
    atoms = torch.nn.functional.normalize(atoms_KD.float().cpu(), dim=1)
    best = (atoms @ dec.T).max(1).values
    return float((best > threshold).float().mean())
