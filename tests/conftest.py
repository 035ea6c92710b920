"""Shared fixtures: a current built site, served on localhost, and headless Chromium.

Chromium is Debian's /usr/bin/chromium driven by Playwright's sync API; Playwright
never downloads a browser here. Each test page gets a fresh browser context, that is
a fresh profile with an empty cache, and records every request it makes.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from projects import ROOT, qakb
from qakb.config import CACHE_DIR_ENV
from qakb.plugin import SITE_WIDGET_DIR, WIDGET_DIR, engine_wheel, offline, search_assets

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}
_PAGE_CONFIG = re.compile(r'<script id="__qakb_search" type="application/json">(.*?)</script>', re.S)


def page_search_config(site_dir: Path) -> dict | None:
    home = site_dir / "index.html"
    if not home.is_file():
        return None
    match = _PAGE_CONFIG.search(home.read_text(encoding="utf-8"))
    return json.loads(match.group(1)) if match else None


def stale_reason(site_dir: Path) -> str | None:
    """Why the built site does not reflect the current bank, engine and widget (None: it does)."""
    from qakb.build import project_hash
    from qakb.config import load_settings

    config = page_search_config(site_dir)
    if config is None:
        return "no built site with the search widget"
    manifest = json.loads((site_dir / "search_index" / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("content_hash") != project_hash(load_settings(ROOT)):
        return "the bank changed since the last build"
    wheel = engine_wheel.wheel_name(engine_wheel.engine_sources())
    if not (site_dir / search_assets.SITE_RUNTIME_DIR / wheel).is_file():
        return "qakb/engine/ changed since the last build"
    if "upfront" not in manifest:  # built before the manifest listed the browser's files
        return "qakb/plugin/search_assets.py or qakb/index.py changed since the last build"
    service_worker = site_dir / offline.SERVICE_WORKER
    before, after = offline.TEMPLATE.read_text(encoding="utf-8").split(offline.BUILD_MARKER)
    written = service_worker.read_text(encoding="utf-8") if service_worker.is_file() else ""
    if not (written.startswith(before) and written.endswith(after)):
        return "qakb/plugin/offline_sw.js changed since the last build"
    for source in sorted(WIDGET_DIR.iterdir()):
        built = site_dir / SITE_WIDGET_DIR / source.name
        if not built.is_file() or built.read_bytes() != source.read_bytes():
            return f"qakb/plugin/assets/qakb/{source.name} changed since the last build"
    return None


@pytest.fixture
def site_cache_dir(monkeypatch):
    """The site's own `cache_dir` option, even when QAKB_CACHE_DIR names another folder for the run."""
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)


@pytest.fixture(scope="session")
def built_site() -> Path:
    """This project's site/, rebuilt with `qakb build` first if it is missing or out of date."""
    site_dir = ROOT / "site"
    if stale_reason(site_dir) is not None:
        result = qakb(ROOT, "build")
        assert result.returncode == 0, f"`qakb build` failed:\n{result.stderr[-3000:]}"
        assert stale_reason(site_dir) is None, stale_reason(site_dir)
    return site_dir


@dataclass
class SiteServer:
    """A built site served over HTTP; `url` is where the site's root is."""
    url: str
    server: object = field(repr=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(directory: Path, site_path: str = "") -> SiteServer:
    """Serve `directory` on a free localhost port; the site lives at /<site_path>."""
    from qakb.serve import make_server

    server = make_server(directory, "127.0.0.1", 0, quiet=True)
    # Polled every 50 ms, not 0.5 s: stop() waits for the next poll.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    host, port = server.server_address[:2]
    return SiteServer(url=f"http://{host}:{port}/{site_path}", server=server)


@pytest.fixture(scope="session")
def site_server(built_site):
    server = serve(built_site)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class BrowserPage:
    """A page in a fresh profile, with every request and dialog it caused."""
    page: object
    requests: list[str]
    dialogs: list[str]
    errors: list[str]


@pytest.fixture
def open_page(chromium):
    """Factory: open_page(color_scheme="light") -> BrowserPage in a new, empty profile."""
    contexts = []

    def open_page(color_scheme: str = "light") -> BrowserPage:
        # The offline copy's service worker would download the whole site in the background of
        # every test; tests/test_offline.py allows it where it is what is tested.
        context = chromium.new_context(viewport=VIEWPORT, color_scheme=color_scheme, service_workers="block")
        contexts.append(context)
        page = context.new_page()
        recorded = BrowserPage(page=page, requests=[], dialogs=[], errors=[])
        context.on("request", lambda request: recorded.requests.append(request.url))
        page.on("dialog", lambda dialog: (recorded.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: recorded.errors.append(str(error)))
        return recorded

    yield open_page
    for context in contexts:
        context.close()
