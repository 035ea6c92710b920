"""Precompressed copies of the built site's files: NAME.gz and NAME.br beside NAME.

Static hosts that serve such files when the browser accepts the encoding (nginx's
gzip_static / brotli_static, Caddy's `file_server precompressed`, `qakb serve`) then send
the search's runtime and index at their compressed size without compressing on every
request. Written last in the build, over the finished site; a host that ignores them
serves the plain files as before.

gzip at level 9 with no name and mtime 0, and brotli (the PyPI package) at quality 11:
the same input gives the same bytes. Brotli at 11 costs about 6 s a MB on these 2 cores,
so each output is cached in <cache_dir>/compressed/ by the sha256 of its input: Pyodide's
files, the same for every build, are compressed once per machine. Files above 10 MB (only
the optional Pyodide snapshot, 26 MB, which changes with the engine) get quality 5: 3 s
instead of 150 s, for 5.25 MB instead of 4.39 MB.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import brotli

CACHE = "compressed"
# Formats that are compressed already: another layer saves nothing.
COMPRESSED_SUFFIXES = frozenset({".gz", ".br", ".zip", ".whl", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
                                 ".ico", ".woff", ".woff2", ".mp3", ".mp4", ".webm", ".pdf", ".apkg"})
MIN_BYTES = 1024  # below this, headers outweigh the saving
MIN_SAVING = 0.05  # keep a compressed copy only if it is at least this much smaller


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


BROTLI_MAX_QUALITY_BYTES = 10_000_000


def _brotli(data: bytes) -> bytes:
    return brotli.compress(data, quality=11 if len(data) <= BROTLI_MAX_QUALITY_BYTES else 5)


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {".gz": _gzip, ".br": _brotli}


@dataclass(frozen=True)
class Compressed:
    path: str  # relative to the site
    raw: int
    sizes: dict[str, int]  # ".gz"/".br" -> bytes of the copy written (missing: not worth it)


def compressible(path: Path) -> bool:
    return path.suffix.lower() not in COMPRESSED_SUFFIXES and path.stat().st_size >= MIN_BYTES


def precompress_site(site_dir: Path, cache_dir: Path) -> list[Compressed]:
    """Write NAME.gz and NAME.br beside every compressible file of site_dir that they shrink."""
    results = []
    for path in sorted(site_dir.rglob("*")):
        if not path.is_file() or not compressible(path):
            continue
        data = path.read_bytes()
        key = hashlib.sha256(data).hexdigest()
        sizes = {}
        for suffix, compress in ENCODINGS.items():
            packed = _cached(cache_dir / CACHE / f"{key}{suffix}", compress, data)
            target = path.with_name(path.name + suffix)
            if len(packed) <= len(data) * (1 - MIN_SAVING):
                target.write_bytes(packed)
                sizes[suffix] = len(packed)
            else:
                target.unlink(missing_ok=True)
        results.append(Compressed(path.relative_to(site_dir).as_posix(), len(data), sizes))
    return results


def _cached(cached: Path, compress: Callable[[bytes], bytes], data: bytes) -> bytes:
    try:
        return cached.read_bytes()
    except FileNotFoundError:
        pass
    packed = compress(data)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    partial.write_bytes(packed)
    partial.replace(cached)  # atomic: a concurrent build never reads half a file
    return packed
