"""The engine reaches the browser as a Pyodide package, and when it starts: in real headless Chromium.

The wheel is listed in the site's pyodide-lock.json with its sha256; the worker fetches it,
checks that sha256 and unpacks it (assets/qakb/wheel.mjs): a wheel with other bytes is refused
and the box falls back to keyword results. A memory snapshot (option pyodide_snapshot) restores to the same engine.
search_start: idle starts the engine after page load; focus waits for the search box; eager starts it
from the page's head.
"""

from __future__ import annotations

import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import serve
from projects import ROOT
from qakb.plugin import engine_wheel, search_assets
from qakb.plugin.site_variants import add_snapshot, copy_site, patch_search_config, search_config
from qakb.engine import Engine

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEARCH_INPUT = '[data-md-component="search-query"]'
BOOT_TIMEOUT_MS = 90_000
FALLBACK_MESSAGE = "Semantic search could not load; showing keyword results only."
QUERY = "why does my loss turn into NaN"


def wheel_path(site: Path) -> Path:
    return site / search_assets.SITE_RUNTIME_DIR / engine_wheel.wheel_name(engine_wheel.engine_sources())


def boot(page) -> dict:
    return page.evaluate("window.qakbSearch.start()")


def test_the_engine_is_loaded_from_the_site_lock_and_ranks_as_the_cli(open_page, site_server, built_site):
    browser = open_page()
    page = browser.page
    page.goto(site_server.url)
    booted = boot(page)
    assert set(booted["phases"]) >= {"interpreter started", "engine installed", "index opened"}
    lock_requests = [url for url in browser.requests if "/assets/pyodide/pyodide-lock.json?v=" in url]
    assert lock_requests, "the worker did not read the site's lock file"
    assert site_server.url + f"assets/pyodide/{wheel_path(built_site).name}" in browser.requests
    assert not [url for url in browser.requests if url.endswith(".zip") and "qakb" in url]
    stdlib = search_config(built_site)["stdlib"]  # the trimmed standard library, not Pyodide's whole one
    assert stdlib and site_server.url + stdlib in browser.requests
    assert site_server.url + "assets/pyodide/python_stdlib.zip" not in browser.requests
    hits = page.evaluate("query => window.qakbSearch.search(query, 5)", QUERY)
    expected = Engine.open(built_site / "search_index").search(QUERY, 5)
    assert [hit["id"] for hit in hits] == [hit.id for hit in expected]
    assert not browser.errors


def test_a_tampered_engine_wheel_is_refused(open_page, built_site, tmp_path):
    site = copy_site(built_site, tmp_path / "site")
    # A well-formed wheel under the same name with an altered engine: only the lock's sha256 tells.
    wheel = wheel_path(site)
    with zipfile.ZipFile(wheel) as original:
        entries = [(info, original.read(info)) for info in original.infolist()]
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as tampered:
        for info, data in entries:
            tampered.writestr(info, data + b"\nTAMPERED = True\n" if info.filename == "qakb/engine/ranking.py" else data)
    server = serve(site)
    try:
        browser = open_page()
        page = browser.page
        messages = []
        page.on("console", lambda message: messages.append(message.text))
        page.goto(server.url)
        page.click(SEARCH_INPUT)
        page.keyboard.type("gradient descent")
        page.wait_for_selector(f".qakb-search__status:has-text('{FALLBACK_MESSAGE}')", timeout=BOOT_TIMEOUT_MS)
        assert page.evaluate("window.qakbSearch.state") == "failed"
        assert any("qakb-engine did not load" in message for message in messages), messages
        assert page.locator(".qakb-search__option").count() == 0
    finally:
        server.stop()


def test_a_memory_snapshot_restores_the_same_engine(open_page, built_site, tmp_path):
    site = copy_site(built_site, tmp_path / "site")
    snapshot = add_snapshot(site, ROOT / ".cache")
    server = serve(site)
    try:
        browser = open_page()
        page = browser.page
        page.goto(server.url)
        booted = boot(page)
        assert "interpreter restored" in booted["phases"], booted
        assert server.url + search_assets.SITE_RUNTIME_DIR + snapshot.name in browser.requests
        hits = page.evaluate("query => window.qakbSearch.search(query, 5)", QUERY)
        expected = Engine.open(built_site / "search_index").search(QUERY, 5)
        assert [hit["id"] for hit in hits] == [hit.id for hit in expected]
    finally:
        server.stop()


def test_search_start_idle_after_load_focus_on_the_box_eager_from_the_head(open_page, built_site, tmp_path):
    assert search_config(built_site)["start"] == "idle"
    server = serve(built_site)
    try:
        page = open_page().page
        page.goto(server.url)
        page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)
    finally:
        server.stop()

    with started_with(built_site, tmp_path, "focus", open_page) as (browser, page, url):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        assert page.evaluate("window.qakbSearch.state") == "idle"
        assert not [url for url in browser.requests if "/assets/pyodide/" in url]
        page.click(SEARCH_INPUT)
        page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)

    # eager: the page's head starts the worker, whatever the page's scripts do (here the widget's never loads).
    with started_with(built_site, tmp_path, "eager", open_page) as (browser, page, url):
        page.route("**/assets/qakb/widget.js", lambda route: route.abort())
        page.goto(url)
        assert page.evaluate("window.qakbSearch") is None
        booted = page.evaluate("window.qakbSearchWorker(new URL('./', location.href)).ready")
        assert "index opened" in booted["phases"]
        assert [url for url in browser.requests if url.endswith("/assets/qakb/search-worker.js")]


@contextmanager
def started_with(built_site: Path, tmp_path: Path, start: str, open_page):
    """(browser, page, url) for a served copy of the site built with `search_start: start`."""
    site = copy_site(built_site, tmp_path / start)
    patch_search_config(site, start=start)
    server = serve(site)
    try:
        browser = open_page()
        yield browser, browser.page, server.url
    finally:
        server.stop()
