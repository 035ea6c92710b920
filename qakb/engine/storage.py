"""What the ranking reads of an index, whatever its layout: one interface, `Storage`.

A whole index (`qakb.engine.whole`) reads every file when it opens. A sharded one
(`qakb.engine.sharded`) reads the files it needs as queries need them, and raises
`ShardsMissing` for those not on disk yet: the browser fetches them and asks again.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from pathlib import Path

from qakb.engine.bm25 import BM25
from qakb.engine.encoder import StaticEncoder
from qakb.engine.format import Manifest, index_error
from qakb.engine.speller import Speller
from qakb.engine.tokenizer import CharClasses


class ShardsMissing(Exception):
    """Shard files a search needs that are not in the index folder yet (the browser fetches them)."""

    def __init__(self, checksums: dict[str, str]):
        super().__init__(f"shard files missing: {', '.join(checksums)}")
        self.checksums = checksums  # name -> short checksum, which versions the file's URL

    @property
    def names(self) -> list[str]:
        return list(self.checksums)


class Storage:
    """An opened index: its encoder, BM25 and speller, and per row (item) its metadata, passage
    texts, static vector and passage vectors. A sharded index fills the rows as their shards are
    read (None until then).

    A search calls, in order: `prepare` (before encoding the query and scoring its terms), then
    `rows_for` (the rows to rank), `vectors_of` (their vectors) and `texts_of` (the hits' texts).
    With a `rerank_depth`, the ranking first scores `rows_for`'s rows by `coarse_vectors` and asks
    `vectors_of` for that many of them only (a sharded index: the others' vectors are not fetched).
    """

    rerank_depth: int | None = None  # None: every row of rows_for is ranked with its vectors

    def __init__(self, manifest: Manifest, encoder: StaticEncoder, bm25: BM25, speller: Speller,
                 metadata: list, passages: list, vectors: list, passage_rows: list):
        self.manifest = manifest
        self.encoder, self.bm25, self.speller = encoder, bm25, speller
        self.metadata: list[dict | None] = metadata
        self.passages: list[list[str] | None] = passages
        self.vectors: list[array | None] = vectors
        self.passage_rows: list[list[array] | None] = passage_rows  # each row's passages' vectors

    def prepare(self, text: str, terms: list[str], encode: bool) -> None:
        """Read what encoding `text` (if `encode`) and scoring `terms` need."""

    def rows_for(self, vector: list[float] | None, bm25: dict[int, float]):
        """The rows a query with this vector and these BM25 scores ranks (iterable, with fast `in`)."""
        return range(len(self.metadata))

    def coarse_vectors(self, rows):
        """(row, vector) of each of `rows`, which `rows_for` gave: vectors good enough to choose the
        rows to rank (a whole index: the vectors themselves)."""
        vectors = self.vectors
        for row in rows:
            yield row, vectors[row]

    def vectors_of(self, rows):
        """(row, vector, passage vectors) of each of `rows`, which `rows_for` gave."""
        vectors, passage_rows = self.vectors, self.passage_rows
        for row in rows:
            yield row, vectors[row], passage_rows[row]

    def texts_of(self, rows) -> list[tuple[dict, list[str]]]:
        """(metadata, passage texts) of each of `rows`."""
        return [(self.metadata[row], self.passages[row]) for row in rows]


def read_checked(index_dir: Path, manifest: Manifest, name: str) -> bytes:
    """A file the manifest lists, checked against its size and sha256 there."""
    entry = manifest.files.get(name)
    if entry is None:
        raise index_error(index_dir, f"manifest does not list {name}")
    try:
        data = (index_dir / name).read_bytes()
    except OSError:
        raise index_error(index_dir, f"{name} is missing") from None
    if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise index_error(index_dir, f"{name} does not match its size or checksum in the manifest")
    return data


def read_vocabulary(index_dir: Path, manifest: Manifest) -> tuple[list[str], CharClasses]:
    """The encoder's tokens (line i is token i) and character classes, which both layouts keep whole."""
    encoder = manifest.encoder
    vocab = read_checked(index_dir, manifest, encoder["vocab_file"]).decode("utf-8").split("\n")
    chars = CharClasses(json.loads(read_checked(index_dir, manifest, encoder["chars_file"])))
    return vocab, chars


def bank_speller(words: dict[str, int], vocab: list[str]) -> Speller:
    """The speller of the bank's `words` (with their counts); whole words the encoder knows are left alone."""
    return Speller(words, frozenset(token for token in vocab if token.isalpha()))
