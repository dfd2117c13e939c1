"""TopK SAE (Gao et al. 2024): exactly ``k`` latents per token, auxiliary-k loss for dead latents."""

from __future__ import annotations

import torch

from genolens.sae.base import SparseAutoencoder, aux_k_loss
from genolens.sae.config import TopKConfig
from genolens.sae.sparse import SparseCodes, codes_from_topk


class TopKSAE(SparseAutoencoder):
    architecture = "topk"
    config_class = TopKConfig
    sparse_training = False  # sparse path ready and tested; off until the notebook demo agrees (see README)

    def activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        vals, idx = pre_BF.topk(self.cfg.k, dim=-1)
        return torch.zeros_like(pre_BF).scatter(-1, idx, torch.relu(vals))

    def train_select(self, pre_BF: torch.Tensor) -> SparseCodes:
        vals, idx = pre_BF.topk(self.cfg.k, dim=-1, sorted=False)
        return codes_from_topk(vals, idx, self.cfg.d_sae)

    def aux_loss(
        self, pre_BF: torch.Tensor, err_BD: torch.Tensor, *, x_in: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        return aux_k_loss(self, pre_BF, err_BD, x_in=x_in)
