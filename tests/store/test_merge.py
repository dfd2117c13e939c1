"""Stores embedded in parallel over FASTA shards merge into the store of one run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from genolens.adapters.hyena import HyenaAdapter
from genolens.cli import run
from genolens.errors import ConfigError
from genolens.io.records import SequenceRecord
from genolens.store import VERSION, write_store
from genolens.store.merge import merge_stores
from genolens.store.reader import ActivationStore

V020 = Path(__file__).resolve().parents[1] / "data" / "store_v0_2_0"

EX = "data/example"


def test_split_embed_merge_equals_single_run(tmp_path):
    fa = tmp_path / "hap.fa"
    assert run(["sequences", "--reference", f"{EX}/reference/GRCh37_chr22_1-22000000.fa.gz", "--vcf",
                f"{EX}/genotypes/1kg_phase1_chr22_16-22Mb.vcf.gz", "-r", "22:16160001-16161500",
                "--samples", "HG00096,HG00231,NA18486", "--out", str(fa)]) == 0
    assert run(["split-fasta", "--in", str(fa), "--shards", "2", "--out-dir", str(tmp_path / "shards")]) == 0
    assert (tmp_path / "shards" / "shard-001.coords.tsv").is_file()
    common = ["--model", "hyenadna-tiny", "--layers", "1", "--shard-size", "2000", "--quiet"]
    for i in range(2):
        assert run(["embed", "--input", str(tmp_path / "shards" / f"shard-{i:03d}.fa"),
                    "--out", str(tmp_path / f"st{i}"), *common]) == 0
    assert run(["merge-stores", str(tmp_path / "st0"), str(tmp_path / "st1"), "--out", str(tmp_path / "merged")]) == 0
    assert run(["embed", "--input", str(fa), "--out", str(tmp_path / "single"), *common]) == 0
    merged, single = ActivationStore(tmp_path / "merged"), ActivationStore(tmp_path / "single")
    assert merged.config == single.config and merged.complete
    meta = ["id", "length", "rows", "contig", "strand", "sample", "haplotype", "region"]
    assert merged.sequences[meta].equals(single.sequences[meta])  # same sequences, same order
    assert merged.version == single.version == VERSION and merged.has_bases
    assert merged.sequences["sha256"].tolist() == single.sequences["sha256"].tolist()
    for seq_id in single.sequences["id"]:
        a, spans_a = merged.sequence(seq_id, 1)
        b, spans_b = single.sequence(seq_id, 1)
        assert torch.equal(a, b) and torch.equal(spans_a, spans_b)
        assert merged.bases(seq_id) == single.bases(seq_id) and len(merged.bases(seq_id)) > 1400
        assert np.array_equal(merged.base_ref(seq_id), single.base_ref(seq_id))
    # the coordinate sidecar travelled: personal sequences keep reference positions and sample names
    st = merged
    assert (st.read(0, "row.ref")[:, 0] >= 16_160_000).all()
    assert {s["sample"] for s in st.shard_sequences(0)} <= {"HG00096", "HG00231", "NA18486"}


def test_merge_refuses_duplicates_and_existing_output(tmp_path):
    fa = tmp_path / "a.fa"
    fa.write_text(">a\nACGTACGTAC\n>b\nGGGGCCCCAA\n")
    assert run(["embed", "--input", str(fa), "--out", str(tmp_path / "s"), "--model", "hyenadna-tiny",
                "--layers", "1", "--quiet"]) == 0
    with pytest.raises(ConfigError, match="more than one store"):
        merge_stores([tmp_path / "s", tmp_path / "s"], tmp_path / "m")
    with pytest.raises(ConfigError, match="already exists"):
        merge_stores([tmp_path / "s"], tmp_path / "s")


def test_merge_refuses_stores_of_different_formats(tmp_path):
    """Same model and settings as the 0.2.0 fixture, written now: shards of both cannot share a store."""
    old = ActivationStore(V020 / "store")
    adapter = HyenaAdapter.from_pretrained(V020.parent / "store_v0_1_0" / "model")
    write_store([SequenceRecord("new", "ACGTTGCA", "dna")], adapter, tmp_path / "new", config=old.config)
    with pytest.raises(ConfigError, match=r"store format 0\.4\.0 differs from .*'s 0\.2\.0"):
        merge_stores([V020 / "store", tmp_path / "new"], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_split_fasta_refuses_more_shards_than_sequences(tmp_path, capsys):
    fa = tmp_path / "a.fa"
    fa.write_text(">a\nACGT\n>b\nGGCC\n")
    assert run(["split-fasta", "--in", str(fa), "--shards", "3", "--out-dir", str(tmp_path / "s")]) == 2
    assert "2 sequences, fewer than the 3 shards asked for" in capsys.readouterr().err
    assert run(["split-fasta", "--in", str(fa), "--shards", "0", "--out-dir", str(tmp_path / "s")]) == 2
