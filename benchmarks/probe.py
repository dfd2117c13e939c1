"""Benchmark: the cost of probes riding along the forward pass (``genolens monitor``) vs the forward pass alone.

For the same sequences, in the same run, with the model stopped at the probe's layer both times, prints:

* seconds of the forward pass alone (``Adapter.forward`` up to the layer: early exit, inference mode);
* seconds of the same passes with the monitor's probe hooks (``genolens.probes.monitor.probe_hooks``: the
  layer's output times the stacked probe weights, kept as ``[batch, tokens, outputs]``);
* their ratio (the goal in issue #15: under 2% overhead).

The batches are padded once before timing; each measurement is the median of ``--repeat`` alternating runs,
so a shared machine slows both alike. Models: HyenaDNA-tiny (``anticapt``; random DNA) and AntiBERTy
(``antiberty``; random antibody-like protein), both real checkpoints of the ``genolens[models]`` extra.

Run: ``python benchmarks/probe.py [--n 64] [--length 1000] [--probes 3] [--repeat 5] [--models hyenadna-tiny]``.
Never run in CI; gates nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from genolens.adapters import load_adapter
from genolens.adapters.batching import pad_batch
from genolens.probes.monitor import probe_hooks
from genolens.probes.probe_file import LinearProbe
from genolens.provenance import Provenance

SETTINGS = {"hyenadna-tiny": ("ACGT", 2), "antiberty": ("ACDEFGHIKLMNPQRSTVWY", 4)}


def _batches(adapter, alphabet: str, *, n: int, length: int, batch: int):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list(alphabet), size=length)) for _ in range(n)]
    toks = [adapter.tokenizer.encode(s).input_ids for s in seqs]
    return [pad_batch(toks[i:i + batch], pad_id=adapter.tokenizer.pad_id) for i in range(0, n, batch)]


def _time(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", default="hyenadna-tiny,antiberty")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    for name in args.models.split(","):
        alphabet, layer = SETTINGS[name]
        adapter = load_adapter(name, device=args.device)
        length = min(args.length, adapter.max_tokens - 2)
        batches = _batches(adapter, alphabet, n=args.n, length=length, batch=args.batch)
        rng = np.random.default_rng(1)
        probes = [LinearProbe(target=f"p{i}", kind="binary", outputs=("yes",), level="base",
                              weight=rng.normal(size=(1, adapter.hidden_size)).astype(np.float32),
                              bias=np.zeros(1, dtype=np.float32), provenance=Provenance(layer=layer))
                  for i in range(args.probes)]

        def alone() -> None:
            for ids, mask in batches:  # noqa: B023
                adapter.forward(ids, mask, layers=[layer])  # noqa: B023

        def with_probes() -> None:
            with probe_hooks(adapter, probes):  # noqa: B023
                for ids, mask in batches:  # noqa: B023
                    adapter.forward(ids, mask, layers=[layer])  # noqa: B023

        alone()  # warm-up
        with_probes()
        a, p = [], []
        for _ in range(args.repeat):
            a.append(_time(alone))
            p.append(_time(with_probes))
            if args.device == "cuda":
                torch.cuda.synchronize()
        ma, mp = statistics.median(a), statistics.median(p)
        tokens = sum(int(mask.sum()) for _, mask in batches)
        print(f"{name}: layer {layer}, {args.n} sequences x {length} tokens ({tokens} real tokens), "
              f"{args.probes} probes, median of {args.repeat}")
        print(f"  forward alone      {ma:.3f} s")
        print(f"  forward + probes   {mp:.3f} s")
        print(f"  ratio {mp / ma:.4f} (overhead {100 * (mp / ma - 1):+.2f}%)")


if __name__ == "__main__":
    main()
