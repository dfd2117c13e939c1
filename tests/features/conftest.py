"""The planted-motif run (built once per session, shared with tests/report through planted_motifs)."""

from __future__ import annotations

import pytest
from planted_motifs import annotated


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> dict:
    return annotated(tmp_path_factory.getbasetemp() / "planted_motifs")
