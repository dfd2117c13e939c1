"""Saturation mutagenesis: every cell equals the pair scored alone; tracks, folder, plot, CLI and errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from test_variant_effects import SEQ, _layer0_sae, _own_causal_log_prob, write_reference  # noqa: E402
from tiny_models import make_hyena, make_nt  # noqa: E402

import genolens as gl  # noqa: E402
from genolens.adapters.heads import language_model_head  # noqa: E402
from genolens.adapters.registry import load_adapter  # noqa: E402
from genolens.adapters.zero_shot import WindowPair, score_pairs  # noqa: E402
from genolens.cli import run  # noqa: E402
from genolens.errors import ConfigError  # noqa: E402
from genolens.interventions.ism import BASES, IsmConfig, ism  # noqa: E402
from genolens.io.records import SequenceRecord  # noqa: E402
from genolens.io.regions import Region  # noqa: E402
from genolens.report.ism import read_ism, write_ism  # noqa: E402
from genolens.sae.checkpoint import save_sae  # noqa: E402

START, END, FLANK = 60, 72, 10


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ism")
    return folder, write_reference(folder, {"chrT": SEQ}), make_hyena(folder / "hyena")


def test_causal_cells_equal_the_models_own_llr(setup):
    _, ref, model = setup
    adapter = load_adapter(str(model))
    result = ism(adapter, reference=ref, region=Region("chrT", START, END), head=language_model_head(adapter),
                 config=IsmConfig(flank=FLANK, chunk=7))
    window = SEQ[START - FLANK : END + FLANK]
    base = _own_causal_log_prob(adapter, window)
    m = result.effects["score"]
    assert m.shape == (END - START, 4) and result.method == "llr"
    for i in range(END - START):
        at = FLANK + i
        for j, alt in enumerate(BASES):
            if alt == window[at]:
                assert m[i, j] == 0
            else:
                mutated = window[:at] + alt + window[at + 1 :]
                assert m[i, j] == pytest.approx(_own_causal_log_prob(adapter, mutated) - base, abs=1e-4)
    track = result.track()
    assert np.allclose(np.abs(track), np.abs(m).max(1)) and (np.sign(track) == np.sign(m[np.arange(len(m)),
                                                             np.abs(m).argmax(1)])).all()


def test_masked_cells_equal_each_pair_scored_alone(tmp_path):
    """One masked copy per base scores its three substitutions: the same numbers as scoring each pair alone."""
    adapter = load_adapter(str(make_nt(tmp_path / "nt")))
    ref = write_reference(tmp_path, {"chrT": SEQ})
    head = language_model_head(adapter)
    result = ism(adapter, reference=ref, region=Region("chrT", START, START + 6), head=head,
                 config=IsmConfig(flank=FLANK))
    assert result.method == "masked_marginal"
    window = SEQ[START - FLANK : START + 6 + FLANK]
    rec = SequenceRecord("r", window, "dna")
    for i in range(6):
        at = FLANK + i
        for j, alt in enumerate(BASES):
            if alt != window[at]:
                pair = WindowPair(rec, SequenceRecord("a", window[:at] + alt + window[at + 1 :], "dna"), at, 1, 1)
                (alone,) = score_pairs(adapter, [pair], head=head, layer=-1, batch_tokens=1)
                assert result.effects["score"][i, j] == pytest.approx(alone.score, abs=1e-6)


def test_folder_features_plot_and_cli(setup, tmp_path):
    folder, ref, model = setup
    adapter = load_adapter(str(model))
    sae = _layer0_sae(adapter)
    save_sae(sae, folder / "sae0")
    result = gl.tl.ism(str(model), reference=ref, region=f"chrT:{START + 1}-{END}", sae=folder / "sae0",
                       features=[1, 5], out=tmp_path / "api", config=IsmConfig(flank=FLANK))
    assert list(result.effects) == ["score", "feature_1", "feature_5"]
    back = read_ism(tmp_path / "api")
    for name in result.effects:
        np.testing.assert_allclose(back.effects[name], result.effects[name])
    table = pd.read_csv(tmp_path / "api" / "ism.tsv", sep="\t")
    assert len(table) == 3 * (END - START) and set(table.columns) >= {"pos", "ref", "alt", "score", "feature_5"}
    graph = pd.read_csv(tmp_path / "api" / "feature_5.bedGraph", sep="\t", skiprows=1, header=None)
    values = np.repeat(graph[3].to_numpy(), (graph[2] - graph[1]).to_numpy())
    np.testing.assert_allclose(values, result.track("feature_5"), rtol=1e-5, atol=1e-9)
    assert graph[1].iloc[0] == START and graph[2].iloc[-1] == END
    assert (tmp_path / "api" / "ism.png").read_bytes().startswith(b"\x89PNG")
    ax = gl.pl.ism(tmp_path / "api", target="feature_1")
    assert ax.get_images()[0].get_array().shape == (4, END - START)
    plt.close("all")
    assert run(["ism", "--model", str(model), "--reference", str(ref), "--region", f"chrT:{START + 1}-{END}",
                "--flank", str(FLANK), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    np.testing.assert_allclose(read_ism(tmp_path / "cli").effects["score"], result.effects["score"], atol=1e-5)


def test_errors(setup, tmp_path):
    _, ref, model = setup
    adapter = load_adapter(str(model))
    head = language_model_head(adapter)
    with pytest.raises(ConfigError, match="max_length"):
        ism(adapter, reference=ref, region=Region("chrT", 0, 50), head=head, config=IsmConfig(max_length=20))
    with pytest.raises(ConfigError, match="need an SAE"):
        ism(adapter, reference=ref, region=Region("chrT", 60, 62), head=head, features=[1])
    with pytest.raises(ConfigError, match="not in the SAE"):
        ism(adapter, reference=ref, region=Region("chrT", 60, 62), head=head, sae=_layer0_sae(adapter), features=[99])
    with pytest.raises(ConfigError, match="flank"):
        IsmConfig(flank=-1)
    r = ism(adapter, reference=ref, region=Region("chrT", 60, 62), head=head)
    write_ism(r, out=tmp_path / "x")
    with pytest.raises(ConfigError, match="no ISM target"):
        r.track("feature_3")
    with pytest.raises(ConfigError, match="bigWig output needs"):
        write_ism(r, out=tmp_path / "y", bigwig=True)
    assert run(["ism", "--model", str(model), "--reference", str(ref), "--region", "chrT:190-205", "--flank", "0",
                "--out", str(tmp_path / "off")]) == 2  # region runs off the contig: one line, exit 2
