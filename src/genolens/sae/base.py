"""The shared SAE module: parameters, input scaling, encode/decode, initialisation, losses.

Tensor names follow SAELens (``W_enc [d_in, d_sae]``, ``W_dec [d_sae, d_in]``,
``b_enc``, ``b_dec``) so checkpoints load there. Inputs are multiplied by
``input_scale`` (chosen so that the mean squared norm equals ``d_in``) before
encoding, and reconstructions divided by it: the SAE works in a space whose
scale does not depend on the model, and callers only ever see raw activations.

Training practice built in: decoder rows at unit norm (except ReLU-L1, which
puts the norm in its penalty), encoder initialised as the decoder's
transpose, decoder bias at the geometric median (or mean) of the data, an
auxiliary-k loss that gives dead latents a gradient (TopK family).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genolens.sae.config import SAEConfig


@dataclass
class StepOutput:
    """What one training forward pass returns."""

    loss: torch.Tensor
    feats: torch.Tensor
    metrics: dict[str, float]


class SparseAutoencoder(nn.Module):
    """Base class; subclasses define :meth:`activate` and may add a penalty."""

    architecture: str = ""
    unit_norm_decoder: bool = True

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        g = torch.Generator().manual_seed(cfg.seed)
        w_dec = torch.randn(cfg.d_sae, cfg.d_in, generator=g)
        w_dec /= w_dec.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(w_dec)
        self.W_enc = nn.Parameter(w_dec.T.clone().contiguous())
        self.b_enc = nn.Parameter(torch.zeros(cfg.d_sae))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_in))
        self.register_buffer("input_scale", torch.tensor(1.0))
        self.register_buffer("tokens_since_fired", torch.zeros(cfg.d_sae, dtype=torch.long))

    def param_groups(self, lr: float) -> list[dict]:
        """Optimiser parameter groups; ``lr_scale`` multiplies the scheduled learning rate."""
        return [{"params": list(self.parameters()), "lr": lr, "lr_scale": 1.0}]

    # -- inference -------------------------------------------------------------------------------
    def pre_acts(self, x_BD: torch.Tensor) -> torch.Tensor:
        """Encoder pre-activations of raw inputs."""
        return (x_BD * self.input_scale - self.b_dec) @ self.W_enc + self.b_enc

    def activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x_BD: torch.Tensor) -> torch.Tensor:
        """Sparse feature activations ``[..., d_sae]`` of raw inputs ``[..., d_in]``."""
        return self.activate(self.pre_acts(x_BD))

    def decode(self, f_BF: torch.Tensor) -> torch.Tensor:
        """Reconstruction in the raw input space."""
        return (f_BF @ self.W_dec + self.b_dec) / self.input_scale

    def forward(self, x_BD: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f_BF = self.encode(x_BD)
        return self.decode(f_BF), f_BF

    # -- initialisation --------------------------------------------------------------------------
    @torch.no_grad()
    def init_from_data(self, x_ND: torch.Tensor) -> None:
        """Set the input scale and decoder bias from a sample of activations (before training)."""
        x_ND = x_ND.to(self.W_dec.device, torch.float32)
        mean_sq = x_ND.pow(2).sum(-1).mean().clamp_min(1e-12)
        self.input_scale.fill_(float(torch.sqrt(self.cfg.d_in / mean_sq)))
        xs = x_ND * self.input_scale
        if self.cfg.b_dec_init == "mean":
            self.b_dec.copy_(xs.mean(0))
        elif self.cfg.b_dec_init == "geometric_median":
            self.b_dec.copy_(geometric_median(xs))

    def calibrate(self, batches_BD: list[torch.Tensor]) -> None:
        """Post-training estimates from data with the final weights (BatchTopK's threshold)."""

    # -- training --------------------------------------------------------------------------------
    def training_step(self, x_BD: torch.Tensor, *, progress: float) -> StepOutput:
        """Loss on a batch in the scaled space; ``progress`` is the fraction of training done."""
        xs_BD = x_BD * self.input_scale
        pre_BF = (xs_BD - self.b_dec) @ self.W_enc + self.b_enc
        f_BF = self.train_activate(pre_BF)
        recon_BD = f_BF @ self.W_dec + self.b_dec
        err_BD = recon_BD - xs_BD
        mse = err_BD.pow(2).sum(-1).mean()
        loss = self.reconstruction_loss(f_BF, xs_BD, mse)
        metrics = {"mse": float(mse.detach())}
        penalty = self.penalty(pre_BF, f_BF, progress=progress, metrics=metrics)
        if penalty is not None:
            loss = loss + penalty
        aux = self.aux_loss(pre_BF, err_BD)
        if aux is not None:
            loss = loss + aux
            metrics["aux"] = float(aux.detach())
        metrics["l0"] = float((f_BF > 0).sum(-1).float().mean())
        metrics["loss"] = float(loss.detach())
        return StepOutput(loss, f_BF, metrics)

    def train_activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        """Activation used in training (BatchTopK differs from its inference rule)."""
        return self.activate(pre_BF)

    def reconstruction_loss(self, f_BF: torch.Tensor, xs_BD: torch.Tensor, mse: torch.Tensor) -> torch.Tensor:
        return mse

    def penalty(
        self, pre_BF: torch.Tensor, f_BF: torch.Tensor, *, progress: float, metrics: dict[str, float]
    ) -> torch.Tensor | None:
        return None

    def aux_loss(self, pre_BF: torch.Tensor, err_BD: torch.Tensor) -> torch.Tensor | None:
        return None

    def dead_mask(self) -> torch.Tensor:
        return self.tokens_since_fired >= self.cfg.dead_after_tokens

    @torch.no_grad()
    def record_firing(self, f_BF: torch.Tensor) -> None:
        fired = (f_BF > 0).any(0)
        self.tokens_since_fired += f_BF.shape[0]
        self.tokens_since_fired[fired] = 0

    @torch.no_grad()
    def after_step(self, f_BF: torch.Tensor) -> None:
        """Bookkeeping after the optimiser step: decoder norms, firing counters."""
        if self.unit_norm_decoder:
            self.W_dec.div_(self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8))
        self.record_firing(f_BF)

    @torch.no_grad()
    def before_step(self) -> None:
        """Remove the gradient component that would change decoder norms (unit-norm SAEs)."""
        if self.unit_norm_decoder and self.W_dec.grad is not None:
            w = self.W_dec / self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)
            self.W_dec.grad -= (self.W_dec.grad * w).sum(1, keepdim=True) * w

    # -- saving ----------------------------------------------------------------------------------
    def folded_state(self) -> dict[str, torch.Tensor]:
        """Weights for raw (unscaled) inputs, input scale folded in (SAELens layout)."""
        s = float(self.input_scale)
        return {
            "W_enc": (self.W_enc * s).detach().contiguous(),
            "W_dec": (self.W_dec / s).detach().contiguous(),
            "b_enc": self.b_enc.detach().clone(),
            "b_dec": (self.b_dec / s).detach().contiguous(),
        }


def aux_k_loss(
    sae: SparseAutoencoder, pre_BF: torch.Tensor, err_BD: torch.Tensor
) -> torch.Tensor | None:
    """Auxiliary-k loss (Gao et al. 2024): dead latents learn to predict the residual error."""
    dead = sae.dead_mask()
    n_dead = int(dead.sum())
    if n_dead == 0:
        return None
    k_aux = min(sae.cfg.aux_k, n_dead)
    masked = torch.where(dead, torch.relu(pre_BF), torch.zeros_like(pre_BF))
    vals, idx = masked.topk(k_aux, dim=-1)
    f_aux = torch.zeros_like(pre_BF).scatter(-1, idx, vals)
    recon_aux = f_aux @ sae.W_dec
    residual = -err_BD.detach()  # target: x - recon
    denom = residual.pow(2).sum(-1).mean().clamp_min(1e-8)
    scale = min(n_dead / sae.cfg.aux_k, 1.0)
    return sae.cfg.aux_coeff * scale * (recon_aux - residual).pow(2).sum(-1).mean() / denom


@torch.no_grad()
def geometric_median(x_ND: torch.Tensor, *, iters: int = 100, eps: float = 1e-6) -> torch.Tensor:
    """Weiszfeld's algorithm: the point minimising the sum of distances to the rows of ``x_ND``."""
    median = x_ND.mean(0)
    for _ in range(iters):
        dist = (x_ND - median).norm(dim=1).clamp_min(eps)
        w = 1.0 / dist
        new = (w[:, None] * x_ND).sum(0) / w.sum()
        if (new - median).norm() < eps * (1 + median.norm()):
            return new
        median = new
    return median
