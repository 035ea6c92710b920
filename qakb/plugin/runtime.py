"""The browser runtime every site ships, from npm: Pyodide (the search), KaTeX (math) and
ts-fsrs (the practice page's spaced-repetition scheduler).

Their versions are pinned once, in npm/package.json and npm/package-lock.json beside
this file, so every site built by this qakb, whatever its folder, ships the same
runtime. The first build installs them with `npm ci` into
<cache_dir>/npm/<hash of the lock>/node_modules/; later builds (of any site sharing
the cache) reuse that folder, and a new pin makes a new folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mkdocs.exceptions import PluginError

from qakb import caches

NPM_DIR = Path(__file__).with_name("npm")
NPM_FILES = ("package.json", "package-lock.json")
NPM_TIMEOUT_S = 600

log = logging.getLogger("mkdocs.plugins.qakb")


def pinned_versions() -> dict[str, str]:
    """Package name -> the exact version every site ships."""
    return json.loads((NPM_DIR / "package.json").read_text("utf-8"))["dependencies"]


def runtime_packages(cache_dir: Path) -> Path:
    """The node_modules folder holding the pinned runtime, installed on first use."""
    installed = install_folder(cache_dir)
    if not installed.is_dir():
        install(installed)
    return installed / "node_modules"


def content_key(*parts: bytes) -> str:
    """A short hex key for an output cached by its inputs: any changed byte of any part changes it."""
    key = hashlib.sha256()
    for part in parts:
        key.update(hashlib.sha256(part).digest())
    return key.hexdigest()[:16]


@contextmanager
def made_in_place(destination: Path) -> Iterator[Path]:
    """A scratch path beside `destination` (a file or a folder) to make it in.

    When the block ends, the scratch takes `destination`'s name in one rename: an interrupted
    build leaves nothing that looks made, and builds sharing the cache never see each other's
    half-made output (if another build made a folder first, theirs is kept: the same inputs
    made both). The scratch is removed in every case. Its name is the process's and the thread's,
    so threads of one build may make the same output at once too.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = destination.with_name(f"{destination.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    _remove(scratch)
    try:
        yield scratch
        try:
            scratch.replace(destination)
        except OSError:
            if not destination.is_dir():
                raise
    finally:
        _remove(scratch)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def run_node(script: Path, args: list[str], *, timeout_s: int, purpose: str, option: str) -> subprocess.CompletedProcess:
    """Run one of the plugin's Node scripts (`node script args...`) for `purpose` ("make the ...").

    Node is needed only for the steps that make site files with Pyodide; each can be turned
    off with the plugin `option` named in the error.
    """
    node = shutil.which("node")
    if node is None:
        raise PluginError(f"Node.js is needed to build the site (`node` is not on PATH): it runs {script.name} "
                          f"to {purpose}. Install Node.js 20+ and npm, or set `{option}` under the qakb plugin "
                          "in mkdocs.yml.")
    try:
        result = subprocess.run([node, str(script), *args], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PluginError(f"{script.name} did not finish within {timeout_s} s.") from None
    if result.returncode != 0:
        raise PluginError(f"{script.name} failed to {purpose}:\n{result.stderr[-2000:]}")
    return result


def install_folder(cache_dir: Path) -> Path:
    """Where the cache holds these pins: named by a hash of the package and lock files."""
    key = hashlib.sha256(b"".join((NPM_DIR / name).read_bytes() for name in NPM_FILES)).hexdigest()[:16]
    return caches.npm(cache_dir) / key


def install(destination: Path) -> None:
    """`npm ci` the pinned packages into a scratch folder, then move it into place in one
    rename: an interrupted install leaves nothing that looks installed, and two builds
    sharing the cache never see each other's half-made folder."""
    versions = ", ".join(f"{name} {version}" for name, version in pinned_versions().items())
    npm = shutil.which("npm")
    if npm is None:
        raise PluginError(f"npm is needed once to install the site's browser runtime ({versions}) into "
                          f"{destination.parent}, and `npm` is not on PATH: install Node.js 20+ and npm.")
    with made_in_place(destination) as partial:
        partial.mkdir()
        for name in NPM_FILES:
            shutil.copyfile(NPM_DIR / name, partial / name)
        log.info("qakb: installing the browser runtime (%s) with npm ci into %s", versions, destination)
        try:
            result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                                    cwd=partial, capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PluginError(f"`npm ci` did not install {versions} within {NPM_TIMEOUT_S} s.") from None
        if result.returncode != 0:
            raise PluginError(f"`npm ci` could not install the browser runtime ({versions}); is the npm "
                              f"registry reachable?\n{result.stderr[-2000:]}")
