"""Sphinx configuration of the genolens documentation.

Build: ``.venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html`` (no warning may pass).
"""

from __future__ import annotations

import sys
from pathlib import Path

import genolens

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "genolens"
author = "the genolens developers"
copyright = "the genolens developers, MIT licence"
release = genolens.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",  # the guides (docs/guide/*.md) are MyST Markdown
    "genolens_docs",  # docs/_ext/genolens_docs.py: namespace pages, result classes, the CLI from its commands
]

exclude_patterns = ["_build"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 3
smartquotes = False  # option names in help text stay ``--vcf``, not an en dash
# The network is closed to the build (and to CI): no intersphinx inventories, nothing fetched.

# numpydoc-style docstrings (as scanpy), rendered by napoleon.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = True

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options: dict[str, object] = {}
autodoc_inherit_docstrings = False
autosummary_generate = False

html_theme = "furo"
html_title = f"genolens {release}"
