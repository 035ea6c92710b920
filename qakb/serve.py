"""Serve a built site over HTTP on localhost, with the MIME types Pyodide needs.

Files the build precompressed (NAME.br, NAME.gz beside NAME; qakb.plugin.compress) are
sent in place of NAME, with Content-Encoding and `Vary: Accept-Encoding`, when the
request accepts that encoding, as static hosts with precompressed serving do: the bytes
a browser downloads from `qakb serve` are the bytes such a host would send.

Under `qakb serve --watch` (server.build set) every page is sent with a small script that
asks RELOAD_PATH for the build number each second and reloads the page when it changes, as
`mkdocs serve` does; pages are then sent uncompressed.
"""

from __future__ import annotations

import functools
import html
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# Preferred first.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
_LOC = re.compile(r"<loc>(.*?)</loc>", re.DOTALL)
# `qakb serve --watch`: pages ask this address for the build they show, and reload when it changes.
RELOAD_PATH = "/__qakb_build"
RELOAD_SCRIPT = (
    "<script>(() => { if (window.__qakbReload) return; window.__qakbReload = true; let shown = null;"
    f" setInterval(() => fetch('{RELOAD_PATH}', {{cache: 'no-store'}}).then((r) => r.ok ? r.text() : null)"
    ".then((build) => { if (build === null) return; if (shown === null) shown = build;"
    " else if (build !== shown) location.reload(); }).catch(() => {}), 1000); })();</script>"
).encode("utf-8")


def accepted_encodings(header: str | None) -> set[str]:
    """The content codings an Accept-Encoding header allows (q=0 refuses one)."""
    accepted = set()
    for item in (header or "").split(","):
        name, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name.strip() and quality > 0:
            accepted.add(name.strip().lower())
    return accepted


@dataclass
class Traffic:
    """What a server sent: one (path, status line's code, bytes with headers) per response, in the
    order they ended. Given to `make_server` by the tests and benchmarks that measure what a visit
    downloads, whoever asked (a page, its workers, the offline copy's service worker)."""
    responses: list[tuple[str, int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, path: str, code: int, sent: int) -> None:
        with self.lock:
            self.responses.append((path, code, sent))

    def total(self) -> int:
        with self.lock:
            return sum(sent for _, _, sent in self.responses)

    def paths(self) -> set[str]:
        """The paths answered with a body (not 304 Not Modified)."""
        with self.lock:
            return {urlsplit(path).path for path, code, _ in self.responses if code != 304}


class _CountingWriter:
    """The response stream, counting the bytes written to it."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def write(self, data) -> int:
        self.count += len(data)
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


class SiteRequestHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
        ".faiss": "application/octet-stream",
    }
    content_encoding: str | None = None  # of the file being sent
    plain_path: str | None = None  # the file asked for, when it has fresh compressed copies
    status_code: int = 0  # of the response being sent

    def setup(self) -> None:
        super().setup()
        if self.server.traffic is not None:
            self.wfile = _CountingWriter(self.wfile)

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if self.server.traffic is not None and self.wfile.count:
            self.server.traffic.add(getattr(self, "path", ""), self.status_code, self.wfile.count)
            self.wfile.count = 0

    def send_response_only(self, code, message=None) -> None:
        self.status_code = code
        super().send_response_only(code, message)

    def translate_path(self, path: str) -> str:
        """The file to send: NAME.br or NAME.gz in place of NAME when the request accepts it."""
        plain = super().translate_path(path)
        if os.path.isdir(plain) and urlsplit(path).path.endswith("/"):
            plain = os.path.join(plain, "index.html")
        self.content_encoding, self.plain_path = None, None
        if not os.path.isfile(plain):
            return super().translate_path(path)
        if self._live_page(plain):  # sent as it is on disk plus the reload script: never precompressed
            return plain
        accepted = accepted_encodings(self.headers.get("Accept-Encoding"))
        for encoding, suffix in PRECOMPRESSED:
            # A copy older than its file is stale (the file was changed after the build): never sent.
            if os.path.isfile(plain + suffix) and os.path.getmtime(plain + suffix) >= os.path.getmtime(plain):
                self.plain_path = plain
                if encoding in accepted or "*" in accepted:
                    self.content_encoding = encoding
                    return plain + suffix
        return plain

    def guess_type(self, path) -> str:
        return super().guess_type(self.plain_path if self.content_encoding else path)

    def end_headers(self) -> None:
        if self.plain_path:  # the answer depends on Accept-Encoding
            self.send_header("Vary", "Accept-Encoding")
        if self.content_encoding:
            self.send_header("Content-Encoding", self.content_encoding)
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - name set by the base class
        if (getattr(self.server, "site_path", None) and urlsplit(self.path).path == "/sitemap.xml"
                and os.path.isfile(os.path.join(self.directory, "sitemap.xml"))):
            self.send_sitemap()
        elif self.server.build is not None and urlsplit(self.path).path == RELOAD_PATH:
            self.send_text(str(self.server.build).encode("utf-8"), "text/plain")
        elif self._live_page(path := self.translate_path(self.path)):
            with open(path, "rb") as file:
                page = file.read()
            at = page.rfind(b"</body>")
            self.send_text(page[:at] + RELOAD_SCRIPT + page[at:] if at >= 0 else page + RELOAD_SCRIPT,
                           "text/html; charset=utf-8")
        else:
            super().do_GET()

    def _live_page(self, path: str) -> bool:
        return self.server.build is not None and path.endswith(".html") and os.path.isfile(path)

    def send_text(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def send_sitemap(self) -> None:
        """sitemap.xml with every address moved to where this server serves the site.

        Material's instant navigation (which keeps the search running from page to page)
        only follows links to the pages its sitemap lists, at the sitemap's port: the
        sitemap names the site at its site_url (or by path alone, with no site_url), and
        `qakb serve` serves it at the root of whatever host and port it was given.
        """
        site_path = self.server.site_path
        origin = f"http://{self.headers.get('Host') or '%s:%s' % self.server.server_address[:2]}"

        def served(match: re.Match) -> str:
            path = urlsplit(html.unescape(match[1])).path
            if path.startswith(site_path):
                path = "/" + path[len(site_path):]
            return f"<loc>{html.escape(origin + path)}</loc>"

        with open(os.path.join(self.directory, "sitemap.xml"), encoding="utf-8") as file:
            self.send_text(_LOC.sub(served, file.read()).encode("utf-8"), "application/xml")

    def log_message(self, format, *args):  # noqa: A002 - signature set by the base class
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False,
                site_url: str | None = None, traffic: Traffic | None = None) -> ThreadingHTTPServer:
    """A server for `site_dir`; port 0 picks a free port (see server.server_address).

    Given the `site_url` the site was built with (mkdocs.yml's; "" when unset), the sitemap is
    served with the addresses of this server (`qakb serve`); with None, as it is on disk.
    Given a `Traffic`, every response is recorded in it.
    """
    handler = functools.partial(SiteRequestHandler, directory=str(site_dir))
    server = ThreadingHTTPServer((host, port), handler)
    server.site_path = None if site_url is None else urlsplit(site_url).path.rstrip("/") + "/"
    server.quiet = quiet
    server.traffic = traffic
    server.daemon_threads = True
    # Set by `qakb serve --watch` (a number that changes with each build): pages then reload
    # themselves after a rebuild. None: pages are sent as they are.
    server.build = None
    return server
