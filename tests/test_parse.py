"""The bank parser on the seed and on each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from qakb.parse import ParseError, assign_anchors, parse_content, parse_text, read_text, slugify
from qakb.markup import markdown_source
from projects import SEED


@pytest.fixture(scope="module")
def seed():
    return parse_text(read_text(SEED), SEED.name)


def test_seed_has_all_forty_items_in_order(seed):
    assert [q.number for q in seed.questions] == list(range(1, 41))
    assert seed.questions[0].question == "What are activation functions?"
    assert seed.questions[39].question == "What are Generative Adversarial Networks?"
    assert all(q.source == SEED.name for q in seed.questions)


def test_seed_sources_and_title(seed):
    assert seed.title == "ML DL interview questions and answers"
    assert seed.urls == (
        "https://www.interviewbit.com/deep-learning-interview-questions/",
        "https://www.nicksingh.com/posts/30-machine-learning-interview-questions-ml-interview-study-guide",
        "https://github.com/khangich/machine-learning-interview",
        "https://towardsdatascience.com/how-to-answer-any-machine-learning-system-design-interview-question-a98656bb7ff0",
    )


def test_seed_review_flags(seed):
    flagged = [q.number for q in seed.questions if q.needs_review]
    assert flagged == [8, 10, 12, 14, 18, 19, 23, 33, 38, 40]


def test_answers_keep_every_line(seed):
    first = seed.questions[0]
    assert first.answer_lines[-5:] == ("ReLU", "Softmax", "Sigmoid", "Linear", "Tanh")
    assert seed.questions[36].answer_lines[:4] == ("Dropout", "Pooling", "Data augmentation", "Early stopping")
    # Item 24 has a blank line inside its answer; it stays part of the same answer.
    assert any(not line for line in seed.questions[23].answer_lines)
    assert seed.questions[23].answer_lines[-1].startswith("Perhaps the most common change")


BAD_INPUTS = [
    ("1. What is missing backticks?\nAn answer.\n", 1, "item 1 has no question in backticks"),
    ("1. `Q?`\n```python\nx = 1\n\n2. `Swallowed?`\nB.\n", 2, "code fence ``` opened here in item 1 is never closed"),
    ("1. `Fine?`\nAnswer.\n\n2. `Empty answer?`\n\n", 4, "empty answer"),
    ("1. `First?`\nA.\n2. `Second?`\nB.\n1. `Third?`\nC.\n", 5, "item number 1 is used twice (first at line 1)"),
    ("> not a url\n1. `Q?`\nA.\n", 1, "source line must hold one http(s) URL"),
    ("Some stray text\n1. `Q?`\nA.\n", 1, "text before the first item"),
    ("1. ``\nA.\n", 1, "empty question"),
    ("just prose, no items\n", 1, "text before the first item"),
    ("", 1, "no items found"),
]


@pytest.mark.parametrize("text, line, message", BAD_INPUTS)
def test_bad_input_names_file_line_and_problem(text, line, message):
    with pytest.raises(ParseError) as caught:
        parse_text(text, "bank.md")
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"bank.md:{line}: ")


def test_non_utf8_bytes_are_located(tmp_path):
    bank = tmp_path / "bank.md"
    bank.write_bytes(b"1. `Q?`\nfine\n2. `R?`\ncaf\xe9 au lait\n")
    with pytest.raises(ParseError) as caught:
        read_text(bank)
    assert caught.value.line == 4
    assert "not valid UTF-8 (byte 0xe9)" in caught.value.message


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    bank = tmp_path / "huge.md"
    with open(bank, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(ParseError, match="over the 8 MiB limit"):
        read_text(bank)


def test_empty_content_folder(tmp_path):
    with pytest.raises(ParseError, match="no bank files"):
        parse_content(tmp_path)


def test_several_files_keep_their_own_sources(tmp_path):
    (tmp_path / "a.md").write_text("> https://a.example/\n1. `Alpha?`\nA.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("> https://b.example/\n1. `Beta?`\nB.\n", encoding="utf-8")
    bank = parse_content(tmp_path)
    assert [(f.name, f.urls) for f in bank.files] == [("a.md", ("https://a.example/",)),
                                                       ("b.md", ("https://b.example/",))]
    assert [q.source for q in bank.questions] == ["a.md", "b.md"]


def test_anchors_are_slugs_unique_across_the_site(tmp_path):
    seed_bank = parse_content(SEED.parent)
    anchors = [q.anchor for q in seed_bank.questions]
    assert len(set(anchors)) == len(anchors) == 40
    assert anchors[0] == "what-are-activation-functions"
    assert seed_bank.warnings == ()


def test_anchors_do_not_change_when_items_are_reordered(seed):
    anchored, _ = assign_anchors(list(seed.questions))
    shuffled, _ = assign_anchors(list(reversed(seed.questions)))
    assert {q.number: q.anchor for q in anchored} == {q.number: q.anchor for q in shuffled}


def test_clashing_anchors_keep_both_and_warn():
    source = parse_text("1. `What is ReLU?`\nA.\n\n2. `What is ReLU!`\nB.\n", "bank.md")
    anchored, warnings = assign_anchors(list(source.questions))
    assert [q.anchor for q in anchored] == ["what-is-relu", "what-is-relu-2"]
    assert len(warnings) == 1 and warnings[0].startswith("bank.md:4: ")


def test_slugify_handles_any_script_and_length():
    assert slugify("What's the difference: CNN vs. RNN?") == "what-s-the-difference-cnn-vs-rnn"
    assert slugify("Qu'est-ce qu'une fonction d'activation ?") == "qu-est-ce-qu-une-fonction-d-activation"
    assert slugify("什么是激活函数") == "什么是激活函数"
    assert slugify("???") == "question"
    assert len(slugify("word " * 100)) <= 80


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("1234567890. `?!\n\t>-#abcXYZ:/hé\u200f😀\x00\r")) | st.characters(),
               max_size=400))
def test_any_text_parses_or_raises_parse_error(text):
    try:
        parsed = parse_text(text, "fuzz.md")
    except ParseError as error:
        assert str(error).startswith("fuzz.md:")
        return
    assert parsed.questions
    for question in parsed.questions:
        assert question.question and question.answer_lines
        markdown_source(question.answer_lines)


SECTIONED = """\
# Data science questions
> https://example.org/notes

## Linear models

1. `What is linear regression?` 👶
A model that is linear in its parameters.
Fitting it takes three steps:
1. choose the features
2. minimise the squared error
3. check the residuals

2. ??? `What is ridge regression?` [Hard]
Least squares with an L2 penalty.

```python
## a comment in code is not a section
3. `not an item either`
```

## Validation

3. `What is cross-validation?` ⭐️
Training on k-1 folds and testing on the last, k times.
"""


def test_sections_difficulty_and_numbered_lists_in_answers():
    parsed = parse_text(SECTIONED, "ds.md")
    assert parsed.title == "Data science questions"
    assert parsed.urls == ("https://example.org/notes",)
    assert [(q.number, q.section, q.difficulty, q.needs_review) for q in parsed.questions] == [
        (1, "Linear models", "easy", False), (2, "Linear models", "hard", True), (3, "Validation", "medium", False)]
    assert parsed.questions[0].answer_lines[2:] == (
        "1. choose the features", "2. minimise the squared error", "3. check the residuals")
    assert "3. `not an item either`" in parsed.questions[1].answer_lines
    assert "## a comment in code is not a section" in parsed.questions[1].answer_lines
    assert parsed.warnings == ()


def test_a_question_whose_backticks_were_forgotten_gets_a_warning():
    parsed = parse_text("1. `First?`\nAn answer.\n\n2. Why is this not an item?\nIts answer.\n", "bank.md")
    assert [q.number for q in parsed.questions] == [1]
    assert len(parsed.warnings) == 1
    assert parsed.warnings[0].startswith("bank.md:4: ")
    assert "write it as 2. `Why is this not an item?`" in parsed.warnings[0]


@pytest.mark.parametrize("answer", [
    "Steps:\n1. one\n2. What is two?",          # continues the answer's own list
    "Text.\n5. What is five?",                   # does not continue the item numbering
    "Text.\n2. plain words, not a question",     # does not read as a question
])
def test_numbered_answer_lines_that_are_not_slips_give_no_warning(answer):
    assert parse_text(f"1. `Q?`\n{answer}\n", "bank.md").warnings == ()


def test_a_heading_after_the_first_item_is_a_section_even_without_a_title():
    parsed = parse_text("1. `First?`\nA.\n\n## Later\n\n2. `Second?`\nB.\n", "bank.md")
    assert parsed.title == ""
    assert [q.section for q in parsed.questions] == ["", "Later"]
