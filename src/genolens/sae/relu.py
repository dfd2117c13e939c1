"""ReLU SAE with an L1 penalty weighted by decoder norms (Anthropic, April 2024 update).

The decoder is left free; the penalty ``sum_i f_i * ||W_dec[i]||`` makes
shrinking a decoder row and growing its activation pointless, which is what
unit-norm constraints achieve for the other architectures. The coefficient
ramps up linearly over the first ``l1_warmup_fraction`` of training.
"""

from __future__ import annotations

import torch

from genolens.sae.base import SparseAutoencoder
from genolens.sae.config import ReLUConfig


class ReLUSAE(SparseAutoencoder):
    architecture = "relu"
    config_class = ReLUConfig
    unit_norm_decoder = False
    sparse_inference = False  # an L1 penalty leaves many small activations: the dense product is faster

    def __init__(self, cfg) -> None:  # noqa: ANN001
        super().__init__(cfg)
        with torch.no_grad():  # Anthropic's heuristic: start decoder rows small (norm 0.1)
            self.W_dec.mul_(0.1)
            self.W_enc.copy_(self.W_dec.T)

    def activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        return torch.relu(pre_BF)

    def penalty(
        self, pre_BF: torch.Tensor, f_BF: torch.Tensor, *, progress: float, metrics: dict[str, float]
    ) -> torch.Tensor:
        warm = self.cfg.l1_warmup_fraction
        coeff = self.cfg.l1_coeff * (min(1.0, progress / warm) if warm > 0 else 1.0)
        l1 = (f_BF * self.W_dec.norm(dim=1)).sum(-1).mean()
        metrics["l1"] = float(l1.detach())
        return coeff * l1
