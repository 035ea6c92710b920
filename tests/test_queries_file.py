"""Shape checks for the hand-written search evaluation sets.

tests/data/queries.yml is the development set (the engine's few settings were
chosen on it); tests/data/queries-holdout.yml was written separately, from the
bank alone, and is only ever used to report figures.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
QUERIES_FILE = ROOT / "tests" / "data" / "queries.yml"
HOLDOUT_FILE = ROOT / "tests" / "data" / "queries-holdout.yml"
# file -> (minimum queries, minimum paraphrases)
SETS = {QUERIES_FILE: (60, 30), HOLDOUT_FILE: (50, 25)}
BANK_FILE = ROOT / "content" / "ml-dl-interview-qa.md"

KINDS = {"paraphrase", "keyword", "typo", "long", "question"}
# An item starts a line: its number, a dot, an optional "???" review marker, then the backticked question.
ITEM_START = re.compile(r"^(\d+)\.\s+(?:\?\?\?\s+)?`", re.MULTILINE)


@pytest.fixture(scope="module", params=sorted(SETS), ids=lambda path: path.name)
def query_set(request):
    return request.param, yaml.safe_load(request.param.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def queries(query_set):
    return query_set[1]


@pytest.fixture(scope="module")
def bank_numbers():
    numbers = {int(number) for number in ITEM_START.findall(BANK_FILE.read_text(encoding="utf-8"))}
    assert numbers, f"no numbered items found in {BANK_FILE}"
    return numbers


def test_is_a_list_of_well_formed_entries(queries):
    assert isinstance(queries, list)
    for entry in queries:
        assert isinstance(entry, dict), entry
        assert set(entry) == {"query", "relevant", "kind"}, entry
        assert isinstance(entry["query"], str) and entry["query"].strip(), entry
        assert entry["kind"] in KINDS, entry
        relevant = entry["relevant"]
        assert isinstance(relevant, list) and relevant, entry
        assert all(isinstance(number, int) and not isinstance(number, bool) for number in relevant), entry
        assert len(set(relevant)) == len(relevant), entry


def test_has_enough_queries(query_set):
    path, queries = query_set
    minimum, minimum_paraphrases = SETS[path]
    assert len(queries) >= minimum
    kinds = Counter(entry["kind"] for entry in queries)
    assert kinds["paraphrase"] >= minimum_paraphrases, kinds
    assert all(kinds[kind] > 0 for kind in KINDS - {"question"}), kinds



def test_relevant_numbers_exist_in_bank(queries, bank_numbers):
    unknown = [(entry["query"], number) for entry in queries for number in entry["relevant"]
               if number not in bank_numbers]
    assert not unknown


def test_every_bank_item_is_covered(queries, bank_numbers):
    covered = {number for entry in queries for number in entry["relevant"]}
    assert bank_numbers - covered == set()


def test_no_duplicate_queries(queries):
    normalised = Counter(" ".join(entry["query"].lower().split()) for entry in queries)
    assert [query for query, count in normalised.items() if count > 1] == []


def test_long_queries_are_long_and_keywords_short(queries):
    for entry in queries:
        words = len(entry["query"].split())
        if entry["kind"] == "long":
            assert words >= 25, entry
        if entry["kind"] == "keyword":
            assert words <= 3, entry
