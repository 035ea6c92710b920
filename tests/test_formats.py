"""Markdown banks in the shapes real banks take: each way of marking a question, detected and read."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from qakb.bank import ParseError
from qakb.formats import ReadOptions, describe, detect, format_names, parse_bank_text, read_bank_file
from qakb.parse import parse_content

DATA = Path(__file__).parent / "data" / "banks"


def read(text: str, name: str = "bank.md", format: str | None = None, options: ReadOptions = ReadOptions()):
    return parse_bank_text(text, name, format, options)


def questions(text: str, **kwargs) -> list[str]:
    return [question.question for question in read(text, **kwargs).questions]


# --- a heading per question ------------------------------------------------------------

@pytest.mark.parametrize("marker", ["### What is Go?", "## 1. What is Go?", "#### 1) What is Go?",
                                    "### Q1: What is Go? ###", "## Q. What is Go?",
                                    "### What is Go? [[src](https://go.dev/doc/faq)]"])
def test_a_heading_per_question_with_or_without_a_number(marker):
    level = marker.split()[0]
    source = read(f"# Go questions\n\n{marker}\n\nA compiled language.\n\n{level} Why use goroutines?\n\nCheap.\n")
    assert source.format == "headings"
    assert [q.question for q in source.questions] == ["What is Go?", "Why use goroutines?"]
    assert source.questions[0].answer_lines == ("A compiled language.",)
    assert source.title == "Go questions"
    if "src" in marker:
        assert source.questions[0].urls == ("https://go.dev/doc/faq",)


def test_deeper_headings_stay_in_the_answer_higher_ones_are_sections():
    source = read("# Bank\n\n## Basics\n\n### What is a closure?\n\nA function and its scope.\n\n"
                  "#### Key features\n\n- captures variables\n\n### What is hoisting?\n\nMoving declarations.\n\n"
                  "## Advanced\n\n### What is a realm?\n\nA global environment.\n")
    assert [(q.question, q.section) for q in source.questions] == [
        ("What is a closure?", "Basics"), ("What is hoisting?", "Basics"), ("What is a realm?", "Advanced")]
    assert "#### Key features" in source.questions[0].answer_lines
    assert source.questions[2].difficulty == "hard"  # "Advanced" says a difficulty


def test_a_heading_inside_a_numbered_list_item_numbers_not_trusted():
    text = ("# React bank\n\n## Core\n\n"
            "1.  ### What is JSX?\n\n    A syntax extension.\n\n    ```jsx\n    const a = <b/>;\n    ```\n\n"
            "    ### Example\n\n    Inside the answer.\n\n"
            "   1.  ### What is a prop?\n       Input to a component.\n\n"
            "7.  ### What is state?\n\n    Data that changes.\n")
    source = read(text)
    assert [q.question for q in source.questions] == ["What is JSX?", "What is a prop?", "What is state?"]
    assert [q.number for q in source.questions] == [1, 2, 3]
    jsx = source.questions[0]
    assert jsx.answer_lines[:4] == ("A syntax extension.", "", "```jsx", "const a = <b/>;")
    assert "### Example" in jsx.answer_lines  # a heading the item does not open stays in its answer
    assert source.questions[1].answer_lines == ("Input to a component.",)


def test_a_fence_like_line_of_inline_code_is_not_a_fence():
    source = read("### What does ```{{ x }}``` print?\n\nThe value.\n\n### Next?\n\nYes.\n")
    assert [q.question for q in source.questions] == ["What does {{ x }} print?", "Next?"]


# --- <details> -------------------------------------------------------------------------

def test_details_items_toc_and_nested_details_stay_what_they_are():
    source = read_bank_file(DATA / "cluster-faq.md")
    assert source.format == "details"
    assert [(q.question, q.section) for q in source.questions] == [
        ("What is the smallest unit the scheduler places?", "Basics"),
        ("Why would a pod stay Pending?", "Basics"),
        ("How does a service reach its pods?", "Networking"),
        ("What does an admission webhook do?", "Not answered yet"),
        ("When is a headless service useful?", "Not answered yet"),
    ]
    first, second = source.questions[:2]
    assert "<details><summary>Deep dive</summary>" in first.answer_lines  # a deep-dive stays in the answer
    assert second.answer_lines[-3:] == ("```bash", "kubectl describe pod web-1", "```")  # dedented
    assert [q.answered for q in source.questions] == [True, True, True, False, False]
    assert source.urls == ("https://ops.example/faq",)
    assert any("Table of contents" in skipped.text for skipped in source.skipped)


# --- multiple choice -------------------------------------------------------------------

def test_multiple_choice_prompt_answer_and_same_texts_told_apart(tmp_path):
    source = read_bank_file(DATA / "quiz.md")
    assert source.format == "headings"
    first, second, third, fourth = source.questions
    assert first.prompt_lines[0] == "```javascript" and first.prompt_lines[-1] == "- C: `ReferenceError`"
    assert first.answer_lines[0] == "#### Answer: B" and "<details>" not in "\n".join(first.answer_lines)
    assert second.answer_lines[0] == 'B: `"object"`'
    assert "[x]" not in "\n".join(second.prompt_lines)  # the ticked box does not give the answer away
    assert (third.difficulty, third.answer_lines) == ("easy", ("B: `const`",))
    assert (fourth.needs_review, fourth.answered) == (True, False)
    (tmp_path / "quiz.md").write_bytes((DATA / "quiz.md").read_bytes())
    bank = parse_content(tmp_path)
    named = [q.question for q in bank.questions[:2]]
    assert named == ["What's the output? (function greet() {)", "What's the output? (console.log(typeof null);)"]
    assert len({q.anchor for q in bank.questions}) == 4 and bank.warnings == ()


# --- bold questions --------------------------------------------------------------------

def test_whole_line_bold_questions_and_bold_lines_inside_answers():
    text = ("# Theory\n\n## Regression\n\n**What is regression? 👶**\n\nPredicting a number.\n\n"
            "**Core ideas:**\n\n- a loss\n\n**Bias** is one error source.\n\n<br/>\n\n"
            "**How do we pick features? ‍⭐️**\n\nAnswer here\n\n<br/>\n\n**1) Name two boosting libraries**\n\n"
            "XGBoost, LightGBM.\n")
    source = read(text)
    assert source.format == "bold"
    assert [(q.question, q.difficulty, q.answered) for q in source.questions] == [
        ("What is regression?", "easy", True), ("How do we pick features?", "medium", False),
        ("Name two boosting libraries", "", True)]
    assert "**Core ideas:**" in source.questions[0].answer_lines
    assert "**Bias** is one error source." in source.questions[0].answer_lines
    assert source.questions[0].answer_lines[-1] != "<br/>"


# --- the rest of a real file -----------------------------------------------------------

def test_preamble_is_skipped_and_reported_sources_and_back_to_top_handled():
    text = ("## Golang\n\n[![badge](https://img.example/b.svg)](https://x.example)\n\n> [!NOTE]\n> Star us!\n\n"
            "https://go.example/faq\n\n[What is Go?](#what-is-go)\n\n### What is Go?\n\nA language.\n\n"
            "###### Source\n\n* https://go.example/one\n\n[[↑] Back to top](#Golang)\n"
            "### What is a rune?\n\nA code point.\n\n**[⬆ Back to Top](#table-of-contents)**\n")
    source = read(text, "golang.md")
    assert source.title == "Golang" and source.urls == ("https://go.example/faq",)
    assert [skipped.line for skipped in source.skipped] == [3, 5, 6, 10]
    first, second = source.questions
    assert first.answer_lines == ("A language.",) and first.urls == ("https://go.example/one",)
    assert second.answer_lines == ("A code point.",)
    report = describe(source)
    assert report[0].startswith("golang.md: headings (a heading per question): 2 questions; 4 line(s) skipped")
    assert report[1] == "    golang.md:3: [![badge](https://img.example/b.svg)](https://x.example)"


def test_questions_without_answers_are_kept():
    text = ("# Interview prep\n\n## Answered\n\n### What is DNS?\n\nName resolution.\n\n### What is TCP?\n\n"
            "To be completed\n\n### What is UDP?\n\n## Still open\n\n- What is QUIC?\n- Why is TLS 1.3 faster?\n")
    source = read(text)
    assert [(q.question, q.answered) for q in source.questions] == [
        ("What is DNS?", True), ("What is TCP?", False), ("What is UDP?", False),
        ("What is QUIC?", False), ("Why is TLS 1.3 faster?", False)]
    assert source.unanswered == 4
    only_questions = read("# Open questions\n\n- What is a monad?\n- Why use functors?\n- What is a lens?\n")
    assert only_questions.format == "questions" and only_questions.unanswered == 3


def test_difficulty_marks_levels_section_names_and_review_marks():
    text = ("## Junior\n\n### [E] What is HTTP?\n\nA protocol.\n\n### What is REST? Level 3\n\nA style.\n\n"
            "### What is gRPC? ???\n\nRPC over HTTP/2.\n\n## Team lead\n\n### How do you run a retro?\n\nCarefully.\n")
    source = read(text, options=ReadOptions(difficulty_sections={"lead": "hard", "junior": "easy"}))
    assert [(q.question, q.difficulty, q.needs_review) for q in source.questions] == [
        ("What is HTTP?", "easy", False), ("What is REST?", "hard", False), ("What is gRPC?", "easy", True),
        ("How do you run a retro?", "hard", False)]


def test_the_projects_own_format_is_detected_and_unchanged():
    own = "# T\n\n1. `What is a tensor?`\nAn array.\n\n2. `What is a graph?`\nNodes and edges.\n"
    assert detect("bank.md", own) == "items"
    source = read(own)
    assert source.format == "items" and [q.number for q in source.questions] == [1, 2]
    with pytest.raises(ParseError, match="text before the first item"):
        read("Stray words\n1. `Q?`\nA.\n")


def test_format_named_overrides_detection():
    text = "### What is a heap?\n\nA tree.\n\n**Is a heap sorted?**\n\nNo.\n\n**Why use one?**\n\nFast min.\n"
    assert read(text).format == "bold"
    assert questions(text, format="headings") == ["What is a heap?"]


def test_a_file_with_no_questions_is_refused_naming_the_formats_tried():
    with pytest.raises(ParseError) as caught:
        read("# Notes\n\nJust prose about nothing in particular.\n\nMore prose.\n", "notes.md")
    message = str(caught.value)
    assert message.startswith("notes.md:1: no questions found")
    for tried in ("a heading per question", "<details><summary>", "a bold paragraph", "CSV/TSV/JSON/YAML"):
        assert tried in message
    assert "    # Notes" in message and "Just prose" in message


def test_a_binary_or_non_utf8_file_is_refused(tmp_path):
    binary = tmp_path / "deck.md"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ParseError, match="binary file"):
        read_bank_file(binary)
    latin = tmp_path / "latin.md"
    latin.write_bytes("### Qu'est-ce qu'un café?\n\nUne boisson.\n".encode("latin-1"))
    with pytest.raises(ParseError, match="not valid UTF-8"):
        read_bank_file(latin)


def test_format_names_list_every_reader():
    assert set(format_names()) >= {"items", "headings", "details", "bold", "questions", "csv", "tsv", "json",
                                   "yaml", "apkg"}


MARKDOWN_ALPHABET = list("#*_`[]()<>!?-+.:|~\n\n   \t1234567890abcdQ") + ["<details>", "</details>", "<summary>",
                                                                      "</summary>", "- [x] ", "### ", "1.  ### "]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(MARKDOWN_ALPHABET) | st.text(max_size=6), max_size=120).map("".join),
       st.sampled_from(["markdown", "headings", "details", "bold", "questions", "items"]))
def test_any_markdown_reads_or_raises_parse_error(text, format):
    try:
        source = read(text, format=format)
    except ParseError as error:
        assert str(error).startswith("bank.md")
        return
    assert source.questions and all(question.question for question in source.questions)


def test_a_line_of_open_link_brackets_is_refused_before_parsing():
    """CommonMark link labels take time quadratic in open brackets: 100 kB of '[' is refused at its line at once."""
    with pytest.raises(ParseError) as caught:
        read("### What is this?\n\n" + "[" * 100_000 + "\n")
    assert caught.value.line == 3 and "'[' or '(' of links" in caught.value.message


def test_an_answer_indented_past_its_list_items_content_is_dedented():
    """Lines at column 6 of an item whose content starts at 4: the 2 extra spaces mean nothing."""
    source = read("1.  ### What is a component?\n\n      **Component:**\n      - A function\n      - Or a class\n")
    assert source.questions[0].answer_lines == ("**Component:**", "- A function", "- Or a class")
