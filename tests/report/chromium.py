"""Render a page with Debian's headless Chromium: screenshot + the console messages it logged."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CONSOLE = re.compile(r":CONSOLE[:(]")  # chromium logs every console message as INFO:CONSOLE(...)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(page: Path, png: Path, *, width: int = 1280, height: int = 1600) -> list[str]:
    """Screenshot ``page`` (a file) into ``png``; return the console lines Chromium logged."""
    exe = chromium()
    assert exe, "chromium is not installed (apt-get install chromium)"
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--enable-logging=stderr", "--v=0", f"--window-size={width},{height}", f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), f"no screenshot; chromium said: {proc.stderr[-2000:]}"
    return [line for line in proc.stderr.splitlines() if CONSOLE.search(line)]


def rendered_text(page: Path) -> str:
    """The text of ``page`` as Chromium renders it (its DOM after load, tags stripped, white space folded)."""
    exe = chromium()
    assert exe, "chromium is not installed (apt-get install chromium)"
    import tempfile

    with tempfile.TemporaryDirectory() as profile:  # its own profile: no hand-off to another running instance
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip(), f"chromium dumped no DOM (exit {proc.returncode}): {proc.stderr[-2000:]}"
    dom = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", proc.stdout, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())
