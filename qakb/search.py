"""The run-time search engine, shared by `qakb ask` and the browser (Pyodide).

Standard library only, CPython 3.11+ and Pyodide (3.13/3.14). It never imports a
build-time module; `qakb.static` writes the files it reads.

search_index/ format, version 1
===============================

manifest.json (read first, checked before anything else is used)
    {"format": "qakb-search-index", "format_version": 1, "model": "...",
     "content_hash": "sha256:<hex>", "count": N,
     "indexes": {"transformer": {"file", "dim", "metric"}, "static": {"file", "dim", "metric"}},
     "encoder": {...see below...}, "bm25": {...see below...},
     "files": {"<name>": {"bytes": n, "sha256": "<hex>"}, ...}}
    The engine checks format and format_version, then the size and sha256 of
    every file it reads (metadata, static index, encoder, BM25). It does not
    read transformer.faiss, so the browser never downloads it.

metadata.json
    [{"id", "number", "question", "topic", "topic_title", "url", "needs_review", "source"}, ...]
    Row i of every .faiss file is metadata[i].

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
    encoder's D axes (qakb.static), the space the static encoder maps queries to.

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
    {"file": "bm25.json", "k1": float, "b": float, "tokens": "words"}
    bm25.json: {"doc_lengths": [int, ...],
                "postings": {"<term>": [doc, tf, doc, tf, ...], ...}}
    Terms are the words of the text (the encoder's normaliser and word split,
    punctuation dropped), each cut by `stem` below.

Ranking: "static" is cosine similarity against static.faiss; "bm25" is Okapi
BM25; "fused" adds the two: cosine + w * bm25 / (the query's best bm25 score),
w from the manifest's bm25 "fusion" entry (FUSION_DEFAULTS below).
"""

from __future__ import annotations

import bisect
import hashlib
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
FORMAT_VERSION = 1
MAX_QUERY_CHARS = 1000
METHODS = ("fused", "static", "bm25")
BM25_DEFAULTS = {"k1": 1.2, "b": 0.75}
# fused score = cosine + bm25_weight * bm25 / (best bm25 score of the query); one scalar,
# measured on tests/data/queries.yml (0.3-0.5 beat reciprocal rank fusion on every metric).
FUSION_DEFAULTS = {"bm25_weight": 0.3}

_sumprod = getattr(math, "sumprod", None)


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
    score: float


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
        self.scales = _little_endian(array("f", table[: 4 * rows]))
        self.values = array("b", table[4 * rows:])

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
    return [stem(word) for word in chars.words(text) if chars.kind(word[0]) != "punct"]


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

    def scores(self, text: str) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in set(bm25_terms(text, self.chars)):
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = self.idf[term]
            for doc, tf in zip(posting[::2], posting[1::2]):
                gain = idf * tf * (self.k1 + 1) / (tf + self.length_norm[doc])
                scores[doc] = scores.get(doc, 0.0) + gain
        return scores


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


# --- engine -----------------------------------------------------------------------------------

class Engine:
    def __init__(self, metadata: list[dict], encoder: StaticEncoder, vectors: list[array],
                 bm25: BM25, fusion: dict):
        self.metadata = metadata
        self.encoder = encoder
        self.vectors = vectors
        self.bm25 = bm25
        self.bm25_weight = {**FUSION_DEFAULTS, **fusion}["bm25_weight"]

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
        try:
            static, encoder_spec, bm25_spec = manifest["indexes"]["static"], manifest["encoder"], manifest["bm25"]
            metadata = json.loads(_read_checked(index_dir, manifest, "metadata.json"))
            vocab = _read_checked(index_dir, manifest, encoder_spec["vocab_file"]).decode("utf-8").split("\n")
            table = _read_checked(index_dir, manifest, encoder_spec["table_file"])
            chars = CharClasses(json.loads(_read_checked(index_dir, manifest, encoder_spec["chars_file"])))
            dim, vectors = read_faiss_flat(_read_checked(index_dir, manifest, static["file"]))
            bm25_data = json.loads(_read_checked(index_dir, manifest, bm25_spec["file"]))
            rows = encoder_spec["rows"]
            if not (dim == static["dim"] == encoder_spec["dim"]) or len(table) != rows * (4 + dim):
                raise ValueError(f"dimensions disagree (index {dim}, manifest {static['dim']}, "
                                 f"encoder {encoder_spec['dim']})")
            if not (len(vectors) == len(metadata) == manifest["count"] == len(bm25_data["doc_lengths"])):
                raise ValueError("row counts disagree")
            encoder = StaticEncoder(vocab, chars, table, rows, dim, encoder_spec)
            bm25 = BM25(chars, bm25_data["doc_lengths"], bm25_data["postings"], bm25_spec["k1"], bm25_spec["b"])
        except SearchIndexError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise _index_error(index_dir, f"unreadable ({error})") from None
        return cls(metadata, encoder, vectors, bm25, bm25_spec.get("fusion", {}))

    def rank(self, query: str, method: str = "fused") -> list[tuple[int, float]]:
        """(row, score) pairs, best first; rows without any evidence are left out."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        query = query[:MAX_QUERY_CHARS]
        if not bm25_terms(query, self.encoder.tokenizer.chars):
            return []  # nothing but spaces, controls and punctuation
        if method == "bm25":
            return _best_first(self.bm25.scores(query))
        static = self._static_scores(query)
        if method == "static":
            return _best_first(static)
        bm25 = self.bm25.scores(query)
        best = max(bm25.values(), default=0.0) or 1.0
        fused = dict(static)
        for row, score in bm25.items():
            fused[row] = fused.get(row, 0.0) + self.bm25_weight * score / best
        return _best_first(fused)

    def _static_scores(self, query: str) -> dict[int, float]:
        vector = self.encoder.encode(query)
        if vector is None:
            return {}
        return {row: _dot(vector, doc) for row, doc in enumerate(self.vectors)}

    def search(self, query: str, k: int = 5, method: str = "fused") -> list[Hit]:
        hits = []
        for row, score in self.rank(query, method)[:k]:
            item = self.metadata[row]
            hits.append(Hit(id=item["id"], number=item["number"], question=item["question"],
                            topic=item["topic"], topic_title=item["topic_title"], url=item["url"],
                            needs_review=item["needs_review"], score=round(score, 6)))
        return hits

    def search_json(self, query: str, k: int = 5, method: str = "fused") -> str:
        return json.dumps([asdict(hit) for hit in self.search(query, k, method)], ensure_ascii=False)


def _best_first(scores: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
