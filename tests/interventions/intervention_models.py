"""Tiny random models (causal HyenaDNA and GPT-2, masked ESM-2 and BERT), random TopK SAEs on them, and random inputs,
shared by the ablation and steering tests."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from tiny_models import make_bert_protein, make_esm2, make_gpt2, make_hyena

from genolens.adapters.heads import language_model_head
from genolens.adapters.registry import load_adapter
from genolens.io.records import SequenceRecord
from genolens.provenance import Provenance
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae

AMINO = "ACDEFGHIKLMNPQRSTVWY"
MAKERS = {"hyena": (make_hyena, "dna"), "esm": (make_esm2, "protein"), "bert": (make_bert_protein, "protein"),
          "gpt2": (make_gpt2, "protein")}


def random_records(alphabet: str, n: int, *, lo: int, hi: int, seed: int) -> list[SequenceRecord]:
    rng = random.Random(seed)
    letters = "ACGT" if alphabet == "dna" else AMINO
    return [SequenceRecord(f"r{i}", "".join(rng.choice(letters) for _ in range(rng.randint(lo, hi))), alphabet)
            for i in range(n)]


def tiny_setup(kind: str, folder: Path, *, layer: int = 1, d_sae: int = 48, k: int = 3, seed: int = 0):
    """(adapter, head, SAE at ``layer``) for a tiny random model of ``kind``."""
    make, alphabet = MAKERS[kind]
    adapter = load_adapter(str(make(folder)))
    head = language_model_head(adapter)
    sample = random_records(alphabet, 8, lo=20, hi=40, seed=seed + 100)
    return adapter, head, tiny_sae(adapter, layer=layer, d_sae=d_sae, k=k, seed=seed, sample=sample)


def tiny_sae(adapter, *, layer: int, d_sae: int = 48, k: int = 3, seed: int = 0,  # noqa: ANN001
             sample: list[SequenceRecord] = ()):
    """A TopK SAE whose latents are centred token activations of ``sample`` (so each fires on tokens like its
    own, some sequences and not others), decoder bias their mean; random when no sample is given."""
    cfg = make_config("topk", d_in=adapter.hidden_size, d_sae=d_sae, k=k, seed=seed,
                      provenance=Provenance(model=adapter.name, layer=layer))
    sae = build_sae(cfg).eval()
    if not sample:
        return sae
    rows = []
    for rec in sample:
        tok = adapter.tokenizer.encode(rec.sequence)
        out = adapter.forward(torch.from_numpy(tok.input_ids)[None], torch.ones(1, len(tok), dtype=torch.long),
                              layers=[layer])
        rows.append(out[layer][0][torch.from_numpy(tok.spans[:, 0] >= 0)].float())
    acts = torch.cat(rows)
    mu = acts.mean(0)
    g = torch.Generator().manual_seed(seed)
    pick = acts[torch.randint(len(acts), (d_sae,), generator=g)] - mu
    pick = pick + 0.05 * pick.std() * torch.randn(pick.shape, generator=g)
    w = pick / pick.norm(dim=1, keepdim=True)
    with torch.no_grad():
        sae.W_dec.copy_(w)
        sae.W_enc.copy_(w.T)
        sae.b_dec.copy_(mu)
    return sae
