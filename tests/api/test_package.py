"""``import genolens as gl``: the namespaces, the readers, and no backend switching behind a notebook's back."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import genolens as gl

SRC = Path(gl.__file__).resolve().parent


def test_namespaces_follow_the_data_path():
    for name in ("io", "models", "store", "sae", "tl", "pl"):
        assert getattr(gl, name).__name__ == f"genolens.{name}"
    assert gl.tl.associate and gl.tl.audit and gl.tl.aggregate and gl.tl.annotate and gl.tl.feature_track
    assert gl.pl.qq and gl.pl.volcano and gl.pl.logo and gl.pl.feature_track
    assert gl.io.read_fasta and gl.io.build_haplotypes and gl.store.ActivationStore
    assert gl.read_association and gl.read_audit and gl.read_annotation and gl.read_features
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gl.nope  # noqa: B018


def test_no_exported_name_is_shadowed_by_a_submodule():
    """Lazily exported names stay what they are after every submodule is imported (a submodule named like an
    export, e.g. ``genolens.sae.evaluate``, would replace the function on the package)."""
    import importlib
    import pkgutil
    import types

    for namespace in (gl.io, gl.models, gl.store, gl.sae, gl.tl, gl.pl):
        if hasattr(namespace, "__path__"):
            for info in pkgutil.iter_modules(namespace.__path__):
                importlib.import_module(f"{namespace.__name__}.{info.name}")
        for name in getattr(namespace, "__all__", ()):
            assert not isinstance(getattr(namespace, name), types.ModuleType), f"{namespace.__name__}.{name}"


def test_cli_loads_no_torch():
    """``genolens --help`` and every command's options load without torch (configs and help are torch-free)."""
    code = "import sys, genolens.cli as c; c._load_commands(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_import_is_light():
    """``import genolens`` loads no torch, anndata or matplotlib until a namespace is used."""
    code = "import sys, genolens; print(sorted(m for m in ('torch', 'anndata', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_module_switches_the_matplotlib_backend():
    """A notebook shows plots inline; ``matplotlib.use`` anywhere in the package would break that."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "use"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "matplotlib"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
