"""Matryoshka BatchTopK SAE (Bussmann et al. 2025; Nabeshima 2024): nested dictionaries.

The latents are ordered into nested prefixes (``cfg.prefixes``, e.g. 1/16,
1/4 and all of the dictionary); the loss is the mean of the reconstruction
errors using each prefix alone, so the first latents learn general features
that reconstruct well on their own and later ones refine them.
"""

from __future__ import annotations

import torch

from genolens.sae.batchtopk import BatchTopKSAE
from genolens.sae.config import MatryoshkaConfig
from genolens.sae.sparse import SparseCodes, sparse_decode


class MatryoshkaSAE(BatchTopKSAE):
    architecture = "matryoshka"
    config_class = MatryoshkaConfig

    def reconstruction_loss(self, f_BF: torch.Tensor, xs_BD: torch.Tensor, mse: torch.Tensor) -> torch.Tensor:
        losses = []
        recon = self.b_dec.expand_as(xs_BD)
        start = 0
        for end in self.cfg.prefixes:
            recon = recon + f_BF[:, start:end] @ self.W_dec[start:end]
            losses.append((recon - xs_BD).pow(2).sum(-1).mean())
            start = end
        return torch.stack(losses).mean()

    def sparse_reconstruction_loss(self, codes: SparseCodes, xs_BD: torch.Tensor, mse: torch.Tensor) -> torch.Tensor:
        losses = []
        recon = self.b_dec.expand_as(xs_BD)
        start = 0
        for end in self.cfg.prefixes:
            part = codes.select((codes.col >= start) & (codes.col < end))
            recon = recon + sparse_decode(part, self.W_dec)
            losses.append((recon - xs_BD).pow(2).sum(-1).mean())
            start = end
        return torch.stack(losses).mean()
