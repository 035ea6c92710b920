"""Near-duplicate questions: two items, in one bank file or in two, that ask the same question.

Banks merged from several authors ask many questions twice in other words ("What are
Higher-Order components?" / "What is a higher order component?"). Two questions are the same
when their question texts (not their answers, which differ between authors) are at least
`NEAR_DUPLICATE_MIN_COSINE` apart by the transformer's cosine, or have the same text.

Three exceptions, where the transformer's cosine is known to mislead (`identified_together`):

- a question whose text points at material shown with it ("What will be the output of the
  following code?", "Explain this code") is not identified by its text: such a pair is the same
  question only where that material (the item's prompt, else the first fenced code block of its
  answer) is the same too. FAQGURU's javascript.md asks "What will be the output of the following
  code?" five times over five different programs;
- texts of which one is negated and the other not ("When should we use Node.js?" / "When to not
  use Node.js?", cosine 0.95) are not the same question;
- nor texts with different numbers ("error boundaries in React 15" / "... 16", cosine 0.92).

The threshold was measured on hand-labelled pairs of real banks (`scripts/near_duplicates.py`,
labels in `scripts/near-duplicate-labels.yml`; the README gives the table).

Every pair is compared: a numpy matrix product a block of rows at a time, each row against
itself and the rows after it (10,000 questions: ~0.4 s, memory n x block).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from qakb.bank import Question

# Chosen on 283 hand-labelled pairs of FAQGURU's 31 files and of two React banks merged (every pair
# above 0.87, a weighed sample below): precision 0.92 (0.90 at 0.905, 0.90 at 0.90), recall 0.55 of
# the same-question pairs above 0.75 (`scripts/near_duplicates.py` prints the table).
NEAR_DUPLICATE_MIN_COSINE = 0.91
ROWS_PER_BLOCK = 1024

# Question texts that point at something shown with them rather than say what they ask.
_POINTING = re.compile(
    r"\b(?:following|below|above)\b"
    r"|\b(?:this|these|that)\s+(?:piece\s+of\s+)?(?:code|lines?|snippets?|programs?|query|queries|examples?)\b"
    r"|\bdo\s+this\W*$",
    re.IGNORECASE)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_NEGATION = re.compile(r"\b(?:not|no|never|without|cannot)\b|n[’']t\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)*")


@dataclass(frozen=True)
class Pair:
    """Two questions that ask the same thing: `first` comes before `second` in the bank."""
    first: str  # anchor
    second: str  # anchor
    cosine: float


def same_text_key(text: str) -> str:
    """What two question texts must share to be the same text: case and spacing aside."""
    return " ".join(text.casefold().split())


def points_at_shown(text: str) -> bool:
    """Whether a question's text refers to material shown with it ("the following code", "this code")."""
    return bool(_POINTING.search(text))


def shown_material(question: Question) -> str:
    """What a pointing question points at: its prompt, else the first fenced code block of its answer
    (whitespace-normalised); '' if it has neither."""
    if question.prompt_lines:
        return " ".join(" ".join(question.prompt_lines).split())
    block: list[str] = []
    fence = ""
    for line in question.answer_lines:
        opening = _FENCE.match(line)
        if not fence:
            if opening:
                fence = opening.group(1)
            continue
        if opening and line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
            break
        block.append(line)
    return " ".join(" ".join(block).split())


def point_at_different_material(first: Question, second: Question) -> bool:
    """Either text points at shown material, and that material differs or is missing."""
    if not (points_at_shown(first.question) or points_at_shown(second.question)):
        return False
    material = shown_material(first)
    return not material or material != shown_material(second)


def differ_in_negation(first: Question, second: Question) -> bool:
    return bool(_NEGATION.search(first.question)) != bool(_NEGATION.search(second.question))


def differ_in_numbers(first: Question, second: Question) -> bool:
    return sorted(_NUMBER.findall(first.question)) != sorted(_NUMBER.findall(second.question))


# Why two questions whose texts are close may still be two questions (see the module's docstring).
TOLD_APART_BY = (point_at_different_material, differ_in_negation, differ_in_numbers)


def identified_together(first: Question, second: Question) -> bool:
    """Whether two questions may be one by their texts: none of `TOLD_APART_BY` tells them apart."""
    return not any(told_apart(first, second) for told_apart in TOLD_APART_BY)


def similar_pairs(vectors: np.ndarray, threshold: float,
                  rows_per_block: int = ROWS_PER_BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (row, column, cosine) with row < column and cosine >= threshold, by row then column.

    `vectors` are L2-normalised; a block of rows is multiplied with the rows from its first on."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    rows_found, columns_found, scores_found = [], [], []
    for first in range(0, len(vectors), rows_per_block):
        block = vectors[first:first + rows_per_block]
        similarity = block @ vectors[first:].T  # rows of the block x columns from `first`
        rows, columns = np.nonzero(similarity >= threshold)
        upper = columns > rows  # each pair once, not a row with itself
        rows, columns = rows[upper], columns[upper]
        rows_found.append(rows + first)
        columns_found.append(columns + first)
        scores_found.append(similarity[rows, columns])
    if not rows_found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    rows, columns, scores = (np.concatenate(found) for found in (rows_found, columns_found, scores_found))
    order = np.lexsort((columns, rows))
    return rows[order].astype(np.int64), columns[order].astype(np.int64), scores[order]


def near_duplicates(questions: Sequence[Question], question_vectors: np.ndarray,
                    threshold: float = NEAR_DUPLICATE_MIN_COSINE) -> list[Pair]:
    """Every pair of questions that ask the same thing, in bank order: question-text vectors (row-aligned
    with `questions`, L2-normalised) at least `threshold` apart by cosine, or the same text; not a
    pair that points at different material (`identified_together`). A question with several
    near-duplicates is in a pair with each."""
    if len(questions) != len(question_vectors):
        raise ValueError(f"{len(questions)} questions but {len(question_vectors)} vectors")
    vectors = np.ascontiguousarray(question_vectors, dtype=np.float32)
    rows, columns, scores = similar_pairs(vectors, threshold)
    found = {(int(row), int(column)): float(score) for row, column, score in zip(rows, columns, scores)}
    by_text: dict[str, list[int]] = {}
    for index, question in enumerate(questions):
        by_text.setdefault(same_text_key(question.question), []).append(index)
    for indexes in by_text.values():
        for position, row in enumerate(indexes):
            for column in indexes[position + 1:]:
                found.setdefault((row, column), float(vectors[row] @ vectors[column]))
    return [Pair(questions[row].anchor, questions[column].anchor, round(score, 4))
            for (row, column), score in sorted(found.items())
            if identified_together(questions[row], questions[column])]


def also_asked(questions: Sequence[Question], pairs: list[Pair]) -> dict[str, list[Question]]:
    """Each question's near-duplicates (by anchor), in bank order; questions without any are left out."""
    by_anchor = {question.anchor: question for question in questions}
    position = {question.anchor: index for index, question in enumerate(questions)}
    others: dict[str, list[str]] = {}
    for pair in pairs:
        others.setdefault(pair.first, []).append(pair.second)
        others.setdefault(pair.second, []).append(pair.first)
    return {anchor: [by_anchor[other] for other in sorted(set(listed), key=position.__getitem__)]
            for anchor, listed in others.items()}


def question_texts(questions: Sequence[Question]) -> list[str]:
    """What is embedded to compare questions: each question's text alone."""
    return [question.question for question in questions]
