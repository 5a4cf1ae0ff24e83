"""The shape DESIGN.md asks for, checked on the source: no module uses another's private names,
imports point one way (viz, experiments -> sim -> agents -> scenarios) and there are no import
cycles. Imports under `if TYPE_CHECKING:` are annotations only and are not counted."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scenarios", "agents", "sim", "viz", "experiments")
# a package may import the packages of a lower layer only
LAYER = {"scenarios": 0, "agents": 1, "sim": 2, "viz": 3, "experiments": 3}
ALLOWED_ACROSS = {("experiments", "viz")}  # the CLI's `app` command serves the page


def modules() -> dict[str, Path]:
    """fleetsim.<package>.<module> -> file."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(("fleetsim", *parts)).removesuffix(".__init__")
            out[name] = path
    return out


MODULES = modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module name an ImportFrom reads from."""
    if not node.level:
        return node.module or ""
    is_pkg = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, tree: ast.AST):
    """(imported module, names taken from it, local names bound to modules) at run time."""
    for node in runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], {a.asname or a.name.split(".")[0]: a.name}
        elif isinstance(node, ast.ImportFrom):
            src = resolve(module, node)
            bound = {}
            for a in node.names:
                full = f"{src}.{a.name}"
                if full in MODULES or (not src.startswith("fleetsim") and _is_module(full)):
                    bound[a.asname or a.name] = full
            yield src, [a.name for a in node.names], bound


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(module: str, tree: ast.AST) -> list[str]:
    found, module_names = [], {}
    for src, names, bound in imports_of(module, tree):
        module_names.update(bound)
        found += [f"from {src} import {n}" for n in names if _private(n)]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in module_names):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


TREES = {m: ast.parse(p.read_text(), str(p)) for m, p in MODULES.items()}


def graph() -> dict[str, set[str]]:
    """Module -> the fleetsim modules it imports at run time (a package's __init__ counts)."""
    out = {}
    for m, tree in TREES.items():
        deps = set()
        for src, names, _ in imports_of(m, tree):
            for cand in [*(f"{src}.{n}" for n in names), src]:
                if cand in MODULES and cand != m:
                    deps.add(cand)
                    break
        out[m] = deps
    return out


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_uses_another_modules_private_names(module):
    assert not private_uses(module, TREES[module])


def test_the_checker_sees_private_names():
    tree = ast.parse("from fleetsim.sim.cashflow import _default\nfrom fleetsim.sim import "
                     "cashflow\ncashflow._default(1)\nimport numpy as np\nnp._x\n")
    found = private_uses("fleetsim.sim.model", tree)
    assert len(found) == 3, found


def test_imports_point_one_way():
    wrong = []
    for m, deps in graph().items():
        for d in deps:
            a, b = m.split(".")[1], d.split(".")[1]
            if LAYER[b] > LAYER[a] or (LAYER[a] == LAYER[b] and a != b
                                       and (a, b) not in ALLOWED_ACROSS):
                wrong.append(f"{m} imports {d}")
    assert not wrong, wrong


def cycles_in(g: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(m, path):
        state[m] = 1
        for d in sorted(g[m]):
            if state.get(d) == 1:
                found.append(path[path.index(d):] + [d])
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    return found


def test_the_checker_sees_cycles():
    assert cycles_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles():
    # a package's __init__ re-exporting its modules is not a cycle of theirs
    cycles = [c for c in cycles_in(graph()) if not any(x.count(".") == 1 for x in c)]
    assert not cycles, cycles
