"""Ablation of SAE features: exactness, an independent computation, batched = loop (tiny random models of two
causal and two masked families, and the real HyenaDNA-tiny), errors."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from intervention_models import random_records, tiny_setup

from genolens.adapters.heads import language_model_head, lm_objective
from genolens.adapters.hooks import capture, intervene
from genolens.adapters.registry import load_adapter
from genolens.errors import ConfigError
from genolens.interventions.ablate import COLUMNS, AblateConfig, ablate, prepare_sequences
from genolens.io.fasta import read_fasta
from genolens.sae.checkpoint import load_sae
from genolens.sae.splice import set_features

KINDS = ("hyena", "esm", "bert", "gpt2")
LENGTHS = {"hyena": (30, 60), "esm": (20, 50), "bert": (20, 50), "gpt2": (20, 50)}


@pytest.fixture(scope="module", params=KINDS)
def setup(request, tmp_path_factory):
    adapter, head, sae = tiny_setup(request.param, tmp_path_factory.mktemp(f"abl_{request.param}"), d_sae=160, k=2)
    lo, hi = LENGTHS[request.param]
    records = random_records(adapter.alphabet, 6, lo=lo, hi=hi, seed=11)
    return request.param, adapter, head, sae, records


def _final_hidden(adapter, ids, edit=None, layer=1):
    with torch.inference_mode(), contextlib.ExitStack() as stack:
        if edit is not None:
            stack.enter_context(intervene(adapter, layer, edit))
        acts = stack.enter_context(capture(adapter, [adapter.num_layers], stop=False))
        adapter._call_model(ids, torch.ones_like(ids))
    return acts[adapter.num_layers].float()


def _fired(adapter, sae, record, inputs=None) -> set[int]:
    """Features non-zero at some real token of ``record`` (of ``inputs``, its masked copy, when given)."""
    tok = adapter.tokenizer.encode(record.sequence)
    ids = torch.from_numpy(tok.input_ids)[None] if inputs is None else inputs[None]
    out = adapter.forward(ids, torch.ones(1, len(tok), dtype=torch.long), layers=[1])
    with torch.inference_mode():
        z = sae.encode(out[1][0].float())[torch.from_numpy(tok.spans[:, 0] >= 0)]
    return set(np.flatnonzero((z > 0).any(0).numpy()).tolist())


def test_ablating_nothing_is_the_clean_model_bit_for_bit(setup):
    _, adapter, head, sae, records = setup
    tok = adapter.tokenizer.encode(records[0].sequence)
    ids = torch.from_numpy(tok.input_ids)[None]
    real = torch.from_numpy(tok.spans[:, 0] >= 0)[None]
    clean = _final_hidden(adapter, ids)

    def nothing(acts):
        return set_features(sae, acts, torch.tensor([-1]), positions=real)

    spliced = _final_hidden(adapter, ids, edit=nothing)
    assert torch.equal(clean, spliced)
    # the same through the SAE's own decode: reconstruction + error term == the activation (to rounding)
    with torch.inference_mode():
        acts = adapter.forward(ids, torch.ones_like(ids), layers=[1])[1].float()
        recon = sae.decode(sae.encode(acts))
    torch.testing.assert_close(recon + (acts - recon), acts, atol=1e-6, rtol=0)
    assert (acts - recon).abs().max() > 1e-3  # the error term is not negligible for a random SAE


def test_ablation_equals_an_independent_computation(setup):
    kind, adapter, head, sae, records = setup
    config = AblateConfig(seed=3, mask_fraction=0.3)
    rec = records[1]
    tok = adapter.tokenizer.encode(rec.sequence)
    with torch.inference_mode():  # the feature with the largest summed activation on the sequence
        acts = adapter.forward(torch.from_numpy(tok.input_ids)[None], torch.ones(1, len(tok), dtype=torch.long),
                               layers=[1])[1][0]
        f = int(sae.encode(acts.float())[torch.from_numpy(tok.spans[:, 0] >= 0)].sum(0).argmax())
    result = ablate(adapter, records, sae=sae, head=head, features=[f], config=config, track_sequences=[rec.id])
    # by hand: the same objective (masked positions drawn per sequence in input order), the activation at layer 1
    # minus z_f * W_dec[f] at real tokens, cross-entropy of the model's own head
    rng = np.random.default_rng(3)
    for r in records:
        tok = adapter.tokenizer.encode(r.sequence)
        ids = torch.from_numpy(tok.input_ids)[None]
        real = torch.from_numpy(tok.spans[:, 0] >= 0)[None]
        inputs, targets, scored = lm_objective(head, ids, real, mask_fraction=0.3, rng=rng)
        if r.id == rec.id:
            break

    def minus_feature(acts):
        z = sae.encode(acts.float())[..., f]
        return acts - (z * real)[..., None] * sae.W_dec[f].detach()

    ce = []
    for edit in (None, minus_feature):
        with torch.inference_mode():
            logits = head.logits(_final_hidden(adapter, inputs, edit=edit))
            ce.append(F.cross_entropy(logits[scored], targets[scored], reduction="none").double())
    expected = (ce[1] - ce[0]).numpy()
    track = result.track(rec.id, f)
    where = np.flatnonzero(scored[0].numpy())
    bases = tok.spans[where + 1 if head.objective == "clm" else where, 0]
    np.testing.assert_allclose(track[bases], expected, atol=2e-5)
    assert np.isnan(np.delete(track, bases)).all()
    assert np.abs(expected).max() > 1e-4  # the feature does something here
    assert result.meta["objective"] == ("clm" if kind in ("hyena", "gpt2") else "mlm")


def test_a_feature_that_never_fires_on_a_sequence_changes_nothing_there(setup):
    _, adapter, head, sae, records = setup
    seqs = prepare_sequences(adapter, records, head=head, mask_fraction=0.15, seed=0)  # what the model reads
    fired = [_fired(adapter, sae, r, s.inputs) for r, s in zip(records, seqs, strict=True)]
    silent = [f for f in range(sae.cfg.d_sae) if any(f not in s for s in fired) and any(f in s for s in fired)]
    assert silent, "every feature fires on every sequence: the check would be empty"
    ids = [r.id for r in records]
    for skip in (False, True):
        result = ablate(adapter, records, sae=sae, head=head, features=silent[:6],
                        config=AblateConfig(skip_silent=skip), track_sequences=ids)
        checked = 0
        for r, s in zip(records, fired, strict=True):
            for f in silent[:6]:
                track = result.track(r.id, f)
                if f not in s:
                    assert np.all(track[~np.isnan(track)] == 0.0)  # exactly, even when it was run
                    checked += 1
        assert checked > 0


def test_batched_equals_one_feature_at_a_time(setup):
    _, adapter, head, sae, records = setup
    ids = [r.id for r in records[:2]]
    batched = ablate(adapter, records, sae=sae, head=head, config=AblateConfig(batch_tokens=200), track_sequences=ids)
    loop = ablate(adapter, records, sae=sae, head=head, config=AblateConfig(method="loop", batch_tokens=200),
                  track_sequences=ids)
    assert list(batched.table.columns) == list(COLUMNS)
    assert batched.meta["features"] == "live" and len(batched.table) > 10
    # float32 cross-entropies of ~4 nats: rows of differently shaped batches agree to a few 1e-7
    pd.testing.assert_frame_equal(batched.table, loop.table, rtol=1e-5, atol=2e-6)
    for key, track in batched.tracks.items():
        np.testing.assert_allclose(track, loop.tracks[key], atol=5e-6)
    t = batched.table
    assert (t["n_fired"] + t["n_elsewhere"] == t["n_scored"]).all()
    np.testing.assert_allclose(t["delta_loss"] * t["n_scored"],
                               t["delta_fired"].fillna(0) * t["n_fired"] + t["delta_elsewhere"] * t["n_elsewhere"],
                               atol=1e-9)
    assert (t["abs_fired"].fillna(0) >= t["delta_fired"].abs().fillna(0) - 1e-12).all()
    assert t["delta_fired"].abs().max() > 1e-3  # the random SAE's features matter to the random model


def test_masked_positions_follow_the_seed(setup):
    kind, adapter, head, sae, records = setup
    if kind in ("hyena", "gpt2"):  # next-token models score every real token that has a real successor
        seqs = prepare_sequences(adapter, records, head=head, mask_fraction=0.5, seed=1)
        assert all(bool(s.scored.sum() == s.real.sum() - 1) for s in seqs)
        return
    a = prepare_sequences(adapter, records, head=head, mask_fraction=0.5, seed=1)
    b = prepare_sequences(adapter, records, head=head, mask_fraction=0.5, seed=1)
    c = prepare_sequences(adapter, records, head=head, mask_fraction=0.5, seed=2)
    assert all(torch.equal(x.inputs, y.inputs) for x, y in zip(a, b, strict=True))
    assert any(not torch.equal(x.scored, y.scored) for x, y in zip(a, c, strict=True))
    for s in a:
        assert not s.scored[~s.real].any()  # specials are never masked
        assert bool((s.inputs[s.scored] == head.mask_id).all())


def test_bad_requests_are_errors(setup):
    _, adapter, head, sae, records = setup
    with pytest.raises(ConfigError, match="out of range"):
        ablate(adapter, records, sae=sae, head=head, features=[sae.cfg.d_sae])
    with pytest.raises(ConfigError, match="not among the inputs"):
        ablate(adapter, records, sae=sae, head=head, features=[0], track_sequences=["nope"])
    with pytest.raises(ConfigError, match="method"):
        AblateConfig(method="fast")


def test_real_hyenadna_tiny_batched_equals_loop_and_the_last_block_acts_locally(planted):
    """The planted run's SAE reads layer 2 of HyenaDNA-tiny, its last block: only the final layer norm (per
    token) follows, so removing a feature can change the prediction at its own token only (elsewhere exactly 0)."""
    adapter = load_adapter("hyenadna-tiny")
    head = language_model_head(adapter)
    sae = load_sae(planted["sae"])
    records = list(read_fasta(planted["fasta"], alphabet="dna"))[:4]
    batched = ablate(adapter, records, sae=sae, head=head, track_sequences=["s0"])
    loop = ablate(adapter, records, sae=sae, head=head, features=batched.table["feature"].tolist()[:12],
                  config=AblateConfig(method="loop"), track_sequences=["s0"])
    pd.testing.assert_frame_equal(batched.table.iloc[:12].reset_index(drop=True), loop.table, rtol=1e-5, atol=1e-7)
    assert (batched.table["delta_elsewhere"] == 0.0).all()
    fired = batched.table[batched.table["n_fired"] > 0]
    assert len(fired) > 100 and (fired["abs_fired"] > 0).all()
    assert batched.meta["n_scored"] == sum(len(r.sequence) - 1 for r in records)
