"""``genolens track`` on a store embedded from a reference + VCF: values at the right reference positions."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
import torch
from synthetic import row, write_reference, write_vcf

from genolens.adapters.spans import per_base
from genolens.cli import run
from genolens.io.haplotypes import build_haplotypes
from genolens.io.regions import read_bed
from genolens.provenance import Provenance
from genolens.sae.checkpoint import save_sae
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae
from genolens.store import ActivationStore

V020 = Path(__file__).resolve().parents[1] / "data" / "store_v0_2_0" / "store"
VARIANTS = [row(3, "G", "T", "1|0", "0|1"), row(10, "C", "CAAA", "1|0", "0|0"), row(40, "AAAT", "A", "0|1", "1|1")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Two samples' haplotypes (SNV, insertion, deletion) of a plus- and a minus-strand region, embedded."""
    tmp = tmp_path_factory.mktemp("track")
    paths = {"ref": write_reference(tmp), "vcf": write_vcf(tmp, VARIANTS, ["S1", "S2"]), "bed": tmp / "r.bed"}
    paths["bed"].write_text("chrT\t0\t60\tfwd\t0\t+\nchrT\t5\t50\trev\t0\t-\n")
    paths["store"] = tmp / "store"
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "1,2", "--reference", str(paths["ref"]),
                "--vcf", str(paths["vcf"]), "--regions", str(paths["bed"]), "--shard-size", "150",
                "--out", str(paths["store"]), "--quiet"]) == 0
    return paths


def _records(inputs):
    """The haplotypes rebuilt from the inputs: their coordinate maps come from io, not from the store."""
    return {r.id: r for r in build_haplotypes(inputs["ref"], inputs["vcf"], read_bed(inputs["bed"]))}


def _bedgraph(path: Path) -> dict[int, float]:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    out = {}
    for line in lines[1:]:
        contig, start, end, value = line.split("\t")
        assert contig == "chrT"
        out.update({p: float(value) for p in range(int(start), int(end))})
    return out


def _expected(inputs, ids, *, layer=1, unit=3, combine="mean", encode=None) -> dict[str, dict[int, float]]:
    """Per strand, reference position -> value, from the store's activations and io's coordinate maps."""
    store, records = ActivationStore(inputs["store"]), _records(inputs)
    values: dict[str, dict[int, list[float]]] = {"+": defaultdict(list), "-": defaultdict(list)}
    for seq_id in ids:
        acts, spans = store.sequence(seq_id, layer)
        rows = encode(acts) if encode is not None else acts[:, unit]
        rec = records[seq_id]
        per = per_base(rows[:, None], spans.numpy(), len(rec))[:, 0].double().numpy()
        for v, p in zip(per, rec.coords.ref_pos, strict=True):
            if p >= 0:
                values[rec.coords.strand][int(p)].append(float(v))
    pick = {"mean": np.mean, "max": np.max, "first": lambda vs: vs[0]}[combine]
    return {s: {p: float(pick(vs)) for p, vs in by.items()} for s, by in values.items()}


def test_one_haplotype_with_an_insertion(inputs, tmp_path):
    seq_id = "S1|hap1|fwd"  # SNV at ref 2, three bases inserted after ref 9
    assert run(["track", "--store", str(inputs["store"]), "--layer", "1", "--unit", "3", "--sequence", seq_id,
                "--out", str(tmp_path / "t")]) == 0
    assert not (tmp_path / "t.minus.bedGraph").exists()
    got = _bedgraph(tmp_path / "t.plus.bedGraph")
    expected = _expected(inputs, [seq_id])["+"]
    assert sorted(got) == list(range(60))  # 63 bases, the 3 inserted ones have no reference position
    assert [got[p] for p in range(60)] == pytest.approx([expected[p] for p in range(60)], rel=1e-5, abs=1e-6)
    meta = json.loads((tmp_path / "t.track.json").read_text())
    assert meta["n_sequences"] == 1 and meta["n_shared"] == 0 and meta["inputs"]["sequences"] == [seq_id]


def test_a_sample_combined_by_max_on_both_strands(inputs, tmp_path):
    ids = ["S2|hap1|fwd", "S2|hap2|fwd", "S2|hap1|rev", "S2|hap2|rev"]
    assert set(ids) <= set(ActivationStore(inputs["store"]).sequences["id"])
    assert run(["track", "--store", str(inputs["store"]), "--layer", "2", "--unit", "7", "--sample", "S2",
                "--combine", "max", "--out", str(tmp_path / "s2")]) == 0
    expected = _expected(inputs, ids, layer=2, unit=7, combine="max")
    for strand, name in (("+", "plus"), ("-", "minus")):
        got = _bedgraph(tmp_path / f"s2.{name}.bedGraph")
        assert got.keys() == expected[strand].keys()
        assert [got[p] for p in sorted(got)] == pytest.approx([expected[strand][p] for p in sorted(got)], rel=1e-5,
                                                              abs=1e-6)
    assert 40 not in expected["+"] and 40 not in expected["-"]  # both S2 haplotypes carry the deletion


def test_all_sequences_mean_and_bigwig(inputs, tmp_path):
    store = ActivationStore(inputs["store"])
    assert run(["track", "--store", str(inputs["store"]), "--layer", "1", "--unit", "0", "--bigwig",
                "--reference", str(inputs["ref"]), "--out", str(tmp_path / "all")]) == 0
    expected = _expected(inputs, store.sequences["id"].tolist(), unit=0)
    meta = json.loads((tmp_path / "all.track.json").read_text())
    assert meta["config"]["combine"] == "mean" and meta["n_sequences"] == 8 and meta["max_depth"] == 4
    for strand, name in (("+", "plus"), ("-", "minus")):
        got = _bedgraph(tmp_path / f"all.{name}.bedGraph")
        assert [got[p] for p in sorted(got)] == pytest.approx([expected[strand][p] for p in sorted(got)], rel=1e-5,
                                                              abs=1e-6)
        bw = pyBigWig.open(str(tmp_path / f"all.{name}.bw"))
        try:
            assert bw.chroms() == {"chrT": 60}
            back = {p: v for s, e, v in bw.intervals("chrT") for p in range(s, e)}
        finally:
            bw.close()
        assert back.keys() == got.keys()
        assert [back[p] for p in sorted(got)] == pytest.approx([got[p] for p in sorted(got)], rel=1e-5, abs=1e-7)


def test_sae_feature_track(inputs, tmp_path):
    seq_id = "S2|hap2|rev"  # minus strand, with the deletion
    sae = build_sae(make_config("topk", d_in=128, d_sae=32, k=4,
                              provenance=Provenance(model="hyenadna-tiny", layer=1)))
    save_sae(sae, tmp_path / "sae")
    acts, _ = ActivationStore(inputs["store"]).sequence(seq_id, 1)
    with torch.no_grad():
        feature = int(sae.encode(acts).sum(0).argmax())
    assert run(["track", "--store", str(inputs["store"]), "--sae", str(tmp_path / "sae"), "--feature", str(feature),
                "--sequence", seq_id, "--out", str(tmp_path / "f")]) == 0
    with torch.no_grad():
        expected = _expected(inputs, [seq_id], encode=lambda a: sae.encode(a)[:, feature])["-"]
    got = _bedgraph(tmp_path / "f.minus.bedGraph")
    assert got.keys() == expected.keys() and sum(v > 0 for v in got.values()) > 3
    assert [got[p] for p in sorted(got)] == pytest.approx([expected[p] for p in sorted(got)], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layer", "1"], "say what to draw: --layer L --unit U, or --sae DIR --feature F"),
        (["--unit", "0"], "the store holds layers [1, 2]: say which one"),
        (["--layer", "1", "--unit", "128"], "unit must be in [0, 128)"),
        (["--layer", "3", "--unit", "0"], "layer 3 is not in the store"),
        (["--layer", "1", "--unit", "0", "--feature", "2"], "--sae and --feature go together"),
        (["--layer", "1", "--unit", "0", "--combine", "median"], "combine must be one of mean, max, first"),
        (["--layer", "1", "--unit", "0", "--bigwig"], "bigWig needs a reference"),
        (["--layer", "1", "--unit", "0", "--sequence", "nope"], "record 'nope': sequence is not in the store"),
        (["--layer", "1", "--unit", "0", "--sample", "S9"], "no sequence of sample 'S9' in the store"),
        (["--layer", "1", "--unit", "0", "--sample", "S1", "--sequence", "S1|hap1|fwd"], "not both"),
        (["--layer", "1", "--unit", "0", "--reference", "FAI"], "contig 'chrT' of the store is not in the reference"),
    ],
)
def test_bad_input_exits_2(inputs, tmp_path, capsys, argv, message):
    fai = tmp_path / "other.fa.fai"
    fai.write_text("chr1\t1000\t6\t60\t61\n")
    argv = [str(fai) if a == "FAI" else a for a in argv]
    assert run(["track", "--store", str(inputs["store"]), "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genolens: error:") and "\n" not in err and message in err, err
    assert not list(tmp_path.glob("x.*"))


def test_stores_without_positions_exit_2(tmp_path, capsys):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">p\nACGTACGTACGTAAC\n")
    assert run(["embed", "--model", "hyenadna-tiny", "--layers", "1", "--input", str(fasta), "--out",
                str(tmp_path / "plain"), "--quiet"]) == 0
    assert run(["track", "--store", str(tmp_path / "plain"), "--unit", "0", "--out", str(tmp_path / "x")]) == 2
    assert "record 'p': sequence has no reference coordinates" in capsys.readouterr().err
    assert run(["track", "--store", str(V020), "--layer", "1", "--unit", "0", "--out", str(tmp_path / "x")]) == 2
    assert "the store (format 0.2.0) keeps no per-base reference positions" in capsys.readouterr().err
