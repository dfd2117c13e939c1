"""The dashboard renders in headless Chromium with no console message; the check itself can fail."""

from __future__ import annotations

import numpy as np
import pytest
from chromium import chromium, render

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
