"""The package as a user installs it: `pip wheel` of the sources makes a wheel that installs into a
fresh virtual environment, where, with no repository beside it, `qakb new` → `mkdocs build` →
`qakb serve` make a site of a bank and serve it.

The venv gets the wheel's dependencies the way `make setup` gets them (pip, with this repository's
constraints.txt, from the same indexes and pip's cache). Every command runs in a temporary folder
with the venv's own executables, so nothing is imported from the checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from projects import ROOT
from qakb import caches
from test_watch import free_port

pytestmark = pytest.mark.slow

NOT_SHIPPED = {"qakb/ARCHITECTURE.md"}  # for the project's developers, not for a site
BANK = """# Networking interview questions
> https://example.org/networking-notes

## Transport

1. `What is the difference between TCP and UDP?` 👶
TCP is connection-oriented and reliable; UDP sends datagrams without delivery guarantees.

2. ??? `Why does DNS mostly use UDP?` ⭐️
One small request and one small reply: no connection set-up is needed.
"""


def run(command: list, cwd: Path, env: dict | None = None, timeout: float = 1200) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def source_files() -> list[str]:
    """The repository's files as a clone has them, with the changes not yet committed."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], ROOT).stdout
    return sorted(name for name in listed.split("\0") if name and (ROOT / name).is_file())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel --no-deps` of a copy of the sources (setuptools writes build/ into the tree it builds)."""
    sources = tmp_path_factory.mktemp("sources")
    for name in source_files():
        (sources / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, sources / name)
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", out, sources], out)
    [built] = out.glob("qakb-*.whl")
    return built


def test_the_wheel_holds_every_file_of_the_package(wheel):
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = {name for name in source_files() if name.startswith("qakb/")}
    assert sorted(package - NOT_SHIPPED - shipped) == []
    entry_points = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}"
                                               ".dist-info/entry_points.txt").decode()
    assert "qakb = qakb.cli:main" in entry_points and "qakb = qakb.plugin:QakbPlugin" in entry_points


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new venv (no system site packages) with the wheel installed; its bin folder."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", folder], folder.parent)
    # --no-compile: byte-compiling all of torch and transformers is more than half of the install's
    # time (68 s instead of 133 s here); Python compiles what it imports when it imports it.
    run([folder / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile",
         "--constraint", ROOT / "constraints.txt", wheel], folder.parent)
    return folder / "bin"


def user_environment(bin_dir: Path) -> dict[str, str]:
    """The environment of a user whose venv is active: its commands first, no path into the checkout."""
    kept = {name: value for name, value in os.environ.items()
            if name not in ("PYTHONPATH", "VIRTUAL_ENV", "QAKB_CACHE_DIR")}
    return {**kept, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(bin_dir.parent),
            "NO_MKDOCS_2_WARNING": "1"}


def get(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers.get("Content-Type", "")


def test_an_installed_wheel_makes_builds_and_serves_a_site(venv, tmp_path):
    env = user_environment(venv)
    imported = run([venv / "python", "-c", "import qakb, qakb.plugin; print(qakb.__file__)"], tmp_path, env).stdout
    assert Path(imported.strip()).is_relative_to(venv.parent), imported
    (tmp_path / "networking.md").write_text(BANK, encoding="utf-8")

    run([venv / "qakb", "new", "my-site", "--bank", "networking.md"], tmp_path, env)
    site = tmp_path / "my-site"
    # The model's distillation and Pyodide's npm install are the same bytes for any install, take
    # minutes and are tested elsewhere: they are copied from this checkout's cache. What the installed
    # package makes itself (the engine's wheel, the trimmed standard library, the static encoder's
    # table, the embeddings, the index, the pages) is made anew.
    for folder in (caches.distilled_models, caches.npm):
        if folder(ROOT / ".cache").is_dir():
            shutil.copytree(folder(ROOT / ".cache"), folder(site / ".cache"))
    built = run([venv / "mkdocs", "build", "--strict"], site, env)
    assert "every item is in the site and the index once" in built.stderr, built.stderr[-3000:]
    assert list(caches.engine_wheels(site / ".cache").glob("*/qakb_engine-*.whl"))

    answer = run([venv / "qakb", "ask", "--json", "why is dns sent over udp"], site, env).stdout
    assert json.loads(answer)[0]["question"] == "Why does DNS mostly use UDP?"

    port = free_port()
    server = subprocess.Popen([venv / "qakb", "serve", "--port", str(port)], cwd=site, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in server.stderr.readline()
        home, _ = get(f"http://127.0.0.1:{port}/")
        assert b'<script id="__qakb_search"' in home
        page, kind = get(f"http://127.0.0.1:{port}/topics/transport/")
        assert b"Why does DNS mostly use UDP?" in page and kind.startswith("text/html")
        manifest = json.loads(get(f"http://127.0.0.1:{port}/search_index/manifest.json")[0])
        assert manifest["upfront"]
        for name in manifest["upfront"]:  # what the browser fetches before its first search
            data, _ = get(f"http://127.0.0.1:{port}/search_index/{name}")
            assert hashlib.sha256(data).hexdigest() == manifest["files"][name]["sha256"], name
        _, wasm = get(f"http://127.0.0.1:{port}/assets/pyodide/pyodide.asm.wasm")
        assert wasm == "application/wasm"
    finally:
        server.terminate()
        server.wait(timeout=30)
