"""Serve a built site over HTTP on localhost, with the MIME types Pyodide needs.

Files the build precompressed (NAME.br, NAME.gz beside NAME; qakb.plugin.compress) are
sent in place of NAME, with Content-Encoding and `Vary: Accept-Encoding`, when the
request accepts that encoding, as static hosts with precompressed serving do: the bytes
a browser downloads from `qakb serve` are the bytes such a host would send.
"""

from __future__ import annotations

import functools
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# Preferred first.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))


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

    def log_message(self, format, *args):  # noqa: A002 - signature set by the base class
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False) -> ThreadingHTTPServer:
    """A server for `site_dir`; port 0 picks a free port (see server.server_address)."""
    handler = functools.partial(SiteRequestHandler, directory=str(site_dir))
    server = ThreadingHTTPServer((host, port), handler)
    server.quiet = quiet
    server.daemon_threads = True
    return server
