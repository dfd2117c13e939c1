"""``genolens ablate`` / ``genolens steer`` / ``genolens dashboard --ablation``: output folders, the Python API
giving the same numbers, and bad input -> exit 2 with one line (the planted run's model and SAE)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tiny_models import make_hyena

import genolens as gl
from genolens.cli import run
from genolens.interventions.steer import SteerConfig
from genolens.probes.probe_file import LinearProbe, save_probe
from genolens.provenance import Provenance
from genolens.report.interventions import read_ablation


@pytest.fixture(scope="module")
def ablation_folder(planted, tmp_path_factory):
    out = tmp_path_factory.mktemp("ablate_cli") / "abl"
    code = run(["ablate", "--model", "hyenadna-tiny", "--sae", str(planted["sae"]), "--features", "all",
                "--input", str(planted["fasta"]), "--max-sequences", "6", "--tracks", "s0,s1", "--out", str(out),
                "--quiet"])
    assert code == 0
    return out


def test_ablate_writes_the_table_tracks_and_settings(ablation_folder, planted):
    table = read_ablation(ablation_folder).table
    meta = json.loads((ablation_folder / "ablation.json").read_text())
    assert gl.read_ablation(ablation_folder).meta == meta
    assert meta["encoding-type"] == "genolens-ablation" and meta["layer"] == 2 and meta["objective"] == "clm"
    assert meta["n_sequences"] == 6 and meta["features"] == "live" and len(table) == meta["n_features"] > 50
    bedgraphs = sorted((ablation_folder / "tracks").glob("*.bedGraph"))
    assert len(bedgraphs) == 2 * len(table)
    lines = (ablation_folder / "tracks" / f"s0.feature_{int(table['feature'].iloc[0])}.bedGraph").read_text()
    assert lines.startswith("track type=bedGraph") and "\ns0\t" in lines
    # the Python API gives the same table
    same = gl.tl.ablate("hyenadna-tiny", sae=planted["sae"], fasta=planted["fasta"], max_sequences=6)
    pd.testing.assert_frame_equal(same.table.reset_index(drop=True), table, rtol=1e-9, atol=1e-12)


def test_ablate_reads_a_store_and_chosen_features(planted, tmp_path):
    out = tmp_path / "from_store"
    assert run(["ablate", "--model", "hyenadna-tiny", "--sae", str(planted["sae"]), "--features", "3,17",
                "--store", str(planted["store"]), "--sequences", "s0,s5", "--out", str(out), "--quiet"]) == 0
    table = read_ablation(out / "ablation.tsv").table
    assert table["feature"].tolist() == [3, 17]
    assert json.loads((out / "ablation.json").read_text())["n_sequences"] == 2


def test_dashboard_shows_the_ablation_effect(planted, ablation_folder, tmp_path):
    html = tmp_path / "html"
    assert run(["dashboard", "--in", str(planted["ann"]), "--out", str(html), "--max-pages", "4",
                "--ablation", str(ablation_folder)]) == 0
    pages = sorted((html / "features").glob("*.html"))
    assert len(pages) == 4
    table = read_ablation(ablation_folder).table.set_index("feature")
    for page in pages:
        f = int(page.stem.split("_")[1])
        text = page.read_text()
        assert "Ablation effect" in text
        if f in table.index:
            assert "where it fires" in text and "not ablated" not in text
    plain = tmp_path / "plain"
    assert run(["dashboard", "--in", str(planted["ann"]), "--out", str(plain), "--max-pages", "1"]) == 0
    assert "Ablation effect" not in next((plain / "features").glob("*.html")).read_text()


def test_steer_writes_tables_tracks_and_plot(planted, tmp_path):
    rng = np.random.default_rng(0)
    probe = LinearProbe(target="toy", kind="regression", outputs=("toy",), weight=rng.normal(size=(1, 128)),
                        bias=np.zeros(1), level="sequence", provenance=Provenance(model="hyenadna-tiny", layer=2))
    save_probe(probe, tmp_path / "probe")
    out = tmp_path / "steer"
    assert run(["steer", "--model", "hyenadna-tiny", "--sae", str(planted["sae"]), "--feature", "5",
                "--scale", "4", "--positions", "10,11,12", "--input", str(planted["fasta"]), "--max-sequences", "2",
                "--probe", str(tmp_path / "probe"), "--out", str(out)]) == 0
    for name in ("steer_positions.tsv", "steer_letters.tsv", "probes.tsv", "steer.json", "steer_s0.png",
                 "tracks/s0.bedGraph"):
        assert (out / name).is_file(), name
    positions = pd.read_csv(out / "steer_positions.tsv", sep="\t")
    moved = positions[positions["delta_base"] != 0]
    assert set(moved["position"]) <= {11, 12, 13} and len(moved) > 0  # the tokens after the steered ones
    assert (out / "steer_s0.png").read_bytes().startswith(b"\x89PNG")
    probes = pd.read_csv(out / "probes.tsv", sep="\t")
    assert len(probes) == 2 and (probes["delta"] != 0).all()
    meta = json.loads((out / "steer.json").read_text())
    assert meta["feature"] == 5 and meta["direction_norm"] > 0
    back = gl.read_steer(out)
    pd.testing.assert_frame_equal(back.positions, positions)
    assert np.nanmax(np.abs(back.track("s0"))) > 0 and back.meta["feature"] == 5
    assert gl.pl.steer(back, sequence="s1").get_title().startswith("s1")
    # the plot through gl.pl
    result = gl.tl.steer("hyenadna-tiny", sae=planted["sae"], feature=5, fasta=planted["fasta"], max_sequences=1,
                         config=SteerConfig(clamp=2.0))
    ax = gl.pl.steer(result)
    assert len(ax.get_yticklabels()) == 8


def _one_line_error(capsys, argv, needle):
    code = run(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("genolens: error:") and "\n" not in err and "Traceback" not in err
    assert needle in err, err


def test_error_paths(planted, tmp_path, capsys):
    fasta = str(planted["fasta"])
    other = make_hyena(tmp_path / "other_model")
    base = ["--sae", str(planted["sae"]), "--out", str(tmp_path / "o")]
    _one_line_error(capsys, ["ablate", "--model", str(other), *base, "--input", fasta], "does not match the model")
    _one_line_error(capsys, ["ablate", "--model", "hyenadna-tiny", *base], "exactly one input")
    _one_line_error(capsys, ["ablate", "--model", "hyenadna-tiny", *base, "--input", fasta, "--features", "1,x"],
                    "--features takes comma-separated int")
    _one_line_error(capsys, ["ablate", "--model", "hyenadna-tiny", *base, "--input", fasta, "--features", "9999",
                             "--max-sequences", "1"], "out of range")
    _one_line_error(capsys, ["ablate", "--model", "hyenadna-tiny", *base, "--input", fasta, "--features", " , "],
                    "the list of features to ablate is empty")
    _one_line_error(capsys, ["steer", "--model", "hyenadna-tiny", *base, "--input", fasta, "--feature", "1",
                             "--scale", "1", "--clamp", "2"], "exactly one of a scale")
    _one_line_error(capsys, ["steer", "--model", "hyenadna-tiny", *base, "--input", fasta, "--feature", "1",
                             "--scale", "1", "--later-sae", str(planted["sae"]), "--max-sequences", "1"],
                    "not after the steered layer")
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n")
    _one_line_error(capsys, ["dashboard", "--in", str(planted["ann"]), "--out", str(tmp_path / "h"),
                             "--ablation", str(tmp_path / "bad.tsv")], "not an ablation table")
