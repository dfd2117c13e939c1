"""Dashboard pages: self-contained (no scripts, no external references), complete, and the folder is checked."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from planted_motifs import TARGET

from genolens.errors import InputFileError, InputFormatError
from genolens.features.results import read_results
from genolens.report.dashboard import build_dashboard, page_features
from genolens.report.figures import histogram_svg, shaded_sequence

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|ftp:)""", re.I)


@pytest.fixture(scope="module")
def html(planted, tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    build_dashboard(planted["ann"], out=out, max_pages=30)
    return out


def test_pages_are_self_contained(html):
    pages = [html / "index.html", *sorted((html / "features").glob("*.html"))]
    assert len(pages) == 31
    for p in pages:
        text = p.read_text()
        assert text.startswith("<!DOCTYPE html>")
        assert not EXTERNAL.search(text), p
        assert "<script" not in text and "<link" not in text and "@import" not in text and "url(" not in text
        for src in re.findall(r'<img[^>]+src="([^"]+)"', text):
            assert src.startswith("data:image/png;base64,")
        for href in re.findall(r'href="([^"]+)"', text):
            assert (p.parent / href).resolve().is_file(), f"{p.name}: dead link {href}"


def test_index_lists_concepts_and_features(planted, html):
    text = (html / "index.html").read_text()
    best = pd.read_csv(planted["ann"] / "best_features.tsv", sep="\t").set_index("concept")
    feature = int(best.loc[f"planted_{TARGET}", "feature"])
    assert f"planted_{TARGET}" in text
    assert f'href="features/feature_{feature}.html"' in text
    n_alive = int((pd.read_csv(planted["ann"] / "features.tsv", sep="\t")["n_active"] > 0).sum())
    assert text.count("<tr>") >= n_alive + len(best)


def test_feature_page_shows_histogram_logo_matches_concepts_contexts(planted, html):
    best = pd.read_csv(planted["ann"] / "best_features.tsv", sep="\t").set_index("concept")
    feature = int(best.loc[f"planted_{TARGET}", "feature"])
    text = (html / "features" / f"feature_{feature}.html").read_text()
    assert "<svg" in text and "activation histogram" in text
    assert "data:image/png;base64," in text
    assert TARGET in text and "REST" in text
    assert "Best concepts" in text and f"planted_{TARGET}" in text
    ctx = pd.read_csv(planted["ann"] / "contexts.tsv", sep="\t", keep_default_na=False)
    first = ctx[ctx["feature"] == feature].iloc[0]
    assert first["sequence_id"] in text
    assert text.count('class="peak"') == (ctx["feature"] == feature).sum()


def test_page_selection_puts_concept_and_motif_features_first(planted):
    results = read_results(planted["ann"])
    best = set(pd.read_csv(planted["ann"] / "best_features.tsv", sep="\t")["feature"])
    assert best <= set(page_features(results, max_pages=len(best)))
    assert page_features(results, max_pages=0) == []


def test_figures():
    assert "never active" in histogram_svg([0, 0], edges=[0.0, 1.0, 2.0])
    svg = histogram_svg([1, 4, 0], edges=[-1.0, 0.0, 1.0, 2.0])
    assert svg.count("<rect") == 2 and ">4<" in svg
    shaded = shaded_sequence("AC<G", values=[0.0, 1.0, 2.0, 4.0], scale=2.0, peak=1)
    assert "rgba(230,85,13,0.00)" in shaded and "rgba(230,85,13,1.00)" in shaded and "&lt;" in shaded
    assert shaded.count('class="peak"') == 1


def test_bad_annotation_folders_are_refused(planted, tmp_path):
    with pytest.raises(InputFileError, match="no annotate.json"):
        read_results(tmp_path)
    copy = tmp_path / "ann"
    shutil.copytree(planted["ann"], copy)
    meta = json.loads((copy / "annotate.json").read_text())
    (copy / "annotate.json").write_text(json.dumps({**meta, "encoding-version": "9.9"}))
    with pytest.raises(InputFormatError, match="version '9.9' is not supported"):
        read_results(copy)
    (copy / "annotate.json").write_text("{not json")
    with pytest.raises(InputFormatError, match="not valid JSON"):
        read_results(copy)
    (copy / "annotate.json").write_text(json.dumps(meta))
    (copy / "contexts.tsv").unlink()
    with pytest.raises(InputFileError, match="lacks contexts.tsv"):
        read_results(copy)


def test_motif_p_at_the_null_floor_reads_as_a_bound(planted, html):
    best = pd.read_csv(planted["ann"] / "best_features.tsv", sep="\t").set_index("concept")
    feature = int(best.loc[f"planted_{TARGET}", "feature"])
    motifs = pd.read_csv(planted["ann"] / "motifs.tsv", sep="\t")
    mine = motifs[motifs["feature"] == feature]
    text = (html / "features" / f"feature_{feature}.html").read_text()
    at_floor = int((mine["p_empirical"] <= mine["p_floor"] * (1 + 1e-9)).sum())
    assert at_floor > 0
    assert text.count("<td>&lt; 0.0196</td>") == at_floor  # 1/51: 50 shuffles
    assert f"{int(mine['n_windows'].iloc[0])} distinct windows" in text
    index = (html / "index.html").read_text()
    assert "&lt; 0.0196" in index


def test_concepts_with_too_few_instances_are_listed_apart_not_ranked(planted, tmp_path):
    copy = tmp_path / "ann"
    shutil.copytree(planted["ann"], copy)
    bf = pd.read_csv(copy / "best_features.tsv", sep="\t")
    few = bf["concept"] == "random_intervals"
    bf.loc[few, "instances_test"] = 1
    bf.loc[few, "status"] = "too few instances"
    bf.to_csv(copy / "best_features.tsv", sep="\t", index=False)
    text = build_dashboard(copy, out=tmp_path / "html", max_pages=10).read_text()
    ranked, _, rest = text.partition("<h3>Too few instances (not ranked)</h3>")
    ranked = ranked.partition("<h2>Best feature per concept</h2>")[2]
    assert rest, "no list of concepts with too few instances"
    assert "random_intervals" not in ranked and f"planted_{TARGET}" in ranked
    assert "random_intervals" in rest.partition("<h2>Features</h2>")[0]
    assert "fewer than 5 held-out instances" in rest
