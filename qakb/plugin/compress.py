"""Precompressed copies of the built site's files: NAME.gz and NAME.br beside NAME.

Static hosts that serve such files when the browser accepts the encoding (nginx's
gzip_static / brotli_static, Caddy's `file_server precompressed`, `qakb serve`) then send
the search's runtime and index at their compressed size without compressing on every
request. Written last in the build, over the finished site; a host that ignores them
serves the plain files as before. The plugin option `precompress` (none, gzip, brotli,
both; `SUFFIXES`) says which: none by default, since GitHub Pages, Cloudflare Pages and
Netlify compress on the fly and never send a copy, and the copies more than double the
site's files, which Cloudflare Pages counts (20,000 at most).

gzip at level 9 with no name and mtime 0, and brotli (the PyPI package): the same input
gives the same bytes. Each output is cached in <cache_dir>/compressed/ by the sha256 of its
input. Brotli's quality 11 costs 1.5-6 s a MB on these 2 cores, quality 9 about 0.05 s for
10-20% more bytes (measured on a 10,000-question site: practice/answers.json, 7.4 MB, 11.1 s
for 327 kB at 11, 0.33 s for 381 kB at 9). So:

- the runtime (`lasting` files: Pyodide, the same in every build, compressed once per
  machine) gets quality 11, up to 10 MB; above (only the optional Pyodide snapshot, 26 MB,
  which changes with the engine) quality 5: 3 s instead of 150 s, 5.25 MB instead of 4.39 MB;
- the site's own files, which change with the bank, get 11 up to 128 kB, 10 up to 1 MB and 9
  above, so a rebuild of a big bank does not spend minutes on its few large changed files. A
  topic page of 100 questions (347 kB) takes 0.50 s at 11 for 24.2 kB, 0.17 s at 10 for
  24.7 kB (+2%), 0.03 s at 9 for 26.3 kB: an edit at 10k changes up to ~10 of them (its own
  page and those whose related links it enters or leaves), and a first build writes 100.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import brotli

from qakb import caches
from qakb.plugin.runtime import made_in_place
from qakb.session import KnownFiles

# Formats that are compressed already: another layer saves nothing.
COMPRESSED_SUFFIXES = frozenset({".gz", ".br", ".zip", ".whl", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
                                 ".ico", ".woff", ".woff2", ".mp3", ".mp4", ".webm", ".pdf", ".apkg"})
MIN_BYTES = 1024  # below this, headers outweigh the saving
MIN_SAVING = 0.05  # keep a compressed copy only if it is at least this much smaller


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


LASTING_MAX_QUALITY_BYTES = 10_000_000
SITE_MAX_QUALITY_BYTES = 128_000
SITE_QUALITY_10_BYTES = 1_000_000


def brotli_quality(size: int, lasting: bool) -> int:
    if lasting:
        return 11 if size <= LASTING_MAX_QUALITY_BYTES else 5
    if size <= SITE_MAX_QUALITY_BYTES:
        return 11
    return 10 if size <= SITE_QUALITY_10_BYTES else 9


# suffix -> compress(data, brotli quality)
ENCODINGS: dict[str, Callable[[bytes, int], bytes]] = {
    ".gz": lambda data, quality: _gzip(data),
    ".br": lambda data, quality: brotli.compress(data, quality=quality),
}


# The plugin option `precompress` (qakb.config) -> the copies written.
SUFFIXES: dict[str, tuple[str, ...]] = {"none": (), "gzip": (".gz",), "brotli": (".br",), "both": (".gz", ".br")}


@dataclass(frozen=True)
class Compressed:
    path: str  # relative to the site
    raw: int
    sizes: dict[str, int]  # ".gz"/".br" -> bytes of the copy written (missing: not worth it)


def compressible(path: Path) -> bool:
    return path.suffix.lower() not in COMPRESSED_SUFFIXES and path.stat().st_size >= MIN_BYTES


def precompress_site(site_dir: Path, cache_dir: Path, lasting: Callable[[str], bool] = lambda path: False,
                     known_files: KnownFiles | None = None, precompress: str = "both") -> list[Compressed]:
    """Write NAME.gz and NAME.br (those `precompress` names, `SUFFIXES`) beside every compressible
    file of site_dir that they shrink; a copy of the other kind, or of a file it does not shrink, is removed.

    `lasting(path)` says whether a file (its path relative to the site) is the same in every
    build: those are worth brotli's slowest quality at any size up to 10 MB. `known_files`: what
    the last build learned of its files (`_learned`), brought up to date with this site's.
    """
    known_files = known_files if known_files is not None else {}
    paths = [path for path in sorted(site_dir.rglob("*")) if path.is_file() and compressible(path)]
    # Brotli and zlib release the GIL: one thread a core compresses the files a build changed in
    # a fraction of the time (the ~300 term ranges one edit can change at 10k: 12 s on one core).
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        done = list(pool.map(lambda path: _precompress_file(path, site_dir, cache_dir, lasting, known_files,
                                                            SUFFIXES[precompress]), paths))
    present = {identity for _, identity in done}
    for identity in set(known_files) - present:  # only this site's files are kept
        del known_files[identity]
    return [result for result, _ in done]


def _precompress_file(path: Path, site_dir: Path, cache_dir: Path, lasting: Callable[[str], bool],
                      known_files: KnownFiles, suffixes: tuple[str, ...]) -> tuple[Compressed, tuple]:
    """The file's compressed copies (of `suffixes`), and its identity (`_learned`)."""
    relative = path.relative_to(site_dir).as_posix()
    identity, digest, worth_trying, data = _learned(path, known_files)
    size = identity[2]
    for suffix in ENCODINGS:
        if not worth_trying or suffix not in suffixes:
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    if not worth_trying:
        return Compressed(relative, size, {}), identity
    quality = brotli_quality(size, lasting(relative))
    sizes = {}
    for suffix in suffixes:
        compress = ENCODINGS[suffix]
        # The brotli quality is part of the key: the same bytes may be either kind of file.
        key = digest + (f"-q{quality}" if suffix == ".br" and quality != 11 else "")
        cached = caches.compressed(cache_dir) / f"{key}{suffix}"
        if not cached.is_file():
            data = data if data is not None else path.read_bytes()
            _cached(cached, compress, data, quality)
        target = path.with_name(path.name + suffix)
        target.unlink(missing_ok=True)
        packed_size = cached.stat().st_size
        if packed_size <= size * (1 - MIN_SAVING):
            _place(cached, target)
            sizes[suffix] = packed_size
    return Compressed(relative, size, sizes), identity


def _learned(path: Path, known_files: KnownFiles) -> tuple[tuple[int, int, int, int], str, bool, bytes | None]:
    """The file's identity (device, inode, size, modification time), sha256 and whether it is worth
    compressing, from `known_files` where it is there (added if not); its bytes too when they had to
    be read. The index and runtime files are hard links that keep their inode from build to build, so
    `qakb serve --watch` reads and hashes only what a build wrote anew (pages, changed shards)."""
    status = path.stat()
    identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
    known = known_files.get(identity)
    if known is not None:
        return identity, known[0], known[1], None
    data = path.read_bytes()
    known_files[identity] = (hashlib.sha256(data).hexdigest(), _worth_trying(data))
    return identity, *known_files[identity], data


def file_sha256(path: Path, known_files: KnownFiles) -> tuple[str, int]:
    """The file's sha256 and size, from `known_files` where it is there (added if not)."""
    identity, digest, _, _ = _learned(path, known_files)
    return digest, identity[2]


PROBE_ABOVE = 256 * 1024
PROBE_BYTES = 16 * 1024


def _worth_trying(data: bytes) -> bool:
    """False for a large file that gzip's fastest level cannot shrink in three samples (start,
    middle, end): float vectors, say (the 10,000-question index's transformer.faiss: 14 MB, 7%
    smaller at best, ~1.2 s of compressing on every rebuild that changes it)."""
    if len(data) <= PROBE_ABOVE:
        return True
    middle = len(data) // 2
    sample = data[:PROBE_BYTES] + data[middle:middle + PROBE_BYTES] + data[-PROBE_BYTES:]
    return len(gzip.compress(sample, compresslevel=1)) <= len(sample) * (1 - 2 * MIN_SAVING)


def _cached(cached: Path, compress: Callable[[bytes, int], bytes], data: bytes, quality: int) -> Path:
    """`cached`, made from `data` first if it is not there."""
    if not cached.is_file():
        with made_in_place(cached) as partial:  # a concurrent build never reads half a file
            partial.write_bytes(compress(data, quality))
    return cached


def _place(cached: Path, target: Path) -> None:
    """A hard link to the cached copy (no bytes written: a 10,000-question site has ~4,000 of
    them); a copy where the cache is on another file system.

    Either way the copy is dated now, after the file it stands for: hosts and `qakb serve` take
    a copy older than its file for a stale one. (A link shares the cached file's date, which
    would be the build that first compressed those bytes.)"""
    try:
        os.link(cached, target)
    except OSError:
        shutil.copyfile(cached, target)
    os.utime(target)
