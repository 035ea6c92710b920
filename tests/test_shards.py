"""The sharded index (qakb.shards) read lazily by the engine: recall against exhaustive search,
only the probed shards read, the browser's fetch-and-ask protocol, checksums.

The two test banks' evaluation indexes, sharded into lists of a few items so that a query probes
a small part of them, as it does at 10,000 items. Fast: the indexes written with a stand-in for the
model (tests/stand_in_model.py); slow: recall and ranking, on the indexes the real model makes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from projects import ROOT
from stand_in_model import StandInModel, standing_in
from qakb import caches
from qakb.config import load_settings
from qakb.engine import Engine, SearchIndexError, ShardsMissing
from qakb.engine.format import list_file, terms_file, vectors_file
from qakb.evaluate import index_for_content
from qakb.index import shard_whole_index
from qakb.parse import parse_content
from qakb.plugin.search_assets import engine_index_files
from qakb.session import BuildSession
from qakb.shards import ShardSettings, load_everything, load_metadata
from qakb.whole_index import WHOLE_FILES

DATA = ROOT / "tests" / "data"
BANKS = {"ml-dl": (ROOT / "content", [DATA / "queries.yml", DATA / "queries-holdout.yml"]),
         "data-science": (DATA / "ds-bank", [DATA / "ds-bank" / "queries-dev.yml",
                                             DATA / "ds-bank" / "queries-holdout.yml"])}
# Lists of ~4 items, 5 probed by the vectors plus those of the 5 best BM25 hits: about half of
# a 40-70 item bank, whose questions each cover a topic of their own; 10 of their rows ranked with
# their int8 vectors. At 10,000 items a query probes ~13% of the bank and ranks 25 rows of it
# (scripts/bench_scale.py measures recall@10 there).
SMALL_LISTS = ShardSettings(items_per_list=4, probe=5, lexical_probe=5, rerank=10, table_rows=256, text_rows=2)
# Written for these tests, in words of their own: none comes from the query files.
OWN_QUERIES = [
    "my network's loss turns into NaN halfway through training",
    "how do I keep a model from memorising the training set",
    "what's the point of splitting data into train and test",
    "difference between precision and recall",
    "why normalise the inputs before gradient descent",
    "trees that vote together",
    "reduce the number of features while keeping variance",
    "what does the learning rate control",
    "when is accuracy a bad way to judge a classifier",
    "activation function that outputs zero for negatives",
]


def shard_copy(source: Path, target: Path, settings: ShardSettings = SMALL_LISTS, previous: Path | None = None,
               session: BuildSession | None = None) -> Path:
    """A sharded copy of the unsharded index `source`, as write_index would write it."""
    shard_whole_index(source, target, settings, previous, session)
    return target


def sharded_banks(folder: Path, cache_dir: Path) -> dict[str, tuple[Path, Path, list[str]]]:
    """Per bank: its unsharded index, a sharded copy, and its queries (query files + OWN_QUERIES)."""
    found = {}
    for name, (content, query_files) in BANKS.items():
        whole = index_for_content(content, cache_dir)
        queries = [item["query"] for path in query_files
                   for item in yaml.safe_load(path.read_text(encoding="utf-8"))] + OWN_QUERIES
        found[name] = (whole, shard_copy(whole, folder / name / "index"), queries)
    return found


@pytest.fixture(scope="module")
def indexes(tmp_path_factory) -> dict[str, tuple[Path, Path, list[str]]]:
    """The banks' indexes written with the stand-in model, in a cache folder of their own."""
    folder = tmp_path_factory.mktemp("stand-in")
    with standing_in(StandInModel()):
        return sharded_banks(folder, folder / "cache")


@pytest.fixture(scope="module")
def model_indexes(tmp_path_factory) -> dict[str, tuple[Path, Path, list[str]]]:
    """The banks' indexes as the real model makes them (cached in .cache/, with its embeddings)."""
    return sharded_banks(tmp_path_factory.mktemp("model"), ROOT / ".cache")


def exhaustive(index_dir: Path) -> Engine:
    engine = Engine.open(index_dir)
    load_everything(engine)
    return engine


@pytest.mark.slow
@pytest.mark.parametrize("bank", BANKS)
def test_probed_search_recalls_the_exhaustive_top5(model_indexes, bank):
    _, sharded, queries = model_indexes[bank]
    probed, full = Engine.open(sharded), exhaustive(sharded)
    found = total = 0
    for query in queries:
        expected = {row for row, _ in full.rank(query)[:5]}
        found += len(expected & {row for row, _ in probed.rank(query)[:5]})
        total += len(expected)
    assert len(queries) >= 40 and total > 0
    assert found / total >= 0.95, f"recall@5 {found / total:.3f} on {len(queries)} queries"


@pytest.mark.slow
@pytest.mark.parametrize("bank", BANKS)
def test_exhaustive_sharded_search_ranks_as_the_whole_index(model_indexes, bank):
    """The shards' int8 vectors move scores by ~1e-3, not the ranking a reader sees."""
    whole, sharded, queries = model_indexes[bank]
    flat, full = Engine.open(whole), exhaustive(sharded)
    same_first = sum(flat.search(q, 1)[0].id == full.search(q, 1)[0].id for q in queries if flat.search(q, 1))
    assert same_first / len(queries) >= 0.95
    hit, expected = full.search(queries[0], 1)[0], flat.search(queries[0], 1)[0]
    assert abs(hit.score - expected.score) < 0.01 and hit.snippet == expected.snippet and hit.url == expected.url


def test_a_query_reads_only_the_shards_it_probes(indexes):
    _, sharded, _ = indexes["ml-dl"]
    engine = Engine.open(sharded)
    query = "why does my loss become nan"
    hits = engine.search(query, 5)
    spec = json.loads((sharded / "manifest.json").read_text(encoding="utf-8"))["shards"]
    read = engine.storage.loaded
    lists = {name for name in read if name.startswith("list-")}
    assert hits and 0 < len(lists) < spec["lists"]
    found = engine.evidence(query)
    storage = engine.storage
    assert len(found.rows) == spec["rerank"] and {list_file(storage.list_of(row)) for row in found.rows} <= lists
    assert {name for name in read if name.startswith("vectors-")} == set(storage.row_files(found.rows, vectors_file))
    assert {name for name in read if name.startswith("text-")} == set(storage.row_files(
        row for row, _ in engine.rank(query)[:5]))
    assert len({name for name in read if name.startswith("table-")}) <= len(engine.encoder.token_ids(query))
    assert len({name for name in read if name.startswith("terms-")}) <= len(found.marked)


def test_the_browser_protocol_fetches_what_the_engine_names_and_ends_with_the_same_hits(indexes, tmp_path):
    """As the worker does: only the manifest and the up-front files at first, then each file the
    engine names as missing, until it answers; the hits equal those of a local search."""
    _, sharded, queries = indexes["data-science"]
    manifest = json.loads((sharded / "manifest.json").read_text(encoding="utf-8"))
    browser_dir = tmp_path / "browser"
    browser_dir.mkdir()
    for name in ["manifest.json", *engine_index_files(manifest)]:
        shutil.copy2(sharded / name, browser_dir / name)
    assert set(engine_index_files(manifest)) == set(manifest["shards"]["upfront"])
    browser, local = Engine.open(browser_dir), Engine.open(sharded)
    for query in queries[:15] + OWN_QUERIES[:3]:
        rounds = 0
        while True:
            answer = json.loads(browser.search_or_missing_json(query, 5))
            if "hits" in answer:
                break
            rounds += 1
            assert rounds <= 4 and answer["missing"]  # table and terms, lists, vectors, texts
            for name in answer["missing"]:
                shutil.copy2(sharded / name, browser_dir / name)
        assert answer["hits"] == json.loads(local.search_json(query, 5))
    with pytest.raises(ShardsMissing):
        Engine.open(browser_dir).search("a query with fresh words: eigenvalues of the covariance", 5)


def test_a_damaged_shard_is_refused_with_its_name(indexes, tmp_path):
    _, sharded, _ = indexes["ml-dl"]
    damaged = shutil.copytree(sharded, tmp_path / "damaged")
    for path in damaged.glob("list-*.bin"):
        path.write_bytes(path.read_bytes()[:-1] + b"\x01")
    with pytest.raises(SearchIndexError, match=r"list-\d{4}\.bin does not match its checksum.*qakb build"):
        Engine.open(damaged).search("what is dropout", 5)


def write_bank_index(content: Path, out_dir: Path, cache_dir: Path, **options) -> dict:
    """write_index on the bank files in `content`, all in one topic, as `qakb eval` indexes them; the manifest."""
    from qakb.embed import Embedder
    from qakb.index import answer_passages, write_index
    from qakb.markup import answers_and_documents
    from qakb.topics import Topic

    questions = list(parse_content(content).questions)
    answers, documents = answers_and_documents(questions, content)
    passages = [answer_passages(answers[question.anchor].text) for question in questions]
    topic_of = {question.anchor: Topic(slug="all", title="All questions", description="") for question in questions}
    embedder = Embedder(caches.embeddings(cache_dir))
    try:
        write_index(out_dir, questions, documents, passages, topic_of, embedder.encode(documents), "hash", cache_dir,
                    embed=embedder.encode, **options)
    finally:
        embedder.close()
    return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))


def test_small_banks_keep_the_whole_index(tmp_path):
    """Below the threshold write_index writes exactly what it did before shards existed."""
    count = len(parse_content(ROOT / "content").questions)
    with standing_in(StandInModel()):
        manifest = write_bank_index(ROOT / "content", tmp_path / "whole", tmp_path / "cache", shard_above=count + 1)
        at_threshold = write_bank_index(ROOT / "content", tmp_path / "sharded", tmp_path / "cache", shard_above=count)
    whole = tmp_path / "whole"
    assert "shards" not in manifest and (whole / "static_table.bin").is_file()
    assert "static_table.bin" in engine_index_files(manifest)
    assert "shards" in at_threshold and not (tmp_path / "sharded" / "static_table.bin").exists()
    assert count < load_settings(ROOT).shard_above, "this project's bank is written whole"


# --- in the browser ---------------------------------------------------------------------------

BROWSER_QUERIES = ["why does my loss become nan", "how do I stop overfitting", "what is dropout",
                   "activation functions for the output layer", "vanishing gradient in recurrent networks"]


@pytest.fixture(scope="module")
def sharded_site(tmp_path_factory) -> Path:
    """The seed bank built with the threshold lowered so that it shards, one question a list."""
    from projects import make_project, qakb

    project = make_project(tmp_path_factory.mktemp("sharded") / "project")
    mkdocs_file = project / "mkdocs.yml"
    mkdocs_file.write_text(mkdocs_file.read_text(encoding="utf-8").replace(
        "      index_dir: search_index\n", "      index_dir: search_index\n      shard_above: 10\n      shard_list_size: 1\n"),
        encoding="utf-8")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((project / "search_index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["shards"]["lists"] == manifest["count"] and not (project / "search_index" / "bm25.json").exists()
    return project


@pytest.mark.slow
@pytest.mark.browser
def test_the_browser_fetches_only_the_probed_shards_and_ranks_as_qakb_ask(open_page, sharded_site):
    from conftest import serve

    from projects import qakb

    server = serve(sharded_site / "site")
    try:
        browser = open_page()
        page = browser.page
        page.goto(server.url)
        page.evaluate("window.qakbSearch.start()")
        page.wait_for_function("window.qakbSearch && window.qakbSearch.state === 'ready'", timeout=60_000)
        # metadata.json is the practice progress bars' (practice-store.js), not the search's.
        booted = {url.split("/search_index/")[1].split("?")[0] for url in browser.requests
                  if "/search_index/" in url} - {"metadata.json"}
        results = page.evaluate(
            "async qs => { const out = []; for (const q of qs) out.push(await window.qakbSearch.search(q, 5)); return out; }",
            BROWSER_QUERIES)
        fetched = {url.split("/search_index/")[1].split("?")[0] for url in browser.requests
                   if "/search_index/" in url} - {"metadata.json"}
    finally:
        server.stop()
    manifest = json.loads((sharded_site / "search_index" / "manifest.json").read_text(encoding="utf-8"))
    assert booted == {"manifest.json", *manifest["shards"]["upfront"]}

    engine = Engine.open(sharded_site / "search_index")  # what `qakb ask` opens
    for query, hits in zip(BROWSER_QUERIES, results):
        assert [(hit["id"], hit["score"], hit["snippet"]) for hit in hits] == [
            (hit.id, hit.score, hit.snippet) for hit in engine.search(query, 5)], query
    assert fetched - booted == engine.storage.loaded
    lists = {name for name in fetched if name.startswith("list-")}
    assert 0 < len(lists) < manifest["shards"]["lists"]

    cli = qakb(sharded_site, "ask", "--json", BROWSER_QUERIES[1])
    assert cli.returncode == 0, cli.stderr
    assert [(hit["id"], hit["score"]) for hit in json.loads(cli.stdout)] == [
        (hit["id"], hit["score"]) for hit in results[1]]


def clustered_vectors(seed: int, count: int = 400, clusters: int = 10, dim: int = 16):

    generator = np.random.default_rng(seed)
    centres = generator.normal(size=(clusters, dim))
    vectors = centres[generator.integers(0, clusters, count)] + 0.3 * generator.normal(size=(count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype("float32")


def test_a_rebuild_keeps_the_partition_while_it_fits_and_retrains_when_it_does_not():
    import faiss

    from qakb.shards import _lists

    settings = ShardSettings(items_per_list=40)
    vectors = clustered_vectors(0)
    centroids, list_of, fit = _lists(faiss, vectors, settings)
    previous = {"centroids": centroids, "trained_fit": fit}

    edited = vectors.copy()
    edited[7] = vectors[123]  # one item now reads like another
    kept, kept_lists, kept_fit = _lists(faiss, edited, settings, previous)
    assert kept is centroids and kept_fit == fit
    assert set(np.flatnonzero(kept_lists != list_of)) <= {7}  # only the edited item may move

    # An item stays in its last list while that list is nearly as near as its nearest, not beyond.
    similarities = edited @ centroids.T
    ranked = np.sort(similarities, axis=1)
    close, far = int(np.argmin(ranked[:, -1] - ranked[:, -2])), int(np.argmax(ranked[:, -1] - ranked[:, -2]))
    gaps = ranked[:, -1] - ranked[:, -2]
    margin = ShardSettings(items_per_list=40, stay_margin=float(gaps[close] + gaps[far]) / 2)
    second = np.argsort(similarities, axis=1)[:, -2]
    ids = [f"item-{row}" for row in range(len(edited))]
    previous["list_of_id"] = {ids[close]: int(second[close]), ids[far]: int(second[far])}
    _, sticky_lists, _ = _lists(faiss, edited, margin, previous, ids)
    assert sticky_lists[close] == second[close] and sticky_lists[far] == kept_lists[far]
    assert all(sticky_lists[row] == kept_lists[row] for row in range(len(edited)) if row not in (close, far))

    # A new bank of other content: the old centroids no longer fit, so they are trained afresh.
    other = clustered_vectors(1)
    retrained, _, _ = _lists(faiss, other, settings, previous)
    assert retrained.shape == centroids.shape and not np.array_equal(retrained, centroids)
    # More items, more lists: trained afresh.
    grown = np.concatenate([vectors, clustered_vectors(0, count=80)])
    assert _lists(faiss, grown, settings, previous)[0].shape[0] == 12


def test_a_new_term_changes_one_range_of_postings(tmp_path):
    import random

    from qakb.shards import _write_term_shards

    session = BuildSession()
    generator = random.Random(0)
    words = sorted({"".join(generator.choices("abcdefghij", k=generator.randint(3, 9))) for _ in range(3000)})
    postings = {word: [doc for d in sorted(generator.sample(range(200), 3)) for doc in (d, 1)] for word in words}
    numbers = {doc: doc for doc in range(200)}
    settings = ShardSettings(term_shard_bytes=2_000)

    def ranges(folder: Path, postings: dict) -> dict[str, bytes]:
        folder.mkdir()
        firsts, _ = _write_term_shards(folder, postings, numbers, settings, session)
        assert sorted(path.name for path in folder.iterdir()) == sorted(map(terms_file, firsts))
        return {first: (folder / terms_file(first)).read_bytes() for first in firsts}

    before = ranges(tmp_path / "a", postings)
    assert 10 <= len(before) <= 80  # about term_shard_bytes each
    after = ranges(tmp_path / "b", {**postings, "cabbage": [5, 2]})
    changed = [first for first in after if before.get(first) != after[first]]
    assert len(changed) == 1 and len(after) - len(before) in (0, 1)
    removed = dict(postings)
    del removed[words[len(words) // 2]]
    after_removal = ranges(tmp_path / "c", removed)
    assert len([first for first in after_removal if before.get(first) != after_removal[first]]) <= 1


def test_items_keep_their_numbers_and_new_ones_take_free_numbers():
    from qakb.shards import item_numbers

    assert item_numbers(["a", "b", "c"], {}, 0.25) == [0, 1, 2]
    # Reordered (rows moved between lists), one item gone, one new: the new one takes the free number.
    assert item_numbers(["c", "new", "a", "d"], {"a": 0, "b": 1, "c": 2, "d": 3}, 0.25) == [2, 1, 0, 3]
    # Two new items, one free number: the second goes on the end.
    assert item_numbers(["x", "a", "y"], {"a": 0, "b": 1}, 0.25) == [1, 0, 2]
    # Most items gone: packed again, in the given order.
    assert item_numbers(["d", "a"], {"a": 0, "b": 1, "c": 2, "d": 3}, 0.25) == [0, 1]
    assert item_numbers(["d", "a", "c"], {"a": 0, "b": 1, "c": 2, "d": 3}, 0.25) == [3, 0, 2]


def test_a_rebuild_that_moves_every_row_leaves_every_term_range_as_it_was(indexes, tmp_path):
    """Rows follow lists: other lists renumber every row. The postings name items by the numbers
    they kept, so only items.bin (rows and lengths) changes, and the search does not."""
    whole, sharded, queries = indexes["data-science"]
    other_lists = ShardSettings(items_per_list=5, probe=5, lexical_probe=5, table_rows=256, text_rows=2)
    moved = shard_copy(whole, tmp_path / "moved", other_lists, previous=sharded)
    spec = json.loads((moved / "manifest.json").read_text(encoding="utf-8"))["shards"]
    before = json.loads((sharded / "manifest.json").read_text(encoding="utf-8"))["shards"]
    assert spec["offsets"] != before["offsets"]
    terms = sorted(path.name for path in sharded.glob("terms-*.json"))
    assert terms and terms == sorted(path.name for path in moved.glob("terms-*.json"))
    assert all((sharded / name).read_bytes() == (moved / name).read_bytes() for name in terms)
    assert (sharded / "items.bin").read_bytes() != (moved / "items.bin").read_bytes()
    a, b = exhaustive(sharded), Engine.open(moved)
    load_everything(b)
    for query in queries[:20]:
        assert [(hit.id, round(hit.score, 6)) for hit in a.search(query, 5)] == [
            (hit.id, round(hit.score, 6)) for hit in b.search(query, 5)], query


def test_sharded_bm25_scores_equal_the_whole_index(indexes):
    """Exact lengths (items.bin) and complete postings: the same BM25 as the unsharded engine."""
    whole, sharded, queries = indexes["ml-dl"]
    flat, full = Engine.open(whole), exhaustive(sharded)
    id_of_row = {row: item["id"] for row, item in enumerate(full.metadata)}
    flat_ids = {row: item["id"] for row, item in enumerate(flat.metadata)}
    for query in queries[:30]:
        expected = {flat_ids[row]: score for row, score in flat.bm25.scores(query).items()}
        assert {id_of_row[row]: score for row, score in full.bm25.scores(query).items()} == pytest.approx(expected)


def test_the_build_check_reads_every_item_s_metadata_without_the_vectors(indexes):
    _, sharded, _ = indexes["ml-dl"]
    checked, full = Engine.open(sharded), exhaustive(sharded)
    load_metadata(checked)
    assert checked.metadata == full.metadata and None not in checked.metadata
    assert all(vector is None for vector in checked.storage.vectors)
    assert not any(name.startswith("list-") for name in checked.storage.loaded)
    hits = checked.search("why does my loss become nan", 5)  # lists are still read when a query needs them
    assert [hit.id for hit in hits] == [hit.id for hit in full.search("why does my loss become nan", 5)]


@pytest.mark.slow
def test_above_the_threshold_material_keyword_index_keeps_the_questions_not_the_answers(sharded_site, built_site):
    entries = json.loads((sharded_site / "site" / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    questions = [entry for entry in entries if entry["location"].startswith("topics/") and "#" in entry["location"]]
    assert len(questions) >= 40 and all(entry["text"] == "" and entry["title"] for entry in questions)
    about = [entry for entry in entries if entry["location"].startswith("about/")]
    assert about and any(entry["text"] for entry in about), "hand-written pages keep their text"
    small = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    assert any(entry["text"] for entry in small if entry["location"].startswith("topics/") and "#" in entry["location"])


def test_what_the_process_kept_from_its_last_builds_never_changes_the_bytes_written(indexes, tmp_path):
    """`qakb serve --watch` keeps the last build's encoded shards and renumbered postings in its session:
    whatever it kept (the same bank, another bank, nothing), each shard is what a fresh session writes."""
    def written(folder: Path) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}

    data_science, ml = indexes["data-science"][0], indexes["ml-dl"][0]
    session = BuildSession()
    first = written(shard_copy(data_science, tmp_path / "first", session=session))
    again = written(shard_copy(data_science, tmp_path / "again", previous=tmp_path / "first",  # all kept
                               session=session))
    shard_copy(ml, tmp_path / "other-bank", session=session)  # the session now keeps another bank's shards
    after_other = written(shard_copy(data_science, tmp_path / "after-other", session=session))
    fresh = written(shard_copy(data_science, tmp_path / "fresh", session=BuildSession()))
    assert first == again == after_other == fresh


def test_a_build_cuts_the_shards_from_its_own_data_as_from_the_unsharded_files(tmp_path):
    """`write_index` shards a big bank from memory (the unsharded files are never written); the
    result is what cutting the unsharded index's files gives, byte for byte."""
    content = BANKS["data-science"][0]
    with standing_in(StandInModel()):
        write_bank_index(content, tmp_path / "whole", tmp_path / "cache")
        write_bank_index(content, tmp_path / "sharded", tmp_path / "cache", shard_above=1, shard_list_size=8)
    cut = shard_copy(tmp_path / "whole", tmp_path / "cut", ShardSettings(items_per_list=8))
    built = {path.name: path.read_bytes() for path in sorted((tmp_path / "sharded").iterdir())}
    assert built == {path.name: path.read_bytes() for path in sorted(cut.iterdir())}
    assert not set(built) & set(WHOLE_FILES)


def test_coarse_vectors_are_four_bits_with_a_scale_and_read_back_as_written():
    from qakb.engine.sharded import int4_values
    from qakb.shards import _int4_rows

    generator = np.random.default_rng(0)
    for dim in (64, 5):
        rows = generator.normal(size=(3, dim)).astype(np.float32)
        scales, packed = _int4_rows(rows)
        values = np.array(int4_values(packed.tobytes(), dim, 3)).reshape(3, dim)
        assert np.abs(values).max() == 7 and np.array_equal(values, np.rint(rows / scales[:, None]))
        assert np.abs(values * scales[:, None] - rows).max() <= scales.max() / 2 + 1e-6
    with pytest.raises(ValueError, match="do not fill"):
        int4_values(b"\x88" * 5, 64, 1)


def test_postings_are_written_as_gaps_and_read_back_as_item_numbers(indexes):
    _, sharded, _ = indexes["ml-dl"]
    spec = json.loads((sharded / "manifest.json").read_text(encoding="utf-8"))["shards"]
    ranges = [json.loads(path.read_text(encoding="utf-8")) for path in sharded.glob("terms-*.json")]
    long = next(pairs for postings in ranges for pairs in postings.values() if len(pairs) >= 6)
    assert all(gap >= 1 for gap in long[2::2])  # ascending numbers, each after the first as a gap
    engine = exhaustive(sharded)
    numbers = sorted(row for row in engine.bm25.postings[next(iter(ranges[0]))][::2])
    assert all(0 <= row < spec["offsets"][-1] for row in numbers)
    from qakb.engine.bm25 import BM25

    bm25 = BM25.sharded(engine.chars, [1, 1, 1], [0, 1, 2], 1.0, 1.2, 0.75)
    bm25.add_postings({"term": [0, 1, 2, 5]})
    assert bm25.postings["term"] == [0, 1, 2, 5]
    with pytest.raises(ValueError, match="ascending"):
        bm25.add_postings({"term": [2, 1, 0, 1]})


def test_big_banks_put_more_rows_in_each_text_and_vectors_file(indexes, tmp_path):
    """Rows per file double while the text and vectors files would be more than `max_row_files`:
    a host counts files (Cloudflare Pages takes 20,000)."""
    whole, _, _ = indexes["data-science"]
    count = json.loads((whole / "manifest.json").read_text(encoding="utf-8"))["count"]
    budget = count // 3  # two kinds of file: more than 2 rows a file are needed, but not more than 8
    grown = shard_copy(whole, tmp_path / "grown", ShardSettings(items_per_list=16, text_rows=2, max_row_files=budget))
    spec = json.loads((grown / "manifest.json").read_text(encoding="utf-8"))["shards"]
    files = len(list(grown.glob("text-*.json"))) + len(list(grown.glob("vectors-*.bin")))
    per_file = lambda rows: 2 * sum(-(-(last - first) // rows)  # noqa: E731
                                    for first, last in zip(spec["offsets"], spec["offsets"][1:]))
    assert spec["text_rows"] in (4, 8) and files == per_file(spec["text_rows"]) <= budget < per_file(spec["text_rows"] // 2)
    assert [hit.id for hit in exhaustive(grown).search("what is overfitting", 5)] == [
        hit.id for hit in Engine.open(whole).search("what is overfitting", 5)]


def test_rows_within_a_list_follow_its_first_axis_whatever_their_order():
    from qakb.shards import _along_first_axis

    generator = np.random.default_rng(1)
    axis = generator.normal(size=8)
    vectors = np.outer(np.linspace(-1, 1, 20), axis) + 0.01 * generator.normal(size=(20, 8))
    shuffled = [int(row) for row in generator.permutation(20)]
    ordered = _along_first_axis(vectors, shuffled, 4)
    assert ordered in (list(range(20)), list(range(19, -1, -1)))
    assert _along_first_axis(vectors, list(range(20)), 4) == ordered
    assert _along_first_axis(-vectors, shuffled, 4) == ordered[::-1]  # the axis's sign is the data's, not the solver's
    assert _along_first_axis(vectors, shuffled[:4], 4) == shuffled[:4]  # one file's worth: as it was
