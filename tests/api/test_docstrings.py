"""Every public callable of ``import genolens as gl`` says what it takes and what it gives (numpydoc).

Walks ``gl.io``, ``gl.models``, ``gl.store``, ``gl.sae``, ``gl.tl``, ``gl.pl`` (each module's ``__all__``) and the
top-level ``gl.read_*`` / ``gl.write_*``. A function or class that takes parameters needs a ``Parameters``
section naming each of them (``a, b`` groups several; no name that the signature lacks); a function whose
return annotation is not ``None`` needs ``Returns`` (or ``Yields``). The API reference (``docs/``) renders
these sections, so an offender here is a hole there.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator

import pytest

import genolens as gl

NAMESPACES = ("io", "models", "store", "sae", "tl", "pl")

_SECTION = re.compile(r"^(?P<name>[A-Z][A-Za-z ]+)\n-{3,}$", re.M)


def public_callables() -> Iterator[tuple[str, Callable]]:
    """``(gl.NAMESPACE.NAME, object)`` for each public function or class, each object once."""
    seen: set[int] = set()
    names = [(f"gl.{ns}", getattr(gl, ns), None) for ns in NAMESPACES]
    names.append(("gl", gl, [n for n in gl.__all__ if n.startswith(("read_", "write_"))]))
    for prefix, module, listed in names:
        for name in listed if listed is not None else getattr(module, "__all__", None) or dir(module):
            if name.startswith("_"):
                continue
            obj = getattr(module, name)
            if not (inspect.isfunction(inspect.unwrap(obj)) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{prefix}.{name}", obj


def sections(doc: str) -> dict[str, str]:
    """A numpydoc docstring's sections by title (``Parameters``, ``Returns``, ...), each with its body."""
    found = list(_SECTION.finditer(doc))
    return {m["name"]: doc[m.end():found[i + 1].start() if i + 1 < len(found) else len(doc)]
            for i, m in enumerate(found)}


def documented_names(body: str) -> set[str]:
    """Parameter names of a ``Parameters`` section: unindented lines, ``a, b : type`` naming several."""
    names = set()
    for line in body.splitlines():
        if line and not line[0].isspace():
            names.update(part.strip().lstrip("*") for part in line.split(" : ")[0].split(","))
    return names


def problems(obj: Callable) -> list[str]:
    """What ``obj``'s docstring lacks; empty when it is complete."""
    doc = inspect.cleandoc(obj.__doc__ or "")  # not getdoc: a class must not pass on its parent's docstring
    if not doc:
        return ["no docstring"]
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # pragma: no cover - every genolens callable has one
        return []
    params = [p.name for p in signature.parameters.values() if p.name not in ("self", "cls")]
    found = sections(doc)
    out = []
    if params and "Parameters" not in found:
        out.append("no Parameters section")
    elif params:
        named = documented_names(found["Parameters"])
        if missing := [p for p in params if p not in named]:
            out.append(f"Parameters lacks {', '.join(missing)}")
        if extra := sorted(named - set(params)):
            out.append(f"Parameters names {', '.join(extra)}, not in the signature")
    returns = signature.return_annotation
    if (not inspect.isclass(obj) and returns not in (inspect.Signature.empty, None, "None")
            and "Returns" not in found and "Yields" not in found):
        out.append(f"no Returns section (returns {returns})")
    return out


def test_the_walk_finds_every_namespace():
    found = {qual.rsplit(".", 1)[0] for qual, _ in public_callables()}
    assert found == {"gl", *(f"gl.{ns}" for ns in NAMESPACES)}
    assert dict(public_callables())["gl.tl.associate"] is gl.tl.associate


def test_every_public_callable_documents_parameters_and_returns():
    offenders = [f"{qual} ({obj.__module__}): {'; '.join(why)}"
                 for qual, obj in public_callables() if (why := problems(obj))]
    assert offenders == [], "docstrings to complete (numpydoc):\n" + "\n".join(offenders)


def _undocumented(a: int, b: str = "") -> int:
    """One line only."""
    return a


def _documented(a: int, b: str = "") -> int:
    """Complete.

    Parameters
    ----------
    a, b
        Two things.

    Returns
    -------
    int
        A number.
    """
    return a


def _stale(a: int) -> None:
    """A name that is gone.

    Parameters
    ----------
    a : int
        Kept.
    old
        Renamed long ago.
    """


@pytest.mark.parametrize(("func", "expected"), [
    (_undocumented, ["no Parameters section", "no Returns section (returns int)"]),
    (_documented, []),
    (_stale, ["Parameters names old, not in the signature"]),
])
def test_the_check_itself(func, expected):
    assert problems(func) == expected
