"""Benchmark: variants scored per second by genolens' batched scorer vs a plain loop, in the same run.

For the same window pairs (built once, before timing), prints variants/s of

* genolens: :func:`genolens.adapters.zero_shot.score_pairs` (pairs batched by length up to
  ``--batch-tokens``; a causal model reads both windows of a pair in the same batch; identical inputs
  run once), which returns the score and the chosen layer's activations of both windows;
* a plain loop: per variant, one sequence per forward pass through ``Adapter.forward`` and the
  model's head, computing the same numbers: the reference and alternate windows (2 passes; for a
  causal model the LLR is read from them) and, for a masked model, the masked copy that gives the
  masked marginal (a 3rd pass);

and their ratio (the goal in issue #16: >= 3x). Each figure is the median of ``--repeat`` alternating
runs (genolens, loop, genolens, ...), so a shared machine slows both alike; the spread is printed.

Models (real checkpoints of the ``genolens[models]`` extra): HyenaDNA-tiny (causal) on SNVs and indels of
the bundled 1000 Genomes VCF, windows of ``--width`` bases from the bundled GRCh37 chr22 reference; and
AntiBERTy (masked) on random single-residue substitutions of the bundled Thera-SAbDab VH sequences.

Run: ``python benchmarks/variant_effects.py [--n 256] [--width 256] [--repeat 3] [--models hyenadna-tiny]
[--batch-tokens 8192] [--device cuda]``.
Never run in CI; gates nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genolens.adapters import load_adapter
from genolens.adapters.heads import language_model_head
from genolens.adapters.zero_shot import WindowPair, score_pairs
from genolens.interventions.variant_effects import window_pair
from genolens.io.records import SequenceRecord
from genolens.io.regions import Region
from genolens.io.windows import variant_windows

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "data/example/reference/GRCh37_chr22_1-22000000.fa.gz"
VCF = REPO / "data/example/genotypes/1kg_phase1_chr22_16-22Mb.vcf.gz"
ANTIBODIES = REPO / "data/antibodies/therasabdab/antibodies.tsv"
RESIDUES = "ACDEFGHIKLMNPQRSTVWY"


def dna_pairs(n: int, width: int) -> list[WindowPair]:
    pairs = []
    for ref, alt in variant_windows(REFERENCE, VCF, [Region("22", 16_050_000, 22_000_000)], width=width):
        pairs.append(window_pair(ref, alt))
        if len(pairs) == n:
            break
    return pairs


def protein_pairs(n: int) -> list[WindowPair]:
    rng = np.random.default_rng(0)
    seqs = [s for s in pd.read_csv(ANTIBODIES, sep="\t")["vh"].dropna() if set(s) <= set(RESIDUES)]
    pairs = []
    for i in range(n):
        seq = seqs[i % len(seqs)]
        at = int(rng.integers(0, len(seq)))
        alt = rng.choice([r for r in RESIDUES if r != seq[at]])
        pairs.append(WindowPair(SequenceRecord(f"r{i}", seq, "protein"),
                                SequenceRecord(f"a{i}", seq[:at] + alt + seq[at + 1 :], "protein"), at, 1, 1))
    return pairs


def plain_loop(adapter, pairs: list[WindowPair], head, layer: int) -> list[float]:  # noqa: ANN001
    """One sequence per forward pass: ref, alt (and the masked copy for a masked model)."""
    final = adapter.num_layers
    scores = []
    for pair in pairs:
        logps, acts = [], []
        inputs = [pair.ref.sequence, pair.alt.sequence]
        for seq in inputs:
            tok = adapter.tokenizer.encode(seq)
            ids = torch.from_numpy(tok.input_ids)[None]
            out = adapter.forward(ids, torch.ones_like(ids), layers=sorted({layer, final}))
            with torch.inference_mode():
                logps.append(torch.log_softmax(head.logits(out[final].float()), -1)[0].double())
            acts.append(out[layer][0, tok.spans[:, 0] >= 0].mean(0))
        if head.objective == "clm":
            total = []
            for seq, lp in zip(inputs, logps, strict=True):
                tok = adapter.tokenizer.encode(seq)
                real = torch.from_numpy(tok.spans[:, 0] >= 0)
                nxt = torch.from_numpy(tok.input_ids[1:].astype(np.int64))[:, None]
                # log p(token t | tokens < t), vectorised as a plain notebook would (no per-token Python)
                total.append(float(lp[:-1].gather(1, nxt)[:, 0][real[1:] & real[:-1]].sum()))
            scores.append(total[1] - total[0])
        else:
            tok = adapter.tokenizer.encode(pair.ref.sequence)
            alt_tok = adapter.tokenizer.encode(pair.alt.sequence)
            t = int(np.flatnonzero(tok.spans[:, 0] == pair.offset)[0])
            ids = torch.from_numpy(tok.input_ids.copy())[None]
            ids[0, t] = head.mask_id
            out = adapter.forward(ids, torch.ones_like(ids), layers=[final])
            with torch.inference_mode():
                lp = torch.log_softmax(head.logits(out[final].float()), -1)[0].double()
            scores.append(float(lp[t, alt_tok.input_ids[t]] - lp[t, tok.input_ids[t]]))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="variants per model")
    parser.add_argument("--width", type=int, default=256, help="DNA window width")
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default="hyenadna-tiny,antiberty")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    for name in args.models.split(","):
        adapter = load_adapter(name, device=args.device)
        head = language_model_head(adapter)
        layer = adapter.num_layers
        pairs = dna_pairs(args.n, args.width) if adapter.alphabet == "dna" else protein_pairs(args.n)
        kinds = sum(p.substitution for p in pairs)
        ours = score_pairs(adapter, pairs[:8], head=head, layer=layer)  # warm-up, and agreement below
        theirs = plain_loop(adapter, pairs[:8], head, layer)
        # the loop's masked marginal covers substitutions only
        keep = [i for i, p in enumerate(pairs[:8]) if p.substitution or head.objective == "clm"]
        diff = max(abs(ours[i].score - theirs[i]) for i in keep)
        times = {"genolens": [], "loop": []}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            score_pairs(adapter, pairs, head=head, layer=layer, batch_tokens=args.batch_tokens)
            times["genolens"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            plain_loop(adapter, pairs, head, layer)
            times["loop"].append(time.perf_counter() - t0)
        rates = {k: [len(pairs) / t for t in v] for k, v in times.items()}
        ratios = [a / b for a, b in zip(times["loop"], times["genolens"], strict=True)]
        print(f"\n{name} ({head.objective}): {len(pairs)} variants ({kinds} substitutions), "
              f"{len(pairs[0].ref)}-long windows, layer {layer}; max |score difference| vs loop {diff:.2e}")
        for k, v in rates.items():
            print(f"  {k:<9} {statistics.median(v):>9.1f} variants/s  (runs: {', '.join(f'{x:.1f}' for x in v)})")
        print(f"  ratio genolens / loop: median {statistics.median(ratios):.2f}x "
              f"(runs: {', '.join(f'{r:.2f}' for r in ratios)}; goal >= 3x)")


if __name__ == "__main__":
    main()
