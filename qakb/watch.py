"""`qakb serve --watch`: serve the site and rebuild it in the same process whenever an input changes.

A `qakb build` spends ~6 s importing torch and sentence-transformers and loading the model
before it can embed the one answer an edit changed, and imports mkdocs, faiss and the theme
besides. A watching process pays for that once: each rebuild then does only the work the
edit calls for (the build's caches do the rest, and what the last build kept in memory: the
command hands every rebuild the same `qakb.session.BuildSession`), and the server goes on
sending the last site that built, so a save with a mistake in it shows the error here and
breaks nothing there.

Changes are noticed with watchdog (the library `mkdocs serve` uses) on the folders a build
reads: mkdocs.yml's folder (not recursively), the bank folder and the hand-written pages.
Whether a build is needed is decided by a hash of those inputs' bytes, not by the events:
the build's own write to content/anchors.json, an editor's swap files or a save with
nothing changed start no build.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Callable

from qakb.anchors import RECORD_FILE
from qakb.config import Settings, load_settings

# After a change, wait until the inputs have been quiet this long: an editor's save is often a
# write, a rename and a touch, and a bank may be saved file after file.
QUIET_SECONDS = 0.3


def input_files(settings: Settings) -> list[Path]:
    """The files a build reads from the project: mkdocs.yml, the bank folder (banks, images, topics
    file) and the hand-written pages; not the link record the build itself writes."""
    files = {settings.mkdocs_file}
    for place in (settings.content_dir, settings.docs_dir, settings.topics_file):
        if place.is_file():
            files.add(place)
        elif place.is_dir():
            files.update(path for path in place.rglob("*") if path.is_file())
    files.discard(settings.content_dir / RECORD_FILE)
    return sorted(files)


def inputs_hash(settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in input_files(settings):
        digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:  # removed while being read: the next event brings its state
            digest.update(b"\0unreadable")
    return digest.hexdigest()


class _AnyChange:
    """A watchdog handler that sets an event on every change (reads are not changes)."""

    def __init__(self, changed: threading.Event):
        self.changed = changed

    def dispatch(self, event) -> None:
        if event.event_type not in ("opened", "closed_no_write"):
            self.changed.set()


def watch_and_build(root: Path, build_once: Callable[[Settings], None], log: Callable[[str], None],
                    stop: threading.Event, errors: tuple[type[BaseException], ...] = (ValueError,)) -> None:
    """Build the project at `root` now, then again after every change to its inputs, until `stop`.

    `build_once(settings)` raising one of `errors` is reported with `log` and the watch goes on:
    the next change builds again. Settings are read again before each build (mkdocs.yml may be
    the file that changed)."""
    from watchdog.observers import Observer

    changed = threading.Event()
    observer = Observer()
    observer.daemon = True
    watched: set[Path] = set()
    last_built = None
    try:
        observer.start()
        while not stop.is_set():
            changed.clear()
            try:
                settings = load_settings(root)
                _watch(observer, _AnyChange(changed), settings, watched)
                current = inputs_hash(settings)
                if current != last_built:
                    last_built = current
                    build_once(settings)
            except errors as error:
                log(f"error: {error}")
                log("the site being served is the last one that built; save a fix and it builds again")
            # Wait for a change, then for the saving to finish.
            while not stop.is_set() and not changed.wait(0.5):
                pass
            while not stop.is_set() and changed.is_set():
                changed.clear()
                changed.wait(QUIET_SECONDS)
    finally:
        observer.stop()
        observer.join(timeout=5)


def _watch(observer, handler: _AnyChange, settings: Settings, watched: set[Path]) -> None:
    """Watch the folders `settings` name that are not watched yet (a new docs folder, say)."""
    places = [(settings.root, False), (settings.content_dir, True), (settings.docs_dir, True),
              (settings.topics_file.parent, False)]
    for place, recursive in places:
        if place.is_dir() and place not in watched:
            observer.schedule(handler, str(place), recursive=recursive)
            watched.add(place)
