"""The package's shape: no import cycles (lazy imports included), a run-time engine that imports
only the standard library and itself, and one documented format version."""

from __future__ import annotations

import ast
import re
import sys

from projects import ROOT
from qakb.engine.format import FORMAT_VERSION

PACKAGE = ROOT / "qakb"
ENGINE = PACKAGE / "engine"


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str) -> set[str]:
    """Every module `name` imports, at any depth of its code (in functions too), as absolute names."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from qakb import query_encoder` imports the module qakb.query_encoder
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    graph = {name: {other for other in imported(name) if other in MODULES and other != name} for name in MODULES}
    assert cycles(graph) == []


def test_the_engine_imports_only_the_standard_library_and_itself():
    for name in (name for name in MODULES if name == "qakb.engine" or name.startswith("qakb.engine.")):
        foreign = {module for module in imported(name)
                   if module.split(".")[0] not in sys.stdlib_module_names and not module.startswith("qakb.engine")}
        assert foreign == set(), f"{name} imports {sorted(foreign)}"


def test_the_engine_stays_small_enough_to_read():
    long = {path.name: count for path in ENGINE.glob("*.py")
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 300}
    assert long == {}


def test_the_documented_format_version_is_the_one_the_code_writes_and_reads():
    heading = (ENGINE / "FORMAT.md").read_text(encoding="utf-8").splitlines()[0]
    documented = re.fullmatch(r"# search_index/ format, version (\d+)", heading)
    assert documented, heading
    assert int(documented[1]) == FORMAT_VERSION
