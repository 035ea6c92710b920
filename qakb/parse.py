"""A content folder's banks, read into one `Bank` with a site-wide anchor for every question.

Each file is read in its own format (`qakb.formats`); this module gathers the
files of a content folder, gives every question its anchor (a slug of its text,
stable under reordering, unique in the site) and hashes what a build is made of.
The records themselves (`Question`, `SourceFile`, `Bank`, `ParseError`) are in
`qakb.bank`, and re-exported here for the modules and tests that read banks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

from qakb.bank import (  # noqa: F401  (re-exported)
    DIFFICULTIES, DIFFICULTY_MARKS, MAX_ANCHOR_CHARS, MAX_FILE_BYTES, Bank, ParseError, Question, SourceFile,
    read_text, shown_path, slugify,
)
from qakb.formats import BANK_SUFFIXES, ReadOptions, read_bank_file
from qakb.formats.items import parse_text  # noqa: F401  (re-exported: the project's own format)

# Ids the rendered pages use for their own headings; a question never takes them.
RESERVED_ANCHORS = frozenset({"sources", "top", "__skip", "qakb-sources"})
# Files of a content folder that the build itself reads or writes, never banks.
NOT_BANKS = frozenset({"anchors.json", "topics.yml", "topics.yaml"})


def bank_files(content_dir: Path) -> list[Path]:
    """The bank files of a content folder: Markdown, CSV, TSV, JSON, YAML and Anki decks, by name."""
    return sorted(path for path in content_dir.iterdir()
                  if path.is_file() and path.suffix.lower() in BANK_SUFFIXES and path.name not in NOT_BANKS
                  and not path.name.startswith(".")) if content_dir.is_dir() else []


def parse_content(content_dir: Path, options: ReadOptions = ReadOptions()) -> Bank:
    """Read every bank file in `content_dir` and give each question a site-wide anchor."""
    paths = bank_files(content_dir)
    if not paths:
        raise ParseError(shown_path(content_dir), 0,
                         "no bank files in the content folder (looked for "
                         f"{', '.join('*' + suffix for suffix in BANK_SUFFIXES)}); add one (the README lists the formats)")
    ignored = [path for path in paths if not _may_be_bank(path, options)]
    if len(ignored) == len(paths):
        raise ParseError(shown_path(content_dir), 0,
                         f"no bank files in the content folder: {', '.join(path.name for path in ignored)} "
                         "hold no question field in their records")
    files = [read_bank_file(path, options=options) for path in paths if path not in ignored]
    bank = anchored_bank(files)
    notes = tuple(f"{shown_path(path)}: not read as a bank: its records have no question field "
                  "(question, q, front or prompt)" for path in ignored)
    return replace(bank, warnings=notes + bank.warnings)


# A JSON or YAML file beside the banks may be something else (a query set, a config file):
# it is read as a bank when its records name a question field, or when `formats` names it.
_QUESTION_KEY = re.compile(r"""^[\s\-{\[,]*["']?(question|q|front|prompt)["']?\s*:""", re.IGNORECASE | re.MULTILINE)


def _may_be_bank(path: Path, options: ReadOptions) -> bool:
    if path.suffix.lower() not in (".json", ".yaml", ".yml") or path.name in options.formats:
        return True
    try:
        head = path.read_bytes()[:MAX_FILE_BYTES].decode("utf-8", "replace")
    except OSError:
        return True
    return bool(_QUESTION_KEY.search(head))


def anchored_bank(files: list[SourceFile]) -> Bank:
    """The files as one bank, each question with its site-wide anchor."""
    anchored, anchor_warnings = assign_anchors(told_apart([q for source in files for q in source.questions]))
    warnings = [warning for source in files for warning in source.warnings] + anchor_warnings
    by_key = {(q.source, q.number): q for q in anchored}
    files = [replace(source, questions=tuple(by_key[(q.source, q.number)] for q in source.questions))
             for source in files]
    return Bank(files=tuple(files), warnings=tuple(warnings))


def told_apart(questions: list[Question]) -> list[Question]:
    """Questions with the same text and a body of their own ("What's the output?" over different code)
    named by the first line of that body, so headings, anchors, search results and cards tell them apart."""
    by_text: dict[str, list[int]] = {}
    for index, question in enumerate(questions):
        by_text.setdefault(question.question.casefold(), []).append(index)
    renamed = list(questions)
    for indexes in by_text.values():
        if len(indexes) < 2:
            continue
        used: set[str] = set()
        for index in indexes:
            question = questions[index]
            gist = _gist(question.prompt_lines)
            if not gist:
                continue
            name = f"{question.question} ({gist})"
            suffix = 1
            while name.casefold() in used:
                suffix += 1
                name = f"{question.question} ({gist}, {suffix})"
            used.add(name.casefold())
            renamed[index] = replace(question, question=name)
    return renamed


GIST_CHARS = 60


def _gist(lines: tuple[str, ...]) -> str:
    """The first line of a question's body that says something: code before options, no fences or markup."""
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            continue
        text = " ".join(line.strip().lstrip("-*+>#").split()).strip("`")
        if not text or set(text) <= set("-*_=|: "):
            continue
        return text if len(text) <= GIST_CHARS else text[:GIST_CHARS - 1].rstrip() + "…"
    return ""


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
