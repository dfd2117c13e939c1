"""Probes as sidecar monitors: scores inside the forward pass equal the probe applied to the embedded activations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from testpaths import TESTDATA

from genolens.adapters.registry import load_adapter
from genolens.cli import run
from genolens.errors import ConfigError
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.probes.monitor import monitor_records
from genolens.probes.probe_file import LinearProbe, save_probe
from genolens.provenance import Provenance
from genolens.store.embed import store_config

MODEL = str(TESTDATA / "store_v0_1_0" / "model")  # a tiny random HyenaDNA (d_model 8, 2 layers)


@pytest.fixture(scope="module")
def adapter():
    return load_adapter(MODEL)


def _records(n: int = 12, length: int = 30) -> list[SequenceRecord]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), size=length - i % 5))
        coords = CoordinateMap.identity("22", 1000 * i, 1000 * i + len(seq))
        out.append(SequenceRecord(f"s{i}", seq, "dna", coords=coords))
    return out


def _probe(adapter, *, layer: int, level: str, kind: str = "binary", model: str = MODEL, seed: int = 0):  # noqa: ANN001, ANN202
    cfg = store_config(adapter, model=model, layers=[layer])
    rng = np.random.default_rng(seed)
    n_out = 3 if kind == "multiclass" else 1
    outputs = ("a", "b", "c") if kind == "multiclass" else ("yes",)
    return LinearProbe(target=f"{level}{layer}", kind=kind, outputs=outputs,
                       weight=rng.normal(size=(n_out, 8)).astype(np.float32),
                       bias=rng.normal(size=n_out).astype(np.float32), level=level,
                       provenance=Provenance(model=model, model_hash=cfg.model_hash, layer=layer,
                                             tokenizer=cfg.tokenizer), threshold=0.5)


def test_scores_in_the_forward_pass_equal_the_probe_on_embedded_activations(adapter):
    records = _records()
    base1, seq2 = _probe(adapter, layer=1, level="base"), _probe(adapter, layer=2, level="sequence", kind="multiclass")
    result = monitor_records(records, adapter=adapter, model=MODEL, probes=[base1, seq2], batch_tokens=100)
    emb = adapter.embed(records, layers=[1, 2])
    for rec, acts in zip(records, emb.sequences, strict=True):
        per_base = base1.scores(acts.base_values(1)).numpy()
        row = result.scores[(result.scores.id == rec.id) & (result.scores.probe == "base1")].iloc[0]
        assert row["score"] == pytest.approx(per_base.mean(), abs=1e-5)
        assert row["max_score"] == pytest.approx(per_base.max(), abs=1e-5)
        assert row["n_flagged_bases"] == int((per_base >= 0.5).sum())
        want = seq2.scores(acts.layers[2].mean(0, keepdim=True))[0].numpy()
        got = result.scores[(result.scores.id == rec.id) & (result.scores.probe == "sequence2")]
        np.testing.assert_allclose(got["score"].to_numpy(), want, atol=1e-5)
        spans = result.spans[(result.spans.id == rec.id)]
        flagged = np.zeros(len(rec.sequence), dtype=bool)
        for s in spans.itertuples():
            flagged[s.start:s.end] = True
            assert s.ref_start == 1000 * int(rec.id[1:]) + s.start and s.ref_end - s.ref_start == s.end - s.start
        np.testing.assert_array_equal(flagged, per_base >= 0.5)
    track = result.tracks["base1"]
    assert track[0][0] == "22" and sum(e - s for _, s, e, _ in track) == sum(len(r.sequence) for r in records)


def test_monitor_refuses_probes_of_another_model_layer_or_kind(adapter):
    records = _records(2)
    with pytest.raises(ConfigError, match="model: probe has 'antiberty'"):
        monitor_records(records, adapter=adapter, model=MODEL,
                        probes=[_probe(adapter, layer=1, level="base", model="antiberty")])
    other = _probe(adapter, layer=1, level="base")
    other = LinearProbe(**{**other.__dict__, "provenance": Provenance(model=MODEL, model_hash="sha256:0", layer=1)})
    with pytest.raises(ConfigError, match="model_hash: probe has 'sha256:0'"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[other])
    # a probe of a deeper model: its model is named first, not the layer this model lacks
    deep = _probe(adapter, layer=1, level="base")
    deep = LinearProbe(**{**deep.__dict__, "provenance": Provenance(model="antiberty", model_hash="sha256:1", layer=6)})
    with pytest.raises(ConfigError, match="model: probe has 'antiberty'"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[deep])
    sample = LinearProbe(**{**_probe(adapter, layer=1, level="base").__dict__, "level": "sample"})
    with pytest.raises(ConfigError, match="runs probes on raw activations or SAE features, per base or per sequence"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[sample])


def test_monitor_cli_writes_scores_spans_and_refuses_bad_input(adapter, tmp_path, capsys):
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in _records(4)))
    probe_dir = save_probe(_probe(adapter, layer=1, level="base"), tmp_path / "exon" / "raw")
    out = tmp_path / "scores.tsv"
    assert run(["monitor", "--model", MODEL, "--probe", str(probe_dir), "--input", str(fasta), "--out", str(out)]) == 0
    scores = pd.read_csv(out, sep="\t")
    assert list(scores["id"]) == ["s0", "s1", "s2", "s3"] and set(scores["probe"]) == {"exon"}
    assert (tmp_path / "scores.spans.tsv").is_file()
    assert "4 sequences scored by 1 probe(s)" in capsys.readouterr().out
    long = tmp_path / "long.fa"
    long.write_text(">x\n" + "ACGT" * 20 + "\n")
    assert run(["monitor", "--model", MODEL, "--probe", str(probe_dir), "--input", str(long), "--out", str(out)]) == 2
    assert "more than the model's" in capsys.readouterr().err


def _sae(adapter, *, layer: int, seed: int, d_sae: int = 16):  # noqa: ANN001, ANN202
    from genolens.sae.config import make_config
    from genolens.sae.registry import build_sae

    cfg = store_config(adapter, model=MODEL, layers=[layer])
    prov = Provenance(model=MODEL, model_hash=cfg.model_hash, layer=layer, tokenizer=cfg.tokenizer)
    return build_sae(make_config("topk", d_in=8, d_sae=d_sae, k=4, seed=seed, provenance=prov)).eval()


def _sae_probe(adapter, sae, *, level: str, seed: int = 3):  # noqa: ANN001, ANN202
    from genolens.adapters.fingerprint import weights_fingerprint

    raw = _probe(adapter, layer=sae.cfg.provenance.layer, level=level, seed=seed)
    rng = np.random.default_rng(seed)
    return LinearProbe(**{**raw.__dict__, "target": f"sae_{level}", "representation": "sae",
                          "weight": rng.normal(size=(1, sae.cfg.d_sae)).astype(np.float32),
                          "sae": {"name": sae.cfg.name, "d_sae": sae.cfg.d_sae,
                                  "weights_hash": weights_fingerprint(sae)}})


def test_sae_feature_probes_score_in_the_forward_pass_as_offline_on_encoded_activations(adapter):
    records = _records()
    sae = _sae(adapter, layer=1, seed=5)
    base, seq = _sae_probe(adapter, sae, level="base"), _sae_probe(adapter, sae, level="sequence", seed=4)
    raw = _probe(adapter, layer=2, level="base")
    result = monitor_records(records, adapter=adapter, model=MODEL, probes=[base, raw, seq], saes=[sae, None, sae],
                             batch_tokens=100)
    emb = adapter.embed(records, layers=[1, 2])
    for rec, acts in zip(records, emb.sequences, strict=True):
        codes = sae.encode(acts.layers[1].float()).detach()
        per_base = base.scores(codes).numpy().reshape(-1)  # HyenaDNA: one row per base
        row = result.scores[(result.scores.id == rec.id) & (result.scores.probe == "sae_base")].iloc[0]
        assert row["score"] == pytest.approx(per_base.mean(), abs=1e-5)
        assert row["max_score"] == pytest.approx(per_base.max(), abs=1e-5)
        want = seq.scores(codes.mean(0, keepdim=True))[0].numpy()
        got = result.scores[(result.scores.id == rec.id) & (result.scores.probe == "sae_sequence")]
        np.testing.assert_allclose(got["score"].to_numpy(), want, atol=1e-5)
        raw_row = result.scores[(result.scores.id == rec.id) & (result.scores.probe == "base2")].iloc[0]
        assert raw_row["score"] == pytest.approx(raw.scores(acts.base_values(2)).numpy().mean(), abs=1e-5)


def test_an_sae_probe_is_refused_without_its_own_sae(adapter):
    records = _records(2)
    sae = _sae(adapter, layer=1, seed=5)
    probe = _sae_probe(adapter, sae, level="base")
    with pytest.raises(ConfigError, match="give its SAE"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe])
    with pytest.raises(ConfigError, match="features of another SAE"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe], saes=[_sae(adapter, layer=1, seed=6)])
    with pytest.raises(ConfigError, match="layer: SAE has 2, input has 1"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe], saes=[_sae(adapter, layer=2, seed=5)])
    with pytest.raises(ConfigError, match="reads 16 SAE features, the SAE has 24"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe],
                        saes=[_sae(adapter, layer=1, seed=5, d_sae=24)])
    with pytest.raises(ConfigError, match="no SAE applies"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[_probe(adapter, layer=1, level="base")],
                        saes=[sae])


def test_monitor_cli_loads_the_sae_an_sae_probe_records(adapter, tmp_path):
    from genolens.sae.checkpoint import save_sae

    sae = _sae(adapter, layer=1, seed=5)
    save_sae(sae, tmp_path / "sae")
    probe = _sae_probe(adapter, sae, level="sequence")
    probe_dir = save_probe(LinearProbe(**{**probe.__dict__, "sae": {**probe.sae, "path": str(tmp_path / "sae")}}),
                           tmp_path / "gc" / "sae")
    fasta = tmp_path / "in.fa"
    records = _records(3)
    fasta.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in records))
    out = tmp_path / "scores.tsv"
    assert run(["monitor", "--model", MODEL, "--probe", str(probe_dir), "--input", str(fasta), "--out", str(out)]) == 0
    scores = pd.read_csv(out, sep="\t")
    emb = adapter.embed(records, layers=[1])
    want = [float(probe.scores(sae.encode(a.layers[1].float()).detach().mean(0, keepdim=True))[0])
            for a in emb.sequences]
    np.testing.assert_allclose(scores["score"], want, atol=1e-5)
    other = tmp_path / "other"
    save_sae(_sae(adapter, layer=1, seed=9), other)
    assert run(["monitor", "--model", MODEL, "--probe", str(probe_dir), "--input", str(fasta), "--out", str(out),
                "--sae", str(other)]) == 2
