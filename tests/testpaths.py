"""Paths shared by tests (imported by name: ``conftest`` is ambiguous across test folders)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
KG = SHARED / "1kg_chr22"
EXAMPLE = REPO / "data" / "example"
TESTDATA = REPO / "tests" / "data"
