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


def test_a_rebuild_updates_the_kept_neighbours_to_what_comparing_every_pair_gives(monkeypatch, tmp_path):
    """Edits, insertions and deletions: the kept lists brought up to date equal a fresh comparison.
    Small whole numbers make every dot product exact, so ties (many) must be broken the same way."""
    monkeypatch.setattr(related, "ROWS_PER_CHUNK", 64)
    kept = tmp_path / "related.npz"
    rng = np.random.default_rng(5)
    vectors = rng.integers(-2, 3, (300, 8)).astype(np.float32)
    compared = []
    real_rows = related._rows_neighbours
    monkeypatch.setattr(related, "_rows_neighbours",
                        lambda v, rows, count: compared.append(len(rows)) or real_rows(v, rows, count))
    assert related_questions(vectors, 3, 6, kept=kept) == reference(vectors, 3, 6)
    assert compared == [300]
    for step in range(6):
        compared.clear()
        edited = vectors.copy()
        edited[rng.integers(0, 300, 2)] = rng.integers(-2, 3, (2, 8))  # two answers edited
        if step % 3 == 1:
            edited = np.insert(edited, 150, rng.integers(-2, 3, 8), axis=0)  # a question added
        if step % 3 == 2:
            edited = np.delete(edited, 40, axis=0)  # one removed
        while len(np.unique(edited, axis=0)) < len(edited):  # no duplicate rows (they force a full pass)
            edited[rng.integers(0, len(edited))] = rng.integers(-2, 3, 8)
        vectors = edited
        assert related_questions(vectors, 3, 6, kept=kept) == reference(vectors, 3, 6), step
        assert sum(compared) < 60, "only the changed rows and the rows that lost a neighbour"


def test_the_kept_neighbours_are_not_used_where_they_cannot_be(tmp_path):
    kept = tmp_path / "related.npz"
    vectors = unit_rows(200, 16, seed=7)
    related_questions(vectors, 3, 5, kept=kept)
    for changed in (vectors[::-1].copy(),  # rows reordered: ties would break another way
                    unit_rows(200, 16, seed=8),  # everything changed
                    np.concatenate([vectors[:100], vectors[:100]])):  # duplicates
        assert related_questions(changed, 3, 5, kept=kept) == reference(changed, 3, 5)
    assert related_questions(vectors, 2, 4, kept=kept) == reference(vectors, 2, 4)  # another count
    kept.write_bytes(b"not a kept file")
    assert related_questions(vectors, 3, 5, kept=kept) == reference(vectors, 3, 5)
