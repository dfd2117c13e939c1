"""Make the Sapiens reference embeddings with the sapiens package's own runner (fairseq).

Sapiens needs fairseq, which does not install beside genolens (sapiens pins torch<2.5;
fairseq 0.12.2 does not build on Python 3.11). Run this once in a separate environment:

    python3 -m venv /tmp/fs
    /tmp/fs/bin/pip install torch==2.13.0 numpy 'cython<3' setuptools wheel
    /tmp/fs/bin/pip install --no-build-isolation fairseq-fixed==0.12.3.1 torch==2.13.0
    /tmp/fs/bin/pip install --no-deps sapiens==1.0.5 && /tmp/fs/bin/pip install pandas safetensors
    /tmp/fs/bin/python tests/data/sapiens/make_reference.py

Made with torch 2.13.0+cpu, fairseq-fixed 0.12.3.1 (fairseq 0.12 for Python 3.11),
sapiens 1.0.5. torch >= 2.6 loads checkpoints weights-only by default and fairseq's
checkpoints hold an ``argparse.Namespace``, so it is allowed here (as genolens does).
Sequences: the AntiBERTy fixture's (Abagovomab's variable domains from Thera-SAbDab,
OPIG, CC BY 4.0, and a short one with an unknown residue X, which Sapiens reads as
<mask>); heavy chains through ``sapiens-vh`` (chain type H), the light chain through
``sapiens-vl`` (L). ``predict_residue_embedding`` returns ``[layers 0..4, len, 128]``
(<s> and </s> removed); layers 0, 2 and 4 are stored as ``emb_L{layer}_{i}`` ``[len, 128]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).parent
ANTIBERTY = HERE.parent / "antiberty" / "reference.json"
LAYERS = (0, 2, 4)


def main() -> None:
    torch.serialization.add_safe_globals([argparse.Namespace])
    import fairseq
    import sapiens

    src = json.loads(ANTIBERTY.read_text())
    chains = ["H" if i.endswith("_HC") or i.startswith("short") else "L" for i in src["ids"]]
    tensors = {}
    for i, (seq, chain) in enumerate(zip(src["sequences"], chains, strict=True)):
        emb = torch.from_numpy(sapiens.predict_residue_embedding(seq, chain))
        assert emb.shape == (5, len(seq), 128), emb.shape
        for layer in LAYERS:
            tensors[f"emb_L{layer}_{i}"] = emb[layer].float().contiguous()
    save_file(tensors, str(HERE / "reference.safetensors"))
    meta = {
        "ids": src["ids"],
        "sequences": src["sequences"],
        "layers": list(LAYERS),
        "models": ["sapiens-vh" if c == "H" else "sapiens-vl" for c in chains],
        "torch": torch.__version__,
        "fairseq": fairseq.__version__,
        "sapiens": sapiens.__version__,
    }
    (HERE / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
