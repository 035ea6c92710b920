"""Ranking a query against an index: evidence, fusion, calibration and snippets.

The query is normalised and split into words (at most MAX_QUERY_WORDS); a word the bank does
not use is read as two bank words when it splits into them ("nonlinearity" -> "non
linearity"), else corrected to the closest bank word (`Speller`) unless the encoder knows it
as a whole word.

"static" ranks by cosine against the items' static vectors; "bm25" by Okapi BM25; "fused"
adds whole-item and best-passage evidence:
    cosine(item) + p * max cosine(passage of the item) + w * bm25 / (the query's best bm25)
with p and w from the manifest's bm25 "fusion" entry (FUSION_DEFAULTS below). Each hit
carries the passage of its answer that matched best (`snippet`, with `marks`: [start, end)
character spans of the query's words in it) and a calibrated `confidence` (qakb.engine.calibration).

The index is read through `Storage` (qakb.engine.storage), the same for both layouts.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from dataclasses import asdict, dataclass

from qakb.engine.arrays import dot
from qakb.engine.bm25 import bm25_terms, stem, word_terms
from qakb.engine.calibration import CALIBRATION, CUE_LEVELS, NO_MATCH_BELOW, cue_of, probability
from qakb.engine.reader import open_index
from qakb.engine.storage import ShardsMissing, Storage

MAX_QUERY_CHARS = 1000
# A query's words beyond this many add nothing a reader would miss and only cost time.
MAX_QUERY_WORDS = 48
METHODS = ("fused", "static", "bm25")
# fused score = cosine(item) + passage_weight * best passage cosine + bm25_weight * bm25 / best bm25.
# Fitted by scripts/calibrate.py (qakb.fitting: a grid search maximising the fused MRR, averaged over
# the five banks of scripts/eval-banks.yml, on their held-out and dev sets); scripts/search_ablation.py
# measures what each part adds.
FUSION_DEFAULTS = {"bm25_weight": 0.4, "passage_weight": 0.3}
SNIPPET_WORDS = 30
# Words never marked in a snippet nor counted in a query's coverage.
STOPWORDS = frozenset("""a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves""".split())

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Hit:
    id: str
    number: int
    question: str
    topic: str
    topic_title: str
    url: str
    needs_review: bool
    difficulty: str
    score: float
    confidence: float  # calibrated probability that this question answers the query
    cue: str  # CUE_LEVELS' name for that confidence
    close: bool  # whether the bank has a close question for the query at all (same for every hit)
    snippet: str  # the passage of the answer that matched best ("" when the answer has none)
    marks: list[list[int]]  # [start, end) spans of the query's words in the snippet
    passage: int  # which passage of the answer the snippet is (-1: none)


@dataclass
class Evidence:
    """What one query found: the scores every ranking and every hit's details are made of."""
    text: str  # the query as searched: normalised, cut, spelling read against the bank
    terms: list[str]  # its BM25 terms, in order, repeats removed
    marked: list[str]  # the terms BM25 scores, marked and counted: no stopwords (unless it has only those)
    item: dict[int, float]  # static cosine of each row
    passage: dict[int, list[float]]  # static cosine of each passage of each row
    best_passage: dict[int, float]  # the best passage cosine of each row
    bm25: dict[int, float]  # every row the query's terms reach (its best one normalises the fused score)
    rows: range | set[int]  # the rows ranked (`Storage.rows_for`): a sharded index ranks those of the lists it probed


class Engine:
    def __init__(self, storage: Storage):
        self.storage = storage
        self.encoder, self.bm25, self.speller = storage.encoder, storage.bm25, storage.speller
        self.chars = self.encoder.tokenizer.chars
        weights = {**FUSION_DEFAULTS, **storage.manifest.bm25.get("fusion", {})}
        self.bm25_weight, self.passage_weight = weights["bm25_weight"], weights["passage_weight"]
        # The cue's constants; an evaluation puts in those it fitted without the bank it reports on.
        self.calibration, self.no_match_below, self.cue_levels = CALIBRATION, NO_MATCH_BELOW, CUE_LEVELS
        self._documents_of: dict[str, set[int]] = {}
        self._term_of_word: dict[str, str] = {}
        self._passage_terms: dict[int, list[set[str]]] = {}

    @classmethod
    def open(cls, index_dir, content_hash: str | None = None) -> Engine:
        return cls(open_index(index_dir, content_hash))

    @property
    def metadata(self) -> list[dict | None]:
        """Each row's item (a sharded index: None until its texts are read)."""
        return self.storage.metadata

    # -- evidence ---------------------------------------------------------------------------

    def read_query(self, query: str) -> str:
        """The query as it is searched: normalised words, at most MAX_QUERY_WORDS, spelling read."""
        words = self.chars.words(query[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]
        return " ".join(self.speller.fix(word) for word in words)

    def evidence(self, query: str, method: str = "fused", depth: int = 0) -> Evidence | None:
        """None when the query has no word at all (only spaces, controls or punctuation).

        With the storage's `rerank_depth`, the rows ranked are the `rerank_depth` (or `depth`, if more)
        best by the coarse vectors' cosine (counted for the best passage's too) and BM25."""
        text = self.read_query(query)
        # read_query's words are normalised already: splitting on spaces gives them back.
        terms = list(dict.fromkeys(word_terms(text.split(" "), self.chars) if text else []))
        if not terms:
            return None
        marked = [term for term in terms if term not in STOPWORDS] or terms
        self.storage.prepare(text, marked, encode=method != "bm25")
        item, passage, best = {}, {}, {}
        vector = self.encoder.encode(text) if method != "bm25" else None
        bm25 = self.bm25.term_scores(marked) if method != "static" else {}
        rows = self.storage.rows_for(vector, bm25)
        if vector is not None and self.storage.rerank_depth is not None:
            rows = self._rerank_rows(vector, bm25, rows, max(self.storage.rerank_depth, depth), method)
        if vector is not None:
            for row, vector_of_row, passage_vectors in self.storage.vectors_of(rows):
                item[row] = cosine = dot(vector, vector_of_row)
                passage[row] = found = [dot(vector, each) for each in passage_vectors]
                best[row] = max(found) if found else cosine
        return Evidence(text, terms, marked, item, passage, best, bm25, rows)

    def _rerank_rows(self, vector: list[float], bm25: dict[int, float], rows, depth: int, method: str) -> set[int]:
        """The `depth` rows of `rows` with the best coarse fused score, ties by row: item cosine times
        1 + passage weight (the best passage taken as close as the item) plus the weighted BM25."""
        passage_weight, bm25_weight = (self.passage_weight, self.bm25_weight) if method == "fused" else (0.0, 0.0)
        best = max(bm25.values(), default=0.0) or 1.0
        scored = [((1 + passage_weight) * dot(vector, coarse) + bm25_weight * bm25.get(row, 0.0) / best, -row)
                  for row, coarse in self.storage.coarse_vectors(rows)]
        return {-row for _, row in heapq.nlargest(depth, scored)}

    def rank(self, query: str, method: str = "fused") -> list[tuple[int, float]]:
        """(row, score) pairs, best first; rows without any evidence are left out."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        found = self.evidence(query, method)
        return [] if found is None else self.rank_evidence(found, method)

    def rank_evidence(self, found: Evidence, method: str = "fused") -> list[tuple[int, float]]:
        """`rank` of evidence already found: the fitting of the fusion weights and the cue re-ranks it."""
        ranked_rows = found.rows
        if method == "bm25":
            return _best_first({row: score for row, score in found.bm25.items() if row in ranked_rows})
        if method == "static":
            return _best_first(found.item)
        fused = {row: score + self.passage_weight * found.best_passage[row] for row, score in found.item.items()}
        best = max(found.bm25.values(), default=0.0) or 1.0
        for row, score in found.bm25.items():
            if row in ranked_rows:
                fused[row] = fused.get(row, 0.0) + self.bm25_weight * score / best
        return _best_first(fused)

    # -- hits --------------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, method: str = "fused") -> list[Hit]:
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        found = self.evidence(query, method, k)
        if found is None:
            return []
        hits = []
        ranked = self.rank_evidence(found, method)
        close = bool(ranked) and (probability("query", self.features(found, ranked, 0), self.calibration)
                                  >= self.no_match_below)
        texts = self.storage.texts_of([row for row, _ in ranked[:k]])
        for position, ((row, score), (item, passages)) in enumerate(zip(ranked[:k], texts)):
            passage, snippet, marks = self._snippet(found, row, passages)
            confidence = probability("hit", self.features(found, ranked, position), self.calibration)
            hits.append(Hit(id=item["id"], number=item["number"], question=item["question"],
                            topic=item["topic"], topic_title=item["topic_title"], url=item["url"],
                            needs_review=item["needs_review"], difficulty=item.get("difficulty", ""),
                            score=round(score, 6), confidence=round(confidence, 4),
                            cue=cue_of(confidence, self.cue_levels) if close else self.cue_levels[-1][1],
                            close=close, snippet=snippet, marks=marks, passage=passage))
        return hits

    def search_json(self, query: str, k: int = 5, method: str = "fused") -> str:
        return json.dumps([asdict(hit) for hit in self.search(query, k, method)], ensure_ascii=False)

    def search_or_missing_json(self, query: str, k: int = 5, method: str = "fused") -> str:
        """{"hits": [...]} as search_json, or {"missing": {file: checksum, ...}} when shards must be
        fetched first (the checksum versions the file's URL). The browser fetches them into the index
        folder and asks again: each stage of a search (the query's table rows and term postings, then
        the probed lists, then the hits' texts) names what it needs once the previous stage has run."""
        try:
            hits = self.search(query, k, method)
        except ShardsMissing as missing:
            return json.dumps({"missing": missing.checksums})
        return json.dumps({"hits": [asdict(hit) for hit in hits]}, ensure_ascii=False)

    # -- calibration's features --------------------------------------------------------------

    def coverage(self, found: Evidence, row: int) -> float:
        """The idf-weighted share of the query's marked terms that the item's text contains."""
        total = present = 0.0
        for term in found.marked:
            idf = self.bm25.idf.get(term, self.bm25.max_idf)  # a word the bank never uses weighs most
            total += idf
            if row in self._documents(term):
                present += idf
        return present / total if total else 0.0

    def _documents(self, term: str) -> set[int]:
        documents = self._documents_of.get(term)
        if documents is None:
            documents = set(self.bm25.postings.get(term, ())[::2])
            if len(self._documents_of) < 10_000:
                self._documents_of[term] = documents
        return documents

    def features(self, found: Evidence, ranked: list[tuple[int, float]], position: int) -> dict[str, float]:
        """The calibration's inputs for the hit at `position` of `ranked` (see qakb.engine.calibration)."""
        row, score = ranked[position]
        following = ranked[position + 1][1] if position + 1 < len(ranked) else score
        best_bm25 = max(found.bm25.values(), default=0.0)
        unknown = sum(1 for term in found.marked if term not in self.bm25.postings)  # words the bank never uses
        return {"item_cosine": found.item.get(row, 0.0), "passage_cosine": found.best_passage.get(row, 0.0),
                "coverage": self.coverage(found, row), "known": 1.0 - unknown / len(found.marked),
                "unknown": float(unknown), "gap": score - ranked[0][1], "rank": float(position),
                "next_gap": score - following, "bm25_share": found.bm25.get(row, 0.0) / best_bm25 if best_bm25 else 0.0}

    # -- snippets ----------------------------------------------------------------------------

    def _snippet(self, found: Evidence, row: int, texts: list[str]) -> tuple[int, str, list[list[int]]]:
        """The passage of the row's answer (`texts`) that best matches the query, cut to SNIPPET_WORDS, with marks."""
        if not texts:
            return -1, "", []
        marked = set(found.marked)
        total = sum(self.bm25.idf.get(term, 0.0) for term in marked) or 1.0
        terms = self._passage_terms.get(row)
        if terms is None:
            terms = [{self._term(word) for word in _WORD.findall(text)} for text in texts]
            if len(self._passage_terms) < 5_000:
                self._passage_terms[row] = terms
        best, best_score = 0, -math.inf
        for index, text in enumerate(texts):
            cosine = found.passage[row][index] if row in found.passage else 0.0
            weight = sum(self.bm25.idf.get(term, 0.0) for term in marked.intersection(terms[index]))
            score = cosine + self.bm25_weight * weight / total
            if score > best_score:
                best, best_score = index, score
        snippet, marks = self._marked_snippet(texts[best], marked)
        return best, snippet, marks

    def _marked_snippet(self, text: str, marked: set[str]) -> tuple[str, list[list[int]]]:
        words = list(re.finditer(r"\S+", text))
        hits = [i for i, word in enumerate(words) if self._marks_in(word.group(), marked)]
        start = 0
        if len(words) > SNIPPET_WORDS and hits:
            start = max(0, min(hits[0] - SNIPPET_WORDS // 3, len(words) - SNIPPET_WORDS))
        chosen = words[start:start + SNIPPET_WORDS]
        if not chosen:
            return "", []
        prefix = "… " if start > 0 else ""
        snippet = prefix + text[chosen[0].start():chosen[-1].end()] + (" …" if start + SNIPPET_WORDS < len(words) else "")
        offset = len(prefix) - chosen[0].start()
        marks = []
        for word in chosen:
            for span_start, span_end in self._marks_in(word.group(), marked):
                marks.append([word.start() + span_start + offset, word.start() + span_end + offset])
        return snippet, marks

    def _marks_in(self, word: str, marked: set[str]) -> list[tuple[int, int]]:
        """[start, end) spans of the alphanumeric runs of `word` whose BM25 term the query has."""
        return [(run.start(), run.end()) for run in _WORD.finditer(word) if self._term(run.group()) in marked]

    def _term(self, word: str) -> str:
        """The BM25 term of one word of an answer ("" for none), cached: snippets meet the same words often."""
        term = self._term_of_word.get(word)
        if term is None:
            if word.isascii() and word.isalnum():  # what the normaliser does to plain ASCII: lowercase it
                term = stem(word.lower())
            else:
                terms = bm25_terms(word, self.chars)
                term = terms[0] if terms else ""
            if len(self._term_of_word) < 100_000:
                self._term_of_word[word] = term
        return term


def _best_first(scores: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
