"""Related questions: nearest other rows, ties in row order; the clustered path for big banks agrees."""

from __future__ import annotations

import numpy as np

from qakb import related
from qakb.related import EXTRA_RELATED_MIN_SIMILARITY, related_questions


def reference(vectors: np.ndarray, minimum: int, maximum: int) -> list[list[int]]:
    """Every row sorted by (-similarity, column), in plain Python."""
    similarity = vectors @ vectors.T
    found = []
    for row_index, row in enumerate(similarity):
        order = sorted((column for column in range(len(row)) if column != row_index),
                       key=lambda column: (-row[column], column))[:maximum]
        found.append(order[:minimum] + [c for c in order[minimum:] if row[c] >= EXTRA_RELATED_MIN_SIMILARITY])
    return found


def unit_rows(rows: int, dims: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_nearest_rows_with_ties_broken_by_row_order(monkeypatch):
    monkeypatch.setattr(related, "ROWS_PER_CHUNK", 64)  # several blocks
    # Small whole numbers: every dot product is exact in float32 whatever order BLAS sums in,
    # so duplicated rows tie exactly and many other pairs tie too.
    vectors = np.random.default_rng(3).integers(-2, 3, (150, 8)).astype(np.float32)
    vectors[100:] = vectors[:50]
    assert related_questions(vectors, 3, 5) == reference(vectors, 3, 5)
    assert related_questions(vectors[:1], 3, 5) == [[]]
    assert related_questions(vectors[:3], 3, 5) == reference(vectors[:3], 3, 5)


def test_the_clustered_path_finds_nearly_the_same_neighbours(monkeypatch):
    centres = unit_rows(40, 32, seed=1)
    rng = np.random.default_rng(2)
    vectors = centres[rng.integers(0, 40, 3000)] + 0.15 * rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = related_questions(vectors, 5, 5)
    monkeypatch.setattr(related, "EXACT_UP_TO", 0)
    clustered = related_questions(vectors, 5, 5)
    assert clustered == related_questions(vectors, 5, 5), "the same on every build"
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(clustered, exact)])
    assert overlap >= 0.9
    assert all(row not in found for row, found in enumerate(clustered))
