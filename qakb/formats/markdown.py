"""Markdown banks in the shapes real banks take, read with a CommonMark parser (markdown-it-py).

A question is marked in one of these ways (the *kind*; `AUTO` counts the items
each finds and takes the kind that finds most):

- ``headings``: a heading per question at one level (any of 1-6, with or without
  a number: ``### What is Go?``, ``## 1. …``, ``#### 1) …``, ``### Q1: … ###``),
  also as the first block of a numbered list item (``1.  ### What is React?``
  with the answer indented; the numbers are never trusted). The answer runs to
  the next heading at that level or higher, or to the end of the list item;
  higher headings are sections, deeper ones stay in the answer.
- ``details``: ``<details><summary>Question</summary> answer </details>``.
- ``bold``: a whole-line bold paragraph ending in ``?`` or a difficulty mark, or
  starting ``N)``; bold lines inside answers (``**Core Features:**``) stay answer text.
- ``questions``: a list of questions without answers.

Whatever the kind, the answer may hold a ``<details>`` whose summary only says
"Answer" (multiple choice: what comes before it, code and options, belongs to
the question as its prompt) or ``- [ ]``/``- [x]`` options (the ticked one is the
answer); lists of questions with no answers between items are kept as
unanswered items; per-item ``Source`` lines become the item's sources; "back to
top" links are dropped. Everything before the first item that is not the title
or a bare source URL (badges, sponsor blocks, tables of contents) is skipped and
reported, never an error.

Structure comes from the parser's tokens and their line maps (so a line like
````` ```{{ x }}``` ````` is inline code, not a fence); answers are the bank's own
source lines, dedented out of their list item, so they render as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

from qakb.bank import DIFFICULTY_MARKS, Heading, ParseError, Question, Skipped, SourceFile, empty_sections
from qakb.limits import link_opener_problem

AUTO = "markdown"
HEADINGS, DETAILS, BOLD, QUESTIONS = "headings", "details", "bold", "questions"
KINDS = (AUTO, HEADINGS, DETAILS, BOLD, QUESTIONS)
DESCRIPTIONS = {
    HEADINGS: "a heading per question",
    DETAILS: "<details><summary>Question</summary> blocks",
    BOLD: "a bold paragraph per question",
    QUESTIONS: "a list of questions",
}
# Deeper than this, markdown-it stops nesting (and nothing recurses without bound).
MAX_NESTING = 40

_QUESTION_WORDS = frozenset(
    "what why how when where which who whom whose is are am can could do does did should would will shall "
    "may might have has had explain describe define compare name list give tell walk discuss differentiate "
    "distinguish write implement design".split())
# Section or heading names that are never questions: they end an item and hold no items.
_NOT_QUESTIONS = re.compile(
    r"^(table of contents?|contents?|toc|index|licen[cs]e|contributing|contributors?|credits|acknowledge?ments?|"
    r"references?|resources?|disclaimer|further reading|see also|useful links|links|support|sponsors?|authors?|"
    r"changelog|about|introduction|overview|notes?|summary|conclusion|answers?|questions?)$", re.IGNORECASE)
_ANSWER_ONLY_SUMMARY = re.compile(
    r"^((click|tap)\s+(here\s+)?(to|for)\s+)?(see|view|show|reveal|check|display|toggle|expand)?\s*"
    r"(the\s+)?(correct\s+)?(answer|answers|solution|solutions|explanation|expand|hint)(\s+and\s+explanation)?$",
    re.IGNORECASE)
_TOC_SUMMARY = re.compile(r"(table of contents|\bcontents\b|\btoc\b|hide/show)", re.IGNORECASE)

_DIFFICULTY_SUFFIX = re.compile(r"[\s\u200d\ufe0f]*((?:👶|⭐|🚀)[\u200d\ufe0f]*I?)+\s*$")
_DIFFICULTY_LETTER = re.compile(r"\s*\[(e|m|h|easy|medium|hard)\]\s*", re.IGNORECASE)
_DIFFICULTY_LEVEL = re.compile(r"\s*[(\[]?\blevel[\s:]*(\d)\b[)\]]?\s*", re.IGNORECASE)
_REVIEW_MARK = re.compile(r"\s*(\?\?\?|\[(needs review|review|wip)\]|\((needs review|wip)\))\s*", re.IGNORECASE)
_LEADING_NUMBER = re.compile(
    r"^\s*(?:(?:Q(?:uestion)?\s*#?\s*\d+|Q)\s*[.:)\-–]|#?\d+\s*[.):]|\d+\s*[-–]\s)\s*", re.IGNORECASE)
_TRAILING_SOURCE = re.compile(r"\s*\[\s*\[([^\]]*)\]\((https?://[^)\s]+)\)\s*\]\s*$")
_BACK_TO_TOP = re.compile(r"^\W*\[.*?\b(back\s+to\s+(the\s+)?top|to\s+top|top)\b.*?\]\(#[^)]*\)\W*$",
                          re.IGNORECASE)
_SOURCE_LABEL = re.compile(r"^\s*(?:#{1,6}\s*)?[*_]*\s*(sources?|references?|ref|credits?)\s*:?\s*[*_]*\s*:?\s*"
                           r"(?P<rest>.*)$", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"'`)\]]+")
_BARE_URL_LINE = re.compile(r"^\s*(?:>\s*)?<?(https?://[^\s<>\"'`]+)>?\s*$")
_LIST_URL_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*(?:\[[^\]]*\]\()?<?(https?://[^\s<>\"'`)]+)>?\)?\s*$")
_SEPARATOR_LINE = re.compile(r"^\s*(?:<br\s*/?>|<hr\s*/?>|-{3,}|\*{3,}|_{3,}|&nbsp;)\s*$", re.IGNORECASE)
_NO_ANSWER = re.compile(
    r"^[\s*_>]*(\*{3}|-|tbd|todo|to be (completed|done|added|written)|answer here|coming soon|n/?a|"
    r"no answer( yet)?|work in progress|wip|\.\.\.|…)[\s.!*_]*$", re.IGNORECASE)
_TASK_OPTION = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+\[([ xX])\]\s?(.*)$")
_DETAILS_OPEN = re.compile(r"<details\b[^>]*>", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
_SUMMARY = re.compile(r"<summary\b[^>]*>(?P<text>.*?)</summary\s*>", re.IGNORECASE | re.DOTALL)
_LIST_MARKER = re.compile(r"^(\s*)(\d{1,9}[.)]|[-+*])(\s*)")
_PARAGRAPH_WRAPPER = re.compile(r"^\s*</?p>\s*$", re.IGNORECASE)


# One parser for every file: it keeps no state between documents.
_PARSER = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table")


@dataclass(frozen=True)
class _Block:
    """A block that may mark a question: a heading or a bold paragraph, where it is."""
    line: int  # 0-based first line
    end: int  # 0-based line after it
    text: str  # its inline Markdown, as written
    level: int  # heading level; 0 for a paragraph
    container_end: int  # end of the list item it opens (the document's end if none)
    indent: int  # columns its list item indents its content by
    inside: bool = False  # inside a list item without opening it: part of that item's content


@dataclass(frozen=True)
class _Details:
    open_line: int
    close_line: int  # the line holding </details>
    summary: str
    body: tuple[str, ...]  # the source between </summary> and </details>
    nested: bool


@dataclass(frozen=True)
class _Start:
    """Where an item starts, and what bounds its answer."""
    line: int
    body_start: int
    question: str
    container_end: int
    indent: int
    fixed_end: int | None = None  # a <details> item ends at its own close
    body: tuple[str, ...] | None = None  # a <details> item's answer, already cut out


@dataclass
class _Document:
    name: str
    lines: list[str]
    tokens: list[Token]
    headings: list[_Block] = field(default_factory=list)
    bold: list[_Block] = field(default_factory=list)
    details: list[_Details] = field(default_factory=list)
    list_questions: list[_Block] = field(default_factory=list)


def _read(text: str, name: str) -> _Document:
    lines = text.splitlines()
    hostile = link_opener_problem(lines)
    if hostile:
        raise ParseError(name, hostile[0] + 1, hostile[1])
    tokens = _PARSER.parse(text)
    document = _Document(name=name, lines=lines, tokens=tokens)
    document.details = list(_collect_details(document))
    _collect_blocks(document)
    return document


def _collect_blocks(document: _Document) -> None:
    """Headings, bold paragraphs and one-line list questions, each with the list item it opens."""
    tokens, lines = document.tokens, document.lines
    items: list[Token] = []  # open list items, innermost last
    blocks_in_item: list[int] = []  # blocks seen so far in each open item
    for index, token in enumerate(tokens):
        if token.type == "list_item_open":
            items.append(token)
            blocks_in_item.append(0)
            continue
        if token.type == "list_item_close":
            items.pop()
            blocks_in_item.pop()
            continue
        if token.map is None or token.nesting == -1:
            continue
        first_in_item = False
        if items and token.level == items[-1].level + 1:
            first_in_item = blocks_in_item[-1] == 0
            blocks_in_item[-1] += 1
        if token.type not in ("heading_open", "paragraph_open"):
            continue
        inline = tokens[index + 1]
        container_end, indent = len(lines), 0
        if items:
            container_end = items[-1].map[1]
            indent = _content_indent(lines[items[-1].map[0]])
        start, end = token.map
        if _in_details(document, start):
            continue  # "#### Answer: B" inside a multiple-choice answer is that answer's text
        block = _Block(start, end, inline.content, int(token.tag[1]) if token.tag[0] == "h" else 0,
                       container_end, indent, inside=bool(items) and not first_in_item)
        if token.type == "heading_open":
            document.headings.append(block)
        elif _whole_bold(inline) and (not items or first_in_item):
            document.bold.append(block)
        elif first_in_item and _single_block_item(tokens, index) and _ends_like_question(block.text):
            document.list_questions.append(block)


def _in_details(document: _Document, line: int) -> bool:
    return any(details.open_line < line < details.close_line for details in document.details)


def _single_block_item(tokens: list[Token], paragraph: int) -> bool:
    """A list item holding one paragraph and nothing else (a question with no answer under it)."""
    return tokens[paragraph + 3].type == "list_item_close"


def _content_indent(line: str) -> int:
    """Columns a list item's content is indented by (its marker and the spaces after it)."""
    expanded = line.expandtabs(4)
    match = _LIST_MARKER.match(expanded)
    if not match:
        return 0
    spaces = len(match.group(3))
    return len(match.group(1)) + len(match.group(2)) + (spaces if 1 <= spaces <= 4 else 1)


def _whole_bold(inline: Token) -> bool:
    children = [child for child in inline.children or [] if not (child.type == "text" and not child.content.strip())]
    return (len(children) >= 3 and children[0].type == "strong_open" and children[-1].type == "strong_close"
            and not any(child.type == "strong_open" for child in children[1:-1]))


def _plain(inline: Token) -> str:
    """The text of an inline token: code spans keep their text, markup and tags are dropped."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


def _inline_text(markdown_text: str) -> str:
    """Plain text of a bit of inline Markdown or HTML (a <summary>): tags dropped, entities decoded."""
    tokens = _PARSER.parseInline(markdown_text)
    return _plain(tokens[0]) if tokens else ""


def _collect_details(document: _Document) -> Iterator[_Details]:
    """<details> blocks in the document's HTML blocks (never inside code), outermost and nested."""
    html_lines = sorted({line for token in document.tokens if token.type == "html_block" and token.map
                         for line in range(*token.map)})
    events = []
    for line in html_lines:
        text = document.lines[line]
        events += [(line, match.start(), 1) for match in _DETAILS_OPEN.finditer(text)]
        events += [(line, match.start(), -1) for match in _DETAILS_CLOSE.finditer(text)]
    events.sort()
    stack: list[tuple[int, int]] = []
    for line, column, step in events:
        if step == 1:
            stack.append((line, column))
            continue
        if not stack:
            continue
        open_line, open_column = stack.pop()
        yield _details_block(document.lines, open_line, open_column, line, column, nested=bool(stack))


def _details_block(lines: list[str], open_line: int, open_column: int, close_line: int, close_column: int,
                   nested: bool) -> _Details:
    if open_line == close_line:
        inside = [lines[open_line][open_column:close_column]]
    else:
        inside = [lines[open_line][open_column:], *lines[open_line + 1:close_line], lines[close_line][:close_column]]
    joined = "\n".join(inside)
    summary = _SUMMARY.search(joined)
    if summary:
        question = " ".join(summary.group("text").split())
        rest = joined[summary.end():]
    else:
        question = ""
        rest = _DETAILS_OPEN.sub("", joined, count=1)
    body = rest.split("\n")
    if body and not body[0].strip():
        body = body[1:]
    return _Details(open_line, close_line, question, tuple(body), nested)


# --- kinds ---------------------------------------------------------------------------

def _question_like(raw: str) -> bool:
    cleaned = _clean_question(raw)[0]
    if not cleaned or _NOT_QUESTIONS.match(cleaned.rstrip(":")):
        return False
    words = cleaned.split()
    return (_ends_like_question(raw) or bool(_LEADING_NUMBER.match(_inline_text(raw)))
            or words[0].lower().strip("*_`'\"") in _QUESTION_WORDS)


def _ends_like_question(raw: str) -> bool:
    """Ends in a question mark or a difficulty mark (ignoring a trailing source link and emphasis)."""
    text = _inline_text(_TRAILING_SOURCE.sub("", raw)).rstrip()
    stripped = _DIFFICULTY_SUFFIX.sub("", text).rstrip()
    return stripped.endswith(("?", "？")) or stripped != text


def _question_level(document: _Document) -> int:
    """The heading level that marks questions: the one with most question-like headings (0: none)."""
    counts = {level: sum(1 for heading in document.headings
                         if heading.level == level and not heading.inside and _question_like(heading.text))
              for level in range(1, 7)}
    level = max(counts, key=lambda level: (counts[level], -level))
    return level if counts[level] else 0


def _heading_starts(document: _Document) -> tuple[list[_Start], list[_Block]]:
    """Items and boundaries of the headings reading."""
    level = _question_level(document)
    if not level:
        return [], []
    # A heading inside a list item it does not open is part of that item's content ("### Example",
    # "**(OR)** ### Another wording?"). Where questions open numbered list items, every item that
    # opens with a heading is a question, whatever its level ("154. #### Give an example…").
    outside = [heading for heading in document.headings if not heading.inside]
    at_level = [heading for heading in outside if heading.level == level]
    in_items = sum(heading.indent > 0 for heading in at_level) * 2 > len(at_level)
    marking = [heading for heading in outside
               if heading.level == level or (in_items and heading.indent > 0 and heading.level > level)]
    starts = [_Start(heading.line, heading.end, heading.text, heading.container_end, heading.indent)
              for heading in marking if not _NOT_QUESTIONS.match(_clean_question(heading.text)[0])]
    boundaries = [heading for heading in outside if heading.level <= level] + \
        [heading for heading in marking if heading.level > level]
    return starts, boundaries


def _bold_starts(document: _Document) -> tuple[list[_Start], list[_Block]]:
    starts = [_Start(block.line, block.end, block.text, block.container_end, block.indent)
              for block in document.bold if _bold_question(block.text)]
    return starts, list(document.headings)


def _bold_question(raw: str) -> bool:
    return _ends_like_question(raw) or bool(re.match(r"^\d+\)", _inline_text(raw)))


def _details_starts(document: _Document) -> tuple[list[_Start], list[_Block]]:
    starts = [_Start(details.open_line, details.close_line + 1, details.summary, len(document.lines), 0,
                     fixed_end=details.close_line + 1, body=_dedented(list(details.body)))
              for details in document.details if _question_details(details)]
    return starts, list(document.headings)


def _question_details(details: _Details) -> bool:
    summary = _inline_text(details.summary)
    return (not details.nested and bool(summary) and not _TOC_SUMMARY.search(summary)
            and not _ANSWER_ONLY_SUMMARY.match(_bare(summary)))


def _question_list_starts(document: _Document) -> tuple[list[_Start], list[_Block]]:
    starts = [_Start(block.line, block.end, block.text, block.end, block.indent, fixed_end=block.end, body=())
              for block in document.list_questions]
    return starts, list(document.headings)


_READINGS = {HEADINGS: _heading_starts, DETAILS: _details_starts, BOLD: _bold_starts, QUESTIONS: _question_list_starts}


def most_items(text: str) -> int:
    """The most items any Markdown reading finds in `text` (the format detection compares it)."""
    document = _read(text, "")
    return max(len(reading(document)[0]) for reading in _READINGS.values())


def _choose(document: _Document, kind: str) -> tuple[str, list[_Start], list[_Block]]:
    if kind != AUTO:
        return kind, *_READINGS[kind](document)
    found = {name: reading(document) for name, reading in _READINGS.items()}
    # Ties go to the earlier reading: a heading over a <details> summary over a bold line over a list line.
    best = max(found, key=lambda name: (len(found[name][0]), -list(_READINGS).index(name)))
    return best, *found[best]


# --- items ---------------------------------------------------------------------------

def parse_markdown(text: str, name: str, options, kind: str = AUTO) -> SourceFile:
    """Read a Markdown bank marked in `kind` (or the kind that finds most items)."""
    document = _read(text, name)
    chosen, starts, boundaries = _choose(document, kind)
    if not starts:
        raise _nothing_found(document, kind)
    starts.sort(key=lambda start: start.line)
    title, title_line = _title(document, starts, boundaries)
    sections = [block for block in boundaries if block.line != title_line and not _is_start(block, starts)]
    urls, skipped = _preamble(document, starts[0].line, {title_line, *(block.line for block in sections)})
    questions: list[Question] = []
    warnings: list[str] = []
    held: set[int] = set()  # lines some item holds
    bounds = sorted({block.line for block in boundaries} | {start.line for start in starts} | {len(document.lines)})
    for number, start in enumerate(starts, start=1):
        if start.line in held:
            continue  # inside the previous item (a <details> item within another's answer)
        end = start.fixed_end if start.fixed_end is not None else _next_bound(bounds, start.line)
        held.update(range(start.line, end))
        answer = _answer_lines(document, start, end)
        section = _section_of(sections, start.line)
        questions.append(_question(document, start, answer, section, number, options, warnings))
    unanswered = _unanswered_lists(document, held, starts[0].line, sections, options)
    held.update(question.line - 1 for question in unanswered)
    questions = sorted([*questions, *unanswered], key=lambda question: question.line)
    held.update(line for block in sections for line in range(block.line, block.end))
    warnings += _orphan_warnings(document, held, starts[0].line)
    numbered = tuple(replace(question, number=index) for index, question in enumerate(questions, start=1))
    headings = [Heading(block.line + 1, block.level, _clean_question(block.text)[0]) for block in sections]
    empty = tuple(heading for heading in empty_sections(headings, [question.line for question in questions])
                  if not _NOT_QUESTIONS.match(heading.text))  # a table of contents, a licence: not sections
    return SourceFile(name=name, title=title, urls=tuple(urls), questions=numbered, warnings=tuple(warnings),
                      format=chosen, skipped=tuple(skipped), empty_sections=empty)


def _is_start(block: _Block, starts: list[_Start]) -> bool:
    return any(start.line == block.line for start in starts)


def _next_bound(bounds: list[int], line: int) -> int:
    for bound in bounds:
        if bound > line:
            return bound
    return bounds[-1]


def _answer_lines(document: _Document, start: _Start, end: int) -> list[str]:
    """The item's answer as source lines, dedented out of its list item."""
    if start.body is not None:
        return list(start.body)
    inside_end = min(end, start.container_end)
    lines = [_dedent(line, start.indent) for line in document.lines[start.body_start:inside_end]]
    # Up to 3 more spaces before every line mean nothing in CommonMark (an answer written at column 6
    # of an item whose content starts at 4), but would read as a list's continuation when rendered.
    extra = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    if 0 < extra < 4:
        lines = [_dedent(line, extra) for line in lines]
    # Lines after the list item and before the next item or section still belong to this item
    # (an under-indented continuation); they keep their own indentation.
    lines += document.lines[inside_end:end]
    return lines


def _dedent(line: str, columns: int) -> str:
    expanded = line.expandtabs(4) if line.startswith((" ", "\t")) else line
    strip = min(columns, len(expanded) - len(expanded.lstrip(" ")))
    return expanded[strip:]


def _dedented(lines: list[str]) -> tuple[str, ...]:
    """Lines with their common indentation removed (a <details> body indented inside its HTML)."""
    expanded = [line.expandtabs(4) for line in lines]
    indents = [len(line) - len(line.lstrip(" ")) for line in expanded if line.strip()]
    common = min(indents) if indents else 0
    return tuple(line[common:] for line in expanded)


def _title(document: _Document, starts: list[_Start], boundaries: list[_Block]) -> tuple[str, int]:
    """The bank's title: the first heading, before any item, above every other section heading."""
    before = [heading for heading in document.headings if heading.line < starts[0].line]
    if not before:
        return "", -1
    first = before[0]
    start_lines = {start.line for start in starts}
    others = [block for block in boundaries if block.line != first.line and block.line not in start_lines
              and block.level]
    if not others or first.level < min(block.level for block in others) \
            or not any(block.line > starts[0].line for block in others):
        return _inline_text(first.text), first.line
    return "", -1


def _section_of(sections: list[_Block], line: int) -> str:
    current = ""
    for block in sections:
        if block.line > line:
            break
        current = "" if _NOT_QUESTIONS.match(block.text) else _clean_question(block.text)[0]
    return current


def _preamble(document: _Document, first_item: int, headings: set[int]) -> tuple[list[str], list[Skipped]]:
    """Source URLs and skipped lines before the first item (the title and section headings are not skipped)."""
    urls: list[str] = []
    skipped: list[Skipped] = []
    for number, line in enumerate(document.lines[:first_item]):
        if number in headings or not line.strip():
            continue
        bare = _BARE_URL_LINE.match(line)
        if bare:
            urls.append(bare.group(1))
        else:
            skipped.append(Skipped(number + 1, line.strip()))
    return urls, skipped


def _question(document: _Document, start: _Start, lines: list[str], section: str, number: int, options,
              warnings: list[str]) -> Question:
    text, difficulty, review, heading_urls = _clean_question(start.question)
    lines = _without_back_to_top(lines)
    lines, urls = _item_sources(lines)
    prompt, answer = _split_prompt(lines)
    answer = _trimmed(answer)
    if answer and all(_NO_ANSWER.match(line) or not line.strip() for line in answer):
        answer = []
    if not text:
        raise ParseError(document.name, start.line + 1, "a question with no text; write the question "
                         "(or remove the empty marker)")
    return Question(
        number=number, question=text, answer_lines=tuple(answer), needs_review=review, source=document.name,
        line=start.line + 1, section=section,
        difficulty=difficulty or _section_difficulty(section, options),
        prompt_lines=tuple(_trimmed(prompt)), urls=tuple(dict.fromkeys([*heading_urls, *urls])),
    )


def _clean_question(raw: str) -> tuple[str, str, bool, list[str]]:
    """The plain question text of a marker's inline Markdown, without its number, marks and trailing
    source link; and its difficulty, review flag and URLs."""
    urls = []
    source = _TRAILING_SOURCE.search(raw)
    if source:
        urls.append(source.group(2))
        raw = raw[:source.start()]
    text = _inline_text(raw)
    difficulty = ""
    marks = _DIFFICULTY_SUFFIX.search(text)
    if marks:
        levels = [DIFFICULTY_MARKS[mark] for mark in re.findall("👶|⭐|🚀", marks.group(0))]
        difficulty = max(levels, key=("easy", "medium", "hard").index)
        text = text[:marks.start()]
    letter = _DIFFICULTY_LETTER.search(text)
    if letter:
        difficulty = difficulty or {"e": "easy", "m": "medium", "h": "hard"}[letter.group(1)[0].lower()]
        text = text[:letter.start()] + " " + text[letter.end():]
    level = _DIFFICULTY_LEVEL.search(text)
    if level and (level.start() == 0 or level.end() == len(text)):
        difficulty = difficulty or ("easy" if int(level.group(1)) <= 1 else "medium" if level.group(1) == "2" else "hard")
        text = text[:level.start()] + " " + text[level.end():]
    review = bool(_REVIEW_MARK.search(text))
    text = _REVIEW_MARK.sub(" ", text)
    text = _LEADING_NUMBER.sub("", text, count=1)
    return " ".join(text.split()).strip(" #"), difficulty, review, urls


def _section_difficulty(section: str, options) -> str:
    mapping = {key.lower(): value for key, value in options.difficulty_sections.items()}
    for word in re.findall(r"[^\W_]+", section.lower()):
        if word in mapping:
            return mapping[word]
    return ""


def _without_back_to_top(lines: list[str]) -> list[str]:
    return [line for line in lines if not _BACK_TO_TOP.match(line)]


def _item_sources(lines: list[str]) -> tuple[list[str], list[str]]:
    """An item's ``Source`` block (a label, then URLs) taken out of its answer, as the item's URLs."""
    for index, line in enumerate(lines):
        label = _SOURCE_LABEL.match(line)
        if not label or (label.group("rest") and not _URL.search(label.group("rest"))):
            continue
        urls = _URL.findall(label.group("rest"))
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or _LIST_URL_LINE.match(lines[end])):
            if lines[end].strip():
                urls.append(_LIST_URL_LINE.match(lines[end]).group(1))
            end += 1
        if urls and all(not line.strip() or _SEPARATOR_LINE.match(line) for line in lines[end:]):
            return lines[:index], urls
    return lines, []


def _split_prompt(lines: list[str]) -> tuple[list[str], list[str]]:
    """Multiple choice: what belongs to the question (its code and options) and what is its answer.

    The answer is the content of a <details> whose summary only says "Answer", or the
    ticked option of a ``- [ ]``/``- [x]`` list; otherwise the whole body is the answer.
    """
    text = "\n".join(lines)
    for match in _DETAILS_OPEN.finditer(text):
        summary = _SUMMARY.match(text, match.end()) or _SUMMARY.search(text[match.end():match.end() + 400])
        if not summary or not _ANSWER_ONLY_SUMMARY.match(_bare(_inline_text(summary.group("text")))):
            continue
        line = text.count("\n", 0, match.start())
        if lines[line][:match.start() - (text.rfind("\n", 0, match.start()) + 1)].strip():
            continue  # not the first thing on its line
        close = _matching_close(lines, line)
        if close is None:
            continue
        block = [*lines[line:close + 1]]
        inner = _details_inner(block)
        after = lines[close + 1:]
        return lines[:line], [*inner, *after]
    options = [index for index, line in enumerate(lines) if _TASK_OPTION.match(line)]
    if len(options) >= 2 and any(_TASK_OPTION.match(lines[index]).group(3) in "xX" for index in options):
        last = options[-1]
        ticked = [_TASK_OPTION.match(lines[index]).group(4) for index in options
                  if _TASK_OPTION.match(lines[index]).group(3) in "xX"]
        prompt = [_TASK_OPTION.sub(lambda m: f"{m.group(1)}{m.group(2)} {m.group(4)}", line)
                  if index in options else line for index, line in enumerate(lines[:last + 1])]
        return prompt, [*ticked, *lines[last + 1:]]
    return [], lines


def _matching_close(lines: list[str], open_line: int) -> int | None:
    depth = 0
    for index in range(open_line, len(lines)):
        for match in sorted([*((m.start(), 1) for m in _DETAILS_OPEN.finditer(lines[index])),
                             *((m.start(), -1) for m in _DETAILS_CLOSE.finditer(lines[index]))]):
            depth += match[1]
            if depth == 0:
                return index
    return None


def _details_inner(block: list[str]) -> list[str]:
    joined = "\n".join(block)
    summary = _SUMMARY.search(joined)
    start = summary.end() if summary else _DETAILS_OPEN.search(joined).end()
    close = list(_DETAILS_CLOSE.finditer(joined))[-1].start()
    inner = joined[start:close].split("\n")
    inner = [line for line in _dedented(inner)]
    while inner and (not inner[0].strip() or _PARAGRAPH_WRAPPER.match(inner[0])):
        inner.pop(0)
    while inner and (not inner[-1].strip() or _PARAGRAPH_WRAPPER.match(inner[-1])):
        inner.pop()
    return inner


def _bare(text: str) -> str:
    return re.sub(r"[^\w\s/]", "", text).strip()


def _trimmed(lines: list[str]) -> list[str]:
    """Lines without blank lines, breaks and rules at either end."""
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or _SEPARATOR_LINE.match(lines[start])):
        start += 1
    while end > start and (not lines[end - 1].strip() or _SEPARATOR_LINE.match(lines[end - 1])):
        end -= 1
    return [line.rstrip() for line in lines[start:end]]


def _unanswered_lists(document: _Document, held: set[int], first_item: int, sections: list[_Block],
                      options) -> list[Question]:
    """Lists of questions outside every item (a section of questions nobody answered yet), as unanswered items."""
    found = []
    for block in document.list_questions:
        if block.line in held or block.line < first_item:
            continue
        text, difficulty, review, urls = _clean_question(block.text)
        if not text:
            continue
        section = _section_of(sections, block.line)
        found.append(Question(number=0, question=text, answer_lines=(), needs_review=review, source=document.name,
                              line=block.line + 1, section=section,
                              difficulty=difficulty or _section_difficulty(section, options), urls=tuple(urls)))
    return found


def _orphan_warnings(document: _Document, held: set[int], first_item: int) -> list[str]:
    """Text after the first item that no item holds (a section's introduction, a closing disclaimer)."""
    warnings = []
    run: list[int] = []
    for number in range(first_item, len(document.lines) + 1):
        line = document.lines[number] if number < len(document.lines) else ""
        if number in held or not line.strip() or _SEPARATOR_LINE.match(line) or _BACK_TO_TOP.match(line):
            if run:
                warnings.append(_orphan_warning(document, run))
                run = []
            continue
        run.append(number)
    return warnings


def _orphan_warning(document: _Document, run: list[int]) -> str:
    first = document.lines[run[0]].strip()
    return (f"{document.name}:{run[0] + 1}: {len(run)} line(s) outside any question are not shown "
            f"('{first[:60]}{'…' if len(first) > 60 else ''}')")


def _nothing_found(document: _Document, kind: str) -> ParseError:
    tried = [DESCRIPTIONS[kind]] if kind in DESCRIPTIONS else list(DESCRIPTIONS.values())
    shown = [line for line in document.lines if line.strip()][:5]
    first_lines = "\n".join(f"    {line[:100]}" for line in shown) or "    (the file is empty)"
    return ParseError(
        document.name, 1,
        "no questions found. Tried: the project's own items (1. `Question?`), " + ", ".join(tried)
        + ", CSV/TSV/JSON/YAML records (by file suffix) and Anki decks (.apkg). The file begins:\n" + first_lines
        + "\nName the format with --format if it is one of these (qakb new --help lists them).")
