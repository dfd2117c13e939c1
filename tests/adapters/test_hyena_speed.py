"""HyenaDNA's fast paths: cached filter spectra (bit-identical to recomputing them, never stale), the short
convolution as multiply-adds (equal to the Conv1d)."""

from __future__ import annotations

import pytest
import torch

from genolens.adapters.hyena import HyenaConfig, HyenaDNA, HyenaOperator

CFG = HyenaConfig(d_model=32, d_inner=64, n_layer=2, max_seq_len=300, filter_order=16)


def _model(seed: int = 0) -> HyenaDNA:
    torch.manual_seed(seed)
    return HyenaDNA(CFG).eval()


def _ids(length: int, batch: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randint(7, 12, (batch, length), generator=torch.Generator().manual_seed(seed))


def _states(model: HyenaDNA, ids: torch.Tensor, *, cached: bool) -> tuple[torch.Tensor, ...]:
    for layer in model.backbone.layers:
        if not cached:
            layer.mixer.filter_cache = None
        elif layer.mixer.filter_cache is None:
            raise AssertionError("cache expected")
    with torch.inference_mode():
        return model(ids, output_hidden_states=True)[1]


def _cached_lengths(model: HyenaDNA) -> list[list[int]]:
    return [list(layer.mixer.filter_cache._spectra) for layer in model.backbone.layers]


def test_cached_outputs_are_bit_identical_to_recomputed_ones():
    ids_a, ids_b = _ids(157), _ids(64, batch=2, seed=2)
    reference = _model()
    expected = [_states(reference, ids, cached=False) for ids in (ids_a, ids_b)]
    model = _model()
    for _ in range(2):  # the second pass reads every spectrum from the cache
        for ids, want in zip((ids_a, ids_b), expected, strict=True):
            got = _states(model, ids, cached=True)
            assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
    assert _cached_lengths(model) == [[157, 64], [157, 64]]


def test_cache_is_dropped_when_weights_change():
    model, other = _model(0), _model(1)
    ids = _ids(120)
    before = _states(model, ids, cached=True)
    model.load_state_dict(other.state_dict())
    after = _states(model, ids, cached=True)
    assert all(torch.equal(a, b) for a, b in zip(after, _states(other, ids, cached=False), strict=True))
    assert not torch.equal(before[2], after[2])


def test_cache_is_dropped_after_an_optimiser_step():
    model = _model()
    ids = _ids(90)
    _states(model, ids, cached=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    _, states = model(ids, output_hidden_states=True)  # with gradients: the cache is bypassed
    states[-1].pow(2).mean().backward()
    opt.step()
    model.eval()
    got = _states(model, ids, cached=True)
    fresh = HyenaDNA(CFG).eval()
    fresh.load_state_dict(model.state_dict())
    want = _states(fresh, ids, cached=False)
    assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))


def test_training_gets_filter_gradients_and_no_cache_entries():
    model = _model().train()
    _, states = model(_ids(50), output_hidden_states=True)
    states[-1].sum().backward()
    first = model.backbone.layers[0].mixer.filter_fn.implicit_filter[0].weight
    assert first.grad is not None and first.grad.abs().max() > 0
    assert _cached_lengths(model) == [[], []]


def test_cache_holds_a_bounded_number_of_lengths():
    model = _model()
    for length in range(20, 20 + 12):
        _states(model, _ids(length, batch=1), cached=True)
    cache = model.backbone.layers[0].mixer.filter_cache
    assert list(cache._spectra) == list(range(20 + 12 - cache.max_lengths, 20 + 12))


@pytest.mark.parametrize("kernel", [3, 4])
@pytest.mark.parametrize("length", [1, 37, 300])
def test_short_conv_equals_the_conv1d(kernel, length):
    torch.manual_seed(kernel)
    op = HyenaOperator(HyenaConfig(d_model=16, short_filter_order=kernel, max_seq_len=300))
    u = torch.randn(2, 3 * 16, length)
    with torch.no_grad():
        torch.testing.assert_close(op.short_conv(u, length), op.short_filter(u)[..., :length], rtol=1e-6, atol=1e-6)
