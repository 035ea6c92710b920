"""qakb/plugin/search_assets.py and engine_wheel.py: what the plugin ships for the search
(the engine as a wheel in Pyodide's lock file), and what it says when something is missing."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

import qakb
from projects import ROOT
from qakb.engine.format import IndexFile, Manifest, WholeFiles
from qakb.plugin import engine_wheel, search_assets
from qakb.plugin.runtime import runtime_packages


@pytest.fixture(scope="module")
def pyodide_lock() -> Path:
    return runtime_packages(ROOT / ".cache") / "pyodide" / "pyodide-lock.json"


@pytest.fixture(scope="module")
def wheel(pyodide_lock) -> engine_wheel.EngineWheel:
    return engine_wheel.engine_wheel(ROOT / ".cache", pyodide_lock)


def test_the_wheel_holds_exactly_the_engine_the_cli_imports(wheel):
    package_dir = Path(qakb.__file__).parent
    assert wheel.wheel.name == engine_wheel.wheel_name(engine_wheel.engine_sources())
    with zipfile.ZipFile(wheel.wheel) as archive:
        names = archive.namelist()
        modules = [name for name in names if not name.startswith("qakb_engine-")]
        assert modules == ["qakb/__init__.py", *sorted(f"qakb/engine/{path.name}" for path in (package_dir / "engine").glob("*.py"))]
        for name in modules:
            assert archive.read(name) == (package_dir.parent / name).read_bytes()
        dist_info = {Path(name).name for name in names if name not in modules}
        assert {"METADATA", "WHEEL", "RECORD"} <= dist_info


def test_the_site_lock_is_pyodides_plus_the_engine_with_its_sha256(wheel, pyodide_lock):
    site_lock = json.loads(wheel.lock.read_text(encoding="utf-8"))
    entry = site_lock["packages"].pop("qakb-engine")
    assert site_lock == json.loads(pyodide_lock.read_text(encoding="utf-8"))
    assert entry["file_name"] == wheel.wheel.name  # beside the lock, in assets/pyodide/
    assert entry["sha256"] == hashlib.sha256(wheel.wheel.read_bytes()).hexdigest()
    assert entry["imports"] == ["qakb"] and entry["depends"] == []


@pytest.mark.slow
def test_the_wheel_is_byte_reproducible(tmp_path, pyodide_lock, wheel):
    again = engine_wheel.engine_wheel(tmp_path / "cache", pyodide_lock)
    assert again.wheel.read_bytes() == wheel.wheel.read_bytes()
    assert again.lock.read_bytes() == wheel.lock.read_bytes()


def test_a_failed_wheel_build_says_what_pip_said(tmp_path):
    with pytest.raises(PluginError, match="could not build the qakb-engine wheel"):
        engine_wheel.build_wheel(engine_wheel.engine_sources(), "not toml [", tmp_path)


def test_an_incomplete_pyodide_package_says_how_to_reinstall(tmp_path):
    (tmp_path / "node_modules" / "pyodide").mkdir(parents=True)
    with pytest.raises(PluginError, match=r"pyodide\.asm\.wasm.*missing.*Delete .* and build again"):
        search_assets.pyodide_package(tmp_path / "node_modules")


def test_missing_search_index_says_to_run_qakb_build(tmp_path):
    with pytest.raises(PluginError, match=r"search_index/manifest.json does not exist.*`qakb build`"):
        search_assets.index_manifest(tmp_path / "search_index")


def test_the_browser_fetches_every_index_file_but_the_transformer_index():
    manifest = Manifest(
        model="m", content_hash="h", count=1, transformer_index=IndexFile("transformer.faiss", 384), encoder={}, bm25={},
        whole=WholeFiles(static_index=IndexFile("static.faiss", 64), passage_index=IndexFile("passages.faiss", 64)),
        files={name: {"bytes": 1, "sha256": name * 2} for name in
               ("transformer.faiss", "static.faiss", "metadata.json", "static_table.bin")},
    ).to_json()
    assert search_assets.engine_index_files(manifest) == {
        "metadata.json": "metadata.json" * 2,
        "static.faiss": "static.faiss" * 2,
        "static_table.bin": "static_table.bin" * 2,
    }
    with pytest.raises(PluginError, match="`qakb build`"):
        search_assets.engine_index_files({"files": {}})  # an index written before the manifest listed them


def test_index_and_runtime_files_are_linked_into_the_site_or_copied_where_links_fail(tmp_path, monkeypatch):
    from types import SimpleNamespace

    source = tmp_path / "search_index" / "list-0001.bin"
    source.parent.mkdir()
    source.write_bytes(b"\x01\x02vectors")
    config = SimpleNamespace(site_dir=str(tmp_path / "site"), use_directory_urls=True,
                             plugins=SimpleNamespace(_current_plugin="qakb"))
    linked = search_assets.LinkedFile.generated(config, "search_index/list-0001.bin", abs_src_path=str(source))
    linked.copy_file()
    target = tmp_path / "site" / "search_index" / "list-0001.bin"
    assert target.read_bytes() == source.read_bytes() and target.stat().st_ino == source.stat().st_ino
    linked.copy_file()  # again over it (a site built in place): still the source's bytes
    assert target.stat().st_ino == source.stat().st_ino

    def no_links(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(search_assets.os, "link", no_links)
    target.unlink()
    linked.copy_file()
    assert target.read_bytes() == source.read_bytes() and target.stat().st_ino != source.stat().st_ino


def test_the_site_takes_every_index_file_a_browser_reads(tmp_path):
    """transformer.faiss is read by `qakb ask --exact` and `qakb eval` only (1.5 kB a question), and a
    sharded index's metadata.json by no browser (0.5 kB a question): at 100,000 questions either is over
    every host's file limit."""
    from types import SimpleNamespace

    index_dir = tmp_path / "search_index"
    index_dir.mkdir()
    for name in ("manifest.json", "transformer.faiss", "list-0000.bin", "metadata.json"):
        (index_dir / name).write_bytes(b"x")
    engine = SimpleNamespace(lock=tmp_path / "pyodide-lock.json", wheel=tmp_path / "qakb_engine.whl")
    config = SimpleNamespace(site_dir=str(tmp_path / "site"), use_directory_urls=True,
                             plugins=SimpleNamespace(_current_plugin="qakb"))

    def index_files(manifest: dict) -> set[str]:
        assets = search_assets.SearchAssets(tmp_path / "pyodide", engine, None, None, "idle", index_dir, manifest)
        return {file.src_uri for file in assets.site_files(config) if file.src_uri.startswith("search_index/")}

    whole = {"search_index/manifest.json", "search_index/list-0000.bin", "search_index/metadata.json"}
    assert index_files({}) == whole
    assert index_files({"shards": {}}) == whole - {"search_index/metadata.json"}
