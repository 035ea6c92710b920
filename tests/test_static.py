"""The static encoder build: determinism, and parity of the pure-Python encoder with model2vec.

Slow ones distil MiniLM once (cached under .cache/model2vec) and embed the bank's
sentences with the transformer (cached in .cache/embeddings.sqlite).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from stand_in_model import ASCII_CHARS

from qakb import caches, query_encoder as static
from qakb.embed import Embedder
from qakb.index import answer_passages
from qakb.markup import document_text, render_answers
from qakb.parse import parse_content
from qakb.whole_index import build_static_search
from qakb.engine.encoder import StaticEncoder
from qakb.engine.tokenizer import CharClasses

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache"  # shared with the other tests and the build


@pytest.fixture(scope="module")
def documents() -> list[str]:
    questions = list(parse_content(ROOT / "content").questions)
    answers = render_answers(questions, ROOT / "content")
    return [document_text(question, answers[question.anchor]) for question in questions]


@pytest.fixture(scope="module")
def passages(documents) -> list[list[str]]:
    return [answer_passages(document.split("\n", 1)[1]) for document in documents]


@pytest.fixture(scope="module")
def built(tmp_path_factory, documents, passages) -> tuple[Path, dict]:
    out_dir = tmp_path_factory.mktemp("static")
    return out_dir, build_static_search(documents, passages, out_dir, cache_dir=CACHE_DIR)


@pytest.mark.slow
def test_build_is_byte_identical_across_runs(built, documents, passages, tmp_path):
    first_dir, first_fragment = built
    second_fragment = build_static_search(documents, passages, tmp_path, cache_dir=CACHE_DIR)
    assert second_fragment == first_fragment
    names = sorted(path.name for path in first_dir.iterdir())
    assert names == sorted(path.name for path in tmp_path.iterdir())
    for name in names:
        assert (first_dir / name).read_bytes() == (tmp_path / name).read_bytes(), name


@pytest.mark.slow
def test_fragment_names_every_file_it_wrote(built):
    out_dir, fragment = built
    encoder = fragment["encoder"]
    named = {fragment["indexes"]["static"]["file"], fragment["indexes"]["passages"]["file"],
             fragment["passages"]["file"], fragment["bm25"]["file"],
             encoder["vocab_file"], encoder["table_file"], encoder["chars_file"]}
    assert named == {path.name for path in out_dir.iterdir()}
    assert json.loads(json.dumps(fragment)) == fragment


@pytest.mark.slow
def test_pure_python_encoder_matches_model2vec(built, documents):
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    out_dir, fragment = built
    spec = fragment["encoder"]
    vocab = (out_dir / spec["vocab_file"]).read_text(encoding="utf-8").split("\n")
    table_bytes = (out_dir / spec["table_file"]).read_bytes()
    chars = CharClasses(json.loads((out_dir / spec["chars_file"]).read_text(encoding="utf-8")))
    encoder = StaticEncoder(vocab, chars, table_bytes, spec["rows"], spec["dim"], spec)

    # The same table as a model2vec model: rows back in tokenizer id order, pruned tokens as zero rows.
    distilled = static.distilled_model(CACHE_DIR)
    rows = np.frombuffer(table_bytes, dtype=np.int8, offset=4 * spec["rows"]).reshape(spec["rows"], spec["dim"])
    scales = np.frombuffer(table_bytes, dtype="<f4", count=spec["rows"])
    row_of = {token: position for position, token in enumerate(vocab)}
    by_id = np.zeros((len(distilled.tokens), spec["dim"]), dtype=np.float32)
    for token_id, token in enumerate(distilled.tokens):
        if row_of[token] < spec["rows"]:
            by_id[token_id] = rows[row_of[token]] * scales[row_of[token]]
    reference = StaticModel(vectors=by_id, tokenizer=Tokenizer.from_str(distilled.tokenizer_json), normalize=True)

    queries = [entry["query"] for entry in yaml.safe_load((ROOT / "tests/data/queries.yml").read_text())]
    texts = documents + queries + ["Héllo naïve CAFÉ ΣΣ 中文 😀", "[PAD] and [UNK]", "x" * 5000, "", "😀"]
    expected = reference.encode(texts)
    ours = np.array([encoder.encode(text) or [0.0] * spec["dim"] for text in texts], dtype=np.float64)
    difference = float(np.abs(ours - expected).max())
    print(f"max abs difference to model2vec over {len(texts)} texts: {difference:.2e}")
    assert difference < 1e-5


def test_editing_one_document_of_a_big_bank_keeps_the_training_sample(monkeypatch):
    # Above the cap the sample is the texts with the smallest hashes: an edit to one document
    # changes only texts of that document, not which of the others are kept.
    documents = [f"Question {i}?\nAnswer number {i} says something about topic {i % 37}. "
                 f"A second sentence on item {i} follows here." for i in range(3000)]
    settings = static.StaticSettings(max_training_texts=1000, window_count=0)
    before = set(static.training_texts(documents, settings))
    edited = list(documents)
    edited[1234] = edited[1234].replace("follows here", "was edited in place")
    after = set(static.training_texts(edited, settings))
    assert len(before) == len(after) == 1000
    assert len(before - after) <= 2 and all("1234" in text for text in after - before)


@pytest.mark.slow
def test_a_rebuild_with_the_same_training_texts_reuses_the_trained_table(documents, passages, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    caches.distilled_models(cache).symlink_to(caches.distilled_models(CACHE_DIR))
    embed = Embedder(caches.embeddings(CACHE_DIR)).encode
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = build_static_search(documents, passages, tmp_path / "first", cache_dir=cache, embed=embed)
    assert len(list(caches.static_tables(cache).glob("*.npz"))) == 1

    def refit(*args, **kwargs):
        raise AssertionError("the table was fitted again")

    monkeypatch.setattr(static, "aligned_table", refit)
    second = build_static_search(documents, passages, tmp_path / "second", cache_dir=cache, embed=embed)
    assert second == first
    for path in (tmp_path / "first").iterdir():
        assert path.read_bytes() == (tmp_path / "second" / path.name).read_bytes(), path.name


@pytest.mark.slow
def test_a_table_fitted_to_nearly_the_same_texts_is_reused_and_one_fitted_to_others_is_not(
        documents, passages, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    caches.distilled_models(cache).symlink_to(caches.distilled_models(CACHE_DIR))
    embed = Embedder(caches.embeddings(CACHE_DIR)).encode
    for name in ("first", "edited", "other"):
        (tmp_path / name).mkdir()
    build_static_search(documents, passages, tmp_path / "first", cache_dir=cache, embed=embed)
    texts = static.training_texts(documents, static.StaticSettings())
    assert len(texts) * static.TABLE_REUSE_CHANGED >= 2  # room for an edit

    fitted = []
    aligned_table = static.aligned_table
    monkeypatch.setattr(static, "aligned_table", lambda *args: fitted.append(1) or aligned_table(*args))
    edited = list(documents)
    edited[3] += " One more sentence, written for this test."
    assert build_static_search(edited, passages, tmp_path / "edited", cache_dir=cache, embed=embed)
    assert not fitted
    assert (tmp_path / "edited" / "static_table.bin").read_bytes() == (tmp_path / "first" / "static_table.bin").read_bytes()

    others = [f"{document} {document[::-1]}" for document in documents]  # every training text differs
    build_static_search(others, passages, tmp_path / "other", cache_dir=cache, embed=embed)
    assert fitted == [1]


def test_bm25_data_from_kept_tokens_is_the_same_and_tokenizes_only_new_documents(documents, tmp_path, monkeypatch):
    from qakb.result_store import ResultStore

    chars = CharClasses(ASCII_CHARS)  # BM25's own code, whichever characters the tokenizer splits on
    fresh = static.bm25_data(documents, chars)
    store = ResultStore(tmp_path)
    assert static.bm25_data(documents, chars, store) == fresh
    tokenized = []
    words = chars.words
    monkeypatch.setattr(chars, "words", lambda text: tokenized.append(text) or words(text))
    edited = [*documents[:-1], documents[-1] + " Edited with a sentence of its own."]
    assert static.bm25_data(edited, chars, store) == static.bm25_data(edited, CharClasses(chars.ranges))
    assert tokenized == [edited[-1]]
