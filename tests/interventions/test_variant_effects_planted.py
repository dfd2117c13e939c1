"""Planted: variants that break a planted JASPAR motif move the motif's feature most; variants outside do not.

The planted-motif run (planted_motifs.py: REST sites sampled from MA0138.3 in random DNA, HyenaDNA-tiny layer 2,
a TopK SAE, ``genolens annotate``) supplies the model, the SAE and the labels. Its sequences become the
contigs of a reference; a VCF holds one SNV per REST site at the motif's most informative column (to the
base the matrix finds least likely there), and SNVs at least 25 bases from any planted site.
"""

from __future__ import annotations

import numpy as np
import pysam
import pytest
from planted_motifs import MODEL, TARGET, planted_records, site_table

from genolens.adapters.heads import language_model_head
from genolens.adapters.registry import load_adapter
from genolens.features.jaspar import EXAMPLE_JASPAR, read_jaspar
from genolens.features.results import read_results
from genolens.interventions.variant_effects import VariantEffectsConfig, variant_effects
from genolens.io.regions import Region
from genolens.sae.checkpoint import load_sae

N_CONTIGS, WIDTH = 80, 100


@pytest.fixture(scope="module")
def planted_variants(planted, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ve_planted")
    records, _ = planted_records()
    contigs = {r.id: r.sequence for r in records[:N_CONTIGS]}
    sites = site_table(planted["bed"])
    probs = np.asarray({m.id: m for m in read_jaspar(EXAMPLE_JASPAR)}[TARGET].probabilities())
    info = 2 + (probs * np.log2(np.where(probs > 0, probs, 1))).sum(1)
    col = int(info.argmax())
    rows, kinds = [], {}
    for cid, seq in contigs.items():
        here = sites[sites["sequence_id"] == cid]
        near = np.zeros(len(seq), bool)
        for s in here[here["concept"].str.startswith("planted_")].itertuples():
            near[max(0, s.start - 25) : s.end + 25] = True
        for s in here[here["concept"] == f"planted_{TARGET}"].itertuples():
            p = s.start + col
            alt = "ACGT"[int(probs[col].argmin())]
            if WIDTH // 2 <= p < len(seq) - WIDTH and alt != seq[p]:
                rows.append((cid, p, seq[p], alt, "break"))
        free = [p for p in range(WIDTH // 2, len(seq) - WIDTH) if not near[p]]
        rows += [(cid, p, seq[p], "ACGT"[("ACGT".index(seq[p]) + 1) % 4], "outside") for p in free[::40]]
    order = list(contigs)
    rows.sort(key=lambda r: (order.index(r[0]), r[1]))
    for cid, p, ref, alt, kind in rows:
        kinds[f"{cid}:{p + 1}:{ref}>{alt}"] = kind
    fa = folder / "planted.fa"
    fa.write_text("".join(f">{k}\n{v}\n" for k, v in contigs.items()))
    pysam.faidx(str(fa))
    head = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={len(s)}>" for c, s in contigs.items()),
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    vcf = folder / "planted.vcf"
    vcf.write_text("\n".join(head + [f"{c}\t{p + 1}\t.\t{r}\t{a}\t50\tPASS\t." for c, p, r, a, _ in rows]) + "\n")
    vcf = pysam.tabix_index(str(vcf), preset="vcf", force=True)
    adapter = load_adapter(MODEL)
    labels = read_results(planted["ann"]).features
    result = variant_effects(
        adapter, reference=fa, vcf=vcf, regions=[Region(c, 0, len(s)) for c, s in contigs.items()],
        head=language_model_head(adapter), sae=load_sae(planted["sae"]), labels=labels,
        config=VariantEffectsConfig(width=WIDTH),
    )
    return result, np.array([kinds[v] for v in result.table["variant"]]), labels


def test_breaking_the_motif_moves_the_motif_feature_most(planted_variants):
    result, kind, labels = planted_variants
    assert result.skipped.empty and result.meta["relative"]
    assert (kind == "break").sum() >= 50 and (kind == "outside").sum() >= 50
    moved = np.abs(result.delta_variant) / result.scale  # relative change at the variant's own base
    breaking = moved[kind == "break"].mean(0)
    top = int(breaking.argmax())
    motif_features = set(labels.loc[labels["motif_matrix_id"] == TARGET, "feature"].astype(int))
    assert top in motif_features  # the most-moved feature is one whose best JASPAR match is the planted motif
    assert breaking[top] > 1.5 * np.delete(breaking, top).max()
    # per variant, it is the reported top feature far more often than for variants outside the sites
    top_break = (result.table["top_feature"][kind == "break"] == top).mean()
    top_outside = (result.table["top_feature"][kind == "outside"] == top).mean()
    assert top_break > 0.2 and top_outside < 0.05
    assert result.table["top_label"][kind == "break"].str.contains(TARGET).mean() > top_break


def test_variants_outside_the_sites_leave_the_motif_feature_alone(planted_variants):
    result, kind, _ = planted_variants
    moved = np.abs(result.delta_variant) / result.scale
    top = int(moved[kind == "break"].mean(0).argmax())
    outside = moved[kind == "outside"].mean(0)
    assert outside[top] < 0.1 * moved[kind == "break", top].mean()
    assert int((outside > outside[top]).sum()) > len(outside) // 2  # below most features' change outside
