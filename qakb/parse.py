"""Parse Q&A bank files into questions.

The source format (one file per bank, any number of files in ``content/``)::

    ## Optional title
    > https://first.source.example/page
    > https://second.source.example/

    1. `What are activation functions?`
    Answer lines, kept line by line, until the next item.
    - bullet lines stay bullets

    2. ??? `A question that needs review?`
    ...

A line that starts with a number and a dot (``12. ``) always starts an item, so
numbered lists inside an answer must be written with ``-`` bullets or indented.
Every problem is reported as ``file:line: what is wrong`` through `ParseError`.

Standard library only: the CLI checks the content hash with it without
importing any build-time dependency.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

MAX_FILE_BYTES = 8 * 1024 * 1024
ANSWER_FIELD_SEPARATOR = "\n"
# Ids the rendered pages use for their own headings; a question never takes them.
RESERVED_ANCHORS = frozenset({"sources", "top", "__skip", "qakb-sources"})
MAX_ANCHOR_CHARS = 80

_ITEM = re.compile(r"^(\d+)\.(?:\s+|$)(.*)$")
_REVIEW_MARK = re.compile(r"^\?\?\?\s*")
_SOURCE = re.compile(r"^>\s*(.*?)\s*$")
_URL = re.compile(r"^https?://[^\s<>\"'`]+$")


class ParseError(Exception):
    """A problem in a bank file, located at a line."""

    def __init__(self, path: str | Path, line: int, message: str):
        # Line 0: the problem is the file or folder as a whole.
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Question:
    number: int
    question: str
    answer_lines: tuple[str, ...]
    needs_review: bool
    source: str
    line: int
    anchor: str = ""

    @property
    def answer(self) -> str:
        return ANSWER_FIELD_SEPARATOR.join(self.answer_lines)

    @property
    def document(self) -> str:
        """The text that is embedded and indexed for this question."""
        return f"{self.question}\n{self.answer}"


@dataclass(frozen=True)
class SourceFile:
    name: str
    title: str
    urls: tuple[str, ...]
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Bank:
    files: tuple[SourceFile, ...]
    warnings: tuple[str, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(question for source in self.files for question in source.questions)


def read_text(path: Path) -> str:
    """Read a bank file as UTF-8, reporting the line of the first bad byte."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParseError(
            _shown(path), 1,
            f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit for one bank file; "
            "split it into several files in the content folder",
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ParseError(
            _shown(path), line,
            f"not valid UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def parse_text(text: str, name: str) -> SourceFile:
    """Parse one bank file's text; `name` is used in messages and as the source name."""
    title = ""
    urls: list[str] = []
    questions: list[Question] = []
    first_line_of_number: dict[int, int] = {}
    current: dict | None = None

    def finish(item: dict | None) -> None:
        if item is None:
            return
        lines = item["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            raise ParseError(name, item["line"], f"item {item['number']} has an empty answer")
        questions.append(Question(
            number=item["number"], question=item["question"], answer_lines=tuple(lines),
            needs_review=item["needs_review"], source=name, line=item["line"],
        ))

    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if "\x00" in line:
            raise ParseError(name, line_number, "contains a NUL character; the file is probably not text")
        item_match = _ITEM.match(line)
        if item_match:
            number = int(item_match.group(1))
            rest = item_match.group(2).strip()
            needs_review = bool(_REVIEW_MARK.match(rest))
            question = _backticked_question(_REVIEW_MARK.sub("", rest), name, line_number, number)
            finish(current)
            if number in first_line_of_number:
                raise ParseError(
                    name, line_number,
                    f"item number {number} is used twice (first at line {first_line_of_number[number]})",
                )
            first_line_of_number[number] = line_number
            current = {"number": number, "question": question, "needs_review": needs_review,
                       "line": line_number, "lines": []}
        elif current is not None:
            current["lines"].append(line)
        else:
            title = _header_line(line, name, line_number, urls) or title
    finish(current)
    if not questions:
        raise ParseError(name, 1, "no items found; an item is a line like 1. `The question?` followed by its answer")
    return SourceFile(name=name, title=title, urls=tuple(urls), questions=tuple(questions))


def _backticked_question(rest: str, name: str, line_number: int, number: int) -> str:
    if not (len(rest) >= 2 and rest.startswith("`") and rest.endswith("`")):
        raise ParseError(
            name, line_number,
            f"item {number} has no question in backticks; write it as {number}. `Your question?` "
            "(a line that belongs to the answer above must not start with a number and a dot: "
            "make it a '- ' bullet)",
        )
    question = " ".join(rest[1:-1].split())
    if not question:
        raise ParseError(name, line_number, f"item {number} has an empty question")
    return question


def _header_line(line: str, name: str, line_number: int, urls: list[str]) -> str:
    """Handle a line before the first item; return a title if the line is one."""
    stripped = line.strip()
    if not stripped:
        return ""
    if stripped.startswith("#"):
        return stripped.lstrip("#").strip()
    source = _SOURCE.match(stripped)
    if source:
        url = source.group(1)
        if not _URL.match(url):
            raise ParseError(name, line_number, f"source line must hold one http(s) URL, got {url!r}")
        urls.append(url)
        return ""
    raise ParseError(
        name, line_number,
        "text before the first item; the header holds only a '#' title and '> URL' source lines",
    )


def bank_files(content_dir: Path) -> list[Path]:
    return sorted(path for path in content_dir.glob("*.md") if path.is_file())


def parse_content(content_dir: Path) -> Bank:
    """Parse every ``*.md`` bank in `content_dir` and give each question a site-wide anchor."""
    paths = bank_files(content_dir)
    if not paths:
        raise ParseError(_shown(content_dir), 0, "no bank files (*.md) in the content folder; add one in the seed format")
    files = []
    for path in paths:
        try:
            files.append(parse_text(read_text(path), path.name))
        except ParseError as error:
            raise ParseError(_shown(path), error.line, error.message) from None
    anchored, warnings = assign_anchors([q for source in files for q in source.questions])
    by_key = {(q.source, q.number): q for q in anchored}
    files = [replace(source, questions=tuple(by_key[(q.source, q.number)] for q in source.questions))
             for source in files]
    return Bank(files=tuple(files), warnings=tuple(warnings))


def _shown(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def slugify(text: str) -> str:
    """A URL fragment made from a question's text: lowercase words joined by '-'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.findall(r"[^\W_]+", without_marks)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_ANCHOR_CHARS:
            break
        slug = candidate
    return slug or (words[0][:MAX_ANCHOR_CHARS] if words else "question")


def assign_anchors(questions: list[Question]) -> tuple[list[Question], list[str]]:
    """Anchor = slug of the question text; a clash keeps both, the later one gets -2, -3, ..."""
    taken: dict[str, Question] = {}
    anchored: list[Question] = []
    warnings: list[str] = []
    for question in questions:
        base = slugify(question.question)
        anchor, suffix = base, 1
        while anchor in taken or anchor in RESERVED_ANCHORS:
            suffix += 1
            anchor = f"{base}-{suffix}"
        if anchor != base:
            first = taken.get(base)
            clash = f"the same anchor as {first.source}:{first.line}" if first else "a reserved anchor"
            warnings.append(
                f"{question.source}:{question.line}: question text makes {clash} ('{base}'); "
                f"this one is linked as '#{anchor}' — reword one question to make its link clearer"
            )
        placed = replace(question, anchor=anchor)
        taken[anchor] = placed
        anchored.append(placed)
    return anchored, warnings


def content_hash(paths: list[Path]) -> str:
    """A hash of everything the built site and index are made from."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return "sha256:" + digest.hexdigest()
