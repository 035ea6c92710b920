"""Hostile answers: each renders, or is refused as a `ParseError` at its line; none hangs or crashes.

Every render here runs in a thread that the test waits for at most `HANG_SECONDS`, so a
regression fails instead of hanging the suite; the real per-answer bound (`qakb.limits`)
is measured by scripts/hostile_render.py, not asserted as a timing here.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import qakb.markup
from qakb.bank import ParseError, Question
from qakb.formats import read_bank_file
from qakb.limits import MAX_NESTING, RenderTimeout, within_deadline
from qakb.markup import AnswerRenderer
from qakb.parse import assign_anchors, parse_text
from projects import ROOT, make_project

HANG_SECONDS = 20


def in_thread(work):
    """`work()`'s result or the exception it raised, failing the test if it is still running after
    `HANG_SECONDS`. A thread, not the main one: rendering must be bounded in the build's threads too."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # noqa: BLE001 (handed to the test, which says what it expected)
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_SECONDS)
    if thread.is_alive():
        pytest.fail(f"still running after {HANG_SECONDS} s")
    return outcome[0]


def bank_question(answer: str) -> Question:
    """The answer as the only item of a bank in the project's format: the question is line 1, the answer from line 2."""
    source = parse_text(f"1. `Q?`\n{answer}\n", "bank.md")
    anchored, _ = assign_anchors(list(source.questions))
    return anchored[0]


def render(answer: str | Question, renderer: AnswerRenderer | None = None):
    """The rendered `Answer`, or the `ParseError` that refused it; anything else fails the test."""
    question = answer if isinstance(answer, Question) else bank_question(answer)
    renderer = renderer or AnswerRenderer(Path("."))
    outcome = in_thread(lambda: renderer.render(question))
    if isinstance(outcome, BaseException) and not isinstance(outcome, ParseError):
        pytest.fail(f"{type(outcome).__name__} instead of a rendered answer or a ParseError: {outcome}")
    return outcome


def _indented_list(depth: int) -> str:
    return "\n".join("  " * level + "- a" for level in range(depth))


# The answer, the bank line it is refused at, and words of the reason.
REFUSED = {
    "100 kB of [": ("[" * 100_000, 2, "more than 40 '[' or '(' of links nested or left open"),
    "100 kB of [](": ("[](" * 33_334, 2, "more than 40 '[' or '(' of links"),
    "links nested in brackets": ("[" * 200 + "a" + "]" * 200 + "(b)", 2, "'[' or '(' of links"),
    "[ after an intro line": ("Intro.\n\n" + "[" * 100_000, 4, "'[' or '(' of links"),
    "400 list markers on a line": ("- " * 400 + "a", 2, "lists or quotes nested more than 40 levels deep"),
    "5,000 list markers on a line": ("- " * 5_000 + "a", 2, "lists or quotes nested"),
    "list indented 400 levels": (_indented_list(400), 2 + MAX_NESTING, "lists or quotes nested"),
    "1,000 quotes": (">" * 1_000 + " a", 2, "lists or quotes nested"),
    "quotes and lists": ("> - " * 30 + "a", 2, "lists or quotes nested"),
    "10,000 divs": ("<div>" * 10_000 + "a" + "</div>" * 10_000, 2, "HTML elements nested more than 40 levels deep"),
    "divs over lines": ("\n".join(["<div>"] * 50 + ["a"] + ["</div>"] * 50), 2 + MAX_NESTING, "HTML elements"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_structure_no_real_answer_has_is_refused_at_its_line(name):
    answer, line, reason = REFUSED[name]
    refused = render(answer)
    assert isinstance(refused, ParseError), f"rendered: {refused.html[:200]}"
    assert refused.line == line and reason in refused.message
    assert str(refused).startswith(f"bank.md:{line}: ")
    assert f"more than {MAX_NESTING}" in refused.message


def test_the_refusal_says_what_to_do():
    assert "flatten the list or quote" in render("- " * 400 + "a").message
    assert "close them, write \\[" in render("[" * 1_000).message
    assert "close the elements you open" in render("<div>" * 100).message


# Long runs of the characters Markdown reads as structure, each linear in Python-Markdown.
RENDERED = {
    "50k stars": "*" * 50_000,
    "25k _a": "_a" * 25_000,
    "emphasis chain": "*a **b ***c " * 2_000,
    "100k <": "<" * 100_000,
    "100k backticks": "a " + "`" * 100_000,  # not at the start of a line: no code fence
    "backtick runs": " ".join("`" * k for k in range(1, 200)),
    "100k $": "$" * 100_000,
    "5,000 columns": "\n".join(("| a " * 5_000 + "|", "|---" * 5_000 + "|", "| b " * 5_000 + "|")),
    "40 nested lists": _indented_list(MAX_NESTING),
    "40 nested divs": "<div>" * MAX_NESTING + "a" + "</div>" * MAX_NESTING,
    "brackets that close": "[a] (b) [c](d) " * 2_000,
    "a rule of 400 dashes": "- " * 400,
}


@pytest.mark.parametrize("name", RENDERED)
def test_long_runs_render(name):
    answer = render(RENDERED[name])
    assert not isinstance(answer, ParseError), answer


# Inputs that keep Python-Markdown busy without any structure the pre-check refuses: the deadline's.
FOOTNOTES = "".join(f"[^{i}]" for i in range(20_000)) + "\n\n" + "\n".join(f"[^{i}]: note {i}" for i in range(20_000))


@pytest.mark.parametrize("answer", [FOOTNOTES, "$a$ " * 60_000], ids=["20k footnotes", "60k math spans"])
def test_an_answer_that_renders_too_long_is_refused_at_the_question(answer):
    refused = render(answer)
    if isinstance(refused, ParseError):  # a machine fast enough may render it in time
        assert refused.line == 1 and "to render (answers take milliseconds)" in refused.message


def test_a_renderer_renders_as_before_after_a_refusal():
    renderer = AnswerRenderer(Path("."))
    normal = "Fit it in **three** steps:\n\n1. choose\n2. minimise\n    - with `sgd`\n\n[docs](https://example.org)"
    before = render(normal, renderer)
    render(FOOTNOTES, renderer)  # interrupted mid-conversion (or, on a fast enough machine, rendered)
    assert isinstance(render("- " * 400 + "a", renderer), ParseError)
    assert render(normal, renderer) == before


def test_recursion_in_rendering_is_a_parse_error(monkeypatch):
    """The pre-check stops lists this deep; if something else nests as deep, the recursion is still no traceback."""
    monkeypatch.setattr(qakb.markup, "structure_problem", lambda lines: None)
    refused = render("- " * 5_000 + "a")
    assert isinstance(refused, ParseError) and refused.line == 1
    assert "nested too deeply to render" in refused.message and "flatten it" in refused.message


STRUCTURE = "[]()*_`<>#->!|$ \n"
_runs = st.lists(st.tuples(st.sampled_from(["[", "](", "- ", "> ", "  ", "`", "```\n", "$", "<div>", "</div>",
                                            "*", "_", "|", "\n", "a", "[^1]", "1. ", "!["]),
                           st.integers(1, 300)), max_size=12).map(lambda runs: "".join(t * n for t, n in runs))


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(alphabet=STRUCTURE + "ab", max_size=4_000), _runs))
def test_random_structure_renders_or_is_refused(text):
    """Built as a Question directly: the bank readers refuse some of these texts (an unclosed fence) themselves."""
    lines = tuple(text.split("\n"))
    outcome = render(Question(number=1, question="Q?", answer_lines=lines, needs_review=False, source="bank.md",
                              line=1, anchor="q"))
    if isinstance(outcome, ParseError):
        assert 1 <= outcome.line <= 1 + len(lines), outcome


def test_deadline_interrupts_a_loop_in_any_thread_and_leaves_nothing_behind():
    def forever():
        while True:
            pass

    def interrupted() -> str:
        started = time.monotonic()
        try:
            within_deadline(0.2, forever)
        except RenderTimeout:
            return f"{time.monotonic() - started:.1f}"
        return "not interrupted"

    assert in_thread(interrupted) != "not interrupted"
    assert within_deadline(5, lambda: 42) == 42

    def near_the_deadline() -> int:
        """Work that ends just before or just after its deadline; no RenderTimeout may come later."""
        interrupted = 0
        for _ in range(200):
            try:
                within_deadline(random.uniform(0, 0.003), lambda: sum(range(random.randint(0, 60_000))))
            except RenderTimeout:
                interrupted += 1
            sum(range(50_000))
        return interrupted

    outcomes = [in_thread(near_the_deadline) for _ in range(2)] + [near_the_deadline()]
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes


def test_deadline_counts_the_render_threads_cpu_time_not_the_wall_clock():
    """A render that waits (as one does on a machine busy with other work) is not refused for the
    waiting; one that keeps a core busy past its time still is, and the wall clock bounds both."""
    assert within_deadline(0.1, lambda: time.sleep(0.4) or "rendered") == "rendered"
    started = time.monotonic()
    with pytest.raises(RenderTimeout):
        # Waiting past WALL_CLOCK_BACKSTOP x 0.1 s (in short sleeps: an exception waits for a C call's end).
        within_deadline(0.1, lambda: [time.sleep(0.01) for _ in range(6_000)])
    assert time.monotonic() - started < 5


BOM_UTF16 = "1. `Q?`\nA.\n".encode("utf-16")


@pytest.mark.parametrize("name, data, line, reason", [
    ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "contains a NUL byte: this is a binary file"),
    ("deck.csv", b"question,answer\n" + bytes(range(256)), 2, "binary file"),
    ("excel.tsv", "question\tanswer\nQ?\tA.\n".encode("utf-16"), 1, "is UTF-16 text, not UTF-8; save it as UTF-8"),
    ("notepad.md", BOM_UTF16, 1, "is UTF-16 text"),
    ("latin.md", "1. `Q?`\nA.\n2. `R?`\ncafé\n".encode("latin-1"), 4, "not valid UTF-8 (byte 0xe9); save the file"),
])
def test_a_binary_or_non_utf8_file_is_refused_at_its_line(tmp_path, name, data, line, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ParseError) as caught:
        read_bank_file(path)
    assert caught.value.line == line and reason in caught.value.message


@pytest.mark.slow
@pytest.mark.parametrize("answer, line, reason", [
    ("- " * 5_000 + "a", 6, "nested more than 40 levels deep"),  # the line of the list
    (FOOTNOTES, 4, "took over"),  # the question's line
], ids=["too deep", "too long"])
def test_the_build_reports_a_hostile_answer_at_its_line_and_writes_nothing(tmp_path, answer, line, reason):
    """Before the model is loaded: a failed render stops the build with `error: file:line: ...`, no traceback."""
    bank = f"1. `What is fine?`\nFine.\n\n2. `What is hostile?`\nIntro.\n{answer}\n"
    project = make_project(tmp_path / "p", {"bank.md": bank})
    env = {**os.environ, "QAKB_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "qakb.cli", "--project", str(project), "build"], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1, result.stderr
    errors = [text for text in result.stderr.splitlines() if text.startswith("error: ")]
    assert len(errors) == 1 and f"bank.md:{line}: " in errors[0] and reason in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "site").exists() and not (project / "search_index").exists()
