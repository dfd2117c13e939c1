"""Per-token activations -> per-sample AnnData (mean, max, fraction active; haplotypes summed/averaged)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import torch

from genolens.cohort.aggregate import (
    AggregationConfig,
    TokenChunk,
    aggregate_activations,
    aggregate_chunks,
    read_features,
    write_features,
)
from genolens.errors import ConfigError, InputFileError, InputFormatError, SampleMismatchError


def _tokens(seed: int = 0):
    rng = np.random.default_rng(seed)
    t, f = 600, 5
    acts = np.maximum(rng.normal(size=(t, f)), 0.0)
    samples = rng.choice(["NA1", "NA2", "NA3"], t)
    haps = rng.integers(0, 2, t)
    pos = rng.integers(1000, 2000, t)
    return acts, samples, haps, pos


def _reference(acts, samples, haps, pos, sample, stat, how, lo=None, hi=None, threshold=0.0):
    """Straightforward loop: statistic per haplotype, then combined."""
    values = []
    for h in (0, 1):
        m = (samples == sample) & (haps == h)
        if lo is not None:
            m &= (pos >= lo) & (pos < hi)
        if not m.any():
            continue
        a = acts[m]
        values.append({"mean": a.mean(0), "max": a.max(0), "frac_active": (a > threshold).mean(0)}[stat])
    return np.sum(values, axis=0) if how == "sum" else np.mean(values, axis=0)


@pytest.mark.parametrize("how", ["mean", "sum"])
def test_statistics_match_a_direct_computation(how):
    acts, samples, haps, pos = _tokens()
    config = AggregationConfig(statistics=("mean", "max", "frac_active"), threshold=0.5, haplotypes=how)
    adata = aggregate_activations(
        acts, samples=samples, haplotypes=haps, positions=pos, regions={"geneA": (1200, 1500)}, config=config
    )
    assert adata.shape == (3, 15)
    for sample in ("NA1", "NA2", "NA3"):
        for stat in config.statistics:
            cols = (adata.var["statistic"] == stat).to_numpy()
            ref = _reference(acts, samples, haps, pos, sample, stat, how, 1200, 1500, threshold=0.5)
            np.testing.assert_allclose(adata[sample].X[0, cols], ref, rtol=1e-12)
    assert adata.var_names[0] == "f0|mean|geneA"
    assert adata.uns["aggregation"]["haplotypes"] == how


def test_whole_input_default_and_torch_input():
    acts, samples, haps, pos = _tokens(1)
    from_numpy = aggregate_activations(acts, samples=samples, haplotypes=haps)
    from_torch = aggregate_activations(torch.tensor(acts, dtype=torch.float32), samples=samples, haplotypes=haps)
    np.testing.assert_allclose(from_torch.X, from_numpy.X, rtol=1e-6)
    assert list(from_numpy.var_names) == [f"f{j}" for j in range(5)]
    for sample in ("NA1", "NA2", "NA3"):
        ref = _reference(acts, samples, haps, pos, sample, "mean", "mean")
        np.testing.assert_allclose(from_numpy[sample].X[0], ref, rtol=1e-12)


def test_streamed_chunks_equal_one_shot():
    acts, samples, haps, pos = _tokens(2)
    config = AggregationConfig(statistics=("mean", "max", "frac_active"), haplotypes="sum")
    whole = aggregate_activations(acts, samples=samples, haplotypes=haps, positions=pos, config=config)
    chunks = (
        TokenChunk(acts[i : i + 97], samples[i : i + 97], haps[i : i + 97], pos[i : i + 97])
        for i in range(0, len(acts), 97)
    )
    streamed = aggregate_chunks(chunks, config=config)
    streamed = streamed[whole.obs_names]
    np.testing.assert_allclose(streamed.X, whole.X, rtol=1e-12)


def test_region_without_tokens_gives_nan_and_negative_positions_only_count_for_whole():
    acts = np.array([[1.0], [3.0], [5.0]])
    adata = aggregate_activations(acts, samples=["A", "A", "B"], positions=[10, -1, 50], regions={"r": (0, 20)})
    assert adata["A"].X[0, 0] == 1.0  # the token at -1 is outside every region
    assert np.isnan(adata["B"].X[0, 0])


def test_sample_sheet_joins_obs_and_h5ad_round_trips_through_scanpy(tmp_path):
    acts, samples, haps, _ = _tokens(3)
    sheet = pd.DataFrame({"sample": ["NA3", "NA1", "NA2", "EXTRA"], "age": [30, 40, 50, 60], "sex": list("mfmf")})
    adata = aggregate_activations(acts, samples=samples, haplotypes=haps, sample_sheet=sheet)
    assert adata.obs.loc["NA1", "age"] == 40 and "EXTRA" not in adata.obs_names
    path = tmp_path / "features.h5ad"
    write_features(adata, path=path)
    back = sc.read_h5ad(path)
    np.testing.assert_allclose(back.X, adata.X)
    assert back.uns["aggregation"]["statistics"].tolist() == ["mean"]
    assert read_features(path).shape == adata.shape


def test_error_paths(tmp_path):
    acts, samples, haps, pos = _tokens(4)
    with pytest.raises(SampleMismatchError, match="not in the sample sheet"):
        aggregate_activations(acts, samples=samples, sample_sheet=pd.DataFrame({"sample": ["NA1"], "age": [1]}))
    with pytest.raises(InputFormatError, match="one entry per token"):
        aggregate_activations(acts, samples=samples[:-1])
    with pytest.raises(InputFormatError, match="2-D"):
        aggregate_activations(acts[:, 0], samples=samples)
    with pytest.raises(ConfigError, match="positions"):
        aggregate_activations(acts, samples=samples, regions={"g": (0, 10)})
    with pytest.raises(ConfigError, match="empty or reversed"):
        aggregate_activations(acts, samples=samples, positions=pos, regions={"g": (10, 10)})
    with pytest.raises(InputFormatError, match="no tokens"):
        aggregate_chunks([])
    with pytest.raises(InputFormatError, match="features"):
        aggregate_chunks([TokenChunk(acts, samples), TokenChunk(acts[:, :2], samples)])
    with pytest.raises(ConfigError, match="feature names"):
        aggregate_activations(acts, samples=samples, feature_names=["a"])
    with pytest.raises(InputFileError, match="not found"):
        read_features(tmp_path / "missing.h5ad")
    junk = tmp_path / "junk.h5ad"
    junk.write_text("not hdf5")
    with pytest.raises(InputFormatError, match="not a readable .h5ad"):
        read_features(junk)
    empty = tmp_path / "empty.h5ad"
    ad.AnnData(X=np.zeros((0, 3))).write_h5ad(empty)
    with pytest.raises(InputFormatError, match="empty"):
        read_features(empty)


@pytest.mark.parametrize(
    "kwargs", [{"statistics": ()}, {"statistics": ("median",)}, {"statistics": ("max", "max")}, {"haplotypes": "x"}]
)
def test_aggregation_config_is_validated(kwargs):
    with pytest.raises(ConfigError):
        AggregationConfig(**kwargs)


def test_aggregated_features_feed_the_associate_command(genotypes, tmp_path):
    """Tokens of two haplotypes per real sample -> aggregate -> .h5ad -> ``genolens associate``."""
    from genolens.cli import run

    rng = np.random.default_rng(5)
    samples = genotypes.samples[:200]
    per_hap = 30
    tok_samples = np.repeat(samples, 2 * per_hap)
    tok_haps = np.tile(np.repeat([0, 1], per_hap), len(samples))
    acts = np.maximum(rng.normal(size=(tok_samples.size, 4)), 0.0)
    sample_effect = rng.normal(size=len(samples))
    acts[:, 0] += np.repeat(sample_effect, 2 * per_hap)  # feature 0 carries a per-sample signal
    sheet = genotypes.pcs.loc[samples, ["PC1", "PC2"]].copy()
    sheet["trait"] = 0.8 * sample_effect + rng.normal(size=len(samples))
    adata = aggregate_activations(
        acts,
        samples=tok_samples,
        haplotypes=tok_haps,
        feature_names=["signal", "a", "b", "c"],
        sample_sheet=sheet,
        config=AggregationConfig(statistics=("mean", "frac_active"), haplotypes="sum"),
    )
    path = tmp_path / "agg.h5ad"
    write_features(adata, path=path)
    out = tmp_path / "out"
    assert run(["associate", "--features", str(path), "--phenotype", "trait", "--pcs", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out / "associations.tsv", sep="\t").set_index("feature")
    assert table.loc["signal|mean|whole", "qvalue"] < 1e-6
    assert table.loc["signal|mean|whole", "category"] == "biomarker_candidate"
