"""`qakb check`: an editor's report on a content folder, without building the site.

Per bank file, what was read (`qakb.formats.describe`); then every problem, one line each as
``file:line: what``, in file and line order:

- questions that ask the same thing (`qakb.duplicates`; loads the model, which `--no-model` skips);
- questions without an answer;
- section headings with no question under them (Markdown and item banks; the record and Anki
  formats have no headings);
- links in answers to files that do not exist, and ``#anchor`` links to no question;
- images that do not exist (all of them: the build stops at the first);
- answers that cannot be rendered, files that cannot be read, and the warnings reading gave.

Answers are rendered as the build renders them, and question texts embedded through the build's
cache, so a check after a build (or a build after a check) embeds nothing again.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from qakb.bank import BankLines, ParseError, Question, SourceFile, shown_path
from qakb.markup import AnswerRenderer

_HREF = re.compile(r'<a\b[^>]*?\shref="([^"]*)"')


@dataclass(frozen=True, order=True)
class Problem:
    """One line of the report: `path`:`line`: `message` (line 0: the file as a whole)."""
    file_order: int
    line: int
    path: str = field(compare=False)
    message: str = field(compare=False)
    kind: str = field(compare=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass
class Report:
    read: list[str] = field(default_factory=list)  # what was read, per file
    problems: list[Problem] = field(default_factory=list)
    questions: int = 0
    duplicates_checked: bool = False

    def lines(self) -> list[str]:
        return [*self.read, *(str(problem) for problem in sorted(self.problems))]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for problem in self.problems:
            counts[problem.kind] = counts.get(problem.kind, 0) + 1
        skipped = "" if self.duplicates_checked else "; near-duplicates not looked for (--no-model)"
        if not counts:
            return f"no problems in {self.questions} question(s){skipped}"
        return (f"{len(self.problems)} problem(s) in {self.questions} question(s): "
                + ", ".join(f"{count} {kind}" for kind, count in counts.items()) + skipped)


def check(content_dir: Path, read_options=None, embedder=None, log=None) -> Report:
    """The report on the bank files in `content_dir`; `embedder` (`qakb.embed.Embedder`) finds near-duplicates,
    None skips them."""
    from qakb.formats import ReadOptions, describe, read_bank_file
    from qakb.parse import anchored_bank, bank_files

    report = Report()
    paths = bank_files(content_dir)
    if not paths:
        raise ParseError(shown_path(content_dir), 0, "no bank files in the content folder")
    order = {path.name: index for index, path in enumerate(paths)}
    shown = {path.name: shown_path(path) for path in paths}

    def problem(name: str, line: int, message: str, kind: str) -> None:
        report.problems.append(Problem(order.get(name, len(order)), line, shown.get(name, name), message, kind))

    files: list[SourceFile] = []
    for path in paths:
        try:
            files.append(read_bank_file(path, options=read_options or ReadOptions()))
        except ParseError as error:
            problem(path.name, error.line, f"cannot be read: {error.message}", "unreadable file(s)")
    bank = anchored_bank(files)
    questions = list(bank.questions)
    report.questions = len(questions)
    for source in bank.files:
        report.read += describe(source, shown[source.name])
    for warning in bank.warnings:
        name, _, rest = warning.partition(":")
        line, _, message = rest.partition(": ")
        if name in order and line.isdigit():
            problem(name, int(line), message, "warning(s)")
        else:
            problem(name, 0, warning, "warning(s)")

    if embedder is not None:
        from qakb.duplicates import NEAR_DUPLICATE_MIN_COSINE, near_duplicates, question_texts

        if log:
            log(f"comparing {len(questions)} question texts with all-MiniLM-L6-v2 "
                f"(cosine >= {NEAR_DUPLICATE_MIN_COSINE})")
        by_anchor = {question.anchor: question for question in questions}
        for pair in near_duplicates(questions, embedder.encode(question_texts(questions))):
            first, second = by_anchor[pair.first], by_anchor[pair.second]
            texts = repr(first.question) if first.question == second.question else \
                f"{first.question!r} / {second.question!r}"
            problem(first.source, first.line, f"asks the same question as {shown[second.source]}:{second.line} "
                    f"(cosine {pair.cosine:.2f}): {texts}", "near-duplicate pair(s)")
        report.duplicates_checked = True

    for question in questions:
        if not question.answered:
            problem(question.source, question.line, f"no answer: {question.question!r}", "unanswered question(s)")
    for source in bank.files:
        for heading in source.empty_sections:
            problem(source.name, heading.line, f"section {heading.text!r} has no questions", "empty section(s)")

    lines_of = _BankLines(content_dir, questions)
    anchors = {question.anchor for question in questions}
    try:
        anchors |= _former_anchors(content_dir, questions)
    except ParseError as error:  # the build stops at it too
        problem(Path(error.path).name, error.line, error.message, "unreadable file(s)")
    renderer = AnswerRenderer(content_dir)
    missing: list[tuple[Question, str]] = []  # reported after the links, as the summary lists them
    for question in questions:
        try:
            answer = renderer.render(question)
        except ParseError as error:
            problem(question.source, error.line, f"answer cannot be rendered: {error.message}", "unrenderable answer(s)")
            continue
        missing += [(question, warning) for warning in answer.missing_images]
        for href in _hrefs(answer.prompt_html + answer.html):
            broken = _broken_link(href, question, content_dir, anchors)
            if broken:
                problem(question.source, lines_of.mentioning(question, href), broken, "broken link(s)")
    for question, warning in missing:
        _, line, message = warning.split(":", 2)
        problem(question.source, int(line), message.strip(), "missing image(s)")
    return report


def _hrefs(answer_html: str) -> list[str]:
    return [html.unescape(href) for href in _HREF.findall(answer_html)]


def _broken_link(href: str, question: Question, content_dir: Path, anchors: set[str]) -> str:
    """What is wrong with a link of `question`'s answer, or ''."""
    parts = urlsplit(href)
    if parts.scheme or href.startswith("//"):
        return ""  # another site: not checked (no network)
    if not parts.path:
        fragment = unquote(parts.fragment)
        if not fragment or fragment in anchors or fragment.startswith(f"{question.anchor}--"):
            return ""  # a question, or a footnote or heading of this answer
        return f"link {href!r} leads to no question (no question's anchor is {fragment!r})"
    if href.startswith("/"):
        return ""  # the site's own root: not a bank file
    target = (content_dir / unquote(parts.path)).resolve()
    if target.exists():
        return ""
    return f"link {href!r} leads to no file (looked for {shown_path(target)}; links are relative to the bank file)"


class _BankLines:
    """Where in its bank file a question's answer mentions something."""

    def __init__(self, content_dir: Path, questions: list[Question]):
        self.lines = BankLines(content_dir)
        starts: dict[str, list[int]] = {}
        for question in questions:
            starts.setdefault(question.source, []).append(question.line)
        # A question's lines end where the next question of its file starts.
        self.end = {(question.source, question.line): next(
            (line for line in sorted(starts[question.source]) if line > question.line), None) for question in questions}

    def mentioning(self, question: Question, text: str) -> int:
        """The first line of `question`'s item that holds `text` (the question's own line if none does)."""
        found = self.lines.first_mentioning(question.source, text, question.line,
                                            self.end[question.source, question.line])
        return found or question.line


def _former_anchors(content_dir: Path, questions: list[Question]) -> set[str]:
    """Anchors the anchor record still leads to a current question (old links to reworded questions)."""
    from qakb.anchors import RECORD_FILE, read_record

    record = read_record(content_dir / RECORD_FILE)
    current = {question.anchor for question in questions}
    return {former for entry in (record.entries if record else ()) if entry.anchor in current
            for former in entry.former}
