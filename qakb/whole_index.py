"""The whole layout of search_index/ (banks below `shard_above`): the encoder's table, the
items' and passages' static indexes, the passages and the BM25 data, each in one file that
the browser fetches before its first search (qakb/engine/FORMAT.md, "Whole layout")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from qakb.engine.format import (BM25_FILE, METADATA_FILE, PASSAGES_FILE, PASSAGES_INDEX_FILE, STATIC_INDEX_FILE,
                                TABLE_FILE, IndexFile, WholeFiles)
from qakb.index_files import WrittenLayout, write_flat_ip_index
from qakb.query_encoder import StaticSearch, StaticSettings, static_search, write_encoder_files
from qakb.shards import ShardInputs

# The files this layout writes besides those both layouts have (metadata, transformer index, vocabulary).
WHOLE_FILES = (STATIC_INDEX_FILE, PASSAGES_INDEX_FILE, PASSAGES_FILE, BM25_FILE, TABLE_FILE)


def write_whole(out_dir: Path, search: StaticSearch) -> WrittenLayout:
    """The encoder's table, both flat indexes, the passages and BM25, written into `out_dir`."""
    (out_dir / TABLE_FILE).write_bytes(search.table)
    write_flat_ip_index(out_dir / STATIC_INDEX_FILE, search.vectors)
    write_flat_ip_index(out_dir / PASSAGES_INDEX_FILE, search.passage_vectors)
    (out_dir / PASSAGES_FILE).write_text(json.dumps(search.passages, ensure_ascii=False, separators=(",", ":")),
                                         encoding="utf-8")
    (out_dir / BM25_FILE).write_text(json.dumps(search.bm25, sort_keys=True, separators=(",", ":")), encoding="utf-8")
    files = WholeFiles(static_index=IndexFile(STATIC_INDEX_FILE, search.dims),
                       passage_index=IndexFile(PASSAGES_INDEX_FILE, search.dims), passages_file=PASSAGES_FILE,
                       table_file=TABLE_FILE, bm25_file=BM25_FILE)
    return WrittenLayout(files=list(WHOLE_FILES), whole=files)


def read_whole_files(index_dir: Path, files: WholeFiles) -> ShardInputs:
    """What `qakb.shards` cuts shards from, read back from a whole index's `files`."""
    return ShardInputs(
        vectors=_flat_vectors(index_dir / files.static_index.file),
        passage_vectors=_flat_vectors(index_dir / files.passage_index.file),
        passages=json.loads((index_dir / files.passages_file).read_text(encoding="utf-8")),
        metadata=json.loads((index_dir / METADATA_FILE).read_text(encoding="utf-8")),
        bm25=json.loads((index_dir / files.bm25_file).read_text(encoding="utf-8")),
        table=(index_dir / files.table_file).read_bytes())


def _flat_vectors(path: Path) -> np.ndarray:
    index = faiss.read_index(str(path))
    return index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)


def build_static_search(documents: list[str], passages: list[list[str]], out_dir: Path, cache_dir: Path,
                        embed: Callable[[list[str]], np.ndarray] | None = None,
                        settings: StaticSettings = StaticSettings()) -> dict:
    """The query encoder's part of a whole index alone (no metadata, transformer index or manifest):
    its files written into `out_dir`; returns the manifest sections that name them."""
    search = static_search(documents, passages, cache_dir, embed, settings)
    write_encoder_files(out_dir, search)
    return write_whole(out_dir, search).whole.to_json(search.encoder, search.bm25_spec)
