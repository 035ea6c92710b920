"""Related questions: each question's nearest other questions by embedding similarity."""

from __future__ import annotations

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


def related_questions(vectors: np.ndarray, minimum: int, maximum: int) -> list[list[int]]:
    """For each row, the indexes of `minimum` to `maximum` nearest other rows, nearest first.

    Ties are broken by row order so the result is the same on every build.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) <= EXACT_UP_TO:
        neighbours = exact_neighbours(vectors, maximum)
    else:
        neighbours = clustered_neighbours(vectors, maximum)
    return [order[:minimum] + [column for column, score in zip(order[minimum:], scores[minimum:])
                               if score >= EXTRA_RELATED_MIN_SIMILARITY]
            for order, scores in neighbours]


def _ranked(columns: np.ndarray, scores: np.ndarray, count: int) -> tuple[list[int], list[float]]:
    """The `count` best (column, score) pairs: highest score first, then lowest column."""
    finite = np.isfinite(scores)
    columns, scores = columns[finite], scores[finite]
    order = np.lexsort((columns, -scores))[:count]
    return columns[order].tolist(), scores[order].tolist()


def exact_neighbours(vectors: np.ndarray, count: int) -> list[tuple[list[int], list[float]]]:
    """Every row against every other, a block of rows at a time (memory stays n x block)."""
    found = []
    count = min(count, len(vectors) - 1)
    for first in range(0, len(vectors), ROWS_PER_CHUNK):
        similarity = vectors[first:first + ROWS_PER_CHUNK] @ vectors.T
        for offset, row in enumerate(similarity):
            row[first + offset] = -np.inf
            if count <= 0:
                found.append(([], []))
                continue
            # Everything at least as similar as the count-th best, ties included, then an exact order.
            threshold = np.partition(row, len(row) - count)[len(row) - count]
            candidates = np.flatnonzero(row >= threshold)
            found.append(_ranked(candidates, row[candidates], count))
    return found


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
