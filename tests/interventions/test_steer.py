"""Steering an SAE feature: scale 0 is the clean model, the edit equals an independent hook computation, only
predictions after the steered tokens move (causal), later-layer SAE features and probe scores, errors."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from intervention_models import random_records, tiny_sae, tiny_setup

from genolens.adapters.hooks import add_vector, capture, intervene
from genolens.errors import ConfigError
from genolens.interventions.steer import POSITION_COLUMNS, ProbeWeights, SteerConfig, steer


@pytest.fixture(scope="module", params=("hyena", "esm"))
def setup(request, tmp_path_factory):
    adapter, head, sae = tiny_setup(request.param, tmp_path_factory.mktemp(f"steer_{request.param}"), d_sae=64, k=3)
    records = random_records(adapter.alphabet, 3, lo=20, hi=40, seed=5)
    return request.param, adapter, head, sae, records


def _letter_logp(adapter, head, ids, edit=None, layers=()):
    letters = "ACGT" if adapter.alphabet == "dna" else "ACDEFGHIKLMNPQRSTVWY"
    lid = [adapter.tokenizer.vocab[c] for c in letters]
    with torch.inference_mode(), contextlib.ExitStack() as stack:
        if edit is not None:
            stack.enter_context(intervene(adapter, 1, edit))
        acts = stack.enter_context(capture(adapter, [adapter.num_layers, *layers], stop=False))
        adapter._call_model(ids, torch.ones_like(ids))
        lp = torch.log_softmax(head.logits(acts[adapter.num_layers].float()), -1)[..., lid].double()
    return lp[0].numpy(), {k: v[0].float() for k, v in acts.items()}


def test_scale_zero_reproduces_the_clean_model_exactly(setup):
    _, adapter, head, sae, records = setup
    result = steer(adapter, records, sae=sae, head=head, feature=3, config=SteerConfig(scale=0.0))
    assert list(result.positions.columns) == list(POSITION_COLUMNS)
    assert (result.letters["delta"] == 0.0).all() and (result.positions["kl"] == 0.0).all()
    assert len(result.positions) == sum(len(r.sequence) - (1 if head.objective == "clm" else 0) for r in records)


def test_scale_equals_adding_the_raw_decoder_row_by_hand(setup):
    kind, adapter, head, sae, records = setup
    rec = records[0]
    result = steer(adapter, [rec], sae=sae, head=head, feature=7, config=SteerConfig(scale=4.0, positions=(5, 6)))
    tok = adapter.tokenizer.encode(rec.sequence)
    ids = torch.from_numpy(tok.input_ids)[None]
    where = torch.from_numpy((tok.spans[:, 0] >= 5) & (tok.spans[:, 0] <= 6))[None]
    edit = add_vector(sae.W_dec[7].detach(), scale=4.0, positions=where)
    rows = result.positions.set_index("position")
    if kind == "hyena":  # causal: the prediction at token t is for the base of token t + 1
        before, _ = _letter_logp(adapter, head, ids)
        after, _ = _letter_logp(adapter, head, ids, edit=edit)
        for t in range(len(tok) - 1):
            if tok.spans[t, 0] < 0 or tok.spans[t + 1, 0] < 0:
                continue
            pos = int(tok.spans[t + 1, 0])
            k = "ACGT".index(rec.sequence[pos])
            assert rows.loc[pos, "logp_base_before"] == pytest.approx(before[t, k], abs=1e-5)
            assert rows.loc[pos, "logp_base_after"] == pytest.approx(after[t, k], abs=1e-5)
        # nothing before the first steered token moves; from it on, predictions move
        assert (rows.loc[:5, "delta_base"] == 0.0).all() and not rows.loc[:5, "steered"].any()
        assert rows.loc[6:, "kl"].max() > 1e-6 and rows.loc[6:, "steered"].all()
    else:  # masked: each position masked on its own, read at the masked token
        for pos in (2, 5, 12):
            t = int(np.flatnonzero(tok.spans[:, 0] == pos)[0])
            masked = ids.clone()
            masked[0, t] = head.mask_id
            before, _ = _letter_logp(adapter, head, masked)
            after, _ = _letter_logp(adapter, head, masked, edit=edit)
            k = "ACDEFGHIKLMNPQRSTVWY".index(rec.sequence[pos])
            assert rows.loc[pos, "logp_base_before"] == pytest.approx(before[t, k], abs=1e-5)
            assert rows.loc[pos, "logp_base_after"] == pytest.approx(after[t, k], abs=1e-5)
        assert rows["steered"].all() and rows["kl"].max() > 1e-6


def test_clamp_sets_the_feature_through_the_sae_with_the_error_term_kept(setup):
    _, adapter, head, sae, records = setup
    rec = records[1]
    result = steer(adapter, [rec], sae=sae, head=head, feature=2, config=SteerConfig(clamp=1.5))
    tok = adapter.tokenizer.encode(rec.sequence)
    ids = torch.from_numpy(tok.input_ids)[None]
    real = torch.from_numpy(tok.spans[:, 0] >= 0)[None]

    def clamp(acts):  # x + (v - z_f) W_dec[f] at real tokens
        z = sae.encode(acts.float())[..., 2]
        return acts + (real * (1.5 - z))[..., None] * sae.W_dec[2].detach()

    letters = "ACGT" if adapter.alphabet == "dna" else "ACDEFGHIKLMNPQRSTVWY"
    rows = result.positions.set_index("position")
    for t in (3, 6, 9):
        if head.objective == "clm":
            lp, _ = _letter_logp(adapter, head, ids, edit=clamp)
            pos = int(tok.spans[t + 1, 0])
        else:
            masked = ids.clone()
            masked[0, t] = head.mask_id
            lp, _ = _letter_logp(adapter, head, masked, edit=clamp)
            pos = int(tok.spans[t, 0])
        k = letters.index(rec.sequence[pos])
        assert rows.loc[pos, "logp_base_after"] == pytest.approx(lp[t, k], abs=1e-5)
    assert result.positions["kl"].max() > 1e-6


def test_later_sae_features_and_probe_scores(setup, tmp_path):
    _, adapter, head, sae, records = setup
    later = tiny_sae(adapter, layer=2, d_sae=40, k=3, seed=4, sample=records)
    rng = np.random.default_rng(0)
    probes = [ProbeWeights("p_seq", 2, rng.normal(size=(2, adapter.hidden_size)), rng.normal(size=2), ("a", "b"),
                           "sequence"),
              ProbeWeights("p_base", 1, rng.normal(size=(1, adapter.hidden_size)), rng.normal(size=1), ("x",), "base")]
    config = SteerConfig(scale=3.0, top=5)
    result = steer(adapter, records, sae=sae, head=head, feature=5, config=config, later_sae=later, probes=probes)
    assert len(result.features) == 5 and result.meta["later_layer"] == 2
    # by hand on the unmasked sequences: later features' mean code over real tokens, before and after
    before, after, seq_scores = [], [], {}
    for rec in records:
        tok = adapter.tokenizer.encode(rec.sequence)
        ids = torch.from_numpy(tok.input_ids)[None]
        real = torch.from_numpy(tok.spans[:, 0] >= 0)
        runs = []
        for edit in (None, add_vector(sae.W_dec[5].detach(), scale=3.0, positions=real[None])):
            _, acts = _letter_logp(adapter, head, ids, edit=edit, layers=[1, 2])
            runs.append(acts)
        with torch.inference_mode():
            before.append(later.encode(runs[0][2][real]).double())
            after.append(later.encode(runs[1][2][real]).double())
        x = [r[2][real].double().mean(0).numpy() for r in runs]
        seq_scores[rec.id] = [xx @ probes[0].weight.T + probes[0].bias for xx in x]
    delta = torch.cat(after).mean(0) - torch.cat(before).mean(0)
    expected = delta.abs().argsort(descending=True)[:5].numpy()
    assert set(result.features["feature"]) == set(expected)
    for row in result.features.itertuples():
        assert row.delta == pytest.approx(float(delta[row.feature]), abs=1e-5)
    assert result.features["delta"].abs().max() > 1e-4
    table = result.probes.set_index(["sequence_id", "probe", "output"])
    for sid, (b, a) in seq_scores.items():
        for o, name in enumerate(("a", "b")):
            assert table.loc[(sid, "p_seq", name), "before"] == pytest.approx(b[o], abs=1e-4)
            assert table.loc[(sid, "p_seq", name), "after"] == pytest.approx(a[o], abs=1e-4)
    assert (table.xs("p_base", level="probe")["delta"].abs() > 0).all()  # steered at its own layer: it moves


def test_bad_settings_are_errors(setup):
    _, adapter, head, sae, records = setup
    with pytest.raises(ConfigError, match="exactly one"):
        SteerConfig(scale=1.0, clamp=2.0)
    with pytest.raises(ConfigError, match="exactly one"):
        SteerConfig()
    with pytest.raises(ConfigError, match="out of range"):
        steer(adapter, records, sae=sae, head=head, feature=999, config=SteerConfig(scale=1.0))
    earlier = tiny_sae(adapter, layer=1, d_sae=8, k=1)
    with pytest.raises(ConfigError, match="not after the steered layer"):
        steer(adapter, records, sae=sae, head=head, feature=1, config=SteerConfig(scale=1.0), later_sae=earlier)
    with pytest.raises(ConfigError, match="past the sequence"):
        steer(adapter, records, sae=sae, head=head, feature=1, config=SteerConfig(scale=1.0, positions=(500,)))
