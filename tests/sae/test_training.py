"""SAE training on planted dictionaries: recovery, every architecture, resume, determinism, stability."""

from __future__ import annotations

import json

import pytest
import torch
from planted import planted_dictionary

from genolens.sae.checkpoint import load_sae
from genolens.sae.config import TrainConfig, make_config, options
from genolens.sae.metrics import evaluate_sae, feature_stability, recovered_atoms
from genolens.sae.trainer import train_saes

D, ATOMS, K = 32, 128, 4


def _cfg(arch, **kw):
    k = {"k": K} if "k" in options(arch) else {}  # ReLU has no k: its sparsity comes from the L1 penalty
    return make_config(arch, d_in=D, d_sae=256, dead_after_tokens=40_000, **k, **kw)


def _train(batches, cfgs, out, steps=150, **kw):
    train = TrainConfig(total_tokens=2048 * steps, batch_size=2048, lr=3e-3, warmup_steps=10, init_tokens=8192, **kw)
    return train_saes(batches, cfgs, train, out, progress=False)


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    atoms, batches = planted_dictionary(d=D, n_atoms=ATOMS, k=K)
    out = tmp_path_factory.mktemp("planted")
    saes = _train(batches, [_cfg("topk"), _cfg("batchtopk")], out)
    return atoms, batches, out, saes


def test_topk_and_batchtopk_recover_planted_atoms(planted_run):
    atoms, batches, _, saes = planted_run
    for sae in saes:
        assert recovered_atoms(sae, atoms) >= 0.9, sae.cfg.name
        m = evaluate_sae(sae, batches(99))
        assert m.fve > 0.75 and m.l0 <= K + 1, (sae.cfg.name, m.to_dict())


def test_saved_checkpoint_reproduces_the_sae(planted_run):
    atoms, batches, out, saes = planted_run
    x = next(iter(batches(5)))
    for sae in saes:
        loaded = load_sae(out / sae.cfg.name)
        recon_a, f_a = sae.eval()(x)
        recon_b, f_b = loaded(x)
        torch.testing.assert_close(recon_b, recon_a, rtol=1e-4, atol=1e-4)
        assert torch.equal(f_a > 0, f_b > 0) or (f_a > 0).ne(f_b > 0).float().mean() < 1e-3
        cfg = json.loads((out / sae.cfg.name / "cfg.json").read_text())
        assert {"d_in", "d_sae", "architecture", "normalize_activations"} <= set(cfg)
        assert cfg["normalize_activations"] == "none" and float(loaded.input_scale) == 1.0


def test_metrics_log_is_written(planted_run):
    _, _, out, _ = planted_run
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert {x["sae"] for x in lines} == {"topk_w256_k4_s0", "batchtopk_w256_k4_s0"}
    assert {"loss", "mse", "l0", "dead_fraction", "lr"} <= set(lines[-1])
    assert lines[-1]["mse"] < lines[0]["mse"]


@pytest.mark.parametrize("arch", ["matryoshka", "relu", "jumprelu"])
def test_other_architectures_learn_sparse_codes(arch, tmp_path):
    atoms, batches = planted_dictionary(d=D, n_atoms=ATOMS, k=K, n_batches=10)
    extra = {"l1_coeff": 1.0} if arch == "relu" else {}
    (sae,) = _train(batches, [_cfg(arch, **extra)], tmp_path, steps=200)
    m = evaluate_sae(sae, batches(99))
    assert m.fve > 0.7, m.to_dict()
    assert m.l0 < 40, m.to_dict()  # sparse: far below d_sae = 256
    if arch == "jumprelu":
        assert abs(m.l0 - K) < 3, m.to_dict()  # the target-L0 penalty holds L0 near k
    reloaded = load_sae(tmp_path / sae.cfg.name)
    x = next(iter(batches(3)))
    torch.testing.assert_close(reloaded(x)[0], sae(x)[0], rtol=1e-4, atol=1e-4)


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    _, batches = planted_dictionary(d=D, n_atoms=ATOMS, k=K, n_batches=6)
    cfgs = [_cfg("topk"), _cfg("jumprelu")]
    full = _train(batches, cfgs, tmp_path / "full", steps=20, checkpoint_every=5)

    class Interrupt(Exception):
        pass

    calls = {"n": 0}

    def dying(epoch):
        for b in batches(epoch):
            calls["n"] += 1
            if calls["n"] > 8 + 12:  # init sample (4 batches of epoch 0) + 12 training steps... then die
                raise Interrupt
            yield b

    with pytest.raises(Interrupt):
        _train(dying, cfgs, tmp_path / "resumed", steps=20, checkpoint_every=5)
    state = json.loads((tmp_path / "resumed" / "checkpoint" / "trainer.json").read_text())
    assert 0 < state["step"] < 20
    resumed = _train(batches, cfgs, tmp_path / "resumed", steps=20, checkpoint_every=5)
    for a, b in zip(full, resumed, strict=True):
        for name in ("W_enc", "W_dec", "b_enc", "b_dec"):
            torch.testing.assert_close(getattr(b, name), getattr(a, name), rtol=0, atol=1e-6)
    steps = [json.loads(x)["step"] for x in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 10, 20, 20]  # log_every=10, two SAEs: nothing logged twice across the restart


def test_same_seed_same_run_and_stability_across_seeds(tmp_path):
    atoms, batches = planted_dictionary(d=D, n_atoms=ATOMS, k=K, n_batches=10)
    (once,) = _train(batches, [_cfg("topk", seed=1)], tmp_path / "once", steps=30)
    (again,) = _train(batches, [_cfg("topk", seed=1)], tmp_path / "again", steps=30)
    torch.testing.assert_close(again.W_dec, once.W_dec, rtol=0, atol=0)
    a, b = _train(batches, [_cfg("topk", seed=1), _cfg("topk", seed=2)], tmp_path / "ab", steps=300)
    # both seeds find the planted atoms, so most latents have a partner in the other run
    assert recovered_atoms(a, atoms) > 0.8 and recovered_atoms(b, atoms) > 0.8
    assert 0.3 < feature_stability(a, b) <= 1.0  # 256 latents for 128 atoms: about half are duplicates
    assert feature_stability(a, a) == 1.0
