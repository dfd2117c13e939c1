"""A planted-motif benchmark: random DNA with JASPAR motifs at known positions, a tiny model, a small SAE.

Sites of the target motif (REST, MA0138.3) are sampled from its JASPAR matrix, sites
of a second motif (CTCF, MA0139.2) likewise, two of each per sequence at recorded,
non-overlapping positions; a third track of random intervals is a concept no
feature should own. The model is the real HyenaDNA-tiny (436k parameters, the
``models`` extra, as the store tests use): its layer-2 per-base activations are
written with the real store writer, and a TopK SAE is trained on them with the
real trainer. A randomly initialised tiny HyenaDNA (d_model 32, 2 blocks) was tried
first: its random long filters mix far context into every position, and the
best planted-motif feature reached a held-out F1 of only ~0.45 even with exact
consensus sites (vs ~0.9 with the pretrained model on consensus sites, ~0.45-0.5
on the sampled sites used here), so the pretrained one is used.
Everything is built once per test session under ``root`` (reused when present).
"""

from __future__ import annotations

import random
from pathlib import Path

from genolens.features.jaspar import EXAMPLE_JASPAR, read_jaspar

TARGET, SECOND = "MA0138.3", "MA0139.2"
N_SEQ, LENGTH, SITES = 200, 300, 2
LAYER = 2
MODEL = "hyenadna-tiny"


def _sample(motif, rng: random.Random) -> str:
    probs = motif.probabilities()
    return "".join(rng.choices("ACGT", weights=col)[0] for col in probs)


def planted_records(seed: int = 0):
    """The records and the BED lines of every planted site (sequence coordinates)."""
    from genolens.io.records import SequenceRecord

    motifs = {m.id: m for m in read_jaspar(EXAMPLE_JASPAR)}
    rng = random.Random(seed)
    records, bed = [], []
    for i in range(N_SEQ):
        seq = [rng.choice("ACGT") for _ in range(LENGTH)]
        used: list[tuple[int, int]] = []
        for mid in (TARGET, SECOND):
            for _ in range(SITES):
                site = _sample(motifs[mid], rng)
                while True:
                    p = rng.randrange(0, LENGTH - len(site))
                    if all(p + len(site) <= a or p >= b for a, b in used):
                        break
                used.append((p, p + len(site)))
                seq[p : p + len(site)] = site
                bed.append(f"s{i}\t{p}\t{p + len(site)}\tplanted_{mid}")
        for _ in range(SITES):
            p = rng.randrange(0, LENGTH - 20)
            bed.append(f"s{i}\t{p}\t{p + 20}\trandom_intervals")
        records.append(SequenceRecord(f"s{i}", "".join(seq), "dna"))
    return records, bed


def build(root: Path) -> dict[str, Path]:
    """Make (or reuse) FASTA, BED, model, store and SAE under ``root``; returns their paths."""
    paths = {
        "fasta": root / "planted.fa", "bed": root / "planted.bed", "model": root / "model",
        "store": root / "store", "sae_dir": root / "sae",
    }
    if (root / "done").exists():
        paths["sae"] = next(p for p in paths["sae_dir"].iterdir() if (p / "cfg.json").is_file())
        return paths
    from genolens.adapters import load_adapter
    from genolens.provenance import Provenance
    from genolens.sae.config import TrainConfig, make_config
    from genolens.sae.trainer import train_saes
    from genolens.store import ActivationStore, ShuffledLoader, StoreConfig, write_store

    root.mkdir(parents=True, exist_ok=True)
    records, bed = planted_records()
    paths["fasta"].write_text("".join(f">{r.id}\n{r.sequence}\n" for r in records))
    paths["bed"].write_text("\n".join(bed) + "\n")
    adapter = load_adapter(MODEL)
    config = StoreConfig(model=MODEL, family=adapter.family, layers=(LAYER,),
                         hidden_size=adapter.hidden_size, shard_size=30_000)
    write_store(records, adapter, paths["store"], config=config)
    loader = ShuffledLoader(ActivationStore(paths["store"]), layer=LAYER, batch_size=1024, seed=0, buffer_rows=30_000)
    sae_cfg = make_config("topk", d_in=adapter.hidden_size, d_sae=128, k=8,
                        provenance=Provenance(model=MODEL, layer=LAYER))
    train = TrainConfig(total_tokens=1024 * 400, batch_size=1024, lr=3e-3, warmup_steps=20, init_tokens=8192)
    (sae,) = train_saes(loader.epoch, [sae_cfg], train, paths["sae_dir"], progress=False)
    paths["sae"] = paths["sae_dir"] / sae.cfg.name
    (root / "done").write_text("ok\n")
    return paths


def build_layer_sae(root: Path, layer: int) -> Path:
    """A store of the same planted records at another ``layer`` and a TopK SAE trained on it (same settings as
    :func:`build`), under ``root`` (reused when present); returns the SAE folder."""
    from genolens.adapters import load_adapter
    from genolens.provenance import Provenance
    from genolens.sae.config import TrainConfig, make_config
    from genolens.sae.trainer import train_saes
    from genolens.store import ActivationStore, ShuffledLoader, StoreConfig, write_store

    if (root / "done").exists():
        return next(p for p in (root / "sae").iterdir() if (p / "cfg.json").is_file())
    root.mkdir(parents=True, exist_ok=True)
    records, _ = planted_records()
    adapter = load_adapter(MODEL)
    config = StoreConfig(model=MODEL, family=adapter.family, layers=(layer,), hidden_size=adapter.hidden_size,
                         shard_size=30_000)
    write_store(records, adapter, root / "store", config=config)
    loader = ShuffledLoader(ActivationStore(root / "store"), layer=layer, batch_size=1024, seed=0, buffer_rows=30_000)
    sae_cfg = make_config("topk", d_in=adapter.hidden_size, d_sae=128, k=8,
                          provenance=Provenance(model=MODEL, layer=layer))
    train = TrainConfig(total_tokens=1024 * 400, batch_size=1024, lr=3e-3, warmup_steps=20, init_tokens=8192)
    (sae,) = train_saes(loader.epoch, [sae_cfg], train, root / "sae", progress=False)
    (root / "done").write_text("ok\n")
    return root / "sae" / sae.cfg.name


def site_table(bed_path: Path):
    """The planted sites as a DataFrame (sequence_id, start, end, concept)."""
    import pandas as pd

    return pd.read_csv(bed_path, sep="\t", header=None, names=["sequence_id", "start", "end", "concept"])



def annotated(root: Path) -> dict[str, Path]:
    """:func:`build`, then ``genolens annotate`` on it (through the CLI) into ``root/ann``."""
    from genolens.cli import run

    paths = build(root)
    paths["ann"] = root / "ann"
    if not (paths["ann"] / "annotate.json").is_file():
        code = run([
            "annotate", "--sae", str(paths["sae"]), "--store", str(paths["store"]),
            "--annotations", str(paths["bed"]), "--sequences", str(paths["fasta"]), "--out", str(paths["ann"]),
            "--max-motif-features", "24", "--shuffles", "50",
        ])
        assert code == 0, "annotate failed on the planted run"
    return paths
