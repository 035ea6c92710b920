"""Records: CSV and TSV with a header row, JSON and YAML lists of question/answer records.

A record names its fields (CSV/TSV column headers, JSON/YAML keys), matched in any
case and order, with the names spreadsheets and flashcard tools use:

- ``question`` (``q``, ``front``, ``prompt``): required, one line;
- ``answer`` (``a``, ``back``, ``response``, ``solution``): Markdown, any number of
  lines (a CSV field in quotes may hold newlines; YAML keeps them in a ``|`` block);
  empty or a placeholder (``TBD``, ``TODO``, ``***``, ``-``, ``To be completed``)
  means "no answer yet";
- ``topic`` (``section``, ``category``), ``difficulty`` (``level``): easy/medium/hard,
  e/m/h, 1/2/3, junior/middle/senior, beginner/intermediate/advanced, the marks
  👶 ⭐ 🚀, or a word of the plugin's ``difficulty_sections``;
- ``tags``: split at commas or semicolons if it has any, else at spaces (JSON/YAML
  may give a list); ``source`` (``url``): the item's own links.

JSON and YAML hold a list of records, or a mapping with a ``questions`` (or
``items``) list and an optional ``title``. Each question's line is where its record
starts (a CSV row's first line), so messages point into the file; YAML scalars are
read as written (``answer: yes`` is the text "yes", not true).

Standard library and PyYAML only: the CLI reads banks without the build's dependencies.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass, replace
from typing import Any

import yaml

from qakb.bank import DIFFICULTY_MARKS, ParseError, Question, SourceFile

KINDS = ("csv", "tsv", "json", "yaml")

# Each field a record may have, and the names (any case) that give it; the first is the one shown.
FIELD_NAMES = {
    "question": ("question", "q", "front", "prompt"),
    "answer": ("answer", "a", "back", "response", "solution"),
    "topic": ("topic", "section", "category"),
    "difficulty": ("difficulty", "level"),
    "tags": ("tags",),
    "source": ("source", "url"),
}
FIELD_OF_NAME = {alias: field for field, aliases in FIELD_NAMES.items() for alias in aliases}
LIST_KEYS = ("questions", "items")
TITLE_KEY = "title"
DIFFICULTY_WORDS = {
    "easy": "easy", "e": "easy", "1": "easy", "junior": "easy", "beginner": "easy",
    "medium": "medium", "m": "medium", "2": "medium", "middle": "medium", "intermediate": "medium",
    "hard": "hard", "h": "hard", "3": "hard", "senior": "hard", "advanced": "hard",
}
_PLACEHOLDER_ANSWER = re.compile(r"^(\*{3}|-|tbd|todo|to be completed)\.?$", re.IGNORECASE)
_TAG_SEPARATORS = re.compile(r"[,;]")
_URL = re.compile(r"https?://\S+")
RECORD_EXAMPLE = {
    "csv": 'a header row naming the columns, then a row per question:\n'
           '    question,answer,topic,difficulty,tags\n'
           '    What is a closure?,"A function with the variables of its scope.",Functions,easy,python',
    "tsv": "a header row naming the columns (tab-separated), then a row per question:\n"
           "    question<TAB>answer<TAB>topic\n    What is a closure?<TAB>A function with its scope.<TAB>Functions",
    "json": 'a list of records: [{"question": "What is a closure?", "answer": "A function with its scope.", '
            '"topic": "Functions"}] (or {"title": ..., "questions": [...]})',
    "yaml": "a list of records:\n    - question: What is a closure?\n      answer: |\n        A function with its "
            "scope.\n      topic: Functions\n(or a mapping with title: and questions:)",
}
ACCEPTED = "; ".join(f"{field}: {', '.join(aliases)}" for field, aliases in FIELD_NAMES.items())


@dataclass(frozen=True)
class _Record:
    """One record's fields by their canonical name, as text (tags: a list), where it starts, and what
    was wrong with it (reported with its question's own warnings, so warnings come in line order)."""
    line: int
    fields: dict[str, Any]
    problems: tuple[str, ...] = ()


def parse_records(text: str, name: str, kind: str, options) -> SourceFile:
    """Read a CSV, TSV, JSON or YAML bank into a `SourceFile` of its records, in file order."""
    warnings: list[str] = []
    try:
        if kind in ("csv", "tsv"):
            title, records = "", _table_records(text, name, kind, warnings)
        elif kind == "json":
            title, records = _structured_records(_json_items(text, name), name, warnings)
        else:
            title, records = _structured_records(_yaml_items(text, name), name, warnings)
    except RecursionError:
        raise ParseError(name, 1, "nested too deeply to read (lists or mappings hundreds of levels deep); "
                         "a bank is a flat list of records") from None
    questions = [question for record in records
                 if (question := _question(record, name, options, warnings)) is not None]
    if not questions:
        skipped = f" ({len(records)} record(s), none with a question)" if records else ""
        raise ParseError(name, 1, f"no questions found{skipped}; a {kind} bank is {RECORD_EXAMPLE[kind]}")
    numbered = tuple(replace(question, number=number) for number, question in enumerate(questions, start=1))
    return SourceFile(name=name, title=title, urls=(), questions=numbered, warnings=tuple(warnings), format=kind)


# --- CSV and TSV ----------------------------------------------------------------------------

def _table_records(text: str, name: str, kind: str, warnings: list[str]) -> list[_Record]:
    """The rows of a CSV/TSV table as records, keyed by the header row's recognised columns.

    Strict quoting: a stray quote is an error at its row, not a field that silently runs on
    to the end of the file."""
    dialect = csv.excel_tab if kind == "tsv" else _csv_dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=True)
    row_start = 1
    try:
        header = next(reader, None)
        if header is None:
            return []
        columns = _columns(header, name, warnings)
        records = []
        row_start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                records.append(_row_record(row, row_start, columns, len(header), name))
            row_start = reader.line_num + 1
    except csv.Error as error:
        problem = ("a quoted field that starts in this row is never closed" if str(error) == "unexpected end of data"
                   else str(error))
        raise ParseError(name, row_start, f"{problem}; a field holding the delimiter, a quote or a newline must be "
                         'in double quotes, with its own quotes doubled ("")') from None
    return records


class _SemicolonSeparated(csv.excel):
    """What Excel writes as "CSV" where the comma is the decimal separator."""
    delimiter = ";"


def _csv_dialect(text: str) -> type[csv.Dialect]:
    """Comma-separated, unless the header has no comma but semicolons."""
    header = text.split("\n", 1)[0]
    return _SemicolonSeparated if ";" in header and "," not in header else csv.excel


def _columns(header: list[str], name: str, warnings: list[str]) -> dict[str, int]:
    """Each recognised field's column; the first column giving a field wins, the others are warned about."""
    columns: dict[str, int] = {}
    ignored = []
    for index, title in enumerate(header):
        field = FIELD_OF_NAME.get(title.strip().lower())
        if field is None or field in columns:
            ignored.append(title)
        else:
            columns[field] = index
    if "question" not in columns:
        found = ", ".join(repr(title) for title in header) or "an empty first row"
        raise ParseError(name, 1, f"no question column in the header row (found {found}); name the columns in "
                         f"the first row, any case and order. Accepted: {ACCEPTED}")
    if ignored:
        warnings.append(f"{name}:1: ignoring column(s) {', '.join(repr(title) for title in ignored)}: "
                        f"not a known field, or a second column for one. Accepted: {ACCEPTED}")
    return columns


def _row_record(row: list[str], line: int, columns: dict[str, int], width: int, name: str) -> _Record:
    """One row's recognised fields; extra cells usually mean an unquoted delimiter, so they are reported."""
    problems = (f"{name}:{line}: {len(row) - width} more field(s) than the header has columns, ignored; "
                "put fields that hold the delimiter in double quotes",) if len(row) > width else ()
    fields: dict[str, Any] = {field: row[index] for field, index in columns.items() if index < len(row)}
    if "tags" in fields:
        fields["tags"] = _split_tags(fields["tags"])
    return _Record(line, fields, problems)


# --- JSON and YAML --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Items:
    """A JSON/YAML bank's records (each a value and its line), its title and the top-level keys not read."""
    items: list[tuple[int, Any]]
    title: Any = ""
    title_line: int = 1
    unknown_keys: tuple[str, ...] = ()


def _json_items(text: str, name: str) -> _Items:
    """The records of a JSON bank with their lines: the text is checked by `json.loads`, then walked
    with `raw_decode` to find where each record of the list starts."""
    if not text.strip():
        return _Items([])
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(name, error.lineno, f"not valid JSON: {error.msg} (column {error.colno})") from None
    except ValueError:  # Python refuses to read integers longer than sys.get_int_max_str_digits()
        digits = re.search(rf"\d{{{sys.get_int_max_str_digits()},}}", text)
        raise ParseError(name, _line_at(text, digits.start() if digits else 0),
                         "a number too long to read; put it in quotes as text") from None
    decoder = json.JSONDecoder()
    start = _skip_space(text, 0)
    title, title_line, unknown, list_key = "", 1, (), ""
    if text[start] == "{":
        members = _json_members(text, start, decoder)
        values = dict(members)
        list_key = next((key for key in LIST_KEYS if key in values), "")
        if not list_key:
            raise ParseError(name, 1, _missing_list_message("an object", [key for key, _ in members]))
        if TITLE_KEY in values:
            title, title_line = decoder.raw_decode(text, values[TITLE_KEY])[0], _line_at(text, values[TITLE_KEY])
        unknown = tuple(key for key, _ in members if key not in (TITLE_KEY, list_key))
        start = values[list_key]
    if text[start] != "[":
        found = _kind_of(decoder.raw_decode(text, start)[0])
        raise ParseError(name, _line_at(text, start),
                         f'"{list_key}" should be a list of records, not {found}' if list_key else
                         f'a JSON bank is a list of records [{{...}}, ...] (or an object with a "questions" list), '
                         f"not {found}")
    items = [(_line_at(text, position), decoder.raw_decode(text, position)[0])
             for position in _json_elements(text, start, decoder)]
    return _Items(items, title, title_line, unknown)


def _skip_space(text: str, position: int) -> int:
    """The position of the next JSON token (JSON whitespace is only space, tab, CR and LF)."""
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _json_members(text: str, start: int, decoder: json.JSONDecoder) -> list[tuple[str, int]]:
    """An object's keys (lowercased) and where each value starts, in order; `text` is valid JSON."""
    members = []
    position = _skip_space(text, start + 1)
    while text[position] != "}":
        key, position = decoder.raw_decode(text, position)
        value_start = _skip_space(text, _skip_space(text, position) + 1)  # past the ':'
        members.append((key.strip().lower(), value_start))
        position = _skip_space(text, decoder.raw_decode(text, value_start)[1])
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    return members


def _json_elements(text: str, start: int, decoder: json.JSONDecoder) -> list[int]:
    """Where each element of the list at `start` begins; `text` is valid JSON."""
    positions = []
    position = _skip_space(text, start + 1)
    while text[position] != "]":
        positions.append(position)
        position = _skip_space(text, decoder.raw_decode(text, position)[1])
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    return positions


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


class _TextLoader(yaml.SafeLoader):
    """Safe YAML whose plain scalars stay text (``yes``, ``1``, ``2024-01-01`` as written); ``~``/``null`` is None."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Explicitly tagged scalars (``!!int 3``) are text too: SafeLoader's own constructors for these raise
# bare Python errors, not YAML errors, on a bad value (``!!int x``).
for _tag in ("int", "float", "bool", "timestamp"):
    _TextLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", yaml.SafeLoader.construct_yaml_str)


def _yaml_items(text: str, name: str) -> _Items:
    """The records of a YAML bank with their lines: composed to nodes (which know their line), then
    each record node constructed on its own."""
    try:
        loader = _TextLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return _Items([])
            sequence, title, title_line, unknown = _yaml_sequence(root, loader, name)
            items = [(node.start_mark.line + 1, loader.construct_document(node)) for node in sequence.value]
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise ParseError(name, mark.line + 1 if mark else 1, f"not valid YAML: {problem}") from None
    except yaml.YAMLError as error:  # a character YAML does not allow: the error knows only its position
        position = getattr(error, "position", 0)
        reason = getattr(error, "reason", str(error).splitlines()[0])
        raise ParseError(name, _line_at(text, position), f"not valid YAML: {reason}; remove or escape it") from None
    return _Items(items, title, title_line, unknown)


def _yaml_sequence(root: yaml.Node, loader: _TextLoader, name: str) -> tuple[yaml.SequenceNode, Any, int, tuple]:
    """The node listing the records (the root, or its `questions`/`items` value), the title and its line,
    and the root's other keys."""
    title, title_line, unknown = "", 1, ()
    if isinstance(root, yaml.MappingNode):
        members = {str(loader.construct_document(key)).strip().lower(): (key, value) for key, value in root.value}
        list_key = next((key for key in LIST_KEYS if key in members), None)
        if list_key is None:
            raise ParseError(name, root.start_mark.line + 1, _missing_list_message("a mapping", list(members)))
        if TITLE_KEY in members:
            title_node = members[TITLE_KEY][1]
            title, title_line = loader.construct_document(title_node), title_node.start_mark.line + 1
        unknown = tuple(key for key in members if key not in (TITLE_KEY, list_key))
        root = members[list_key][1]
        if not isinstance(root, yaml.SequenceNode):
            raise ParseError(name, root.start_mark.line + 1, f"{list_key}: should be a list of records "
                             f"(lines starting '- question:'), not {_kind_of(loader.construct_document(root))}")
    if not isinstance(root, yaml.SequenceNode):
        raise ParseError(name, root.start_mark.line + 1, "a YAML bank is a list of records ('- question: ...' "
                         f"lines) or a mapping with a questions: list, not {_kind_of(loader.construct_document(root))}")
    return root, title, title_line, unknown


def _missing_list_message(container: str, keys: list[str]) -> str:
    found = ", ".join(repr(key) for key in keys) or "no keys"
    return (f"{container} at the top needs a 'questions' (or 'items') list of records; found {found}. "
            "Or make the whole file a list of records")


def _structured_records(found: _Items, name: str, warnings: list[str]) -> tuple[str, list[_Record]]:
    """The title and the records of a JSON/YAML bank, each record's keys matched to fields."""
    title = _text(found.title, "title", name, found.title_line)
    if found.unknown_keys:
        warnings.append(f"{name}:1: ignoring top-level key(s) {', '.join(map(repr, found.unknown_keys))}; "
                        f"only {TITLE_KEY!r} and the list of records ({' or '.join(map(repr, LIST_KEYS))}) are read")
    ignored: dict[str, int] = {}
    records = [_mapping_record(value, line, name, ignored) for line, value in found.items]
    if ignored:
        warnings.append(f"{name}:{min(ignored.values())}: ignoring key(s) {', '.join(map(repr, ignored))}: "
                        f"not a known field, or a second key for one. Accepted: {ACCEPTED}")
    return title.strip(), records


def _mapping_record(value: Any, line: int, name: str, ignored: dict[str, int]) -> _Record:
    """One JSON/YAML record's fields as text (tags as a list); keys not read go into `ignored` with their line."""
    if not isinstance(value, dict):
        raise ParseError(name, line, f"a record should be a mapping of fields (question, answer, ...), "
                         f"not {_kind_of(value)}")
    fields: dict[str, Any] = {}
    for key, field_value in value.items():
        field = FIELD_OF_NAME.get(str(key).strip().lower())
        if field is None or field in fields:
            ignored.setdefault(str(key), line)
        elif field == "question":
            fields[field] = _question_text(field_value, name, line)
        elif field == "tags":
            fields[field] = _tag_list(field_value, name, line)
        else:
            fields[field] = _text(field_value, field, name, line)
    return _Record(line, fields)


def _question_text(value: Any, name: str, line: int) -> str:
    """A question is text; a missing one (null) is reported later and the record skipped."""
    if value is None or isinstance(value, str):
        return value or ""
    raise ParseError(name, line, f"the question should be text, not {_kind_of(value)}; put it in quotes")


def _text(value: Any, field: str, name: str, line: int) -> str:
    """A field's value as text: numbers and booleans as JSON spells them, null as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    raise ParseError(name, line, f"{field} should be text, not {_kind_of(value)}"
                     + ("; a multi-line answer is one string (in YAML a '|' block)" if field == "answer" else ""))


def _tag_list(value: Any, name: str, line: int) -> list[str]:
    """Tags given as a list of words, or as one text to split."""
    if isinstance(value, list):
        return [tag for item in value if (tag := _text(item, "each tag", name, line).strip())]
    return _split_tags(_text(value, "tags", name, line))


def _kind_of(value: Any) -> str:
    """What a JSON/YAML value is, in the words a message uses."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, (bool, int, float)):
        return f"{json.dumps(value)} ({'true/false' if isinstance(value, bool) else 'a number'})"
    return f"a YAML {type(value).__name__}"  # !!binary, !!set


# --- records to questions -------------------------------------------------------------------

def _split_tags(text: str) -> list[str]:
    """Tags in one cell: at commas or semicolons when there are any (tags may then hold spaces), else at spaces."""
    parts = _TAG_SEPARATORS.split(text) if _TAG_SEPARATORS.search(text) else text.split()
    return [tag for part in parts if (tag := " ".join(part.split()))]


def _question(record: _Record, name: str, options, warnings: list[str]) -> Question | None:
    """The question a record gives, or None (with a warning) when it has no question text."""
    warnings += record.problems
    fields = record.fields
    text = " ".join(fields.get("question", "").split())
    if not text:
        warnings.append(f"{name}:{record.line}: a record with no question, skipped; fill in its question")
        return None
    return Question(
        number=0,  # numbered once the skipped records are left out
        question=text, answer_lines=answer_lines(fields.get("answer", "")), needs_review=False,
        source=name, line=record.line, section=" ".join(fields.get("topic", "").split()),
        difficulty=_difficulty(fields.get("difficulty", ""), options, name, record.line, warnings),
        tags=tuple(dict.fromkeys(fields.get("tags", []))),
        urls=_urls(fields.get("source", ""), name, record.line, warnings),
    )


def answer_lines(answer: str) -> tuple[str, ...]:
    """An answer's lines; () for an empty answer or a placeholder (TBD, TODO, ***, -, To be completed),
    so the question reads as "no answer yet"."""
    return () if _PLACEHOLDER_ANSWER.match(answer.strip()) else trimmed_lines(answer)


def trimmed_lines(text: str) -> tuple[str, ...]:
    """Text as lines, without blank lines at either end."""
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return tuple(lines)


def _difficulty(value: str, options, name: str, line: int, warnings: list[str]) -> str:
    """easy, medium or hard from the words and marks banks use (the plugin's `difficulty_sections` add words);
    '' for an empty cell, and '' with a warning for a word not known."""
    word = value.strip()
    if not word:
        return ""
    known = {**{key.lower(): level for key, level in options.difficulty_sections.items()}, **DIFFICULTY_WORDS}
    level = DIFFICULTY_MARKS.get(word) or known.get(word.lower())
    if level is None:
        warnings.append(f"{name}:{line}: difficulty {word!r} not understood, left out; write easy, medium or hard "
                        "(or e/m/h, 1/2/3, junior/middle/senior, beginner/intermediate/advanced, 👶/⭐/🚀)")
        return ""
    return level


def _urls(value: str, name: str, line: int, warnings: list[str]) -> tuple[str, ...]:
    """The links in a source field; text with no http(s) link in it is reported and left out."""
    urls = tuple(dict.fromkeys(_URL.findall(value)))
    if value.strip() and not urls:
        warnings.append(f"{name}:{line}: source {value.strip()[:60]!r} has no http(s) link, left out; "
                        "the source field is the item's link")
    return urls

