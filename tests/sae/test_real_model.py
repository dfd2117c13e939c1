"""SAEs on activations of a real pretrained checkpoint (HyenaDNA-tiny from anticapt), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genolens.cli import run
from genolens.errors import ConfigError
from genolens.provenance import Provenance
from genolens.sae.checkpoint import check_compatible, load_sae, save_sae
from genolens.sae.config import make_config
from genolens.sae.metrics import feature_stability
from genolens.sae.registry import build_sae

REF = "data/example/reference/GRCh37_chr22_1-22000000.fa.gz"
OLD_STORE = Path(__file__).resolve().parents[1] / "data" / "store_v0_1_0"


@pytest.fixture(scope="module")
def hyena_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hyena")
    bed = tmp / "windows.bed"
    bed.write_text("".join(f"22\t{16_100_000 + i * 97_000}\t{16_103_000 + i * 97_000}\tw{i}\n" for i in range(50)))
    store = tmp / "store"
    # w7 and w46 lie in assembly gaps (all N), w32 holds 3 N: left out (the N policy), 47 windows remain
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "2", "--reference", REF, "--regions", str(bed),
                "--n-policy", "skip", "--out", str(store), "--shard-size", "30000", "--quiet"]) == 0
    return store


def test_topk_sae_on_hyenadna_meets_quality_bar(hyena_store, tmp_path):
    sae_dir = tmp_path / "sae"
    rc = run(["train-sae", "--store", str(hyena_store), "--layer", "2", "--arch", "topk", "--k", "32",
              "--width", "1024", "--tokens", "400000", "--batch-size", "2048", "--lr", "1e-3", "--out", str(sae_dir),
              "--no-progress"])
    assert rc == 0
    assert (sae_dir / "cfg.json").is_file() and (sae_dir / "sae_weights.safetensors").is_file()
    assert run(["eval-sae", "--sae", str(sae_dir), "--store", str(hyena_store)]) == 0
    metrics = json.loads((sae_dir / "eval.json").read_text())
    assert metrics["tokens"] > 5_000  # held-out sequences only
    assert metrics["fve"] >= 0.8, metrics
    assert metrics["l0"] <= 32 and metrics["dead_fraction"] < 0.05, metrics
    assert (sae_dir / "eval.density.png").stat().st_size > 1000
    sae = load_sae(sae_dir)
    assert sae.cfg.provenance.model == "hyenadna-tiny" and sae.cfg.provenance.layer == 2
    assert sae.cfg.provenance.model_hash.startswith("sha256:") and "CharTokenizer" in sae.cfg.provenance.tokenizer


def test_sae_refuses_another_model_or_layer(hyena_store, tmp_path, capsys):
    sae_dir = tmp_path / "sae"
    assert run(["train-sae", "--store", str(hyena_store), "--layer", "2", "--k", "8", "--width", "256",
                "--tokens", "20000", "--batch-size", "2048", "--out", str(sae_dir), "--no-progress"]) == 0
    # a single SAE is the --out folder itself, and that is the path printed
    assert f"saved topk_w256_k8_s0 to {sae_dir}\n" in capsys.readouterr().err
    sae = load_sae(sae_dir)
    with pytest.raises(ConfigError, match="layer: SAE has 2, input has 5"):
        check_compatible(sae, Provenance(model="hyenadna-tiny", layer=5))
    with pytest.raises(ConfigError, match="model: SAE has 'hyenadna-tiny'"):
        check_compatible(sae, Provenance(model="antiberty", layer=2))
    check_compatible(sae, Provenance(model="hyenadna-tiny", layer=2))  # same: fine


def test_loss_recovered_on_antiberty(tmp_path):
    """AntiBERTy (real checkpoint, real masked-LM head): an SAE at layer 4 keeps most of the model's loss."""
    fasta = "data/example/antibodies_vh.fa"
    store = tmp_path / "store"
    assert run(["embed", "--model", "antiberty", "--layers", "4", "--input", fasta, "--out", str(store),
                "--shard-size", "1500", "--quiet"]) == 0
    sae_dir = tmp_path / "sae"
    assert run(["train-sae", "--store", str(store), "--layer", "4", "--k", "32", "--width", "1024",
                "--tokens", "120000", "--batch-size", "1024", "--lr", "1e-3", "--heldout-fraction", "0.2",
                "--out", str(sae_dir), "--no-progress"]) == 0
    assert run(["eval-sae", "--sae", str(sae_dir), "--store", str(store), "--heldout-fraction", "0.2",
                "--model", "antiberty", "--sequences", fasta]) == 0
    lr = json.loads((sae_dir / "eval.json").read_text())["loss_recovered"]
    assert lr["objective"] == "mlm" and lr["tokens"] > 50
    assert lr["clean"] < lr["zero_ablated"] and lr["spliced"] < lr["zero_ablated"]
    assert lr["recovered"] > 0.5, lr
    # without --sequences the store's own bases are used: the same held-out sequences, the same numbers
    assert run(["eval-sae", "--sae", str(sae_dir), "--store", str(store), "--heldout-fraction", "0.2",
                "--model", "antiberty", "--out", str(tmp_path / "from_store.json")]) == 0
    assert json.loads((tmp_path / "from_store.json").read_text())["loss_recovered"] == lr
    # the wrong model is refused before anything runs
    assert run(["eval-sae", "--sae", str(sae_dir), "--store", str(store), "--model", "hyenadna-tiny",
                "--sequences", fasta]) == 2


def test_eval_sae_sequences_errors(tmp_path, capsys):
    """--sequences without --model; --model on a store that keeps no bases and no --sequences."""
    sae = save_sae(build_sae(make_config("topk", d_in=8, d_sae=16, k=2,
                                       provenance=Provenance(layer=3))), tmp_path / "sae")
    base = ["eval-sae", "--sae", str(sae), "--store", str(OLD_STORE / "store")]
    assert run([*base, "--sequences", str(OLD_STORE / "input.fa")]) == 2
    assert "--sequences is for the loss-recovered check, which needs --model too" in capsys.readouterr().err
    assert run([*base, "--model", "hyenadna-tiny"]) == 2
    assert "the store (format 0.1.0) keeps no bases: loss recovered needs --sequences FASTA" in capsys.readouterr().err


def test_seed_sweep_reports_feature_stability(hyena_store, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert run(["train-sae", "--store", str(hyena_store), "--layer", "2", "--k", "16", "--width", "256",
                "--seeds", "0,1", "--tokens", "100000", "--batch-size", "2048", "--lr", "5e-3", "--out", str(out),
                "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"saved topk_w256_k16_s1 to {out / 'topk_w256_k16_s1'}\n" in err
    assert (out / "topk_w256_k16_s0" / "cfg.json").is_file() and (out / "topk_w256_k16_s1" / "cfg.json").is_file()
    (row,) = json.loads((out / "stability.json").read_text())
    assert {row["a"], row["b"]} == {"topk_w256_k16_s0", "topk_w256_k16_s1"}
    a, b = load_sae(out / "topk_w256_k16_s0"), load_sae(out / "topk_w256_k16_s1")
    assert row["matched_fraction"] == pytest.approx(feature_stability(a, b))
    assert row["matched_fraction_reverse"] == pytest.approx(feature_stability(b, a))
    assert 0.0 <= row["matched_fraction"] <= 1.0  # on planted data stability is tested against truth
