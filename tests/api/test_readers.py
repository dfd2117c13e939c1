"""``gl.read_ancestry``: the PCs and their summary back as the object ``gl.tl.ancestry`` returned."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import genolens as gl
from genolens.cohort.ancestry import AncestryPCs, PCAConfig
from genolens.errors import InputFileError, InputFormatError


@pytest.fixture()
def written(tmp_path):
    rng = np.random.default_rng(0)
    pcs = pd.DataFrame(rng.normal(size=(6, 3)), index=pd.Index([f"s{i}" for i in range(6)], name="sample"),
                       columns=["PC1", "PC2", "PC3"])
    result = AncestryPCs(pcs=pcs, eigenvalues=np.array([5.0, 2.5, 1.0]), counts={"after_maf": 40},
                         config=PCAConfig(n_pcs=3, maf=0.1))
    return result, gl.write_eigenvec(result, tmp_path / "ancestry.eigenvec")


def test_read_ancestry_round_trips(written):
    result, path = written
    back = gl.read_ancestry(path)
    pd.testing.assert_frame_equal(back.pcs, result.pcs, rtol=1e-5)  # written with 6 significant digits
    np.testing.assert_array_equal(back.eigenvalues, result.eigenvalues)
    assert back.counts == {"after_maf": 40} and back.config == PCAConfig(n_pcs=3, maf=0.1)


def test_read_ancestry_errors_name_the_summary(written):
    _, path = written
    summary = path.with_suffix(".json")
    data = json.loads(summary.read_text())
    summary.write_text(json.dumps({**data, "eigenvalues": [1.0]}))
    with pytest.raises(InputFormatError, match="1 eigenvalues for 3 PCs"):
        gl.read_ancestry(path)
    summary.write_text(json.dumps({**data, "config": {**data["config"], "maf": 0.7}}))
    with pytest.raises(InputFormatError, match="maf must be in"):
        gl.read_ancestry(path)
    summary.write_text("{")
    with pytest.raises(InputFormatError, match="not valid JSON"):
        gl.read_ancestry(path)
    summary.unlink()
    with pytest.raises(InputFileError, match="no ancestry.json beside the eigenvec"):
        gl.read_ancestry(path)
