"""What a site ships for the in-browser semantic search.

The built site searches with no server and no third-party request, so it carries
everything the widget (assets/qakb/widget.js) loads:

    assets/pyodide/                          the Pyodide files needed to boot, from the
                                             pinned npm package (runtime.py installs it)
    assets/pyodide/pyodide-lock.json         Pyodide's lock file plus the engine's wheel
    assets/pyodide/qakb_engine-<v>-py3-none-any.whl
                                             the run-time engine as a Pyodide package:
                                             qakb/__init__.py and qakb/engine/, the very
                                             files `qakb ask` runs (engine_wheel.py)
    assets/pyodide/qakb-snapshot-<hash>.bin  (option pyodide_snapshot) a memory snapshot
                                             of that Pyodide with the engine imported, made
                                             with Node by pyodide_snapshot.mjs and cached in
                                             <cache_dir>/pyodide-snapshot/: restoring it
                                             skips Python's start-up in the browser
    assets/pyodide/python_stdlib-<hash>.zip  (option trim_stdlib, without a snapshot) the
                                             standard-library modules the search loads (stdlib.py)
    search_index/                            the index written by `qakb build`

Each page names the lock file (with a hash of its bytes), the snapshot and the index's
content hash in a `<script id="__qakb_search">` block (templates/main.html, filled from
`page_config`), so a page only ever talks to the engine and index it was built with.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from qakb import caches
from qakb.engine.format import METADATA_FILE, TRANSFORMER_INDEX_FILE
from qakb.plugin.engine_wheel import DISTRIBUTION, LOCK_FILE, EngineWheel, engine_wheel
from qakb.plugin.runtime import content_key, made_in_place, run_node
from qakb.plugin.stdlib import trimmed_stdlib

# What loadPyodide() fetches to boot the interpreter and standard library; nothing else
# in the npm package (consoles, type declarations, source maps, the UMD build) is needed.
# The lock file is not copied as it is: the site's own adds the engine (engine_wheel.py).
PYODIDE_BOOT_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
)
SNAPSHOT_SCRIPT = Path(__file__).with_name("pyodide_snapshot.mjs")
SNAPSHOT_TIMEOUT_S = 120

SITE_RUNTIME_DIR = "assets/pyodide/"
SITE_INDEX_DIR = "search_index/"


def is_runtime_file(path: str) -> bool:
    """Whether a site file (path relative to the site) is part of the runtime, the same in every build."""
    return path.startswith(SITE_RUNTIME_DIR)


@dataclass(frozen=True)
class SearchAssets:
    """What one site build ships for the search: made once in on_config, added in on_files."""
    pyodide_dir: Path
    engine: EngineWheel
    snapshot: Path | None
    stdlib: Path | None  # the trimmed standard-library archive (stdlib.py), if the site boots with it
    start: str  # "idle" or "focus": when the widget starts the engine
    index_dir: Path
    manifest: dict

    @property
    def page_config(self) -> dict:
        """What every page tells the widget (the `__qakb_search` block)."""
        return {
            "runtime": SITE_RUNTIME_DIR,
            "snapshot": SITE_RUNTIME_DIR + self.snapshot.name if self.snapshot else None,
            "stdlib": SITE_RUNTIME_DIR + self.stdlib.name if self.stdlib else None,
            # The lock's URL changes with its bytes, which name the engine's wheel and its sha256.
            "lock": f"{SITE_RUNTIME_DIR}{LOCK_FILE}?v={self.engine.lock_hash[:16]}",
            "engine_package": DISTRIBUTION,
            # Fetched while Pyodide starts, checked against its sha256 and unpacked by the worker.
            "wheel": SITE_RUNTIME_DIR + self.engine.wheel.name,
            "wheel_sha256": self.engine.sha256,
            "start": self.start,
            # The index's files and checksums come from its manifest, read first by the
            # browser: nothing here changes when only the bank does, so neither do the pages.
            "index": SITE_INDEX_DIR,
            "pyodide_version": json.loads((self.pyodide_dir / "package.json").read_text("utf-8"))["version"],
        }

    def boot_files(self) -> list[str]:
        """The runtime files (site paths) a page's search fetches to start: Pyodide, the standard library
        it boots with, the lock file and the engine's wheel, the snapshot if shipped."""
        stdlib = self.stdlib.name if self.stdlib else "python_stdlib.zip"
        names = [name for name in PYODIDE_BOOT_FILES if name != "python_stdlib.zip"]
        names += [stdlib, self.engine.lock.name, self.engine.wheel.name, *([self.snapshot.name] if self.snapshot else [])]
        return [SITE_RUNTIME_DIR + name for name in names]

    def site_files(self, config) -> list[File]:
        """The Pyodide runtime, its lock file and the engine's wheel, the snapshot and the search index
        but what no browser reads: transformer.faiss (`qakb ask --exact` and `qakb eval` only: 1.5 kB a
        question), and a sharded index's metadata.json (its texts are in its shards, the practice page
        reads its own files: 0.5 kB a question). Either would pass every host's file limit at 100,000."""
        unread = {TRANSFORMER_INDEX_FILE, *([METADATA_FILE] if "shards" in self.manifest else [])}
        sources = [(SITE_RUNTIME_DIR + name, self.pyodide_dir / name) for name in PYODIDE_BOOT_FILES]
        sources += [(SITE_RUNTIME_DIR + path.name, path) for path in (self.engine.lock, self.engine.wheel)]
        sources += [(SITE_RUNTIME_DIR + extra.name, extra) for extra in (self.snapshot, self.stdlib) if extra]
        sources += [(SITE_INDEX_DIR + path.name, path) for path in sorted(self.index_dir.iterdir())
                    if path.is_file() and path.name not in unread]
        return [LinkedFile.generated(config, uri, abs_src_path=str(path)) for uri, path in sources]


class LinkedFile(File):
    """A file the site takes unchanged: hard-linked into the site, not copied (a 10,000-question
    bank's index is ~5,700 files, the runtime ~25 MB, on every build), copied where linking fails
    (another file system). Nothing writes into a built site's files in place: a rebuild writes a
    new site, and compression writes copies beside them."""

    def copy_file(self, dirty: bool = False) -> None:
        if dirty and not self.is_modified():
            return
        target = Path(self.abs_dest_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.abs_src_path, target)
        except FileExistsError:
            target.unlink()
            os.link(self.abs_src_path, target)
        except OSError:
            super().copy_file(dirty)


def collect(node_modules: Path, index_dir: Path, cache_dir: Path, with_snapshot: bool, start: str = "idle",
            trim_stdlib: bool = True) -> SearchAssets:
    """Check that the runtime and the index exist; make the engine's wheel and lock, the snapshot
    or the trimmed standard library (a snapshot holds the whole one's directory: never both)."""
    pyodide_dir = pyodide_package(node_modules)
    manifest = index_manifest(index_dir)
    engine = engine_wheel(cache_dir, pyodide_dir / LOCK_FILE)
    snapshot = pyodide_snapshot(cache_dir, pyodide_dir, engine) if with_snapshot else None
    stdlib = trimmed_stdlib(cache_dir, pyodide_dir, engine, index_dir) if trim_stdlib and not snapshot else None
    return SearchAssets(pyodide_dir, engine, snapshot, stdlib, start, index_dir, manifest)


def pyodide_package(node_modules: Path) -> Path:
    package_dir = node_modules / "pyodide"
    missing = [name for name in (*PYODIDE_BOOT_FILES, LOCK_FILE) if not (package_dir / name).is_file()]
    if missing:
        raise PluginError(
            f"The Pyodide runtime is incomplete in {package_dir} ({', '.join(missing)} missing). "
            f"Delete {node_modules.parent} and build again to reinstall it."
        )
    return package_dir


def index_manifest(index_dir: Path) -> dict:
    manifest_path = index_dir / "manifest.json"
    try:
        return json.loads(manifest_path.read_text("utf-8"))
    except FileNotFoundError:
        raise PluginError(
            f"The search index is missing: {manifest_path} does not exist. Run `qakb build` to create it."
        ) from None
    except ValueError as error:
        raise PluginError(f"{manifest_path} is not valid JSON ({error}). Run `qakb build` to recreate it.") from None


def engine_index_files(manifest: dict) -> dict[str, str]:
    """The files of search_index/ the browser fetches besides manifest.json, with their sha256
    (the manifest's "upfront" list, `qakb.engine.format.Manifest.upfront`)."""
    try:
        return {name: manifest["files"][name]["sha256"] for name in manifest["upfront"]}
    except (AttributeError, KeyError, TypeError) as error:
        raise PluginError(f"The search index manifest is malformed ({error!r}). Run `qakb build` to recreate it.") from None


def pyodide_snapshot(cache_dir: Path, pyodide_dir: Path, engine: EngineWheel) -> Path:
    """The cached memory snapshot for this Pyodide build and engine, made with Node if missing.

    It depends on the Pyodide wasm, the engine's wheel and lock and the script that makes it,
    never on the bank, so a rebuild reuses it; the script makes the same bytes from the
    same inputs. Its name carries that key, so a browser never restores a stale one.
    """
    script = SNAPSHOT_SCRIPT
    key = content_key((pyodide_dir / "pyodide.asm.wasm").read_bytes(), (pyodide_dir / "pyodide.asm.mjs").read_bytes(),
                      engine.wheel.read_bytes(), engine.lock.read_bytes(), script.read_bytes())
    cached = caches.pyodide_snapshots(cache_dir) / f"qakb-snapshot-{key}.bin"
    if cached.is_file():
        return cached
    with made_in_place(cached) as partial:
        run_node(script, [str(pyodide_dir), str(engine.lock), DISTRIBUTION, str(partial)],
                 timeout_s=SNAPSHOT_TIMEOUT_S, purpose="make the Pyodide start-up snapshot", option="pyodide_snapshot: false")
        if not partial.is_file():
            raise PluginError(f"{script.name} did not write the Pyodide snapshot.")
    return cached
