"""Sparse decoding equals the dense reference: same loss, same gradients, same reconstructions."""

from __future__ import annotations

import pytest
import torch

from genolens.sae.config import make_config, options
from genolens.sae.registry import build_sae
from genolens.sae.sparse import codes_from_dense, codes_from_flat, codes_from_topk, sparse_decode

D, F, K, B = 48, 384, 6, 96


def _trained_like(arch: str, *, dead: bool) -> torch.nn.Module:
    """An SAE with perturbed (not initial) weights and, optionally, a quarter of its latents dead."""
    own = options(arch)
    extra = {key: value for key, value in (("k", K), ("aux_k", 20)) if key in own}
    sae = build_sae(make_config(arch, d_in=D, d_sae=F, dead_after_tokens=1000, seed=3, **extra))
    g = torch.Generator().manual_seed(7)
    x = torch.randn(512, D, generator=g) * 3 + 1
    sae.init_from_data(x)
    with torch.no_grad():
        for p in (sae.W_enc, sae.W_dec, sae.b_enc, sae.b_dec):
            p.add_(0.05 * torch.randn(p.shape, generator=g))
        if dead:
            sae.tokens_since_fired[::4] = 5000
    return sae


def _loss_and_grads(sae, x, *, dense: bool):
    sae.zero_grad(set_to_none=True)
    out = sae.training_step(x, progress=0.5, dense=dense)
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in sae.named_parameters()}
    return out, grads


@pytest.mark.parametrize("arch", ["topk", "batchtopk", "matryoshka"])
@pytest.mark.parametrize("dead", [False, True])
def test_sparse_step_has_the_dense_loss_and_gradients(arch, dead):
    sae = _trained_like(arch, dead=dead)
    sae.sparse_training = True
    x = torch.randn(B, D, generator=torch.Generator().manual_seed(11)) * 3 + 1
    ref, ref_grads = _loss_and_grads(sae, x, dense=True)
    got, got_grads = _loss_and_grads(sae, x, dense=False)
    assert ("aux" in got.metrics) == dead == ("aux" in ref.metrics)
    torch.testing.assert_close(got.loss, ref.loss, rtol=1e-5, atol=1e-5)
    for key in ("mse", "l0", "loss"):
        assert got.metrics[key] == pytest.approx(ref.metrics[key], rel=1e-5, abs=1e-5), key
    assert torch.equal(got.fired, ref.fired)
    for name, g in ref_grads.items():
        assert g.abs().max() > 0, name  # every parameter receives a gradient
        torch.testing.assert_close(got_grads[name], g, rtol=1e-5, atol=1e-5, msg=name)


def test_batchtopk_threshold_moves_the_same_on_both_paths():
    a, b = _trained_like("batchtopk", dead=False), _trained_like("batchtopk", dead=False)
    b.sparse_training = True
    x = torch.randn(B, D, generator=torch.Generator().manual_seed(5))
    for _ in range(3):  # from the second step on, the selection is narrowed by the threshold
        ref = a.training_step(x, progress=0.1, dense=True)
        got = b.training_step(x, progress=0.1)
        torch.testing.assert_close(got.loss, ref.loss, rtol=1e-5, atol=1e-5)
    assert float(a.threshold) > 0
    torch.testing.assert_close(a.threshold, b.threshold)


@pytest.mark.parametrize("threshold", [-1.0, 0.0, 0.5, 1.5, 50.0])
def test_batchtopk_selection_is_the_exact_top_of_the_batch(threshold):
    """With or without a running threshold to narrow the search (too high: the whole batch is searched)."""
    sae = _trained_like("batchtopk", dead=False)
    sae.threshold.fill_(threshold)
    pre = torch.randn(B, F, generator=torch.Generator().manual_seed(9))
    n_keep = K * B
    got = sae._select(pre.flatten(), n_keep)
    want = torch.relu(pre).flatten().topk(n_keep).indices
    assert torch.equal(got.sort().values, want.sort().values)


@pytest.mark.parametrize("arch", ["topk", "batchtopk", "jumprelu", "relu"])
def test_inference_reconstruction_equals_dense_decode(arch):
    sae = _trained_like(arch, dead=False).eval()
    x = torch.randn(B, D, generator=torch.Generator().manual_seed(2))
    recon, f = sae(x)
    torch.testing.assert_close(recon, sae.decode(f), rtol=1e-5, atol=1e-5)


def test_codes_constructors_round_trip_to_dense():
    g = torch.Generator().manual_seed(0)
    pre = torch.randn(B, F, generator=g)
    vals, idx = pre.topk(K, dim=-1)
    dense = torch.zeros_like(pre).scatter(-1, idx, vals)
    assert torch.equal(codes_from_topk(vals, idx, F).to_dense(), dense)
    assert torch.equal(codes_from_dense(dense).to_dense(), dense)
    flat_vals, flat_idx = pre.flatten().topk(K * B)
    shuffled = torch.randperm(flat_idx.numel(), generator=g)
    codes = codes_from_flat(flat_idx[shuffled], flat_vals[shuffled], B, F)
    assert torch.equal(codes.to_dense(), torch.zeros(B * F).scatter(0, flat_idx, flat_vals).view(B, F))
    assert torch.equal(codes.rows, torch.div(codes.rows * F + codes.col, F, rounding_mode="floor"))
    assert (codes.crow.diff() >= 0).all() and int(codes.crow[-1]) == K * B


def test_empty_rows_and_unused_latents_decode_to_zero_with_gradients():
    w = torch.randn(F, D, requires_grad=True)
    dense = torch.zeros(4, F)
    dense[1, [3, F - 1]] = torch.tensor([2.0, -1.0])  # rows 0, 2 and 3 empty; most latents unused
    dense.requires_grad_(True)
    codes = codes_from_dense(dense.detach())
    val = codes.val.clone().requires_grad_(True)
    out = sparse_decode(codes.with_values(val), w)
    ref = dense @ w
    torch.testing.assert_close(out, ref)
    assert out[[0, 2, 3]].abs().max() == 0
    target = torch.randn(4, D)
    (out - target).pow(2).sum().backward()
    w_grad_sparse = w.grad.clone()
    w.grad = None
    (ref - target).pow(2).sum().backward()
    torch.testing.assert_close(w_grad_sparse, w.grad)
    torch.testing.assert_close(val.grad, dense.grad[1, [3, F - 1]])
