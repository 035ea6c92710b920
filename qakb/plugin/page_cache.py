"""A rebuild converts only the topic pages whose Markdown changed.

On a 10,000-question bank mkdocs spends ~26 s turning the 100 topic pages' Markdown into
HTML and Material's search ~7 s indexing that HTML for its keyword search, on every build;
an edit to one answer changes a handful of pages. So the plugin keeps, in the project's
`qakb.result_store` (and, parsed, in the build's `qakb.session.BuildSession` for its next build):

    "page"    what mkdocs' `Page.render` made of a generated page: its HTML, table of
              contents, title, the anchors it holds and its links to other pages' anchors
              (mkdocs checks those links after every build, kept pages included), keyed by
              the page's Markdown, its path and URL, the paths and URLs of every page and
              of every file generated with the pages (a link resolves against them), the Markdown extensions with their options,
              the link-validation settings and the versions of the libraries that render;
    "search"  the entries Material's search made of a page, keyed by the page's HTML,
              table of contents, URL, title and metadata, and the search plugin's settings.

A page whose render logged a warning is not kept, so `--strict` reports it on every build.
Hand-written pages (docs/) are always converted: an extension such as pymdownx.snippets may
read other files into them, which no key here covers. Each kind keeps two builds' worth of
the most recently used rows.

Pages go through mkdocs' own events: the plugin's on_page_markdown, after the other plugins',
looks the page up and hands mkdocs empty Markdown for a kept page (converting it costs ~0.3 ms
instead of ~0.26 s), and its on_page_content, before the other plugins', puts the kept HTML,
table of contents, title and anchors back. Search entries have no such event: Material's search
indexes a page inside its own on_page_context, from the page's HTML, and takes entries from no
one, so `cache_search_entries` wraps its index's `add_entry_from_context`, the one place the
plugin patches another package. Without it, Material's search would need an event that lets a
plugin supply a page's entries; the workaround, a kept page marked `search: exclude` for the
length of Material's on_page_context and its entries spliced into search_index.json after the
build, trades the patch for a trick on the page's metadata and a rewrite of the whole index
(~10 MB at 10,000 questions) on every build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from mkdocs.structure.toc import get_toc

from qakb import caches
from qakb.result_store import ResultStore
from qakb.session import BuildSession, LastBuild

RENDERING_LIBRARIES = ("mkdocs", "mkdocs-material", "markdown", "pymdown-extensions", "pygments")
BUILDS_KEPT = 2
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stable(value):
    """`value` as JSON that is the same in every run: a callable by its name, any other object by
    its repr without memory addresses (extension options may hold functions)."""
    if isinstance(value, Mapping):
        return {str(key): stable(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [stable(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _toc_tokens(items) -> list[dict]:
    return [{"level": item.level, "id": item.id, "name": item.title, "children": _toc_tokens(item.children)}
            for item in items]


class _WarningCount(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class PageCache:
    def __init__(self, cache_dir: Path, config, pages_dir: Path, session: BuildSession):
        """`session`: the rows its last build used, parsed, by kind (`qakb serve --watch` restores the
        same ~100 pages, 35 MB of HTML at 10k, after every edit); this build's are left there."""
        self.store = ResultStore(cache_dir)
        self.last_build: dict[str, LastBuild] = {caches.PAGES: session.pages,
                                                 caches.SEARCH_ENTRIES: session.search_entries}
        self.pages_dir = pages_dir.resolve()
        self.settings = _digest([f"{name}=={version(name)}" for name in RENDERING_LIBRARIES],
                                stable(config.markdown_extensions), stable(config.mdx_configs),
                                config.use_directory_urls, stable(config.validation))
        self.files_digest: str | None = None
        # By page, from on_page_markdown to on_page_content: its key, what was kept (None: nothing)
        # and the warnings logged before mkdocs converted it.
        self.pending: dict[str, tuple[str, dict | None, int]] = {}
        self.used = {kind: 0 for kind in self.last_build}  # rows of each kind this build reads or writes
        self.kept_now: dict[str, dict[str, str]] = {kind: {} for kind in self.last_build}  # for the next build
        self.warnings = _WarningCount()
        logging.getLogger("mkdocs").addHandler(self.warnings)

    def close(self) -> None:
        logging.getLogger("mkdocs").removeHandler(self.warnings)
        self.store.close()

    def finish(self) -> None:
        """After a build: cut each kind back to two builds' worth of rows, then close."""
        for kind, count in self.used.items():
            self.store.keep_recent(kind, BUILDS_KEPT * max(count, 1))
        for kind, values in self.kept_now.items():
            self.store.touch(kind, list(values))  # one transaction, not one a page
            self.last_build[kind].replace(self.store, values)
        self.close()

    def _lookup(self, kind: str, key: str):
        """The kept result of `key` (parsed JSON), from the session's last build or the store; None if neither has it."""
        kept = self.last_build[kind].kept(self.store, [key], touch=False).get(key)
        if kept is None:
            stored = self.store.lookup(kind, [key]).get(key)
            kept = json.loads(stored) if stored is not None else None
        if kept is not None:
            self.kept_now[kind][key] = kept
        return kept

    def _keep(self, kind: str, key: str, value) -> None:
        encoded = json.dumps(value, ensure_ascii=False, default=str)
        self.store.store(kind, {key: encoded})
        self.kept_now[kind][key] = json.loads(encoded)  # as the store gives it back

    def markdown_to_convert(self, page, markdown: str, files) -> str:
        """At on_page_markdown, after the other plugins': the Markdown mkdocs is to convert, or "" for a
        generated page whose conversion is kept (`converted_html` puts it back: nothing to convert)."""
        if not self.generated(page.file):  # hand-written: always converted
            return markdown
        self.used[caches.PAGES] += 1
        if self.files_digest is None:  # the files are complete by the time pages are read
            self.files_digest = _digest(sorted((file.src_uri, file.url) for file in files if self._link_target(file)))
        key = _digest(self.settings, self.files_digest, page.file.src_uri, page.file.url, markdown)
        kept = self._lookup(caches.PAGES, key)
        self.pending[page.file.src_uri] = (key, kept, self.warnings.count)
        return markdown if kept is None else ""

    def converted_html(self, page, html: str, files) -> str:
        """At on_page_content, before the other plugins': the kept conversion of the page put back, or
        the new one kept (unless it logged a warning)."""
        pending = self.pending.pop(page.file.src_uri, None)
        if pending is None:  # hand-written
            return html
        key, kept, warnings = pending
        if kept is not None:
            _restore(page, kept, files)
            return page.content
        if self.warnings.count == warnings:
            self._keep(caches.PAGES, key, _rendered(page))
        return html

    def generated(self, file) -> bool:
        """Whether `file` is one the build generated into the pages folder (not a hand-written one)."""
        return file.abs_src_path is not None and Path(file.abs_src_path).resolve().is_relative_to(self.pages_dir)

    def _link_target(self, file) -> bool:
        """Whether a generated page may link to `file`: any page, or a file generated with the pages
        (images, the deck). Not the index's shards or the runtime, whose names change with the bank."""
        return file.is_documentation_page() or self.generated(file)

    def cache_search_entries(self, search_plugin) -> None:
        """Make Material's search take a page's entries from the store when its inputs are the same."""
        index = search_plugin.search_index
        add_entry = index.add_entry_from_context
        settings = _digest(version("mkdocs-material"), stable(dict(search_plugin.config)))

        def add_entry_kept(page):
            self.used[caches.SEARCH_ENTRIES] += 1  # every page, hand-written ones too
            key = _digest(settings, page.url, page.content, _toc_tokens(page.toc), str(page.title),
                          json.loads(json.dumps(page.meta, default=str)))
            kept = self._lookup(caches.SEARCH_ENTRIES, key)
            if kept is not None:
                index.entries.extend(dict(entry) for entry in kept)  # copies: the rows outlive this index
                return
            first = len(index.entries)
            add_entry(page)
            self._keep(caches.SEARCH_ENTRIES, key, index.entries[first:])

        index.add_entry_from_context = add_entry_kept


def _rendered(page) -> dict:
    return {
        "content": page.content,
        "toc": _toc_tokens(page.toc),
        "title": page._title_from_render,
        "anchors": sorted(page.present_anchor_ids or ()),
        "links_to_anchors": None if page.links_to_anchors is None else {
            file.src_uri: links for file, links in page.links_to_anchors.items()},
    }


def _restore(page, kept: dict, files) -> None:
    page.content = kept["content"]
    page.toc = get_toc(kept["toc"])
    page._title_from_render = kept["title"]
    page.present_anchor_ids = set(kept["anchors"])
    if kept["links_to_anchors"] is not None:
        page.links_to_anchors = {files.get_file_from_path(src_uri): links
                                 for src_uri, links in kept["links_to_anchors"].items()}
