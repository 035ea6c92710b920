"""What every bank format is read into: `Question` records in `SourceFile`s in a `Bank`.

Whatever a bank's format (the project's own items, a heading per question,
``<details>`` blocks, a spreadsheet, an Anki deck: `qakb.formats`), its reader
yields these records, and everything downstream (topics, embeddings, index,
pages, practice, Anki) reads only them. Problems are `ParseError`s located at
``file:line``.

Standard library only: the CLI reads banks without importing a build-time dependency.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 8 * 1024 * 1024
ANSWER_FIELD_SEPARATOR = "\n"
DIFFICULTIES = ("easy", "medium", "hard")
DIFFICULTY_MARKS = {"👶": "easy", "⭐": "medium", "⭐\ufe0f": "medium", "🚀": "hard"}


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
    """One item of a bank.

    `number` is the item's number as shown (its own number in the project's
    format, its place in the file otherwise): unique within its file, never
    used in links. `prompt_lines` is Markdown that belongs to the question
    (a multiple-choice question's code and options), shown with it and never
    hidden in practice. A question with no `answer_lines` is kept, shown as
    "No answer yet" and searchable by its question, but left out of practice
    and the Anki deck. `urls` are the item's own sources.
    """
    number: int
    question: str
    answer_lines: tuple[str, ...]
    needs_review: bool
    source: str
    line: int
    anchor: str = ""
    section: str = ""
    difficulty: str = ""
    prompt_lines: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def answer(self) -> str:
        """The answer as written: Markdown."""
        return ANSWER_FIELD_SEPARATOR.join(self.answer_lines)

    @property
    def prompt(self) -> str:
        """What belongs to the question besides its text (Markdown), or ''."""
        return ANSWER_FIELD_SEPARATOR.join(self.prompt_lines)

    @property
    def answered(self) -> bool:
        return bool(self.answer_lines)


@dataclass(frozen=True)
class Skipped:
    """A line of a bank file that is neither an item nor a title nor a source (badges, a table of contents)."""
    line: int
    text: str


@dataclass(frozen=True)
class Heading:
    """A section heading of a bank file: its 1-based line, its level (0: a bold line) and text."""
    line: int
    level: int
    text: str


def empty_sections(headings: list[Heading], question_lines: list[int]) -> tuple[Heading, ...]:
    """The section headings with no question under them: none before the next heading of the same
    or a higher level (a bold line ranks below every heading; the file's end closes every section)."""
    rank = [heading.level or 7 for heading in headings]
    lines = sorted(question_lines)
    empty = []
    for index, heading in enumerate(headings):
        end = next((other.line for other, other_rank in zip(headings[index + 1:], rank[index + 1:])
                    if other_rank <= rank[index]), None)
        if not any(heading.line < line and (end is None or line < end) for line in lines):
            empty.append(heading)
    return tuple(empty)


@dataclass(frozen=True)
class SourceFile:
    name: str
    title: str
    urls: tuple[str, ...]
    questions: tuple[Question, ...]
    warnings: tuple[str, ...] = ()
    format: str = ""
    # Non-blank lines before the first item that were not read as the title or a source.
    skipped: tuple[Skipped, ...] = ()
    # Section headings with no question under them (`empty_sections`); formats without headings have none.
    empty_sections: tuple[Heading, ...] = ()

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(question.section for question in self.questions if question.section))

    @property
    def unanswered(self) -> int:
        return sum(not question.answered for question in self.questions)


@dataclass(frozen=True)
class Bank:
    files: tuple[SourceFile, ...]
    warnings: tuple[str, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(question for source in self.files for question in source.questions)


# Byte-order marks of the encodings other than UTF-8 that editors and spreadsheets save text in
# (Excel's "Unicode Text", Notepad's "Unicode"); UTF-32's before UTF-16's, which they start with.
WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
             (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def decode_text(data: bytes, name: str) -> str:
    """A bank file's bytes as text: UTF-8 (a BOM is dropped), else a `ParseError` at the first bad byte's line."""
    wide = next((encoding for bom, encoding in WIDE_BOMS if data.startswith(bom)), None)
    if wide:
        raise ParseError(name, 1, f"is {wide} text, not UTF-8; save it as UTF-8 (an editor's \"save with "
                         "encoding\", or Excel's \"CSV UTF-8\")")
    if b"\x00" in data[:8192]:
        raise ParseError(name, data.count(b"\n", 0, data.index(b"\x00")) + 1,
                         "contains a NUL byte: this is a binary file, not a text bank "
                         "(banks are UTF-8 text: Markdown, CSV, TSV, JSON or YAML, or an Anki .apkg); "
                         "move it out of the content folder")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ParseError(name, line, f"not valid UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8") \
            from None
    return text.removeprefix("\ufeff")


def read_bytes(path: Path) -> bytes:
    """A bank file's bytes, refusing one over the size limit."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParseError(
            shown_path(path), 1,
            f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit for one bank file; "
            "split it into several files in the content folder",
        )
    return path.read_bytes()


def read_text(path: Path) -> str:
    """Read a bank file as UTF-8, reporting the line of the first bad byte."""
    return decode_text(read_bytes(path), shown_path(path))


def shown_path(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


MAX_ANCHOR_CHARS = 80


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


class BankLines:
    """A content folder's bank files as lines, each read once: where in its file an item mentions
    something (answers are cut out of their files' lines, dedented and trimmed, so only the file says)."""

    def __init__(self, content_dir: Path):
        self.content_dir = content_dir
        self._files: dict[str, list[str]] = {}

    def first_mentioning(self, source: str, text: str, start: int, end: int | None = None) -> int:
        """The first line number from `start` (up to `end`, exclusive) of `source` holding `text`; 0 if none."""
        if source not in self._files:
            try:
                self._files[source] = (self.content_dir / source).read_text(
                    encoding="utf-8", errors="replace").splitlines()
            except OSError:
                self._files[source] = []
        lines = self._files[source]
        last = min(end or len(lines) + 1, len(lines) + 1)
        return next((number for number in range(start, last) if text and text in lines[number - 1]), 0)

