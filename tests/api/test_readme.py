"""The README's Python quick start runs as it is written, and says what it claims."""

from __future__ import annotations

import os
import re

import matplotlib.pyplot as plt
from testpaths import REPO


def test_readme_python_quick_start_runs(tmp_path, monkeypatch):
    text = (REPO / "README.md").read_text()
    section = text.split("## Python quick start", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(code.strip().splitlines()) <= 12
    os.symlink(REPO / "data", tmp_path / "data")  # the block's relative paths, with its outputs kept out of the repo
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md (Python quick start)", "exec"), namespace)  # noqa: S102 - our own README
    result, adata = namespace["result"], namespace["adata"]
    assert adata.n_obs == 344 and adata.n_vars == 256
    assert result.summary["n_samples_used"] == 344 and result.summary["pcs"]["source"] == "vcf"
    assert list(adata.var["association_category"]) == list(result.table["category"])
    tested = result.table["pvalue"].notna()
    assert tested.sum() > 0 and (result.table.loc[tested, "pvalue"].between(0, 1)).all()
    plt.close("all")
