"""Inputs for store tests: random DNA records (some with reference coordinates) and the real HyenaDNA-tiny."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))  # synthetic.py: small reference + VCF

from genolens.io.records import SequenceRecord


def write_fasta(records: list[SequenceRecord], path: Path) -> Path:
    path.write_text("".join(f">{r.id}\n{r.sequence}\n" for r in records))
    return path


@pytest.fixture(scope="session")
def hyena():
    from genolens.adapters import load_adapter

    return load_adapter("hyenadna-tiny")
