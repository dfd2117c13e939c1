"""Planted: variants that break a planted JASPAR motif move the motif's feature most; variants outside do not.

The planted-motif run (planted_motifs.py: REST sites sampled from MA0138.3 in random DNA, HyenaDNA-tiny layer 2,
a TopK SAE, ``genolens annotate``) supplies the model, the SAE and the labels. Its sequences become the
contigs of a reference; a VCF holds one SNV per REST site at the motif's most informative column (to the
base the matrix finds least likely there), and SNVs at least 25 bases from any planted site.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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
HELD_OUT_SEED = 21  # sequences of their own, not the SAE's training ones nor those the default span was chosen on


def _write_inputs(prefix, contigs: dict[str, str], rows: list[tuple]) -> tuple:  # noqa: ANN001
    """The contigs as an indexed FASTA and the rows ``(contig, 0-based pos, ref, alt, kind)`` as an indexed VCF."""
    fa = prefix.with_suffix(".fa")
    fa.write_text("".join(f">{k}\n{v}\n" for k, v in contigs.items()))
    pysam.faidx(str(fa))
    head = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={len(s)}>" for c, s in contigs.items()),
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    vcf = prefix.with_suffix(".vcf")
    vcf.write_text("\n".join(head + [f"{c}\t{p + 1}\t.\t{r}\t{a}\t50\tPASS\t." for c, p, r, a, _ in rows]) + "\n")
    return fa, pysam.tabix_index(str(vcf), preset="vcf", force=True)


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
    fa, vcf = _write_inputs(folder / "planted", contigs, rows)
    adapter = load_adapter(MODEL)
    labels = read_results(planted["ann"]).features
    result = variant_effects(
        adapter, reference=fa, vcf=vcf, regions=[Region(c, 0, len(s)) for c, s in contigs.items()],
        head=language_model_head(adapter), sae=load_sae(planted["sae"]), labels=labels,
        config=VariantEffectsConfig(width=WIDTH, rank_by="variant"),
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


@pytest.fixture(scope="module")
def held_out_variants(planted, tmp_path_factory):
    """Held-out sequences (their own seed); SNVs at the motif's two most informative columns, and far from sites."""
    folder = tmp_path_factory.mktemp("ve_held_out")
    records, bed = planted_records(seed=HELD_OUT_SEED)
    contigs = {r.id: r.sequence for r in records[:60]}
    sites = [line.split("\t") for line in bed]
    probs = np.asarray({m.id: m for m in read_jaspar(EXAMPLE_JASPAR)}[TARGET].probabilities())
    info = 2 + (probs * np.log2(np.where(probs > 0, probs, 1))).sum(1)
    columns = [int(c) for c in np.argsort(-info)[:2]]
    rows = set()
    for cid, seq in contigs.items():
        near = np.zeros(len(seq), bool)
        for sid, start, end, concept in sites:
            if sid == cid and concept.startswith("planted_"):
                near[max(0, int(start) - 25) : int(end) + 25] = True
            if sid == cid and concept == f"planted_{TARGET}":
                for j, col in enumerate(columns):
                    p, alt = int(start) + col, "ACGT"[int(probs[col].argmin())]
                    if WIDTH // 2 <= p < len(seq) - WIDTH and alt != seq[p]:
                        rows.add((cid, p, seq[p], alt, f"column{j}"))
        free = [p for p in range(WIDTH // 2, len(seq) - WIDTH) if not near[p]]
        rows |= {(cid, p, seq[p], "ACGT"[("ACGT".index(seq[p]) + 1) % 4], "outside") for p in free[::40]}
    order = list(contigs)
    rows = sorted(rows, key=lambda r: (order.index(r[0]), r[1]))
    fa, vcf = _write_inputs(folder / "held_out", contigs, rows)
    kinds = {f"{c}:{p + 1}:{r}>{a}": k for c, p, r, a, k in rows}
    adapter = load_adapter(MODEL)
    labels = read_results(planted["ann"]).features
    result = variant_effects(adapter, reference=fa, vcf=vcf, regions=None, head=language_model_head(adapter),
                             sae=load_sae(planted["sae"]), labels=labels, config=VariantEffectsConfig(width=WIDTH))
    motif_features = sorted(set(labels.loc[labels["motif_matrix_id"] == TARGET, "feature"].astype(int)))
    return result, np.array([kinds[v] for v in result.table["variant"]]), motif_features


def _motif_rank(result, motif_features: list[int]) -> np.ndarray:
    """Per variant, the best rank (1 = most moved) of any motif feature by the default ranking's change."""
    moved = np.abs(result.delta_window) / result.scale
    return np.array([min(int(np.flatnonzero(np.argsort(-m, kind="stable") == f)[0]) for f in motif_features) + 1
                     for m in moved])


def test_a_variant_anywhere_in_the_motif_surfaces_its_feature(held_out_variants):
    """Ranked by the change near the variant (the default), the motif's feature is among the 3 most moved for a
    variant at either of the motif's two most informative columns in about half the cases or more (seed 21:
    47% and 53%; at the variant's own base only it was 60% and 0% on seed 11), against far fewer for variants
    far from every site."""
    result, kind, motif_features = held_out_variants
    assert result.meta["ranked_by"] == "window" and result.meta["config"]["span"] == 4
    rank = _motif_rank(result, motif_features)
    in_top3 = {k: float((rank[kind == k] <= 3).mean()) for k in ("column0", "column1", "outside")}
    print("motif feature in the top 3:", in_top3, {k: int((kind == k).sum()) for k in in_top3})
    assert min((kind == k).sum() for k in in_top3) >= 40
    assert (in_top3["column0"] + in_top3["column1"]) / 2 > 0.45 and min(in_top3["column0"], in_top3["column1"]) > 0.4
    assert in_top3["outside"] < 0.5 * min(in_top3["column0"], in_top3["column1"])
    # tiny changes are not listed
    listed = pd.concat([result.table["top_lost"], result.table["top_gained"]]).str.split(";").explode().dropna()
    listed = listed[listed != ""].map(lambda x: float(x.split(":")[1]))
    assert len(listed) and (listed.abs() > result.meta["config"]["min_change"]).all()


def test_variants_far_from_every_site_move_the_motif_feature_less(held_out_variants):
    """Far from every planted site the motif's features still move where random DNA half-matches the motif (they
    fire there too), but less than where a site is broken (seed 21: median 0.13 vs 0.36 of the feature's max)."""
    result, kind, motif_features = held_out_variants
    moved = (np.abs(result.delta_window) / result.scale)[:, motif_features].max(1)
    outside, breaking = moved[kind == "outside"], moved[np.isin(kind, ["column0", "column1"])]
    print("motif feature change outside: median", np.median(outside), "p95", np.quantile(outside, 0.95),
          "at sites: median", np.median(breaking))
    assert (kind == "outside").sum() >= 50
    assert np.median(outside) < 0.5 * np.median(breaking) and np.mean(outside) < 0.7 * np.mean(breaking)
