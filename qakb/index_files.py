"""Writing search_index/'s files: what the index writer (`qakb.index`) and its two layout
writers (`qakb.whole_index`, `qakb.shards`) share.

A layout writer writes its files into the index folder and returns a `WrittenLayout`: the
files the manifest lists and its part of the manifest. Only `qakb.index` writes the manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from qakb.engine.format import WholeFiles


@dataclass(frozen=True)
class WrittenLayout:
    """What a layout writer wrote: the files the manifest lists by size and sha256 (a sharded
    layout's shards are checked by the hashes in its spec instead), and which layout it is."""
    files: list[str]
    whole: WholeFiles | None = None
    shards: dict | None = None  # the manifest's "shards" section


def pretty_json(data) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def compact_json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_flat_ip_index(path: Path, vectors: np.ndarray) -> None:
    """A faiss IndexFlatIP of `vectors` (FORMAT.md, transformer.faiss)."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


def file_entry(path: Path) -> dict:
    """The manifest's "files" entry of a file: its size and sha256."""
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
