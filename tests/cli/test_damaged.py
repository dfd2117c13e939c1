"""Damaged, unfinished and finished artefacts: exit 2 and one line naming the file and the problem.

The corpus is made here from one small store and one SAE (the 0.1.0 fixture's tiny HyenaDNA,
8 dimensions) by damaging copies of them: a shard or the SAE weights cut short, grown, with a
flipped byte or a broken header; a missing completion marker; foreign files; shards missing.
Every consumer that reads the artefact (``check``, ``embed`` resuming, ``train-sae``,
``aggregate``, ``annotate``, ``merge-stores``) must say what is wrong, never show a traceback or exit 0.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import anndata
import pytest
from testpaths import TESTDATA

from genolens.cli import run
from genolens.provenance import Provenance
from genolens.sae.checkpoint import save_sae
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae

MODEL = str(TESTDATA / "store_v0_1_0" / "model")
SHARD = "shard-000001.safetensors"


def _embed(fasta: Path, out: Path, *extra: str) -> list[str]:
    return ["embed", "--model", MODEL, "--layers", "1", "--input", str(fasta), "--out", str(out),
            "--shard-size", "100", "--quiet", *extra]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A finished store (several shards) of 8 sequences, the FASTA it came from, and an SAE for it."""
    root = tmp_path_factory.mktemp("good")
    rng = random.Random(0)
    (root / "in.fa").write_text("".join(f">s{i}\n{''.join(rng.choices('ACGT', k=60))}\n" for i in range(8)))
    (root / "more.fa").write_text((root / "in.fa").read_text() + ">extra\nACGTTGCAACGT\n")
    assert run(_embed(root / "in.fa", root / "store")) == 0
    cfg = make_config("topk", d_in=8, d_sae=16, k=2, provenance=Provenance(model=MODEL, layer=1))
    save_sae(build_sae(cfg), root / "sae")
    return root


def _cut(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _grow(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\0" * 16)


def _flip_last_byte(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))


def _break_header(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[9:17] = b"\xff" * 8
    path.write_bytes(bytes(blob))


def shard(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda root: damage(root / "store" / "shards" / SHARD)


def weights(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda root: damage(root / "sae" / "sae_weights.safetensors")


def _unfinished(root: Path) -> None:
    (root / "store" / "complete.json").unlink()


def _foreign(root: Path) -> None:
    (root / "store" / "shards" / "notes.txt").write_text("mine")


def _last_shard_gone(root: Path) -> None:
    max((root / "store" / "shards").glob("shard-*"), key=lambda p: p.name).unlink()


def _first_shard_gone(root: Path) -> None:
    (root / "store" / "shards" / "shard-000000.safetensors").unlink()


def _broken_marker(root: Path) -> None:
    (root / "store" / "complete.json").write_text("{\"shards\": 3")


def _other_count(root: Path) -> None:
    (root / "store" / "complete.json").write_text(json.dumps({"shards": 99, "sequences": 8}))


STORE_COMMANDS = {
    "check": lambda r: ["check", str(r / "store")],
    "embed": lambda r: _embed(r / "in.fa", r / "store"),
    "train-sae": lambda r: ["train-sae", "--store", str(r / "store"), "--layer", "1", "--k", "2", "--width", "16",
                            "--tokens", "64", "--batch-size", "32", "--out", str(r / "sae2"), "--no-progress"],
    "aggregate": lambda r: ["aggregate", "--store", str(r / "store"), "--layer", "1", "--out", str(r / "x.h5ad")],
    "annotate": lambda r: ["annotate", "--sae", str(r / "sae"), "--store", str(r / "store"), "--out", str(r / "ann"),
                           "--no-motifs"],
    "merge-stores": lambda r: ["merge-stores", str(r / "store"), "--out", str(r / "merged")],
}
SAE_COMMANDS = {
    "check": lambda r: ["check", str(r / "sae")],
    "aggregate": lambda r: ["aggregate", "--store", str(r / "store"), "--sae", str(r / "sae"), "--out",
                            str(r / "x.h5ad")],
    "annotate": STORE_COMMANDS["annotate"],
    "eval-sae": lambda r: ["eval-sae", "--sae", str(r / "sae"), "--store", str(r / "store")],
}

# name: (damage, commands, file named in the message, words that must appear)
CASES = {
    "truncated shard": (shard(_cut), STORE_COMMANDS, SHARD, "shard is truncated"),
    "shard with bytes appended": (shard(_grow), STORE_COMMANDS, SHARD, "shard has the wrong size"),
    "shard with a broken header": (shard(_break_header), STORE_COMMANDS, SHARD, "header is not valid JSON"),
    "shard with a flipped byte": (shard(_flip_last_byte), {k: STORE_COMMANDS[k] for k in ("check", "merge-stores")},
                                  SHARD, "shard checksum mismatch"),
    "truncated SAE weights": (weights(_cut), SAE_COMMANDS, "sae_weights.safetensors", "is truncated"),
    "SAE weights with a flipped byte": (weights(_flip_last_byte), SAE_COMMANDS, "sae_weights.safetensors",
                                        "checksum mismatch"),
    "missing completion marker": (_unfinished, {k: v for k, v in STORE_COMMANDS.items() if k != "embed"}, "store",
                                  "store is unfinished: 4 shard(s) written and no complete.json"),
    "foreign file among the shards": (_foreign, STORE_COMMANDS, "notes.txt", "foreign file in the store's shards"),
    "shard count differs from the marker": (_last_shard_gone, STORE_COMMANDS, "store",
                                            "finished store has 3 shards, complete.json says 4"),
    "marker lists other shards": (_other_count, STORE_COMMANDS, "store", "complete.json says 99"),
    "first shard missing": (_first_shard_gone, STORE_COMMANDS, "store", "shard-000000.safetensors is missing"),
    "damaged completion marker": (_broken_marker, STORE_COMMANDS, "complete.json", "complete.json is damaged"),
}
PARAMS = [(case, command) for case, (_, commands, _, _) in CASES.items() for command in commands]


def _one_error_line(argv: list[str], capsys) -> str:
    rc = run(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genolens: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(("case", "command"), PARAMS, ids=[f"{c}-{m}" for c, m in PARAMS])
def test_damaged_artefact_exits_2_with_one_line(case, command, good, tmp_path, capsys):
    damage, commands, named, words = CASES[case]
    for name in ("store", "sae", "in.fa", "more.fa"):
        (shutil.copytree if (good / name).is_dir() else shutil.copy)(good / name, tmp_path / name)
    damage(tmp_path)
    line = _one_error_line(commands[command](tmp_path), capsys)
    assert named in line and words in line, line
    assert not (tmp_path / "x.h5ad").exists() and not (tmp_path / "sae2" / "cfg.json").exists()
    assert not (tmp_path / "merged").exists()  # a failed merge leaves nothing behind


def test_the_good_artefacts_pass_check(good, capsys):
    assert run(["check", str(good / "store")]) == 0
    out = capsys.readouterr().out
    assert "ok: store format 0.4.0, finished: 4 shards, 8 sequences" in out and "4 data checksums match" in out
    assert run(["check", str(good / "sae")]) == 0
    assert "weights whole; data checksum matches" in capsys.readouterr().out


def test_a_finished_store_is_never_extended(good, tmp_path, capsys):
    shutil.copytree(good / "store", tmp_path / "store")
    before = {p: p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file()}
    line = _one_error_line(_embed(good / "more.fa", tmp_path / "store"), capsys)
    assert "store: record 'extra': the store is finished (complete.json) and is never modified" in line
    assert "merge-stores" in line
    assert {p: p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file()} == before
    assert run(_embed(good / "in.fa", tmp_path / "store")) == 0  # the same input: checked, nothing written
    assert {p: p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file()} == before


def test_a_run_that_fails_before_its_first_shard_leaves_nothing_behind(good, tmp_path, capsys):
    (tmp_path / "prot.fa").write_text(">p\nMKVLAAGIVGLLLAWQ\n")
    line = _one_error_line(_embed(tmp_path / "prot.fa", tmp_path / "st"), capsys)
    assert "reads dna sequences, got a protein sequence" in line
    assert not (tmp_path / "st").exists()
    (tmp_path / "folder.fa").mkdir()
    line = _one_error_line(_embed(tmp_path / "folder.fa", tmp_path / "st"), capsys)
    assert "folder.fa: expected a FASTA file, found a directory" in line and not (tmp_path / "st").exists()
    # a store.json left by a killed run before any shard does not block other settings either
    assert run(_embed(good / "in.fa", tmp_path / "st", "--batch-tokens", "64")) == 0
    shutil.rmtree(tmp_path / "st" / "shards")
    (tmp_path / "st" / "shards").mkdir()
    (tmp_path / "st" / "complete.json").unlink()
    assert run(_embed(good / "in.fa", tmp_path / "st")) == 0


def test_the_settings_mismatch_names_the_keys_that_differ(good, tmp_path, capsys):
    shutil.copytree(good / "store", tmp_path / "store")
    line = _one_error_line(_embed(good / "in.fa", tmp_path / "store", "--batch-tokens", "64"), capsys)
    assert "the store was made with other settings: batch_tokens: store 8192, this run 64" in line
    assert len(line) < 250


def test_a_partial_store_is_used_only_when_asked_and_says_so(good, tmp_path, capsys):
    shutil.copytree(good / "store", tmp_path / "store")
    (tmp_path / "store" / "complete.json").unlink()
    argv = ["aggregate", "--store", str(tmp_path / "store"), "--layer", "1", "--out", str(tmp_path / "x.h5ad")]
    assert run([*argv, "--allow-partial"]) == 0
    source = anndata.read_h5ad(tmp_path / "x.h5ad").uns["source"]
    assert not source["store_complete"] and source["store_shards"] == 4


def test_train_sae_says_how_many_passes_its_budget_means(good, tmp_path, capsys):
    argv = ["train-sae", "--store", str(good / "store"), "--layer", "1", "--k", "2", "--width", "16",
            "--batch-size", "64", "--heldout-fraction", "0", "--out", str(tmp_path / "sae"), "--no-progress"]
    assert run([*argv, "--tokens", "4800", "--warn-epochs", "5"]) == 0
    err = capsys.readouterr().err
    assert "4,800 tokens = 10.00 passes over the 480 training rows" in err
    assert "genolens: warning: --tokens 4,800 is 10.0 passes over the store's 480 training rows (more than 5)" in err
    cfg = json.loads((tmp_path / "sae" / "cfg.json").read_text())["genolens"]
    assert cfg["epochs"] == 10.0 and cfg["train_rows"] == 480 and cfg["store"]["complete"]
    assert run([*argv, "--tokens", "240", "--out", str(tmp_path / "sae_b")]) == 0
    err = capsys.readouterr().err
    assert "0.50 passes" in err and "warning" not in err


def test_a_damaged_training_checkpoint_is_named_on_resume(good, tmp_path, capsys):
    argv = ["train-sae", "--store", str(good / "store"), "--layer", "1", "--k", "2", "--width", "16",
            "--batch-size", "64", "--tokens", "256", "--checkpoint-every", "2", "--out", str(tmp_path / "sae"),
            "--no-progress"]
    assert run(argv) == 0
    capsys.readouterr()
    _cut(tmp_path / "sae" / "checkpoint" / "sae0.safetensors")
    assert run(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("genolens: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err  # after the line saying what it will train on
    assert "checkpoint/sae0.safetensors: training checkpoint is truncated" in errors[0]
