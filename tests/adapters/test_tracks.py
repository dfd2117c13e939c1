"""bedGraph tracks: right reference intervals, merged runs, inserted bases dropped, one file per strand."""

from __future__ import annotations

import numpy as np
import pytest

from genolens.adapters import load_adapter
from genolens.adapters.tracks import intervals, unit_track, write_bedgraph, write_stranded_bedgraphs
from genolens.errors import ConfigError, InputFormatError
from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord


def test_intervals_plus_strand_with_insertion_and_deletion():
    # bases at ref 100,101, an inserted base, then 102 deleted: 103,104
    coords = CoordinateMap("22", "+", np.array([100, 101, -1, 103, 104]))
    table = intervals(np.array([1.0, 1.0, 9.0, 2.0, np.nan]), coords)
    assert table.values.tolist() == [["22", 100, 102, 1.0], ["22", 103, 104, 2.0]]


def test_intervals_minus_strand_run_backwards():
    coords = CoordinateMap.identity("22", 10, 14, strand="-")  # sequence base 0 is ref 13
    table = intervals(np.array([4.0, 3.0, 3.0, 1.0]), coords)
    assert table.values.tolist() == [["22", 10, 11, 1.0], ["22", 11, 13, 3.0], ["22", 13, 14, 4.0]]


def test_stranded_files(tmp_path):
    plus = (np.array([0.5, 0.25]), CoordinateMap.identity("22", 5, 7))
    minus = (np.array([1.0, 2.0, 3.0]), CoordinateMap.identity("22", 20, 23, strand="-"))
    paths = write_stranded_bedgraphs(tmp_path / "L3u7", [minus, plus], name="L3 unit 7")
    lines_plus = paths["+"].read_text().splitlines()
    lines_minus = paths["-"].read_text().splitlines()
    assert paths["+"].name == "L3u7.plus.bedGraph" and paths["-"].name == "L3u7.minus.bedGraph"
    assert lines_plus[0].startswith("track type=bedGraph") and "(+)" in lines_plus[0]
    assert lines_plus[1:] == ["22\t5\t6\t0.5", "22\t6\t7\t0.25"]
    assert lines_minus[1:] == ["22\t20\t21\t3", "22\t21\t22\t2", "22\t22\t23\t1"]


def test_errors(tmp_path):
    a = (np.ones(3), CoordinateMap.identity("22", 0, 3))
    b = (np.ones(3), CoordinateMap.identity("22", 2, 5))
    with pytest.raises(InputFormatError, match="overlap"):
        write_bedgraph(tmp_path / "x.bedGraph", [a, b], name="x")
    with pytest.raises(ConfigError, match="one strand"):
        write_bedgraph(tmp_path / "x.bedGraph", [a, (np.ones(3), CoordinateMap.identity("22", 9, 12, "-"))], name="x")
    with pytest.raises(ConfigError, match="expected 3 per-base values"):
        intervals(np.ones(2), a[1])


def test_unit_track_from_kmer_model(nt_dir, tmp_path):
    """A 6-mer model's unit over a minus-strand sequence: each token's value on its 6 reference bases."""
    seq = "ACGTACGGATCCAN"
    rec = SequenceRecord("r", seq, "dna", coords=CoordinateMap.identity("22", 1000, 1000 + len(seq), strand="-"))
    acts = load_adapter(nt_dir).embed([rec], layers=[2]).sequences[0]
    values, coords = unit_track(acts, layer=2, unit=3)
    paths = write_stranded_bedgraphs(tmp_path / "t", [(values, coords)], name="L2u3")
    rows = [line.split("\t") for line in paths["-"].read_text().splitlines()[1:]]
    # tokens: ACGTAC, GGATCC, A, N -> 4 intervals; first token covers the 6 highest reference positions
    assert [(int(r[1]), int(r[2])) for r in rows] == [(1000, 1001), (1001, 1002), (1002, 1008), (1008, 1014)]
    assert float(rows[-1][3]) == pytest.approx(float(acts.layers[2][0, 3]), rel=1e-5)
    with pytest.raises(ConfigError, match="no reference coordinates"):
        unit_track(
            load_adapter(nt_dir).embed([SequenceRecord("x", seq, "dna")], layers=[2]).sequences[0], layer=2, unit=0
        )
