"""The sharded layout: an index written in lists and ranges, read as queries need them.

Opening reads the files every query needs (vocabulary, character classes, centroids, the
speller's words, items.bin); a query then reads the table chunks of its tokens and the term
ranges of its words (`prepare`), the lists it probes (`rows_for`: their rows' coarse 4-bit
vectors, `coarse_vectors`), the vectors files of the rows it reranks (`vectors_of`) and its
hits' texts (`texts_of`). Every shard is checked against the first 16 hex digits of its
sha256: table chunks, term ranges and lists against the manifest, a list's text and vectors
files against the list.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import struct
from array import array
from pathlib import Path

from qakb.engine.arrays import dot, little_endian
from qakb.engine.bm25 import BM25
from qakb.engine.encoder import StaticEncoder
from qakb.engine.format import Manifest, index_error, list_file, table_file, terms_file, text_file, vectors_file
from qakb.engine.speller import Speller
from qakb.engine.storage import ShardsMissing, Storage, bank_speller, read_checked, read_vocabulary

_HEADER_SIZE = struct.Struct("<I")
ROW_TYPES = {2: "H", 4: "I"}  # items.bin's row_bytes -> array type code
# A byte of two 4-bit values (FORMAT.md, list-NNNN.bin): its high and low half, each stored as value + 8.
_HIGH = bytes(((byte >> 4) - 8) % 256 for byte in range(256))
_LOW = bytes(((byte & 15) - 8) % 256 for byte in range(256))


def read_header(data: bytes) -> tuple[dict, int]:
    """A list or vectors file's JSON header, and where its body starts (FORMAT.md)."""
    (size,) = _HEADER_SIZE.unpack_from(data)
    return json.loads(data[4:4 + size]), 4 + size + (-(4 + size)) % 4


def int4_values(packed: bytes, dim: int, count: int) -> array:
    """`count` rows of `dim` signed values from rows of two values a byte (an odd dim: one pad value a row)."""
    width = (dim + 1) // 2
    if len(packed) != width * count:
        raise ValueError("the 4-bit rows do not fill the file")
    values = array("b", bytes(2 * width * count))
    values[0::2], values[1::2] = array("b", packed.translate(_HIGH)), array("b", packed.translate(_LOW))
    if dim % 2:
        values = array("b", b"".join(values[row * 2 * width:row * 2 * width + dim].tobytes() for row in range(count)))
    return values


def read_items(data: bytes, numbers: int, row_bytes: int, count: int) -> tuple[list[int], list[int]]:
    """items.bin: the row of each item number (`count` or above: none), and the length of each row."""
    rows = little_endian(array(ROW_TYPES[row_bytes], data[:numbers * row_bytes]))
    lengths = little_endian(array("H", data[numbers * row_bytes:]))
    if len(rows) != numbers or len(lengths) != count:
        raise ValueError("items.bin does not hold a row for every item number and a length for every row")
    return [row if row < count else count for row in rows], list(lengths)


class ShardedIndex(Storage):
    def __init__(self, index_dir: Path, manifest: Manifest, centroids: list[array], encoder: StaticEncoder,
                 bm25: BM25, speller: Speller):
        count = manifest.count
        super().__init__(manifest, encoder, bm25, speller, [None] * count, [None] * count, [None] * count, [None] * count)
        spec = manifest.shards
        self.index_dir = Path(index_dir)
        self.dim = manifest.encoder["dim"]
        self.centroids = centroids
        self.offsets: list[int] = spec["offsets"]
        self.probe_count, self.lexical_probe = spec["probe"], spec["lexical_probe"]
        self.table_rows, self.text_rows = spec["table_rows"], spec["text_rows"]
        self.rerank_depth: int | None = spec["rerank"]
        self.coarse: list[array | None] = [None] * count  # the probed lists' 4-bit item vectors
        self.term_firsts: list[str] = spec["term_firsts"]
        hashes = spec["hashes"]
        if len(hashes["lists"]) != len(centroids) or len(hashes["terms"]) != len(self.term_firsts):
            raise ValueError("the shard lists disagree with the manifest")
        self.hashes: dict[str, str] = {}
        for kind, name_of in (("table", table_file), ("terms", lambda number: terms_file(self.term_firsts[number])),
                              ("lists", list_file)):
            self.hashes.update((name_of(number), digest) for number, digest in enumerate(hashes[kind]))
        self.loaded: set[str] = set()
        self._probe_all = False

    @classmethod
    def open(cls, index_dir: Path, manifest: Manifest) -> ShardedIndex:
        """Read the files every query needs; raises ValueError (or KeyError, TypeError) when they disagree."""
        encoder_spec, bm25_spec, spec = manifest.encoder, manifest.bm25, manifest.shards
        vocab, chars = read_vocabulary(index_dir, manifest)
        words = json.loads(read_checked(index_dir, manifest, spec["words_file"]))
        dim, count = encoder_spec["dim"], manifest.count
        centroids = little_endian(array("f", read_checked(index_dir, manifest, spec["centroids_file"])))
        centroids = [centroids[i * dim:(i + 1) * dim] for i in range(len(centroids) // dim)]
        if len(centroids) != len(spec["offsets"]) - 1 or spec["offsets"][-1] != count:
            raise ValueError("the lists disagree with the centroids or the item count")
        row_of, lengths = read_items(read_checked(index_dir, manifest, spec["items_file"]), spec["numbers"],
                                     spec["row_bytes"], count)
        return cls(index_dir, manifest, centroids, StaticEncoder(vocab, chars, b"", encoder_spec["rows"], dim, encoder_spec),
                   BM25.sharded(chars, lengths, row_of, spec["max_idf"], bm25_spec["k1"], bm25_spec["b"]),
                   bank_speller(words, vocab))

    # -- what a search reads -----------------------------------------------------------------

    def prepare(self, text: str, terms: list[str], encode: bool) -> None:
        """The table chunks of the query's tokens and the term ranges of its terms."""
        token_ids = self.encoder.token_ids(text) if encode else []
        chunks = sorted({token // self.table_rows for token in token_ids})
        ranges = sorted({max(0, bisect.bisect_right(self.term_firsts, term) - 1) for term in terms})
        self.require([name for name in map(table_file, chunks) if name in self.hashes]
                     + [terms_file(self.term_firsts[number]) for number in ranges])

    @property
    def probe_all(self) -> bool:
        """Exhaustive search: every list probed and every row ranked with its int8 vectors."""
        return self._probe_all

    @probe_all.setter
    def probe_all(self, value: bool) -> None:
        self._probe_all = value
        self.rerank_depth = None if value else self.manifest.shards["rerank"]

    def rows_for(self, vector: list[float] | None, bm25: dict[int, float]) -> set[int]:
        lists = self.probe(vector, bm25)
        self.require([list_file(number) for number in lists])
        offsets = self.offsets
        return {row for number in lists for row in range(offsets[number], offsets[number + 1])}

    def coarse_vectors(self, rows):
        coarse = self.coarse
        for row in rows:
            yield row, coarse[row]

    def vectors_of(self, rows):
        rows = list(rows)
        self.require(self.row_files(rows, vectors_file))
        return super().vectors_of(rows)

    def texts_of(self, rows) -> list[tuple[dict, list[str]]]:
        rows = list(rows)
        self.require(self.row_files(rows, text_file))
        return super().texts_of(rows)

    def probe(self, vector, bm25: dict[int, float]) -> list[int]:
        """The lists a query searches: the `probe` nearest centroids and the lists of its best BM25 rows."""
        if self.probe_all:
            return list(range(len(self.centroids)))
        chosen: set[int] = set()
        if vector is not None:
            closeness = [(dot(vector, centroid), -number) for number, centroid in enumerate(self.centroids)]
            chosen.update(-number for _, number in heapq.nlargest(self.probe_count, closeness))
        if bm25:
            best = heapq.nlargest(self.lexical_probe, ((score, -row) for row, score in bm25.items()))
            chosen.update(self.list_of(-row) for _, row in best)
        return sorted(chosen)

    def list_of(self, row: int) -> int:
        return bisect.bisect_right(self.offsets, row) - 1

    def row_files(self, rows, name_of=text_file) -> list[str]:
        """The text files (or, with `vectors_file`, the vectors files) holding `rows`."""
        names = []
        for row in rows:
            number = self.list_of(row)
            names.append(name_of(number, (row - self.offsets[number]) // self.text_rows))
        return names

    # -- reading shards ------------------------------------------------------------------------

    def require(self, names, vectors: bool = True) -> None:
        """Read the named files unless read already; ShardsMissing names those not on disk.

        With `vectors` False a list is checked and gives its text and vectors files' checksums, but its
        vectors are not read (nor is it counted as read)."""
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
                raise index_error(self.index_dir, f"{name} is unreadable") from None
            expected = self.hashes.get(name)
            if expected is None or hashlib.sha256(data).hexdigest()[:len(expected)] != expected:
                raise index_error(self.index_dir, f"{name} does not match its checksum")
            try:
                complete = self._read(name, data, vectors)
            except (KeyError, TypeError, ValueError, struct.error) as error:
                raise index_error(self.index_dir, f"{name} is unreadable ({error})") from None
            if complete:
                self.loaded.add(name)
        if missing:
            raise ShardsMissing({name: self.hashes.get(name, "") for name in missing})

    def _read(self, name: str, data: bytes, vectors: bool = True) -> bool:
        """Read one checked file; False when only part of it was read (a list's header)."""
        kind, number = name.split(".")[0].split("-")[:2]
        if kind == "terms":
            self.bm25.add_postings(json.loads(data))
            return True
        number = int(number)
        if kind == "table":
            self.encoder.fill(number * self.table_rows, data)
        elif kind == "list":
            self._read_list(number, data, vectors)
            return vectors
        else:
            part = int(name.split(".")[0].split("-")[2])
            first = self.offsets[number] + part * self.text_rows
            rows = min(self.text_rows, self.offsets[number + 1] - first)
            if kind == "vectors":
                self._read_vectors(first, rows, data)
            else:
                texts = json.loads(data)
                for row, (item, passages) in enumerate(zip(texts["metadata"], texts["passages"]), start=first):
                    self.metadata[row], self.passages[row] = item, passages
        return True

    def _read_list(self, number: int, data: bytes, vectors: bool = True) -> None:
        """A list: its files' checksums, then its rows' 4-bit item vectors, a float32 scale each."""
        header, start = read_header(data)
        for part, (text_digest, vectors_digest) in enumerate(zip(header["texts"], header["vectors"], strict=True)):
            self.hashes[text_file(number, part)] = text_digest
            self.hashes[vectors_file(number, part)] = vectors_digest
        if not vectors:
            return
        first, dim = self.offsets[number], self.dim
        items = self.offsets[number + 1] - first
        scales = little_endian(array("f", data[start:start + 4 * items]))
        values = int4_values(data[start + 4 * items:], dim, items)
        for position, scale in enumerate(scales):
            self.coarse[first + position] = array("f", [scale * value for value in values[position * dim:(position + 1) * dim]])

    def _read_vectors(self, first: int, count: int, data: bytes) -> None:
        """A vectors file of `count` rows from `first`: int8 item vectors, then passage vectors, a float32 scale each."""
        header, start = read_header(data)
        counts, dim = header["passages"], self.dim
        total = count + sum(counts)
        scales = little_endian(array("f", data[start:start + 4 * total]))
        values = array("b", data[start + 4 * total:])
        if len(counts) != count or len(scales) != total or len(values) != total * dim:
            raise ValueError("the vectors do not match their header")
        rows = [array("f", [scale * value for value in values[i * dim:(i + 1) * dim]]) for i, scale in enumerate(scales)]
        passage = count
        for position, passages in enumerate(counts):
            self.vectors[first + position] = rows[position]
            self.passage_rows[first + position] = rows[passage:passage + passages]
            passage += passages
