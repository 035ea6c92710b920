"""The project's own item format.

    # Title of the bank
    > https://first.source.example/page
    > https://second.source.example/

    ## A section

    1. `What are activation functions?` 👶
    The answer, in Markdown, until the next item or section.
    1. a numbered line inside an answer is an ordered-list line

    2. ??? `A question that needs review?` [hard]
    ...

An item starts only with ``N. `` followed by the question in backticks
(``???`` before it marks the question "needs review"; a difficulty may follow it:
👶 / ⭐️ / 🚀 or ``[easy]`` / ``[medium]`` / ``[hard]``). The first heading
before any item is the bank's title; every other ``#`` or ``##`` heading
outside an answer's code starts a section. Lines inside fenced code (``` or ~~~) are never structure.
The format is strict, as it always was: every problem is a ``file:line`` `ParseError`
(an empty answer, text before the first item, a number used twice); likely slips
(an item whose backticks were forgotten) become warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qakb.bank import DIFFICULTY_MARKS, Heading, ParseError, Question, SourceFile, empty_sections

FORMAT = "items"

_NUMBERED_LINE = re.compile(r"^(\d+)\.(?:\s+|$)(.*)$")
_ITEM_QUESTION = re.compile(
    r"^(?P<review>\?\?\?\s*)?`(?P<question>.*)`\s*(?P<difficulty>👶|⭐\ufe0f?|🚀|\[(?:easy|medium|hard)\])?$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SECTION_LEVELS = (1, 2)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SOURCE = re.compile(r"^>\s*(.*?)\s*$")
_URL = re.compile(r"^https?://[^\s<>\"'`]+$")
_QUESTION_WORDS = frozenset(
    "what why how when where which who whom whose is are can could do does did should would will "
    "explain describe define compare name list give tell".split()
)



@dataclass
class _Item:
    """An item while its answer lines are being read."""
    number: int
    question: str
    needs_review: bool
    difficulty: str
    section: str
    line: int
    lines: list[str]


class _Fence:
    """Tracks fenced code blocks, inside which no line is structure."""

    def __init__(self):
        self.marker = ""
        self.line = 0

    def feed(self, line: str, line_number: int) -> bool:
        """Take one line; True if it belongs to a fenced block (fence lines included)."""
        match = _FENCE.match(line)
        if self.marker:
            if match and match.group(1)[0] == self.marker[0] and len(match.group(1)) >= len(self.marker) \
                    and not line.strip()[len(match.group(1)):].strip():
                self.marker = ""
            return True
        if match:
            self.marker, self.line = match.group(1), line_number
            return True
        return False


def parse_text(text: str, name: str) -> SourceFile:
    """Parse one bank file's text; `name` is used in messages and as the source name."""
    title: str | None = None
    section = ""
    urls: list[str] = []
    questions: list[Question] = []
    warnings: list[str] = []
    first_line_of_number: dict[int, int] = {}
    current: _Item | None = None
    fence = _Fence()
    headings: list[Heading] = []

    def finish(item: _Item | None) -> None:
        if item is None:
            return
        if fence.marker:
            raise ParseError(name, fence.line, f"the code fence {fence.marker} opened here in item {item.number} "
                             f"is never closed; end the code block with a line {fence.marker}")
        lines = item.lines
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            raise ParseError(name, item.line, f"item {item.number} has an empty answer")
        questions.append(Question(
            number=item.number, question=item.question, answer_lines=tuple(lines),
            needs_review=item.needs_review, source=name, line=item.line,
            section=item.section, difficulty=item.difficulty,
        ))

    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if "\x00" in line:
            raise ParseError(name, line_number, "contains a NUL character; the file is probably not text")
        if current is not None and fence.feed(line, line_number):
            current.lines.append(line)
            continue
        numbered = _NUMBERED_LINE.match(line)
        item_question = _ITEM_QUESTION.match(numbered.group(2).strip()) if numbered else None
        if item_question:
            number = int(numbered.group(1))
            finish(current)
            if number in first_line_of_number:
                raise ParseError(
                    name, line_number,
                    f"item number {number} is used twice (first at line {first_line_of_number[number]})",
                )
            first_line_of_number[number] = line_number
            current = _Item(
                number=number, question=_question_text(item_question.group("question"), name, line_number, number),
                needs_review=bool(item_question.group("review")),
                difficulty=_difficulty(item_question.group("difficulty")),
                section=section, line=line_number, lines=[],
            )
            continue
        heading = _HEADING.match(line)
        before_items = current is None and not first_line_of_number
        if heading and ((title is None and before_items) or len(heading.group(1)) in _SECTION_LEVELS) \
                and heading.group(2):
            if title is None and before_items:
                title = heading.group(2)
            else:
                finish(current)
                current = None
                section = heading.group(2)
                headings.append(Heading(line_number, len(heading.group(1)), section))
            continue
        if current is not None:
            if numbered and _forgotten_backticks(current, int(numbered.group(1)), numbered.group(2)):
                warnings.append(
                    f"{name}:{line_number}: '{line[:60]}' reads like the question of a new item {numbered.group(1)} "
                    f"but has no backticks, so it is read as a numbered line of item {current.number}'s answer; "
                    f"if it is a question, write it as {numbered.group(1)}. `{numbered.group(2).strip()}`"
                )
            current.lines.append(line)
        elif numbered:
            raise ParseError(
                name, line_number,
                f"item {numbered.group(1)} has no question in backticks; write it as "
                f"{numbered.group(1)}. `Your question?`",
            )
        else:
            _header_line(line, name, line_number, urls)
    finish(current)
    if not questions:
        raise ParseError(name, 1, "no items found; an item is a line like 1. `The question?` followed by its answer")
    return SourceFile(name=name, title=title or "", urls=tuple(urls), questions=tuple(questions),
                      warnings=tuple(warnings), format=FORMAT,
                      empty_sections=empty_sections(headings, [question.line for question in questions]))


def _question_text(text: str, name: str, line_number: int, number: int) -> str:
    question = " ".join(text.split())
    if not question:
        raise ParseError(name, line_number, f"item {number} has an empty question")
    return question


def _difficulty(mark: str | None) -> str:
    if not mark:
        return ""
    return DIFFICULTY_MARKS.get(mark) or mark.strip("[]").lower()


def _forgotten_backticks(item: _Item, number: int, text: str) -> bool:
    """A numbered answer line that continues the item numbering and reads as a question."""
    if number != item.number + 1:
        return False
    if any(_NUMBERED_LINE.match(line) and int(_NUMBERED_LINE.match(line).group(1)) == number - 1
           for line in item.lines):
        return False  # it continues an ordered list of the answer
    words = text.strip().split()
    return bool(words) and (text.rstrip().endswith("?") or words[0].lower().strip("*_") in _QUESTION_WORDS)


def _header_line(line: str, name: str, line_number: int, urls: list[str]) -> None:
    """Check a line before the first item: blank, or a '> URL' source line."""
    stripped = line.strip()
    if not stripped:
        return
    source = _SOURCE.match(stripped)
    if source:
        url = source.group(1)
        if not _URL.match(url):
            raise ParseError(name, line_number, f"source line must hold one http(s) URL, got {url!r}")
        urls.append(url)
        return
    raise ParseError(
        name, line_number,
        "text before the first item; the header holds only a '#' title, '> URL' source lines and '## Section' headings",
    )


def item_lines(text: str) -> int:
    """How many lines outside fenced code start an item of this format (``N. `Question```)."""
    fence = _Fence()
    count = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        if fence.feed(line.rstrip(), line_number):
            continue
        numbered = _NUMBERED_LINE.match(line.rstrip())
        count += bool(numbered and _ITEM_QUESTION.match(numbered.group(2).strip()))
    return count
