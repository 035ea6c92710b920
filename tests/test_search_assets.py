"""hooks/search_assets.py: what it puts in the site, and what it says when something is missing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

import qakb
from conftest import search_assets_hooks

hooks = search_assets_hooks()


def fake_config(project: Path, **extra) -> SimpleNamespace:
    (project / "mkdocs.yml").touch()
    return SimpleNamespace(config_file_path=str(project / "mkdocs.yml"), extra=dict(extra))


def test_engine_archive_is_deterministic_and_holds_the_cli_engine():
    name, data = hooks.engine_archive()
    assert hooks.engine_archive() == (name, data)
    assert name.startswith("qakb-engine-") and name.endswith(".zip")
    package_dir = Path(qakb.__file__).parent
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["qakb/__init__.py", "qakb/search.py"]
        for entry in archive.namelist():
            assert archive.read(entry) == (package_dir / Path(entry).name).read_bytes()


def test_missing_pyodide_package_says_to_run_make_build(tmp_path):
    with pytest.raises(PluginError, match=r"node_modules/pyodide.*`make build`"):
        hooks.on_config(fake_config(tmp_path))


def test_missing_search_index_says_to_run_make_build(tmp_path):
    pyodide = tmp_path / "node_modules" / "pyodide"
    pyodide.mkdir(parents=True)
    for name in hooks.PYODIDE_BOOT_FILES:
        (pyodide / name).touch()
    with pytest.raises(PluginError, match=r"search_index/manifest.json does not exist.*`make build`"):
        hooks.on_config(fake_config(tmp_path))


def test_the_browser_fetches_every_index_file_but_the_transformer_index():
    manifest = {
        "indexes": {"transformer": {"file": "transformer.faiss"}, "static": {"file": "static.faiss"}},
        "files": {name: {"bytes": 1, "sha256": name * 2} for name in
                  ("transformer.faiss", "static.faiss", "metadata.json", "static_table.bin")},
    }
    assert hooks.engine_index_files(manifest) == {
        "metadata.json": "metadata.json" * 2,
        "static.faiss": "static.faiss" * 2,
        "static_table.bin": "static_table.bin" * 2,
    }
    with pytest.raises(PluginError, match="`make build`"):
        hooks.engine_index_files({"files": {}})
