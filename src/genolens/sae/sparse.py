"""Sparse codes and the two products that touch only active latents: decoding and the encoder's backward.

With ``k`` of ``d_sae`` latents active, a dense decoder multiplies ``d_sae``
decoder rows per token where ``k`` matter, and so do the gradients of the
decoder and (through the top-k selection) of the encoder. Here a batch's
active latents are held in CSR layout (:class:`SparseCodes`) and

* the reconstruction ``sum_j v_j W_dec[j]`` is an ``embedding_bag`` (forward);
* the gradient of the values is a sampled product ``(grad @ W_dec.T)`` at the
  active entries only (``torch.sparse.sampled_addmm``);
* the gradients of ``W_dec`` and ``W_enc`` are ``embedding_bag`` sums over the
  entries of each latent (the codes sorted by latent).

Only the encoder's forward stays dense (every pre-activation is needed to
choose the active latents). The dense products of :class:`SparseAutoencoder`
remain the reference: ``tests/sae/test_sparse.py`` requires equal losses and
gradients (1e-5). The same idea as EleutherAI's ``sparsify`` (fused encoder with
an ``index_add`` weight gradient, ``embedding_bag`` decoder); on the CPU the
``embedding_bag`` weight gradient and ``sampled_addmm`` measured fastest.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import torch
import torch.nn.functional as F


class _Layout:
    """Index structures of one sparsity pattern, computed once and shared by codes with that pattern."""

    def __init__(self, crow: torch.Tensor, col: torch.Tensor, d_sae: int) -> None:
        self.crow, self.col, self.d_sae = crow, col, d_sae

    @cached_property
    def rows(self) -> torch.Tensor:
        counts = self.crow.diff()
        return torch.repeat_interleave(torch.arange(counts.numel(), device=self.col.device), counts)

    @cached_property
    def by_latent(self) -> tuple[torch.Tensor, torch.Tensor]:
        order = torch.argsort(self.col, stable=True)
        offsets = torch.zeros(self.d_sae, dtype=torch.long, device=self.col.device)
        offsets[1:] = torch.bincount(self.col, minlength=self.d_sae).cumsum(0)[:-1]
        return order, offsets


@dataclass(frozen=True)
class SparseCodes:
    """The active latents of a batch in CSR layout, entries in row-major order.

    Row ``b``'s entries are ``crow[b]:crow[b + 1]`` of ``col`` (latent index)
    and ``val`` (activation; may carry autograd history).
    """

    crow: torch.Tensor
    col: torch.Tensor
    val: torch.Tensor
    d_sae: int
    layout: _Layout | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.layout is None:
            object.__setattr__(self, "layout", _Layout(self.crow, self.col, self.d_sae))

    @property
    def batch(self) -> int:
        return self.crow.numel() - 1

    @property
    def rows(self) -> torch.Tensor:
        """Row of each entry, ``[n]``."""
        return self.layout.rows

    @property
    def by_latent(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(order, offsets)``: entries sorted by latent (stable) and where each latent's run starts."""
        return self.layout.by_latent

    def with_values(self, val: torch.Tensor) -> SparseCodes:
        """The same pattern with other values (the index structures are shared)."""
        return SparseCodes(self.crow, self.col, val, self.d_sae, self.layout)

    def select(self, keep: torch.Tensor) -> SparseCodes:
        """The entries where ``keep`` [n] is true (row-major order kept)."""
        counts = torch.bincount(self.rows[keep], minlength=self.batch)
        crow = torch.zeros(self.batch + 1, dtype=torch.long, device=self.col.device)
        crow[1:] = counts.cumsum(0)
        return SparseCodes(crow, self.col[keep], self.val[keep], self.d_sae)

    def fired(self) -> torch.Tensor:
        """``[d_sae]`` bool: latents with a positive activation somewhere in the batch."""
        out = torch.zeros(self.d_sae, dtype=torch.bool, device=self.col.device)
        out[self.col[self.val.detach() > 0]] = True
        return out

    def l0(self) -> float:
        """Mean number of positive activations per row."""
        return float((self.val.detach() > 0).sum()) / max(self.batch, 1)

    def to_dense(self) -> torch.Tensor:
        """``[batch, d_sae]`` dense activations (differentiable in ``val``)."""
        flat = self.rows * self.d_sae + self.col
        out = self.val.new_zeros(self.batch * self.d_sae)
        return out.index_put((flat,), self.val, accumulate=True).view(self.batch, self.d_sae)


def codes_from_topk(vals_BK: torch.Tensor, idx_BK: torch.Tensor, d_sae: int) -> SparseCodes:
    """Codes of exactly ``k`` entries per row (``topk`` output)."""
    b, k = idx_BK.shape
    crow = torch.arange(0, b * k + 1, k, device=idx_BK.device)
    return SparseCodes(crow, idx_BK.reshape(-1), vals_BK.reshape(-1), d_sae)


def codes_from_flat(flat_idx: torch.Tensor, vals: torch.Tensor, batch: int, d_sae: int) -> SparseCodes:
    """Codes from indices into a flattened ``[batch, d_sae]`` tensor (any order)."""
    order = torch.argsort(flat_idx)
    flat_idx = flat_idx[order]
    rows = torch.div(flat_idx, d_sae, rounding_mode="floor")
    crow = torch.zeros(batch + 1, dtype=torch.long, device=flat_idx.device)
    crow[1:] = torch.bincount(rows, minlength=batch).cumsum(0)
    return SparseCodes(crow, flat_idx - rows * d_sae, vals[order], d_sae)


def codes_from_dense(f_BF: torch.Tensor) -> SparseCodes:
    """Codes of the nonzero entries of a dense ``[batch, d_sae]`` tensor."""
    b, d_sae = f_BF.shape
    rows, cols = f_BF.nonzero(as_tuple=True)
    crow = torch.zeros(b + 1, dtype=torch.long, device=f_BF.device)
    crow[1:] = torch.bincount(rows, minlength=b).cumsum(0)
    codes = SparseCodes(crow, cols, f_BF[rows, cols], d_sae)
    codes.layout.__dict__["rows"] = rows
    return codes


def _sum_by_latent(codes: SparseCodes, weights: torch.Tensor, rows_table: torch.Tensor) -> torch.Tensor:
    """``out[j] = sum over entries e of latent j: weights[e] * rows_table[row(e)]``, as ``[d_sae, d]``."""
    order, offsets = codes.by_latent
    weights = weights[order].to(rows_table.dtype)
    return F.embedding_bag(codes.rows[order], rows_table, offsets, per_sample_weights=weights, mode="sum")


def _sampled_dot(codes: SparseCodes, left_BD: torch.Tensor, right_FD: torch.Tensor) -> torch.Tensor:
    """``left[row(e)] . right[col(e)]`` for every entry ``e``, without forming ``left @ right.T``."""
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        pattern = torch.sparse_csr_tensor(codes.crow, codes.col, left_BD.new_zeros(codes.col.numel()),
                                          size=(codes.batch, codes.d_sae), check_invariants=False)
        return torch.sparse.sampled_addmm(pattern, left_BD, right_FD.T, beta=0.0).values()


class _Decode(torch.autograd.Function):
    @staticmethod
    def forward(ctx, val, w_dec, codes):  # noqa: ANN001, ANN205
        ctx.codes = codes
        ctx.save_for_backward(val, w_dec)
        return F.embedding_bag(codes.col, w_dec, codes.crow[:-1], per_sample_weights=val.to(w_dec.dtype), mode="sum")

    @staticmethod
    def backward(ctx, grad_BD):  # noqa: ANN001, ANN205
        val, w_dec = ctx.saved_tensors
        codes = ctx.codes
        grad_BD = grad_BD.contiguous()
        grad_val = _sampled_dot(codes, grad_BD, w_dec) if ctx.needs_input_grad[0] else None
        grad_w = _sum_by_latent(codes, val, grad_BD) if ctx.needs_input_grad[1] else None
        return grad_val, grad_w, None


def sparse_decode(codes: SparseCodes, w_dec_FD: torch.Tensor) -> torch.Tensor:
    """``[batch, d_in]``: ``sum_j val_j * W_dec[j]`` over each row's entries (no bias).

    Parameters
    ----------
    codes
        The active latents; gradients flow to ``codes.val``.
    w_dec_FD
        The decoder ``[d_sae, d_in]``.

    Returns
    -------
    torch.Tensor
        Equal to ``codes.to_dense() @ w_dec_FD``; its backward touches only the active rows.
    """
    return _Decode.apply(codes.val, w_dec_FD, codes)


class _EncodeAt(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_in, w_enc, b_enc, b_dec, pre_val, codes):  # noqa: ANN001, ANN205
        ctx.codes = codes
        ctx.save_for_backward(x_in, w_enc)
        return pre_val.clone()

    @staticmethod
    def backward(ctx, grad_val):  # noqa: ANN001, ANN205
        x_in, w_enc = ctx.saved_tensors
        codes = ctx.codes
        per_latent = torch.zeros(codes.d_sae, dtype=grad_val.dtype, device=grad_val.device)
        per_latent.index_add_(0, codes.col, grad_val)
        grad_w = _sum_by_latent(codes, grad_val, x_in).T if ctx.needs_input_grad[1] else None
        grad_b_dec = -(w_enc @ per_latent) if ctx.needs_input_grad[3] else None
        return None, grad_w, per_latent, grad_b_dec, None, None


def encode_at(
    codes: SparseCodes,
    *,
    x_in: torch.Tensor,
    w_enc: torch.Tensor,
    b_enc: torch.Tensor,
    b_dec: torch.Tensor,
) -> torch.Tensor:
    """Pre-activations at the entries of ``codes`` with a backward that touches only those latents.

    ``codes.val`` must hold ``((x_in) @ W_enc + b_enc)`` at the entries, computed
    without autograd from ``x_in = x - b_dec``; the result has those values and
    the gradients of the dense expression with respect to ``W_enc``, ``b_enc``
    and ``b_dec`` (``x_in`` itself is data).

    Parameters
    ----------
    codes
        Entries and their (detached) pre-activations.
    x_in, w_enc, b_enc, b_dec
        The encoder's input ``[batch, d_in]`` (bias already subtracted) and parameters.

    Returns
    -------
    torch.Tensor
        ``[n]`` pre-activations carrying gradients to the parameters.
    """
    return _EncodeAt.apply(x_in.detach(), w_enc, b_enc, b_dec, codes.val.detach(), codes)
