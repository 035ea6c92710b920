"""Topics: topics.yml (its errors, pins), else the bank's sections, else discovery; `qakb topics [--write]`."""

from __future__ import annotations

import contextlib
import io
import re
import zlib
from dataclasses import replace

import numpy as np
import pytest

from qakb.cli import main
from qakb.parse import ParseError, assign_anchors, parse_text
from qakb.topics import (
    _SLUG, ORIGIN_DISCOVERED, ORIGIN_SECTIONS, ORIGIN_TOPICS_FILE, assign_topics, automatic_placement,
    load_topics, place_questions, section_placement, topics_file_text, write_topics_file,
)

TOPICS = """\
topics:
  - slug: cnn
    title: CNNs
    description: Convolutional networks.
  - slug: rnn
    title: RNNs
    description: Recurrent networks.
pins:
  what-is-an-lstm: rnn
"""


def write(tmp_path, text):
    path = tmp_path / "topics.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_topics_and_pins(tmp_path):
    plan = load_topics(write(tmp_path, TOPICS))
    assert [t.slug for t in plan.topics] == ["cnn", "rnn"]
    assert [(p.anchor, p.topic, p.line) for p in plan.pins] == [("what-is-an-lstm", "rnn", 9)]


@pytest.mark.parametrize("text, line, message", [
    (TOPICS.replace("what-is-an-lstm: rnn", "what-is-an-lstm: gan"), 9, "names unknown topic 'gan'"),
    (TOPICS.replace("  - slug: rnn", "  - slug: cnn"), 5, "topic slug 'cnn' is used twice (first at line 2)"),
    (TOPICS.replace("    description: Recurrent networks.\n", ""), 5, "missing a non-empty 'description'"),
    (TOPICS.replace("slug: cnn", "slug: Conv Nets"), 2, "must be lowercase words"),
    ("topics: [\n", 2, "not valid YAML"),
    ("topics: []\n", 1, "'topics' must be a non-empty list"),
    (TOPICS + "colour: blue\n", 1, "unknown key(s) ['colour']"),
])
def test_errors_name_the_line(tmp_path, text, line, message):
    with pytest.raises(ParseError) as caught:
        load_topics(write(tmp_path, text))
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{tmp_path / 'topics.yml'}:{line}: ")


def _questions():
    source = parse_text("1. `What is an LSTM?`\nA recurrent cell.\n\n2. `What is pooling?`\nDownsampling.\n", "b.md")
    return assign_anchors(list(source.questions))[0]


def test_similarity_chooses_and_pins_override(tmp_path):
    plan = load_topics(write(tmp_path, TOPICS))
    questions = _questions()
    topic_vectors = np.eye(2, dtype=np.float32)
    # Both questions look like "cnn" by similarity; the pin moves the LSTM question to "rnn".
    question_vectors = np.array([[1, 0], [0.9, 0.1]], dtype=np.float32)
    assert assign_topics(questions, plan, question_vectors, topic_vectors) == {
        "what-is-an-lstm": "rnn", "what-is-pooling": "cnn"}


def test_pin_to_a_question_that_does_not_exist(tmp_path):
    plan = load_topics(write(tmp_path, TOPICS.replace("what-is-an-lstm", "what-is-a-gru")))
    with pytest.raises(ParseError, match="which no question has"):
        assign_topics(_questions(), plan, np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32))


# --- where topics come from: topics.yml, else sections, else discovery ---------------------------------

BANK_A = """\
# Bank A

## Trees

1. `What is a decision tree?`
A tree of threshold splits on features.

2. `What is a random forest?`
Many decision trees on bootstrap samples, averaged.

## Clustering

3. `What is k-means?`
It moves centroids to the mean of their points.
"""
BANK_B = """\
# Statistics notes

1. `What is a p-value?`
The chance of data this extreme under the null hypothesis.

## trees

2. `What is boosting?`
Trees fitted one after another on the errors so far.
"""
BANK_C = """\
1. `What is a confidence interval?`
A range that covers the true value in 95% of repeated samples.
"""


def bag_of_words(texts: list[str], dimensions: int = 64) -> np.ndarray:
    """A stand-in for the sentence-transformer: hashed word counts, L2-normalised, deterministic."""
    vectors = np.zeros((len(texts), dimensions), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            vectors[row, zlib.crc32(word.encode()) % dimensions] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def bank_questions(*banks: tuple[str, str]):
    files = [parse_text(text, name) for name, text in banks]
    questions = assign_anchors([q for source in files for q in source.questions])[0]
    return questions, {source.name: source.title for source in files}


def documents(questions) -> list[str]:
    return [f"{q.question}\n{q.answer}" for q in questions]


def by_topic(placement, questions) -> dict[str, list[str]]:
    return {topic.slug: [f"{q.source}:{q.number}" for q in questions if placement.topic_of[q.anchor] == topic.slug]
            for topic in placement.topics}


def test_sections_are_the_topics_in_order_of_first_appearance(tmp_path):
    questions, titles = bank_questions(("a.md", BANK_A), ("b.md", BANK_B), ("c-notes.md", BANK_C))
    placement = place_questions(questions, bag_of_words(documents(questions)), tmp_path / "topics.yml",
                                embed=bag_of_words, titles=titles)
    assert placement.origin == ORIGIN_SECTIONS
    # "Trees" and "trees" are one topic; a question before its file's first section goes under the
    # file's title, or its name when it has no title.
    assert by_topic(placement, questions) == {
        "trees": ["a.md:1", "a.md:2", "b.md:2"], "clustering": ["a.md:3"],
        "statistics-notes": ["b.md:1"], "c-notes": ["c-notes.md:1"]}
    assert [topic.title for topic in placement.topics] == ["Trees", "Clustering", "Statistics notes", "C notes"]
    assert all(topic.description.startswith("Key terms: ") for topic in placement.topics)


def test_section_names_without_ascii_letters_still_get_valid_distinct_slugs():
    bank = ("# Банк\n\n## Деревья\n\n1. `Что такое дерево?`\nДерево.\n\n"
            "## Кластеры\n\n2. `Что такое k-means?`\nЦентры.\n")
    questions, titles = bank_questions(("ru.md", bank))
    placement = section_placement(questions, titles)
    slugs = [topic.slug for topic in placement.topics]
    assert len(set(slugs)) == 2 and all(_SLUG.match(slug) for slug in slugs)
    assert [topic.title for topic in placement.topics] == ["Деревья", "Кластеры"]


def test_topics_file_wins_over_sections(tmp_path):
    questions, titles = bank_questions(("a.md", BANK_A))
    topics_file = write(tmp_path, TOPICS.replace("what-is-an-lstm: rnn", "what-is-k-means: rnn"))
    embedded = []

    def embed(texts):
        embedded.append(texts)
        return bag_of_words(texts)

    placement = place_questions(questions, bag_of_words(documents(questions)), topics_file, embed, titles)
    assert placement.origin == ORIGIN_TOPICS_FILE
    assert [topic.slug for topic in placement.topics] == ["cnn", "rnn"]
    assert embedded == [["CNNs. Convolutional networks.", "RNNs. Recurrent networks."]]
    assert placement.topic_of["what-is-k-means"] == "rnn"


def test_a_topic_of_the_file_without_questions_is_a_warning(tmp_path):
    questions, titles = bank_questions(("a.md", BANK_A))
    topics_file = write(tmp_path, TOPICS.replace("pins:\n  what-is-an-lstm: rnn\n", ""))
    placement = place_questions(questions, np.tile([[1.0, 0.0]], (3, 1)), topics_file,
                                lambda texts: np.eye(2, dtype=np.float32), titles)
    assert set(placement.topic_of.values()) == {"cnn"}
    assert placement.warnings == (f"{topics_file}: topic(s) with no questions get no page: rnn",)


def test_without_sections_the_topics_are_discovered():
    questions, titles = bank_questions(("a.md", BANK_A), ("b.md", BANK_B))
    questions = [replace(q, section="") for q in questions]
    placement = automatic_placement(questions, bag_of_words(documents(questions)), titles)
    assert placement.origin == ORIGIN_DISCOVERED
    assert set(placement.topic_of) == {q.anchor for q in questions}


def test_written_topics_file_reproduces_the_placement(tmp_path):
    """Descriptions alone would move some questions; the pins written keep every one in place."""
    questions, titles = bank_questions(("a.md", BANK_A), ("b.md", BANK_B))
    vectors = bag_of_words(documents(questions))
    placement = section_placement(questions, titles)
    path = tmp_path / "topics.yml"
    pins = write_topics_file(path, placement, questions, vectors, bag_of_words)
    plan = load_topics(path)
    assert [(t.slug, t.title) for t in plan.topics] == [(t.slug, t.title) for t in placement.topics]
    topic_vectors = bag_of_words([topic.document for topic in plan.topics])
    assert assign_topics(questions, plan, vectors, topic_vectors) == placement.topic_of
    by_description = assign_topics(questions, replace(plan, pins=()), vectors, topic_vectors)
    moved = {anchor for anchor, slug in by_description.items() if slug != placement.topic_of[anchor]}
    assert {pin.anchor for pin in plan.pins} == moved and pins == len(moved)
    assert list(tmp_path.iterdir()) == [path]  # no draft left behind


def test_written_topics_file_is_plain_yaml_an_editor_can_read():
    questions, titles = bank_questions(("a.md", BANK_A))
    text = topics_file_text(section_placement(questions, titles), questions, bag_of_words(documents(questions)),
                            bag_of_words)
    assert text.startswith("# Topics of the bank, written by `qakb topics --write` from the bank's sections.")
    assert "- slug: trees\n  title: Trees\n  description: 'Key terms:" in text
    assert "\npins:" in text


# --- the `qakb topics` command, with the bag-of-words stand-in for the model ---------------------------

class FakeEmbedder:
    def __init__(self, cache_file):
        pass

    encode = staticmethod(bag_of_words)

    def close(self):
        pass


def site_folder(tmp_path, banks: dict[str, str]):
    (tmp_path / "mkdocs.yml").write_text("site_name: Test\nplugins:\n  - qakb\n", encoding="utf-8")
    (tmp_path / "content").mkdir()
    for name, text in banks.items():
        (tmp_path / "content" / name).write_text(text, encoding="utf-8")
    return tmp_path


def run_topics(project, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--project", str(project), "topics", *args])
    return code, out.getvalue(), err.getvalue()


def test_topics_command_prints_and_writes_a_file_the_build_reads_back(tmp_path, monkeypatch):
    monkeypatch.setattr("qakb.embed.Embedder", FakeEmbedder)
    project = site_folder(tmp_path, {"a.md": BANK_A, "b.md": BANK_B})
    code, shown, _ = run_topics(project)
    assert code == 0
    assert shown.splitlines()[0] == ("3 topics for 5 questions, from the bank's sections "
                                     "(there is no content/topics.yml)")
    assert "\nTrees  [trees, 3 questions]\n  a.md   1. What is a decision tree?\n" in shown

    code, written, messages = run_topics(project, "--write")
    assert code == 0 and "wrote content/topics.yml: 3 topics" in messages
    code, again, _ = run_topics(project)
    assert again.splitlines()[0] == "3 topics for 5 questions, from content/topics.yml"
    assert again.splitlines()[1:] == shown.splitlines()[1:] == written.splitlines()[1:]


def test_topics_write_refuses_to_replace_a_topics_file_without_force(tmp_path, monkeypatch):
    monkeypatch.setattr("qakb.embed.Embedder", FakeEmbedder)
    project = site_folder(tmp_path, {"a.md": BANK_A})
    (project / "content" / "topics.yml").write_text(TOPICS.replace("what-is-an-lstm: rnn", "{}"), encoding="utf-8")
    code, _, messages = run_topics(project, "--write")
    assert code == 1 and "content/topics.yml exists" in messages and "--force" in messages
    assert run_topics(project, "--force")[0] == 1
    code, _, _ = run_topics(project, "--write", "--force")
    assert code == 0 and load_topics(project / "content" / "topics.yml").topics[0].slug == "trees"
