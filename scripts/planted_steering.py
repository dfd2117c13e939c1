"""Does steering a planted motif's feature make HyenaDNA-tiny predict the motif's next bases? (issue #18)

Uses the planted-motif run of the feature tests (tests/features/planted_motifs.py; built under ``--work``
when absent): REST (MA0138.3) and CTCF (MA0139.2) sites sampled from JASPAR in random DNA, HyenaDNA-tiny, a
TopK SAE (128 latents, k 8) at layer 2 (the run's own; its motif features from ``genolens annotate``) and one
at layer 1 (motif features: best F1 of firing against the site bases on the first 100 sequences).

For each motif feature, ``q`` is the distribution of the base that follows a position where the feature
fires inside a site (first 60 sequences). Every feature of the SAE is then steered (``--scale`` times its raw
decoder row, all rows have the same norm) at every position of ``--n`` random background sequences, and its
*gain* is the mean over positions of ``sum_b q(b) (p_after(b) - p_before(b))``: how much more probable the
motif's next bases became. Prints each motif feature's gain, its rank among all 128 features and the median.

Run: ``python scripts/planted_steering.py [--work /tmp/genolens_planted] [--n 20] [--scale 5]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import torch

from genolens.adapters import load_adapter
from genolens.adapters.heads import language_model_head
from genolens.features.results import read_results
from genolens.interventions.steer import SteerConfig, steer
from genolens.io.records import SequenceRecord
from genolens.sae.checkpoint import load_sae

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "features"))
from planted_motifs import SECOND, TARGET, annotated, build_layer_sae, planted_records, site_table  # noqa: E402


def codes(adapter, sae, rec, layer):  # noqa: ANN001, ANN201
    tok = adapter.tokenizer.encode(rec.sequence)
    out = adapter.forward(torch.from_numpy(tok.input_ids)[None], torch.ones(1, len(tok), dtype=torch.long),
                          layers=[layer])
    with torch.inference_mode():
        return sae.encode(out[layer][0].float())[torch.from_numpy(tok.spans[:, 0] >= 0)].numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/genolens_planted"))
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--scale", type=float, default=5.0)
    args = ap.parse_args()
    paths = annotated(args.work / "layer2")
    adapter = load_adapter("hyenadna-tiny")
    head = language_model_head(adapter)
    records, _ = planted_records()
    sites = site_table(paths["bed"])
    rng = random.Random(7)
    background = [SequenceRecord(f"bg{i}", "".join(rng.choice("ACGT") for _ in range(300)), "dna")
                  for i in range(args.n)]
    best = read_results(paths["ann"]).best_features.set_index("concept")
    for layer, sae in ((2, load_sae(paths["sae"])), (1, load_sae(build_layer_sae(args.work / "layer1", 1)))):
        z = {r.id: codes(adapter, sae, r, layer) for r in records[:100]}
        gains = {}
        for f in range(sae.cfg.d_sae):
            lt = steer(adapter, background, sae=sae, head=head, feature=f, config=SteerConfig(scale=args.scale)).letters
            gains[f] = (np.exp(lt["logp_after"]) - np.exp(lt["logp_before"])).to_numpy().reshape(-1, 4)
        for motif in (TARGET, SECOND):
            here = sites[sites["concept"] == f"planted_{motif}"]
            masks = {}
            for r in records[:100]:
                m = np.zeros(len(r.sequence), bool)
                for s in here[here["sequence_id"] == r.id].itertuples():
                    m[s.start : s.end] = True
                masks[r.id] = m
            if layer == 2:
                feature = int(best.loc[f"planted_{motif}", "feature"])
            else:
                fired = np.concatenate([z[r.id] > 0 for r in records[:100]])
                inside = np.concatenate([masks[r.id] for r in records[:100]])
                f1 = 2 * (fired & inside[:, None]).sum(0) / np.maximum(fired.sum(0) + inside.sum(), 1)
                feature = int(f1.argmax())
            q = np.zeros(4)
            for r in records[:60]:
                for p in np.flatnonzero((z[r.id][:, feature] > 0) & masks[r.id]):
                    if p + 1 < len(r.sequence) and masks[r.id][p + 1]:
                        q["ACGT".index(r.sequence[p + 1])] += 1
            q /= q.sum()
            score = np.array([(gains[f] @ q).mean() for f in range(sae.cfg.d_sae)])
            rank = int((score > score[feature]).sum()) + 1
            print(f"layer {layer} {motif}: feature {feature}, next-base q(ACGT) {np.round(q, 2).tolist()}, gain "
                  f"{score[feature]:+.4f}, rank {rank} of {len(score)}, median {np.median(score):+.4f}")


if __name__ == "__main__":
    main()
