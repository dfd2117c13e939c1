"""Python and CLI write the same store (provenance included) and train the same SAE; the guard rail holds in both."""

from __future__ import annotations

import json

import pytest
from testpaths import REFERENCE

import genolens as gl
from genolens.cli import run
from genolens.io.inputs import input_records
from genolens.store.embed import embed_records

REGIONS = ["22:17000001-17004000", "22:18000001-18003000", "22:19500001-19503500", "22:20000001-20002000"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stores")
    args = ["--reference", str(REFERENCE)] + [x for r in REGIONS for x in ("--regions", r)]
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "2", "--out", str(tmp / "cli"), "--quiet",
                "--shard-size", "5000", *args]) == 0
    records = input_records(reference=REFERENCE, regions=REGIONS)
    summary = embed_records(records, model="hyenadna-tiny", layers=[2], out=tmp / "py", shard_size=5000)
    assert summary.sequences == len(REGIONS) and summary.shards_written >= 2
    return tmp


def test_python_store_has_the_cli_provenance_and_bytes(stores):
    cli, py = gl.read_store(stores / "cli"), gl.read_store(stores / "py")
    assert py.config == cli.config
    assert py.config.model_hash.startswith("sha256:") and "CharTokenizer" in py.config.tokenizer
    for shard in sorted((stores / "cli" / "shards").iterdir()):
        assert (stores / "py" / "shards" / shard.name).read_bytes() == shard.read_bytes()


def test_sae_trained_from_python_is_guarded_in_both_paths(stores, tmp_path, capsys):
    result = gl.sae.train(stores / "py", layer=2, out=tmp_path / "sae", tokens=8_000, k=4, width=64,
                          batch_size=512, heldout_fraction=0.25, progress=False)
    (path,) = result.paths
    assert path == tmp_path / "sae" and result.budget.epochs > 0
    sae = gl.sae.load(path)
    assert sae.cfg.provenance.model_hash == gl.read_store(stores / "cli").config.model_hash
    metrics = gl.sae.evaluate(path, stores / "cli", heldout_fraction=0.25)
    assert metrics == gl.sae.read_evaluation(path) and metrics["tokens"] > 0
    # a store of another model: refused from Python and from the CLI
    other = tmp_path / "other"
    assert run(["embed", "--model", "antiberty", "--layers", "2", "--input", "data/example/antibodies_vh.fa",
                "--out", str(other), "--quiet"]) == 0
    with pytest.raises(gl.errors.ConfigError, match="model: SAE has 'hyenadna-tiny'"):
        gl.tl.aggregate(other, sae=path)
    capsys.readouterr()
    assert run(["aggregate", "--store", str(other), "--sae", str(path), "--out", str(tmp_path / "x.h5ad")]) == 2
    assert "model: SAE has 'hyenadna-tiny'" in capsys.readouterr().err


def test_sweep_records_stability_and_warns_on_many_passes(stores, tmp_path):
    with pytest.warns(UserWarning, match="passes over the store's"):
        result = gl.sae.train(stores / "py", layer=2, out=tmp_path / "sweep", tokens=200_000, k=4, width=32,
                              seed=[0, 1], batch_size=2048, heldout_fraction=0.25, warn_epochs=5, progress=False)
    assert [p.name for p in result.paths] == ["topk_w32_k4_s0", "topk_w32_k4_s1"]
    (row,) = result.stability
    assert json.loads((tmp_path / "sweep" / "stability.json").read_text()) == [row]
    assert 0.0 <= row["matched_fraction"] <= 1.0


def test_conditioning_tags_are_part_of_a_stores_provenance():
    """IgLM reads its chain and species tags before every sequence: stores made with other tags must differ."""
    heavy = gl.models.load("iglm-s")
    light = gl.models.load("iglm-s", condition=["[LIGHT]", "[HUMAN]"])
    a = gl.models.store_config(heavy, model="iglm-s", layers=[1])
    b = gl.models.store_config(light, model="iglm-s", layers=[1])
    assert a.model_hash == b.model_hash
    assert a.tokenizer.endswith("|condition=[HEAVY] [HUMAN]") and b.tokenizer.endswith("|condition=[LIGHT] [HUMAN]")
    assert "tokenizer" in a.differences(b, names=("store", "this run"))


def test_embed_records_the_tags_it_was_given(tmp_path):
    fasta = tmp_path / "vl.fa"
    fasta.write_text(">a\nDIQMTQSPSSLSASVGDRVTITC\n>b\nEIVLTQSPGTLSLSPGERATLSC\n")
    assert run(["embed", "--model", "iglm-s", "--layers", "1", "--input", str(fasta), "--out", str(tmp_path / "s"),
                "--condition", "[LIGHT],[HUMAN]", "--quiet"]) == 0
    assert gl.read_store(tmp_path / "s").config.tokenizer.endswith("|condition=[LIGHT] [HUMAN]")
