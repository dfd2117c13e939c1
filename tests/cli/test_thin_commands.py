"""Every CLI command only parses its options and calls one public library function (issue #14).

Read from the source (AST): along any path through a command (an option may choose between two library
functions, e.g. ``associate --cis``), the names imported from ``genolens`` (outside ``genolens.cli`` and
``genolens.errors``) that are called must be one function at most (classes, i.e. configs and policies
built from the options, are allowed); there are no ``with`` blocks, and no loops except ones that only print
(``typer.echo``), where logic would hide. Helpers of a command module may format what the function returned
but call nothing from the library.
"""

from __future__ import annotations

import ast
import importlib.util

import pytest

from genolens.cli import COMMAND_MODULES


def _module_ast(name: str) -> ast.Module:
    spec = importlib.util.find_spec(name)
    return ast.parse(open(spec.origin, encoding="utf-8").read())


def _library_imports(tree: ast.Module, function: ast.AST | None = None) -> dict[str, str]:
    """Local name -> 'module.name' for ``from genolens.X import name`` (module level and inside ``function``)."""
    out = {}
    for node in ast.walk(tree if function is None else function):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genolens"):
            if node.module.startswith(("genolens.cli", "genolens.errors")):
                continue
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def _called_library_functions(function: ast.AST, imports: dict[str, str]) -> set[str]:
    called = set()
    for node in (ast.walk(function) if isinstance(function, ast.AST) else []):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imports:
            name = node.func.id
            if not imports[name].rsplit(".", 1)[1][:1].isupper():  # a class: a config built from options
                called.add(imports[name])
    return called


def _only_prints(loop: ast.For | ast.While) -> bool:
    def is_echo(stmt: ast.stmt) -> bool:
        return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "echo")

    return all(is_echo(stmt) for stmt in loop.body) and not loop.orelse


def _logic(fn: ast.AST) -> list[str]:
    """Loops that do more than print, and ``with`` blocks."""
    return [type(n).__name__ for n in ast.walk(fn)
            if isinstance(n, ast.With) or (isinstance(n, (ast.For, ast.While)) and not _only_prints(n))]


def _paths(statements: list[ast.stmt], imports: dict[str, str]) -> list[tuple[set[str], bool]]:
    """The library functions called along each path through ``statements`` (an ``if`` forks the path, a
    ``return``/``raise`` ends one), each with whether it ended."""
    paths: list[tuple[set[str], bool]] = [(set(), False)]
    for stmt in statements:
        if isinstance(stmt, ast.If):
            test = _called_library_functions(stmt.test, imports)
            branches = _paths(stmt.body, imports) + _paths(stmt.orelse, imports)
            paths = [(calls, True) if ended else (calls | test | b_calls, b_ended)
                     for calls, ended in paths for b_calls, b_ended in branches]
        else:
            here = _called_library_functions(stmt, imports)
            stops = isinstance(stmt, (ast.Return, ast.Raise))
            paths = [(calls, True) if ended else (calls | here, stops) for calls, ended in paths]
    return paths


def _commands(tree: ast.Module) -> list[ast.FunctionDef]:
    def is_command(fn: ast.FunctionDef) -> bool:
        return any(isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "command" for d in fn.decorator_list)

    return [node for node in tree.body if isinstance(node, ast.FunctionDef) and is_command(node)]


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_each_command_parses_and_calls_one_function(module: str) -> None:
    tree = _module_ast(module)
    commands = _commands(tree)
    assert commands, f"{module} registers no command"
    module_imports = _library_imports(tree)
    for fn in commands:
        imports = {**module_imports, **_library_imports(tree, fn)}
        for called, _ in _paths(fn.body, imports):
            assert len(called) <= 1, (
                f"{module}.{fn.name} calls {sorted(called)} on one path: move the steps into one library function")
        logic = _logic(fn)
        assert not logic, f"{module}.{fn.name} holds {logic}: logic belongs in the library"
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n not in commands):
        called = _called_library_functions(fn, {**module_imports, **_library_imports(tree, fn)})
        assert not called, f"{module}.{fn.name} (a helper) calls {sorted(called)}"


def test_the_check_sees_a_fat_command() -> None:
    """The check itself can fail: a command that reads, computes and writes is caught."""
    source = '''
from genolens.io.fasta import read_fasta, write_fasta
@app.command("x")
def x(path):
    records = read_fasta(path)
    for r in records:
        r.seq = r.seq.upper()
    write_fasta(records, path)
'''
    tree = ast.parse(source)
    fn = _commands(tree)[0]
    assert [len(calls) for calls, _ in _paths(fn.body, _library_imports(tree))] == [2]
    assert _logic(fn) == ["For"]


def test_the_check_follows_each_path_separately():
    source = '''
from genolens.tl import associate, cis
@app.command("x")
def x(path, bed):
    if bed is not None:
        result = cis(path, phenotypes=bed)
        return
    result = associate(path)
'''
    tree = ast.parse(source)
    fn = _commands(tree)[0]
    assert sorted(len(calls) for calls, _ in _paths(fn.body, _library_imports(tree))) == [1, 1]
    fat = source.replace("        return\n", "")  # without the early return, one path calls both
    tree = ast.parse(fat)
    assert max(len(calls) for calls, _ in _paths(_commands(tree)[0].body, _library_imports(tree))) == 2
