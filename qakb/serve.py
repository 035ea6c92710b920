"""Serve a built site over HTTP on localhost, with the MIME types Pyodide needs."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class SiteRequestHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
        ".faiss": "application/octet-stream",
    }

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
