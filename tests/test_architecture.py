"""The floor plan, checked on the source: channels → flows (``handlers``) → services → storage/content.

Every module of ``bot``, ``handlers``, ``storage`` (migration scripts aside) and ``content`` is parsed with ``ast``;
its imports — at module level and inside functions, but not under ``if TYPE_CHECKING:`` — make a graph. The rules:

- services, delivery, storage and content never import ``handlers`` (value types live in ``bot.chat``);
- flows never import the scheduler (ticks are registered in ``handlers.registry`` and get a ``TickRun``);
- nothing loads our own modules by name (``importlib.import_module`` / ``__import__``): imports are plain;
- ground-floor value modules (``bot.chat``, ``bot.periodic``) import (almost) nothing of ours;
- there is no import cycle among our modules (a function-level import that dodges one still counts).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "content")
EXCLUDED = (ROOT / "storage" / "migrations" / "versions",)
LOWER_FLOORS = ("bot.services", "bot.delivery", "storage", "content")
GROUND = {"bot.chat": set[str](), "bot.periodic": {"bot.settings"}}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} (line {self.line}) imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(path.is_relative_to(excluded) for excluded in EXCLUDED):
                continue
            found[_module_name(path)] = path
    return found


MODULES = _files()


def _ours(name: str) -> bool:
    return name.split(".", 1)[0] in PACKAGES


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node``, skipping the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, tree: ast.Module) -> Iterator[Edge]:
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    yield Edge(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if not _ours(target):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield Edge(module, sub if sub in MODULES else target, node.lineno)


def _dynamic_imports(module: str, tree: ast.Module) -> Iterator[str]:
    """Calls of ``import_module`` / ``__import__`` that may load one of our modules."""
    for node in _walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in {"import_module", "__import__"}:
            continue
        arg = node.args[0] if node.args else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not _ours(arg.value):
            continue  # a third-party module named literally
        yield f"{module} (line {node.lineno}) loads a module with {name}()"


def _parse() -> dict[str, ast.Module]:
    return {module: ast.parse(path.read_text("utf-8"), str(path)) for module, path in MODULES.items()}


TREES = _parse()
EDGES = [edge for module, tree in TREES.items() for edge in _imports(module, tree)]


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_walk_sees_every_layer() -> None:
    for module in ("bot.chat", "bot.scheduler", "handlers.registry", "bot.services.outbox", "storage.models"):
        assert module in MODULES
    assert not any(_under(module, "storage.migrations.versions") for module in MODULES)
    assert any(edge.target == "handlers.registry" for edge in EDGES)


def test_lower_floors_never_import_flows() -> None:
    bad = [
        str(edge)
        for edge in EDGES
        if any(_under(edge.source, floor) for floor in LOWER_FLOORS) and _under(edge.target, "handlers")
    ]
    assert not bad, "services, delivery, storage and content must not import handlers:\n" + "\n".join(bad)


def test_flows_never_import_the_scheduler() -> None:
    bad = [
        str(edge)
        for edge in EDGES
        if _under(edge.source, "handlers")
        and (_under(edge.target, "bot.scheduler") or _under(edge.target, "bot.ticks"))
    ]
    assert not bad, (
        "flows register ticks in handlers.registry, they never import the scheduler:\n" + "\n".join(bad)
    )


def test_no_module_is_loaded_by_name() -> None:
    bad = [found for module, tree in TREES.items() for found in _dynamic_imports(module, tree)]
    assert not bad, "import our modules plainly, not by name:\n" + "\n".join(bad)


def test_ground_floor_modules_import_almost_nothing_of_ours() -> None:
    bad = [
        str(edge)
        for edge in EDGES
        if edge.source in GROUND and edge.target not in GROUND[edge.source] and edge.target != edge.source
    ]
    assert not bad, "value modules are the ground floor:\n" + "\n".join(bad)


def _cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One concrete cycle per strongly connected component with more than one module (Tarjan)."""
    graph: dict[str, dict[str, Edge]] = {}
    for edge in edges:
        if edge.target in MODULES and edge.target != edge.source:
            graph.setdefault(edge.source, {}).setdefault(edge.target, edge)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(MODULES):
        if node not in index:
            connect(node)

    cycles: list[list[Edge]] = []
    for component in components:
        members = set(component)
        start = min(component)
        # breadth-first from start back to start inside the component: the shortest cycle through it
        paths: dict[str, list[Edge]] = {start: []}
        queue = [start]
        found: list[Edge] | None = None
        while queue and found is None:
            node = queue.pop(0)
            for nxt, edge in sorted(graph.get(node, {}).items()):
                if nxt not in members:
                    continue
                if nxt == start:
                    found = [*paths[node], edge]
                    break
                if nxt not in paths:
                    paths[nxt] = [*paths[node], edge]
                    queue.append(nxt)
        assert found is not None
        cycles.append(found)
    return cycles


def test_no_import_cycles() -> None:
    cycles = _cycles(EDGES)
    report = [
        " -> ".join([cycle[0].source, *(edge.target for edge in cycle)])
        + "\n"
        + "\n".join(f"    {edge}" for edge in cycle)
        for cycle in cycles
    ]
    assert not cycles, "import cycles among our modules:\n" + "\n".join(report)


def test_the_cycle_finder_finds_a_cycle() -> None:
    probe = [Edge("bot.chat", "bot.clock", 1), Edge("bot.clock", "bot.chat", 2)]
    (cycle,) = _cycles(probe)
    assert [edge.target for edge in cycle] in (["bot.clock", "bot.chat"], ["bot.chat", "bot.clock"])
