"""Okapi BM25 over the bank's words, each cut to a stem.

A whole index gives every posting when it opens; a sharded one gives them by term range as
queries need them (`BM25.sharded`, `add_postings`), naming items by number instead of row.
"""

from __future__ import annotations

import math
from itertools import accumulate

from qakb.engine.tokenizer import CharClasses

BM25_DEFAULTS = {"k1": 1.2, "b": 0.75}
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s")


def stem(word: str) -> str:
    """A tiny suffix stripper: enough to join 'gradients'/'gradient', 'trained'/'training'."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def bm25_terms(text: str, chars: CharClasses) -> list[str]:
    return word_terms(chars.words(text), chars)


def word_terms(words: list[str], chars: CharClasses) -> list[str]:
    """The BM25 terms of words already split by `CharClasses.words`: punctuation dropped, the rest stemmed."""
    return [stem(word) for word in words if chars.kind(word[0]) != "punct"]


class BM25:
    def __init__(self, chars: CharClasses, doc_lengths: list[int], postings: dict[str, list[int]],
                 k1: float, b: float):
        self.chars = chars
        self.k1, self.b = k1, b
        count = len(doc_lengths)
        average = (sum(doc_lengths) / count) if count else 1.0
        self.length_norm = [k1 * (1 - b + b * length / average) for length in doc_lengths]
        self.postings = postings
        self.idf = {term: math.log(1 + (count - len(p) // 2 + 0.5) / (len(p) // 2 + 0.5))
                    for term, p in postings.items()}
        self.max_idf = max(self.idf.values(), default=1.0)

    @classmethod
    def sharded(cls, chars: CharClasses, lengths: list[int], row_of: list[int], max_idf: float, k1: float,
                b: float) -> BM25:
        """Postings arrive by term shard (add_postings), naming items by number (`row_of` gives each
        number's row); the rows' lengths and the bank's highest idf are known up front."""
        bm25 = cls(chars, lengths, {}, k1, b)
        bm25.count, bm25.row_of, bm25.max_idf = len(lengths), row_of, max_idf
        return bm25

    def add_postings(self, postings: dict[str, list[int]]) -> None:
        """Postings of a term shard: {term: [item number, tf, gap, tf, ...]}, each number after the
        first written as its difference from the one before (FORMAT.md)."""
        for term, pairs in postings.items():
            gaps = pairs[::2]
            if any(gap < 1 for gap in gaps[1:]) or (gaps and gaps[0] < 0):
                raise ValueError(f"the postings of {term!r} do not name ascending item numbers")
            rows = [self.row_of[number] for number in accumulate(gaps)]
            if any(row >= self.count for row in rows):
                raise ValueError(f"the postings of {term!r} name an item number with no row")
            self.postings[term] = [value for pair in zip(rows, pairs[1::2]) for value in pair]
            self.idf[term] = math.log(1 + (self.count - len(rows) + 0.5) / (len(rows) + 0.5))

    def scores(self, text: str) -> dict[int, float]:
        return self.term_scores(set(bm25_terms(text, self.chars)))

    def term_scores(self, terms) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in terms:
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = self.idf[term]
            for doc, tf in zip(posting[::2], posting[1::2]):
                gain = idf * tf * (self.k1 + 1) / (tf + self.length_norm[doc])
                scores[doc] = scores.get(doc, 0.0) + gain
        return scores
