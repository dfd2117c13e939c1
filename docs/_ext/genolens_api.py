"""What ``import genolens as gl`` offers, found by walking it: the docs render this and the tests check it.

Torch-free to import (the namespaces load when walked); used by ``docs/_ext/genolens_cli.py`` (the API
reference) and ``tests/api/test_docstrings.py`` (every callable found has Parameters/Returns sections).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Iterator

import genolens as gl

NAMESPACES = ("io", "models", "store", "sae", "tl", "pl")


def namespace_members() -> Iterator[tuple[str, Callable]]:
    """``(gl.NAMESPACE.NAME, object)`` for the functions and classes in each namespace's ``__all__``, then the
    top-level ``gl.read_*`` / ``gl.write_*``."""
    names = [(f"gl.{ns}", getattr(gl, ns), None) for ns in NAMESPACES]
    names.append(("gl", gl, [n for n in gl.__all__ if n.startswith(("read_", "write_"))]))
    for prefix, module, listed in names:
        for name in listed if listed is not None else getattr(module, "__all__", None) or dir(module):
            obj = getattr(module, name)
            if not name.startswith("_") and (inspect.isfunction(inspect.unwrap(obj)) or inspect.isclass(obj)):
                yield f"{prefix}.{name}", obj


def _genolens_classes(annotation: object) -> Iterator[type]:
    if inspect.isclass(annotation) and annotation.__module__.startswith("genolens"):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _genolens_classes(arg)


def returned_classes(functions: Iterable[tuple[str, Callable]]) -> Iterator[tuple[str, type]]:
    """``(gl.tl.associate -> AssociationResult, class)`` for each genolens class a function returns."""
    for qual, func in functions:
        if inspect.isclass(func):
            continue
        try:
            hints = typing.get_type_hints(inspect.unwrap(func))
        except NameError:  # an annotation only importable for type checkers: nothing to follow
            continue
        for cls in _genolens_classes(hints.get("return")):
            yield f"{qual} -> {cls.__name__}", cls


def result_classes() -> list[type]:
    """Genolens classes that public functions return but no namespace exports, in order of first return."""
    members = list(namespace_members())
    exported = {id(obj) for _, obj in members}
    out: dict[int, type] = {}
    for _, cls in returned_classes(members):
        if id(cls) not in exported:
            out.setdefault(id(cls), cls)
    return list(out.values())


def public_methods(qual: str, cls: type) -> Iterator[tuple[str, Callable]]:
    """Functions, classmethods and staticmethods a class defines itself (no properties, no ``_names``)."""
    for name, attr in vars(cls).items():
        func = attr.__func__ if isinstance(attr, (classmethod, staticmethod)) else attr
        if not name.startswith("_") and inspect.isfunction(inspect.unwrap(func)):
            yield f"{qual}.{name}", func
