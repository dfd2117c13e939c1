"""notebooks/gene_expression.ipynb (the README main job's question) runs, every cell, on a reduced dense run.

The dense configuration (pipelines/config/dense.yaml) on 60 of its 330 people, every gene window, a 128-latent
SAE and light permutations, then the notebook against its outputs with nbclient. Any cell error fails the test.
On the full main job (``results/dense``) CI executes it with ``scripts/run_notebook.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from test_biomarker_notebook import load_runner
from test_notebook_reads_through_genolens import hand_parsing, python_source
from testpaths import REPO

NOTEBOOK = REPO / "notebooks" / "gene_expression.ipynb"
SNAKEFILE = REPO / "pipelines" / "workflow" / "Snakefile"
PROFILE = REPO / "pipelines" / "profiles" / "workstation"
DENSE = REPO / "pipelines" / "config" / "dense.yaml"


def mini_config(tmp: Path) -> Path:
    dense = yaml.safe_load(DENSE.read_text())
    pd.read_csv(REPO / dense["inputs"]["sample_sheet"], sep="\t").head(60).to_csv(tmp / "samples.tsv", sep="\t",
                                                                                   index=False)
    inputs = {key: (str(REPO / value) if isinstance(value, str) else value) for key, value in dense["inputs"].items()}
    inputs["annotations"] = [str(REPO / path) for path in dense["inputs"]["annotations"]]
    inputs["sample_sheet"] = str(tmp / "samples.tsv")
    config = dict(dense)
    config.update(
        outdir=str(tmp / "results"), inputs=inputs,
        sae={**dense["sae"], "k": 16, "width": 128, "tokens": 50000},
        eval={**dense["eval"], "max_sequences": 8},
        annotate={**dense["annotate"], "top_n": 5, "thresholds": "0,0.5", "shuffles": 5, "max_motif_features": 8,
                  "max_pages": 8},
        ancestry={**dense["ancestry"], "pcs": 3},
        audit={**dense["audit"], "permutations": 5, "bootstrap": 20},
        baseline={**dense["baseline"], "phenotypes": str(REPO / dense["baseline"]["phenotypes"]),
                  "cis_map": str(REPO / dense["baseline"]["cis_map"]), "permutations": 50, "folds": 3},
    )
    path = tmp / "mini.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def mini_results(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("notebook_dense")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(mini_config(tmp)),
         "--profile", str(PROFILE), "--cores", "2", "--quiet", "rules"],
        cwd=tmp, capture_output=True, text=True, timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(f"the reduced dense run failed ({result.returncode}):\n{result.stdout[-5000:]}\n"
                             f"{result.stderr[-5000:]}")
    return tmp / "results"


def test_notebook_reads_every_output_through_genolens():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    offences = {i: found for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code" and (found := hand_parsing(python_source(cell.source)))}
    assert offences == {}
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in ("gl.read_baseline", "gl.io.read_carriers", "gl.pl.baseline", "gl.pl.gene_qq",
                 "gl.pl.feature_phenotype", "gl.pl.logo"):
        assert f"{name}(" in source, name


def test_notebook_runs_on_a_reduced_dense_run(mini_results, tmp_path):
    nb = load_runner().run_notebook(mini_results, output=tmp_path / "executed.ipynb", timeout=300, notebook=NOTEBOOK)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 5
    text = "".join(out.get("text", "") for out in outputs)
    assert str(mini_results.resolve()) in text
    assert "distinct sequences embedded for" in text and "genes_with_eqtl" in text and "its cis test" in text
