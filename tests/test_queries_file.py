"""Shape checks for the hand-written search evaluation sets.

Two banks, each with a development set (the engine's settings are chosen on it)
and a held-out set written separately, from the bank alone, and only ever used
to report figures: the embedded bank (tests/data/queries*.yml) and the second
test bank (tests/data/ds-bank/queries-*.yml).
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SEED_BANK = ROOT / "content" / "ml-dl-interview-qa.md"
DS_BANK = DATA / "ds-bank" / "data-science-qa.md"
# file -> (its bank, minimum queries, minimum paraphrases, minimum queries answered by one sentence of an answer)
SETS = {
    DATA / "queries.yml": (SEED_BANK, 60, 30, 0),
    DATA / "queries-holdout.yml": (SEED_BANK, 50, 25, 0),
    DATA / "ds-bank" / "queries-dev.yml": (DS_BANK, 60, 30, 8),
    DATA / "ds-bank" / "queries-holdout.yml": (DS_BANK, 40, 20, 5),
}

KINDS = {"paraphrase", "keyword", "typo", "long", "question", "sentence"}
OPTIONAL_KINDS = {"question", "sentence"}
# An item starts a line: its number, a dot, an optional "???" review marker, then the backticked question.
ITEM_START = re.compile(r"^(\d+)\.\s+(?:\?\?\?\s*)?`", re.MULTILINE)


@pytest.fixture(scope="module", params=sorted(SETS), ids=lambda path: path.name)
def query_set(request):
    return request.param, yaml.safe_load(request.param.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def queries(query_set):
    return query_set[1]


@pytest.fixture(scope="module")
def bank_numbers(query_set):
    bank_file = SETS[query_set[0]][0]
    numbers = {int(number) for number in ITEM_START.findall(bank_file.read_text(encoding="utf-8"))}
    assert numbers, f"no numbered items found in {bank_file}"
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
    _, minimum, minimum_paraphrases, minimum_sentences = SETS[path]
    assert len(queries) >= minimum
    kinds = Counter(entry["kind"] for entry in queries)
    assert kinds["paraphrase"] >= minimum_paraphrases, kinds
    assert kinds["sentence"] >= minimum_sentences, kinds
    assert all(kinds[kind] > 0 for kind in KINDS - OPTIONAL_KINDS), kinds



def test_relevant_numbers_exist_in_bank(queries, bank_numbers):
    unknown = [(entry["query"], number) for entry in queries for number in entry["relevant"]
               if number not in bank_numbers]
    assert not unknown


def test_every_bank_item_is_covered(queries, bank_numbers):
    covered = {number for entry in queries for number in entry["relevant"]}
    assert bank_numbers - covered == set()


def test_the_second_banks_held_out_queries_are_not_dev_queries():
    def normalised(path: Path) -> set[str]:
        return {" ".join(entry["query"].lower().split()) for entry in yaml.safe_load(path.read_text("utf-8"))}

    folder = DATA / "ds-bank"
    assert normalised(folder / "queries-holdout.yml") & normalised(folder / "queries-dev.yml") == set()


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
