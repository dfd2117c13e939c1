"""The planted-motif run (built once per session, shared with tests/report through planted_motifs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from planted_motifs import annotated

# tiny random checkpoints (tests/adapters) and synthetic reference + VCF writers (tests/io), by name
for _folder in ("adapters", "io"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _folder))


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> dict:
    return annotated(tmp_path_factory.getbasetemp() / "planted_motifs")
