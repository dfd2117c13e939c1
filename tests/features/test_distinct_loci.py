"""Top contexts are distinct loci: the haplotypes of many people over one position count once.

A store of 12 haplotypes (6 samples) of one 160-bp reference region, most of them
identical to the reference (so one locus in many people has the same activation in
each, and would fill a top list with copies of itself), plus a few SNPs; and plain
sequences without coordinates, some identical. Real HyenaDNA-tiny activations
(the ``models`` extra), a randomly initialised SAE.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from genolens.features.annotate import AnnotateConfig, annotate_features
from genolens.features.contexts import top_contexts
from genolens.features.results import read_results
from genolens.features.source import StoreSource
from genolens.features.summary import SummaryConfig, _best_per_key, summarize_features
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.report.dashboard import write_dashboard
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae
from genolens.store import StoreConfig, write_store

START, LENGTH, N_SAMPLES = 5_000, 160, 6
TOP_N = 6


def _records() -> list[SequenceRecord]:
    rng = np.random.default_rng(3)
    reference = "".join(rng.choice(list("ACGT"), LENGTH))
    records = []
    for s in range(N_SAMPLES):
        for h in (1, 2):
            bases = list(reference)
            if s % 3 == 2 and h == 1:  # a third of the samples carry one SNP on one haplotype
                at = 40 + 17 * s
                bases[at] = "A" if bases[at] != "A" else "C"
            records.append(SequenceRecord(f"S{s}_h{h}", "".join(bases), "dna", sample=f"S{s}", haplotype=h,
                                          coords=CoordinateMap.identity("22", START, START + LENGTH)))
    other = "".join(rng.choice(list("ACGT"), 80))
    records += [SequenceRecord(f"plain{i}", other, "dna") for i in range(3)]  # identical, no coordinates
    records.append(SequenceRecord("plain_other", "".join(rng.choice(list("ACGT"), 80)), "dna"))
    return records


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from genolens.adapters import load_adapter

    adapter = load_adapter("hyenadna-tiny")
    root = tmp_path_factory.mktemp("loci")
    cfg = StoreConfig(model="hyenadna-tiny", family="hyenadna", layers=(1,), hidden_size=adapter.hidden_size,
                      shard_size=700)  # several shards: loci meet across chunks and shards
    write_store(_records(), adapter, root / "store", config=cfg)
    torch.manual_seed(0)
    sae = build_sae(make_config("topk", d_in=adapter.hidden_size, d_sae=24, k=4))
    return StoreSource(root / "store"), sae, root


def _locus(rec) -> tuple:
    return (rec.contig, rec.strand, int(rec.ref_pos)) if int(rec.ref_pos) >= 0 else (rec.bases, rec.position)


def test_top_contexts_are_distinct_loci_with_their_carriers(run):
    source, sae, _ = run
    assert source.store.n_shards > 1
    summary = summarize_features(source, sae=sae, config=SummaryConfig(top_n=TOP_N, separation=3, chunk_rows=500))
    ctx = top_contexts(source, sae=sae, summary=summary, flank=5)
    assert len(ctx) > 0
    for _, rows in ctx.groupby("feature"):
        on_ref = rows[rows["ref_pos"] >= 0]
        keys = list(zip(on_ref["contig"], on_ref["strand"], on_ref["ref_pos"], strict=True))
        assert len(keys) == len(set(keys)), "one reference locus twice in a top list"
        plain = rows[rows["ref_pos"] < 0]
        plain_keys = [(source.bases[s], p) for s, p in zip(plain["sequence_id"], plain["position"], strict=True)]
        assert len(plain_keys) == len(set(plain_keys)), "identical sequences at one position counted twice"
    # every reference locus is covered by all 12 haplotypes; the identical plain sequences by 3, the other by 1
    on_ref = ctx[ctx["ref_pos"] >= 0]
    assert len(on_ref) > 0 and (on_ref["n_sequences"] == 2 * N_SAMPLES).all()
    plain = ctx[ctx["ref_pos"] < 0]
    expected = np.where(plain["sequence_id"] == "plain_other", 1, 3)
    np.testing.assert_array_equal(plain["n_sequences"], expected)
    np.testing.assert_array_equal(plain["n_identical"], expected)
    # identical carriers, independently: the haplotypes whose bases over the same reference window are the shown ones
    haplotypes = [r for r in _records() if r.coords is not None]
    expected = [sum(h.sequence[w0 - START + ref - pos : w0 - START + ref - pos + len(b)] == b for h in haplotypes)
                for ref, pos, w0, b in zip(on_ref["ref_pos"], on_ref["position"], on_ref["window_start"],
                                           on_ref["bases"], strict=True)]
    np.testing.assert_array_equal(on_ref["n_identical"], expected)
    assert min(expected) >= 1 and max(expected) == 2 * N_SAMPLES


def test_without_keys_the_copies_would_fill_the_list(run):
    """The test above can fail: by activation alone, a feature's top rows are copies of one locus."""
    source, sae, _ = run
    chunks = list(source.chunks(chunk_rows=10_000))
    codes = torch.cat([sae.encode(c.acts).detach() for c in chunks]).numpy()
    loci = np.concatenate([c.locus for c in chunks])
    repeated = 0
    for f in np.nonzero((codes > 0).any(0))[0]:
        top = np.argsort(-codes[:, f], kind="stable")[:TOP_N]
        repeated += np.unique(loci[top]).size < TOP_N
    assert repeated > 0


def test_a_feature_page_shows_distinct_reference_loci(run):
    source, sae, root = run
    config = AnnotateConfig(summary=SummaryConfig(top_n=TOP_N, separation=3))
    folder = annotate_features(source, sae=sae, out=root / "ann", config=config)
    results = read_results(folder)
    pages = write_dashboard(results, out=root / "html", max_pages=5).parent / "features"
    checked = 0
    for page in sorted(pages.glob("feature_*.html")):
        text = page.read_text()
        refs = re.findall(r"<td>(22:[\d,]+)</td>", text)
        assert len(refs) == len(set(refs)), page.name
        checked += len(refs)
        assert "<th>sequences</th>" in text
    assert checked > 0


def test_best_per_key_matches_brute_force():
    rng = np.random.default_rng(0)
    values = torch.from_numpy(rng.normal(size=(7, 30)).astype(np.float32))
    values[values < -1] = -torch.inf
    keys = torch.from_numpy(rng.integers(0, 9, size=(7, 30)))
    top_v, pos = _best_per_key(values, keys, 4)
    for f in range(7):
        best: dict[int, float] = {}
        for v, k in zip(values[f].tolist(), keys[f].tolist(), strict=True):
            if v > best.get(k, -np.inf):
                best[k] = v
        expected = sorted((v for v in best.values() if np.isfinite(v)), reverse=True)[:4]
        got = [v for v in top_v[f].tolist() if np.isfinite(v)]
        np.testing.assert_allclose(got, expected)
        chosen = keys[f, pos[f]].tolist()[: len(got)]
        assert len(set(chosen)) == len(chosen)
        np.testing.assert_allclose(values[f, pos[f]][: len(got)], got)
