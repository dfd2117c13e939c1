"""Fixtures of the intervention tests: the planted-motif run shared with tests/features and tests/report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the planted-motif builder (tests/features), tiny random checkpoints (tests/adapters), synthetic reference + VCF
# writers (tests/io), by name
for _folder in ("features", "adapters", "io"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _folder))
from planted_motifs import annotated  # noqa: E402


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> dict:
    return annotated(tmp_path_factory.getbasetemp() / "planted_motifs")
