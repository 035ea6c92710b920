"""Spaced-repetition scheduling for the practice page: ts-fsrs, served with the site (no CDN).

ts-fsrs (open-spaced-repetition, MIT) is the reference TypeScript implementation of
FSRS, the scheduler Anki ships. assets/qakb/practice.js imports its ES module build,
which has no dependencies, from assets/ts-fsrs/ on the practice page only; the licence
travels beside it.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

SITE_DIR = "assets/ts-fsrs/"
MODULE = "index.mjs"
LICENSE = "LICENSE"


def site_files(node_modules: Path, config) -> list[File]:
    """assets/ts-fsrs/: the ES module and its licence."""
    package = node_modules / "ts-fsrs"
    sources = {MODULE: package / "dist" / MODULE, LICENSE: package / LICENSE}
    missing = [str(path) for path in sources.values() if not path.is_file()]
    if missing:
        raise PluginError(f"ts-fsrs is incomplete in {package} ({', '.join(missing)} missing): delete "
                          f"{node_modules.parent} and build again to reinstall it.")
    return [File.generated(config, SITE_DIR + name, abs_src_path=str(path)) for name, path in sources.items()]
