"""Probes and erasers riding along ``embed`` (and erasers in ``monitor``): the sidecar scores equal the
monitor's, and erasing in the forward pass equals erasing the stored activations afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from testpaths import TESTDATA

from genolens.adapters.registry import load_adapter
from genolens.cli import run
from genolens.errors import ConfigError
from genolens.io.coordmap import CoordinateMap
from genolens.io.coordtable import write_with_sidecar
from genolens.io.records import SequenceRecord
from genolens.probes.erase import Eraser, fit_eraser, save_eraser
from genolens.probes.monitor import monitor_records
from genolens.probes.probe_file import LinearProbe, save_probe
from genolens.provenance import Provenance
from genolens.store.embed import store_config
from genolens.store.reader import ActivationStore

MODEL = str(TESTDATA / "store_v0_1_0" / "model")  # a tiny random HyenaDNA (d_model 8, 2 layers)


@pytest.fixture(scope="module")
def adapter():
    return load_adapter(MODEL)


def _records(n: int = 10, length: int = 30) -> list[SequenceRecord]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), size=length - i % 4))
        coords = CoordinateMap.identity("22", 500 * i, 500 * i + len(seq))
        out.append(SequenceRecord(f"s{i}", seq, "dna", coords=coords))
    return out


def _fasta(tmp_path, records):  # noqa: ANN001, ANN202
    path = tmp_path / "in.fa"
    write_with_sidecar(records, path)  # with NAME.coords.tsv: reference coordinates
    return path


def _provenance(adapter, layer: int) -> Provenance:  # noqa: ANN001
    cfg = store_config(adapter, model=MODEL, layers=[layer])
    return Provenance(model=MODEL, model_hash=cfg.model_hash, layer=layer, tokenizer=cfg.tokenizer)


def _probe(adapter, *, layer: int, level: str, seed: int = 0, kind: str = "binary") -> LinearProbe:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    n = 3 if kind == "multiclass" else 1
    return LinearProbe(target=f"{level}{layer}", kind=kind, outputs=("a", "b", "c") if n == 3 else ("yes",),
                       weight=rng.normal(size=(n, 8)).astype(np.float32), bias=rng.normal(size=n).astype(np.float32),
                       level=level, provenance=_provenance(adapter, layer))


def _eraser(adapter, records, layer: int) -> Eraser:  # noqa: ANN001
    """A per-token LEACE eraser of a per-sequence label, fit on the layer's activations."""
    emb = adapter.embed(records, layers=[layer])
    x = np.vstack([s.layers[layer].numpy() for s in emb.sequences])
    label = np.concatenate([np.full(s.n_rows, i % 2) for i, s in enumerate(emb.sequences)])
    z = np.stack([label == 0, label == 1], axis=1).astype(np.float64)
    return fit_eraser(x, z, concept="half", classes=("0", "1"), level="token", provenance=_provenance(adapter, layer))


def _scores(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["id", "probe", "output"]).reset_index(drop=True)


def test_embed_probe_sidecar_equals_the_monitor(adapter, tmp_path):
    records = _records()
    fasta = _fasta(tmp_path, records)
    base = save_probe(_probe(adapter, layer=1, level="base"), tmp_path / "exon" / "raw")
    seq = save_probe(_probe(adapter, layer=2, level="sequence", seed=1, kind="multiclass"), tmp_path / "origin" / "raw")
    out = tmp_path / "store"
    assert run(["embed", "--model", MODEL, "--layers", "1,2", "--input", str(fasta), "--out", str(out),
                "--probe", str(base), "--probe", str(seq), "--shard-size", "60", "--quiet"]) == 0
    side = pd.read_csv(out / "probes" / "scores.tsv", sep="\t")
    ref = monitor_records(records, adapter=adapter, model=MODEL, names=["exon", "origin"],
                          probes=[_probe(adapter, layer=1, level="base"),
                                  _probe(adapter, layer=2, level="sequence", seed=1, kind="multiclass")])
    got, want = _scores(side), _scores(ref.scores)
    assert len(got) == len(records) * (1 + 3)
    pd.testing.assert_frame_equal(got[["id", "probe", "output", "level", "n_flagged_bases"]],
                                  want[["id", "probe", "output", "level", "n_flagged_bases"]], check_dtype=False)
    np.testing.assert_allclose(got[["score", "max_score"]].to_numpy(), want[["score", "max_score"]].to_numpy(),
                               atol=1e-5)
    spans = pd.read_csv(out / "probes" / "scores.spans.tsv", sep="\t")
    assert len(spans) == len(ref.spans) and list(spans["ref_start"]) == list(ref.spans["ref_start"])
    assert (out / "probes" / "scores.exon.bedGraph").is_file()
    ActivationStore(out).verify()  # the sidecar folder does not disturb the store
    # a resumed (here: finished) store has no sidecar for the skipped shards: refused
    assert run(["embed", "--model", MODEL, "--layers", "1,2", "--input", str(fasta), "--out", str(out),
                "--probe", str(base), "--shard-size", "60", "--quiet"]) == 2


def test_embed_probe_refuses_an_unstored_layer_or_another_model(adapter, tmp_path, capsys):
    fasta = _fasta(tmp_path, _records(3))
    deep = save_probe(_probe(adapter, layer=2, level="base"), tmp_path / "deep")
    assert run(["embed", "--model", MODEL, "--layers", "1", "--input", str(fasta), "--out", str(tmp_path / "a"),
                "--probe", str(deep), "--quiet"]) == 2
    assert "reads layer 2, which is not stored" in capsys.readouterr().err
    foreign = _probe(adapter, layer=1, level="base")
    foreign = LinearProbe(**{**foreign.__dict__, "provenance": Provenance(model="antiberty", layer=1)})
    path = save_probe(foreign, tmp_path / "foreign")
    assert run(["embed", "--model", MODEL, "--layers", "1", "--input", str(fasta), "--out", str(tmp_path / "b"),
                "--probe", str(path), "--quiet"]) == 2
    assert "does not match the model" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_embed_erase_equals_erasing_the_stored_activations(adapter, tmp_path):
    records = _records()
    fasta = _fasta(tmp_path, records)
    eraser = _eraser(adapter, records, layer=1)
    path = save_eraser(eraser, tmp_path / "eraser")
    plain, erased = tmp_path / "plain", tmp_path / "erased"
    assert run(["embed", "--model", MODEL, "--layers", "1,2", "--input", str(fasta), "--out", str(plain),
                "--quiet"]) == 0
    assert run(["embed", "--model", MODEL, "--layers", "1,2", "--input", str(fasta), "--out", str(erased),
                "--erase", str(path), "--quiet"]) == 0
    a, b = ActivationStore(plain), ActivationStore(erased)
    assert b.config.edits == ("leace:half@L1",) and a.config.edits == ()
    x, y = a.activations(0, 1).numpy(), b.activations(0, 1).numpy()
    np.testing.assert_allclose(y, eraser.apply(x), atol=1e-5)
    assert np.abs(y - x).max() > 1e-2  # the edit did something
    # later layers read the erased layer: they change too
    assert np.abs(b.activations(0, 2).numpy() - a.activations(0, 2).numpy()).max() > 1e-3
    # the erased label's class means coincide on the stored layer (what LEACE guarantees on its fit rows)
    label = np.repeat(np.arange(len(records)) % 2, [len(r.sequence) for r in records])
    gap = lambda a: np.abs(a[label == 0].mean(0) - a[label == 1].mean(0)).max()  # noqa: E731
    assert gap(y) < 0.01 * gap(x)


def test_monitor_erase_equals_the_probe_on_erased_activations(adapter, tmp_path):
    records = _records()
    eraser = _eraser(adapter, records, layer=1)
    probe = _probe(adapter, layer=1, level="sequence")
    got = monitor_records(records, adapter=adapter, model=MODEL, probes=[probe], erasers=[eraser])
    emb = adapter.embed(records, layers=[1])
    want = [float(probe.scores(torch.from_numpy(eraser.apply(s.layers[1].numpy()).mean(0, keepdims=True)))[0])
            for s in emb.sequences]
    by_id = lambda r: r.scores.set_index("id").loc[[r.id for r in records], "score"].to_numpy()  # noqa: E731
    np.testing.assert_allclose(by_id(got), want, atol=1e-5)
    plain = monitor_records(records, adapter=adapter, model=MODEL, probes=[probe])
    assert np.abs(by_id(plain) - np.asarray(want)).max() > 20 * 1e-5  # well beyond the equality tolerance
    # the CLI takes --erase
    fasta = _fasta(tmp_path, records)
    out = tmp_path / "scores.tsv"
    assert run(["monitor", "--model", MODEL, "--probe", str(save_probe(probe, tmp_path / "p")), "--input", str(fasta),
                "--out", str(out), "--erase", str(save_eraser(eraser, tmp_path / "e"))]) == 0
    cli = pd.read_csv(out, sep="\t").set_index("id").loc[[r.id for r in records], "score"].to_numpy()
    np.testing.assert_allclose(cli, want, atol=1e-4)


def test_erasers_are_refused_off_their_model_level_or_depth(adapter):
    records = _records(4)
    probe = _probe(adapter, layer=1, level="sequence")
    eraser = _eraser(adapter, records, layer=1)
    sample = Eraser(**{**eraser.__dict__, "level": "sample"})
    with pytest.raises(ConfigError, match="per-sample features"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe], erasers=[sample])
    other = Eraser(**{**eraser.__dict__, "provenance": Provenance(model=MODEL, model_hash="sha256:0", layer=1)})
    with pytest.raises(ConfigError, match="eraser 'half' does not match"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe], erasers=[other])
    deep = _eraser(adapter, records, layer=2)
    with pytest.raises(ConfigError, match="after the deepest layer read"):
        monitor_records(records, adapter=adapter, model=MODEL, probes=[probe], erasers=[deep])
