"""topics.yml: reading it, its errors, and the pins that override similarity."""

from __future__ import annotations

import numpy as np
import pytest

from qakb.parse import ParseError, parse_text
from qakb.topics import assign_topics, load_topics

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
    from qakb.parse import assign_anchors
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
