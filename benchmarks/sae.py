"""SAE training throughput and quality per architecture, on the same real activations.

Builds (or reuses, --store) an activation store of HyenaDNA-tiny layer 2 over windows of the bundled
GRCh37 chr22 example, then trains each architecture alone (the baseline: one pass over the data per SAE)
and all of them as one sweep (one pass feeding every SAE), and prints tokens/s, held-out metrics and the
sweep's speed-up over training them one by one.

    python benchmarks/sae.py [--tokens 600000] [--width 1024] [--k 32] [--store DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from genolens.cli import run
from genolens.sae.config import ARCHITECTURES, SAEConfig, TrainConfig
from genolens.sae.data import StoreSplit
from genolens.sae.evaluate import evaluate_sae
from genolens.sae.trainer import train_saes
from genolens.store.reader import ActivationStore

REF = Path(__file__).resolve().parents[1] / "data/example/reference/GRCh37_chr22_1-22000000.fa.gz"


def build_store(tmp: Path) -> Path:
    bed = tmp / "windows.bed"
    bed.write_text("".join(f"22\t{16_100_000 + i * 48_000}\t{16_104_000 + i * 48_000}\tw{i}\n" for i in range(120)))
    store = tmp / "store"
    rc = run(["embed", "--model", "hyenadna-tiny", "--layers", "2", "--reference", str(REF), "--regions", str(bed),
              "--out", str(store), "--shard-size", "50000", "--quiet"])
    if rc != 0:
        raise SystemExit("embedding failed")
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=600_000)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genolens-bench-sae-"))
    store = args.store or build_store(tmp)
    split = StoreSplit(ActivationStore(store), 2)
    n_train, n_held = split.n_rows()
    print(f"store {store}: {n_train:,} training rows, {n_held:,} held-out rows, device {args.device}")
    train = TrainConfig(total_tokens=args.tokens, batch_size=args.batch_size, lr=1e-3, warmup_steps=50,
                        device=args.device, checkpoint_every=10**9)
    d_in = split.store.config.hidden_size
    cfgs = [SAEConfig(architecture=a, d_in=d_in, d_sae=args.width, k=args.k, dead_after_tokens=200_000)
            for a in ARCHITECTURES]
    print(f"\n{'architecture':<12} {'tokens/s':>10} {'FVE':>7} {'L0':>7} {'dead':>7} {'dense':>7}")
    alone_s = 0.0
    for cfg in cfgs:
        t0 = time.perf_counter()
        (sae,) = train_saes(split.train_batches(batch_size=args.batch_size, seed=0), [cfg], train,
                            tmp / f"alone-{cfg.architecture}", progress=False)
        elapsed = time.perf_counter() - t0
        alone_s += elapsed
        m = evaluate_sae(sae, split.heldout_batches(), device=args.device)
        print(f"{cfg.architecture:<12} {args.tokens / elapsed:>10,.0f} {m.fve:>7.3f} {m.l0:>7.1f} "
              f"{m.dead_fraction:>7.1%} {m.dense_fraction:>7.1%}")
    t0 = time.perf_counter()
    train_saes(split.train_batches(batch_size=args.batch_size, seed=0), cfgs, train, tmp / "sweep", progress=False)
    sweep_s = time.perf_counter() - t0
    print(f"\nall {len(cfgs)} one by one (baseline): {alone_s:.1f} s; as one sweep: {sweep_s:.1f} s; "
          f"speed-up {alone_s / sweep_s:.2f}x; sweep throughput {len(cfgs) * args.tokens / sweep_s:,.0f} SAE-tokens/s")


if __name__ == "__main__":
    main()
