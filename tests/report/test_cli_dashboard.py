"""``genolens dashboard``: writes the pages; bad input -> exit 2 with one line."""

from __future__ import annotations

from genolens.cli import run


def test_dashboard_command(planted, tmp_path, capsys):
    assert run(["dashboard", "--in", str(planted["ann"]), "--out", str(tmp_path / "html"), "--max-pages", "3"]) == 0
    assert (tmp_path / "html" / "index.html").is_file()
    assert len(list((tmp_path / "html" / "features").glob("*.html"))) == 3
    assert "dashboard ->" in capsys.readouterr().err


def test_dashboard_error_paths(planted, tmp_path, capsys):
    cases = [
        (["--in", str(tmp_path / "none"), "--out", str(tmp_path / "h")], "not a genolens annotation folder"),
        (["--in", str(planted["ann"]), "--out", str(tmp_path / "h"), "--max-pages", "-1"], "max_pages must be >= 0"),
    ]
    (tmp_path / "afile").write_text("")
    cases.append((["--in", str(planted["ann"]), "--out", str(tmp_path / "afile")], "not a folder"))
    for argv, needle in cases:
        code = run(["dashboard", *argv])
        err = capsys.readouterr().err.strip()
        assert code == 2, argv
        assert err.startswith("genolens: error:") and "\n" not in err and needle in err, err
