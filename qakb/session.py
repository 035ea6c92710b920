"""What one build leaves in memory for the next build in the same process: a `BuildSession`.

`qakb serve --watch` builds again in the same process after every edit, and an edit changes a
few of a big bank's answers, pages and index files. The on-disk caches (`qakb.caches`) already
spare a rebuild the work; reading 10,000 answers, vectors and pages back from them and encoding
the same files again still takes seconds. So a build keeps what it used here, parsed, and the
next build takes from it what is the same and reads or makes only the rest.

Who holds a session: `qakb build` makes one for its one build; `qakb serve --watch` makes one
and hands the same one to every rebuild (`qakb.build.build(settings, log, session)`), which
passes each stage the session or the part of it the stage uses. The mkdocs plugin gets it
from `qakb build` too (`qakb.build.run_mkdocs`; see `qakb.plugin`); under `mkdocs serve` the plugin
keeps one for all the rebuilds it runs itself (`qakb.plugin.pipeline`). Nothing is kept anywhere
else: the modules hold no state between builds (tests/test_layout.py lists what a process does
keep, its machinery, and why), and a test that wants a first build's behaviour makes a fresh
session.

What is kept never changes a byte of what a build writes: it is used only where it equals what
would be made again (the same key, the same payload, the same store).

Standard library only: the mkdocs plugin imports it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from qakb import caches

if TYPE_CHECKING:
    from qakb.result_store import ResultStore


class LastBuild:
    """One kind of result the last build used from one `qakb.result_store.ResultStore`, kept parsed.

    Used only with the same store (another project's store would not get its rows), and its rows
    are touched there, so they stay among the most recently used."""

    def __init__(self, kind: str):
        self.kind = kind
        self.store_path: Path | None = None
        self.values: dict = {}

    def kept(self, store: ResultStore, keys, touch: bool = True) -> dict:
        """The kept values of `keys`, if the last build used `store`; touched there unless `touch` is
        False (the caller then touches them, all at once)."""
        if self.store_path != store.path:
            return {}
        found = {key: self.values[key] for key in keys if key in self.values}
        if touch:
            store.touch(self.kind, list(found))
        return found

    def replace(self, store: ResultStore, values: dict) -> None:
        self.store_path, self.values = store.path, values


class LastEncoded:
    """The files of one kind the last build encoded, by name: a payload equal to the last build's
    (a C-speed comparison) gets the last build's bytes instead of being encoded again.

    `start` before a build's files, `finish` after (a failed build leaves the last successful one's)."""

    def __init__(self):
        self.last: dict[str, tuple[object, bytes]] = {}
        self.now: dict[str, tuple[object, bytes]] = {}

    def start(self) -> None:
        self.now = {}

    def encode(self, name: str, payload, encode: Callable[[object], bytes]) -> bytes:
        kept = self.last.get(name)
        data = kept[1] if kept is not None and kept[0] == payload else encode(payload)
        self.now[name] = (payload, data)
        return data

    def finish(self) -> None:
        self.last, self.now = self.now, {}


@dataclass
class KeptVectors:
    """The vectors the last build's `qakb.embed.Embedder` used, by text sha256, and where they came
    from (the embeddings file and the vectors' key): only an Embedder of the same source takes them."""
    source: tuple[Path, str] | None = None
    vectors: dict = field(default_factory=dict)


@dataclass
class RenumberedPostings:
    """The last build's BM25 postings with their items renumbered (`qakb.shards`), by term: a term whose
    postings and items' numbers are the same keeps its entry."""
    number_of: dict[int, int] | None = None  # each document's item number, in the last build
    terms: dict[str, tuple[list[int], list[int], int]] = field(default_factory=dict)  # postings, entry, size


class Deletions:
    """The folders a build moved aside and left threads to delete (`qakb.build.discard`): the next
    build's `empty_trash` leaves those to their threads and removes only what an earlier process left."""

    def __init__(self):
        self._lock = threading.Lock()  # the threads remove their folder when done
        self._folders: set[Path] = set()

    def started(self, folder: Path) -> None:
        with self._lock:
            self._folders.add(folder)

    def finished(self, folder: Path) -> None:
        with self._lock:
            self._folders.discard(folder)

    def busy(self) -> set[Path]:
        with self._lock:
            return set(self._folders)


# What a build learned of each site file, by its device, inode, size and modification time: its
# sha256 and whether it is worth compressing (`qakb.plugin.compress`).
KnownFiles = dict[tuple[int, int, int, int], tuple[str, bool]]


@dataclass
class BuildSession:
    """Everything a rebuild reuses from the last build in the same process (the module's docstring).
    The figures are a 10,000-question bank's, rebuilt in `qakb serve --watch` after one edit."""

    answers: LastBuild = field(default_factory=lambda: LastBuild(caches.ANSWERS))
    """Rendered answers (`qakb.build_cache`): reading 10,000 back from the store takes 0.3 s."""

    signatures: LastBuild = field(default_factory=lambda: LastBuild(caches.SIGNATURES))
    """Answers' SimHash signatures (`qakb.build_cache`), kept as the answers are."""

    vectors: KeptVectors = field(default_factory=KeptVectors)
    """The transformer vectors the last build used (`qakb.embed`): ~60,000 of them, looked up again
    after every edit."""

    topic_corpus: object | None = None
    """The last build's term counts for naming topics (`qakb.discover`'s corpus), changed by the
    entries an edit changed: 0.1 s instead of 2 s of counting."""

    tokens: LastBuild = field(default_factory=lambda: LastBuild(caches.TOKENS))
    """Each document's words and BM25 terms (`qakb.query_encoder`): 0.3 s to read back from the store."""

    metadata_json: LastEncoded = field(default_factory=LastEncoded)
    """The index's metadata.json (`qakb.index`), encoded again only if a row changed."""

    shard_files: LastEncoded = field(default_factory=LastEncoded)
    """A sharded index's term ranges and text shards (`qakb.shards`): ~1,500 JSON files, a few of
    which an edit changes."""

    renumbered_postings: RenumberedPostings = field(default_factory=RenumberedPostings)
    """A sharded index's postings under their items' numbers (`qakb.shards`): ~1 M postings."""

    page_ids: dict[bytes, list[str]] = field(default_factory=dict)
    """The element ids of each topic page the last nothing-lost check read, by the sha256 of its
    bytes (`qakb.build.check_nothing_lost`): 100 pages, 35 MB of HTML, a few of which an edit changes."""

    deletions: Deletions = field(default_factory=Deletions)
    """The replaced site, pages and index folders still being deleted in the background (`qakb.build`)."""

    compressed_files: KnownFiles = field(default_factory=dict)
    """The sha256 of each site file the last build compressed or listed in the offline copy, and
    whether it is worth compressing (`qakb.plugin.compress`): the index and runtime files are hard
    links that keep their inode, so only the files a rebuild wrote anew are read and hashed."""

    pages: LastBuild = field(default_factory=lambda: LastBuild(caches.PAGES))
    """The generated pages as mkdocs rendered them (`qakb.plugin.page_cache`): ~100 pages restored."""

    search_entries: LastBuild = field(default_factory=lambda: LastBuild(caches.SEARCH_ENTRIES))
    """Material's keyword-search entries of each page (`qakb.plugin.page_cache`)."""
