"""The package's folders are the stages of the data path, and a stage imports only from the stages before it.

io -> adapters -> store -> sae -> features -> interventions -> cohort -> stats -> probes -> report, with ``runs``
(the intervention runs, which write report pages and read association results and probes), ``models``, ``tl``,
``pl``, ``cli`` and ``workflow`` on top. Probes come after the association engine because erasure
audits the concept it removes with the engine's probes and its screen of untestable features (the mission's
order too: statistics, then monitoring). Every import is read, those inside functions included: an import
hidden in a function body is still an edge of the graph, and a cycle hidden that way is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import genolens as gl

SRC = Path(gl.__file__).resolve().parent

# rank of each top-level name under genolens; equal ranks may not import each other
RANK = {
    "errors": 0,
    "provenance": 1,
    "io": 1,
    "adapters": 2,
    "store": 3,
    "sae": 4,
    "features": 5,
    "interventions": 6,
    "cohort": 7,
    "stats": 8,
    "probes": 9,
    "report": 10,
    "models": 11,
    "runs": 11,
    "tl": 12,
    "pl": 12,
    "cli": 13,
    "workflow": 13,
}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``genolens.*`` module or attribute path imported anywhere in the file."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("genolens.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            if name.startswith("genolens."):
                found |= {name} | {f"{name}.{a.name}" for a in node.names}
            elif name == "genolens":
                found |= {f"genolens.{a.name}" for a in node.names if a.name in RANK}
    return found


def _stage(dotted: str) -> str:
    return dotted.split(".")[1]


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in SRC.rglob("*.py")}


def test_every_stage_is_ranked():
    stages = {_stage(m) for m in _graph() if m != "genolens"}
    assert stages <= set(RANK), f"folders or modules without a rank: {sorted(stages - set(RANK))}"


def test_no_stage_imports_a_later_or_sibling_stage():
    bad = []
    for module, targets in sorted(_graph().items()):
        if module == "genolens":
            continue
        own = _stage(module)
        for target in sorted(targets):
            other = _stage(target)
            if other != own and other in RANK and RANK[other] >= RANK[own]:
                bad.append(f"{module} imports {target} ({other} is not before {own})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_modules():
    graph = _graph()
    modules = set(graph)
    edges = {}
    for module, targets in graph.items():
        # a target "a.b.c" is the module a.b.c if it exists, else the attribute c of module a.b
        edges[module] = {t if t in modules else t.rpartition(".")[0] for t in targets} & modules
        edges[module].discard(module)
        # a package's __init__ re-exporting its own modules is not a cycle through them
        edges[module] = {t for t in edges[module] if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


def test_the_checks_catch_a_backward_import(tmp_path):
    """The reader sees an import inside a function and resolves a relative one."""
    fake = SRC / "io" / "_layer_probe_tmp.py"
    try:
        fake.write_text("def f():\n    from ..stats import ols\n    import genolens.tl\n")
        targets = _imports(fake)
    finally:
        fake.unlink()
    assert {"genolens.stats.ols", "genolens.tl"} <= targets


def test_tl_holds_no_logic():
    """``gl.tl`` re-exports the steps of the stages; it defines nothing of its own."""
    tree = ast.parse((SRC / "tl" / "__init__.py").read_text())
    kinds = (ast.FunctionDef, ast.ClassDef, ast.Assign)
    defined = [n for n in tree.body if isinstance(n, kinds)
               and not (isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "__all__")]
    assert not defined, [getattr(n, "name", ast.unparse(n)[:40]) for n in defined]
    assert sorted(p.name for p in (SRC / "tl").iterdir() if p.suffix == ".py") == ["__init__.py"]
