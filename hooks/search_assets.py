"""mkdocs hooks that ship the in-browser semantic search with the site.

The built site searches with no server and no third-party request, so it carries
everything the widget (docs/assets/qakb/widget.js) loads:

    assets/pyodide/                        the Pyodide files needed to boot, from the
                                           npm-pinned node_modules/pyodide
    assets/pyodide/qakb-snapshot-<hash>.bin  a memory snapshot of that Pyodide with the
                                           engine imported, made with Node by
                                           hooks/pyodide_snapshot.mjs and cached
                                           in .cache/pyodide-snapshot/: restoring it
                                           skips Python's start-up in the browser
    assets/qakb/qakb-engine-<hash>.zip     the run-time engine: qakb/__init__.py and
                                           qakb/search.py, the very files `qakb ask` runs
    search_index/                          the index written by `qakb build` (from the
                                           folder extra.qakb_index_dir names, if set)

Each page names the engine archive and the index's content hash in a
`<script id="__qakb_search">` block (overrides/main.html), so a page only ever
talks to the engine and index it was built with. Paths are relative to the
folder holding mkdocs.yml.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import qakb
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

PYODIDE_PACKAGE = Path("node_modules") / "pyodide"
# What loadPyodide() fetches to boot the interpreter and standard library; nothing else
# in the npm package (consoles, type declarations, source maps, the UMD build) is needed.
PYODIDE_BOOT_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# Beside this file: a project copied with its hooks/ folder can make the snapshot too.
SNAPSHOT_SCRIPT = Path(__file__).with_name("pyodide_snapshot.mjs")
SNAPSHOT_CACHE = "pyodide-snapshot"
SNAPSHOT_TIMEOUT_S = 120
INDEX_DIR = Path("search_index")
ENGINE_MODULES = ("__init__.py", "search.py")

SITE_RUNTIME_DIR = "assets/pyodide/"
SITE_ENGINE_DIR = "assets/qakb/"
SITE_INDEX_DIR = "search_index/"

# A fixed timestamp and mode make the archive's bytes depend on the sources alone.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644 << 16
ZIP_UNIX = 3


@dataclass(frozen=True)
class SearchAssets:
    """What one site build ships for the search; made once in on_config, added in on_files."""
    pyodide_dir: Path
    engine_name: str
    engine_bytes: bytes
    snapshot: Path | None
    index_dir: Path


# The assets of the build in progress: on_config makes them, on_files adds them to the site.
_current: dict[str, SearchAssets] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Check that the runtime and the index exist, and tell pages where they are."""
    pyodide_dir = pyodide_package(Path(config.config_file_path).parent)
    index_dir = index_folder(config)
    manifest = index_manifest(index_dir)
    engine_name, engine_bytes = engine_archive()
    snapshot = site_snapshot(config, pyodide_dir, engine_bytes)
    _current["assets"] = SearchAssets(pyodide_dir, engine_name, engine_bytes, snapshot, index_dir)
    config.extra["qakb_search"] = {
        "runtime": SITE_RUNTIME_DIR,
        "snapshot": SITE_RUNTIME_DIR + snapshot.name if snapshot else None,
        "engine": SITE_ENGINE_DIR + engine_name,
        "index": SITE_INDEX_DIR,
        "index_files": engine_index_files(manifest),
        "content_hash": manifest.get("content_hash"),
        "pyodide_version": json.loads((pyodide_dir / "package.json").read_text("utf-8"))["version"],
    }
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the Pyodide runtime, the engine archive and the search index to the site."""
    assets = _current["assets"]
    for name in PYODIDE_BOOT_FILES:
        files.append(File.generated(config, SITE_RUNTIME_DIR + name, abs_src_path=str(assets.pyodide_dir / name)))
    files.append(File.generated(config, SITE_ENGINE_DIR + assets.engine_name, content=assets.engine_bytes))
    if assets.snapshot:
        files.append(File.generated(config, SITE_RUNTIME_DIR + assets.snapshot.name,
                                    abs_src_path=str(assets.snapshot)))
    for path in sorted(assets.index_dir.iterdir()):
        if path.is_file():
            files.append(File.generated(config, SITE_INDEX_DIR + path.name, abs_src_path=str(path)))
    return files


def pyodide_package(project_dir: Path) -> Path:
    package_dir = project_dir / PYODIDE_PACKAGE
    missing = [name for name in PYODIDE_BOOT_FILES if not (package_dir / name).is_file()]
    if missing:
        raise PluginError(
            f"The Pyodide runtime is missing from {package_dir} ({', '.join(missing)}). "
            "Run `make build` (it runs `npm ci`) to install the pinned npm package `pyodide`."
        )
    return package_dir


def cache_folder(config: MkDocsConfig) -> Path:
    """.cache/ next to mkdocs.yml, or the cache `qakb build` names (QAKB_CACHE_DIR may move it)."""
    return Path(config.config_file_path).parent / config.extra.get("qakb_cache_dir", ".cache")


def index_folder(config: MkDocsConfig) -> Path:
    """search_index/ next to mkdocs.yml, or the staging folder `qakb build` names in extra."""
    project_dir = Path(config.config_file_path).parent
    return project_dir / config.extra.get("qakb_index_dir", INDEX_DIR)


def index_manifest(index_dir: Path) -> dict:
    manifest_path = index_dir / "manifest.json"
    try:
        return json.loads(manifest_path.read_text("utf-8"))
    except FileNotFoundError:
        raise PluginError(
            f"The search index is missing: {manifest_path} does not exist. Run `make build` to create it."
        ) from None
    except ValueError as error:
        raise PluginError(f"{manifest_path} is not valid JSON ({error}). Run `make build` to recreate it.") from None


def engine_index_files(manifest: dict) -> dict[str, str]:
    """The files of search_index/ the browser fetches besides manifest.json, with their sha256.

    All but the indexes other than "static": the transformer index serves build-time
    features and `qakb ask --exact`, never the engine, and is the one file that grows
    with the bank at 1.5 kB a question. The hash lets the browser fetch every file at
    once, each under a URL that changes with its bytes.
    """
    try:
        build_time_only = {spec["file"] for name, spec in manifest["indexes"].items() if name != "static"}
        return {name: entry["sha256"] for name, entry in sorted(manifest["files"].items())
                if name not in build_time_only}
    except (AttributeError, KeyError, TypeError) as error:
        raise PluginError(f"The search index manifest is malformed ({error!r}). Run `make build` to recreate it.") from None


def engine_archive() -> tuple[str, bytes]:
    """Zip the run-time engine the CLI imports, so browser and terminal rank alike.

    The archive unpacks into Pyodide's site-packages as the `qakb` package; its name
    carries a hash of its bytes, so a browser never runs a cached older engine.
    """
    package_dir = Path(qakb.__file__).parent
    missing = [module for module in ENGINE_MODULES if not (package_dir / module).is_file()]
    if missing:
        raise PluginError(f"The search engine is missing from {package_dir} ({', '.join(missing)}).")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for module in ENGINE_MODULES:
            entry = zipfile.ZipInfo(f"qakb/{module}", date_time=ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = ZIP_UNIX
            entry.external_attr = ZIP_FILE_MODE
            archive.writestr(entry, (package_dir / module).read_bytes())
    data = buffer.getvalue()
    return f"qakb-engine-{hashlib.sha256(data).hexdigest()[:16]}.zip", data


def site_snapshot(config: MkDocsConfig, pyodide_dir: Path, engine_bytes: bytes) -> Path | None:
    """The snapshot to ship, or None where `[tool.qakb] pyodide_snapshot = false` turned it off."""
    if not config.extra.get("qakb_pyodide_snapshot", True):
        return None
    return pyodide_snapshot(cache_folder(config), pyodide_dir, engine_bytes)


def pyodide_snapshot(cache_dir: Path, pyodide_dir: Path, engine_bytes: bytes) -> Path:
    """The cached memory snapshot for this Pyodide build and engine, made with Node if missing.

    It depends on the Pyodide wasm, the engine archive and the script that makes it,
    never on the bank, so a rebuild reuses it; the script makes the same bytes from the
    same inputs. Its name carries that key, so a browser never restores a stale one.
    """
    script = SNAPSHOT_SCRIPT
    key = hashlib.sha256()
    for part in ((pyodide_dir / "pyodide.asm.wasm").read_bytes(), (pyodide_dir / "pyodide.asm.mjs").read_bytes(),
                 engine_bytes, script.read_bytes()):
        key.update(hashlib.sha256(part).digest())
    cached = cache_dir / SNAPSHOT_CACHE / f"qakb-snapshot-{key.hexdigest()[:16]}.bin"
    if cached.is_file():
        return cached
    node = shutil.which("node")
    if node is None:
        raise PluginError("Node.js is needed to build the site (`node` is not on PATH): "
                          f"it runs {SNAPSHOT_SCRIPT.name} to make the Pyodide start-up snapshot. Install Node 20+.")
    cached.parent.mkdir(parents=True, exist_ok=True)
    archive = cached.with_suffix(f".{os.getpid()}.zip")
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    archive.write_bytes(engine_bytes)
    try:
        result = subprocess.run([node, str(script), str(pyodide_dir), str(archive), str(partial)],
                                capture_output=True, text=True, timeout=SNAPSHOT_TIMEOUT_S)
        if result.returncode != 0 or not partial.is_file():
            raise PluginError(f"{script.name} failed to make the Pyodide snapshot:\n{result.stderr[-2000:]}")
        partial.replace(cached)
    except subprocess.TimeoutExpired:
        raise PluginError(f"{script.name} did not finish within {SNAPSHOT_TIMEOUT_S} s.") from None
    finally:
        partial.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
    return cached
