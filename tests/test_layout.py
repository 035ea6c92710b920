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


# Module-level state that stays, with why: process machinery (a lock, a thread, a logger, what the
# machine is) and pure functions' memoised results, which no build can make stale. What one build
# keeps for the next lives in a qakb.session.BuildSession, which the builds hand each other.
PROCESS_MACHINERY = {
    "qakb.embed._model_lock": "the model loads once a process; `qakb serve --watch` loads it ahead in a thread",
    "qakb.embed._load_model": "the sentence-transformer (functools.cache), loaded once a process and only read",
    "qakb.embed.precision": "this machine's CPU flags or QAKB_EMBED_PRECISION, read once a process",
    "qakb.limits._watchdog": "the one thread that times every render in the process (a forked child makes its own)",
    "qakb.discover._phrases_of": "a pure function's results (lru_cache): a text's phrases are the same in any build",
    "qakb.render._relative_path": "a pure function's results (lru_cache): posixpath.relpath of two page paths",
    "qakb.shards._term_hash": "a pure function's results (lru_cache): a term's blake2b hash",
    "qakb.plugin.runtime.log": "the plugin's logger (logging keeps one a name for the process anyway)",
    "qakb.plugin.QakbConfig": "a class, the plugin's options, made with type()",
    "qakb.engine.arrays._sumprod": "a function: math.sumprod where Python has it",
}
# Made only to be kept from build to build: never at module level, whatever its name.
KEEPERS = {"BuildSession", "LastBuild", "LastEncoded", "KeptVectors", "RenumberedPostings", "Deletions"}
MUTATORS = {"append", "extend", "insert", "update", "clear", "pop", "popitem", "setdefault", "add", "discard",
            "remove", "__setitem__"}


def module_state(name: str) -> set[str]:
    """What module `name` keeps at module level beyond constants: names bound to a mutable container or
    to an object made by a call (but UPPER_CASE constants), any keeper, functools caches, and any
    module-level name a function changes (`global`, a mutating method, an item or attribute set)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    bound: dict[str, ast.expr] = {}
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                bound.update({each.id: node.value for each in names if isinstance(each, ast.Name)})
        elif isinstance(node, ast.FunctionDef) and any("cache" in ast.unparse(decorator)
                                                       for decorator in node.decorator_list):
            found.add(node.name)
    for variable, value in bound.items():
        made = isinstance(value, (ast.Call, ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp))
        keeper = any(isinstance(call, ast.Call) and ast.unparse(call.func).split(".")[-1] in KEEPERS
                     for call in ast.walk(value))
        if keeper or (made and not variable.isupper() and not variable.startswith("__")):
            found.add(variable)
    for function in (node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.Lambda))):
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                found.update(node.names)
            changed = [node.func.value] if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MUTATORS else []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                changed += [target.value for target in targets if isinstance(target, (ast.Subscript, ast.Attribute))]
            found.update(each.id for each in changed if isinstance(each, ast.Name) and each.id in bound)
    return {f"{name}.{variable}" for variable in found}


def test_no_module_keeps_state_from_build_to_build():
    kept = set().union(*(module_state(name) for name in MODULES))
    assert sorted(kept - set(PROCESS_MACHINERY)) == []
    assert sorted(set(PROCESS_MACHINERY) - kept) == [], "an allowed name the package no longer has"
