"""Results a rebuild can reuse, keyed by (kind, hash of everything they are made from), in one
SQLite file in the project's cache folder (`qakb.caches.results`, which names the kinds).

The build keeps rendered answers and answer signatures here (`qakb.build_cache`), the mkdocs
plugin its rendered pages and their keyword-search entries (`qakb.plugin.page_cache`). Each
row remembers when it was last used, so a kind whose values are large can be cut back to its
most recently used rows. Standard library only: the mkdocs plugin imports it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from qakb import caches


class ResultStore:
    def __init__(self, cache_dir: Path):
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Two connections may be open at once (the build's and its mkdocs plugin's): wait, do not fail.
        self.path = caches.results(cache_dir).resolve()
        self._db = sqlite3.connect(self.path, timeout=60)
        # A cache: a commit need not wait for the disk (WAL keeps the file whole if the machine stops).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS entries "
                         "(kind TEXT, key TEXT, value TEXT, used INTEGER, PRIMARY KEY (kind, key))")

    def close(self) -> None:
        self._db.close()

    def lookup(self, kind: str, keys: list[str]) -> dict[str, str]:
        """The stored values of those `keys` that have one; they count as used now."""
        found: dict[str, str] = {}
        unique = sorted(set(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT key, value FROM entries WHERE kind = ? AND key IN ({marks})",
                                          [kind, *chunk]))
        if found:
            with self._db:
                self._db.executemany("UPDATE entries SET used = ? WHERE kind = ? AND key = ?",
                                     [(time.time_ns(), kind, key) for key in sorted(found)])
        return found

    def touch(self, kind: str, keys: list[str]) -> None:
        """Count those `keys` as used now, as `lookup` would, without reading their values."""
        with self._db:
            self._db.executemany("UPDATE entries SET used = ? WHERE kind = ? AND key = ?",
                                 [(time.time_ns(), kind, key) for key in sorted(set(keys))])

    def store(self, kind: str, values: dict[str, str]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                                 [(kind, key, value, time.time_ns()) for key, value in sorted(values.items())])

    def keep_recent(self, kind: str, count: int) -> None:
        """Delete all but the `count` most recently used rows of `kind`."""
        with self._db:
            self._db.execute("DELETE FROM entries WHERE kind = ? AND key NOT IN "
                             "(SELECT key FROM entries WHERE kind = ? ORDER BY used DESC LIMIT ?)",
                             (kind, kind, count))
