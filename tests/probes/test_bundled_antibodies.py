"""The bundled antibody subset is what its SOURCES.md and the probes guide say it is."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SUBSET = ROOT / "data" / "antibodies" / "therasabdab"


def _stated(text: str) -> dict[str, int]:
    """``{label: count}`` of the ``N kappa`` / ``N lambda`` / ``N chimeric`` ... phrases of a text."""
    words = ("kappa", "lambda", "genetically human", "humanised", "chimeric")
    return {w: int(m.group(1)) for w in words if (m := re.search(rf"(\d+) {w}\b", " ".join(text.split())))}


def test_stated_counts_match_the_file():
    table = pd.read_csv(SUBSET / "antibodies.tsv", sep="\t")
    counts = {**table["light_chain"].str.lower().value_counts().to_dict(),
              **table["origin"].str.lower().value_counts().to_dict()}
    assert len(table) == 261
    for doc in (SUBSET / "SOURCES.md", ROOT / "docs" / "guide" / "probes.md"):
        stated = _stated(doc.read_text())
        assert {"kappa", "lambda"} <= set(stated), doc
        assert stated == {k: counts[k] for k in stated}, (doc, stated, counts)
