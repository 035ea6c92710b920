"""The offline copy: the service worker (qakb/plugin/offline.py, offline_sw.js) and its footer
control (assets/qakb/offline.js), in real headless Chromium against `qakb serve`.

A first visit saves the site; with the network off and the server stopped, a reload, a topic
page and a semantic search still work. A rebuilt bank is a new version that replaces the old
cache, copying the files that did not change. Turning the copy off removes it, and stays off.

A site above the option offline_auto_mb (the seed bank with it lowered to 1 MB, or the project
QAKB_OFFLINE_PROJECT names, such as the 10,000-question synthetic one) downloads on a first visit
left idle 30 s nothing but what browsing and the search need; the footer offers the whole site
and the search index alone, with their sizes, and saves either when asked, for offline use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import VIEWPORT
from projects import ROOT, SEED, make_project, qakb
from test_browser import axe_violations

from qakb import render
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
        "sitemap.xml": b"<urlset/>", "search/search_index.json": b"{}", "practice/answers.json": b"[]",
        "practice/topics.json": b"{}",
        "assets/app.1a2b3c4d.min.js": b"js", "assets/app.1a2b3c4d.min.js.map": b"{}",
        "assets/javascripts/lunr/min/lunr.de.min.js": b"de",
        "assets/pyodide/pyodide.asm.wasm": b"\0asm", "assets/pyodide/pyodide.asm.wasm.br": b"br",
        "assets/pyodide/python_stdlib.zip": b"PK", "assets/pyodide/pyodide-lock.json": b"{}",
        "sitemap.xml.gz": b"gz", "search_index/manifest.json": b"{}", "search_index/static.faiss": b"s",
        "search_index/list-0000.bin": b"l", "search_index/transformer.faiss": b"t",
    }.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)


def test_the_service_worker_lists_what_a_browser_fetches_by_part_and_changes_with_any_byte(tmp_path):
    manifest = {"content_hash": "sha256:1", "indexes": {"transformer": {"file": "transformer.faiss"}},
                "upfront": ["static.faiss"]}
    built_files(tmp_path)
    boot = ["assets/pyodide/pyodide.asm.wasm", "assets/pyodide/pyodide-lock.json"]
    summary = offline.write(tmp_path, "search_index/", manifest, boot, auto_max_mb=1)
    build = offline.listed(tmp_path)
    # Folders by their address; no source map, precompressed twin or CLI-only index file. What
    # browsing and the search's first query need is VISIT; the rest of either index, SEARCH.
    parts = {url: part for url, _, _, part, _ in build["files"]}
    assert parts == {
        "": offline.VISIT, "404.html": offline.VISIT, "sitemap.xml": offline.VISIT, "offline.json": offline.VISIT,
        "search/search_index.json": offline.VISIT, "practice/topics.json": offline.VISIT,
        "assets/app.1a2b3c4d.min.js": offline.VISIT,
        "assets/pyodide/pyodide.asm.wasm": offline.VISIT, "assets/pyodide/pyodide-lock.json": offline.VISIT,
        "search_index/manifest.json": offline.VISIT, "search_index/static.faiss": offline.VISIT,
        "search_index/list-0000.bin": offline.SEARCH, "assets/javascripts/lunr/min/lunr.de.min.js": offline.SEARCH,
        "topics/a/": offline.SITE, "practice/answers.json": offline.SITE,
        "assets/pyodide/python_stdlib.zip": offline.SITE,  # the whole one, when the search boots with another
    }
    # The files the search asks for under URL?v=<hash>: the index's but its manifest, and the lock file.
    assert sorted(url for url, _, _, _, hashed in build["files"] if hashed) == [
        "assets/pyodide/pyodide-lock.json", "search_index/list-0000.bin", "search_index/static.faiss"]
    assert build["version"] == summary["version"]
    sizes = {url: size for url, size, _, _, _ in build["files"][:-1]}
    assert summary["files"] == len(sizes) == 15 and summary["bytes"] == sum(sizes.values())
    assert summary["search_bytes"] == sum(size for url, size in sizes.items() if parts[url] <= offline.SEARCH)
    assert json.loads((tmp_path / offline.SUMMARY).read_text(encoding="utf-8")) == summary

    # Up to the threshold a first visit saves it all; above it, or with 0, it does not.
    assert summary["auto"] is True
    assert offline.write(tmp_path, "search_index/", manifest, boot, auto_max_mb=0)["auto"] is False
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "chart.png").write_bytes(bytes(offline.MEGABYTE - summary["bytes"]))
    assert offline.write(tmp_path, "search_index/", manifest, boot, auto_max_mb=1)["auto"] is True
    (tmp_path / "media" / "chart.png").write_bytes(bytes(offline.MEGABYTE - summary["bytes"] + 1))
    assert offline.write(tmp_path, "search_index/", manifest, boot, auto_max_mb=1)["auto"] is False
    (tmp_path / "media" / "chart.png").unlink()
    assert render.PRACTICE_TOPICS in offline.SHELL_FILES
    assert offline.write(tmp_path, "search_index/", manifest, boot, auto_max_mb=1)["version"] == summary["version"]
    (tmp_path / "topics" / "a" / "index.html").write_bytes(b"<h1>a, reworded</h1>")
    assert offline.write(tmp_path, "search_index/", manifest, boot, auto_max_mb=1)["version"] != summary["version"]

    # A copy changed after the build (qakb.plugin.site_variants): the same list, parts and choice, the new bytes.
    before = offline.listed(tmp_path)
    (tmp_path / "topics" / "a" / "index.html").write_bytes(b"<h1>a, patched</h1>")
    rewritten = offline.rewrite(tmp_path, "search_index/")
    after = offline.listed(tmp_path)
    assert rewritten["auto"] is True and after["version"] == rewritten["version"] != before["version"]
    assert [(url, part, hashed) for url, _, _, part, hashed in after["files"]] == [
        (url, part, hashed) for url, _, _, part, hashed in before["files"]]
    assert dict((url, sha) for url, _, sha, _, _ in after["files"])["topics/a/"] == hashlib.sha256(
        b"<h1>a, patched</h1>").hexdigest()


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


# ---- a site above offline_auto_mb: only what visits need, the rest on the reader's choice ----------

# A built project folder to run the large-site test on instead of the seed bank with a lowered
# threshold: scripts/bench_scale.py's 10,000-question project (/tmp/qakb-scale/p10000), rebuilt with
# this checkout. Its first visit is held to the figure, IDLE_LIMIT_BYTES.
LARGE_PROJECT_ENV = "QAKB_OFFLINE_PROJECT"
IDLE_S = 30
IDLE_LIMIT_BYTES = 30_000_000
LARGE_SAVE_TIMEOUT_MS = 900_000


def build_parts(site: Path) -> dict[str, int]:
    """Each saved file's part (offline.VISIT, SEARCH, SITE) by its URL path, from the built sw.js."""
    return {"/" + url: part for url, _, _, part, _ in offline.listed(site)["files"]}


@pytest.fixture(scope="module")
def large_site(tmp_path_factory):
    """(project, site_url): the project LARGE_PROJECT_ENV names, or the seed bank built with offline_auto_mb: 1."""
    from qakb.config import load_settings

    named = os.environ.get(LARGE_PROJECT_ENV)
    if named:
        project = Path(named)
        worker = project / "site" / offline.SERVICE_WORKER
        before, after = offline.TEMPLATE.read_text(encoding="utf-8").split(offline.BUILD_MARKER)
        written = worker.read_text(encoding="utf-8") if worker.is_file() else ""
        assert written.startswith(before) and written.endswith(after), \
            f"{project}'s site was built by another qakb: run `qakb build` in it first"
        return project, load_settings(project).site_url
    port = free_port()
    project = make_project(tmp_path_factory.mktemp("large") / "project")
    mkdocs_file = project / "mkdocs.yml"
    text = mkdocs_file.read_text(encoding="utf-8").replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{port}/")
    mkdocs_file.write_text(text.replace("pyodide_snapshot: true", "pyodide_snapshot: false").replace(
        "      pyodide_snapshot: false", "      pyodide_snapshot: false\n      offline_auto_mb: 1"), encoding="utf-8")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    return project, load_settings(project).site_url


def wait_for_level(page, level: str, timeout_ms: int) -> None:
    page.wait_for_function("(level) => window.qakbOffline.state === 'ready' && window.qakbOffline.level === level",
                           arg=level, timeout=timeout_ms)


def search_offline(page, query: str, console: list[str]) -> list[str]:
    page.click(SEARCH_INPUT)
    page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)
    page.keyboard.type(query, delay=5)
    try:
        page.wait_for_selector(f"{OPTION} >> nth=0", timeout=60_000)
    except Exception as error:
        status = page.locator(".qakb-search__status").all_inner_texts()
        raise AssertionError(f"no result for {query!r}: status {status}, console {console[-20:]}") from error
    return page.locator(f"{OPTION} .qakb-search__question").all_inner_texts()


@pytest.mark.browser
@pytest.mark.slow
def test_d_a_large_site_saves_only_what_visits_need_until_the_reader_chooses(large_site, reader):
    from qakb.serve import Traffic, make_server

    project, site_url = large_site
    site = project / "site"
    summary = summary_of(project)
    assert not summary["auto"], f"{project}'s site ({summary['bytes']} bytes) is below offline_auto_mb"
    parts = build_parts(site)
    context, errors = reader
    traffic = Traffic()
    server = make_server(site, "127.0.0.1", free_port(), quiet=True, site_url=site_url, traffic=traffic)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    large = LARGE_PROJECT_ENV in os.environ
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.goto(url)
        page.wait_for_timeout(IDLE_S * 1000)
        # What a reader who only looks at the home page for 30 s downloads: the home page, what
        # browsing and the search need (the search starts once the page has loaded), no more.
        downloaded = traffic.total()
        unasked = sorted(path for path in traffic.paths() - {"/" + offline.SERVICE_WORKER}
                         if parts.get(path) != offline.VISIT)
        print(f"first visit, {IDLE_S} s idle: {downloaded / 1e6:.2f} MB in {len(traffic.responses)} responses")
        assert not unasked, unasked
        visit_bytes = sum(path.stat().st_size for path in site.rglob("*") if path.is_file()
                          and parts.get("/" + offline.page_url(path.relative_to(site).as_posix())) == offline.VISIT)
        visit_bytes += (site / offline.SERVICE_WORKER).stat().st_size
        assert downloaded <= min(IDLE_LIMIT_BYTES, visit_bytes), (downloaded, visit_bytes)
        assert page.evaluate("[window.qakbOffline.state, window.qakbOffline.level]") == ["offer", "visit"]
        site_size, search_size = f"{summary['bytes'] / 1e6:.0f} MB", f"{summary['search_bytes'] / 1e6:.0f} MB"
        buttons = page.locator(".qakb-offline__button")
        assert buttons.all_inner_texts() == [f"Save this site for offline use: {site_size}",
                                             f"Save only the search index: {search_size}"]
        assert not axe_violations(page)

        # The search index alone: every file the search can read is saved, not the topic pages.
        page.click(".qakb-offline__button[data-action=search]")
        wait_for_level(page, "search", LARGE_SAVE_TIMEOUT_MS if large else SAVE_TIMEOUT_MS)
        assert page.locator(".qakb-offline__status").inner_text() == \
            f"Search available offline: {search_size} saved in this browser."
        assert buttons.all_inner_texts() == [f"Save this site for offline use: {site_size}", "Remove offline copy"]
        saved = {urlsplit(url_).path for url_ in saved_urls(page)}
        assert {path for path, part in parts.items() if part <= offline.SEARCH} <= saved
        assert not {path for path, part in parts.items() if part == offline.SITE} & saved
        context.set_offline(True)
        page.reload()
        assert search_offline(page, "why does the loss become nan", console)
        unsaved_topic = next(path for path, part in parts.items() if part == offline.SITE and "/topics/" in path)
        # A page not saved: the site's own "not found" page, from the copy.
        assert page.goto(url.rstrip("/") + unsaved_topic).status == 404
        context.set_offline(False)

        # The whole site, then the choice kept on the next visit.
        page.goto(url)
        page.click(".qakb-offline__button[data-action=site]")
        page.wait_for_function("window.qakbOffline.state === 'saving'")
        assert page.locator(".qakb-offline__progress").is_visible()
        wait_for_level(page, "site", LARGE_SAVE_TIMEOUT_MS if large else SAVE_TIMEOUT_MS)
        assert page.locator(".qakb-offline__status").inner_text() == \
            f"Available offline: {site_size} saved in this browser."
        assert buttons.all_inner_texts() == ["Remove offline copy"]
        page.reload()
        wait_for_level(page, "site", 10_000)
        assert page.evaluate("caches.keys()") == [f"qakb-offline:/:{summary['version']}"]
        saved = {urlsplit(url_).path for url_ in saved_urls(page)}
        assert not set(parts) - saved, sorted(set(parts) - saved)[:20]
    finally:
        server.shutdown()
        server.server_close()

    context.set_offline(True)
    page.reload()
    assert search_offline(page, "how does dropout regularise a network", console)
    assert page.goto(url.rstrip("/") + unsaved_topic).status == 200
    assert not errors
