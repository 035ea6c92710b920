"""Serve a built site over HTTP on localhost, with the MIME types Pyodide needs.

Files the build precompressed (NAME.br, NAME.gz beside NAME; qakb.plugin.compress) are
sent in place of NAME, with Content-Encoding and `Vary: Accept-Encoding`, when the
request accepts that encoding, as static hosts with precompressed serving do: the bytes
a browser downloads from `qakb serve` are the bytes such a host would send.
"""

from __future__ import annotations

import functools
import html
import os
import re
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# Preferred first.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
_LOC = re.compile(r"<loc>(.*?)</loc>", re.DOTALL)


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

    def translate_path(self, path: str) -> str:
        """The file to send: NAME.br or NAME.gz in place of NAME when the request accepts it."""
        plain = super().translate_path(path)
        if os.path.isdir(plain) and urlsplit(path).path.endswith("/"):
            plain = os.path.join(plain, "index.html")
        self.content_encoding, self.plain_path = None, None
        if not os.path.isfile(plain):
            return super().translate_path(path)
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
        else:
            super().do_GET()

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
            body = _LOC.sub(served, file.read()).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - signature set by the base class
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False,
                site_url: str | None = None) -> ThreadingHTTPServer:
    """A server for `site_dir`; port 0 picks a free port (see server.server_address).

    Given the `site_url` the site was built with (mkdocs.yml's; "" when unset), the sitemap is
    served with the addresses of this server (`qakb serve`); with None, as it is on disk.
    """
    handler = functools.partial(SiteRequestHandler, directory=str(site_dir))
    server = ThreadingHTTPServer((host, port), handler)
    server.site_path = None if site_url is None else urlsplit(site_url).path.rstrip("/") + "/"
    server.quiet = quiet
    server.daemon_threads = True
    return server
