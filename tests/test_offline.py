"""The offline copy: the service worker (qakb/plugin/offline.py, offline_sw.js) and its footer
control (assets/qakb/offline.js), in real headless Chromium against `qakb serve`.

A first visit saves the site; with the network off and the server stopped, a reload, a topic
page and a semantic search still work. A rebuilt bank is a new version that replaces the old
cache, copying the files that did not change. Turning the copy off removes it, and stays off.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import VIEWPORT
from projects import ROOT, SEED, make_project, qakb

from qakb.plugin import offline


SEARCH_INPUT = '[data-md-component="search-query"]'
OPTION = ".qakb-search__option"
SAVE_TIMEOUT_MS = 120_000
BOOT_TIMEOUT_MS = 60_000
QUERIES = yaml.safe_load((ROOT / "tests" / "data" / "queries.yml").read_text(encoding="utf-8"))
# Written for this test, in its own words: the rebuilt bank's new question.
ADDED_QUESTION = "Why would a model keep a moving average of its weights for evaluation?"
ADDED_ITEM = f"""

41. `{ADDED_QUESTION}`
Averaging the weights over the last stretch of training smooths out the noise of the final
optimiser steps, so the averaged copy usually scores a little better on held-out data than
the raw weights, at the cost of storing a second set of parameters.
"""


def built_files(site: Path) -> None:
    for name, data in {
        "index.html": b"<h1>home</h1>", "topics/a/index.html": b"<h1>a</h1>", "404.html": b"gone",
        "assets/app.1a2b3c4d.min.js": b"js", "assets/app.1a2b3c4d.min.js.map": b"{}",
        "assets/big.wasm": b"\0asm", "assets/big.wasm.br": b"br", "sitemap.xml.gz": b"gz",
        "search_index/manifest.json": b"{}", "search_index/static.faiss": b"s",
        "search_index/transformer.faiss": b"t",
    }.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)


def test_the_service_worker_lists_what_a_browser_fetches_and_changes_with_any_byte(tmp_path):
    manifest = {"content_hash": "sha256:1", "indexes": {"transformer": {"file": "transformer.faiss"}}}
    built_files(tmp_path)
    summary = offline.write(tmp_path, "search_index/", manifest)
    worker = (tmp_path / offline.SERVICE_WORKER).read_text(encoding="utf-8")
    build = json.loads(worker.split("const BUILD = ", 1)[1].split(";\n", 1)[0])
    urls = [url for url, _, _ in build["files"]]
    # Folders by their address; no source map, precompressed twin or CLI-only index file.
    assert sorted(urls) == ["", "404.html", "assets/app.1a2b3c4d.min.js", "assets/big.wasm", "offline.json",
                            "search_index/manifest.json", "search_index/static.faiss", "topics/a/"]
    assert build["version"] == summary["version"]
    assert summary["files"] == 7 and summary["bytes"] == sum(size for _, size, _ in build["files"][:-1])
    assert json.loads((tmp_path / offline.SUMMARY).read_text(encoding="utf-8")) == summary

    assert offline.write(tmp_path, "search_index/", manifest)["version"] == summary["version"]
    (tmp_path / "topics" / "a" / "index.html").write_bytes(b"<h1>a, reworded</h1>")
    assert offline.write(tmp_path, "search_index/", manifest)["version"] != summary["version"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_project(where: Path, port: int) -> Path:
    """The seed bank's site with site_url at `port` (where `qakb serve` will serve it), without
    the Pyodide snapshot, whose 27 MB would only make the saving slower here."""
    project = make_project(where)
    mkdocs_file = project / "mkdocs.yml"
    text = mkdocs_file.read_text(encoding="utf-8").replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{port}/")
    mkdocs_file.write_text(text.replace("pyodide_snapshot: true", "pyodide_snapshot: false"), encoding="utf-8")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    return project


class QakbServe:
    """`qakb serve` for `project` on `port`, in its own process, as a reader would run it."""

    def __init__(self, project: Path, port: int):
        self.url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen([sys.executable, "-m", "qakb.cli", "--project", str(project), "serve",
                                         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"`qakb serve` did not answer at {self.url}")
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory):
    port = free_port()
    return build_project(tmp_path_factory.mktemp("offline") / "project", port), port


@pytest.fixture
def reader(chromium):
    """A fresh profile where service workers are allowed (conftest's pages block them)."""
    context = chromium.new_context(viewport=VIEWPORT, service_workers="allow")
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context, errors
    context.close()


def wait_until_saved(page, summary: dict) -> None:
    page.wait_for_function("window.qakbOffline && window.qakbOffline.state === 'ready'", timeout=SAVE_TIMEOUT_MS)
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    caches = page.evaluate("caches.keys()")
    assert caches == [f"qakb-offline:/:{summary['version']}"]


def poll(page, script: str, expected, timeout_ms: int) -> None:
    """Wait until the (async) `script` gives `expected`: wait_for_function takes a promise for true."""
    deadline = time.monotonic() + timeout_ms / 1000
    while (value := page.evaluate(script)) != expected:
        assert time.monotonic() < deadline, f"{script} gave {value!r}, not {expected!r}"
        page.wait_for_timeout(200)


def saved_urls(page) -> list[str]:
    return page.evaluate("async (name) => (await (await caches.open(name)).keys()).map((r) => r.url)",
                         page.evaluate("caches.keys()")[0])


def summary_of(project: Path) -> dict:
    return json.loads((project / "site" / "offline.json").read_text(encoding="utf-8"))


@pytest.mark.browser
@pytest.mark.slow
def test_a_saved_site_reloads_and_searches_with_the_network_off(offline_site, reader):
    project, port = offline_site
    context, errors = reader
    summary = summary_of(project)
    server = QakbServe(project, port)
    try:
        page = context.new_page()
        page.goto(server.url)
        wait_until_saved(page, summary)
        # Everything the site ships is saved, the home page by its folder's address.
        assert len(saved_urls(page)) == summary["files"] + 2  # + offline.json + the record of hashes
        megabytes = f"{summary['bytes'] / 1e6:.0f} MB"
        status = page.locator(".qakb-offline__status").inner_text()
        assert status == f"Available offline: {megabytes} saved in this browser."
        assert page.locator(".qakb-offline__button").get_attribute("aria-pressed") == "true"
    finally:
        server.stop()

    context.set_offline(True)
    page.reload()
    assert page.locator(".md-content h1").first.is_visible()
    item = next(item for item in QUERIES if len(item["relevant"]) == 1)
    page.locator(".md-nav--primary a.md-nav__link[href*='/topics/']").nth(2).click()
    page.wait_for_selector(".md-nav--primary a.md-nav__link--active[href*='/topics/']")
    page.wait_for_selector(".qakb-progress__panel")
    page.click(SEARCH_INPUT)
    page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)
    page.keyboard.type(item["query"], delay=5)
    page.wait_for_selector(f"{OPTION} >> nth=0", timeout=10_000)
    metadata = json.loads((project / "search_index" / "metadata.json").read_text(encoding="utf-8"))
    rows = metadata["questions"] if isinstance(metadata, dict) else metadata
    expected = next(row["question"] for row in rows if row["number"] == item["relevant"][0])
    shown = page.locator(f"{OPTION} .qakb-search__question").all_inner_texts()
    assert expected in shown, f"{item['query']!r}: {shown}"
    # A full page load of another page, from the saved copy.
    page.goto(server.url + "practice/")
    page.wait_for_selector(".qakb-card__reveal")
    assert not errors


@pytest.mark.browser
@pytest.mark.slow
def test_b_a_rebuilt_site_replaces_the_saved_copy(offline_site, reader, tmp_path):
    project, port = offline_site
    copy = tmp_path / "project"
    shutil.copytree(project, copy, symlinks=True)
    context, errors = reader
    old = summary_of(copy)
    server = QakbServe(copy, port)
    try:
        page = context.new_page()
        page.goto(server.url)
        wait_until_saved(page, old)

        seed = copy / "content" / SEED.name
        seed.write_text(seed.read_text(encoding="utf-8").rstrip("\n") + ADDED_ITEM, encoding="utf-8")
        result = qakb(copy, "build")
        assert result.returncode == 0, result.stderr[-3000:]
        new = summary_of(copy)
        assert new["version"] != old["version"]

        page.reload()  # the browser finds the new sw.js, which saves the new version and takes over
        # The new version saved, the old one deleted.
        poll(page, "async () => (await caches.keys()).join()", f"qakb-offline:/:{new['version']}", SAVE_TIMEOUT_MS)
        page.wait_for_function("window.qakbOffline.state === 'ready'", timeout=SAVE_TIMEOUT_MS)
        # Unchanged files were copied from the old version's cache, not downloaded again.
        record = page.evaluate("async (name) => (await (await caches.open(name)).match('qakb-offline-record.json'))"
                               ".json()", f"qakb-offline:/:{new['version']}")
        downloaded = record["downloaded"]
        assert "search_index/manifest.json" in downloaded and "offline.json" in downloaded
        assert not [path for path in downloaded if path.startswith("assets/pyodide/")], downloaded
    finally:
        server.stop()

    context.set_offline(True)
    page.reload()
    page.click(SEARCH_INPUT)
    page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)
    page.keyboard.type("keeping an average of the weights from late in training", delay=5)
    page.wait_for_selector(f"{OPTION} >> nth=0", timeout=10_000)
    assert ADDED_QUESTION in page.locator(f"{OPTION} .qakb-search__question").all_inner_texts()
    assert not errors


@pytest.mark.browser
@pytest.mark.slow
def test_c_turning_the_copy_off_removes_it_and_stays_off(offline_site, reader):
    project, port = offline_site
    context, errors = reader
    server = QakbServe(project, port)
    try:
        page = context.new_page()
        page.goto(server.url)
        wait_until_saved(page, summary_of(project))
        page.click(".qakb-offline__button")
        page.wait_for_function("window.qakbOffline.state === 'off'")
        poll(page, "async () => (await caches.keys()).length", 0, 10_000)
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then((all) => all.length)") == 0
        assert page.locator(".qakb-offline__button").get_attribute("aria-pressed") == "false"
        assert page.locator(".qakb-offline__status").inner_text().startswith("Offline copy off (")

        page.reload()
        page.wait_for_load_state("load")
        page.wait_for_timeout(1500)  # past the idle moment at which a copy would be saved
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then((all) => all.length)") == 0
        assert page.evaluate("caches.keys()") == []
        assert page.locator(".qakb-offline__button").get_attribute("aria-pressed") == "false"

        page.click(".qakb-offline__button")  # and back on
        wait_until_saved(page, summary_of(project))
    finally:
        server.stop()
    assert not errors
