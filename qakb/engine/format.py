"""search_index/ as the build writes it and the engine reads it: file names and the manifest.

FORMAT.md, beside this file, describes every file of both layouts (whole and sharded). The
writer (`qakb.index`, with `qakb.whole_index` and `qakb.shards`) builds one `Manifest` and
writes it last; every reader (the engine, the next build) reads it first and checks it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

FORMAT = "qakb-search-index"
FORMAT_VERSION = 4

MANIFEST_FILE = "manifest.json"
METADATA_FILE = "metadata.json"
TRANSFORMER_INDEX_FILE = "transformer.faiss"
VOCAB_FILE, CHARS_FILE = "static_vocab.txt", "static_chars.json"
# The whole layout's files.
STATIC_INDEX_FILE, PASSAGES_INDEX_FILE, PASSAGES_FILE = "static.faiss", "passages.faiss", "passages.json"
TABLE_FILE, BM25_FILE = "static_table.bin", "bm25.json"
# The sharded layout's files fetched up front; the shards themselves are named by the functions below.
CENTROIDS_FILE, WORDS_FILE, ITEMS_FILE = "centroids.bin", "words.json", "items.bin"


def table_file(number: int) -> str:
    return f"table-{number:04d}.bin"


def terms_file(first_term: str) -> str:
    """Named by its first term, not its place: a new range does not rename the ranges after it."""
    return f"terms-{hashlib.sha256(first_term.encode('utf-8')).hexdigest()[:12]}.json"


def list_file(number: int) -> str:
    return f"list-{number:04d}.bin"


def text_file(number: int, part: int) -> str:
    return f"text-{number:04d}-{part:03d}.json"


def vectors_file(number: int, part: int) -> str:
    """The int8 item and passage vectors of the rows text_file(number, part) holds the texts of."""
    return f"vectors-{number:04d}-{part:03d}.bin"


class SearchIndexError(Exception):
    """The search index is missing, damaged, or from another version."""


def index_error(index_dir, problem: str) -> SearchIndexError:
    return SearchIndexError(f"search index at {index_dir}: {problem}; run `qakb build` to rebuild it")


class ManifestError(ValueError):
    """A manifest.json that is not a qakb search index's, or of another format version."""


@dataclass(frozen=True)
class IndexFile:
    """A faiss flat inner-product index and the dimension of its rows (manifest "indexes")."""
    file: str
    dim: int
    metric: str = "inner_product"


@dataclass(frozen=True)
class WholeFiles:
    """The whole layout's files, named where the manifest puts them (its "indexes", "passages",
    "encoder" and "bm25" sections)."""
    static_index: IndexFile
    passage_index: IndexFile
    passages_file: str = PASSAGES_FILE
    table_file: str = TABLE_FILE
    bm25_file: str = BM25_FILE

    def to_json(self, encoder: dict, bm25: dict) -> dict:
        """The manifest's sections these files belong to, with the layout-free `encoder` and `bm25` sections."""
        return {"indexes": {"static": asdict(self.static_index), "passages": asdict(self.passage_index)},
                "passages": {"file": self.passages_file},
                "encoder": {**encoder, "table_file": self.table_file},
                "bm25": {**bm25, "file": self.bm25_file}}


@dataclass(frozen=True)
class Manifest:
    """manifest.json: what the index was built from and how, and the size and sha256 of its files.

    An index has one layout: `whole` (its files) or `shards` (the sharded layout's spec, as
    FORMAT.md describes it). `encoder` and `bm25` are the sections both layouts share; the
    whole layout adds its file names to them in the JSON."""
    model: str
    content_hash: str
    count: int
    transformer_index: IndexFile
    encoder: dict
    bm25: dict
    files: dict[str, dict] = field(default_factory=dict)  # name -> {"bytes": n, "sha256": hex}
    whole: WholeFiles | None = None
    shards: dict | None = None

    def __post_init__(self):
        if (self.whole is None) == (self.shards is None):
            raise ValueError("a search index is either whole or sharded")

    @property
    def upfront(self) -> list[str]:
        """The files the browser fetches, besides manifest.json, before its first search.

        Sharded: the encoder's vocabulary and character classes, the centroids, the speller's
        words and each item's row and length (the rest comes query by query). Whole: every file
        but the transformer index, which serves build-time features and `qakb ask --exact`, never
        the engine, and is the one file that grows with the bank at 1.5 kB a question. Pages do
        not name these files or their checksums: the browser reads both from the manifest, so a
        rebuild changes no page for it."""
        if self.shards is not None:
            return list(self.shards["upfront"])
        return [name for name in sorted(self.files) if name != self.transformer_index.file]

    def to_json(self) -> dict:
        data = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.model,
                "content_hash": self.content_hash, "count": self.count,
                "indexes": {"transformer": asdict(self.transformer_index)},
                "encoder": self.encoder, "bm25": self.bm25, "files": self.files, "upfront": self.upfront}
        if self.whole is not None:
            sections = self.whole.to_json(self.encoder, self.bm25)
            data["indexes"].update(sections.pop("indexes"))
            data.update(sections)
        else:
            data["shards"] = self.shards
        return data

    @classmethod
    def from_json(cls, data) -> Manifest:
        """Raises ManifestError for another format or version, KeyError, TypeError or ValueError
        for a manifest of this version without the fields it must have."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ManifestError("manifest.json is not a qakb search index manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise ManifestError(f"format_version {data.get('format_version')!r} is not {FORMAT_VERSION}")
        indexes, encoder, bm25 = data["indexes"], dict(data["encoder"]), dict(data["bm25"])
        whole = None
        if "shards" not in data:
            whole = WholeFiles(static_index=IndexFile(**indexes["static"]),
                               passage_index=IndexFile(**indexes["passages"]), passages_file=data["passages"]["file"],
                               table_file=encoder.pop("table_file"), bm25_file=bm25.pop("file"))
        return cls(model=data["model"], content_hash=data["content_hash"], count=data["count"],
                   transformer_index=IndexFile(**indexes["transformer"]), encoder=encoder, bm25=bm25,
                   files=data.get("files", {}), whole=whole, shards=data.get("shards"))
