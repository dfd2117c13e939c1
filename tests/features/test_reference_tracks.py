"""Per-base reference tracks from a store: combining shared positions, bigWig round trip, errors."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from genolens.adapters.spans import per_base
from genolens.errors import ConfigError, InputFormatError
from genolens.features.source import StoreSource
from genolens.features.tracks import (
    TrackConfig,
    check_contigs,
    feature_values,
    reference_tracks,
    select_sequences,
    unit_values,
    write_tracks,
)
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae
from genolens.store import StoreConfig, write_store

V020 = Path(__file__).resolve().parents[1] / "data" / "store_v0_2_0" / "store"
UNIT = 5


def _records() -> list[SequenceRecord]:
    rng = np.random.default_rng(0)
    seq = lambda n: "".join(rng.choice(list("ACGT"), n))  # noqa: E731
    with_insertion = np.r_[np.arange(120, 140), [-1, -1], np.arange(140, 160)]
    return [
        SequenceRecord("a1", seq(40), "dna", coords=CoordinateMap.identity("22", 100, 140), sample="A", haplotype=1),
        SequenceRecord("a2", seq(42), "dna", coords=CoordinateMap("22", "+", with_insertion), sample="A", haplotype=2),
        SequenceRecord("b1", seq(31), "dna", coords=CoordinateMap.identity("22", 99, 130, "-"), sample="B",
                       haplotype=1),
        SequenceRecord("c1", seq(20), "dna", coords=CoordinateMap.identity("21", 0, 20), sample="C", haplotype=1),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from genolens.adapters import load_adapter

    adapter = load_adapter("hyenadna-tiny")
    path = tmp_path_factory.mktemp("tracks") / "store"
    cfg = StoreConfig(model="hyenadna-tiny", family="hyenadna", layers=(1,), hidden_size=128, shard_size=40)
    write_store(_records(), adapter, path, config=cfg)
    return path


def _expected(source: StoreSource, ids: list[str], combine: str) -> dict[tuple[str, str, int], float]:
    """Independently: each record's per-base values (adapters' rule) on its own coordinate map, then combined."""
    by_pos: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    records = {r.id: r for r in _records()}
    for seq_id in ids:  # store order
        acts, spans = source.store.sequence(seq_id, 1)
        values = per_base(acts, spans.numpy(), len(records[seq_id]))[:, UNIT].double().numpy()
        coords = records[seq_id].coords
        for v, p in zip(values, coords.ref_pos, strict=True):
            if p >= 0:
                by_pos[(coords.contig, coords.strand, int(p))].append(float(v))
    pick = {"mean": np.mean, "max": np.max, "first": lambda vs: vs[0]}[combine]
    return {k: float(pick(vs)) for k, vs in by_pos.items()}


def _as_dict(result) -> dict[tuple[str, str, int], float]:
    return {(c.contig, c.strand, int(p)): float(v) for v, c in result.tracks for v, p in zip(v, c.ref_pos, strict=True)}


@pytest.mark.parametrize("combine", ["mean", "max", "first"])
def test_shared_positions_are_combined_as_asked(store, combine):
    source = StoreSource(store)
    assert source.store.n_shards == 3  # a1 | a2 | b1, c1: shared positions are combined across shards
    config = TrackConfig(combine=combine, chunk_rows=7)  # and across chunks of a shard
    result = reference_tracks(source, values=unit_values(UNIT, hidden_size=128), config=config)
    expected = _expected(source, ["a1", "a2", "b1", "c1"], combine)
    got = _as_dict(result)
    assert got.keys() == expected.keys()
    assert [got[k] for k in expected] == pytest.approx(list(expected.values()), rel=1e-6, abs=1e-9)
    # plus strand of 22: 100..159 (a1 and a2 share 120..139, a2's two inserted bases have no position)
    assert result.n_positions == 60 + 31 + 20 and result.n_shared == 20 and result.max_depth == 2
    assert [(c.contig, c.strand) for _, c in result.tracks] == [("21", "+"), ("22", "+"), ("22", "-")]
    minus = result.tracks[2][1].ref_pos
    assert minus[0] == 129 and (np.diff(minus) == -1).all()  # a minus-strand map runs down the reference


def test_selection_by_sequence_and_sample(store):
    source = StoreSource(store)
    values = unit_values(UNIT, hidden_size=128)
    one = reference_tracks(source, values=values, select=select_sequences(source, ids=["a2"]))
    assert _as_dict(one) == pytest.approx(_expected(source, ["a2"], "first"))
    assert one.n_sequences == 1 and one.n_shared == 0
    sample = reference_tracks(source, values=values, select=select_sequences(source, samples=["A"]),
                              config=TrackConfig(combine="max"))
    assert _as_dict(sample) == pytest.approx(_expected(source, ["a1", "a2"], "max"))


def test_sae_feature_track_is_the_encoding_of_the_stored_activations(store):
    source = StoreSource(store)
    sae = build_sae(make_config("topk", d_in=128, d_sae=32, k=4))
    acts, spans = source.store.sequence("b1", 1)
    codes = sae.encode(acts.float()).detach()
    feature = int(codes.sum(0).argmax())
    result = reference_tracks(source, values=feature_values(sae, feature=feature),
                              select=select_sequences(source, ids=["b1"]))
    per = per_base(codes, spans.numpy(), 31)[:, feature].numpy()
    expected = {("22", "-", 129 - i): float(v) for i, v in enumerate(per)}
    assert _as_dict(result) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert (per > 0).sum() > 0


def test_bigwig_round_trip_both_strands(store, tmp_path):
    source = StoreSource(store)
    result = reference_tracks(source, values=unit_values(UNIT, hidden_size=128))
    lengths = {"21": 1000, "22": 5000, "X": 10}
    paths = write_tracks(result, prefix=tmp_path / "t", name="L1 unit 5", contig_lengths=lengths, bigwig=True)
    assert sorted(p.name for p in paths) == ["t.minus.bedGraph", "t.minus.bw", "t.plus.bedGraph", "t.plus.bw",
                                             "t.track.json"]
    for strand in ("plus", "minus"):
        rows = [line.split("\t") for line in (tmp_path / f"t.{strand}.bedGraph").read_text().splitlines()[1:]]
        bw = pyBigWig.open(str(tmp_path / f"t.{strand}.bw"))
        try:
            contigs = sorted({r[0] for r in rows})
            assert bw.chroms() == {c: lengths[c] for c in contigs}  # the contigs with data, at their lengths
            back = [(c, s, e, v) for c in contigs for s, e, v in bw.intervals(c)]
        finally:
            bw.close()
        assert [(c, s, e) for c, s, e, _ in back] == [(r[0], int(r[1]), int(r[2])) for r in rows]
        assert [v for *_, v in back] == pytest.approx([float(r[3]) for r in rows], rel=1e-5, abs=1e-7)
        assert len(rows) > 10


def test_errors(store, tmp_path):
    source = StoreSource(store)
    with pytest.raises(ConfigError, match="combine must be one of mean, max, first, got 'median'"):
        TrackConfig(combine="median")
    with pytest.raises(ConfigError, match=r"unit must be in \[0, 128\)"):
        unit_values(128, hidden_size=128)
    with pytest.raises(ConfigError, match=r"feature must be in \[0, 32\)"):
        feature_values(build_sae(make_config("topk", d_in=128, d_sae=32, k=4)), feature=-1)
    with pytest.raises(ConfigError, match="record 'zz': sequence is not in the store"):
        select_sequences(source, ids=["a1", "zz"])
    with pytest.raises(ConfigError, match="no sequence of sample 'Q' in the store"):
        select_sequences(source, samples=["Q"])
    with pytest.raises(ConfigError, match="by ID or by sample, not both"):
        select_sequences(source, ids=["a1"], samples=["A"])
    with pytest.raises(ConfigError, match="no sequences selected"):
        reference_tracks(source, values=unit_values(0, hidden_size=128), select=np.zeros(4, dtype=bool))
    result = reference_tracks(source, values=unit_values(0, hidden_size=128))
    with pytest.raises(InputFormatError, match="contig '21' of the store is not in the reference index"):
        check_contigs(result, contig_lengths={"22": 5000}, path="ref.fa.fai")
    with pytest.raises(InputFormatError, match="positions up to 160 on '22', longer than its 150"):
        check_contigs(result, contig_lengths={"21": 20, "22": 150})
    with pytest.raises(ConfigError, match="bigWig files need the contig lengths"):
        write_tracks(result, prefix=tmp_path / "x", name="x", bigwig=True)
    with pytest.raises(ConfigError, match="format 0.2.0.* keeps no per-base reference positions"):
        reference_tracks(StoreSource(V020, layer=1), values=unit_values(0, hidden_size=8))
    from genolens.adapters import load_adapter

    plain = tmp_path / "plain"
    write_store([SequenceRecord("p", "ACGTACGTAA", "dna")], load_adapter("hyenadna-tiny"), plain,
                config=StoreConfig(model="hyenadna-tiny", family="hyenadna", layers=(1,), hidden_size=128))
    with pytest.raises(ConfigError, match="record 'p': sequence has no reference coordinates"):
        reference_tracks(StoreSource(plain), values=unit_values(0, hidden_size=128))
