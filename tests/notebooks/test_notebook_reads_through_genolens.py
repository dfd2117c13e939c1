"""The biomarker notebook reads every output through genolens (``gl.read_*``, ``gl.io``), never by hand.

An AST check of its code cells: no ``pd.read_csv``/``read_table``, no ``json.load(s)``/``np.load``, no
``open(...)``/``read_text``, no ``IPython.display.Image`` of a PNG the run wrote, no ``json``/``gzip``/``csv``
import, and no literal path to a ``.tsv``/``.json``/``.npz``/``.png``/... output. It runs in milliseconds and
needs no results; the checker is itself tested on snippets it must catch.
"""

from __future__ import annotations

import ast

import nbformat
import pytest
from testpaths import REPO

NOTEBOOK = REPO / "notebooks" / "biomarker_discovery.ipynb"

CALLS = {"read_csv", "read_table", "read_fwf", "read_json", "read_parquet", "loadtxt", "genfromtxt", "load", "loads",
         "open", "read_text", "read_bytes", "Image"}
MODULES = {"json", "gzip", "csv", "pickle"}
SUFFIXES = (".tsv", ".csv", ".json", ".jsonl", ".npz", ".npy", ".png", ".txt", ".bed", ".safetensors")


def python_source(cell_source: str) -> str:
    """A code cell without its IPython magics and shell escapes (not Python)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def hand_parsing(source: str) -> list[str]:
    """Every place in ``source`` that reads a file without genolens, as ``line N: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in CALLS:
                found.append(f"line {node.lineno}: call to {name}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"line {node.lineno}: import {n}" for n in names if n.split(".")[0] in MODULES]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower().endswith(SUFFIXES):
            found.append(f"line {node.lineno}: path literal {node.value!r}")
    return found


def test_notebook_code_reads_no_output_by_hand():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    offences = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (found := hand_parsing(python_source(cell.source))):
            offences[index] = found
    assert offences == {}, f"cells that read files by hand (use gl.read_* / gl.io): {offences}"


def test_notebook_uses_the_readers_and_plots():
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    for name in ("gl.read_sae", "gl.sae.read_evaluation", "gl.read_store", "gl.read_annotation", "gl.read_features",
                 "gl.read_ancestry", "gl.read_association", "gl.read_audit", "gl.pl.qq", "gl.pl.volcano",
                 "gl.pl.logo", "gl.pl.activation_histogram", "gl.pl.confound", "gl.pl.density"):
        assert f"{name}(" in source, f"the notebook no longer calls {name}"


@pytest.mark.parametrize("snippet", [
    'import pandas as pd\nt = pd.read_csv(RESULTS / "stats" / "audit" / "audit.tsv", sep="\\t")',
    "t = pandas.read_table(path)",
    "import json",
    "from gzip import open as gzopen",
    "d = json.loads(path.read_text())",
    "a = np.load(folder / name)",
    "with open(path) as fh:\n    pass",
    "p = RESULTS / 'sae_eval' / 'eval.json'",
    "display(Image(filename=str(png), width=300))",
])
def test_the_check_catches_hand_parsing(snippet):
    assert hand_parsing(snippet), snippet


def test_the_check_lets_genolens_readers_and_magics_through():
    ok = "%matplotlib inline\nadata = gl.read_features(RESULTS / 'stats' / 'features.h5ad')\nx = gl.read_audit(d)"
    assert hand_parsing(python_source(ok)) == []
