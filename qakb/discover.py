"""Topics found in the questions themselves, for a bank with neither topics.yml nor sections.

Two steps, both deterministic for the same input:

- **Clustering**: the document vectors are reduced to their first 5 principal
  components and L2-normalised (BERTopic reduces to 5 dimensions too, with UMAP),
  then clustered with k-means for every k from 2 to ``min(30, n // min_size)``,
  where a topic's minimum size is 3 questions or 1% of the bank. A smaller
  cluster is dissolved into the nearest remaining ones, so no topic page holds one
  or two stray questions. The k kept is the one whose clustering has the highest
  mean silhouette (cosine, in the reduced space); ties go to the smaller k. In the
  full 384 dimensions the silhouette of these embeddings keeps rising with k and
  picks nearly the largest k allowed, far from the banks' own sections; in 5 it
  peaks at a moderate k and agrees better with them (scripts/topic_agreement.py
  measures both). k-means rather than Ward's agglomerative clustering: it agreed
  better with the reference topics on three of the four banks measured, and its memory is
  linear in the number of questions where Ward's is quadratic. 10k questions take
  about 15 s and 330 MB.
- **Naming**: class-based TF-IDF as BERTopic computes it (with its
  ``reduce_frequent_words``): all the texts of a topic are one document, a term's
  weight is the square root of its frequency in that document times
  log(1 + average words per topic / the term's count over all topics), so a term
  ranks high when it is frequent in one topic and rare in the others. Terms are
  words and phrases of up to three words that cross no punctuation and no stop
  word, plurals folded into their singular. BERTopic itself is not used: it
  requires umap-learn (numba, llvmlite), hdbscan, pandas and plotly, and HDBSCAN
  leaves "outlier" questions outside every topic, where each question needs one;
  the part used here is a few lines over term counts a session keeps from build to
  build (`_Corpus`, `qakb.session.BuildSession.topic_corpus`).
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

if TYPE_CHECKING:
    from qakb.session import BuildSession

MAX_TOPICS = 30
# Each topic holds at least this many questions (and at least 1% of the bank).
MIN_TOPIC_SIZE = 3
# Principal components the vectors are reduced to before clustering.
CLUSTERING_DIMENSIONS = 5
# Silhouette over a fixed random sample beyond this many questions: the exact score is O(n^2) time.
SILHOUETTE_SAMPLE = 3000
LARGE_BANK = 2000
RANDOM_STATE = 0
# Terms are words and phrases of up to this many words.
MAX_TERM_WORDS = 3
# A longer phrase stands for a chosen part of it when it has this share of the part's weight.
WHOLE_PHRASE_SHARE = 0.8

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
# Terms never span these: a phrase like "networks. Dropout" is not a term.
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”<>|=/\\*#`~\n]+|\s[-–—]\s")
_FENCED_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL_OR_TAG = re.compile(r"https?://\S+|<[^>]*>|\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
# Words that say how a question is asked rather than what it is about.
_FILLER_WORDS = frozenset("""
    use used uses using usually way ways example examples eg ie etc work works working does doing like also
    based new non different difference differences mean means meaning called given important help helps make
    makes need needs good better best type types kind kinds number lot lots set sets case cases question
    questions answer answers let thing things just want really yes technique techniques method methods
    approach approaches problem problems process explain describe define tell give compare know deal
""".split())


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # one cluster number per question, numbered in order of first question
    k: int
    silhouette: float
    silhouette_by_k: dict[int, float]


def prose(text: str) -> str:
    """The words of a Markdown text worth naming a topic by: no code blocks, URLs, tags or math."""
    text = _FENCED_CODE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    return _URL_OR_TAG.sub(" ", text)


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS | _FILLER_WORDS


def _first_appearance_order(labels: np.ndarray) -> np.ndarray:
    order = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=np.int64)


def _dissolve_small(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Move the members of clusters below `min_size` to the nearest remaining cluster, smallest first."""
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= 1 or counts.min() >= min_size:
            return labels
        smallest = ids[np.argmin(counts)]
        kept = ids[ids != smallest]
        centroids = _unit_rows(np.stack([vectors[labels == cluster].mean(axis=0) for cluster in kept]))
        members = labels == smallest
        labels[members] = kept[np.argmax(vectors[members] @ centroids.T, axis=1)]


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def reduce_dimensions(vectors: np.ndarray, dimensions: int | None = CLUSTERING_DIMENSIONS) -> np.ndarray:
    """The vectors' first principal components (all of them if `dimensions` is None), rows L2-normalised."""
    from sklearn.decomposition import PCA

    unit = _unit_rows(np.asarray(vectors, dtype=np.float64))
    if dimensions is None:
        return unit
    kept = min(dimensions, len(unit) - 1, unit.shape[1])
    return _unit_rows(PCA(n_components=kept, svd_solver="full").fit_transform(unit))


def kmeans_partition(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    # Restarts cost time linearly (10k questions: ~0.2 s each per k); a large bank needs fewer.
    restarts = 10 if len(points) <= LARGE_BANK else 3
    return KMeans(n_clusters=k, n_init=restarts, random_state=RANDOM_STATE).fit_predict(points)


def cluster(
    vectors: np.ndarray,
    max_topics: int = MAX_TOPICS,
    min_topic_size: int | None = None,
    dimensions: int | None = CLUSTERING_DIMENSIONS,
    partition: Callable[[np.ndarray, int], np.ndarray] = kmeans_partition,
) -> Clustering:
    """Group the questions by their vectors, choosing the number of groups by silhouette.

    `dimensions` and `partition` exist to measure alternatives (scripts/topic_agreement.py).
    """
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    min_size = min_topic_size or max(MIN_TOPIC_SIZE, math.ceil(n / 100))
    largest_k = min(max_topics, n // min_size)
    single = Clustering(labels=np.zeros(n, dtype=np.int64), k=1, silhouette=0.0, silhouette_by_k={})
    if largest_k < 2:
        return single
    points = reduce_dimensions(vectors, dimensions)
    sample = SILHOUETTE_SAMPLE if n > SILHOUETTE_SAMPLE else None
    best: tuple[float, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(2, largest_k + 1):
        labels = _dissolve_small(points, partition(points, k), min_size)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(points, labels, metric="cosine", sample_size=sample,
                                           random_state=RANDOM_STATE))
        if best is None or scores[k] > best[0]:
            best = (scores[k], labels)
    if best is None:
        return replace(single, silhouette_by_k=scores)
    labels = _first_appearance_order(best[1])
    return Clustering(labels=labels, k=int(labels.max()) + 1, silhouette=best[0], silhouette_by_k=scores)


def _title_case(phrase: list[str]) -> bool:
    long_words = [word for word in phrase if len(word) > 3]
    capitals = sum(word[0].isupper() for word in long_words)
    return capitals >= 2 and capitals >= 0.6 * len(long_words)


@functools.lru_cache(maxsize=1 << 17)
def _phrases_of(text: str) -> tuple[tuple[str, ...], ...]:
    """A text's phrases (its runs of words between punctuation), quotes and dashes cut off each word.

    Kept for the process: `qakb serve --watch` names the topics again after every edit, from
    texts that are nearly all the ones it read before (half of naming 10,000 questions' topics)."""
    return tuple(tuple(sys.intern(word.strip("'’-")) for word in _WORD.findall(phrase))
                 for phrase in _PHRASE_BREAK.split(prose(text)))


class _Corpus:
    """The counts class-based TF-IDF needs, for a multiset of (text, label) entries, kept up to date
    as entries come and go: each text's terms, how many texts hold each term, each label's term
    counts, and the spellings seen of each word (words and short phrases, plurals folded, with the
    spelling most used for each).

    `qakb serve --watch` names the topics again after every edit, from texts nearly all of which
    it counted before: `_corpus_for` takes the last build's corpus and changes only the entries
    that changed (0.1 s instead of 2 s at 10,000 questions). The counts are the same as a fresh
    corpus's; where an edit changes how a plural folds (it adds or removes a word whose plural the
    corpus holds), the corpus is counted afresh."""

    def __init__(self):
        self.stop = _stop_words()
        self.entries: Counter[tuple[str, int]] = Counter()
        self.lowered: Counter[str] = Counter()  # every phrase word, lowercased
        self._keys: dict[str, str] = {}
        self._terms: dict[str, list[str]] = {}  # text -> its terms, while the text is an entry
        self.texts_with: Counter[str] = Counter()
        self.by_label: defaultdict[int, Counter] = defaultdict(Counter)
        self.totals: Counter[str] = Counter()  # each term's count over all labels
        # Spellings are counted inside phrases, where a capital means a name ("ReLU", "Adam");
        # at a phrase's start or in a Title Case Question only as a fallback.
        self.spellings: defaultdict[str, Counter] = defaultdict(Counter)
        self.initial_spellings: defaultdict[str, Counter] = defaultdict(Counter)

    def update(self, entries: Counter) -> bool:
        """Make the corpus hold exactly `entries` ((text, label) -> count); False where a fresh corpus
        is needed (a plural would fold differently) or quicker (most entries changed), which the
        caller then makes."""
        gone, new = self.entries - entries, entries - self.entries
        if len(gone) + len(new) > len(entries):  # another bank, nearly: counting afresh is quicker
            return False
        lowered_before = set(self.lowered)
        for (text, _), count in gone.items():
            self._count_words(text, -count)
        for (text, _), count in new.items():
            self._count_words(text, count)
        for word in lowered_before.symmetric_difference(self.lowered) if lowered_before else ():
            if word + "s" in self.lowered or word + "es" in self.lowered or \
                    word + "s" in lowered_before or word + "es" in lowered_before:
                return False
            self._keys = {}  # a word came or went: keys are looked up again (folds are unchanged)
        for (text, label), count in gone.items():
            self._count_terms(text, label, -count)
        for (text, label), count in new.items():
            self._count_terms(text, label, count)
        self.entries = entries
        kept_texts = {text for text, _ in entries}
        for text, _ in gone:
            if text not in kept_texts:
                self._terms.pop(text, None)
        return True

    def _count_words(self, text: str, sign: int) -> None:
        _count(self.lowered, [word.lower() for phrase in _phrases_of(text) for word in phrase], sign)

    def _count_terms(self, text: str, label: int, sign: int) -> None:
        terms = self._terms.get(text)
        if terms is None:
            terms = self._terms[text] = self._of_text(text)
        for phrase in _phrases_of(text):
            title_case = _title_case(phrase)
            for position, word in enumerate(phrase):
                spellings = self.spellings if position and not title_case else self.initial_spellings
                word_key = self.key(word)
                _count(spellings[word_key], [word], sign)
                if not spellings[word_key]:
                    del spellings[word_key]
        _count(self.texts_with, set(terms), sign)
        _count(self.by_label[label], terms, sign)
        _count(self.totals, terms, sign)

    def key(self, word: str) -> str:
        """The word lowercased, a plural folded into its singular when the corpus has that too."""
        if word not in self._keys:
            self._keys[word] = self._singular(word.lower())
        return self._keys[word]

    def _singular(self, word: str) -> str:
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            for singular in (word[:-1], word[:-2] if word.endswith("es") else ""):
                if singular in self.lowered:
                    return singular
        return word

    def _useful(self, key: str) -> bool:
        return len(key) > 1 and key not in self.stop

    def _of_text(self, text: str) -> list[str]:
        """The text's terms: every run of 1 to MAX_TERM_WORDS useful keys inside a phrase (in no
        particular order: they are counted)."""
        terms, key = [], self.key
        for phrase in _phrases_of(text):
            run: list[str] = []
            for word in (*phrase, None):
                word_key = None if word is None else key(word)
                if word_key is not None and self._useful(word_key):
                    run.append(word_key)
                    continue
                terms += run
                for length in range(2, min(MAX_TERM_WORDS, len(run)) + 1):
                    terms += (" ".join(run[start:start + length]) for start in range(len(run) - length + 1))
                run = []
        return terms

    def counted(self, term: str) -> bool:
        """A phrase seen in one text only is that text's wording, not its topic's."""
        return " " not in term or self.texts_with[term] > 1

    def shown(self, term: str) -> str:
        return " ".join(self._spelling(key) for key in term.split())

    def _spelling(self, key: str) -> str:
        if key in self.spellings:
            return max(self.spellings[key].items(), key=lambda item: (item[1], item[0].islower(), item[0]))[0]
        # Seen only where a sentence may begin: "Padding" is a word, "ReLU" and "LSTM" are names.
        word = max(self.initial_spellings[key].items(), key=lambda item: (item[1], item[0]))[0]
        return word.lower() if word[1:].islower() or len(word) == 1 else word


def _count(counts: Counter, keys, times: int) -> None:
    """Count each of `keys` `times` more (fewer, if negative) in `counts`, leaving no key at zero."""
    if times == 1:
        counts.update(keys)
        return
    for key in keys:
        value = counts.get(key, 0) + times
        if value:
            counts[key] = value
        else:
            del counts[key]


def _corpus_for(texts: list[str], labels: list[int], last: _Corpus | None) -> _Corpus:
    """The corpus of these entries: `last` (the last build's) brought up to date where it can be."""
    entries = Counter(zip(texts, labels))
    corpus = last if last is not None else _Corpus()
    if not corpus.update(entries):
        corpus = _Corpus()
        corpus.update(entries)
    return corpus


def characteristic_terms(texts: list[str], labels: list[int] | np.ndarray, top: int = 8,
                         session: BuildSession | None = None) -> list[list[str]]:
    """For each label 0..k-1, its `top` terms by class-based TF-IDF, most characteristic first.

    `session`: the term counts are taken from its last build's and left there for its next.

    A term inside a chosen one is skipped ("gradient" after "gradient descent"); a
    phrase replaces a chosen part of it only when it carries nearly all of that part's
    weight ("recurrent neural network" for "recurrent neural", but not "stochastic
    gradient descent" for "gradient descent").
    """
    labels = [int(label) for label in labels]
    classes = max(labels) + 1
    corpus = _corpus_for(texts, labels, session.topic_corpus if session is not None else None)
    if session is not None:
        session.topic_corpus = corpus
    totals = {term: count for term, count in corpus.totals.items() if corpus.counted(term)}
    average_words = float(sum(totals.values())) / classes
    result = []
    for label in range(classes):
        terms = [term for term in corpus.by_label.get(label, {}) if term in totals]
        counts = np.array([corpus.by_label[label][term] for term in terms], dtype=np.float64)
        everywhere = np.array([totals[term] for term in terms], dtype=np.float64)
        weights = np.sqrt(counts / max(float(counts.sum()), 1.0)) * np.log1p(average_words / everywhere)
        names = np.array(terms, dtype=str)
        order = np.lexsort((names, -weights))
        ranked = ((terms[entry], weights[entry]) for entry in order)
        result.append([corpus.shown(term) for term in _top_terms(ranked, top)])
    return result


def _top_terms(ranked: Iterable[tuple[str, float]], top: int) -> list[str]:
    """The first `top` terms of a ranking, without repeats, phrases standing in for their parts."""
    chosen: dict[str, float] = {}  # term -> weight, in rank order
    for term, term_weight in ranked:
        full = len(chosen) >= top
        # Past the top terms, only a phrase standing for a chosen part can still come in.
        if term_weight <= 0 or (full and term_weight < WHOLE_PHRASE_SHARE * min(chosen.values())):
            break
        if any(_repeats(term, other) for other in chosen):
            continue
        words = set(term.split())
        parts = [other for other in chosen if set(other.split()) < words]
        if not parts:
            if not full:
                chosen[term] = term_weight
        elif all(term_weight >= WHOLE_PHRASE_SHARE * chosen[part] for part in parts):
            chosen = {(term if other == parts[0] else other): (term_weight if other == parts[0] else kept)
                      for other, kept in chosen.items() if other not in parts[1:]}
    return list(chosen)


def _same_word(first: str, second: str) -> bool:
    """Two forms of one word, as far as a title is concerned: "clustering" and "cluster"."""
    shared = 0
    for a, b in zip(first, second):
        if a != b:
            break
        shared += 1
    return shared >= max(5, 0.75 * min(len(first), len(second)))


def _repeats(term: str, chosen: str) -> bool:
    """Whether every word of `term` is a word (or a form of one) of `chosen`."""
    return all(any(_same_word(word, other) or word == other for other in chosen.split()) for word in term.split())


def title_from_terms(terms: list[str], count: int = 2) -> str:
    """ "gradient descent", "learning rate" -> "Gradient descent, learning rate"."""
    title = ", ".join(terms[:count])
    return title[:1].upper() + title[1:]


def description_from_terms(terms: list[str]) -> str:
    """ "gradient descent", "Adam" -> "Key terms: gradient descent, Adam." ("" without terms)."""
    return f"Key terms: {', '.join(terms)}." if terms else ""
