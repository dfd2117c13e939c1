"""``genolens embed``: FASTA and reference/VCF input, error exits, and resume after a kill signal."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genolens.cli import run
from genolens.store import ActivationStore


def _fasta(path: Path, n: int, *, seed: int = 0, lo: int = 300, hi: int = 900) -> Path:
    rng = random.Random(seed)
    with path.open("w") as fh:
        for i in range(n):
            seq = "".join(rng.choice("ACGT") for _ in range(rng.randint(lo, hi)))
            fh.write(f">seq{i}\n{seq[:50].lower()}{seq[50:]}\n")
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _args(fasta: Path, out: Path) -> list[str]:
    return [
        "embed",
        "--model",
        "hyenadna-tiny",
        "--layers",
        "1,-1",
        "--input",
        str(fasta),
        "--out",
        str(out),
        "--shard-size",
        "3000",
        "--batch-tokens",
        "4096",
        "--quiet",
    ]


def test_embed_fasta(tmp_path, capsys):
    fasta = _fasta(tmp_path / "in.fa", 6)
    assert run(_args(fasta, tmp_path / "st")[:-1]) == 0
    err = capsys.readouterr().err
    assert "6 sequences" in err and "tokens/s" in err and "padding waste" in err
    store = ActivationStore(tmp_path / "st")
    assert store.complete and store.layers == (1, 3) and store.config.model == "hyenadna-tiny"
    assert store.sequences["id"].tolist() == [f"seq{i}" for i in range(6)]


def test_embed_personal_haplotypes(tmp_path, kg_reference, kg_vcf):
    out = tmp_path / "st"
    code = run(
        [
            "embed",
            "--model",
            "hyenadna-tiny",
            "--layers",
            "2",
            "--reference",
            str(kg_reference),
            "--vcf",
            str(kg_vcf),
            "--regions",
            "22:17000000-17001500",
            "--sample",
            "HG00096",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    store = ActivationStore(out)
    table = store.sequences
    assert table["sample"].tolist() == ["HG00096", "HG00096"] and table["haplotype"].tolist() == [1, 2]
    assert table["per_base"].all()  # 1,501 bases on a 1,024-base model: tiled, stitched per base
    ref = store.read(0, "row.ref")
    assert ref.shape[0] == table["rows"].sum()
    assert ref[0, 0] == 16_999_999 and ref[1500, 0] == 17_001_499  # 1-based region, 0-based positions


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layers", "7"], "layer 7 does not exist"),
        (["--layers", "x"], "--layers expects integers"),
        (["--device", "tpu"], "device must be cpu or cuda"),
        (["--dtype", "float16"], "dtype must be"),
    ],
)
def test_embed_bad_options_exit_2(tmp_path, capsys, argv, message):
    fasta = _fasta(tmp_path / "in.fa", 1)
    base = ["embed", "--model", "hyenadna-tiny", "--layers", "1", "--input", str(fasta), "--out", str(tmp_path / "o")]
    i = base.index(argv[0]) if argv[0] in base else None
    args = base[:i] + argv + base[i + 2 :] if i is not None else base + argv
    assert run(args) == 2
    assert message in capsys.readouterr().err


def test_embed_input_errors_exit_2(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "1", "--out", out]) == 2
    assert "give either --input FASTA or --reference" in capsys.readouterr().err
    assert (
        run(["embed", "--model", "hyenadna-tiny", "--layers", "1", "--input", str(tmp_path / "no.fa"), "--out", out])
        == 2
    )
    assert "no.fa" in capsys.readouterr().err
    prot = tmp_path / "p.fa"
    prot.write_text(">p\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "1", "--input", str(prot), "--out", out]) == 2
    assert "reads dna sequences, got a protein sequence" in capsys.readouterr().err


def test_rerun_with_a_changed_sequence_exits_2(tmp_path, capsys):
    """An interrupted store, then input whose first sequence changed under the same ID: refused, one line."""
    fasta = _fasta(tmp_path / "in.fa", 8, seed=4)
    out = tmp_path / "st"
    assert run(_args(fasta, out)) == 0
    assert ActivationStore(out).n_shards >= 2
    (out / "complete.json").unlink()  # as if killed after the first shards
    for shard in sorted((out / "shards").glob("shard-*.safetensors"))[1:]:
        shard.unlink()
    lines = fasta.read_text().splitlines()
    lines[1] = ("C" if lines[1][60] != "C" else "G").join([lines[1][:60], lines[1][61:]])
    fasta.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert run(_args(fasta, out)) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"genolens: error: {out}: record 'seq0': sequence changed since the interrupted run"), err
    assert "use a new --out, or delete this store" in err


def test_kill_and_rerun_gives_identical_store(tmp_path):
    """SIGKILL part-way, run again: the store equals an uninterrupted run's, byte for byte."""
    fasta = _fasta(tmp_path / "in.fa", 300, seed=3)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from genolens.cli import main; main()", *_args(fasta, killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    shards = killed / "shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if shards.is_dir() and len(list(shards.glob("shard-*.safetensors"))) >= 3:
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = ActivationStore(killed, partial=True)
    assert not partial.complete and partial.n_shards >= 3

    assert run(_args(fasta, killed)) == 0
    assert run(_args(fasta, tmp_path / "once")) == 0
    once = ActivationStore(tmp_path / "once")
    assert once.n_shards > partial.n_shards
    assert not list(killed.rglob("*.tmp"))
    assert _snapshot(killed) == _snapshot(tmp_path / "once")


# Run the CLI in a process that SIGKILLs itself at one chosen moment: while the final shard is
# written (its data in the temporary file, not yet moved into place), or while complete.json is.
_KILL_AT = """
import os, signal, sys
from genolens.store import shardfile, writer
target = sys.argv.pop(1)
if target == "marker":
    write_json = writer.write_json_atomic
    def killing(path, data):
        if path.name == "complete.json":
            (path.parent / "complete.json.x.tmp").write_text("{")  # the marker half-written
            os.kill(os.getpid(), signal.SIGKILL)
        write_json(path, data)
    writer.write_json_atomic = killing
else:
    finish = shardfile.ShardFile._finish
    def killing(self):
        if self.path.name == f"shard-{int(target):06d}.safetensors":
            os.kill(os.getpid(), signal.SIGKILL)
        finish(self)
    shardfile.ShardFile._finish = killing
from genolens.cli import main
main()
"""


def test_kill_during_the_final_shard_or_the_marker_then_rerun_gives_identical_store(tmp_path):
    fasta = _fasta(tmp_path / "in.fa", 12, seed=5)
    assert run(_args(fasta, tmp_path / "once")) == 0
    n = ActivationStore(tmp_path / "once").n_shards
    assert n >= 2
    for moment, shards_left in ((str(n - 1), n - 1), ("marker", n)):
        killed = tmp_path / f"killed-{moment}"
        proc = subprocess.run([sys.executable, "-c", _KILL_AT, moment, *_args(fasta, killed)], capture_output=True)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-500:]
        assert list(killed.rglob("*.tmp"))  # what the kill left half-written
        partial = ActivationStore(killed, partial=True)
        assert not partial.complete and partial.n_shards == shards_left
        assert run(_args(fasta, killed)) == 0
        assert not list(killed.rglob("*.tmp"))
        assert _snapshot(killed) == _snapshot(tmp_path / "once")
