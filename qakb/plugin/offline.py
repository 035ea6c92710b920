"""The site's offline copy: a service worker at the site's root that keeps the site, or the part
of it a reader chose, in the reader's browser.

Written after mkdocs has written the site (the plugin's on_post_build), because what is
saved, how big it is and what version it is are only known from the files themselves:

    sw.js          offline_sw.js with the build's list of files (URL, size, sha256, part, whether
                   the search asks for it under a URL carrying its hash) and its version; at the
                   root, so that its scope is the whole site
    offline.json   the version, the files and bytes of the whole copy and of the search alone,
                   and whether a first visit saves the whole copy unasked, for the page's control
                   (assets/qakb/offline.js), which shows them and lets the reader choose

Each file belongs to one part, and a reader's choice saves the parts up to it:

    VISIT   what browsing and the search need on every visit: the home and 404 pages, the
            sitemap, the theme's and the widget's assets, Material's keyword index, the topics'
            question ids the progress bars read, the Pyodide
            files the search boots from, the engine, the index's manifest and the files its
            first query reads (`first_visit`)
    SEARCH  the rest of the search index (a sharded index's lists, postings and texts) and the
            keyword search's language files
    SITE    everything else: the topic pages, the practice page's data, the Anki deck, images

A site of at most `offline_auto_mb` megabytes is saved whole on a first visit, as the reader
would hardly notice; a bigger one saves the VISIT part (which the visit downloads anyway) and
offers the rest in the footer with its size.

The list is every file of the built site but those a browser never asks for (source
maps, precompressed twins, the index file only the CLI reads). The version is a hash of
that list's hashes and parts and the index's content hash, so any rebuild that changes a byte
is a new service worker, whose install saves the new files (unchanged ones are copied from the
old cache, not downloaded again) and whose activation deletes the old cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from qakb.plugin.compress import file_sha256
from qakb.plugin.engine_wheel import LOCK_FILE
from qakb.plugin.search_assets import SITE_RUNTIME_DIR
from qakb.session import KnownFiles

SERVICE_WORKER = "sw.js"
SUMMARY = "offline.json"
TEMPLATE = Path(__file__).with_name("offline_sw.js")
BUILD_MARKER = "/* qakb:build */ null"
# Never fetched by a browser: debugging aids, and copies a host may send instead of the original.
SKIPPED_SUFFIXES = (".map", ".gz", ".br")
VISIT, SEARCH, SITE = 0, 1, 2  # the parts, in the order a reader's choice takes them (offline_sw.js)
# Pages and files every page fetches as it loads: Material's instant navigation reads the sitemap,
# the progress bars each topic's questions (qakb.render.PRACTICE_TOPICS; not imported: the plugin
# does not load the build's modules).
SHELL_FILES = ("index.html", "404.html", "sitemap.xml", SUMMARY, "practice/topics.json")
KEYWORD_SEARCH_DIR = "search/"
# lunr's stemmers for languages other than English: Material's search loads them for such sites only.
KEYWORD_LANGUAGES_DIR = "assets/javascripts/lunr/"
MEGABYTE = 1_000_000  # as the footer shows sizes


@dataclass(frozen=True)
class SavedFile:
    url: str  # relative to the site's root, as the browser asks for it ("" is the home page)
    size: int
    sha256: str
    part: int  # VISIT, SEARCH or SITE
    # Asked for by the search as URL?v=<first 16 hex digits of its sha256> (search-worker.js, the
    # page's lock URL): the worker asks for the same URL, which the browser may have cached already.
    hashed_url: bool


def write(site_dir: Path, index_dir: str, manifest: dict, first_visit: Collection[str] = (),
          auto_max_mb: int = 25, known_files: KnownFiles | None = None) -> dict:
    """Write sw.js and offline.json into the built site; returns offline.json's content.

    `first_visit`: the runtime files the search boots from, as site paths
    (`qakb.plugin.search_assets.SearchAssets.boot_files`); `auto_max_mb`: the plugin's option
    `offline_auto_mb`; `known_files`: what the last build learned of its files' bytes (`qakb.plugin.compress`)."""
    visit = set(first_visit) | index_first_visit(index_dir, manifest)
    files = saved_files(site_dir, index_dir, cli_only_files(manifest), visit, known_files if known_files is not None else {})
    total = sum(file.size for file in files)
    return write_list(site_dir, files, manifest.get("content_hash"), 0 < total <= auto_max_mb * MEGABYTE)


def rewrite(site_dir: Path, index_dir: str) -> dict:
    """Write sw.js and offline.json again for the files sw.js lists, with their bytes now, their parts
    and the first visit's choice kept: for a copy of a built site that was changed after the build
    (`qakb.plugin.site_variants`)."""
    auto = json.loads((site_dir / SUMMARY).read_text(encoding="utf-8"))["auto"]
    manifest = json.loads((site_dir / index_dir / "manifest.json").read_text(encoding="utf-8"))
    files = []
    for url, _, _, part, hashed_url in listed(site_dir)["files"]:
        if url != SUMMARY:
            data = (site_dir / page_file(url)).read_bytes()
            files.append(SavedFile(url, len(data), hashlib.sha256(data).hexdigest(), part, bool(hashed_url)))
    return write_list(site_dir, files, manifest.get("content_hash"), auto)


def listed(site_dir: Path) -> dict:
    """What a built site's sw.js lists: {"version", "files": [[url, size, sha256, part, hashed_url], ...]}."""
    worker = (site_dir / SERVICE_WORKER).read_text(encoding="utf-8")
    return json.loads(worker.split("const BUILD = ", 1)[1].split(";\n", 1)[0])


def write_list(site_dir: Path, files: list[SavedFile], content_hash: str | None, auto: bool) -> dict:
    version = build_version(files, content_hash, auto)
    search = [file for file in files if file.part <= SEARCH]
    # The counts and bytes leave out offline.json itself (under 200 bytes).
    summary = {"version": version, "files": len(files), "bytes": sum(file.size for file in files), "auto": auto,
               "search_files": len(search), "search_bytes": sum(file.size for file in search)}
    summary_bytes = (json.dumps(summary, sort_keys=True) + "\n").encode("utf-8")
    (site_dir / SUMMARY).write_bytes(summary_bytes)
    files = [*files, SavedFile(SUMMARY, len(summary_bytes), hashlib.sha256(summary_bytes).hexdigest(), VISIT, False)]
    build = {"version": version,
             "files": [[file.url, file.size, file.sha256, file.part, int(file.hashed_url)] for file in files]}
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


def index_first_visit(index_dir: str, manifest: dict) -> set[str]:
    """The index files the search reads before its first result, as site paths: the manifest and
    the files it lists as "upfront"."""
    prefix = index_dir.strip("/") + "/"
    upfront = manifest.get("upfront")
    return {prefix + name for name in ["manifest.json", *(upfront if isinstance(upfront, list) else [])]}


def part_of(relative: str, index_prefix: str, first_visit: Collection[str]) -> int:
    """The part a site file belongs to (the module's docstring)."""
    if relative in first_visit or relative in SHELL_FILES or relative.startswith(KEYWORD_SEARCH_DIR):
        return VISIT
    if relative.startswith(index_prefix) or relative.startswith(KEYWORD_LANGUAGES_DIR):
        return SEARCH
    if relative.startswith("assets/") and not relative.startswith(SITE_RUNTIME_DIR):
        return VISIT  # the theme's and the widget's scripts, styles, fonts and icons
    return SITE


def saved_files(site_dir: Path, index_dir: str, cli_only: set[str], first_visit: Collection[str],
                known_files: KnownFiles) -> list[SavedFile]:
    index_prefix = index_dir.strip("/") + "/"
    files = []
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir).as_posix()
        if not path.is_file() or relative in (SERVICE_WORKER, SUMMARY) or relative.endswith(SKIPPED_SUFFIXES):
            continue
        if relative.startswith(index_prefix) and relative[len(index_prefix):] in cli_only:
            continue
        digest, size = file_sha256(path, known_files)
        hashed_url = (relative.startswith(index_prefix) and relative != index_prefix + "manifest.json"
                      or relative == SITE_RUNTIME_DIR + LOCK_FILE)
        files.append(SavedFile(page_url(relative), size, digest, part_of(relative, index_prefix, first_visit),
                               hashed_url))
    return files


def page_url(relative: str) -> str:
    """A folder's index.html is asked for by the folder's URL."""
    if relative == "index.html":
        return ""
    return relative[: -len("index.html")] if relative.endswith("/index.html") else relative


def page_file(url: str) -> str:
    """The file a URL of `page_url`'s names: a folder's URL is its index.html."""
    return url + "index.html" if url == "" or url.endswith("/") else url


def build_version(files: list[SavedFile], content_hash: str | None, auto: bool) -> str:
    digest = hashlib.sha256(f"{content_hash or ''}\t{auto}".encode("utf-8"))
    for file in files:
        digest.update(f"\n{file.url}\t{file.sha256}\t{file.part}".encode("utf-8"))
    return digest.hexdigest()[:16]
