"""The package's structure: no import cycle, no private name used across modules, small modules and functions.

Every check reads the source with :mod:`ast` (nothing is imported), so a cycle hidden in an import inside a
function, or behind ``if TYPE_CHECKING:``, is found too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "snninit_adapters"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name a ``from ... import`` refers to (relative imports resolved against ``module``)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if _is_package(module) else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module``, nested ones included."""
    found = []
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            found += [(target, alias.name, node.lineno) for alias in node.names]
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module in MODULES:
        for target, name, _ in _imports(module):
            if name is not None and f"{target}.{name}" in MODULES:
                graph[module].add(f"{target}.{name}")
            elif target in MODULES:
                graph[module].add(target)
    for module in graph:
        graph[module].discard(module)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle():
    assert _cycles(_graph()) == []


def test_no_module_imports_a_private_name_or_module_of_another_module():
    offences = []
    for module in MODULES:
        for target, name, line in _imports(module):
            if not target.startswith("snninit_adapters"):
                continue
            private_module = next((part for part in target.split(".") if part.startswith("_")), None)
            owner = target.rsplit(".", 1)[0] if private_module else None
            if private_module and not (module == owner or module.startswith(f"{owner}.")):
                offences.append(f"{module}:{line} imports the private module {target}")
            if name is not None and name.startswith("_") and name != "__version__":
                offences.append(f"{module}:{line} imports the private name {name} from {target}")
    assert offences == []


def _exempt(module: str) -> str:
    return ast.get_docstring(TREES[module]) or ""


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES or "kept whole" in _exempt(module), f"{module} has {lines} lines"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_functions_stay_short(module):
    long = []
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and f"``{node.name}`` is kept whole" not in _exempt(module):
                long.append(f"{node.name} ({length} lines)")
    assert long == [], f"{module}: {', '.join(long)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_lists_its_public_names(module):
    tree = TREES[module]
    defines = any(
        isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign | ast.ImportFrom)
        for node in tree.body
        if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
    )
    has_all = any(
        isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for node in tree.body
    )
    assert has_all or not defines, f"{module} defines names but has no __all__"
