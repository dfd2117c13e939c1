"""Concept alignment against a brute-force reference, the held-out split, and the concept readers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from testpaths import GTF, SWISSPROT_FEATURES

from genolens.errors import ConfigError, InputFormatError
from genolens.features.concept_sets import concept_set, read_concepts, read_tsv_concepts
from genolens.features.concepts import Alignment, AlignmentConfig, align_concepts, split_sequences
from genolens.features.source import Chunk

SWISSPROT = SWISSPROT_FEATURES


class FakeSource:
    """Rows = bases of a few sequences; activations = the codes themselves (identity SAE)."""

    def __init__(self, codes: np.ndarray, lengths: list[int]):
        self.codes = codes
        self.sequences = pd.DataFrame({"id": [f"q{i}" for i in range(len(lengths))], "length": lengths,
                                       "region": [None] * len(lengths), "contig": [None] * len(lengths)})
        self.seq = np.repeat(np.arange(len(lengths)), lengths)
        self.pos = np.concatenate([np.arange(n) for n in lengths])

    def chunks(self, *, chunk_rows: int):
        for lo in range(0, len(self.seq), chunk_rows):
            sl = slice(lo, lo + chunk_rows)
            span = np.stack([self.pos[sl], self.pos[sl] + 1], axis=1)
            yield Chunk(0, lo, torch.from_numpy(self.codes[sl]), self.seq[sl], span, -np.ones_like(span))


IDENTITY = SimpleNamespace(encode=lambda x: x, cfg=SimpleNamespace(d_sae=3))


def _reference(codes, seq, pos, split, records, names, thresholds, fmax):
    """Loops: precision per row, recall per instance (merged interval), per split."""
    n_s, n_t, n_f, n_c = 2, len(thresholds), codes.shape[1], len(names)
    prec, rec = np.zeros((n_s, n_t, n_f, n_c)), np.zeros((n_s, n_t, n_f, n_c))
    for s in range(n_s):
        rows = np.nonzero(split[seq] == s)[0]
        for c, name in enumerate(names):
            inst = [(k, a, b) for k, cn, a, b in records if cn == name]
            label = np.array([any(f"q{seq[r]}" == k and a <= pos[r] < b for k, a, b in inst) for r in rows])
            seen = [(k, a, b) for k, a, b in inst if split[int(k[1:])] == s]
            for t, th in enumerate(thresholds):
                for f in range(n_f):
                    fires = codes[rows, f] > th * fmax[f]
                    prec[s, t, f, c] = (fires & label).sum() / max(fires.sum(), 1)
                    hit = [((seq == int(k[1:])) & (pos >= a) & (pos < b) & (codes[:, f] > th * fmax[f])).any()
                           for k, a, b in seen]
                    rec[s, t, f, c] = np.mean(hit) if hit else 0.0
    return prec, rec


def test_alignment_matches_brute_force():
    rng = np.random.default_rng(0)
    lengths = [30, 25, 40, 35, 20, 30]
    n = sum(lengths)
    codes = np.where(rng.random((n, 3)) < 0.3, rng.random((n, 3)), 0).astype(np.float32)
    records = [("q0", "a", 2, 8), ("q0", "a", 6, 12), ("q1", "a", 0, 5), ("q2", "b", 10, 30), ("q3", "a", 3, 4),
               ("q4", "b", 0, 20), ("q5", "a", 29, 30), ("q5", "b", 1, 9), ("q2", "a", 33, 40)]
    concepts = concept_set(records, space="sequence")
    merged = [("q0", "a", 2, 12)] + [r for r in records if r[:2] != ("q0", "a")]
    source = FakeSource(codes, lengths)
    cfg = AlignmentConfig(thresholds=(0.0, 0.5), seed=3, chunk_rows=17)
    fmax = codes.max(0)
    got = align_concepts(source, sae=IDENTITY, concepts=concepts, feature_max=fmax, config=cfg)
    split = split_sequences(source.sequences, test_fraction=0.5, seed=3)
    prec, rec = _reference(codes, source.seq, source.pos, split, merged, concepts.names, cfg.thresholds, fmax)
    np.testing.assert_allclose(got.precision, prec, atol=1e-12)
    np.testing.assert_allclose(got.recall, rec, atol=1e-12)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1), 0)
    np.testing.assert_allclose(got.f1, f1, atol=1e-12)
    best = got.best_concepts()
    for f in range(3):  # chosen on the select split, reported on the test split
        t, c = np.unravel_index(np.argmax(f1[0, :, f, :]), f1[0, :, f, :].shape)
        assert best.loc[f, "concept"] == concepts.names[c]
        assert best.loc[f, "f1_test"] == pytest.approx(f1[1, t, f, c])
    row = got.config.thresholds
    assert len(row) == 2
    rowwise = align_concepts(source, sae=IDENTITY, concepts=concepts, feature_max=fmax,
                             config=AlignmentConfig(thresholds=(0.0,), recall="row", seed=3))
    assert not np.allclose(rowwise.recall[:, 0], got.recall[:, 0])


def test_split_keeps_regions_together_and_is_seeded():
    regions = ["r1", "r1", "r2", "r2", "r3", "r3", "r4", None]
    table = pd.DataFrame({"id": [f"h{i}" for i in range(8)], "region": regions})
    split = split_sequences(table, test_fraction=0.5, seed=1)
    assert split[0] == split[1] and split[2] == split[3] and split[4] == split[5]
    assert set(split) == {0, 1}
    np.testing.assert_array_equal(split, split_sequences(table, test_fraction=0.5, seed=1))
    with pytest.raises(ConfigError, match="at least two"):
        split_sequences(table.iloc[:2], test_fraction=0.5, seed=0)


def test_alignment_config_is_validated():
    with pytest.raises(ConfigError, match="thresholds"):
        AlignmentConfig(thresholds=(1.5,))
    with pytest.raises(ConfigError, match="recall"):
        AlignmentConfig(recall="domain")
    with pytest.raises(ConfigError, match="test_fraction"):
        AlignmentConfig(test_fraction=1.0)


def test_swissprot_feature_table_reads_as_residue_concepts():
    cs = read_tsv_concepts(SWISSPROT)
    assert cs.space == "sequence"
    assert {"HELIX", "STRAND", "TRANSMEM", "DOMAIN"} <= set(cs.names)
    helix = cs.names.index("HELIX")
    table = pd.read_csv(SWISSPROT, sep="\t")
    first = table[table["feature"] == "HELIX"].iloc[0]
    a, b = int(first["start"]), int(first["end"])
    # 1-based inclusive a..b -> 0-based residues a-1 .. b-1 lie in one instance, a-2 does not (if not helix)
    pos = np.array([a - 1, b - 1])
    hit = cs.lookup(first["entry_name"], helix, pos, pos)
    assert hit[0] >= 0 and hit[0] == hit[1]
    assert (cs.instance_concepts() == helix).sum() >= 0.9 * (table["feature"] == "HELIX").sum()


def test_bed_in_sequence_coordinates_and_bad_files(tmp_path):
    bed = tmp_path / "sites.bed"
    bed.write_text("s1\t0\t5\tmotifA\ns1\t3\t9\tmotifA\ns2\t4\t6\n")
    cs = read_concepts(bed, sequence_ids={"s1", "s2"})
    assert cs.space == "sequence" and cs.names == ("motifA", "sites")
    assert cs.intervals[("s1", 0)][0].tolist() == [0] and cs.intervals[("s1", 0)][1].tolist() == [9]
    with pytest.raises(InputFormatError, match="no BED contig names a stored sequence"):
        read_concepts(bed, sequence_ids={"x"})
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tconcept\tstart\tend\nP1\thelix\t5\tfour\n")
    with pytest.raises(InputFormatError, match="line 2") as err:
        read_tsv_concepts(bad)
    assert "bad.tsv" in str(err.value)
    bad.write_text("protein\twhat\tfrom\tto\nP1\thelix\t1\t4\n")
    with pytest.raises(InputFormatError, match="header must name"):
        read_tsv_concepts(bad)
    bad.write_text("id\tconcept\tstart\tend\nP1\thelix\t0\t4\n")
    with pytest.raises(InputFormatError, match="1-based inclusive"):
        read_tsv_concepts(bad)
    other = tmp_path / "x.vcf"
    other.write_text("")
    with pytest.raises(InputFormatError, match="cannot tell the annotation format"):
        read_concepts(other, sequence_ids=set())


def test_gtf_concepts_over_reference_extents_need_an_explicit_contig_join():
    extents = {"22": (17_000_000, 17_400_000)}
    with pytest.raises(InputFormatError, match="no rows on contig '22'"):
        read_concepts(GTF, sequence_ids=set(), extents=extents)
    cs = read_concepts(GTF, sequence_ids=set(), extents=extents, contig_map={"22": "chr22"})
    assert cs.space == "reference"
    assert {"exon", "intron", "promoter", "CDS"} <= set(cs.names)
    exon = cs.names.index("exon")
    starts, ends = cs.intervals[("22", exon)]
    assert (starts >= 17_000_000).all() and (ends <= 17_400_000).all() and len(starts) > 5
    with pytest.raises(ConfigError, match="reference coordinates"):
        read_concepts(GTF, sequence_ids=set(), extents={})


def test_concepts_with_too_few_held_out_instances_are_marked():
    """F1 comes with its instances; under ``min_test_instances`` held-out ones the concept is not ranked."""
    n_t, n_f = 2, 3
    f1 = np.zeros((2, n_t, n_f, 2))
    f1[:, 1, 0, 0] = 0.78  # 'intron': one held-out instance, as in issue 13's demo
    f1[:, 1, 2, 1] = 0.4
    counts = np.array([[9, 40], [1, 37]])  # [split, concept]
    cfg = AlignmentConfig(thresholds=(0.0, 0.3), min_test_instances=5)
    al = Alignment(("intron", "exon"), f1, f1, f1, np.array([10, 10]), counts, cfg)
    bf = al.best_features().set_index("concept")
    assert bf.loc["intron", "status"] == "too few instances" and bf.loc["exon", "status"] == "ok"
    assert (bf.loc["intron", "instances_select"], bf.loc["intron", "instances_test"]) == (9, 1)
    bc = al.best_concepts().set_index("feature")
    assert bc.loc[0, "concept"] == "intron" and bc.loc[0, "status"] == "too few instances"
    assert bc.loc[0, "instances_test"] == 1 and bc.loc[2, "status"] == "ok" and bc.loc[2, "instances_test"] == 37
    assert set(al.feature_concepts(0)["status"]) == {"ok", "too few instances"}
    lenient = Alignment(al.concepts, f1, f1, f1, al.n_rows, counts, AlignmentConfig(min_test_instances=1))
    assert (lenient.best_features()["status"] == "ok").all()
    with pytest.raises(ConfigError, match="min_test_instances must be >= 1"):
        AlignmentConfig(min_test_instances=0)
