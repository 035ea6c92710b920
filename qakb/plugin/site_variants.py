"""Copies of a built site that differ in one first-visit option, for the benchmark
(scripts/bench_browser.py's trade-off table) and the tests (tests/test_engine_package.py).

Each variant is what a build with that option would write, made from one built site so
that the bank, index and engine are the same bytes in every row of the trade-off table.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from qakb.plugin import engine_wheel, offline, search_assets
from qakb.plugin.runtime import runtime_packages

_SEARCH_BLOCK = re.compile(r'(<script id="__qakb_search" type="application/json">)(.*?)(</script>)', re.S)
PRECOMPRESSED_SUFFIXES = (".gz", ".br")


def search_config(site: Path) -> dict:
    return json.loads(_SEARCH_BLOCK.search((site / "index.html").read_text(encoding="utf-8"))[2])


def patch_search_config(site: Path, **changes) -> None:
    """Change the `__qakb_search` block of every page, as a build with other options would write it,
    and the offline copy's list of what it saves (their sha256 changed)."""
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        page.write_text(_SEARCH_BLOCK.sub(lambda m: m[1] + json.dumps({**json.loads(m[2]), **changes}) + m[3], html),
                        encoding="utf-8")
        for suffix in PRECOMPRESSED_SUFFIXES:  # a compressed copy would still hold the old block
            page.with_name(page.name + suffix).unlink(missing_ok=True)
    offline.rewrite(site, search_assets.SITE_INDEX_DIR)
    for name in (offline.SERVICE_WORKER, offline.SUMMARY):
        for suffix in PRECOMPRESSED_SUFFIXES:
            (site / (name + suffix)).unlink(missing_ok=True)


def add_snapshot(site: Path, cache_dir: Path) -> Path:
    """Ship the Pyodide memory snapshot of this engine (option pyodide_snapshot: true)."""
    pyodide_dir = runtime_packages(cache_dir) / "pyodide"
    engine = engine_wheel.engine_wheel(cache_dir, pyodide_dir / engine_wheel.LOCK_FILE)
    snapshot = search_assets.pyodide_snapshot(cache_dir, pyodide_dir, engine)
    target = site / search_assets.SITE_RUNTIME_DIR / snapshot.name
    shutil.copy(snapshot, target)
    from qakb.plugin.compress import precompress_site  # noqa: PLC0415 - only this variant needs it

    # As a build with the snapshot: it boots with the whole standard library it was made with.
    patch_search_config(site, snapshot=search_assets.SITE_RUNTIME_DIR + snapshot.name, stdlib=None)
    precompress_site(site, cache_dir, lasting=search_assets.is_runtime_file)
    return target


def drop_precompressed(site: Path) -> None:
    """A host that serves the plain files only."""
    for suffix in PRECOMPRESSED_SUFFIXES:
        for path in site.rglob(f"*{suffix}"):
            path.unlink()


def copy_site(site: Path, where: Path) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(site, where)
    return where
