"""notebooks/biomarker_discovery.ipynb runs, every cell, on the outputs of a (reduced) Snakemake demo.

CI runs pytest before the demo, so the test makes its own results: the demo's workflow on 48 of its samples
(24 Europeans with expression), 2 shards, a 128-latent SAE on 50k tokens and a light annotate (about 80 s
on 2 cores), then executes the notebook against them with nbclient. Any cell error fails the test, so the
notebook cannot go stale silently. On the full demo configuration (``results/demo``) it runs with
``scripts/run_notebook.py results/demo``; the main job's notebook is notebooks/gene_expression.ipynb.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from testpaths import EXAMPLE, REPO

NOTEBOOK = REPO / "notebooks" / "biomarker_discovery.ipynb"
SNAKEFILE = REPO / "pipelines" / "workflow" / "Snakefile"
PROFILE = REPO / "pipelines" / "profiles" / "workstation"
DEMO_CONFIG = REPO / "pipelines" / "config" / "demo.yaml"


def load_runner():
    spec = importlib.util.spec_from_file_location("run_notebook", REPO / "scripts" / "run_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mini_config(tmp: Path) -> Path:
    """The demo's config, shrunk: 6 samples per European population, 8 per other super-population."""
    demo = yaml.safe_load(DEMO_CONFIG.read_text())
    sheet = pd.read_csv(REPO / demo["inputs"]["sample_sheet"], sep="\t")
    eur = sheet[sheet["super_pop"] == "EUR"].groupby("pop").head(6)
    other = sheet[sheet["super_pop"] != "EUR"].groupby("super_pop").head(8)
    pd.concat([eur, other]).to_csv(tmp / "samples.tsv", sep="\t", index=False)

    inputs = {key: (str(REPO / value) if isinstance(value, str) else value) for key, value in demo["inputs"].items()}
    inputs["annotations"] = [str(REPO / path) for path in demo["inputs"]["annotations"]]
    inputs["sample_sheet"] = str(tmp / "samples.tsv")
    config = dict(demo)
    config.update(
        outdir=str(tmp / "results"),
        inputs=inputs,
        shards=2,
        sae={**demo["sae"], "k": 16, "width": 128, "tokens": 50000},
        eval={**demo["eval"], "max_sequences": 8},
        annotate={**demo["annotate"], "top_n": 5, "thresholds": "0,0.5", "shuffles": 5, "max_motif_features": 8,
                  "max_pages": 8},
        ancestry={**demo["ancestry"], "pcs": 3},
        audit={**demo["audit"], "permutations": 5, "bootstrap": 20},
        baseline={**demo["baseline"], "phenotypes": str(REPO / demo["baseline"]["phenotypes"]), "permutations": 20,
                  "folds": 3},
    )
    path = tmp / "mini.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def mini_results(tmp_path_factory) -> Path:
    assert (EXAMPLE / "reference").exists(), "the bundled example data is missing"
    tmp = tmp_path_factory.mktemp("notebook_demo")
    config = mini_config(tmp)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(config),
         "--profile", str(PROFILE), "--cores", "2", "--quiet", "rules"],
        cwd=tmp, capture_output=True, text=True, timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(f"the reduced demo failed ({result.returncode}):\n{result.stdout[-5000:]}\n"
                             f"{result.stderr[-5000:]}")
    results = tmp / "results"
    assert (results / "stats" / "features.h5ad").exists()
    return results


def test_notebook_is_stored_without_outputs():
    """Outputs are produced by running it (scripts/run_notebook.py --output), never stored, so never stale."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code cells"
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("GENOLENS_RESULTS" in cell.source for cell in code)


def check_executed(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [out for out in cell.outputs if out.output_type == "error"]
        assert not errors, f"cell failed:\n{cell.source}\n{errors}"
    images = sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
                 for out in cell.outputs)
    assert images >= 8, f"only {images} figures were produced"
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
    assert "zero variance" in text and "distinct feature profiles" in text


def test_notebook_runs_on_reduced_demo(mini_results, tmp_path):
    runner = load_runner()
    nb = runner.run_notebook(mini_results, output=tmp_path / "executed.ipynb", timeout=300)
    check_executed(nb)
    assert str(mini_results.resolve()) in nb.cells[1].outputs[0]["text"]  # GENOLENS_RESULTS was honoured


def test_notebook_fails_on_cell_error(tmp_path):
    """The runner raises when a cell errors (here: a results folder without outputs)."""
    from nbclient.exceptions import CellExecutionError

    runner = load_runner()
    with pytest.raises(CellExecutionError):
        runner.run_notebook(tmp_path, timeout=120)
