"""Related questions: each question's nearest other questions by embedding similarity.

Up to EXACT_UP_TO questions every pair is compared. The result is kept in the build's cache
(`kept`, an .npz of each row's vector digest, neighbours and scores), so a rebuild after an
edit compares only the changed questions with the rest: a row keeps its list, merged with the
changed rows that now beat its last neighbour, unless a member of its list changed or left,
and then it (like every changed row) is compared with every row again. That is the same
result as comparing every pair (up to float rounding of exactly tied scores) in milliseconds
instead of seconds at 10,000 questions.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Collection, Mapping

import numpy as np

# Beyond the guaranteed minimum, a neighbour is only shown when it is this similar.
EXTRA_RELATED_MIN_SIMILARITY = 0.5
# Up to this many questions every pair is compared (a few seconds of BLAS at this size); above
# it an inverted-file index (faiss) compares each question with the few clusters nearest to it,
# so the work grows as n^1.5, not n^2.
EXACT_UP_TO = 20000
ROWS_PER_CHUNK = 1024
PROBED_CLUSTERS = 8
KMEANS_ITERATIONS = 10
SEED = 1234
# Above this share of rows changed or removed, every pair is compared again.
INCREMENTAL_UP_TO = 0.2


def related_questions(vectors: np.ndarray, minimum: int, maximum: int, kept: Path | None = None,
                      left_out: Mapping[int, Collection[int]] | None = None) -> list[list[int]]:
    """For each row, the indexes of `minimum` to `maximum` nearest other rows, nearest first.

    Ties are broken by row order so the result is the same on every build. `kept`: a file
    in the build's cache where the exact neighbours are kept for the next build. `left_out`:
    rows never listed for a row (its near-duplicates, shown apart); the next nearest take their place.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    left_out = left_out or {}
    count = maximum + max((len(rows) for rows in left_out.values()), default=0)
    if len(vectors) <= EXACT_UP_TO:
        neighbours = exact_neighbours(vectors, count, kept)
    else:
        neighbours = clustered_neighbours(vectors, count)
    related = []
    for row, (order, scores) in enumerate(neighbours):
        if row in left_out:
            kept_pairs = [(column, score) for column, score in zip(order, scores)
                          if column not in left_out[row]][:maximum]
            order, scores = [column for column, _ in kept_pairs], [score for _, score in kept_pairs]
        else:
            order, scores = order[:maximum], scores[:maximum]
        related.append(order[:minimum] + [column for column, score in zip(order[minimum:], scores[minimum:])
                                          if score >= EXTRA_RELATED_MIN_SIMILARITY])
    return related


def _ranked(columns: np.ndarray, scores: np.ndarray, count: int) -> tuple[list[int], list[float]]:
    """The `count` best (column, score) pairs: highest score first, then lowest column."""
    finite = np.isfinite(scores)
    columns, scores = columns[finite], scores[finite]
    order = np.lexsort((columns, -scores))[:count]
    return columns[order].tolist(), scores[order].tolist()


def exact_neighbours(vectors: np.ndarray, count: int, kept: Path | None = None) -> list[tuple[list[int], list[float]]]:
    """Every row against every other, or, with the last build's result in `kept`, the changed rows
    against every row (see the module's docstring)."""
    count = min(count, len(vectors) - 1)
    if count <= 0:
        return [([], []) for _ in vectors]
    digests = np.array([hashlib.sha256(row.tobytes()).digest() for row in vectors], dtype="S32")
    updated = _updated_neighbours(vectors, digests, count, kept) if kept is not None else None
    columns, scores = updated if updated is not None else _rows_neighbours(vectors, np.arange(len(vectors)), count)
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{kept.stem}.{os.getpid()}.partial.npz")
        np.savez(partial, digests=digests, columns=columns, scores=scores)
        partial.replace(kept)
    return [(row_columns.tolist(), row_scores.tolist()) for row_columns, row_scores in zip(columns, scores)]


def _rows_neighbours(vectors: np.ndarray, rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The `count` nearest other rows of each of `rows` (columns, scores), a block of rows at a time
    (memory stays n x block)."""
    columns = np.empty((len(rows), count), dtype=np.int64)
    scores = np.empty((len(rows), count), dtype=np.float32)
    for first in range(0, len(rows), ROWS_PER_CHUNK):
        block = rows[first:first + ROWS_PER_CHUNK]
        similarity = vectors[block] @ vectors.T
        for offset, (row, scored) in enumerate(zip(block, similarity)):
            scored[row] = -np.inf
            # Everything at least as similar as the count-th best, ties included, then an exact order.
            threshold = np.partition(scored, len(scored) - count)[len(scored) - count]
            candidates = np.flatnonzero(scored >= threshold)
            found, found_scores = _ranked(candidates, scored[candidates], count)
            columns[first + offset], scores[first + offset] = found, found_scores
    return columns, scores


def _updated_neighbours(vectors: np.ndarray, digests: np.ndarray, count: int,
                        kept: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The last build's neighbours (in `kept`) brought up to date, or None where comparing every
    pair is needed: nothing kept, another count, duplicate vectors, rows reordered, or many changed."""
    try:
        with np.load(kept) as last:
            last_digests, last_columns, last_scores = last["digests"], last["columns"], last["scores"]
    except (OSError, ValueError, KeyError):
        return None
    row_of = {digest: row for row, digest in enumerate(digests.tolist())}
    last_row_of = {digest: row for row, digest in enumerate(last_digests.tolist())}
    if last_columns.shape[1:] != (count,) or len(row_of) != len(digests) or len(last_row_of) != len(last_digests):
        return None
    now_row = np.array([row_of.get(digest, -1) for digest in last_digests.tolist()], dtype=np.int64)
    staying = now_row >= 0
    changed = np.array([row for row, digest in enumerate(digests.tolist()) if digest not in last_row_of],
                       dtype=np.int64)
    # Ties are broken by row order: the rows that stay must keep theirs.
    if np.any(np.diff(now_row[staying]) <= 0) or \
            len(changed) + np.count_nonzero(~staying) > INCREMENTAL_UP_TO * len(digests):
        return None
    listed = now_row[last_columns]  # the last lists in this build's rows; -1: changed or gone
    whole = staying & (listed < 0).any(axis=1)  # rows that lost a neighbour: compared with every row
    merged = np.flatnonzero(staying & ~whole)  # the last build's rows whose lists only take new members
    columns = np.empty((len(vectors), count), dtype=np.int64)
    scores = np.empty((len(vectors), count), dtype=np.float32)
    if len(merged):
        rows = now_row[merged]
        candidates = listed[merged]
        candidate_scores = last_scores[merged]
        if len(changed):
            cross = (vectors[changed] @ vectors[rows].T).T  # rows x changed
            candidates = np.concatenate([candidates, np.broadcast_to(changed, (len(rows), len(changed)))], axis=1)
            candidate_scores = np.concatenate([candidate_scores, cross], axis=1)
        order = np.lexsort((candidates, -candidate_scores), axis=-1)[:, :count]
        columns[rows] = np.take_along_axis(candidates, order, axis=1)
        scores[rows] = np.take_along_axis(candidate_scores, order, axis=1)
    again = np.concatenate([changed, now_row[whole]]).astype(np.int64)
    if len(again):
        columns[again], scores[again] = _rows_neighbours(vectors, again, count)
    return columns, scores


def clustered_neighbours(vectors: np.ndarray, count: int) -> list[tuple[list[int], list[float]]]:
    """Approximate neighbours from faiss's IndexIVFFlat: k-means cells (seeded), the nearest
    PROBED_CLUSTERS cells searched exhaustively."""
    import faiss

    rows, dim = vectors.shape
    cells = max(1, int(np.sqrt(rows)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, cells, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = SEED
    index.cp.niter = KMEANS_ITERATIONS
    index.train(vectors)
    index.add(vectors)
    index.nprobe = PROBED_CLUSTERS
    found = []
    for first in range(0, rows, ROWS_PER_CHUNK):
        scores, columns = index.search(vectors[first:first + ROWS_PER_CHUNK], count + 1)
        for offset, (row_scores, row_columns) in enumerate(zip(scores, columns)):
            keep = (row_columns >= 0) & (row_columns != first + offset)
            found.append(_ranked(row_columns[keep], row_scores[keep], count))
    return found
