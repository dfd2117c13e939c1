"""Benchmark: the all-live-features ablation table, batched copies vs one feature at a time, in the same run.

For the same sequences and SAE, times :func:`genolens.interventions.ablate.ablate` with

* ``method="batched"``: each sequence once per group of features, the batch expanded at the SAE's layer
  into one copy per feature (plus the clean copy), pairs where the feature never fires not run;
* ``method="loop"``: per feature, one forward pass over every sequence (batched by length), the plain
  approach;

checks that both give the same table, and prints features/s of each and their ratio (goal in issue #18: >= 3x).
Each figure is the median of ``--repeat`` alternating runs (batched, loop, batched, ...), so a shared machine
slows both alike.

Two SAEs on HyenaDNA-tiny: the planted-motif run's TopK SAE (128 latents, k 8) on layer 2, its last block
(built by tests/features/planted_motifs.py under ``--work`` when absent: a store of 200 random 300-bp
sequences with planted JASPAR sites and a short training run), and a TopK SAE of the same size on layer 1
whose latents are centred activations of those sequences (no training: the timing does not depend on
what the latents mean, only on how many fire where). The layers after the SAE's are what each copy costs:
at layer 2 that is the final layer norm alone, at layer 1 one Hyena block and the norm.

Run: ``python benchmarks/ablate.py [--n 32] [--repeat 3] [--device cpu] [--work /tmp/genolens_bench_ablate]``.
Never run in CI; gates nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genolens.adapters import load_adapter
from genolens.adapters.heads import language_model_head
from genolens.interventions.ablate import AblateConfig, ablate
from genolens.io.fasta import read_fasta
from genolens.sae.checkpoint import load_sae

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interventions"))
sys.path.insert(0, str(REPO / "tests" / "adapters"))
from intervention_models import tiny_sae  # noqa: E402 - the tests' centred-activation SAE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=32, help="sequences (300 bp each)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-tokens", type=int, default=8192)
    ap.add_argument("--work", type=Path, default=Path("/tmp/genolens_bench_ablate"))
    args = ap.parse_args()
    from planted_motifs import build

    paths = build(args.work)
    adapter = load_adapter("hyenadna-tiny", device=args.device)
    head = language_model_head(adapter)
    records = list(read_fasta(paths["fasta"], alphabet="dna"))[: args.n]
    saes = {"layer 2 (planted SAE)": load_sae(paths["sae"], device=args.device),
            "layer 1 (centred-activation SAE)": tiny_sae(adapter, layer=1, d_sae=128, k=8, sample=records[:16])}
    print(f"HyenaDNA-tiny on {args.device}, {len(records)} sequences of 300 bp, torch threads "
          f"{torch.get_num_threads()}")
    for name, sae in saes.items():
        times: dict[str, list[float]] = {"batched": [], "loop": []}
        results = {}
        for _ in range(args.repeat):
            for method in ("batched", "loop"):
                config = AblateConfig(method=method, batch_tokens=args.batch_tokens)
                t0 = time.perf_counter()
                results[method] = ablate(adapter, records, sae=sae, head=head, config=config)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times[method].append(time.perf_counter() - t0)
        n_feat = len(results["batched"].table)
        diff = np.nanmax(np.abs(results["batched"].table["delta_fired"].to_numpy()
                                - results["loop"].table["delta_fired"].to_numpy()))
        med = {m: statistics.median(v) for m, v in times.items()}
        print(f"{name}: {n_feat} live features; batched {n_feat / med['batched']:.1f} features/s "
              f"({med['batched']:.2f} s, runs {', '.join(f'{t:.2f}' for t in times['batched'])}), "
              f"loop {n_feat / med['loop']:.1f} features/s ({med['loop']:.2f} s, runs "
              f"{', '.join(f'{t:.2f}' for t in times['loop'])}); ratio {med['loop'] / med['batched']:.1f}x; "
              f"max |delta_fired| difference {diff:.2e}")


if __name__ == "__main__":
    main()
