"""SAE training throughput and quality: genolens against SAELens, and genolens' architecture sweep.

Default: genolens and SAELens (6.x, if installed; an optional dependency of this
benchmark only) each train a BatchTopK SAE on the same real activations
(AntiBERTy layer 4, d_in 512), with the same token budget, batch size, learning
rate and schedule, fed the same shuffled batches. Both are then judged on the
same held-out rows (whole sequences held out) by the same code: variance
explained, L0, dead fraction (never fired on the held-out rows). Runs alternate
(genolens, SAELens, genolens, SAELens, ...) because the machine may be shared,
and the ratio reported is the median of the per-pair ratios. Each tool's
tokens/s is also given as a fraction of two floors over the fp32 matmul rate
measured in the same run: the dense floor (the six products of a dense SAE step,
12·d_in·d_sae FLOPs per token) and the sparse floor (the encoder's forward,
2·d_in·d_sae, plus the products over the k active latents, 10·d_in·k).

Activations: the antibody chains of Thera-SAbDab from the team's shared data when
present (about 260k tokens), otherwise the 48 VH chains bundled in
data/example/antibodies_vh.fa; cached in a temporary folder between runs.

    python benchmarks/sae.py [--tokens 500000] [--width 4096] [--k 32] [--repeat 2] [--quick]
    python benchmarks/sae.py --sweep [--tokens 600000] [--width 1024]   # every architecture, alone vs one sweep

SAELens goes into its own environment (it pins other packages), for example:
``python3 -m venv .venv-saelens && .venv-saelens/bin/pip install torch==2.13.0 sae-lens && .venv-saelens/bin/pip
install -e '.[models]' torch==2.13.0``, then ``.venv-saelens/bin/python benchmarks/sae.py``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from genolens.sae.config import ARCHITECTURES, TrainConfig, make_config, options
from genolens.sae.trainer import train_saes

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "data/example/reference/GRCh37_chr22_1-22000000.fa.gz"
VH = ROOT / "data/example/antibodies_vh.fa"
# the team's shared data, beside the main checkout (../shared) or two levels up from a worktree (../../shared)
SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if p.is_dir()), ROOT.parent / "shared")
THERA = SHARED / "data/antibodies/therasabdab/TheraSAbDab_SeqStruc_OnlineDownload.csv"
LAYER = 4


# -- activations -------------------------------------------------------------------------------------
def antibody_records(limit: int | None):  # noqa: ANN201
    from genolens.io.fasta import read_fasta
    from genolens.io.records import SequenceRecord

    if THERA.is_file():
        with THERA.open(newline="") as fh:
            seqs = [(f"{row['Therapeutic']}_{col}", row[col].strip()) for row in csv.DictReader(fh)
                    for col in ("HC", "LC")]
        records = [SequenceRecord(i, s, "protein") for i, s in seqs if s and s.isalpha() and "X" not in s]
        source = "Thera-SAbDab (shared data)"
    else:
        records = list(read_fasta(VH, alphabet="protein"))
        source = str(VH.relative_to(ROOT))
    return records[:limit], source


def cached_activations(cache: Path, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train_rows, heldout_rows)`` of AntiBERTy layer 4; every 10th sequence is held out."""
    from safetensors.torch import load_file, save_file

    path = cache / f"antiberty_L{LAYER}_{'thera' if THERA.is_file() else 'vh48'}_{limit or 'all'}.safetensors"
    if path.is_file():
        t = load_file(str(path))
        print(f"activations from {path}")
        return t["train"], t["heldout"]
    from genolens.adapters import load_adapter

    records, source = antibody_records(limit)
    print(f"embedding {len(records)} antibody chains from {source} with AntiBERTy (layer {LAYER}) ...")
    result = load_adapter("antiberty").embed(records, layers=[LAYER])
    train, held = [], []
    for i, seq in enumerate(result.sequences):
        (held if i % 10 == 9 else train).append(seq.layers[LAYER].float())
    cache.mkdir(parents=True, exist_ok=True)
    t = {"train": torch.cat(train).contiguous(), "heldout": torch.cat(held).contiguous()}
    save_file(t, str(path))
    return t["train"], t["heldout"]


def shuffled(rows: torch.Tensor, batch_size: int, seed: int) -> Callable[[int], Iterator[torch.Tensor]]:
    """``batches(epoch)``: the rows in a seeded random order per epoch, whole batches only."""

    def batches(epoch: int) -> Iterator[torch.Tensor]:
        perm = torch.randperm(rows.shape[0], generator=torch.Generator().manual_seed(seed + epoch))
        for s in range(0, rows.shape[0] - batch_size + 1, batch_size):
            yield rows[perm[s : s + batch_size]]

    return batches


def forever(batches: Callable[[int], Iterator[torch.Tensor]]) -> Iterator[torch.Tensor]:
    epoch = 0
    while True:
        yield from batches(epoch)
        epoch += 1


@torch.no_grad()
def judge(encode: Callable, decode: Callable, held: torch.Tensor, d_sae: int) -> dict[str, float]:
    """Variance explained, L0 and dead fraction on ``held`` (one rule for both tools)."""
    sse, l0, fired = 0.0, 0.0, torch.zeros(d_sae, dtype=torch.bool)
    for x in held.split(4096):
        f = encode(x)
        sse += float((decode(f) - x).double().pow(2).sum())
        l0 += float((f > 0).sum())
        fired |= (f > 0).any(0)
    sst = float((held.double() - held.double().mean(0)).pow(2).sum())
    return {"fve": 1 - sse / sst, "l0": l0 / held.shape[0], "dead": 1 - float(fired.float().mean())}


# -- the two tools -----------------------------------------------------------------------------------
def run_genolens(train_rows, held, args, out: Path) -> tuple[float, dict]:  # noqa: ANN001
    cfg = make_config("batchtopk", d_in=train_rows.shape[1], d_sae=args.width, k=args.k)
    train = TrainConfig(total_tokens=args.tokens, batch_size=args.batch_size, lr=args.lr,
                        warmup_steps=args.warmup, checkpoint_every=10**9, init_tokens=min(65_536, len(train_rows)))
    t0 = time.perf_counter()
    (sae,) = train_saes(shuffled(train_rows, args.batch_size, 0), [cfg], train, out, progress=False, single=True)
    elapsed = time.perf_counter() - t0
    sae.eval()
    return elapsed, judge(sae.encode, sae.decode, held, args.width)


def run_saelens(train_rows, held, args, out: Path) -> tuple[float, dict]:  # noqa: ANN001
    from sae_lens import SAE
    from sae_lens.config import SAETrainerConfig
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
    from sae_lens.training.sae_trainer import SAETrainer

    steps = args.tokens // args.batch_size
    cfg = BatchTopKTrainingSAEConfig(d_in=train_rows.shape[1], d_sae=args.width, k=args.k,
                                     normalize_activations="expected_average_only_in")
    trainer_cfg = SAETrainerConfig(
        total_training_samples=steps * args.batch_size, train_batch_size_samples=args.batch_size, lr=args.lr,
        lr_warm_up_steps=args.warmup, lr_decay_steps=int(0.2 * steps), lr_end=0.0,  # decays to 0, as genolens
        n_batches_for_norm_estimate=16)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    sae = BatchTopKTrainingSAE(cfg)
    trainer = SAETrainer(trainer_cfg, sae, forever(shuffled(train_rows, args.batch_size, 0)))
    trainer.fit()
    elapsed = time.perf_counter() - t0
    sae.save_inference_model(out)  # as SAELens users load it: a JumpReLU with the learned threshold
    inference = SAE.load_from_disk(out)
    return elapsed, judge(inference.encode, inference.decode, held, args.width)


def compare(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from embed import matmul_rate

    try:
        import sae_lens
    except ImportError:
        sae_lens = None
        print("SAELens is NOT installed in this environment: genolens alone is measured, no ratio "
              "(see this script's docstring for installing sae-lens beside genolens).")
    cache = Path(tempfile.gettempdir()) / "genolens-bench-sae"
    train_rows, held = cached_activations(cache, 400 if args.quick else None)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; SAELens "
          f"{getattr(sae_lens, '__version__', 'absent')}")
    print(f"{len(train_rows):,} training rows, {len(held):,} held-out rows, d_in {train_rows.shape[1]}; "
          f"BatchTopK, {args.width} latents, k {args.k}, {args.tokens:,} tokens, batch {args.batch_size}, lr {args.lr}")
    d, f, k = train_rows.shape[1], args.width, args.k
    dense_flops, sparse_flops = 12 * d * f, 2 * d * f + 10 * d * k
    tools = {"genolens": run_genolens} | ({"SAELens": run_saelens} if sae_lens else {})
    results: dict[str, list[tuple[float, dict, float]]] = {name: [] for name in tools}
    tmp = Path(tempfile.mkdtemp(prefix="genolens-bench-sae-"))
    for rep in range(args.repeat):
        for name, fn in tools.items():
            rate = matmul_rate(0.6)[0]
            elapsed, metrics = fn(train_rows, held, args, tmp / f"{name}-{rep}")
            rate = (rate + matmul_rate(0.6)[0]) / 2
            results[name].append((elapsed, metrics, rate))
            print(f"  run {rep + 1} {name:<9} {args.tokens / elapsed:>8,.0f} tokens/s  ({elapsed:.1f} s, "
                  f"matmul {rate:.0f} GFLOP/s)")
    print(f"\n{'tool':<10}{'tokens/s':>10}{'of dense floor':>16}{'of sparse floor':>17}{'FVE':>8}{'L0':>7}{'dead':>8}")
    for name, runs in results.items():
        elapsed, metrics, rate = min(runs, key=lambda r: r[0])
        tps = args.tokens / elapsed
        dense_floor, sparse_floor = rate * 1e9 / dense_flops, rate * 1e9 / sparse_flops
        print(f"{name:<10}{tps:>10,.0f}{tps / dense_floor:>16.0%}{tps / sparse_floor:>17.0%}"
              f"{metrics['fve']:>8.3f}{metrics['l0']:>7.1f}{metrics['dead']:>8.1%}")
    if sae_lens:
        ratios = [s[0] / g[0] for g, s in zip(results["genolens"], results["SAELens"], strict=True)]
        print(f"\ngenolens / SAELens throughput: median {statistics.median(ratios):.2f}x "
              f"(per pair: {', '.join(f'{r:.2f}' for r in ratios)}); best-of-runs figures above; "
              f"floors = FLOPs per token over the fp32 matmul rate measured around each run")


# -- the architecture sweep (HyenaDNA-tiny store) ----------------------------------------------------
def build_store(tmp: Path) -> Path:
    from genolens.cli import run

    bed = tmp / "windows.bed"
    bed.write_text("".join(f"22\t{16_100_000 + i * 48_000}\t{16_104_000 + i * 48_000}\tw{i}\n" for i in range(120)))
    store = tmp / "store"
    rc = run(["embed", "--model", "hyenadna-tiny", "--layers", "2", "--reference", str(REF), "--regions", str(bed),
              "--out", str(store), "--shard-size", "50000", "--quiet"])
    if rc != 0:
        raise SystemExit("embedding failed")
    return store


def sweep(args: argparse.Namespace) -> None:
    """Each architecture alone (one pass over the data per SAE) against all of them as one sweep."""
    from genolens.sae.data import StoreSplit
    from genolens.sae.metrics import evaluate_sae
    from genolens.store.reader import ActivationStore

    tmp = Path(tempfile.mkdtemp(prefix="genolens-bench-sae-"))
    store = args.store or build_store(tmp)
    split = StoreSplit(ActivationStore(store), 2)
    n_train, n_held = split.n_rows()
    print(f"store {store}: {n_train:,} training rows, {n_held:,} held-out rows, device {args.device}")
    train = TrainConfig(total_tokens=args.tokens, batch_size=args.batch_size, lr=1e-3, warmup_steps=50,
                        device=args.device, checkpoint_every=10**9)
    d_in = split.store.config.hidden_size
    cfgs = [make_config(a, d_in=d_in, d_sae=args.width, dead_after_tokens=200_000,
                        **({"k": args.k} if "k" in options(a) else {}))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="the architecture sweep instead of the SAELens comparison")
    parser.add_argument("--quick", action="store_true",
                        help="400 chains, 150k tokens, batch 2,048, one run each (a few minutes)")
    parser.add_argument("--tokens", type=int)
    parser.add_argument("--width", type=int)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs per tool (comparison)")
    parser.add_argument("--store", type=Path, help="an existing store (sweep)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick and "--repeat" not in sys.argv:
        args.repeat = 1
    if args.sweep:
        args.tokens, args.width = args.tokens or 600_000, args.width or 1024
        args.batch_size = args.batch_size or 2048
        sweep(args)
    else:
        args.tokens = args.tokens or (150_000 if args.quick else 500_000)
        args.width, args.batch_size = args.width or 4096, args.batch_size or (2048 if args.quick else 4096)
        compare(args)


if __name__ == "__main__":
    main()
