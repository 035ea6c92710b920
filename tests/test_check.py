"""Near-duplicate questions (qakb.duplicates), "Also asked as" on the pages, and `qakb check`."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from qakb import cli
from qakb.bank import Question, shown_path
from qakb.duplicates import Pair, also_asked, near_duplicates, similar_pairs
from qakb.markup import render_answers
from qakb.parse import Bank, SourceFile, assign_anchors
from qakb.related import related_questions
from qakb.render import ALSO_ASKED, render_pages
from qakb.topics import Topic


def item(number: int, text: str, answer: str = "An answer.", source: str = "bank.md") -> Question:
    return Question(number=number, question=text, answer_lines=tuple(answer.splitlines()) if answer else (),
                    needs_review=False, source=source, line=number * 3)


def anchored(*questions: Question) -> list[Question]:
    return assign_anchors(list(questions))[0]


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# --- near_duplicates -------------------------------------------------------------------

def at_cosine(cosine: float, dimension: int = 4) -> list[float]:
    """A unit vector at `cosine` from the first axis (0.75 and 1.0 are exact in float32)."""
    return [cosine, float(np.sqrt(1 - cosine * cosine))] + [0.0] * (dimension - 2)


def test_pairs_at_and_above_the_threshold_are_found_and_not_below():
    questions = anchored(item(1, "Alpha?"), item(2, "Beta?"), item(3, "Gamma?"), item(4, "Delta?"))
    vectors = np.array([at_cosine(1.0), at_cosine(0.75), at_cosine(0.7499), [0, 0, 1.0, 0]], dtype=np.float32)
    assert float(vectors[0] @ vectors[1]) == 0.75
    pairs = near_duplicates(questions, vectors, threshold=0.75)
    assert [(pair.first, pair.second) for pair in pairs][:1] == [("alpha", "beta")]
    assert pairs[0] == Pair("alpha", "beta", 0.75)
    found = {(pair.first, pair.second) for pair in pairs}
    assert ("alpha", "gamma") not in found, "0.7499 is below 0.75"
    assert ("beta", "gamma") in found, "nearly the same vector"
    assert not any("delta" in pair for pair in found)
    assert near_duplicates(questions, vectors, threshold=0.99) == [Pair("beta", "gamma", 1.0)]


def test_the_same_text_is_a_pair_whatever_the_vectors():
    questions = anchored(item(1, "What is a hive?"), item(2, "what is  a HIVE?", source="other.md"),
                         item(3, "Why do bees swarm?"))
    vectors = unit([1, 0, 0], [0, 1, 0], [0, 0, 1])  # orthogonal: cosine 0
    pairs = near_duplicates(questions, vectors, threshold=0.9)
    assert [(pair.first, pair.second, pair.cosine) for pair in pairs] == [("what-is-a-hive", "what-is-a-hive-2", 0.0)]


def test_every_pair_of_a_group_is_kept():
    questions = anchored(item(1, "One?"), item(2, "Two?"), item(3, "Three?"), item(4, "Four?"))
    vectors = unit([1, 0.01, 0], [1, 0, 0.01], [1, 0, 0], [0, 1, 0])
    pairs = near_duplicates(questions, vectors, threshold=0.9)
    assert [(pair.first, pair.second) for pair in pairs] == [("one", "two"), ("one", "three"), ("two", "three")]
    others = also_asked(questions, pairs)
    assert [q.anchor for q in others["two"]] == ["one", "three"]
    assert "four" not in others


def test_blocks_give_the_same_pairs_as_one_product():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors[50] = vectors[7] + 0.05 * rng.standard_normal(16)  # planted near-duplicates
    vectors[299] = vectors[7] + 0.05 * rng.standard_normal(16)
    vectors[120] = vectors[200] + 0.05 * rng.standard_normal(16)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    expected = {(row, column) for row, column in zip(*np.nonzero(similarity >= 0.6)) if row < column}
    assert {(7, 50), (7, 299), (50, 299), (120, 200)} <= expected
    for block in (1, 7, 64, 300, 1000):
        rows, columns, scores = similar_pairs(vectors, 0.6, rows_per_block=block)
        assert set(zip(rows.tolist(), columns.tolist())) == expected, block
        assert list(zip(rows.tolist(), columns.tolist())) == sorted(expected), "in row, then column order"
        np.testing.assert_allclose(scores, similarity[rows, columns], rtol=1e-5)


def test_questions_pointing_at_different_code_are_told_apart():
    output = "What will be the output of the following code?"
    questions = anchored(
        item(1, output, "```js\nconsole.log(1 + '1');\n```\nIt prints 11."),
        item(2, output, "```js\nconsole.log(typeof null);\n```\nIt prints object."),
        item(3, output, "```js\nconsole.log(1 + '1');\n```\nThe string '11': + concatenates."),
        item(4, "Explain this code"), item(5, "Explain this code"))  # no code to compare
    vectors = unit(*[[1, 0]] * 5)
    pairs = near_duplicates(questions, vectors, threshold=0.9)
    assert [(pair.first, pair.second) for pair in pairs] == [
        ("what-will-be-the-output-of-the-following-code", "what-will-be-the-output-of-the-following-code-3")]


def test_negated_texts_and_other_numbers_are_told_apart():
    questions = anchored(item(1, "When should we use Node.js?"), item(2, "When should we not use Node.js?"),
                         item(3, "What changed in React 15?"), item(4, "What changed in React 16?"),
                         item(5, "What changed in React 16 then?"))
    vectors = unit([1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0])
    pairs = near_duplicates(questions, vectors, threshold=0.9)
    assert [(pair.first, pair.second) for pair in pairs] == [
        ("what-changed-in-react-16", "what-changed-in-react-16-then")]


def test_related_lists_leave_out_near_duplicates_and_are_topped_up():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    plain = related_questions(vectors, 3, 3)
    left_out = {0: {plain[0][0], plain[0][2]}}
    lists = related_questions(vectors, 3, 3, left_out=left_out)
    assert len(lists[0]) == 3 and not set(lists[0]) & left_out[0]
    assert lists[0][0] == plain[0][1]
    assert lists[1:] == plain[1:]


# --- the pages -------------------------------------------------------------------------

def test_also_asked_as_is_listed_and_not_among_related_questions():
    topic, other_topic = Topic("orchard", "Orchard", ""), Topic("hives", "Hives", "")
    questions = anchored(item(1, "How do you prune an apple tree in winter?", source="orchard.md"),
                         item(2, "What causes bitter pit?", source="orchard.md"),
                         item(1, "How should apple trees be pruned in winter?", source="bees.md"),
                         item(2, "Why do bees swarm?", source="bees.md"))
    prune, pit, prune_again, swarm = questions
    files = tuple(SourceFile(name, "", (), tuple(q for q in questions if q.source == name))
                  for name in ("orchard.md", "bees.md"))
    topic_of = {q.anchor: (topic if q.source == "orchard.md" else other_topic) for q in questions}
    related_of = {q.anchor: [other for other in questions if other is not q][:3] for q in questions}
    pages = render_pages(Bank(files, ()), render_answers(questions, Path(".")), (topic, other_topic), topic_of,
                         related_of, "Site", also_asked={prune.anchor: [prune_again], prune_again.anchor: [prune]})
    orchard = pages["topics/orchard.md"]
    section = orchard.split(f"#{prune.anchor} }}", 1)[1].split("\n## ", 1)[0]
    also, related = section.split(f'<p class="qakb-related-title">{ALSO_ASKED}</p>', 1)[1].split(
        '<p class="qakb-related-title">Related questions</p>')
    assert f"(hives.md#{prune_again.anchor}) · *Hives*" in also
    assert prune_again.anchor not in related
    assert pit.anchor in related and swarm.anchor in related
    pit_section = orchard.split(f"#{pit.anchor} }}", 1)[1]
    assert ALSO_ASKED not in pit_section.split("\n## ", 1)[0]
    assert pages["topics/hives.md"].count(ALSO_ASKED) == 1


# --- qakb check ------------------------------------------------------------------------

ORCHARD = """\
# Orchard notes

## Pruning

### How do you prune an apple tree in winter?

Cut out dead wood first, then crossing branches. See [the bee notes](bee-notes.md) and the cuts:

![pruning cuts](img/prune-cuts.png)

### What causes bitter pit in apples?

Too little calcium reaches the fruit; compare [swarming](#why-do-bees-swarm) and [keeping](#how-long-do-apples-keep).

## Storage

## Ripening

### Why do pears ripen off the tree?

### Which apples keep longest?

Late-picked, thick-skinned kinds, cool and dark. ![shelf](img/shelf.png)
"""
BEES = """\
# Bee notes

### How should apple trees be pruned in winter?

While the tree is dormant, on a dry day, before the buds swell.

### Why do bees swarm?

A crowded colony splits: the old queen leaves with about half of the workers.
"""


@pytest.fixture
def checked_project(tmp_path, monkeypatch):
    project = tmp_path / "site"
    (project / "content" / "img").mkdir(parents=True)
    (project / "mkdocs.yml").write_text("site_name: Garden\nplugins:\n  - search\n  - qakb\n", encoding="utf-8")
    (project / "content" / "orchard.md").write_text(ORCHARD, encoding="utf-8")
    (project / "content" / "bees.md").write_text(BEES, encoding="utf-8")
    (project / "content" / "img" / "shelf.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.setenv("QAKB_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".cache"))
    return project


def run_check(project: Path, capsys, *args: str) -> tuple[int, list[str]]:
    status = cli.main(["--project", str(project), "check", *args])
    return status, capsys.readouterr().out.splitlines()


def test_check_reports_each_problem_at_its_line(checked_project, capsys):
    status, lines = run_check(checked_project, capsys, "--no-model")
    orchard = shown_path(checked_project / "content" / "orchard.md")
    bees = shown_path(checked_project / "content" / "bees.md")
    assert status == 1
    assert lines[0].startswith(f"{bees}: headings (a heading per question): 2 questions")
    assert lines[1].startswith(f"{orchard}: headings (a heading per question): 4 questions in 2 sections, "
                               "1 without an answer")
    problems = lines[2:-1]
    assert problems == [
        f"{orchard}:7: link 'bee-notes.md' leads to no file (looked for "
        f"{shown_path(checked_project / 'content' / 'bee-notes.md')}; links are relative to the bank file)",
        f"{orchard}:9: image 'img/prune-cuts.png' not found (looked for "
        f"{(checked_project / 'content' / 'img' / 'prune-cuts.png').resolve()}); image paths are relative to the bank "
        "file: add it (it is shown as its description meanwhile)",
        f"{orchard}:13: link '#how-long-do-apples-keep' leads to no question "
        "(no question's anchor is 'how-long-do-apples-keep')",
        f"{orchard}:15: section 'Storage' has no questions",
        f"{orchard}:19: no answer: 'Why do pears ripen off the tree?'",
    ]
    assert lines[-1] == ("5 problem(s) in 6 question(s): 1 unanswered question(s), 1 empty section(s), "
                         "2 broken link(s), 1 missing image(s); near-duplicates not looked for (--no-model)")


def test_check_of_a_clean_bank_exits_0(checked_project, capsys):
    (checked_project / "content" / "orchard.md").unlink()
    status, lines = run_check(checked_project, capsys, "--no-model")
    assert status == 0
    assert lines[-1] == "no problems in 2 question(s); near-duplicates not looked for (--no-model)"


def test_check_lists_every_missing_image_of_an_answer(checked_project, capsys):
    (checked_project / "content" / "img" / "shelf.png").unlink()
    (checked_project / "content" / "orchard.md").write_text(ORCHARD.replace(
        "cool and dark.", "cool and dark. ![crate](img/crate.png)"), encoding="utf-8")
    _, lines = run_check(checked_project, capsys, "--no-model")
    missing = [line for line in lines if "not found (looked for" in line]
    assert [re.search(r"image '([^']+)'", line).group(1) for line in missing] == \
        ["img/prune-cuts.png", "img/crate.png", "img/shelf.png"]
    assert all(line.split(":")[1] in ("9", "23") for line in missing)


def test_check_help_says_near_duplicates_need_the_model(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "loads the sentence-transformer" in text and "--no-model" in text


@pytest.mark.slow
def test_check_finds_the_paraphrased_question_with_the_model(checked_project, capsys):
    status, lines = run_check(checked_project, capsys)
    bees = shown_path(checked_project / "content" / "bees.md")
    orchard = shown_path(checked_project / "content" / "orchard.md")
    duplicates = [line for line in lines if "asks the same question" in line]
    assert len(duplicates) == 1
    assert re.fullmatch(
        rf"{re.escape(bees)}:3: asks the same question as {re.escape(orchard)}:5 \(cosine 0\.9\d\): "
        r"'How should apple trees be pruned in winter\?' / 'How do you prune an apple tree in winter\?'",
        duplicates[0]), duplicates[0]
    assert status == 1 and "1 near-duplicate pair(s)" in lines[-1] and "--no-model" not in lines[-1]
