"""The run-time engine as a Pyodide package: a pure-Python wheel listed in the site's lock file.

`qakb.engine` reaches the browser the way any Pyodide package does. The build

1. writes a minimal source tree whose import package is `qakb`, holding only the files
   the engine is (qakb/__init__.py and the modules of qakb/engine/, the very files `qakb ask`
   imports), so `import qakb.engine` means the same in the browser and the terminal;
2. builds it with the standard tooling, `pip wheel --no-deps --no-build-isolation`
   (setuptools' PEP 517 backend), into the distribution `qakb-engine`, whose version
   carries a hash of those sources as a local label (0.1.0+<hash>): a changed engine
   gets a new file name, so no cache ever serves an older one;
3. extends Pyodide's own pyodide-lock.json with that wheel and its sha256 through the
   `pyodide-lock` package's spec and add-wheels API.

The page names the wheel and the lock's sha256 (search_assets.py); the worker fetches it while
Pyodide starts, checks the sha256 (a wheel with other bytes is refused) and unpacks it into
site-packages as pip would (assets/qakb/wheel.mjs), without loadPackage or micropip, which cost
~0.15 s of the first result. Both files are cached in <cache_dir>/engine-wheel/<key>/, keyed by
the sources, the recipe below, setuptools' version and Pyodide's lock; the wheel's bytes
depend on nothing else (SOURCE_DATE_EPOCH fixes its timestamps, the tree's modes are set).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mkdocs.exceptions import PluginError

import qakb
from qakb import caches
from qakb.plugin.runtime import content_key, made_in_place

DISTRIBUTION = "qakb-engine"
ENGINE_PACKAGE = "engine"  # qakb/engine/: what the wheel ships besides qakb/__init__.py
LOCK_FILE = "pyodide-lock.json"
BUILD_TIMEOUT_S = 300
# Zip timestamps cannot predate 1980; any fixed time makes the same bytes.
SOURCE_DATE_EPOCH = "315532800"
PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "The qakb search engine (qakb.engine), as the browser runs it in Pyodide."
requires-python = ">=3.11"

[tool.setuptools]
packages = ["qakb", "qakb.engine"]
"""


@dataclass(frozen=True)
class EngineWheel:
    """The built wheel and the site's lock file listing it."""
    wheel: Path
    lock: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.wheel.read_bytes()).hexdigest()

    @property
    def lock_hash(self) -> str:
        return hashlib.sha256(self.lock.read_bytes()).hexdigest()


def engine_sources() -> dict[str, bytes]:
    """The engine's files, as `qakb ask` imports them: {"qakb/__init__.py": bytes, "qakb/engine/...": ...}."""
    package_dir = Path(qakb.__file__).parent
    modules = ["__init__.py", *sorted(path.relative_to(package_dir).as_posix()
                                      for path in (package_dir / ENGINE_PACKAGE).glob("*.py"))]
    if f"{ENGINE_PACKAGE}/__init__.py" not in modules:
        raise PluginError(f"The search engine is missing from {package_dir / ENGINE_PACKAGE}.")
    return {f"qakb/{module}": (package_dir / module).read_bytes() for module in modules}


def source_hash(sources: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in sorted(sources.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def engine_version(sources: dict[str, bytes]) -> str:
    """qakb's version with the sources' hash as a local label: a new engine, a new wheel name."""
    return f"{qakb.__version__}+{source_hash(sources)[:16]}"


def wheel_name(sources: dict[str, bytes]) -> str:
    return f"{DISTRIBUTION.replace('-', '_')}-{engine_version(sources)}-py3-none-any.whl"


def engine_wheel(cache_dir: Path, pyodide_lock: Path) -> EngineWheel:
    """The cached wheel and extended lock for the current engine, built if missing."""
    sources = engine_sources()
    version = engine_version(sources)
    pyproject = PYPROJECT.format(name=DISTRIBUTION, version=version)
    key = content_key(source_hash(sources).encode(), pyproject.encode(),
                      importlib.metadata.version("setuptools").encode(), Path(__file__).read_bytes(),
                      pyodide_lock.read_bytes())
    folder = caches.engine_wheels(cache_dir) / key
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) == 1 and (folder / LOCK_FILE).is_file():
        return EngineWheel(wheels[0], folder / LOCK_FILE)
    with made_in_place(folder) as partial:
        partial.mkdir()
        wheel = build_wheel(sources, pyproject, partial)
        write_site_lock(pyodide_lock, wheel, partial / LOCK_FILE)
    return EngineWheel(folder / wheel.name, folder / LOCK_FILE)


def build_wheel(sources: dict[str, bytes], pyproject: str, out_dir: Path) -> Path:
    """`pip wheel` the engine's minimal source tree into out_dir; returns the wheel."""
    with tempfile.TemporaryDirectory(prefix="qakb-engine-src-") as scratch:
        tree = Path(scratch) / "src"
        for name, data in {"pyproject.toml": pyproject.encode(), **sources}.items():
            path = tree / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o644)
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                   "--quiet", "--wheel-dir", str(out_dir), str(tree)]
        try:
            result = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True,
                                    timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PluginError(f"`pip wheel` did not build the {DISTRIBUTION} wheel within {BUILD_TIMEOUT_S} s.") from None
    wheels = sorted(out_dir.glob("*.whl"))
    if result.returncode != 0 or [wheel.name for wheel in wheels] != [wheel_name(sources)]:
        raise PluginError(f"`pip wheel` could not build the {DISTRIBUTION} wheel (pip and setuptools must be "
                          f"installed beside qakb):\n{(result.stderr or result.stdout)[-2000:]}")
    return wheels[0]


def write_site_lock(pyodide_lock: Path, wheel: Path, out: Path) -> None:
    """Pyodide's lock file plus the wheel (file name relative to the lock, sha256, imports).

    pyodide-lock 0.1.2 (the last release for Python 3.11) models an older lock than
    Pyodide 314 writes: 314 dropped `info.version` and added a `tool` table (empty, and
    unread by Pyodide's loader) to the lock and to every package, and 0.1.2's models
    forbid fields they do not know. So the lock is read with subclasses that make
    `info.version` optional (left out again when written, as PyodideLockSpec.to_json
    writes otherwise) and keep unknown fields verbatim; the wheel's own entry is made by
    pyodide-lock's add_wheels_to_spec unchanged.
    The test suite checks that the written lock is Pyodide's plus exactly one package.
    """
    from pydantic import ConfigDict
    from pyodide_lock import PackageSpec, PyodideLockSpec
    from pyodide_lock.spec import InfoSpec
    from pyodide_lock.utils import add_wheels_to_spec

    class Pyodide314InfoSpec(InfoSpec):
        version: str | None = None

    class Pyodide314PackageSpec(PackageSpec):
        model_config = ConfigDict(extra="allow")

    class SiteLockSpec(PyodideLockSpec):
        info: Pyodide314InfoSpec
        packages: dict[str, Pyodide314PackageSpec]
        model_config = ConfigDict(extra="allow")

    try:
        spec = SiteLockSpec.from_json(pyodide_lock)
        extended = add_wheels_to_spec(spec, [wheel], base_path=wheel.parent)
    except (ValueError, RuntimeError) as error:
        raise PluginError(f"Could not add the {DISTRIBUTION} wheel to {pyodide_lock}: {error}") from None
    extended.check_wheel_filenames()
    lock = extended.model_dump()
    if lock["info"]["version"] is None:
        del lock["info"]["version"]
    out.write_text(json.dumps(lock, sort_keys=True), encoding="utf-8")
