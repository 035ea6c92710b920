"""Topics found in the questions themselves, for a bank with neither topics.yml nor sections.

Two steps, both deterministic for the same input. Their settings (dimensions, method, how k
is chosen, candidate terms) were measured leaving one bank out, on banks whose people-made
topics are known (their sections, their files, or content/topics.yml) and hidden for the
measure (scripts/eval_topics.py --tune; figures in scripts/SEARCH_QUALITY.md, "Topics"):

- **Clustering**: the document vectors are reduced to their first 20 principal components
  and L2-normalised, then grouped by agglomerative clustering with average linkage on their
  cosine distance; its one tree is cut into every k from 2 to ``min(30, n // min_size)``,
  where a topic's minimum size is 3 questions or 1% of the bank. A group below it is
  dissolved into the nearest remaining ones, so no topic page holds one or two stray
  questions (average linkage leaves an odd question in a group of its own, so a bank ends
  with fewer topics than the tree was cut into). The k kept has the highest mean silhouette
  (cosine, in the reduced space; ties go to the smaller k). Before, k-means in 5 dimensions
  chose 5 to 7 topics for banks of 400 and 1,600 questions that have 10 and 31 (ARI 0.07 and
  0.20), and 7 for a data-science bank of 19 sections (0.28); average linkage in 20
  dimensions takes those to 0.07 (that bank's sections are not topics), 0.52 and 0.45, and
  holds the others within 0.03 (scripts/SEARCH_QUALITY.md, "Topics"). A number of topics
  fixed by the bank's size (1.5 √n) scored as well on average, but split a bank of six
  clearly different fields into 24 topics (ARI 0.50; by silhouette 0.94).
  Average linkage's distances are quadratic in memory (5,000 questions: 100 MB), so above
  ``AVERAGE_LINKAGE_LIMIT`` questions k-means (linear memory) makes each cut.
- **Naming**: class-based TF-IDF as BERTopic computes it (with its
  ``reduce_frequent_words``): all the texts of a topic are one document, a term's weight is
  the square root of its count in that document times log(1 + average count per topic / the
  term's count over all topics), so a term ranks high when it is frequent in one topic and
  rare in the others. A term counts once per question it is in, ``QUESTION_WEIGHT`` times when
  the question itself says it: a word one long answer repeats ("prices" in a worked example)
  names nothing. Terms are words and phrases of up to three words that cross no punctuation
  and no stop word, plurals folded into their singular, and they must read as a noun phrase:
  the last word a noun (lemminflect's English dictionary; a word it does not know, or one with
  a capital or a digit, is a name: "ReLU", "k-means", "L2"), where a form that is a plural
  noun and a verb alike counts as a noun only if the bank uses it as one somewhere (after
  "the", "a", "of"..., before a small word or a punctuation mark: "the props of" but never
  "the looks"), and no phrase opens with an adverb or a verb's plain form ("avoid",
  "prefer", "typically"). With the model at hand (a build, `qakb topics`), a topic's
  ``CANDIDATE_TERMS`` best terms are then ordered as KeyBERT orders keywords (and BERTopic's
  KeyBERTInspired), by the cosine of the term's embedding with the topic's mean vector:
  "L2 regularization, L1 regularization" rather than "regularization looks, sum". Ordering
  with maximal marginal relevance instead, for titles whose two terms differ more, titled
  fewer real topics with a word of their own name (with 8 candidates: 79 % of them ordered by
  likeness alone, 77, 75 and 74 % with diversity 0.3, 0.5 and 0.7). BERTopic itself is not used: it requires
  umap-learn (numba, llvmlite), hdbscan, pandas and plotly, and HDBSCAN leaves "outlier"
  questions outside every topic, where each question needs one; the part used here is a few
  lines over term counts a session keeps from build to build (`_Corpus`,
  `qakb.session.BuildSession.topic_corpus`).
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
CLUSTERING_DIMENSIONS = 20
# Silhouette over a fixed random sample beyond this many questions: the exact score is O(n^2) time.
SILHOUETTE_SAMPLE = 3000
AVERAGE_LINKAGE = "average"
KMEANS = "kmeans"
# Above this many questions, k-means instead of average linkage (whose distances take n²/2 floats).
AVERAGE_LINKAGE_LIMIT = 5000
LARGE_BANK = 2000
RANDOM_STATE = 0
# Terms are words and phrases of up to this many words.
MAX_TERM_WORDS = 3
# A longer phrase stands for a chosen part of it when it has this share of the part's weight.
WHOLE_PHRASE_SHARE = 0.8
# A term in a question counts this many times; in its answer, once.
QUESTION_WEIGHT = 3
# Terms of each topic (by class-based TF-IDF) that the model orders; the first 6 are shown.
CANDIDATE_TERMS = 8

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
    approach approaches problem problems process explain describe define tell give compare know deal vs versus
""".split())


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # one cluster number per question, numbered in order of first question
    k: int
    silhouette: float
    silhouette_by_k: dict[int, float]  # by the number of groups cut, before small ones were dissolved


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


def dissolve_small(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
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

    # Restarts cost time linearly (10k questions: ~0.2 s each); a large bank needs fewer.
    restarts = 10 if len(points) <= LARGE_BANK else 3
    return KMeans(n_clusters=k, n_init=restarts, random_state=RANDOM_STATE).fit_predict(points)


def average_linkage_partitions(points: np.ndarray) -> Callable[[int], np.ndarray]:
    """The tree of average-linkage clustering on cosine distance, to cut into any number of groups."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(points, method="average", metric="cosine")
    return lambda k: fcluster(tree, k, criterion="maxclust") - 1


def partitions(points: np.ndarray, method: str) -> Callable[[int], np.ndarray]:
    """A function from k to a partition of `points` into (at most) k groups, by `method`."""
    if method == AVERAGE_LINKAGE and len(points) <= AVERAGE_LINKAGE_LIMIT:
        return average_linkage_partitions(points)
    if method not in (AVERAGE_LINKAGE, KMEANS):
        raise ValueError(f"clustering method {method!r}: use {AVERAGE_LINKAGE!r} or {KMEANS!r}")
    return functools.partial(kmeans_partition, points)


def minimum_topic_size(n: int) -> int:
    return max(MIN_TOPIC_SIZE, math.ceil(n / 100))


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (cosine), over a fixed random sample beyond SILHOUETTE_SAMPLE questions."""
    from sklearn.metrics import silhouette_score

    sample = SILHOUETTE_SAMPLE if len(points) > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(points, labels, metric="cosine", sample_size=sample, random_state=RANDOM_STATE))


def cluster(
    vectors: np.ndarray,
    max_topics: int = MAX_TOPICS,
    min_topic_size: int | None = None,
    dimensions: int | None = CLUSTERING_DIMENSIONS,
    method: str = AVERAGE_LINKAGE,
) -> Clustering:
    """Group the questions by their vectors, choosing the number of groups by silhouette.

    `dimensions` and `method` exist to measure alternatives (scripts/eval_topics.py).
    """
    n = len(vectors)
    min_size = min_topic_size or minimum_topic_size(n)
    largest_k = min(max_topics, n // min_size)
    single = Clustering(labels=np.zeros(n, dtype=np.int64), k=1, silhouette=0.0, silhouette_by_k={})
    if largest_k < 2:
        return single
    points = reduce_dimensions(vectors, dimensions)
    partition = partitions(points, method)
    best: tuple[float, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(2, largest_k + 1):
        labels = dissolve_small(points, partition(k), min_size)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = silhouette(points, labels)
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


Document = tuple[str, str]  # what a question asks, and its answer: the texts its topic is named from

_NOUN_KINDS = frozenset({"NOUN", "PROPN"})
# Words after which the next word, followed by a stop word or nothing, is a noun: "the sum of".
_DETERMINERS = frozenset("""a an the this that these those each every its their our your my his her of per no
    all any both few many several some such other multiple""".split())


def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """A lowercase English word's lemmas by universal part of speech (empty where the word is unknown)."""
    from lemminflect import getAllLemmas

    return getAllLemmas(word)


def _verb_s_form(word: str, lemmas: dict[str, tuple[str, ...]]) -> bool:
    return any(word in (lemma + "s", lemma + "es") for lemma in lemmas.get("VERB", ()))


def _name_like(word: str) -> bool:
    """A word with a capital or a digit is a name, whatever the dictionary says: "React", "L2"."""
    return any(character.isupper() or character.isdigit() for character in word)


def _opens_no_noun_phrase(word: str) -> bool:
    """An adverb, or a verb's plain or -s form that is neither noun nor adjective: "prefer", "avoid"."""
    lemmas = _lemmas(word)
    if not lemmas or lemmas.keys() & {"NOUN", "PROPN", "ADJ"}:
        return False
    return "ADV" in lemmas or _verb_s_form(word, lemmas) or word in lemmas.get("VERB", ())


def _nouns_in(phrase: list[str], stop: frozenset[str]) -> list[str]:
    """The (lowercase) words of a phrase used as nouns: after a determiner or quantifier, before a stop
    word or the phrase's end."""
    return [word for before, word, after in zip(phrase, phrase[1:], [*phrase[2:], ""])
            if before in _DETERMINERS and word not in stop and (not after or after in stop)]


class _Corpus:
    """The counts class-based TF-IDF needs, for a multiset of (document, label) entries, kept up to
    date as entries come and go: each document's terms, how many documents hold each term, each
    label's term counts, the spellings seen of each word (words and short phrases, plurals folded,
    with the spelling most used for each), and the words seen used as nouns. A document is a
    question and its answer (`Document`).

    `qakb serve --watch` names the topics again after every edit, from texts nearly all of which
    it counted before: `_corpus_for` takes the last build's corpus and changes only the entries
    that changed (0.1 s instead of 2 s at 10,000 questions). The counts are the same as a fresh
    corpus's; where an edit changes how a plural folds (it adds or removes a word whose plural the
    corpus holds), the corpus is counted afresh."""

    def __init__(self):
        self.stop = _stop_words()
        self.entries: Counter[tuple[Document, int]] = Counter()
        self.lowered: Counter[str] = Counter()  # every phrase word, lowercased
        # Lowercased words seen as nouns: after a determiner, before a stop word or a phrase's end.
        self.noun_uses: Counter[str] = Counter()
        self._keys: dict[str, str] = {}
        self._terms: dict[Document, list[str]] = {}  # document -> its weighted terms, while it is an entry
        self.texts_with: Counter[str] = Counter()
        self.by_label: defaultdict[int, Counter] = defaultdict(Counter)
        self.totals: Counter[str] = Counter()  # each term's count over all labels
        # Spellings are counted inside phrases, where a capital means a name ("ReLU", "Adam");
        # at a phrase's start or in a Title Case Question only as a fallback.
        self.spellings: defaultdict[str, Counter] = defaultdict(Counter)
        self.initial_spellings: defaultdict[str, Counter] = defaultdict(Counter)

    def update(self, entries: Counter) -> bool:
        """Make the corpus hold exactly `entries` ((document, label) -> count); False where a fresh corpus
        is needed (a plural would fold differently) or quicker (most entries changed), which the
        caller then makes."""
        gone, new = self.entries - entries, entries - self.entries
        if len(gone) + len(new) > len(entries):  # another bank, nearly: counting afresh is quicker
            return False
        lowered_before = set(self.lowered)
        for (document, _), count in gone.items():
            self._count_words(document, -count)
        for (document, _), count in new.items():
            self._count_words(document, count)
        for word in lowered_before.symmetric_difference(self.lowered) if lowered_before else ():
            if word + "s" in self.lowered or word + "es" in self.lowered or \
                    word + "s" in lowered_before or word + "es" in lowered_before:
                return False
            self._keys = {}  # a word came or went: keys are looked up again (folds are unchanged)
        for (document, label), count in gone.items():
            self._count_terms(document, label, -count)
        for (document, label), count in new.items():
            self._count_terms(document, label, count)
        self.entries = entries
        kept_documents = {document for document, _ in entries}
        for document, _ in gone:
            if document not in kept_documents:
                self._terms.pop(document, None)
        return True

    def _count_words(self, document: Document, sign: int) -> None:
        lowered = [[word.lower() for word in phrase] for text in document for phrase in _phrases_of(text)]
        _count(self.lowered, [word for phrase in lowered for word in phrase], sign)
        _count(self.noun_uses, [word for phrase in lowered for word in _nouns_in(phrase, self.stop)], sign)

    def _count_terms(self, document: Document, label: int, sign: int) -> None:
        terms = self._terms.get(document)
        if terms is None:
            terms = self._terms[document] = self._of_document(document)
        for phrase in (phrase for text in document for phrase in _phrases_of(text)):
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
        # "what's", "there’s", "we'll" are stop words too.
        return len(key) > 1 and key not in self.stop and re.split("['’]", key)[0] not in self.stop

    def _of_document(self, document: Document) -> list[str]:
        """The document's terms, each as many times as it counts: QUESTION_WEIGHT if the question
        has it, and once more if the answer has it (in no particular order: they are counted)."""
        question, answer = document
        asked = set(self._of_text(question))
        return [term for term in asked for _ in range(QUESTION_WEIGHT)] + list(set(self._of_text(answer)))

    def _of_text(self, text: str) -> list[str]:
        """The text's terms: every run of 1 to MAX_TERM_WORDS useful keys inside a phrase."""
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

    def nameable(self, shown: str) -> bool:
        """Whether a term (as shown) reads as a noun phrase: its last word a noun, its first word
        not a verb's plain form or an adverb ("regularization looks", "avoid", "typically" do not)."""
        words = shown.split()
        if not self._noun(words[-1]):
            return False
        return len(words) == 1 or _name_like(words[0]) or not _opens_no_noun_phrase(words[0].lower())

    def _noun(self, word: str) -> bool:
        """Whether a word can end a noun phrase. A form that is a plural noun and a verb alike
        ("looks", "props") is a noun only where the bank uses it as one."""
        if _name_like(word):
            return True
        lowered = word.lower()
        lemmas = _lemmas(lowered)
        if not lemmas:  # a word the dictionary does not know: a term of the field ("dropout", "softmax")
            return True
        if not lemmas.keys() & _NOUN_KINDS:
            return False
        return not _verb_s_form(lowered, lemmas) or self.noun_uses[lowered] > 0

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


def _corpus_for(documents: list[Document], labels: list[int], last: _Corpus | None) -> _Corpus:
    """The corpus of these entries: `last` (the last build's) brought up to date where it can be."""
    entries = Counter(zip(documents, labels))
    corpus = last if last is not None else _Corpus()
    if not corpus.update(entries):
        corpus = _Corpus()
        corpus.update(entries)
    return corpus


def characteristic_terms(documents: list[Document | str], labels: list[int] | np.ndarray, top: int = 8,
                         session: BuildSession | None = None) -> list[list[str]]:
    """For each label 0..k-1, its `top` terms by class-based TF-IDF, most characteristic first.

    `documents`: each question's (question, answer), or one text. `session`: the term counts are
    taken from its last build's and left there for its next.

    Only terms that read as noun phrases are kept (`_Corpus.nameable`). A term inside a chosen
    one is skipped ("gradient" after "gradient descent"); a phrase replaces a chosen part of it
    only when it carries nearly all of that part's weight ("recurrent neural network" for
    "recurrent neural", but not "stochastic gradient descent" for "gradient descent").
    """
    labels = [int(label) for label in labels]
    documents = [(document, "") if isinstance(document, str) else tuple(document) for document in documents]
    classes = max(labels) + 1
    corpus = _corpus_for(documents, labels, session.topic_corpus if session is not None else None)
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
        ranked = ((terms[entry], weights[entry]) for entry in order if corpus.nameable(corpus.shown(terms[entry])))
        result.append([corpus.shown(term) for term in _top_terms(ranked, top)])
    return result


def representative_terms(candidates: list[list[str]], centroids: np.ndarray,
                         embed: Callable[[list[str]], np.ndarray], top: int) -> list[list[str]]:
    """Each topic's `top` terms among its candidates, the terms most like the topic's mean vector
    (`centroids`, a row per topic) first, as KeyBERT orders keywords."""
    every = sorted({term for terms in candidates for term in terms})
    vectors = dict(zip(every, embed(every))) if every else {}
    result = []
    for terms, centroid in zip(candidates, centroids):
        likeness = [float(vectors[term] @ centroid) for term in terms]
        order = sorted(range(len(terms)), key=lambda index: (-likeness[index], index))
        result.append([terms[index] for index in order[:top]])
    return result


def topic_centroids(vectors: np.ndarray, labels: list[int] | np.ndarray) -> np.ndarray:
    """Each label's mean vector, L2-normalised (a row per label 0..k-1)."""
    labels = np.asarray(labels)
    return _unit_rows(np.stack([vectors[labels == label].mean(axis=0) for label in range(int(labels.max()) + 1)]))


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
    """ "gradient descent", "learning rate" -> "Gradient descent, learning rate" ("useState" stays)."""
    title = ", ".join(terms[:count])
    first_word = title.split(" ")[0] if title else ""
    return title if first_word != first_word.lower() else title[:1].upper() + title[1:]


def description_from_terms(terms: list[str]) -> str:
    """ "gradient descent", "Adam" -> "Key terms: gradient descent, Adam." ("" without terms)."""
    return f"Key terms: {', '.join(terms)}." if terms else ""
