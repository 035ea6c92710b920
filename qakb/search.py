"""The run-time search engine, shared by `qakb ask` and the browser (Pyodide).

Standard library only, CPython 3.11+ and Pyodide (3.13/3.14). It never imports a
build-time module; `qakb.static` writes the files it reads.

search_index/ format, version 2
===============================

manifest.json (read first, checked before anything else is used)
    {"format": "qakb-search-index", "format_version": 1, "model": "...",
     "content_hash": "sha256:<hex>", "count": N,
     "indexes": {"transformer": {"file", "dim", "metric"}, "static": {"file", "dim", "metric"},
                 "passages": {"file", "dim", "metric"}},
     "passages": {"file": "passages.json"},
     "encoder": {...see below...}, "bm25": {...see below...},
     "files": {"<name>": {"bytes": n, "sha256": "<hex>"}, ...}}
    The engine checks format and format_version, then the size and sha256 of
    every file it reads (metadata, static index, encoder, BM25). It does not
    read transformer.faiss, so the browser never downloads it.

metadata.json
    [{"id", "number", "question", "topic", "topic_title", "url", "needs_review", "source",
      "difficulty"}, ...]
    Row i of transformer.faiss and static.faiss is metadata[i].

passages.json / passages.faiss
    passages.json: [[passage, ...], ...], row-aligned with metadata: each answer cut
    into passages of whole sentences (about 12-30 words; qakb.index.answer_passages).
    passages.faiss holds one row per passage, in that order (item 0's passages first),
    in the same static space as static.faiss.

static.faiss / transformer.faiss: a faiss IndexFlatIP as written by
faiss.write_index (faiss 1.15, little-endian), L2-normalised rows:
    offset  size  field
    0       4     tag b"IxFI" (b"IxF2" would be L2, which we reject)
    4       4     int32 d
    8       8     int64 ntotal
    16      16    two int64 placeholders (1 << 20)
    32      1     uint8 is_trained
    33      4     int32 metric type (0 = inner product)
    37      8     uint64 number of float32 values (ntotal * d, not bytes)
    45      ...   ntotal * d float32, row-major
    static.faiss rows are the documents' transformer vectors projected onto the
    encoder's D axes (qakb.static), the space the static encoder maps queries to;
    passages.faiss rows are the passages' transformer vectors, projected the same way.

Static encoder (manifest "encoder")
    {"vocab_file": "static_vocab.txt", "table_file": "static_table.bin",
     "chars_file": "static_chars.json", "rows": R, "dim": D,
     "quantization": "int8-row-scale", ...tokenizer settings}
    static_vocab.txt: UTF-8, one WordPiece token per line ("\\n" separated, no
    trailing newline). Line i is token i. Tokens 0..R-1 have a row in the
    table; later tokens are known to the tokenizer but carry no vector (pruned).
    static_table.bin: R float32 row scales, then R * D int8 values (row-major).
    Token vector i = scale[i] * int8_row[i]. A text's vector is the L2-normalised
    mean of its tokens' vectors, exactly as model2vec's StaticModel.encode
    (no [CLS]/[SEP], [UNK] dropped, at most `max_tokens` tokens after cutting
    the text to `max_chars` characters).
    static_chars.json: {"drop"|"space"|"punct"|"cjk": [[first, last], ...]}, code
    point ranges probed from the HF tokenizer (see CharClasses).
    All binary numbers are little-endian.

BM25 (manifest "bm25")
    {"file": "bm25.json", "k1": float, "b": float, "tokens": "words", "fusion": {...}}
    bm25.json: {"doc_lengths": [int, ...],
                "postings": {"<term>": [doc, tf, doc, tf, ...], ...},
                "words": {"<word>": count, ...}}
    Terms are the words of the text (the encoder's normaliser and word split,
    punctuation dropped), each cut by `stem` below. "words" are the bank's
    alphabetic words (normalised, not stemmed) with their counts: the spelling
    corrector's dictionary.

Sharded layout (manifest "shards"; written by qakb.shards for large banks)
    The browser fetches the manifest, static_vocab.txt, static_chars.json and the
    "upfront" files below before the first query, then only what each query needs:
    centroids.bin    "lists" x D float32: spherical k-means centroids of the items'
                     static vectors. List n holds rows offsets[n] .. offsets[n+1]-1
                     (rows are ordered by list; they are not metadata.json's order).
    words.json       the speller's {word: count} (bm25.json's "words").
    table-NNNN.bin   rows [N * table_rows, ...) of static_table.bin: their float32
                     scales, then their int8 values.
    items.bin        `numbers` unsigned ints of `row_bytes` bytes (2 or 4): the row of each
                     item number (all ones: no item has that number), then one uint16 per row:
                     its BM25 length in terms (at most 65,535). Item numbers are what the
                     postings name: an item keeps its number from build to build (a new item
                     takes a free one), so an edit that moves rows leaves the postings alone.
    terms-HHHHHHHHHHHH.json  {term: [item number, tf, ...]}: the BM25 postings of
                     every term from term_firsts[N] up to (not including) term_firsts[N+1],
                     named by the first 12 hex digits of term_firsts[N]'s SHA-256;
                     "max_idf" is the bank's, in the manifest.
    list-NNNN.bin    uint32 header size, a JSON header {"passages": [count per row],
                     "texts": [checksum of each text file]}, spaces to a multiple of 4
                     bytes, then float32 scales and int8 values (D each) of the list's
                     item vectors, then of their passage vectors (row by row).
    text-NNNN-PPP.json  {"metadata": [...], "passages": [[...], ...]} of rows
                     offsets[N] + PPP * text_rows, ... (at most text_rows of them).
    "hashes" holds the first 16 hex digits of the sha256 of every table, terms and
    list file; a list holds those of its text files. A query searches the `probe`
    lists whose centroids are nearest to it plus the lists of its `lexical_probe`
    best BM25 rows, and ranks only their rows; the BM25 normaliser (the query's
    best BM25) is the whole bank's, since a term's postings are complete.

Query: normalised and split into words (at most MAX_QUERY_WORDS); a word the
bank does not use is read as two bank words when it splits into them
("nonlinearity" -> "non linearity"), else corrected to the closest bank word
within one edit (two from 8 letters on; `Speller`) unless the encoder knows it
as a whole word.

Ranking: "static" is cosine similarity against static.faiss; "bm25" is Okapi
BM25; "fused" adds whole-item and best-passage evidence:
    cosine(item) + p * max cosine(passage of the item) + w * bm25 / (the query's best bm25)
with p and w from the manifest's bm25 "fusion" entry (FUSION_DEFAULTS below).

Each hit carries the passage of its answer that matched best (`snippet`, with
`marks`: [start, end) character spans of the query's words in it) and a calibrated
`confidence`: the probability that the hit answers the query (CALIBRATION below).
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import math
import operator
import re
import struct
import sys
import unicodedata
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path

FORMAT = "qakb-search-index"
FORMAT_VERSION = 3
MAX_QUERY_CHARS = 1000
# A query's words beyond this many add nothing a reader would miss and only cost time.
MAX_QUERY_WORDS = 48
METHODS = ("fused", "static", "bm25")
BM25_DEFAULTS = {"k1": 1.2, "b": 0.75}
# fused score = cosine(item) + passage_weight * best passage cosine + bm25_weight * bm25 / best bm25.
# Chosen on the dev query sets of both test banks (scripts/search_experiments.py; README).
FUSION_DEFAULTS = {"bm25_weight": 0.45, "passage_weight": 0.5}
# Two logistic regressions, fitted on the dev query sets of both test banks and on off-topic
# dev queries (scripts/calibrate.py; held-out sets only reported on):
#   "hit":   is this hit relevant to the query, from its own evidence and its gap to the best hit
#   "query": does the bank answer the query at all, from the best hit's evidence
# Features: item and best-passage cosine, "coverage" (idf-weighted share of the query's words the
# item contains), "known" (share of the query's words the bank uses anywhere), "gap" (fused
# score minus the best hit's). A query whose "query" probability is below NO_MATCH_BELOW has no
# close question (the threshold keeps 97% of dev bank queries above it).
CALIBRATION = {
    "hit": {"intercept": -5.115, "item_cosine": 1.639, "passage_cosine": 4.526, "coverage": 0.385, "known": 1.83,
            "gap": 7.393},
    "query": {"intercept": -8.741, "item_cosine": 4.192, "passage_cosine": 7.914, "coverage": 1.951, "known": 5.942},
}
NO_MATCH_BELOW = 0.56
# The cue a hit shows, by its "hit" probability (on a query with no close question: "Weak match").
CUE_LEVELS = ((0.6, "Strong match"), (0.35, "Good match"), (0.15, "Fair match"), (0.0, "Weak match"))
SNIPPET_WORDS = 30
# Words never marked in a snippet nor counted in a query's coverage.
STOPWORDS = frozenset("""a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves""".split())

_sumprod = getattr(math, "sumprod", None)
_WORD = re.compile(r"\w+")


def _little_endian(values: array) -> array:
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _dot(a, b) -> float:
    if _sumprod is not None:
        return _sumprod(a, b)
    return sum(map(operator.mul, a, b))


class SearchIndexError(Exception):
    """The search index is missing, damaged, or from another version."""


def _index_error(index_dir, problem: str) -> SearchIndexError:
    return SearchIndexError(f"search index at {index_dir}: {problem}; run `qakb build` to rebuild it")


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


# --- WordPiece tokenizer (HF BertNormalizer + BertPreTokenizer + WordPiece) --------------

class CharClasses:
    """How HF's BertNormalizer and BertPreTokenizer treat each code point.

    Probed from the `tokenizers` library at build time (static_chars.json), because
    its Unicode tables are older than any Python's `unicodedata`: marks, controls
    and punctuation assigned since then are plain letters to it. Kinds: "drop"
    (controls, format characters, non-spacing marks), "space", "punct" (isolated
    as its own word), "cjk" (surrounded by spaces); any other code point is a
    letter, decomposed (NFD) and lowercased char by char, as HF does.
    """

    def __init__(self, ranges: dict[str, list[list[int]]]):
        self.ranges = ranges
        spans = sorted((start, end, kind) for kind, pairs in ranges.items() for start, end in pairs)
        self._starts = [start for start, _, _ in spans]
        self._spans = spans
        self._cache: dict[str, str | None] = {}

    def kind(self, char: str) -> str | None:
        found = self._cache.get(char, "")
        if found != "":
            return found
        code = ord(char)
        position = bisect.bisect_right(self._starts, code) - 1
        found = self._spans[position][2] if position >= 0 and code <= self._spans[position][1] else None
        if len(self._cache) < 10_000:
            self._cache[char] = found
        return found

    def normalize(self, text: str) -> str:
        """HF BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)."""
        cleaned = []
        for char in text:
            kind = self.kind(char)
            if kind == "drop":
                continue
            cleaned.append(" " if kind == "space" else f" {char} " if kind == "cjk" else char)
        decomposed = unicodedata.normalize("NFD", "".join(cleaned))
        # Lowercase char by char: str.lower() would apply final-sigma, HF does not.
        return "".join(char.lower() for char in decomposed if self.kind(char) != "drop")

    def words(self, text: str) -> list[str]:
        """Normalise, split on spaces, and isolate each punctuation character."""
        words = []
        for chunk in self.normalize(text).split(" "):
            start = 0
            for position, char in enumerate(chunk):
                if self.kind(char) == "punct":
                    if position > start:
                        words.append(chunk[start:position])
                    words.append(char)
                    start = position + 1
            if start < len(chunk):
                words.append(chunk[start:])
        return words


class WordPieceTokenizer:
    def __init__(self, vocab: list[str], chars: CharClasses, *, unk_token="[UNK]", prefix="##",
                 max_input_chars_per_word=100, special_tokens=("[PAD]", "[UNK]")):
        self.chars = chars
        self.ids = {token: index for index, token in enumerate(vocab)}
        self.unk_id = self.ids[unk_token]
        self.prefix = prefix
        self.max_word_chars = max_input_chars_per_word
        # Special tokens are matched verbatim in the raw text before normalisation.
        self._special = re.compile("(" + "|".join(map(re.escape, special_tokens)) + ")") if special_tokens else None
        self._cache: dict[str, list[int]] = {}

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text`, [UNK] included (as HF gives them)."""
        parts = self._special.split(text) if self._special else [text]
        ids: list[int] = []
        for index, part in enumerate(parts):
            if index % 2:
                ids.append(self.ids[part])
                continue
            for word in self.chars.words(part):
                ids.extend(self._word_ids(word))
        return ids

    def _word_ids(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids = [self.unk_id]
        if len(word) <= self.max_word_chars:
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                    if piece in self.ids:
                        pieces.append(self.ids[piece])
                        break
                    end -= 1
                if end == start:
                    break
                start = end
            else:
                ids = pieces
        if len(self._cache) < 50_000:
            self._cache[word] = ids
        return ids


# --- static encoder -----------------------------------------------------------------------

class StaticEncoder:
    """Mean of int8 token rows, L2-normalised: model2vec's StaticModel.encode in stdlib."""

    def __init__(self, vocab: list[str], chars: CharClasses, table: bytes, rows: int, dim: int, settings: dict):
        self.tokenizer = WordPieceTokenizer(
            vocab, chars,
            unk_token=settings.get("unk_token", "[UNK]"),
            prefix=settings.get("continuing_subword_prefix", "##"),
            max_input_chars_per_word=settings.get("max_input_chars_per_word", 100),
            special_tokens=tuple(settings.get("special_tokens", ("[PAD]", "[UNK]"))),
        )
        self.rows, self.dim = rows, dim
        self.max_tokens = settings.get("max_tokens", 512)
        self.max_chars = settings.get("max_chars", 3072)
        if table:
            self.scales = _little_endian(array("f", table[: 4 * rows]))
            self.values = array("b", table[4 * rows:])
        else:  # a sharded index: rows arrive in chunks (fill) as queries need them
            self.scales = array("f", bytes(4 * rows))
            self.values = array("b", bytes(rows * dim))

    def fill(self, first_row: int, chunk: bytes) -> None:
        """Put a chunk of the table (its rows' scales, then their int8 values) in place from `first_row`."""
        count = len(chunk) // (4 + self.dim)
        if count * (4 + self.dim) != len(chunk) or first_row + count > self.rows:
            raise ValueError("a table chunk does not fit the table")
        self.scales[first_row:first_row + count] = _little_endian(array("f", chunk[: 4 * count]))
        self.values[first_row * self.dim:(first_row + count) * self.dim] = array("b", chunk[4 * count:])

    def token_ids(self, text: str) -> list[int]:
        ids = self.tokenizer.tokenize(text[: self.max_chars])[: self.max_tokens]
        return [i for i in ids if i != self.tokenizer.unk_id]

    def encode(self, text: str) -> list[float] | None:
        """Unit vector of `text`, or None when no token carries a vector."""
        total = [0.0] * self.dim
        found = False
        for token in self.token_ids(text):
            if token >= self.rows:
                continue
            found = True
            scale, start = self.scales[token], token * self.dim
            row = self.values[start:start + self.dim]
            total = [t + scale * v for t, v in zip(total, row)]
        norm = math.sqrt(_dot(total, total)) if found else 0.0
        if norm == 0.0:
            return None
        return [t / norm for t in total]


# --- BM25 -----------------------------------------------------------------------------------

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
        """Postings of a term shard: {term: [item number, tf, ...]}."""
        for term, pairs in postings.items():
            rows = [self.row_of[number] for number in pairs[::2]]
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


# --- spelling ---------------------------------------------------------------------------------

def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit), or limit + 1 once above it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        lowest = i
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
            lowest = min(lowest, value)
        if lowest > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


class Speller:
    """Reads a query word the bank never uses as the bank's word(s) it most likely means.

    A word of 4+ letters that is not in the bank becomes two bank words when it splits
    into them ("nonlinearity" -> "non linearity"); else, unless the encoder knows it as
    a whole word, the bank word within one edit (two from 8 letters on) sharing its
    first letter, the most frequent on ties ("activaton" -> "activation").
    """

    def __init__(self, counts: dict[str, int], known: frozenset[str] | set[str]):
        self.counts = counts
        self.known = known
        self._by_initial: dict[str, list[str]] | None = None
        self._cache: dict[str, str] = {}

    def fix(self, word: str) -> str:
        if len(word) < 4 or word in self.counts or not word.isalpha():
            return word
        found = self._cache.get(word)
        if found is None:
            found = self._fix(word)
            if len(self._cache) < 10_000:
                self._cache[word] = found
        return found

    def _fix(self, word: str) -> str:
        for cut in range(3, len(word) - 2):
            if word[:cut] in self.counts and word[cut:] in self.counts:
                return f"{word[:cut]} {word[cut:]}"
        if word in self.known:
            return word
        if self._by_initial is None:
            self._by_initial = {}
            for candidate in sorted(self.counts):
                self._by_initial.setdefault(candidate[0], []).append(candidate)
        limit = 1 if len(word) <= 7 else 2
        best = None
        for candidate in self._by_initial.get(word[0], ()):
            if abs(len(candidate) - len(word)) > limit:
                continue
            distance = edit_distance(word, candidate, limit)
            if distance <= limit:
                key = (distance, -self.counts[candidate], candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else word


# --- index files ------------------------------------------------------------------------------

_FAISS_HEADER = struct.Struct("<4siqqqBiQ")


def read_faiss_flat(data: bytes) -> tuple[int, list[array]]:
    """(d, rows) of a faiss IndexFlatIP file; raises ValueError if it is anything else."""
    if len(data) < _FAISS_HEADER.size:
        raise ValueError("shorter than a faiss header")
    tag, dim, count, _, _, _, metric, floats = _FAISS_HEADER.unpack_from(data)
    if tag != b"IxFI" or metric != 0:
        raise ValueError(f"not a faiss inner-product flat index (tag {tag!r}, metric {metric})")
    if dim <= 0 or count < 0 or floats != dim * count or len(data) != _FAISS_HEADER.size + 4 * floats:
        raise ValueError("faiss header does not match the file size")
    values = _little_endian(array("f", data[_FAISS_HEADER.size:]))
    return dim, [values[i * dim:(i + 1) * dim] for i in range(count)]


def _read_checked(index_dir: Path, manifest: dict, name: str) -> bytes:
    entry = manifest.get("files", {}).get(name)
    if entry is None:
        raise _index_error(index_dir, f"manifest does not list {name}")
    try:
        data = (index_dir / name).read_bytes()
    except OSError:
        raise _index_error(index_dir, f"{name} is missing") from None
    if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise _index_error(index_dir, f"{name} does not match its size or checksum in the manifest")
    return data


# --- shards (an index written in lists, read as queries need them) ----------------------------

class ShardsMissing(Exception):
    """Shard files a search needs that are not in the index folder yet (the browser fetches them)."""

    def __init__(self, names: list[str]):
        super().__init__(f"shard files missing: {', '.join(names)}")
        self.names = names


_LIST_HEADER = struct.Struct("<I")
ROW_TYPES = {2: "H", 4: "I"}  # items.bin's row_bytes -> array type code


def read_items(data: bytes, numbers: int, row_bytes: int, count: int) -> tuple[list[int], list[int]]:
    """items.bin: the row of each item number (`count` or above: none), and the length of each row."""
    rows = _little_endian(array(ROW_TYPES[row_bytes], data[:numbers * row_bytes]))
    lengths = _little_endian(array("H", data[numbers * row_bytes:]))
    if len(rows) != numbers or len(lengths) != count:
        raise ValueError("items.bin does not hold a row for every item number and a length for every row")
    return [row if row < count else count for row in rows], list(lengths)


class Shards:
    """A sharded index's layout (manifest "shards"): which files a query needs, and reading them.

    Every file is checked against the first 16 hex digits of its sha256: table chunks, term
    shards and lists against the manifest, a list's text files against the list.
    """

    def __init__(self, index_dir: Path, spec: dict, dim: int, centroids: list[array]):
        self.index_dir = Path(index_dir)
        self.dim = dim
        self.centroids = centroids
        self.offsets: list[int] = spec["offsets"]
        self.probe_count, self.lexical_probe = spec["probe"], spec["lexical_probe"]
        self.table_rows, self.text_rows = spec["table_rows"], spec["text_rows"]
        self.term_firsts: list[str] = spec["term_firsts"]
        hashes = spec["hashes"]
        if len(hashes["lists"]) != len(centroids) or len(hashes["terms"]) != len(self.term_firsts):
            raise ValueError("the shard lists disagree with the manifest")
        self.hashes: dict[str, str] = {}
        for kind, name_of in (("table", self.table_file), ("terms", lambda number: self.terms_file(self.term_firsts[number])),
                              ("lists", self.list_file)):
            self.hashes.update((name_of(number), digest) for number, digest in enumerate(hashes[kind]))
        self.loaded: set[str] = set()
        self.probe_all = False  # exhaustive search: every list

    @staticmethod
    def table_file(number: int) -> str:
        return f"table-{number:04d}.bin"

    @staticmethod
    def terms_file(first_term: str) -> str:
        """Named by its first term, not its place: a new range does not rename the ranges after it."""
        return f"terms-{hashlib.sha256(first_term.encode('utf-8')).hexdigest()[:12]}.json"

    @staticmethod
    def list_file(number: int) -> str:
        return f"list-{number:04d}.bin"

    @staticmethod
    def text_file(number: int, part: int) -> str:
        return f"text-{number:04d}-{part:03d}.json"

    def list_of(self, row: int) -> int:
        return bisect.bisect_right(self.offsets, row) - 1

    def query_files(self, token_ids: list[int], terms: list[str]) -> list[str]:
        """The table chunks of the query's tokens and the term shards of its terms."""
        chunks = sorted({token // self.table_rows for token in token_ids})
        shards = sorted({max(0, bisect.bisect_right(self.term_firsts, term) - 1) for term in terms})
        return ([name for name in map(self.table_file, chunks) if name in self.hashes]
                + [self.terms_file(self.term_firsts[number]) for number in shards])

    def probe(self, vector, bm25: dict[int, float]) -> list[int]:
        """The lists a query searches: the `probe` nearest centroids and the lists of its best BM25 rows."""
        if self.probe_all:
            return list(range(len(self.centroids)))
        chosen: set[int] = set()
        if vector is not None:
            closeness = [(_dot(vector, centroid), -number) for number, centroid in enumerate(self.centroids)]
            chosen.update(-number for _, number in heapq.nlargest(self.probe_count, closeness))
        if bm25:
            best = heapq.nlargest(self.lexical_probe, ((score, -row) for row, score in bm25.items()))
            chosen.update(self.list_of(-row) for _, row in best)
        return sorted(chosen)

    def text_files(self, rows) -> list[str]:
        names = []
        for row in rows:
            number = self.list_of(row)
            names.append(self.text_file(number, (row - self.offsets[number]) // self.text_rows))
        return names

    def every_file(self) -> list[str]:
        return [*self.hashes, *self.text_files(
            row for number in range(len(self.centroids))
            for row in range(self.offsets[number], self.offsets[number + 1], self.text_rows))]

    def require(self, engine: Engine, names, vectors: bool = True) -> None:
        """Read the named files into `engine` unless read already; ShardsMissing names those not on disk.

        With `vectors` False a list is checked and gives its text files' checksums, but its vectors
        are not read (nor is it counted as read)."""
        missing = []
        for name in dict.fromkeys(names):
            if name in self.loaded:
                continue
            try:
                data = (self.index_dir / name).read_bytes()
            except FileNotFoundError:
                missing.append(name)
                continue
            except OSError:
                raise _index_error(self.index_dir, f"{name} is unreadable") from None
            expected = self.hashes.get(name)
            if expected is None or hashlib.sha256(data).hexdigest()[:len(expected)] != expected:
                raise _index_error(self.index_dir, f"{name} does not match its checksum")
            try:
                complete = self._read(engine, name, data, vectors)
            except (KeyError, TypeError, ValueError, struct.error) as error:
                raise _index_error(self.index_dir, f"{name} is unreadable ({error})") from None
            if complete:
                self.loaded.add(name)
        if missing:
            raise ShardsMissing(missing)

    def _read(self, engine: Engine, name: str, data: bytes, vectors: bool = True) -> bool:
        """Read one checked file into `engine`; False when only part of it was read (a list's header)."""
        kind, number = name.split(".")[0].split("-")[:2]
        if kind == "terms":
            engine.bm25.add_postings(json.loads(data))
            return True
        number = int(number)
        if kind == "table":
            engine.encoder.fill(number * self.table_rows, data)
        elif kind == "list":
            self._read_list(engine, number, data, vectors)
            return vectors
        else:
            texts = json.loads(data)
            first = self.offsets[number] + int(name.split(".")[0].split("-")[2]) * self.text_rows
            for row, (item, passages) in enumerate(zip(texts["metadata"], texts["passages"]), start=first):
                engine.metadata[row], engine.passages[row] = item, passages
        return True

    def _read_list(self, engine: Engine, number: int, data: bytes, vectors: bool = True) -> None:
        """A list: header length, JSON header, then int8 rows with float32 scales (items, then passages)."""
        (size,) = _LIST_HEADER.unpack_from(data)
        header = json.loads(data[4:4 + size])
        for part, digest in enumerate(header["texts"]):
            self.hashes[self.text_file(number, part)] = digest
        if not vectors:
            return
        counts, dim = header["passages"], self.dim
        items, total = self.offsets[number + 1] - self.offsets[number], sum(header["passages"])
        start = 4 + size + (-(4 + size)) % 4
        scales = _little_endian(array("f", data[start:start + 4 * (items + total)]))
        values = array("b", data[start + 4 * (items + total):])
        if len(counts) != items or len(values) != (items + total) * dim:
            raise ValueError("list size does not match its header")
        rows = [array("f", [scale * value for value in values[i * dim:(i + 1) * dim]])
                for i, scale in enumerate(scales)]
        first, passage = self.offsets[number], items
        for position, count in enumerate(counts):
            engine.vectors[first + position] = rows[position]
            engine.passage_rows[first + position] = rows[passage:passage + count]
            passage += count


# --- engine -----------------------------------------------------------------------------------

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
    rows: set[int] | None = None  # a sharded index: the rows of the lists probed, the only ones ranked


class Engine:
    def __init__(self, metadata: list[dict], encoder: StaticEncoder, vectors: list[array],
                 bm25: BM25, fusion: dict, passages: list[list[str]], passage_vectors: list[array],
                 speller: Speller, shards: Shards | None = None):
        self.metadata = metadata
        self.encoder = encoder
        self.chars = encoder.tokenizer.chars
        self.vectors = vectors
        self.bm25 = bm25
        weights = {**FUSION_DEFAULTS, **fusion}
        self.bm25_weight, self.passage_weight = weights["bm25_weight"], weights["passage_weight"]
        self.passages = passages
        self.passage_vectors = passage_vectors
        self.speller = speller
        # row -> its passages' vectors (a sharded index fills rows as their lists arrive)
        self.passage_rows: list[list[array] | None] = [None] * len(metadata)
        total = 0
        for row, texts in enumerate(passages if shards is None else ()):
            self.passage_rows[row] = passage_vectors[total:total + len(texts)]
            total += len(texts)
        self.shards = shards
        self._documents_of: dict[str, set[int]] = {}
        self._term_of_word: dict[str, str] = {}
        self._passage_terms: dict[int, list[set[str]]] = {}

    @classmethod
    def open(cls, index_dir, content_hash: str | None = None) -> Engine:
        index_dir = Path(index_dir)
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise _index_error(index_dir, "manifest.json is missing or unreadable") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _index_error(index_dir, "manifest.json is not a qakb search index manifest")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise _index_error(index_dir, f"format_version {manifest.get('format_version')!r} is not {FORMAT_VERSION}")
        if content_hash is not None and manifest.get("content_hash") != content_hash:
            raise _index_error(index_dir, "it was built from other content")
        if "shards" in manifest:
            return cls._open_sharded(index_dir, manifest)
        try:
            static, encoder_spec, bm25_spec = manifest["indexes"]["static"], manifest["encoder"], manifest["bm25"]
            metadata = json.loads(_read_checked(index_dir, manifest, "metadata.json"))
            vocab = _read_checked(index_dir, manifest, encoder_spec["vocab_file"]).decode("utf-8").split("\n")
            table = _read_checked(index_dir, manifest, encoder_spec["table_file"])
            chars = CharClasses(json.loads(_read_checked(index_dir, manifest, encoder_spec["chars_file"])))
            dim, vectors = read_faiss_flat(_read_checked(index_dir, manifest, static["file"]))
            passage_dim, passage_vectors = read_faiss_flat(
                _read_checked(index_dir, manifest, manifest["indexes"]["passages"]["file"]))
            passages = json.loads(_read_checked(index_dir, manifest, manifest["passages"]["file"]))
            bm25_data = json.loads(_read_checked(index_dir, manifest, bm25_spec["file"]))
            rows = encoder_spec["rows"]
            if not (dim == static["dim"] == encoder_spec["dim"]) or len(table) != rows * (4 + dim):
                raise ValueError(f"dimensions disagree (index {dim}, manifest {static['dim']}, "
                                 f"encoder {encoder_spec['dim']})")
            if not (len(vectors) == len(metadata) == manifest["count"] == len(bm25_data["doc_lengths"])
                    == len(passages)):
                raise ValueError("row counts disagree")
            if (passage_vectors and passage_dim != dim) or len(passage_vectors) != sum(map(len, passages)):
                raise ValueError("passages.faiss does not match passages.json")
            encoder = StaticEncoder(vocab, chars, table, rows, dim, encoder_spec)
            bm25 = BM25(chars, bm25_data["doc_lengths"], bm25_data["postings"], bm25_spec["k1"], bm25_spec["b"])
            speller = Speller(bm25_data["words"], frozenset(token for token in vocab if token.isalpha()))
        except SearchIndexError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise _index_error(index_dir, f"unreadable ({error})") from None
        return cls(metadata, encoder, vectors, bm25, bm25_spec.get("fusion", {}), passages, passage_vectors, speller)

    @classmethod
    def _open_sharded(cls, index_dir: Path, manifest: dict) -> Engine:
        """Read the global files of a sharded index; shards are read as queries need them."""
        try:
            encoder_spec, bm25_spec, spec = manifest["encoder"], manifest["bm25"], manifest["shards"]
            vocab = _read_checked(index_dir, manifest, encoder_spec["vocab_file"]).decode("utf-8").split("\n")
            chars = CharClasses(json.loads(_read_checked(index_dir, manifest, encoder_spec["chars_file"])))
            words = json.loads(_read_checked(index_dir, manifest, spec["words_file"]))
            dim, count = encoder_spec["dim"], manifest["count"]
            centroids = _little_endian(array("f", _read_checked(index_dir, manifest, spec["centroids_file"])))
            shards = Shards(index_dir, spec, dim, [centroids[i * dim:(i + 1) * dim] for i in range(len(centroids) // dim)])
            if len(shards.centroids) != len(spec["offsets"]) - 1 or spec["offsets"][-1] != count:
                raise ValueError("the lists disagree with the centroids or the item count")
            encoder = StaticEncoder(vocab, chars, b"", encoder_spec["rows"], dim, encoder_spec)
            row_of, lengths = read_items(_read_checked(index_dir, manifest, spec["items_file"]), spec["numbers"],
                                         spec["row_bytes"], count)
            bm25 = BM25.sharded(chars, lengths, row_of, spec["max_idf"], bm25_spec["k1"], bm25_spec["b"])
            speller = Speller(words, frozenset(token for token in vocab if token.isalpha()))
        except SearchIndexError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise _index_error(index_dir, f"unreadable ({error})") from None
        return cls([None] * count, encoder, [None] * count, bm25, bm25_spec.get("fusion", {}), [None] * count, [],
                   speller, shards)

    # -- shards ----------------------------------------------------------------------------------

    def missing(self, query: str, k: int = 5, method: str = "fused") -> list[str]:
        """The shard files this search still needs that are not on disk yet ([] once it can run).

        The browser fetches them into the index folder and asks again: each stage of a search
        (the query's table rows and term postings, then the probed lists, then the hits' texts)
        names what it needs only once the previous stage has run.
        """
        try:
            self.search(query, k, method)
        except ShardsMissing as missing:
            return missing.names
        return []

    def search_or_missing_json(self, query: str, k: int = 5, method: str = "fused") -> str:
        """{"hits": [...]} as search_json, or {"missing": {file: checksum, ...}} when shards must be
        fetched first (the checksum versions the file's URL)."""
        try:
            hits = self.search(query, k, method)
        except ShardsMissing as missing:
            return json.dumps({"missing": {name: self.shards.hashes.get(name, "") for name in missing.names}})
        return json.dumps({"hits": [asdict(hit) for hit in hits]}, ensure_ascii=False)

    def load_everything(self) -> None:
        """Read every shard (a build's checks, exhaustive search); nothing to do for an unsharded index."""
        if self.shards is not None:
            self.shards.probe_all = True
            self.shards.require(self, self.shards.every_file())

    def load_metadata(self) -> None:
        """Read every row's metadata and check every list's checksum, without reading the vectors
        (the build's nothing-lost check); nothing to do for an unsharded index."""
        if self.shards is not None:
            lists = [self.shards.list_file(number) for number in range(len(self.shards.centroids))]
            self.shards.require(self, lists, vectors=False)
            self.shards.require(self, [name for name in self.shards.every_file() if name.startswith("text-")])

    def _candidate_rows(self, vector, bm25: dict[int, float]):
        if self.shards is None:
            return range(len(self.vectors))
        lists = self.shards.probe(vector, bm25)
        self.shards.require(self, [self.shards.list_file(number) for number in lists])
        offsets = self.shards.offsets
        return [row for number in lists for row in range(offsets[number], offsets[number + 1])]

    # -- evidence ---------------------------------------------------------------------------

    def read_query(self, query: str) -> str:
        """The query as it is searched: normalised words, at most MAX_QUERY_WORDS, spelling read."""
        words = self.chars.words(query[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]
        return " ".join(self.speller.fix(word) for word in words)

    def evidence(self, query: str, method: str = "fused") -> Evidence | None:
        """None when the query has no word at all (only spaces, controls or punctuation)."""
        text = self.read_query(query)
        # read_query's words are normalised already: splitting on spaces gives them back.
        terms = list(dict.fromkeys(word_terms(text.split(" "), self.chars) if text else []))
        if not terms:
            return None
        marked = [term for term in terms if term not in STOPWORDS] or terms
        if self.shards is not None:
            self.shards.require(self, self.shards.query_files(
                self.encoder.token_ids(text) if method != "bm25" else [], marked))
        item, passage, best = {}, {}, {}
        vector = self.encoder.encode(text) if method != "bm25" else None
        bm25 = self.bm25.term_scores(marked) if method != "static" else {}
        rows = self._candidate_rows(vector, bm25)
        if vector is not None:
            vectors, passage_rows = self.vectors, self.passage_rows
            for row in rows:
                item[row] = cosine = _dot(vector, vectors[row])
                passage[row] = found = [_dot(vector, each) for each in passage_rows[row]]
                best[row] = max(found) if found else cosine
        return Evidence(text, terms, marked, item, passage, best, bm25,
                        None if self.shards is None else set(rows))

    def rank(self, query: str, method: str = "fused") -> list[tuple[int, float]]:
        """(row, score) pairs, best first; rows without any evidence are left out."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        found = self.evidence(query, method)
        return [] if found is None else self._ranked(found, method)

    def _ranked(self, found: Evidence, method: str) -> list[tuple[int, float]]:
        ranked_rows = found.rows
        if method == "bm25":
            return _best_first(found.bm25 if ranked_rows is None else
                               {row: score for row, score in found.bm25.items() if row in ranked_rows})
        if method == "static":
            return _best_first(found.item)
        fused = {row: score + self.passage_weight * found.best_passage[row] for row, score in found.item.items()}
        best = max(found.bm25.values(), default=0.0) or 1.0
        for row, score in found.bm25.items():
            if ranked_rows is None or row in ranked_rows:
                fused[row] = fused.get(row, 0.0) + self.bm25_weight * score / best
        return _best_first(fused)

    # -- hits --------------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, method: str = "fused") -> list[Hit]:
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        found = self.evidence(query, method)
        if found is None:
            return []
        hits = []
        ranked = self._ranked(found, method)
        best = ranked[0][1] if ranked else 0.0
        close = bool(ranked) and self.probability("query", self.features(found, ranked[0][0], best, best)) >= NO_MATCH_BELOW
        if self.shards is not None:
            self.shards.require(self, self.shards.text_files(row for row, _ in ranked[:k]))
        for row, score in ranked[:k]:
            item = self.metadata[row]
            passage, snippet, marks = self._snippet(found, row)
            confidence = self.probability("hit", self.features(found, row, best, score))
            hits.append(Hit(id=item["id"], number=item["number"], question=item["question"],
                            topic=item["topic"], topic_title=item["topic_title"], url=item["url"],
                            needs_review=item["needs_review"], difficulty=item.get("difficulty", ""),
                            score=round(score, 6), confidence=round(confidence, 4),
                            cue=cue_of(confidence) if close else CUE_LEVELS[-1][1], close=close,
                            snippet=snippet, marks=marks, passage=passage))
        return hits

    def search_json(self, query: str, k: int = 5, method: str = "fused") -> str:
        return json.dumps([asdict(hit) for hit in self.search(query, k, method)], ensure_ascii=False)

    def coverage(self, found: Evidence, row: int) -> float:
        """The idf-weighted share of the query's marked terms that the item's text contains."""
        total = present = 0.0
        for term in found.marked:
            idf = self.bm25.idf.get(term, self.bm25.max_idf)  # a word the bank never uses weighs most
            total += idf
            if row in self._documents(term):
                present += idf
        return present / total if total else 0.0

    def known_share(self, found: Evidence) -> float:
        """The share of the query's marked terms that the bank uses at all (off-topic queries: few)."""
        return sum(1 for term in found.marked if term in self.bm25.postings) / len(found.marked)

    def _documents(self, term: str) -> set[int]:
        documents = self._documents_of.get(term)
        if documents is None:
            documents = set(self.bm25.postings.get(term, ())[::2])
            if len(self._documents_of) < 10_000:
                self._documents_of[term] = documents
        return documents

    def features(self, found: Evidence, row: int, best_score: float, score: float) -> dict[str, float]:
        """The calibration's inputs for one hit (see CALIBRATION)."""
        return {"item_cosine": found.item.get(row, 0.0), "passage_cosine": found.best_passage.get(row, 0.0),
                "coverage": self.coverage(found, row), "known": self.known_share(found), "gap": score - best_score}

    @staticmethod
    def probability(model: str, features: dict[str, float]) -> float:
        weights = CALIBRATION[model]
        logit = weights["intercept"] + sum(weight * features[name] for name, weight in weights.items()
                                           if name != "intercept")
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))

    def _snippet(self, found: Evidence, row: int) -> tuple[int, str, list[list[int]]]:
        """The passage of the row's answer that best matches the query, cut to SNIPPET_WORDS, with marks."""
        texts = self.passages[row]
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


def cue_of(confidence: float) -> str:
    return next(name for lowest, name in CUE_LEVELS if confidence >= lowest)


def _best_first(scores: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
