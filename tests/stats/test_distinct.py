"""Distinct haplotypes embedded once (genolens sequences --distinct) give the per-sample features of all copies.

Checked on a synthetic stream (exact) and on real dense 1000 Genomes haplotypes over a partial reference
(HyenaDNA-tiny): the features aggregated from the distinct store through the carriers table equal those of
the store holding every sample's two haplotypes.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genolens.cli import run
from genolens.cohort.aggregate import AggregationConfig, TokenChunk, aggregate_chunks
from genolens.errors import InputFormatError, SampleMismatchError
from genolens.io.coordtable import read_with_sidecar
from genolens.io.distinct import read_carriers

DENSE = "data/dense"
REGIONS = "data/dense/gene_windows.bed"


def test_carriers_expansion_equals_aggregating_every_copy():
    rng = np.random.default_rng(0)
    n_seq, f = 5, 7
    lengths = rng.integers(20, 40, size=n_seq)
    acts = [rng.gamma(1.0, size=(m, f)) * (rng.random((m, f)) < 0.4) for m in lengths]
    pos = [np.arange(m) + 100 * (k % 2) for k, m in enumerate(lengths)]
    carriers = pd.DataFrame([(f"s{k}", f"p{i}", h) for i in range(12) for h in (1, 2)
                             for k in [rng.integers(n_seq)]], columns=["sequence_id", "sample", "haplotype"])
    carriers = pd.concat([carriers, pd.DataFrame({"sequence_id": [f"s{k}" for k in range(n_seq)],
                                                  "sample": "p0", "haplotype": 3})], ignore_index=True)
    regions = {"a": (0, 30), "b": (100, 125)}
    config = AggregationConfig(statistics=("mean", "max", "frac_active"), threshold=0.5)
    distinct = aggregate_chunks([TokenChunk(acts[k], [f"s{k}"] * lengths[k], None, pos[k]) for k in range(n_seq)],
                                regions=regions, config=config, carriers=carriers)
    copies = [TokenChunk(acts[int(q[1:])], [s] * lengths[int(q[1:])], [h] * lengths[int(q[1:])], pos[int(q[1:])])
              for q, s, h in carriers.itertuples(index=False)]
    full = aggregate_chunks(copies, regions=regions, config=config)
    assert list(distinct.obs_names) == list(full.obs_names) and list(distinct.var_names) == list(full.var_names)
    np.testing.assert_allclose(distinct.X, full.X, rtol=1e-12)
    assert distinct.uns["aggregation"]["distinct_sequences"] == n_seq
    with pytest.raises(SampleMismatchError, match="no carrier"):
        aggregate_chunks([TokenChunk(acts[0], ["s0"] * lengths[0], None, pos[0])], regions=regions,
                         carriers=carriers[carriers["sequence_id"] != "s0"])
    with pytest.raises(SampleMismatchError, match="not embedded"):
        aggregate_chunks([TokenChunk(acts[0], ["s0"] * lengths[0], None, pos[0])], regions=regions, carriers=carriers)
    with pytest.raises(InputFormatError, match="sample and haplotype of its own"):
        aggregate_chunks([TokenChunk(acts[0], ["s0"] * lengths[0], [1] * lengths[0], pos[0])], carriers=carriers)


@pytest.fixture(scope="module")
def dense_pair(tmp_path_factory):
    """Both haplotypes of 12 samples over two dense windows: every copy, and each distinct haplotype once."""
    tmp = tmp_path_factory.mktemp("distinct")
    sheet = pd.read_csv(f"{DENSE}/samples.tsv", sep="\t").head(12)
    sheet.to_csv(tmp / "sheet.tsv", sep="\t", index=False)
    bed = tmp / "regions.bed"
    # SELO promoter and body (the promoter holds N: trimmed)
    bed.write_text("".join(Path(REGIONS).read_text().splitlines(keepends=True)[14:16]))
    common = ["--reference", f"{DENSE}/reference/GRCh37_chr22_50-51.3Mb.fa.gz", "--vcf",
              f"{DENSE}/genotypes/chr22_50.24-51.24Mb.1kgp3.geuvadis445.phased.vcf.gz", "--regions", str(bed),
              "--sample-sheet", str(tmp / "sheet.tsv"), "--n-policy", "trim", "--n-min-length", "500",
              "--no-progress"]
    assert run(["sequences", *common, "--out", str(tmp / "all.fa")]) == 0
    assert run(["sequences", *common, "--distinct", "--out", str(tmp / "distinct.fa")]) == 0
    return tmp, sheet


def test_distinct_sequences_and_carriers_rebuild_every_haplotype(dense_pair):
    tmp, sheet = dense_pair
    every = {(r.sample, r.haplotype, r.region): r for r in read_with_sidecar(tmp / "all.fa")}
    distinct = {r.id: r for r in read_with_sidecar(tmp / "distinct.fa")}
    carriers = read_carriers(tmp / "distinct.carriers.tsv")
    assert len(carriers) == len(every) == 12 * 2 * 2
    for seq_id, sample, hap in carriers.itertuples(index=False):
        rec = distinct[seq_id]
        copy = every[(sample, hap, rec.region)]
        assert rec.sequence == copy.sequence
        np.testing.assert_array_equal(rec.coords.ref_pos, copy.coords.ref_pos)
    for region in {r.region for r in every.values()}:
        n_unique = len({r.sequence for r in every.values() if r.region == region})
        assert sum(r.region == region for r in distinct.values()) == n_unique
    assert len(distinct) < len(every)


def test_features_from_the_distinct_store_equal_those_of_every_copy(dense_pair):
    tmp, _ = dense_pair
    out = {}
    for name in ("all", "distinct"):
        store = tmp / f"{name}.store"
        assert run(["embed", "--model", "hyenadna-tiny", "--layers", "2", "--input", str(tmp / f"{name}.fa"),
                    "--out", str(store), "--quiet"]) == 0
        extra = ["--carriers", str(tmp / "distinct.carriers.tsv")] if name == "distinct" else []
        assert run(["aggregate", "--store", str(store), "--layer", "2", "--sample-sheet", str(tmp / "sheet.tsv"),
                    "--stat", "mean,max", "--regions", str(tmp / "distinct.windows.bed"), *extra,
                    "--out", str(tmp / f"{name}.h5ad")]) == 0
        out[name] = ad.read_h5ad(tmp / f"{name}.h5ad")
    a, b = out["all"], out["distinct"]
    assert list(a.var_names) == list(b.var_names)
    b = b[a.obs_names]
    np.testing.assert_allclose(b.X, a.X, rtol=1e-4, atol=1e-5)  # float32 activations, batched differently
    assert a.obs.equals(b.obs)
