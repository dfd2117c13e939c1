"""The store coupling, on the format-0.1.0 fixture store (two layers, several shards) and a reference store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genolens.errors import ConfigError
from genolens.features.concept_sets import read_concepts
from genolens.features.concepts import AlignmentConfig, align_concepts
from genolens.features.contexts import top_contexts
from genolens.features.source import StoreSource
from genolens.features.summary import summarize_features
from genolens.io.fasta import read_fasta
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "data" / "store_v0_1_0"
EXAMPLE = REPO / "data" / "example"


def test_fixture_store_rows_chunks_and_contexts_across_shards():
    with pytest.raises(ConfigError, match=r"holds layers \[1, 3\]: say which one"):
        StoreSource(FIXTURE / "store")
    with pytest.raises(ConfigError, match="layer 2 is not in the store"):
        StoreSource(FIXTURE / "store", layer=2)
    source = StoreSource(FIXTURE / "store", layer=3)
    assert source.store.n_shards >= 2 and source.n_rows == 12 + 15 + 7
    chunks = list(source.chunks(chunk_rows=5))
    assert sum(c.n_rows for c in chunks) == source.n_rows
    assert [c.first_row for c in chunks] == list(np.cumsum([0] + [c.n_rows for c in chunks[:-1]]))
    ids = source.sequences["id"].to_numpy()
    assert "".join(ids[np.concatenate([c.seq for c in chunks])]) == "a" * 12 + "b" * 15 + "c" * 7
    shard, local = source.locate(np.array([0, 11, 12, 33]))
    assert shard[0] == 0 and shard[-1] == source.store.n_shards - 1 and local[0] == 0
    torch.manual_seed(0)
    sae = build_sae(make_config("topk", d_in=8, d_sae=16, k=3))
    summary = summarize_features(source, sae=sae)
    seqs = {r.id: r.sequence for r in read_fasta(FIXTURE / "input.fa")}
    ctx = top_contexts(source, sae=sae, summary=summary, sequences=seqs, flank=2)
    for rec in ctx.itertuples():
        assert rec.bases == seqs[rec.sequence_id][rec.window_start : rec.window_end]
    assert set(ctx["sequence_id"]) == {"a", "b", "c"}
    # a 0.1.0 store keeps no bases: without the FASTA the contexts have none
    assert source.bases is None
    assert set(top_contexts(source, sae=sae, summary=summary, flank=2)["bases"]) == {""}


class Everywhere(torch.nn.Module):
    """An 'SAE' with one feature that fires on every row: precision at threshold 0 = fraction labelled."""

    cfg = type("cfg", (), {"d_sae": 1})

    def encode(self, x):
        return torch.ones(x.shape[0], 1)


def test_reference_store_is_aligned_with_gtf_labels_by_reference_position(tmp_path):
    from genolens.adapters import load_adapter
    from genolens.io.annotations import annotation_tracks
    from genolens.io.haplotypes import reference_sequences
    from genolens.io.regions import read_bed
    from genolens.store import StoreConfig, write_store

    regions = read_bed(EXAMPLE / "regions.bed")
    reference = EXAMPLE / "reference" / "GRCh37_chr22_1-22000000.fa.gz"
    adapter = load_adapter(FIXTURE / "model")
    cfg = StoreConfig(model="model", family="hyenadna", layers=(1,), hidden_size=8, shard_size=10_000)
    write_store(reference_sequences(reference, regions), adapter, tmp_path / "store", config=cfg)
    source = StoreSource(tmp_path / "store")
    extents = source.ref_extents()
    assert extents == {"22": (regions[0].start, regions[-1].end)}
    gtf = EXAMPLE / "annotation" / "hg19_chr22_refseq_16-22Mb.gtf.gz"
    concepts = read_concepts(gtf, sequence_ids=set(source.sequences["id"]), extents=extents,
                             contig_map={"22": "chr22"})
    result = align_concepts(source, sae=Everywhere(), concepts=concepts, feature_max=np.ones(1),
                            config=AlignmentConfig(thresholds=(0.0,), seed=0))
    assert result.n_rows.sum() == sum(len(r) for r in regions)  # per-base rows, all with coordinates
    for label in ("exon", "promoter", "intron"):
        c = concepts.names.index(label)
        labelled = (result.precision[:, 0, 0, c] * result.n_rows).sum()
        expected = sum(annotation_tracks(gtf, r, contig="chr22")[label].sum() for r in regions)
        assert labelled == pytest.approx(expected)
        assert expected > 0
