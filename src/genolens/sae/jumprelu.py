"""JumpReLU SAE (Rajamanoharan et al. 2024) trained towards a target L0.

Each latent fires only above its own threshold ``theta = exp(log_threshold)``.
The step function has no useful gradient, so the threshold learns through a
straight-through estimator: the derivative of the step is replaced by a
rectangle kernel of width ``jumprelu_bandwidth``. The sparsity penalty is
``l0_coeff * (L0 / k - 1)^2``, which pulls the batch's mean L0 towards ``k``
(the target) instead of minimising it. Thresholds start at the per-latent
quantile of the initial data that makes every latent fire with probability
``k / d_sae``, so training starts near the target.
"""

from __future__ import annotations

import torch
from torch import nn

from genolens.sae.base import SparseAutoencoder
from genolens.sae.config import JumpReLUConfig


def _rect(z: torch.Tensor) -> torch.Tensor:
    return ((z > -0.5) & (z < 0.5)).to(z.dtype)


class _JumpReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pre, threshold, bandwidth):  # noqa: ANN001, ANN205
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return pre * (pre > threshold)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        pre, threshold = ctx.saved_tensors
        bw = ctx.bandwidth
        grad_pre = grad * (pre > threshold)
        grad_thr = -(threshold / bw) * _rect((pre - threshold) / bw) * grad
        return grad_pre, grad_thr.sum(0), None


class _Step(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pre, threshold, bandwidth):  # noqa: ANN001, ANN205
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return (pre > threshold).to(pre.dtype)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        pre, threshold = ctx.saved_tensors
        bw = ctx.bandwidth
        grad_thr = -(1.0 / bw) * _rect((pre - threshold) / bw) * grad
        return torch.zeros_like(pre), grad_thr.sum(0), None


class JumpReLUSAE(SparseAutoencoder):
    architecture = "jumprelu"
    config_class = JumpReLUConfig

    def __init__(self, cfg) -> None:  # noqa: ANN001
        super().__init__(cfg)
        self.log_threshold = nn.Parameter(torch.full((cfg.d_sae,), -2.0))

    def param_groups(self, lr: float) -> list[dict]:
        # Thresholds must keep up with the encoder's scale, which moves fast early in training;
        # at the shared learning rate they lag far behind and L0 collapses below the target.
        scale = self.cfg.threshold_lr_scale
        rest = [p for n, p in self.named_parameters() if n != "log_threshold"]
        return [{"params": rest, "lr": lr, "lr_scale": 1.0},
                {"params": [self.log_threshold], "lr": lr * scale, "lr_scale": scale}]

    @property
    def threshold(self) -> torch.Tensor:
        return self.log_threshold.exp()

    def activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        return pre_BF * (pre_BF > self.threshold)

    def train_activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        return _JumpReLU.apply(pre_BF, self.threshold, self.cfg.jumprelu_bandwidth)

    @torch.no_grad()
    def init_from_data(self, x_ND: torch.Tensor) -> None:
        super().init_from_data(x_ND)
        pre = self.pre_acts(x_ND.to(self.W_dec.device, torch.float32))
        q = 1.0 - self.cfg.k / self.cfg.d_sae
        theta = torch.quantile(pre, q, dim=0).clamp_min(1e-3)
        self.log_threshold.copy_(theta.log())

    def penalty(
        self, pre_BF: torch.Tensor, f_BF: torch.Tensor, *, progress: float, metrics: dict[str, float]
    ) -> torch.Tensor:
        l0 = _Step.apply(pre_BF, self.threshold, self.cfg.jumprelu_bandwidth).sum(-1).mean()
        return self.cfg.l0_coeff * (l0 / self.cfg.k - 1.0).pow(2)

    def folded_state(self) -> dict[str, torch.Tensor]:
        state = super().folded_state()
        state["threshold"] = self.threshold.detach().clone()
        return state
