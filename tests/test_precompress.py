"""Precompressed site files (qakb/plugin/compress.py) and `qakb serve` sending them (qakb/serve.py)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
import http.client
import os

import brotli
import pytest

from conftest import serve
from qakb import caches
from qakb.plugin import compress
from qakb.serve import accepted_encodings
from qakb.session import BuildSession

SCRIPT = ("// a script long enough to be worth compressing\n" + "console.log('qakb');\n" * 200).encode()


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "assets" / "app.js").write_bytes(SCRIPT)
    (site / "index.html").write_bytes(b"<!doctype html><title>t</title>" + b"<p>hello</p>" * 300)
    (site / "tiny.css").write_bytes(b"p{}")
    (site / "noise.bin").write_bytes(os.urandom(20_000))
    (site / "engine.whl").write_bytes(SCRIPT)
    return site


def test_compressed_copies_are_written_beside_the_files_they_shrink(site, tmp_path):
    results = {entry.path: entry for entry in compress.precompress_site(site, tmp_path / "cache")}
    script = site / "assets" / "app.js"
    assert gzip.decompress((site / "assets" / "app.js.gz").read_bytes()) == SCRIPT
    assert brotli.decompress((site / "assets" / "app.js.br").read_bytes()) == SCRIPT
    assert results["assets/app.js"].sizes == {".gz": script.with_name("app.js.gz").stat().st_size,
                                              ".br": script.with_name("app.js.br").stat().st_size}
    assert not (site / "tiny.css.gz").exists(), "a tiny file is left alone"
    assert not (site / "engine.whl.gz").exists(), "a compressed format is left alone"
    assert not (site / "noise.bin.gz").exists() and results["noise.bin"].sizes == {}, "random bytes do not shrink"


@pytest.mark.parametrize(("precompress", "suffixes"), [("none", []), ("gzip", [".gz"]), ("brotli", [".br"]),
                                                     ("both", [".br", ".gz"])])
def test_the_option_says_which_copies_are_written_and_the_others_are_removed(site, tmp_path, precompress, suffixes):
    compress.precompress_site(site, tmp_path / "cache", precompress="both")
    compress.precompress_site(site, tmp_path / "cache", precompress=precompress)  # a site built with the option
    copies = sorted(path.relative_to(site).as_posix() for path in site.rglob("*.[bg][rz]"))
    assert copies == sorted(f"{name}{suffix}" for name in ("assets/app.js", "index.html") for suffix in suffixes)
    if ".gz" in suffixes:
        assert gzip.decompress((site / "index.html.gz").read_bytes()).startswith(b"<!doctype html>")


def test_runtime_files_get_the_best_brotli_and_large_site_files_a_faster_one(tmp_path):
    # Text that brotli q11, q10 and q9 compress to different bytes, just over the 1 MB line.
    data = " ".join(f"word{i * 7919 % 5003} item{i % 977}" for i in range(90_000)).encode()
    assert len(data) > compress.SITE_QUALITY_10_BYTES
    sizes = {"assets/pyodide/runtime.js": len(data), "search_index/metadata.json": len(data),
             "topics/page.html": 300_000, "small.json": 100_000}
    assert sizes["small.json"] <= compress.SITE_MAX_QUALITY_BYTES < sizes["topics/page.html"]
    site = tmp_path / "site"
    for relative, size in sizes.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(data[:size])
    compress.precompress_site(site, tmp_path / "cache", lasting=lambda path: path.startswith("assets/pyodide/"))
    assert (site / "assets/pyodide/runtime.js.br").read_bytes() == brotli.compress(data, quality=11)
    assert (site / "search_index/metadata.json.br").read_bytes() == brotli.compress(data, quality=9)
    assert (site / "topics/page.html.br").read_bytes() == brotli.compress(data[:300_000], quality=10)
    assert (site / "small.json.br").read_bytes() == brotli.compress(data[:100_000], quality=11)
    # The same bytes under two rules: each copy is cached under its own quality.
    assert len({path.name for path in caches.compressed(tmp_path / "cache").glob("*.br")}) == 4


def test_compression_is_deterministic_and_cached(site, tmp_path):
    compress.precompress_site(site, tmp_path / "cache")
    first = (site / "index.html.gz").read_bytes(), (site / "index.html.br").read_bytes()
    compress.precompress_site(site, tmp_path / "other-cache")
    assert ((site / "index.html.gz").read_bytes(), (site / "index.html.br").read_bytes()) == first
    cached = sorted(path.suffix for path in caches.compressed(tmp_path / "cache").iterdir())
    assert cached == [".br", ".br", ".br", ".gz", ".gz", ".gz"]  # index.html, app.js, noise.bin


def test_copies_taken_from_the_cache_are_newer_than_their_rewritten_files(site, tmp_path):
    """A rebuild rewrites every file; the compressed copies of unchanged ones come from the cache
    (made by an earlier build) and must still read as fresh, or `qakb serve` sends the plain file."""
    compress.precompress_site(site, tmp_path / "cache")
    script = site / "assets" / "app.js"
    past = script.stat().st_mtime - 3600
    for path in caches.compressed(tmp_path / "cache").iterdir():
        os.utime(path, (past, past))
    for path in site.rglob("*.[bg][rz]"):
        path.unlink()
    script.write_bytes(SCRIPT)  # the rebuild writes the same bytes again
    compress.precompress_site(site, tmp_path / "cache")
    for suffix in (".gz", ".br"):
        assert script.with_name(script.name + suffix).stat().st_mtime >= script.stat().st_mtime


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
    ("br;q=0, gzip;q=0.5", {"gzip"}),
    ("", set()),
    ("identity", {"identity"}),
])
def test_accept_encoding_is_read_with_its_q_values(header, expected):
    assert accepted_encodings(header) == expected


def get(url: str, path: str, accept: str | None):
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path, headers={"Accept-Encoding": accept} if accept is not None else {})
    response = connection.getresponse()
    return response, response.read()


def test_qakb_serve_sends_the_best_accepted_copy_with_its_headers(site, tmp_path):
    compress.precompress_site(site, tmp_path / "cache")
    server = serve(site)
    try:
        response, body = get(server.url, "/assets/app.js", "gzip, br")
        assert response.status == 200 and response.getheader("Content-Encoding") == "br"
        assert response.getheader("Content-Type") == "text/javascript"
        assert response.getheader("Vary") == "Accept-Encoding"
        assert brotli.decompress(body) == SCRIPT and int(response.getheader("Content-Length")) == len(body)

        response, body = get(server.url, "/assets/app.js", "gzip")
        assert response.getheader("Content-Encoding") == "gzip" and gzip.decompress(body) == SCRIPT

        response, body = get(server.url, "/assets/app.js", None)
        assert response.getheader("Content-Encoding") is None and body == SCRIPT
        assert response.getheader("Vary") == "Accept-Encoding"

        response, body = get(server.url, "/", "br")  # a folder's index.html
        assert response.getheader("Content-Encoding") == "br" and response.getheader("Content-Type") == "text/html"
        assert brotli.decompress(body).startswith(b"<!doctype html>")

        script = site / "assets" / "app.js"  # changed after the build: its copies are stale, never sent
        script.write_bytes(b"console.log('edited');")
        os.utime(script, (script.stat().st_mtime + 5,) * 2)
        response, body = get(server.url, "/assets/app.js", "br")
        assert response.getheader("Content-Encoding") is None and body == b"console.log('edited');"

        response, body = get(server.url, "/tiny.css", "br")
        assert response.getheader("Content-Encoding") is None and response.getheader("Vary") is None
        assert get(server.url, "/missing.js", "br")[0].status == 404
    finally:
        server.stop()


@pytest.mark.parametrize(("site_url", "loc"), [
    ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/topics/a/"),
    ("https://example.org/kb/", "https://example.org/kb/topics/a/"),
    ("", "/topics/a/"),  # no site_url: mkdocs writes the path alone, which Material cannot use
])
def test_qakb_serve_moves_the_sitemap_to_its_own_address(tmp_path, site_url, loc):
    """Material's instant navigation follows only the sitemap's addresses, at their port."""
    import threading

    from qakb.serve import make_server

    (tmp_path / "sitemap.xml").write_text(f"<urlset><url><loc>{loc}</loc></url></urlset>", encoding="utf-8")
    server = make_server(tmp_path, "127.0.0.1", 0, quiet=True, site_url=site_url)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        response, body = get(f"http://{host}:{port}/", "/sitemap.xml", "gzip, br")
        assert response.status == 200 and response.getheader("Content-Encoding") is None
        assert body.decode() == f"<urlset><url><loc>http://{host}:{port}/topics/a/</loc></url></urlset>"
    finally:
        server.shutdown()
        server.server_close()
    plain = serve(tmp_path)  # the tests' server leaves it as it is
    try:
        assert get(plain.url, "/sitemap.xml", None)[1].decode().count(loc) == 1
    finally:
        plain.stop()


def test_a_watching_server_adds_the_reload_script_to_pages_and_says_which_build_it_serves(site):
    import urllib.error
    import urllib.request

    from qakb.serve import RELOAD_PATH, RELOAD_SCRIPT

    (site / "index.html").write_bytes(b"<!doctype html><title>t</title><body>" + b"<p>hello</p>" * 300 + b"</body>")
    compress.precompress_site(site, site.parent / "cache")
    served = serve(site)
    try:
        def get(path: str) -> tuple[bytes, dict]:
            request = urllib.request.Request(served.url.rstrip("/") + path, headers={"Accept-Encoding": "br, gzip"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.read(), dict(response.headers)

        page, headers = get("/")
        assert headers.get("Content-Encoding") == "br" and RELOAD_SCRIPT not in brotli.decompress(page)
        with pytest.raises(urllib.error.HTTPError):
            get(RELOAD_PATH)
        served.server.build = 3  # what `qakb serve --watch` sets
        page, headers = get("/")
        assert page == b"<!doctype html><title>t</title><body>" + b"<p>hello</p>" * 300 + RELOAD_SCRIPT + b"</body>"
        assert "Content-Encoding" not in headers and int(headers["Content-Length"]) == len(page)
        assert get(RELOAD_PATH)[0] == b"3"
        script, headers = get("/assets/app.js")
        assert headers.get("Content-Encoding") == "br" and RELOAD_SCRIPT not in brotli.decompress(script)
    finally:
        served.stop()


def test_a_file_seen_before_is_not_read_again_and_a_changed_one_is(site, tmp_path, monkeypatch):
    """A watching process compresses and lists the same hard-linked index files after every build:
    known by inode, size and time (in its session), they are not read again; a file written anew is."""
    known_files = BuildSession().compressed_files
    compress.precompress_site(site, tmp_path / "cache", known_files=known_files)
    read = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read.append(path.name) or real_read(path))
    compress.precompress_site(site, tmp_path / "cache", known_files=known_files)
    assert read == []
    script = site / "assets" / "app.js"
    script.write_bytes(SCRIPT + b"\n// changed")
    compress.precompress_site(site, tmp_path / "cache", known_files=known_files)
    assert "app.js" in read
    assert gzip.decompress((site / "assets" / "app.js.gz").read_bytes()) == SCRIPT + b"\n// changed"
    assert compress.file_sha256(script, known_files) == (hashlib.sha256(SCRIPT + b"\n// changed").hexdigest(),
                                                         len(SCRIPT) + 11)
