"""Write ``search_index/``: FAISS indexes, metadata and the manifest that ties them together.

The format is documented in qakb/engine/FORMAT.md; the engine (`qakb.engine`) reads it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

from qakb import query_encoder
from qakb.embed import DIMENSION, MODEL_NAME
from qakb.engine.format import FORMAT_VERSION
from qakb.pages import page_url
from qakb.parse import Question
from qakb.topics import Topic

MANIFEST = "manifest.json"
METADATA = "metadata.json"
TRANSFORMER_INDEX = "transformer.faiss"


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


def metadata_rows(questions: list[Question], topic_of: dict[str, Topic], part_of: dict[str, int]) -> list[dict]:
    return [
        {
            "id": question.anchor,
            "number": question.number,
            "question": question.question,
            "topic": topic_of[question.anchor].slug,
            "topic_title": topic_of[question.anchor].title,
            "url": page_url(topic_of[question.anchor].slug, question.anchor, part_of.get(question.anchor, 1)),
            "needs_review": question.needs_review,
            "difficulty": question.difficulty,
            "source": question.source,
        }
        for question in questions
    ]


def write_flat_ip_index(path: Path, vectors: np.ndarray) -> None:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


def write_json(path: Path, data) -> None:
    path.write_bytes(_pretty_json(data))


class LastEncoded:
    """The files of one kind the last build encoded, by name: a payload equal to the last build's
    (a C-speed comparison) gets the last build's bytes instead of being encoded again.

    For the process: `qakb serve --watch` writes the same ~1,500 JSON files of a 10,000-question
    index after every edit, which changes a few of them. `start` before a build's files, `finish`
    after (a failed build leaves the last successful one's)."""

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


_metadata_encoded = LastEncoded()


def _pretty_json(data) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def file_entry(path: Path) -> dict:
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


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
) -> dict:
    """Write every index file into the empty folder `out_dir`; return the manifest.

    `part_of` says which page of its topic each question is on (`page_parts`; default: the first).

    `documents` are the questions' indexed texts (`qakb.markup.document_text`) and `passages`
    their answers' passages (`answer_passages`), both row-aligned with `questions`. A bank of
    at least `shard_above` questions (0: never) gets the sharded layout (`qakb.shards`), in lists
    of about `shard_list_size` questions; `previous` is the last build's index folder, whose
    partition a sharded index keeps while it still fits.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = metadata_rows(questions, topic_of, part_of or {})
    _metadata_encoded.start()
    (out_dir / METADATA).write_bytes(_metadata_encoded.encode(METADATA, metadata, _pretty_json))
    _metadata_encoded.finish()
    write_flat_ip_index(out_dir / TRANSFORMER_INDEX, transformer_vectors)
    search = query_encoder.static_search(documents, passages, out_dir, cache_dir=cache_dir, embed=embed)
    static_part = search.fragment
    manifest = {
        "format": "qakb-search-index",
        "format_version": FORMAT_VERSION,
        "model": MODEL_NAME,
        "content_hash": content_hash,
        "count": len(questions),
        **static_part,
        "indexes": {
            "transformer": {"file": TRANSFORMER_INDEX, "dim": DIMENSION, "metric": "inner_product"},
            **static_part["indexes"],
        },
    }
    if shard_above and len(questions) >= shard_above:
        from qakb.shards import ShardInputs, ShardSettings, shard_index

        # Cut from the build's data: the unsharded files are never written (nor read back).
        inputs = ShardInputs(vectors=search.vectors, passage_vectors=search.passage_vectors, passages=passages,
                             metadata=metadata, bm25=search.bm25, table=search.table)
        manifest = shard_index(out_dir, manifest, ShardSettings(items_per_list=shard_list_size), previous, inputs)
    else:
        query_encoder.write_whole_files(out_dir, search)
    # A sharded index lists its shards' checksums in "shards": the manifest stays small.
    manifest["files"] = {path.name: file_entry(path) for path in sorted(out_dir.iterdir())
                         if path.name != MANIFEST and not _is_shard(path.name, manifest)}
    manifest["upfront"] = browser_upfront(manifest)
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def browser_upfront(manifest: dict) -> list[str]:
    """The files the browser fetches, besides manifest.json, before its first search.

    A sharded index: the encoder's vocabulary, the centroids, the speller's words and each item's
    row and length (the rest comes query by query). Otherwise every file but the transformer index, which serves
    build-time features and `qakb ask --exact`, never the engine, and is the one file that
    grows with the bank at 1.5 kB a question. Pages do not name these files or their
    checksums: the browser reads both from the manifest, so a rebuild changes no page for it.
    """
    if "shards" in manifest:
        return list(manifest["shards"]["upfront"])
    build_time_only = manifest["indexes"]["transformer"]["file"]
    return [name for name in sorted(manifest["files"]) if name != build_time_only]


def _is_shard(name: str, manifest: dict) -> bool:
    return "shards" in manifest and name.split("-")[0] in ("table", "terms", "list", "text")


def search_transformer(index_dir: Path, query_vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """For each query vector, the rows and inner-product scores of its `k` nearest questions."""
    index = faiss.read_index(str(index_dir / TRANSFORMER_INDEX))
    scores, rows = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32).reshape(-1, index.d), k)
    return [[(int(row), float(score)) for row, score in zip(found, found_scores) if row >= 0]
            for found, found_scores in zip(rows, scores)]
