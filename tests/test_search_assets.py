"""qakb/plugin/search_assets.py: what the plugin ships for the search, and what it says when something is missing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

import qakb
from qakb.plugin import search_assets


def test_engine_archive_is_deterministic_and_holds_the_cli_engine():
    name, data = search_assets.engine_archive()
    assert search_assets.engine_archive() == (name, data)
    assert name.startswith("qakb-engine-") and name.endswith(".zip")
    package_dir = Path(qakb.__file__).parent
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["qakb/__init__.py", "qakb/search.py"]
        for entry in archive.namelist():
            assert archive.read(entry) == (package_dir / Path(entry).name).read_bytes()


def test_an_incomplete_pyodide_package_says_how_to_reinstall(tmp_path):
    (tmp_path / "node_modules" / "pyodide").mkdir(parents=True)
    with pytest.raises(PluginError, match=r"pyodide\.asm\.wasm.*missing.*Delete .* and build again"):
        search_assets.pyodide_package(tmp_path / "node_modules")


def test_missing_search_index_says_to_run_qakb_build(tmp_path):
    with pytest.raises(PluginError, match=r"search_index/manifest.json does not exist.*`qakb build`"):
        search_assets.index_manifest(tmp_path / "search_index")


def test_the_browser_fetches_every_index_file_but_the_transformer_index():
    manifest = {
        "indexes": {"transformer": {"file": "transformer.faiss"}, "static": {"file": "static.faiss"}},
        "files": {name: {"bytes": 1, "sha256": name * 2} for name in
                  ("transformer.faiss", "static.faiss", "metadata.json", "static_table.bin")},
    }
    assert search_assets.engine_index_files(manifest) == {
        "metadata.json": "metadata.json" * 2,
        "static.faiss": "static.faiss" * 2,
        "static_table.bin": "static_table.bin" * 2,
    }
    with pytest.raises(PluginError, match="`qakb build`"):
        search_assets.engine_index_files({"files": {}})
