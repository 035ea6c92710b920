"""The whole layout: every file read and checked when the index opens (banks below `shard_above`)."""

from __future__ import annotations

import json
import struct
from array import array
from pathlib import Path

from qakb.engine.arrays import little_endian
from qakb.engine.bm25 import BM25
from qakb.engine.encoder import StaticEncoder
from qakb.engine.format import METADATA_FILE, Manifest
from qakb.engine.storage import Storage, bank_speller, read_checked, read_vocabulary

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
    values = little_endian(array("f", data[_FAISS_HEADER.size:]))
    return dim, [values[i * dim:(i + 1) * dim] for i in range(count)]


class WholeIndex(Storage):
    @classmethod
    def open(cls, index_dir: Path, manifest: Manifest) -> WholeIndex:
        """Raises ValueError (or KeyError, TypeError) when the files disagree with each other."""
        whole, encoder_spec, bm25_spec = manifest.whole, manifest.encoder, manifest.bm25
        metadata = json.loads(read_checked(index_dir, manifest, METADATA_FILE))
        vocab, chars = read_vocabulary(index_dir, manifest)
        table = read_checked(index_dir, manifest, whole.table_file)
        dim, vectors = read_faiss_flat(read_checked(index_dir, manifest, whole.static_index.file))
        passage_dim, passage_vectors = read_faiss_flat(read_checked(index_dir, manifest, whole.passage_index.file))
        passages = json.loads(read_checked(index_dir, manifest, whole.passages_file))
        bm25_data = json.loads(read_checked(index_dir, manifest, whole.bm25_file))
        rows = encoder_spec["rows"]
        if not (dim == whole.static_index.dim == encoder_spec["dim"]) or len(table) != rows * (4 + dim):
            raise ValueError(f"dimensions disagree (index {dim}, manifest {whole.static_index.dim}, "
                             f"encoder {encoder_spec['dim']})")
        if not (len(vectors) == len(metadata) == manifest.count == len(bm25_data["doc_lengths"]) == len(passages)):
            raise ValueError("row counts disagree")
        if (passage_vectors and passage_dim != dim) or len(passage_vectors) != sum(map(len, passages)):
            raise ValueError("passages.faiss does not match passages.json")
        passage_rows, first = [], 0
        for texts in passages:
            passage_rows.append(passage_vectors[first:first + len(texts)])
            first += len(texts)
        return cls(manifest, StaticEncoder(vocab, chars, table, rows, dim, encoder_spec),
                   BM25(chars, bm25_data["doc_lengths"], bm25_data["postings"], bm25_spec["k1"], bm25_spec["b"]),
                   bank_speller(bm25_data["words"], vocab), metadata, passages, vectors, passage_rows)
