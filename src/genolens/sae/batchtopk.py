"""BatchTopK SAE (Bussmann et al. 2024): the top ``k * batch`` activations of a whole batch.

Training keeps the largest ``k × batch_size`` positive pre-activations across
the batch, so tokens may use more or fewer than ``k`` latents. At inference a
batch is not a meaningful unit, so the SAE becomes a JumpReLU with one global
threshold, estimated during training as an exponential moving average of the
smallest activation kept in each batch and, once training ends, re-estimated
with the final weights (:meth:`calibrate`: the mean over batches of that
smallest kept activation), since the moving average lags behind the weights.
"""

from __future__ import annotations

import torch

from genolens.sae.base import SparseAutoencoder, aux_k_loss
from genolens.sae.config import BatchTopKConfig
from genolens.sae.sparse import SparseCodes, codes_from_flat


class BatchTopKSAE(SparseAutoencoder):
    architecture = "batchtopk"
    config_class = BatchTopKConfig
    sparse_training = False  # sparse path ready and tested; off until the notebook demo agrees (see README)

    def __init__(self, cfg) -> None:  # noqa: ANN001
        super().__init__(cfg)
        self.register_buffer("threshold", torch.tensor(-1.0))  # < 0: not estimated yet

    def activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        if float(self.threshold) < 0:  # before any training step: fall back to per-token top-k
            vals, idx = pre_BF.topk(self.cfg.k, dim=-1)
            return torch.zeros_like(pre_BF).scatter(-1, idx, torch.relu(vals))
        return pre_BF * (pre_BF > self.threshold)

    def train_activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        vals, idx = self._batch_topk(pre_BF)
        return torch.zeros_like(pre_BF.flatten()).scatter(0, idx, vals).view_as(pre_BF)

    def train_select(self, pre_BF: torch.Tensor) -> SparseCodes:
        _, idx = self._batch_topk(pre_BF)
        return codes_from_flat(idx, pre_BF.flatten()[idx], pre_BF.shape[0], self.cfg.d_sae)

    def _batch_topk(self, pre_BF: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k * batch`` largest activations of the batch (values, flat indices); updates the threshold."""
        flat = pre_BF.flatten()
        idx = self._select(flat.detach(), min(self.cfg.k * pre_BF.shape[0], flat.numel()))
        vals = torch.relu(flat[idx])
        self._update_threshold(vals.detach())
        return vals, idx

    @torch.no_grad()
    def _select(self, flat: torch.Tensor, n_keep: int) -> torch.Tensor:
        """Flat indices of the ``n_keep`` largest ``relu(flat)``, exactly.

        A top-k over the whole batch (millions of entries) dominated a training step. Once
        the running threshold exists, only entries at or above 0.8 times it are candidates;
        when there are at least ``n_keep`` of them, the largest ``n_keep`` candidates are the
        largest of the batch (every other entry is smaller than every candidate). Otherwise
        the whole batch is searched, as before.
        """
        guess = 0.8 * float(self.threshold)
        if guess > 0:
            candidates = (flat >= guess).nonzero().squeeze(1)
            if candidates.numel() >= n_keep:
                return candidates[flat[candidates].topk(n_keep, sorted=False).indices]
        return torch.relu(flat).topk(n_keep, sorted=False).indices

    @torch.no_grad()
    def _update_threshold(self, kept: torch.Tensor) -> None:
        if not self.training:
            return
        positive = kept[kept > 0]
        if positive.numel() == 0:
            return
        smallest = positive.min()
        if float(self.threshold) < 0:
            self.threshold.copy_(smallest)
        else:
            m = self.cfg.threshold_momentum
            self.threshold.mul_(m).add_((1 - m) * smallest)

    @torch.no_grad()
    def calibrate(self, batches_BD: list[torch.Tensor]) -> None:
        """Set the inference threshold from the final weights: mean smallest kept activation per batch."""
        mins = []
        for x in batches_BD:
            acts = torch.relu(self.pre_acts(x)).flatten()
            kept = acts[self._select(acts, min(self.cfg.k * x.shape[0], acts.numel()))]
            kept = kept[kept > 0]
            if kept.numel():
                mins.append(kept.min())
        if mins:
            self.threshold.copy_(torch.stack(mins).mean())

    def aux_loss(
        self, pre_BF: torch.Tensor, err_BD: torch.Tensor, *, x_in: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        return aux_k_loss(self, pre_BF, err_BD, x_in=x_in)

    def folded_state(self) -> dict[str, torch.Tensor]:
        state = super().folded_state()
        # inference is a JumpReLU with one global threshold, expanded per latent as SAELens expects
        state["threshold"] = self.threshold.clamp_min(0).expand(self.cfg.d_sae).clone()
        return state
