"""Make the AntiBERTy reference embeddings with the antiberty package's own runner.

The runner needs transformers<5, so run this once in a separate environment:

    python3 -m venv /tmp/tf4
    /tmp/tf4/bin/pip install torch==2.13.0 'transformers<5' antiberty==0.1.3 safetensors
    /tmp/tf4/bin/python tests/data/antiberty/make_reference.py

Made with torch 2.13.0+cpu, transformers 4.57.6, antiberty 0.1.3. Sequences: variable
domains of one therapeutic antibody (Abagovomab) from Thera-SAbDab (OPIG, CC BY 4.0; the team's
shared/data/antibodies/therasabdab copy), plus a short one with an unknown residue (X).
The runner's output per sequence is ``[layers 0..8, len + 2, 512]`` ([CLS] and [SEP]
included); we keep layers 4 and 8 and store them as ``emb_L{layer}_{i}``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from antiberty import AntiBERTyRunner
from safetensors.torch import save_file

HERE = Path(__file__).parent
SOURCE = HERE.parents[3] / "shared/data/antibodies/therasabdab/TheraSAbDab_SeqStruc_OnlineDownload.csv"
LAYERS = (4, 8)


def sequences() -> list[tuple[str, str]]:
    with SOURCE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    picked = []
    for row in rows[:1]:
        picked.append((f"{row['Therapeutic']}_HC", row["HC"].strip()))
        picked.append((f"{row['Therapeutic']}_LC", row["LC"].strip()))
    picked.append(("short_with_X", "EVQLXESGG"))
    return picked


def main() -> None:
    seqs = sequences()
    runner = AntiBERTyRunner()
    # one call with all sequences: the runner pads them together and strips padding itself
    embs = runner.embed([s for _, s in seqs], hidden_layer=None)
    tensors = {}
    for i, emb in enumerate(embs):
        assert emb.shape[1] == len(seqs[i][1]) + 2, emb.shape
        for layer in LAYERS:
            tensors[f"emb_L{layer}_{i}"] = emb[layer].float().contiguous()
    save_file(tensors, str(HERE / "reference.safetensors"))
    meta = {
        "ids": [i for i, _ in seqs],
        "sequences": [s for _, s in seqs],
        "layers": list(LAYERS),
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
    }
    (HERE / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
