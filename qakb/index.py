"""Write search_index/: metadata, the transformer index, the query encoder's files and either
layout (`qakb.whole_index` below `shard_above` questions, `qakb.shards` above), then the
manifest that ties them together, once, last.

The format is documented in qakb/engine/FORMAT.md; the engine (`qakb.engine`) reads it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

from qakb import query_encoder
from qakb.embed import DIMENSION, MODEL_NAME
from qakb.engine.format import MANIFEST_FILE, METADATA_FILE, TRANSFORMER_INDEX_FILE, IndexFile, Manifest
from qakb.index_files import WrittenLayout, file_entry, pretty_json, write_flat_ip_index
from qakb.pages import metadata_rows
from qakb.parse import Question
from qakb.session import BuildSession
from qakb.shards import ShardInputs, ShardSettings, write_shards
from qakb.topics import Topic
from qakb.whole_index import WHOLE_FILES, read_whole_files, write_whole

PASSAGE_WORDS = (12, 30)  # a passage closes once it has the first many words; it never grows past the second


def answer_passages(answer_text: str, min_words: int = PASSAGE_WORDS[0], max_words: int = PASSAGE_WORDS[1]) -> list[str]:
    """An answer's text cut into passages of whole sentences: the units matched and shown as snippets.

    Each line (a paragraph, a list item, a table row) is split into sentences; sentences are
    gathered until a passage has `min_words` words, without passing `max_words` (a longer
    sentence stands alone). A short rest joins the last passage when it fits.
    """
    passages: list[list[str]] = []
    current: list[str] = []
    for line in answer_text.split("\n"):
        for sentence in re.split(r"(?<=[.?!])\s+", line.strip()):
            words = sentence.split()
            if not words:
                continue
            if current and len(current) + len(words) > max_words:
                passages.append(current)
                current = []
            current += words
            if len(current) >= min_words:
                passages.append(current)
                current = []
    if current:
        if passages and len(passages[-1]) + len(current) <= max_words:
            passages[-1] += current
        else:
            passages.append(current)
    return [" ".join(words) for words in passages]


def write_index(
    out_dir: Path,
    questions: list[Question],
    documents: list[str],
    passages: list[list[str]],
    topic_of: dict[str, Topic],
    transformer_vectors: np.ndarray,
    content_hash: str,
    cache_dir: Path,
    embed: Callable[[list[str]], np.ndarray],
    part_of: dict[str, int] | None = None,
    shard_above: int = 0,
    shard_list_size: int = 64,
    previous: Path | None = None,
    session: BuildSession | None = None,
) -> Manifest:
    """Write every index file into the empty folder `out_dir`; return the manifest.

    `part_of` says which page of its topic each question is on (`qakb.pages.page_parts`; default: the first).

    `documents` are the questions' indexed texts (`qakb.markup.document_text`) and `passages`
    their answers' passages (`answer_passages`), both row-aligned with `questions`. A bank of
    at least `shard_above` questions (0: never) gets the sharded layout (`qakb.shards`), in lists
    of about `shard_list_size` questions; `previous` is the last build's index folder, whose
    partition a sharded index keeps while it still fits. `session` holds the files the last build in
    this process encoded: an unchanged one is not encoded again.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    session = session if session is not None else BuildSession()
    metadata = metadata_rows(questions, topic_of, part_of or {})
    session.metadata_json.start()
    (out_dir / METADATA_FILE).write_bytes(session.metadata_json.encode(METADATA_FILE, metadata, pretty_json))
    session.metadata_json.finish()
    write_flat_ip_index(out_dir / TRANSFORMER_INDEX_FILE, transformer_vectors)
    search = query_encoder.static_search(documents, passages, cache_dir=cache_dir, embed=embed, session=session)
    shared = [METADATA_FILE, TRANSFORMER_INDEX_FILE, *query_encoder.write_encoder_files(out_dir, search)]
    if shard_above and len(questions) >= shard_above:
        # Cut from the build's data: the whole layout's files are never written (nor read back).
        inputs = ShardInputs(vectors=search.vectors, passage_vectors=search.passage_vectors, passages=passages,
                             metadata=metadata, bm25=search.bm25, table=search.table)
        layout = write_shards(out_dir, inputs, ShardSettings(items_per_list=shard_list_size), previous, session)
    else:
        layout = write_whole(out_dir, search)
    manifest = Manifest(model=MODEL_NAME, content_hash=content_hash, count=len(questions),
                        transformer_index=IndexFile(TRANSFORMER_INDEX_FILE, DIMENSION),
                        encoder=search.encoder, bm25=search.bm25_spec, **_listed(out_dir, shared, layout))
    write_manifest(out_dir, manifest)
    return manifest


def shard_whole_index(source: Path, out_dir: Path, settings: ShardSettings = ShardSettings(),
                      previous: Path | None = None, session: BuildSession | None = None) -> Manifest:
    """The sharded layout of the whole index in `source`, written into the new folder `out_dir`:
    what `write_index` writes for the same bank with `settings` (tests cut shards from cached indexes)."""
    whole = Manifest.from_json(json.loads((source / MANIFEST_FILE).read_text(encoding="utf-8")))
    out_dir.mkdir(parents=True)
    shared = [name for name in whole.files if name not in WHOLE_FILES]
    for name in shared:
        shutil.copy2(source / name, out_dir / name)
    layout = write_shards(out_dir, read_whole_files(source, whole.whole), settings, previous, session)
    manifest = replace(whole, **_listed(out_dir, shared, layout))
    write_manifest(out_dir, manifest)
    return manifest


def _listed(out_dir: Path, shared: list[str], layout: WrittenLayout) -> dict:
    """The manifest's files (both layouts' `shared` files and the layout's), with the layout."""
    files = {name: file_entry(out_dir / name) for name in sorted([*shared, *layout.files])}
    return {"files": files, "whole": layout.whole, "shards": layout.shards}


def write_manifest(out_dir: Path, manifest: Manifest) -> None:
    (out_dir / MANIFEST_FILE).write_bytes(pretty_json(manifest.to_json()))


def search_transformer(index_dir: Path, query_vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """For each query vector, the rows and inner-product scores of its `k` nearest questions."""
    index = faiss.read_index(str(index_dir / TRANSFORMER_INDEX_FILE))
    scores, rows = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32).reshape(-1, index.d), k)
    return [[(int(row), float(score)) for row, score in zip(found, found_scores) if row >= 0]
            for found, found_scores in zip(rows, scores)]
