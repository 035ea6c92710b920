"""Related questions: each question's nearest other questions by embedding similarity."""

from __future__ import annotations

import numpy as np

# Beyond the guaranteed minimum, a neighbour is only shown when it is this similar.
EXTRA_RELATED_MIN_SIMILARITY = 0.5


def related_questions(vectors: np.ndarray, minimum: int, maximum: int) -> list[list[int]]:
    """For each row, the indexes of `minimum` to `maximum` nearest other rows, nearest first.

    Ties are broken by row order so the result is the same on every build.
    """
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    related = []
    for row in similarity:
        order = sorted(range(len(row)), key=lambda column: (-row[column], column))[:maximum]
        order = [column for column in order if np.isfinite(row[column])]
        keep = order[:minimum] + [c for c in order[minimum:] if row[c] >= EXTRA_RELATED_MIN_SIMILARITY]
        related.append(keep)
    return related
