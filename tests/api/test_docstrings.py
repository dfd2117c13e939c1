"""Every public callable of ``import genolens as gl`` says what it takes and what it gives (numpydoc).

Walks ``gl.io``, ``gl.models``, ``gl.store``, ``gl.sae``, ``gl.tl``, ``gl.pl`` (each module's ``__all__``), the
top-level ``gl.read_*`` / ``gl.write_*``, the genolens classes those functions return (``AssociationResult``,
``Adapter``, ...), and the public methods of all these classes. A function or class that takes parameters
needs a ``Parameters`` section naming each of them (``a, b`` groups several; no name that the signature lacks;
a class may call it ``Attributes``);
a function whose return annotation is not ``None`` needs ``Returns`` (or ``Yields``). The API reference
(``docs/``) renders these sections, so an offender here is a hole there.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import genolens as gl

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
from genolens_api import NAMESPACES, namespace_members, public_methods, returned_classes  # noqa: E402

_SECTION = re.compile(r"^(?P<name>[A-Z][A-Za-z ]+)\n-{3,}$", re.M)


def public_callables() -> Iterator[tuple[str, Callable]]:
    """``(name, object)`` for each public function, class and method, each object once."""
    seen: set[int] = set()
    found = list(namespace_members())
    found += list(returned_classes(found))
    for qual, obj in list(found):
        if inspect.isclass(obj):
            found += list(public_methods(qual, obj))
    for qual, obj in found:
        if id(obj) not in seen:
            seen.add(id(obj))
            yield qual, obj


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
    # a dataclass may list its fields as Attributes (numpydoc's other name for them)
    section = "Attributes" if inspect.isclass(obj) and "Parameters" not in found and "Attributes" in found else (
        "Parameters")
    out = []
    if params and section not in found:
        out.append("no Parameters section")
    elif params:
        named = documented_names(found[section])
        if missing := [p for p in params if p not in named]:
            out.append(f"{section} lacks {', '.join(missing)}")
        if extra := sorted(named - set(params)):
            out.append(f"{section} names {', '.join(extra)}, not in the signature")
    returns = signature.return_annotation
    if (not inspect.isclass(obj) and returns not in (inspect.Signature.empty, None, "None")
            and "Returns" not in found and "Yields" not in found):
        out.append(f"no Returns section (returns {returns})")
    return out


def test_the_walk_finds_every_namespace_returned_classes_and_methods():
    found = dict(public_callables())
    namespaces = {qual.rsplit(".", 1)[0] for qual, _ in namespace_members()}
    assert namespaces == {"gl", *(f"gl.{ns}" for ns in NAMESPACES)}
    assert found["gl.tl.associate"] is gl.tl.associate
    assert found["gl.tl.associate -> AssociationResult"].__name__ == "AssociationResult"
    assert found["gl.store.ActivationStore.activations"] is gl.store.ActivationStore.activations


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


class _Fields:
    """Fields as numpydoc attributes.

    Attributes
    ----------
    a
        One.
    """

    def __init__(self, a: int, b: int) -> None:
        self.a, self.b = a, b


@pytest.mark.parametrize(("func", "expected"), [
    (_Fields, ["Attributes lacks b"]),
    (_undocumented, ["no Parameters section", "no Returns section (returns int)"]),
    (_documented, []),
    (_stale, ["Parameters names old, not in the signature"]),
])
def test_the_check_itself(func, expected):
    assert problems(func) == expected
