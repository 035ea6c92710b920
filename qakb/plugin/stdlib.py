"""A trimmed standard-library archive: only what Pyodide's start-up and the engine load.

Pyodide's python_stdlib.zip holds the whole standard library (2.5 MB, deflated entry by
entry, so no host compression shrinks it); the search needs about 150 of its modules
(0.8 MB). At build time stdlib_modules.mjs boots the pinned Pyodide in Node, installs the
engine's wheel as the browser's worker does, opens the site's index and runs every kind of query the
box can send; the modules then loaded from the archive are copied, entry for entry, into
assets/pyodide/python_stdlib-<hash>.zip, which the worker boots with (loadPyodide's
stdLibURL). Cached in <cache_dir>/stdlib/ by Pyodide's archive, the engine's wheel and the
script: a module set belongs to the engine's code, not to the bank.

A memory snapshot was made with the whole archive, whose directory it holds in its heap:
with the snapshot the worker boots with the whole archive, never the trimmed one.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from qakb import caches
from qakb.plugin.engine_wheel import DISTRIBUTION, EngineWheel
from qakb.plugin.runtime import content_key, made_in_place, run_node

SCRIPT = Path(__file__).with_name("stdlib_modules.mjs")
WHEEL_SCRIPT = Path(__file__).parent / "assets" / "qakb" / "wheel.mjs"  # how the worker installs the engine
STDLIB_ARCHIVE = "python_stdlib.zip"
TIMEOUT_S = 180


def trimmed_stdlib(cache_dir: Path, pyodide_dir: Path, engine: EngineWheel, index_dir: Path) -> Path:
    """The cached trimmed archive for this Pyodide and engine, made with Node if missing."""
    full = pyodide_dir / STDLIB_ARCHIVE
    key = content_key(full.read_bytes(), engine.wheel.read_bytes(), SCRIPT.read_bytes(), WHEEL_SCRIPT.read_bytes(),
                      Path(__file__).read_bytes())
    cached = caches.trimmed_stdlibs(cache_dir) / f"python_stdlib-{key}.zip"
    if cached.is_file():
        return cached
    result = run_node(SCRIPT, [str(pyodide_dir), str(engine.lock), DISTRIBUTION, str(index_dir)], timeout_s=TIMEOUT_S,
                      purpose="list the standard-library modules the search needs", option="trim_stdlib: false")
    with made_in_place(cached) as partial:
        write_subset(full, json.loads(result.stdout), partial)
    return cached


def write_subset(full: Path, names: list[str], out: Path) -> None:
    """Copy the named entries of the archive `full` (as they are: same bytes, dates and modes) into `out`."""
    with zipfile.ZipFile(full) as source, zipfile.ZipFile(out, "w") as subset:
        for name in sorted(set(names)):
            info = source.getinfo(name)
            subset.writestr(info, source.read(info), compress_type=info.compress_type)
