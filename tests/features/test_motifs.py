"""JASPAR parsing, PWMs from windows, and the comparison's ranking on motifs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genolens.errors import ConfigError, InputFileError, InputFormatError
from genolens.features.jaspar import EXAMPLE_JASPAR, read_jaspar
from genolens.features.motifs import (
    MotifConfig,
    MotifDatabase,
    compare_pwm,
    context_windows,
    feature_motif,
    gumbel_sf,
    information_content,
    probabilities,
    reverse_complement,
    trim,
    windows_pwm,
)


@pytest.fixture(scope="module")
def jaspar():
    motifs = read_jaspar(EXAMPLE_JASPAR)
    return motifs, MotifDatabase.build(motifs)


def test_read_jaspar_real_file(jaspar):
    motifs, _ = jaspar
    assert len(motifs) == 879
    first = motifs[0]
    assert (first.id, first.name, first.length) == ("MA0002.3", "Runx1", 9)
    assert first.counts[0].tolist() == [123, 1072, 149, 656]  # column 1: A C G T
    meta = pd.read_csv(EXAMPLE_JASPAR.with_name("JASPAR2024_CORE_vertebrates_nonredundant_meta.tsv"), sep="\t")
    lengths = dict(zip(meta["matrix_id"], meta["length"], strict=True))
    assert all(lengths[m.id] == m.length for m in motifs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">M1 a\nA [1 2]\nC [1 2]\nG [1 2]\n", "fewer than 4 rows"),
        (">M1 a\nA [1 2]\nC [1 x]\nG [1 2]\nT [1 2]\n", "counts must be numbers"),
        (">M1 a\nA [1 2]\nC [1 2]\nT [1 2]\nG [1 2]\n", "expected the G row"),
        (">M1 a\nA [1 2]\nC [1 2]\nG [1 2]\nT [1 2 3]\n", "different lengths"),
        (">M1 a\nA [1]\nC [1]\nG [1]\nT [1]\n>M1 b\nA [1]\nC [1]\nG [1]\nT [1]\n", "duplicate matrix ID"),
        ("A [1]\n", "header"),
    ],
)
def test_malformed_jaspar_is_refused_with_line(tmp_path, text, message):
    path = tmp_path / "bad.jaspar"
    path.write_text(text)
    with pytest.raises(InputFormatError, match=message) as err:
        read_jaspar(path)
    assert str(path) in str(err.value)


def test_missing_jaspar_file(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_jaspar(tmp_path / "none.jaspar")


def test_windows_pwm_counts_and_helpers():
    counts = windows_pwm(["ACGT", "ACGN", "TCGA"])
    assert counts.tolist() == [[2, 0, 0, 1], [0, 3, 0, 0], [0, 0, 3, 0], [1.25, 0.25, 0.25, 1.25]]
    probs = probabilities(counts, pseudocount=0.0)
    np.testing.assert_allclose(probs.sum(1), 1)
    assert information_content(np.full((1, 4), 0.25))[0] == pytest.approx(0)
    assert information_content(np.array([[1.0, 0, 0, 0]]))[0] == pytest.approx(2)
    assert trim(probs, min_ic=1.5) == (1, 3)
    assert trim(np.full((3, 4), 0.25), min_ic=0.1) is None
    rc = reverse_complement(windows_pwm(["AACG"]))
    assert "".join("ACGT"[i] for i in rc.argmax(1)) == "CGTT"
    with pytest.raises(ConfigError, match="same length"):
        windows_pwm(["ACG", "AC"])


def test_context_windows_are_centred_and_padded():
    ctx = pd.DataFrame({"bases": ["ACGTACG", "GGTT"], "position": [13, 1], "window_start": [10, 0]})
    assert context_windows(ctx, flank=2) == ["CGTAC", "NGGTT"]


def test_jaspar_motif_itself_ranks_first_on_either_strand(jaspar):
    motifs, db = jaspar
    rng = np.random.default_rng(0)
    config = MotifConfig(n_shuffles=20, top=3)
    for k in rng.choice(len(motifs), 12, replace=False):
        query = motifs[k].probabilities()
        fwd = compare_pwm(query, database=db, config=config)
        assert fwd.iloc[0]["matrix_id"] == motifs[k].id
        assert fwd.iloc[0]["strand"] == "+" and fwd.iloc[0]["offset"] == 0
        rc = compare_pwm(reverse_complement(query), database=db, config=config)
        assert rc.iloc[0]["matrix_id"] == motifs[k].id and rc.iloc[0]["strand"] == "-"


def test_pwms_from_sampled_sites_recover_their_motif(jaspar):
    """Sites sampled from a JASPAR matrix, embedded at an offset in random flanks, then trimmed."""
    motifs, db = jaspar
    rng = np.random.default_rng(1)
    ranks, zs = [], []
    for k in rng.choice(len(motifs), 30, replace=False):
        probs = motifs[k].probabilities()
        sites = ["".join("ACGT"[rng.choice(4, p=col)] for col in probs) for _ in range(20)]
        windows = ["".join(rng.choice(list("ACGT"), 5)) + s + "".join(rng.choice(list("ACGT"), 4)) for s in sites]
        p = probabilities(windows_pwm(windows))
        a, b = trim(p, min_ic=0.5)
        table = compare_pwm(p[a:b], database=db, config=MotifConfig(n_shuffles=30, top=879))
        ranks.append(int(np.nonzero(table["matrix_id"].to_numpy() == motifs[k].id)[0][0]) + 1)
        zs.append(float(table.loc[table["matrix_id"] == motifs[k].id, "z"].iloc[0]))
    ranks = np.array(ranks)
    # JASPAR holds near-identical family members (homeobox, FOX, ETS), so not always first:
    assert (ranks == 1).mean() >= 0.6
    assert np.median(ranks) <= 2
    assert np.median(zs) > 3


def test_shuffled_null_separates_real_from_random_queries(jaspar):
    _, db = jaspar
    rng = np.random.default_rng(2)
    config = MotifConfig(n_shuffles=30)
    random_best = [compare_pwm(rng.dirichlet(np.ones(4), size=10), database=db, config=config).iloc[0]
                   for _ in range(5)]
    ctcf = next(m for m in db.motifs if m.id == "MA0139.2").probabilities()
    real = compare_pwm(ctcf, database=db, config=MotifConfig(n_shuffles=30)).iloc[0]
    assert real["z"] > max(r["z"] for r in random_best)
    # the shuffles alone cannot go below 1/31; the Gumbel fit to them resolves the match far below it
    assert real["p_empirical"] == pytest.approx(1 / 31) and real["p_floor"] == pytest.approx(1 / 31)
    assert real["p_value"] < 1e-3 and real["e_value"] < 0.05
    assert all(r["e_value"] > 0.05 for r in random_best)  # the best of 879 random matches is not significant


def test_gumbel_p_values_are_calibrated_on_random_queries(jaspar):
    """Every database motif against column-random queries: p-values close to uniform (not inflated)."""
    _, db = jaspar
    rng = np.random.default_rng(5)
    ps = np.concatenate([
        compare_pwm(rng.dirichlet(np.full(4, 0.5), size=12), database=db,
                    config=MotifConfig(n_shuffles=30, top=len(db.motifs), seed=s))["p_value"].to_numpy()
        for s in range(4)
    ])
    assert ps.size == 4 * len(db.motifs)
    assert 0.025 < (ps < 0.05).mean() < 0.10
    assert (ps < 0.005).mean() < 0.015


def test_gumbel_tail():
    from scipy import stats

    mean, sd = 3.0, 0.7
    beta = sd * np.sqrt(6) / np.pi
    x = np.array([2.0, 3.0, 5.0, 9.0])
    np.testing.assert_allclose(gumbel_sf(x, mean=mean, sd=sd),
                               stats.gumbel_r.sf(x, loc=mean - np.euler_gamma * beta, scale=beta), rtol=1e-9)
    assert gumbel_sf(np.array([1.0, 2.0]), mean=1.5, sd=0.0).tolist() == [1.0, 0.0]


def test_feature_motif_needs_enough_sites_and_information():
    distinct = ["AACCGGTTAC", "AAACGGTTAC", "AACAGGTTAC", "AACCAGTTAC", "AACCGATTAC", "AACCGGATAC"]
    ctx = pd.DataFrame({"feature": [0] * 6 + [1] * 2, "bases": distinct + ["ACGTACGTAC"] * 2,
                        "position": [4] * 8, "window_start": [0] * 8})
    fm = feature_motif(ctx, feature=0, config=MotifConfig(flank=3, min_sites=5, min_overlap=5))
    assert fm is not None and fm.n_sites == 6 and fm.trimmed == (0, 7)
    assert feature_motif(ctx, feature=1, config=MotifConfig(flank=3, min_sites=5)) is None


def test_feature_motif_counts_identical_windows_once():
    """One locus in ten people is one window: it neither makes a PWM alone nor weighs ten times in one."""
    ctx = pd.DataFrame({"feature": [0] * 10 + [1] * 10, "position": [4] * 20, "window_start": [0] * 20,
                        "bases": ["AACCGGTTAC"] * 10 + ["AACCGGTTAC"] * 6 + ["TTTTTTTTTT", "GGGGGGGGGG",
                                                                              "CCCCCCCCCC", "ACACACACAC"]})
    assert feature_motif(ctx, feature=0, config=MotifConfig(flank=3, min_sites=5)) is None
    fm = feature_motif(ctx, feature=1, config=MotifConfig(flank=3, min_sites=5, min_ic=0.0))
    assert fm is not None and fm.n_sites == 5
    np.testing.assert_allclose(fm.counts.sum(1), 5)  # five windows per column, not ten
    with pytest.raises(ConfigError, match="must be > 0"):
        MotifConfig(n_shuffles=0)
