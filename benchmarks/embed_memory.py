"""Benchmark: peak memory of ``genolens embed`` against sequence length (1 kb to 10 Mb).

For one random DNA sequence of each length, embedded with the real HyenaDNA-tiny
(``hyenadna-tiny``, offline; its last layer, float32) into a new store, prints the
peak resident memory (``ru_maxrss`` of a fresh process that runs ``write_store``, what
``genolens embed`` runs; with ``--device cuda`` also the peak GPU memory torch allocated)
and the store's size, for two settings measured in the same run:

* ``streamed``: the default ``--shard-size`` (100,000 bases); a longer sequence
  streams into its shard window by window, so peak memory should stay flat;
* ``in memory`` (the baseline): ``--shard-size`` above the sequence length, so the
  sequence is embedded whole before its shard is written (what every length did before
  streaming); skipped above 1 Mb unless ``--baseline-max`` says otherwise.

The ratio column is peak memory over the 1 kb run's peak of the same setting (1.0 =
flat). Run: ``python benchmarks/embed_memory.py`` (1 kb to 1 Mb, a few minutes) or
``--max-length 10000000`` (adds 10 Mb: about 5 GB of disk for the store, written to a
temporary folder and deleted). It needs ``genolens[models]``; it gates nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys
import torch
from genolens.adapters import load_adapter
from genolens.io.records import SequenceRecord
from genolens.store import StoreConfig, write_store
model, device, seq_path, out, shard_size = sys.argv[1:]
adapter = load_adapter(model, device=device)
record = SequenceRecord("chunk", open(seq_path).read().strip(), "dna")
cfg = StoreConfig(model=model, family=adapter.family, layers=tuple(adapter.check_layers([-1])),
                  hidden_size=adapter.hidden_size, shard_size=int(shard_size))
write_store([record], adapter, out, config=cfg)
gpu = torch.cuda.max_memory_allocated() if device == "cuda" else 0
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, gpu)
"""
LENGTHS = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)


def _sequence(path: Path, length: int, seed: int) -> Path:
    rng = random.Random(seed)
    path.write_text("".join(rng.choices("ACGT", k=length)) + "\n")
    return path


def _measure(model: str, device: str, seq: Path, out: Path, shard_size: int) -> tuple[float, float, float, float]:
    """(peak RSS MiB, peak GPU MiB, store MiB, seconds) of one store written in a fresh process."""
    args = [model, device, str(seq), str(out), str(shard_size)]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    line = [x for x in proc.stdout.splitlines() if x.startswith("PEAK_KB")]
    if proc.returncode or not line:
        raise SystemExit(f"embed failed: {proc.stderr[-2000:]}")
    peak_mib, gpu_mib = int(line[0].split()[1]) / 1024, int(line[0].split()[2]) / 2**20
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    shutil.rmtree(out)
    return peak_mib, gpu_mib, size, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-length", type=int, default=1_000_000, help="longest sequence (10000000 for 10 Mb)")
    parser.add_argument("--baseline-max", type=int, default=1_000_000, help="longest in-memory baseline run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="hyenadna-tiny", help="model name or checkpoint folder")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--tmp", default=None, help="folder for the stores (default: the system's temporary folder)")
    opts = parser.parse_args()
    lengths = [n for n in LENGTHS if n <= opts.max_length]
    print(f"{opts.model} on {opts.device}")
    print(f"{'length':>12} {'setting':>10} {'peak MiB':>9} {'x 1 kb':>7} {'GPU MiB':>8} {'store MiB':>10} "
          f"{'seconds':>8}")
    with tempfile.TemporaryDirectory(dir=opts.tmp) as tmp:
        first: dict[str, float] = {}
        for length in lengths:
            seq = _sequence(Path(tmp) / f"seq{length}.txt", length, opts.seed)
            settings = [("streamed", 100_000)]
            if length <= opts.baseline_max:
                settings.append(("in memory", length + 1))
            for name, shard_size in settings:
                peak, gpu, size, seconds = _measure(opts.model, opts.device, seq, Path(tmp) / "store", shard_size)
                first.setdefault(name, peak)
                print(f"{length:>12,} {name:>10} {peak:>9,.0f} {peak / first[name]:>7.2f} {gpu:>8,.0f} "
                      f"{size:>10,.1f} {seconds:>8.1f}", flush=True)
            seq.unlink()


if __name__ == "__main__":
    main()
