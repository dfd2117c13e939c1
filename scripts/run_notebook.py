#!/usr/bin/env python3
"""Execute a notebook of notebooks/ against a workflow results folder; fail on any cell error.

    python scripts/run_notebook.py RESULTS_DIR [--notebook notebooks/gene_expression.ipynb]
                                               [--output executed.ipynb] [--timeout 600]

The default notebook is notebooks/biomarker_discovery.ipynb (the demo configuration's outputs);
notebooks/gene_expression.ipynb follows the main job (the dense configuration).

The notebook reads RESULTS_DIR from the environment variable GENOLENS_RESULTS (set here). Exit status 1 and the
failing cell's traceback when a cell errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "biomarker_discovery.ipynb"


def run_notebook(results: Path, output: Path | None = None, timeout: int = 600,
                 notebook: Path = NOTEBOOK) -> nbformat.NotebookNode:
    """Execute ``notebook`` with GENOLENS_RESULTS=results (cwd: the notebook's folder); raise on a cell error."""
    nb = nbformat.read(notebook, as_version=4)
    old = os.environ.get("GENOLENS_RESULTS")
    os.environ["GENOLENS_RESULTS"] = str(Path(results).resolve())  # the kernel inherits this environment
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                                resources={"metadata": {"path": str(notebook.parent)}})
        try:
            client.execute()
        finally:
            if output is not None:
                nbformat.write(nb, output)
    finally:
        if old is None:
            os.environ.pop("GENOLENS_RESULTS", None)
        else:
            os.environ["GENOLENS_RESULTS"] = old
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="workflow output folder (e.g. results/demo)")
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK, help="the notebook to execute")
    parser.add_argument("--output", type=Path, help="also write the executed notebook here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    if not (args.results / "stats" / "features.h5ad").exists():
        print(f"error: {args.results} has no stats/features.h5ad (run the workflow first)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        run_notebook(args.results, args.output, args.timeout, notebook=args.notebook.resolve())
    except CellExecutionError as error:
        print(f"error: the notebook failed:\n{error}", file=sys.stderr)
        return 1
    print(f"{args.notebook.name}: all cells ran in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
