"""Per-sample features from a real haplotype store, through the CLI, against a direct computation."""

from __future__ import annotations

import anndata as ad
import numpy as np
import torch

from genolens.cli import run
from genolens.sae.checkpoint import load_sae
from genolens.store.reader import ActivationStore

EX = "data/example"


def test_aggregate_haplotype_store_by_sample(tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tpheno\tsex\nHG00096\t1.5\tmale\nHG00231\t-0.2\tfemale\nNA18486\t0.3\tmale\n")
    store = tmp_path / "store"
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "1", "--reference", f"{EX}/reference/"
                "GRCh37_chr22_1-22000000.fa.gz", "--vcf", f"{EX}/genotypes/1kg_phase1_chr22_16-22Mb.vcf.gz",
                "--regions", "22:16160001-16162000", "--regions", "22:17720001-17722000",
                "--sample", "HG00096", "--sample", "HG00231", "--sample", "NA18486", "--out", str(store),
                "--quiet"]) == 0
    sae_dir = tmp_path / "sae"
    assert run(["train-sae", "--store", str(store), "--layer", "1", "--k", "8", "--width", "256",
                "--tokens", "20000", "--batch-size", "1024", "--heldout-fraction", "0", "--out", str(sae_dir),
                "--no-progress"]) == 0
    out = tmp_path / "features.h5ad"
    assert run(["aggregate", "--store", str(store), "--sae", str(sae_dir), "--sample-sheet", str(sheet),
                "--stat", "mean,max", "--out", str(out)]) == 0
    adata = ad.read_h5ad(out)
    assert list(adata.obs_names) == ["HG00096", "HG00231", "NA18486"]
    assert adata.obs.loc["HG00231", "pheno"] == -0.2
    assert adata.n_vars == 2 * 256
    # direct: mean over each haplotype's rows, then the mean of the two haplotypes
    sae = load_sae(sae_dir)
    st = ActivationStore(store)
    per_hap: dict[tuple[str, int], list[torch.Tensor]] = {}
    for shard in range(st.n_shards):
        seqs = st.shard_sequences(shard)
        feats = sae.encode(st.activations(shard, 1).float()).detach()
        for j, idx in enumerate(st.read(shard, "row.seq").numpy()):
            per_hap.setdefault((seqs[idx]["sample"], seqs[idx]["haplotype"]), []).append(feats[j])
    for sample in adata.obs_names:
        haps = [torch.stack(per_hap[(sample, h)]) for h in (1, 2)]
        expected_mean = np.mean([h.mean(0).numpy() for h in haps], axis=0)
        expected_max = np.mean([h.max(0).values.numpy() for h in haps], axis=0)
        got = adata[sample].to_df().iloc[0]
        np.testing.assert_allclose(got[[f"f{i}|mean|whole" for i in range(256)]], expected_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[[f"f{i}|max|whole" for i in range(256)]], expected_max, rtol=1e-5, atol=1e-6)
    # raw activations of a one-layer store: no --layer needed, and the same as naming it
    raw = tmp_path / "raw.h5ad"
    named = tmp_path / "raw1.h5ad"
    assert run(["aggregate", "--store", str(store), "--out", str(raw)]) == 0
    assert run(["aggregate", "--store", str(store), "--layer", "1", "--out", str(named)]) == 0
    a, b = ad.read_h5ad(raw), ad.read_h5ad(named)
    assert a.var_names[0] == "L1.d0" and a.uns["source"]["layer"] == 1
    np.testing.assert_array_equal(a.X, b.X)
