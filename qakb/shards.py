"""Rewrite a large search index into shards the browser fetches as queries need them.

A bank of thousands of questions makes an index of megabytes; the browser should not
download all of it before its first result. Above `shard_above` items (a plugin
option), `qakb.index.write_index` calls `write_shards`, which cuts what the query
encoder made (`qakb.query_encoder.StaticSearch`) into:

    centroids.bin      k-means centroids of the items' static vectors (an inverted file:
                       faiss.Kmeans, spherical, fixed seed); list n holds the items
                       nearest centroid n, as consecutive rows. A rebuild keeps the last
                       build's centroids while they still fit (see `_lists`), so an edit
                       moves only the edited items and changes only their lists' files
    words.json         the speller's dictionary (bm25.json's "words")
    table-NNNN.bin     the static encoder's table in chunks of `table_rows` token rows
    items.bin          each item number's row and each row's BM25 length. The postings name
                       items by number, and an item keeps its number from build to build (a
                       new one takes a free number; they are packed again once a quarter are
                       free): an edit that adds an item or moves one to another list renumbers
                       rows, which changes this one file, not the postings
    terms-HHHH.json    BM25 postings, terms cut into sorted ranges of about
                       `term_shard_bytes`: a query's terms are complete wherever their
                       documents live, so lexical recall does not depend on the lists probed.
                       A range ends after a term picked by the term's hash (content-defined
                       cut points), so a new or removed term changes only its own range;
                       a range's file is named by its first term, so the others keep their names
    list-NNNN.bin      one list's item vectors at 4 bits (a float32 scale each): a query scores
                       the rows of the lists it probes with these, cheaply (2.2 kB a list)
    vectors-NNNN-PPP.bin the int8 item and passage vectors of `text_rows` rows of a list: read
                       for the `rerank` rows the coarse scores put first, which are ranked
    text-NNNN-PPP.json the metadata and passage texts of the same rows: only the hits' texts
                       are fetched

Within a list the rows are ordered along the first principal axis of their vectors, so the
rows a query reranks tend to share vectors files. A query's download is then a few table
chunks and term ranges, ~16 coarse lists and ~15 vectors files, and five texts: ~90 kB gzip
at 10,000 questions (scripts/PERFORMANCE.md), against ~300 kB when the lists held int8 item
and passage vectors.

The layout is documented in qakb/engine/FORMAT.md. static_vocab.txt and
static_chars.json are written whole, as in the whole layout; metadata.json (the practice
page reads it) and transformer.faiss (build time only) too, and the search fetches neither.

`load_everything` and `load_metadata` read a sharded index whole, for the build's checks
and exhaustive search.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qakb.engine.format import (CENTROIDS_FILE, CHARS_FILE, ITEMS_FILE, MANIFEST_FILE, VOCAB_FILE, WORDS_FILE,
                                Manifest, list_file, table_file, terms_file, text_file, vectors_file)
from qakb.engine.ranking import Engine
from qakb.engine.sharded import ShardedIndex, read_items
from qakb.index_files import WrittenLayout, compact_json
from qakb.session import BuildSession

MAX_LENGTH = 65_535  # items.bin keeps a row's BM25 length in 16 bits


@dataclass(frozen=True)
class ShardSettings:
    items_per_list: int = 64  # lists of about this many items (a coarse list is 2.2 kB at 64 dimensions)
    # Lists searched per query: the nearest centroids and the lists of the query's best BM25 items.
    # At 10k with the general table (2026-12-03, scripts/bench_scale.py's 219 queries), recall@10
    # against exhaustive search / a query's download, gzip p95: 12 and 15: 0.948 / 143 kB; 14 and 15:
    # 0.952 / 144 kB; 14 and 17: 0.956 / 147 kB; 12 and 20: 0.957 / 150 kB; 16 and 15: 0.954 / 148 kB
    # (before the general table 12 and 15 gave 0.963 / 138 kB; PERFORMANCE.md).
    probe: int = 14
    lexical_probe: int = 17
    # Rows ranked with their int8 item and passage vectors, of those the coarse scores put first
    # (in a simulation at 10k, recall@10 0.968 with 25, 0.955 with 20, 0.910 with 15).
    rerank: int = 25
    table_rows: int = 32  # encoder rows per table chunk (2.2 kB at 64 dimensions; a query's tokens fetch ~6)
    term_shard_bytes: int = 8_000  # of gap-coded postings: ~2.3 kB gzip a range, a query's words fetch ~5
    # Rows per text and vectors file: `text_rows`, doubled while the two kinds would be more than
    # `max_row_files` files (10k: 8 rows, 2,600 files; 100k: 32 rows, ~7,800; Cloudflare takes 20,000).
    text_rows: int = 8
    max_row_files: int = 10_000
    kmeans_iterations: int = 20
    seed: int = 0
    # Keep the last build's centroids while the items' mean cosine to their nearest centroid stays
    # within this of its value when they were trained (drift from edits is bounded; a new list count
    # or a new encoder table always retrains).
    refit_tolerance: float = 0.005
    # With kept centroids, an item stays in its last list while that list's centroid is within this
    # cosine of its nearest: a small edit does not move it (moving renumbers the rows after it, and
    # with them the lists' files after it).
    stay_margin: float = 0.03
    # Item numbers are packed again (and every term range rewritten) once this share of them is free.
    free_numbers: float = 0.25


@dataclass(frozen=True)
class ShardInputs:
    """What the shards are cut from: the build's own data (`qakb.index.write_index`), or a whole
    index's files read back (`qakb.whole_index.read_whole_files`)."""
    vectors: np.ndarray
    passage_vectors: np.ndarray
    passages: list[list[str]]
    metadata: list[dict]
    bm25: dict
    table: bytes


def write_shards(index_dir: Path, inputs: ShardInputs, settings: ShardSettings = ShardSettings(),
                 previous: Path | None = None, session: BuildSession | None = None) -> WrittenLayout:
    """Write the sharded layout's own files into `index_dir` (the vocabulary and character classes
    are the caller's); returns them and the manifest's "shards" section.

    `previous`: the last build's index folder, whose centroids are kept if they still fit. `session`:
    the JSON shards and renumbered postings the last build in this process made (`qakb serve --watch`
    writes the same ~1,500 JSON files and renumbers the same ~1 M postings after every edit)."""
    import faiss

    index_dir = Path(index_dir)
    vectors, passage_vectors, passages = inputs.vectors, inputs.passage_vectors, inputs.passages
    metadata, bm25 = inputs.metadata, inputs.bm25
    count, dim = vectors.shape

    table = inputs.table
    rows_count = len(table) // (4 + dim)  # a float32 scale and `dim` int8 values a row
    table_chunks = [table[4 * first:4 * last] + table[4 * rows_count + first * dim:4 * rows_count + last * dim]
                    for first, last in ((first, min(rows_count, first + settings.table_rows))
                                        for first in range(0, rows_count, settings.table_rows))]
    table_hashes = [hashlib.sha256(chunk).hexdigest()[:16] for chunk in table_chunks]
    ids = [row["id"] for row in metadata]
    last = _previous_build(previous)
    kept_shards = last["path"] if last else None  # a shard the same as the last build's is linked, not written
    session = session if session is not None else BuildSession()
    encoded = session.shard_files
    encoded.start()
    centroids, list_of, trained_fit = _lists(faiss, vectors, settings, _previous_partition(last, settings, table_hashes),
                                             ids)
    order = sorted(range(count), key=lambda row: (list_of[row], row))  # the lists' items, as consecutive rows
    offsets = np.searchsorted(list_of[order], np.arange(len(centroids) + 1)).tolist()
    text_rows = _text_rows(offsets, settings)
    order = [row for number in range(len(centroids))
             for row in _along_first_axis(vectors, order[offsets[number]:offsets[number + 1]], text_rows)]
    new_row = {old: new for new, old in enumerate(order)}
    number_of = item_numbers([ids[old] for old in order], last["number_of_id"] if last else {},
                             settings.free_numbers)
    (index_dir / CENTROIDS_FILE).write_bytes(centroids.astype("<f4").tobytes())
    (index_dir / WORDS_FILE).write_text(json.dumps(bm25["words"], ensure_ascii=False, sort_keys=True,
                                                   separators=(",", ":")), encoding="utf-8")

    first_passage = np.cumsum([0] + [len(texts) for texts in passages])
    list_hashes = []
    for number in range(len(centroids)):
        rows = order[offsets[number]:offsets[number + 1]]
        text_hashes, vector_hashes = [], []
        for part, start in enumerate(range(0, len(rows), text_rows)):
            chunk = rows[start:start + text_rows]
            text_path = index_dir / text_file(number, part)
            text = {"metadata": [metadata[row] for row in chunk], "passages": [passages[row] for row in chunk]}
            text_hashes.append(_write(text_path, kept_shards, encoded.encode(text_path.name, text, compact_json)))
            chunk_passages = [passage_vectors[first_passage[row]:first_passage[row + 1]] for row in chunk]
            scales, values = _int8_rows(np.concatenate([vectors[chunk].reshape(-1, dim), *chunk_passages]))
            vector_hashes.append(_write(index_dir / vectors_file(number, part), kept_shards, _with_header(
                {"passages": [len(passages[row]) for row in chunk]},
                scales.astype("<f4").tobytes() + values.tobytes())))
        scales, values = _int4_rows(vectors[rows].reshape(-1, dim))
        list_hashes.append(_write(index_dir / list_file(number), kept_shards, _with_header(
            {"texts": text_hashes, "vectors": vector_hashes}, scales.astype("<f4").tobytes() + values.tobytes())))

    for number, chunk in enumerate(table_chunks):
        _write(index_dir / table_file(number), kept_shards, chunk)

    numbers = max(number_of, default=-1) + 1
    row_bytes = 2 if numbers < 0xFFFF and count < 0xFFFF else 4
    row_of_number = np.full(numbers, 2 ** (8 * row_bytes) - 1, dtype=f"<u{row_bytes}")
    row_of_number[number_of] = np.arange(count)
    lengths = np.minimum([bm25["doc_lengths"][old] for old in order], MAX_LENGTH).astype("<u2")
    (index_dir / ITEMS_FILE).write_bytes(row_of_number.tobytes() + lengths.tobytes())
    number_of_old = {old: number_of[new] for old, new in new_row.items()}
    term_firsts, term_hashes = _write_term_shards(index_dir, bm25["postings"], number_of_old, settings, session,
                                                  kept_shards)
    max_idf = max((math.log(1 + (count - len(p) // 2 + 0.5) / (len(p) // 2 + 0.5)) for p in bm25["postings"].values()),
                  default=1.0)
    encoded.finish()

    spec = {
        "layout": "ivf", "lists": len(centroids), "offsets": offsets, "probe": settings.probe,
        "lexical_probe": settings.lexical_probe, "rerank": settings.rerank, "table_rows": settings.table_rows,
        "text_rows": text_rows,
        "centroids_file": CENTROIDS_FILE, "words_file": WORDS_FILE, "items_file": ITEMS_FILE,
        "numbers": numbers, "row_bytes": row_bytes, "max_idf": max_idf, "term_firsts": term_firsts,
        "hashes": {"table": table_hashes, "terms": term_hashes, "lists": list_hashes},
        "trained_fit": trained_fit,
        # What the browser fetches before the first query (the manifest besides).
        "upfront": [VOCAB_FILE, CHARS_FILE, CENTROIDS_FILE, WORDS_FILE, ITEMS_FILE],
        "settings": asdict(settings),
    }
    return WrittenLayout(files=[CENTROIDS_FILE, WORDS_FILE, ITEMS_FILE], shards=spec)


def _previous_build(previous: Path | None) -> dict | None:
    """What this build keeps of the last one, if `previous` holds a sharded index of this format:
    its shard spec, its items' ids by row and their numbers."""
    try:
        spec = Manifest.from_json(json.loads((previous / MANIFEST_FILE).read_text(encoding="utf-8"))).shards
        if spec is None:
            return None
        ids_by_row = []
        for number in range(spec["lists"]):
            size = spec["offsets"][number + 1] - spec["offsets"][number]
            for part in range(math.ceil(size / spec["text_rows"])):
                text = json.loads((previous / text_file(number, part)).read_text(encoding="utf-8"))
                ids_by_row += [row["id"] for row in text["metadata"]]
        row_of, _ = read_items((previous / spec["items_file"]).read_bytes(), spec["numbers"], spec["row_bytes"],
                               len(ids_by_row))
        number_of_id = {ids_by_row[row]: number for number, row in enumerate(row_of) if row < len(ids_by_row)}
        return {"spec": spec, "path": previous, "ids_by_row": ids_by_row, "number_of_id": number_of_id}
    except (TypeError, OSError, KeyError, ValueError):  # no previous index, or not one like this
        return None


def _previous_partition(last: dict | None, settings: ShardSettings, table_hashes: list[str]) -> dict | None:
    """The last build's centroids, their fit when trained, and each item's list, if it made them with
    these settings from the same encoder table (the vectors are then comparable); else None."""
    if last is None:
        return None
    spec = last["spec"]
    if spec["settings"] != asdict(settings) or spec["hashes"]["table"] != table_hashes:
        return None
    try:
        data = (last["path"] / spec["centroids_file"]).read_bytes()
        centroids = np.frombuffer(data, dtype="<f4").reshape(spec["lists"], -1)
    except (OSError, ValueError):
        return None
    offsets = spec["offsets"]
    list_of_id = {item: number for number in range(spec["lists"])
                  for item in last["ids_by_row"][offsets[number]:offsets[number + 1]]}
    return {"centroids": centroids.astype(np.float32), "trained_fit": float(spec["trained_fit"]),
            "list_of_id": list_of_id}


def item_numbers(ids: list[str], last_numbers: dict[str, int], free_share: float) -> list[int]:
    """A number for each of `ids` (in their order): the one it had in the last build, else the lowest
    free one. Numbered afresh, in order, once more than `free_share` of the numbers would be free."""
    kept = [last_numbers.get(item) for item in ids]
    taken = {number for number in kept if number is not None}
    if len(taken) != sum(number is not None for number in kept):  # two items claim one number: start again
        kept, taken = [None] * len(ids), set()
    size = max(len(ids), max(taken, default=-1) + 1)
    if size - len(ids) > free_share * size:
        return list(range(len(ids)))
    free = iter(number for number in range(size) if number not in taken)
    return [number if number is not None else next(free) for number in kept]


def _lists(faiss, vectors: np.ndarray, settings: ShardSettings, previous: dict | None = None,
           ids: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Spherical k-means centroids (unit length), each item's list (the centroid it is closest to) and
    the fit the centroids had when trained (the items' mean cosine to their nearest centroid).

    The previous build's centroids are kept if there are as many lists and their fit to these items
    has not dropped by more than `refit_tolerance` since they were trained: an edit then moves only
    the edited items between lists, instead of every centroid shifting a little and every list changing.
    With them, an item (by its id in `ids`) stays in the list it was in while that list's centroid is
    within `stay_margin` of its nearest."""
    count, dim = vectors.shape
    lists = max(1, min(count, round(count / settings.items_per_list)))
    if previous is not None and previous["centroids"].shape == (lists, dim):
        similarities = vectors @ previous["centroids"].T
        if _fit(vectors, similarities) >= previous["trained_fit"] - settings.refit_tolerance:
            nearest = similarities.argmax(axis=1)
            last = np.array([previous.get("list_of_id", {}).get(item, -1) for item in ids or [None] * count], dtype=np.int64)
            rows = np.arange(count)
            stays = (last >= 0) & (similarities[rows, last.clip(0)] >= similarities[rows, nearest] - settings.stay_margin)
            return previous["centroids"], np.where(stays, last, nearest), previous["trained_fit"]
    kmeans = faiss.Kmeans(dim, lists, niter=settings.kmeans_iterations, seed=settings.seed, spherical=True,
                          verbose=False, min_points_per_centroid=1)
    kmeans.train(np.ascontiguousarray(vectors, dtype=np.float32))
    centroids = (kmeans.centroids / np.linalg.norm(kmeans.centroids, axis=1, keepdims=True).clip(1e-12)
                 ).astype(np.float32)
    similarities = vectors @ centroids.T
    return centroids, similarities.argmax(axis=1), _fit(vectors, similarities)


def _fit(vectors: np.ndarray, similarities: np.ndarray) -> float:
    norms = np.linalg.norm(vectors, axis=1).clip(1e-12)
    return round(float((similarities.max(axis=1) / norms).mean()), 6) if len(vectors) else 1.0


def _text_rows(offsets: list[int], settings: ShardSettings) -> int:
    """Rows per text and vectors file: `text_rows`, doubled while the lists (`offsets`) would need more
    than `max_row_files` of the two kinds together."""
    rows = settings.text_rows
    while rows < offsets[-1] and 2 * sum(-(-(last - first) // rows) for first, last in zip(offsets, offsets[1:])) \
            > settings.max_row_files:
        rows *= 2
    return rows


def _along_first_axis(vectors: np.ndarray, rows: list[int], text_rows: int) -> list[int]:
    """A list's `rows` ordered along the first principal axis of their vectors (its sign fixed by its
    largest component, so the same vectors give the same order), ties by row: neighbours share files
    of `text_rows` rows. A list that fits one file keeps its order."""
    if len(rows) <= text_rows:
        return list(rows)
    centred = vectors[rows].astype(np.float64) - vectors[rows].astype(np.float64).mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    axis *= np.sign(axis[np.argmax(np.abs(axis))]) or 1.0
    projection = np.round(centred @ axis, 6)
    return [row for _, row in sorted(zip(projection.tolist(), rows))]


def _with_header(header: dict, body: bytes) -> bytes:
    """uint32 header size, the JSON header, spaces to a multiple of 4 bytes, then `body` (FORMAT.md)."""
    data = json.dumps(header, separators=(",", ":")).encode("utf-8")
    data += b" " * ((-(4 + len(data))) % 4)
    return struct.pack("<I", len(data)) + data + body


def _int8_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scales = np.abs(rows).max(axis=1) / 127.0 if len(rows) else np.zeros(0)
    scales[scales == 0] = 1.0
    return scales.astype(np.float32), np.clip(np.rint(rows / scales[:, None]), -127, 127).astype(np.int8)


def _int4_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float32 scale a row and its values in -7..7, two a byte (high half first) as value + 8; an odd
    last column is padded with a zero."""
    scales = np.abs(rows).max(axis=1) / 7.0 if len(rows) else np.zeros(0)
    scales[scales == 0] = 1.0
    values = (np.clip(np.rint(rows / scales[:, None]), -7, 7) + 8).astype(np.uint8)
    if values.shape[1] % 2:
        values = np.concatenate([values, np.full((len(values), 1), 8, dtype=np.uint8)], axis=1)
    return scales.astype(np.float32), (values[:, 0::2] << 4) | values[:, 1::2]


def _write_term_shards(index_dir: Path, postings: dict[str, list[int]], number_of: dict[int, int],
                       settings: ShardSettings, session: BuildSession, previous: Path | None = None,
                       ) -> tuple[list[str], list[str]]:
    """Postings {term: [item number, tf, ...]} in sorted term ranges; the first term of each range
    (the first range starts at "", so every term has one).

    A range starts at a term whose hash is a multiple of K, K the power of two nearest to the terms a
    range of `term_shard_bytes` holds on average: ranges average about that size, and where they end
    depends on the terms alone, so adding or removing a term changes one range, not every range after
    it. A range that reaches four times the size ends anyway."""
    # A term whose postings and whose items' numbers are the session's last build's keeps its entry.
    renumbered_last = session.renumbered_postings
    last = renumbered_last.terms if renumbered_last.number_of == number_of else {}
    renumbered: dict[str, tuple[list[int], list[int], int]] = {}
    entries, sizes = {}, {}
    for term in sorted(postings):
        pairs = postings[term]
        kept = last.get(term)
        if kept is not None and kept[0] == pairs:
            entry, entry_size = kept[1], kept[2]
        else:
            entry = _gaps(sorted((number_of[doc], tf) for doc, tf in zip(pairs[::2], pairs[1::2])))
            entry_size = len(term) + 4 + sum(len(str(value)) + 1 for value in entry)
        entries[term], sizes[term] = entry, entry_size
        renumbered[term] = (pairs, entry, entry_size)
    mean_size = sum(sizes.values()) / max(1, len(sizes))
    spacing = 2 ** max(0, round(math.log2(max(1.0, settings.term_shard_bytes / max(mean_size, 1.0)))))
    firsts, hashes, shard, size = [""], [], {}, 0

    def close():
        path = index_dir / terms_file(firsts[len(hashes)])
        hashes.append(_write(path, previous, session.shard_files.encode(path.name, shard, compact_json)))

    for term, pairs in entries.items():
        if shard and (_term_hash(term) % spacing == 0 or size >= 4 * settings.term_shard_bytes):
            close()
            firsts.append(term)
            shard, size = {}, 0
        shard[term] = pairs
        size += sizes[term]
    close()
    renumbered_last.number_of, renumbered_last.terms = number_of, renumbered
    return firsts, hashes


def _gaps(pairs: list[tuple[int, int]]) -> list[int]:
    """[number, tf, gap, tf, ...] of (item number, tf) pairs in ascending numbers: each number after the
    first as its difference from the one before (FORMAT.md, terms)."""
    flat, previous = [], 0
    for number, tf in pairs:
        flat += [number - previous, tf]
        previous = number
    return flat


@functools.lru_cache(maxsize=1 << 18)
def _term_hash(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "big")


def _write(path: Path, previous: Path | None, data: bytes) -> str:
    """Write `data` to `path`, or hard-link the last build's file of that name (in `previous`) where
    it holds the same bytes: an edit changes a few of a 10,000-question index's ~2,000 shards, and
    a link writes no data. Returns the short checksum the manifest keeps."""
    kept = previous / path.name if previous is not None else None
    try:
        if kept is not None and kept.stat().st_size == len(data) and kept.read_bytes() == data:
            os.link(kept, path)
            return hashlib.sha256(data).hexdigest()[:16]
    except OSError:  # gone, or on another file system: written below
        pass
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()[:16]


# --- reading a sharded index whole (the build's checks, exhaustive search) -------------------

def load_everything(engine: Engine) -> None:
    """Read every shard and search every list (exhaustive search); nothing to do for a whole index."""
    storage = engine.storage
    if isinstance(storage, ShardedIndex):
        storage.probe_all = True
        storage.require(_every_file(storage))


def load_metadata(engine: Engine) -> None:
    """Read every row's metadata and check every list's checksum, without reading the vectors
    (the build's nothing-lost check); nothing to do for a whole index."""
    storage = engine.storage
    if isinstance(storage, ShardedIndex):
        storage.require([list_file(number) for number in range(len(storage.centroids))], vectors=False)
        storage.require([name for name in _every_file(storage) if name.startswith("text-")])


def _every_file(storage: ShardedIndex) -> list[str]:
    """Every shard's name (the text and vectors files' once the lists' headers have named them)."""
    firsts = [row for number in range(len(storage.centroids))
              for row in range(storage.offsets[number], storage.offsets[number + 1], storage.text_rows)]
    return [*storage.hashes, *storage.row_files(firsts, text_file), *storage.row_files(firsts, vectors_file)]
