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

Architectures whose codes are sparse by construction (TopK, BatchTopK,
Matryoshka) can train through :mod:`genolens.sae.sparse` (``sparse_training``;
off by default until the notebook demo's discrepancy is understood): only the
encoder's forward is a dense product, the decoder and every gradient touch the
active latents alone. ``training_step(..., dense=True)`` runs the dense
reference path, which gives the same loss and gradients. Inference decodes
sparsely for every architecture but ReLU (``sparse_inference``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genolens.sae.config import SAEConfig
from genolens.sae.sparse import SparseCodes, codes_from_dense, codes_from_topk, encode_at, sparse_decode


@dataclass
class StepOutput:
    """What one training forward pass returns: the loss, which latents fired, scalar metrics."""

    loss: torch.Tensor
    fired: torch.Tensor
    metrics: dict[str, float]


class SparseAutoencoder(nn.Module):
    """Base class; subclasses define :meth:`activate` and may add a penalty.

    Build one with :func:`genolens.sae.build_sae` (the architecture's class from its config), or load a
    trained one with :func:`genolens.sae.load`.

    Parameters
    ----------
    cfg
        Architecture, sizes and loss settings; the weights are initialised from ``cfg.seed``.
    """

    architecture: str = ""
    #: the architecture's settings (a subclass of :class:`SAEConfig` beside its module)
    config_class: type[SAEConfig] = SAEConfig
    unit_norm_decoder: bool = True
    sparse_training: bool = False
    sparse_inference: bool = True

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__()
        if type(cfg) is not self.config_class or cfg.architecture != self.architecture:
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(cfg).__name__}"
                            f" for {cfg.architecture!r}")
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
        """Optimiser parameter groups; ``lr_scale`` multiplies the scheduled learning rate.

        Parameters
        ----------
        lr
            The base learning rate.

        Returns
        -------
        list of dict
            Adam parameter groups with ``params``, ``lr`` and ``lr_scale``.
        """
        return [{"params": list(self.parameters()), "lr": lr, "lr_scale": 1.0}]

    # -- inference -------------------------------------------------------------------------------
    def pre_acts(self, x_BD: torch.Tensor) -> torch.Tensor:
        """Encoder pre-activations of raw inputs.

        Parameters
        ----------
        x_BD
            Raw activations ``[..., d_in]``.

        Returns
        -------
        torch.Tensor
            ``[..., d_sae]`` pre-activations (before the architecture's activation rule).
        """
        return (x_BD * self.input_scale - self.b_dec) @ self.W_enc + self.b_enc

    def activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        """The architecture's inference activation rule (TopK, threshold, ReLU); subclasses define it.

        Parameters
        ----------
        pre_BF
            Encoder pre-activations ``[..., d_sae]``.

        Returns
        -------
        torch.Tensor
            Sparse feature activations, same shape.
        """
        raise NotImplementedError

    def encode(self, x_BD: torch.Tensor) -> torch.Tensor:
        """Sparse feature activations ``[..., d_sae]`` of raw inputs ``[..., d_in]``.

        Parameters
        ----------
        x_BD
            Raw activations ``[..., d_in]`` (as the store holds them).

        Returns
        -------
        torch.Tensor
            ``[..., d_sae]``, zero where a feature is inactive.
        """
        return self.activate(self.pre_acts(x_BD))

    def decode(self, f_BF: torch.Tensor) -> torch.Tensor:
        """Reconstruction in the raw input space.

        Parameters
        ----------
        f_BF
            Feature activations ``[..., d_sae]``.

        Returns
        -------
        torch.Tensor
            ``[..., d_in]``.
        """
        return (f_BF @ self.W_dec + self.b_dec) / self.input_scale

    def decode_codes(self, codes: SparseCodes) -> torch.Tensor:
        """Reconstruction in the raw input space from sparse codes (same as :meth:`decode` of the dense codes).

        Parameters
        ----------
        codes
            The active entries of ``[rows, d_sae]`` codes.

        Returns
        -------
        torch.Tensor
            ``[rows, d_in]``.
        """
        return (sparse_decode(codes, self.W_dec) + self.b_dec) / self.input_scale

    def forward(self, x_BD: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode and decode raw inputs (sparsely for ``[rows, d_sae]`` codes where the architecture can).

        Parameters
        ----------
        x_BD
            Raw activations ``[..., d_in]``.

        Returns
        -------
        tuple of torch.Tensor
            The reconstruction ``[..., d_in]`` and the feature activations ``[..., d_sae]``.
        """
        f_BF = self.encode(x_BD)
        if self.sparse_inference and f_BF.dim() == 2:
            return self.decode_codes(codes_from_dense(f_BF)), f_BF
        return self.decode(f_BF), f_BF

    # -- initialisation --------------------------------------------------------------------------
    @torch.no_grad()
    def init_from_data(self, x_ND: torch.Tensor) -> None:
        """Set the input scale and decoder bias from a sample of activations (before training).

        Parameters
        ----------
        x_ND
            ``[rows, d_in]`` raw activations.
        """
        x_ND = x_ND.to(self.W_dec.device, torch.float32)
        mean_sq = x_ND.pow(2).sum(-1).mean().clamp_min(1e-12)
        self.input_scale.fill_(float(torch.sqrt(self.cfg.d_in / mean_sq)))
        xs = x_ND * self.input_scale
        if self.cfg.b_dec_init == "mean":
            self.b_dec.copy_(xs.mean(0))
        elif self.cfg.b_dec_init == "geometric_median":
            self.b_dec.copy_(geometric_median(xs))

    def calibrate(self, batches_BD: list[torch.Tensor]) -> None:
        """Post-training estimates from data with the final weights (BatchTopK's threshold).

        Parameters
        ----------
        batches_BD
            Batches of raw activations ``[batch, d_in]``.
        """

    # -- training --------------------------------------------------------------------------------
    def training_step(self, x_BD: torch.Tensor, *, progress: float, dense: bool = False) -> StepOutput:
        """Loss on a batch in the scaled space; ``progress`` is the fraction of training done.

        Parameters
        ----------
        x_BD
            Raw activations ``[batch, d_in]``.
        progress
            Fraction of training done (penalty warm-ups).
        dense
            Use the dense products even where the architecture trains sparsely (the reference path).

        Returns
        -------
        StepOutput
            The loss (to back-propagate), the latents that fired and scalar metrics.
        """
        if self.sparse_training and not dense:
            return self._sparse_step(x_BD)
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
        return StepOutput(loss, (f_BF.detach() > 0).any(0), metrics)

    def _sparse_step(self, x_BD: torch.Tensor) -> StepOutput:
        """:meth:`training_step` through sparse codes: same loss and gradients, products over active latents."""
        xs_BD = x_BD * self.input_scale
        with torch.no_grad():  # the one dense product; its backward is encode_at's
            x_in = xs_BD - self.b_dec
            pre_BF = torch.addmm(self.b_enc, x_in, self.W_enc)  # the bias added inside the product
        chosen = self.train_select(pre_BF)
        pre_val = encode_at(chosen, x_in=x_in, w_enc=self.W_enc, b_enc=self.b_enc, b_dec=self.b_dec)
        codes = chosen.with_values(torch.relu(pre_val))
        err_BD = sparse_decode(codes, self.W_dec) + self.b_dec - xs_BD
        mse = err_BD.pow(2).sum(-1).mean()
        loss = self.sparse_reconstruction_loss(codes, xs_BD, mse)
        metrics = {"mse": float(mse.detach())}
        aux = self.aux_loss(pre_BF, err_BD, x_in=x_in)
        if aux is not None:
            loss = loss + aux
            metrics["aux"] = float(aux.detach())
        metrics["l0"] = codes.l0()
        metrics["loss"] = float(loss.detach())
        return StepOutput(loss, codes.fired(), metrics)

    def train_select(self, pre_BF: torch.Tensor) -> SparseCodes:
        """The entries active in training, holding their (detached) pre-activations (sparse architectures).

        Parameters
        ----------
        pre_BF
            Detached encoder pre-activations ``[batch, d_sae]`` in the scaled space.

        Returns
        -------
        SparseCodes
            The chosen entries and their pre-activations.
        """
        raise NotImplementedError

    def sparse_reconstruction_loss(self, codes: SparseCodes, xs_BD: torch.Tensor, mse: torch.Tensor) -> torch.Tensor:
        """:meth:`reconstruction_loss` from sparse codes.

        Parameters
        ----------
        codes
            The batch's sparse codes.
        xs_BD
            Scaled inputs ``[batch, d_in]``.
        mse
            The batch's mean squared error (summed over ``d_in``).

        Returns
        -------
        torch.Tensor
            The loss (Matryoshka adds its prefix losses; the base returns ``mse``).
        """
        return mse

    def train_activate(self, pre_BF: torch.Tensor) -> torch.Tensor:
        """Activation used in training (BatchTopK differs from its inference rule).

        Parameters
        ----------
        pre_BF
            Encoder pre-activations ``[batch, d_sae]`` in the scaled space.

        Returns
        -------
        torch.Tensor
            Feature activations, same shape.
        """
        return self.activate(pre_BF)

    def reconstruction_loss(self, f_BF: torch.Tensor, xs_BD: torch.Tensor, mse: torch.Tensor) -> torch.Tensor:
        """The reconstruction term of the loss (Matryoshka adds its prefix losses to ``mse``).

        Parameters
        ----------
        f_BF
            Feature activations ``[batch, d_sae]``.
        xs_BD
            Scaled inputs ``[batch, d_in]``.
        mse
            The batch's mean squared error (summed over ``d_in``).

        Returns
        -------
        torch.Tensor
            The loss term.
        """
        return mse

    def penalty(
        self, pre_BF: torch.Tensor, f_BF: torch.Tensor, *, progress: float, metrics: dict[str, float]
    ) -> torch.Tensor | None:
        """The architecture's sparsity penalty (ReLU's L1, JumpReLU's L0), or None.

        Parameters
        ----------
        pre_BF
            Encoder pre-activations ``[batch, d_sae]``.
        f_BF
            Feature activations ``[batch, d_sae]``.
        progress
            Fraction of training done (penalty warm-up).
        metrics
            The step's metrics, to which the penalty may add its own.

        Returns
        -------
        torch.Tensor or None
            The penalty to add to the loss.
        """
        return None

    def aux_loss(
        self, pre_BF: torch.Tensor, err_BD: torch.Tensor, *, x_in: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """Auxiliary loss; ``x_in`` (the encoder input) is given on the sparse path, where ``pre_BF`` is detached.

        Parameters
        ----------
        pre_BF
            Encoder pre-activations ``[batch, d_sae]``.
        err_BD
            Reconstruction error ``[batch, d_in]`` in the scaled space.
        x_in
            Encoder input (scaled input minus decoder bias), on the sparse path.

        Returns
        -------
        torch.Tensor or None
            The loss to add (TopK family: auxiliary-k on dead latents), or None.
        """
        return None

    def dead_mask(self) -> torch.Tensor:
        """Which latents count as dead: not fired for ``cfg.dead_after_tokens`` tokens.

        Returns
        -------
        torch.Tensor
            ``[d_sae]`` booleans.
        """
        return self.tokens_since_fired >= self.cfg.dead_after_tokens

    @torch.no_grad()
    def record_firing(self, fired_F: torch.Tensor, *, tokens: int) -> None:
        """Count ``tokens`` more since each latent fired; reset the latents in ``fired_F`` [d_sae] bool.

        Parameters
        ----------
        fired_F
            ``[d_sae]`` booleans: the latents that fired in the step.
        tokens
            Tokens in the step.
        """
        self.tokens_since_fired += tokens
        self.tokens_since_fired[fired_F] = 0

    @torch.no_grad()
    def after_step(self, fired_F: torch.Tensor, *, tokens: int) -> None:
        """Bookkeeping after the optimiser step: decoder norms, firing counters.

        Parameters
        ----------
        fired_F
            ``[d_sae]`` booleans: the latents that fired in the step.
        tokens
            Tokens in the step.
        """
        if self.unit_norm_decoder:
            self.W_dec.div_(self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8))
        self.record_firing(fired_F, tokens=tokens)

    @torch.no_grad()
    def before_step(self) -> None:
        """Remove the gradient component that would change decoder norms (unit-norm SAEs)."""
        if self.unit_norm_decoder and self.W_dec.grad is not None:
            w = self.W_dec / self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)
            self.W_dec.grad -= (self.W_dec.grad * w).sum(1, keepdim=True) * w

    # -- saving ----------------------------------------------------------------------------------
    def folded_state(self) -> dict[str, torch.Tensor]:
        """Weights for raw (unscaled) inputs, input scale folded in (SAELens layout).

        Returns
        -------
        dict of str to torch.Tensor
            ``W_enc``, ``W_dec``, ``b_enc``, ``b_dec`` (subclasses add ``threshold``).
        """
        s = float(self.input_scale)
        return {
            "W_enc": (self.W_enc * s).detach().contiguous(),
            "W_dec": (self.W_dec / s).detach().contiguous(),
            "b_enc": self.b_enc.detach().clone(),
            "b_dec": (self.b_dec / s).detach().contiguous(),
        }


def aux_k_loss(
    sae: SparseAutoencoder, pre_BF: torch.Tensor, err_BD: torch.Tensor, *, x_in: torch.Tensor | None = None
) -> torch.Tensor | None:
    """Auxiliary-k loss (Gao et al. 2024): dead latents learn to predict the residual error.

    With ``x_in`` (the sparse path: ``pre_BF`` detached) the dead latents' values and
    the decoding go through :mod:`genolens.sae.sparse`; the result is the same.
    """
    dead = sae.dead_mask()
    n_dead = int(dead.sum())
    if n_dead == 0:
        return None
    k_aux = min(sae.cfg.aux_k, n_dead)
    masked = torch.where(dead, torch.relu(pre_BF), torch.zeros_like(pre_BF))
    vals, idx = masked.topk(k_aux, dim=-1)
    if x_in is None:
        f_aux = torch.zeros_like(pre_BF).scatter(-1, idx, vals)
        recon_aux = f_aux @ sae.W_dec
    else:
        chosen = codes_from_topk(pre_BF.gather(-1, idx), idx, sae.cfg.d_sae)
        pre_val = encode_at(chosen, x_in=x_in, w_enc=sae.W_enc, b_enc=sae.b_enc, b_dec=sae.b_dec)
        # as the dense path: a live latent picked by topk (all dead ones <= 0) contributes 0
        val = torch.relu(pre_val) * dead[chosen.col].to(pre_val.dtype)
        recon_aux = sparse_decode(chosen.with_values(val), sae.W_dec)
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
