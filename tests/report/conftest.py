"""The planted-motif annotation folder, from tests/features' builder (same session folder, built once)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "features"))
from planted_motifs import annotated  # noqa: E402


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> dict:
    return annotated(tmp_path_factory.getbasetemp() / "planted_motifs")
