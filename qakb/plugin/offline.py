"""The site's offline copy: a service worker at the site's root that keeps every page,
the search runtime and the index in the reader's browser.

Written after mkdocs has written the site (the plugin's on_post_build), because what is
saved, how big it is and what version it is are only known from the files themselves:

    sw.js          offline_sw.js with the build's list of files (URL, size, sha256) and
                   its version; at the root, so that its scope is the whole site
    offline.json   the version, the file count and the bytes to download, for the page's
                   control (assets/qakb/offline.js), which shows them and turns it off

The list is every file of the built site but those a browser never asks for (source
maps, precompressed twins, the index file only the CLI reads). The version is a hash of
that list's hashes and the index's content hash, so any rebuild that changes a byte is a
new service worker, whose install saves the new files (unchanged ones are copied from the
old cache, not downloaded again) and whose activation deletes the old cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from qakb.plugin.compress import file_sha256
from qakb.session import KnownFiles

SERVICE_WORKER = "sw.js"
SUMMARY = "offline.json"
TEMPLATE = Path(__file__).with_name("offline_sw.js")
BUILD_MARKER = "/* qakb:build */ null"
# Never fetched by a browser: debugging aids, and copies a host may send instead of the original.
SKIPPED_SUFFIXES = (".map", ".gz", ".br")


@dataclass(frozen=True)
class SavedFile:
    url: str  # relative to the site's root, as the browser asks for it ("" is the home page)
    size: int
    sha256: str


def write(site_dir: Path, index_dir: str, manifest: dict, known_files: KnownFiles | None = None) -> dict:
    """Write sw.js and offline.json into the built site; returns offline.json's content.

    `known_files`: what the last build learned of its files' bytes (`qakb.plugin.compress`)."""
    files = saved_files(site_dir, index_dir, cli_only_files(manifest), known_files if known_files is not None else {})
    content_hash = manifest.get("content_hash")
    version = build_version(files, content_hash)
    # The count and bytes leave out offline.json itself (under 100 bytes).
    summary = {"version": version, "files": len(files), "bytes": sum(file.size for file in files)}
    summary_bytes = (json.dumps(summary, sort_keys=True) + "\n").encode("utf-8")
    (site_dir / SUMMARY).write_bytes(summary_bytes)
    files.append(SavedFile(SUMMARY, len(summary_bytes), hashlib.sha256(summary_bytes).hexdigest()))
    build = {"version": version, "files": [[file.url, file.size, file.sha256] for file in files]}
    template = TEMPLATE.read_text(encoding="utf-8")
    if template.count(BUILD_MARKER) != 1:
        raise RuntimeError(f"{TEMPLATE} must hold {BUILD_MARKER!r} exactly once")
    (site_dir / SERVICE_WORKER).write_text(
        template.replace(BUILD_MARKER, json.dumps(build, separators=(",", ":"))), encoding="utf-8")
    return summary


def cli_only_files(manifest: dict) -> set[str]:
    """The index files no browser reads: the transformer index serves `qakb ask --exact` and
    build-time features (qakb.engine.format.Manifest.upfront). Every other file may be fetched,
    up front or, in a sharded index, query by query."""
    indexes = manifest.get("indexes")
    transformer = indexes.get("transformer") if isinstance(indexes, dict) else None
    return {transformer["file"]} if isinstance(transformer, dict) and "file" in transformer else set()


def saved_files(site_dir: Path, index_dir: str, cli_only: set[str], known_files: KnownFiles) -> list[SavedFile]:
    index_prefix = index_dir.strip("/") + "/"
    files = []
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir).as_posix()
        if not path.is_file() or relative in (SERVICE_WORKER, SUMMARY) or relative.endswith(SKIPPED_SUFFIXES):
            continue
        if relative.startswith(index_prefix) and relative[len(index_prefix):] in cli_only:
            continue
        digest, size = file_sha256(path, known_files)
        files.append(SavedFile(page_url(relative), size, digest))
    return files


def page_url(relative: str) -> str:
    """A folder's index.html is asked for by the folder's URL."""
    if relative == "index.html":
        return ""
    return relative[: -len("index.html")] if relative.endswith("/index.html") else relative


def build_version(files: list[SavedFile], content_hash: str | None) -> str:
    digest = hashlib.sha256((content_hash or "").encode("utf-8"))
    for file in files:
        digest.update(f"\n{file.url}\t{file.sha256}".encode("utf-8"))
    return digest.hexdigest()[:16]
