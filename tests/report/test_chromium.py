"""The dashboard renders in headless Chromium with no console message; the check itself can fail."""

from __future__ import annotations

import numpy as np
import pytest
from chromium import chromium, render, rendered_text

from genolens.report.dashboard import build_dashboard

pytestmark = pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")


def _blank(png) -> bool:
    import matplotlib.image as mpimg

    img = mpimg.imread(png)[..., :3]
    return float(np.std(img)) < 0.01


def test_index_and_feature_page_render_without_console_messages(planted, tmp_path):
    index = build_dashboard(planted["ann"], out=tmp_path / "html", max_pages=20)
    console = render(index, tmp_path / "index.png")
    assert console == []
    assert not _blank(tmp_path / "index.png")
    page = sorted((tmp_path / "html" / "features").glob("feature_*.html"))[0]
    assert render(page, tmp_path / "feature.png") == []
    assert not _blank(tmp_path / "feature.png")


def test_the_console_check_sees_errors(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><p>x</p><script>console.error("boom");missing();</script></body></html>')
    console = render(bad, tmp_path / "bad.png")
    assert any("boom" in line for line in console)
    assert any("missing is not defined" in line for line in console)


def test_run_report_renders_with_its_answer_and_gene_names(tmp_path):
    from test_run_summary import _baseline_run

    from genolens.io.gene_names import read_gene_names
    from genolens.report.run_summary import write_run_report

    names = _baseline_run(tmp_path / "results")
    page = write_run_report(tmp_path / "results", tmp_path / "report.html", gene_names=read_gene_names(names))
    assert render(page, tmp_path / "report.png") == []
    text = rendered_text(page)
    assert text.index("In brief") < text.index("Genotype baseline")
    assert "Of 2 genes, 1 has a genotype cis-eQTL in their windows" in text
    assert "ARSA (ENSG00000100299.12)" in text and "CRELD2 (ENSG00000184164.10)" in text
