"""Bank formats: each reader turns one bank file, as its author publishes it, into a `SourceFile`.

A file's format is detected from its name and structure (`detect`), or named
(`qakb new --bank FILE --format NAME`, the plugin's ``formats`` option). The
Markdown formats are told apart by parsing the file with a CommonMark parser
(markdown-it-py) and counting the items each way of marking a question finds
(`qakb.formats.markdown`); the project's own ``N. `Question``` format keeps its
strict reader (`qakb.formats.items`); records come from CSV, TSV, JSON, YAML
(`qakb.formats.records`) and Anki decks (`qakb.formats.apkg`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from qakb.bank import ParseError, SourceFile, decode_text, read_bytes, shown_path

# Section names that say a difficulty (matched as a word of the section's title, any case);
# the plugin's `difficulty_sections` option adds to and overrides these.
SECTION_DIFFICULTIES = MappingProxyType({
    "junior": "easy", "beginner": "easy", "easy": "easy",
    "middle": "medium", "mid": "medium", "intermediate": "medium", "medium": "medium",
    "senior": "hard", "advanced": "hard", "expert": "hard", "hard": "hard",
})


@dataclass(frozen=True)
class ReadOptions:
    """How a content folder's files are read: a format per file name (else detected), section difficulties."""
    formats: Mapping[str, str] = field(default_factory=dict)
    difficulty_sections: Mapping[str, str] = field(default_factory=lambda: SECTION_DIFFICULTIES)


MARKDOWN_SUFFIXES = (".md", ".markdown")
RECORD_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".apkg": "apkg"}
BANK_SUFFIXES = (*MARKDOWN_SUFFIXES, *RECORD_SUFFIXES)


def _text_readers() -> dict[str, Callable[[str, str, ReadOptions], SourceFile]]:
    from qakb.formats import items, markdown, records

    readers: dict[str, Callable[[str, str, ReadOptions], SourceFile]] = {
        items.FORMAT: lambda text, name, options: items.parse_text(text, name),
        **{kind: (lambda kind: lambda text, name, options: markdown.parse_markdown(text, name, options, kind))(kind)
           for kind in markdown.KINDS},
        **{kind: (lambda kind: lambda text, name, options: records.parse_records(text, name, kind, options))(kind)
           for kind in records.KINDS},
    }
    return readers


def format_names() -> tuple[str, ...]:
    """Every format a bank may be named as, in the order the README lists them."""
    return (*_text_readers(), "apkg")


def detect(name: str, text: str) -> str:
    """The format of a text bank file: records by its suffix; the project's own format where its
    ``N. `Question``` lines are at least as many as the items any other Markdown reading finds;
    else the Markdown reading that finds items (`qakb.formats.markdown`)."""
    suffix = Path(name).suffix.lower()
    if suffix in RECORD_SUFFIXES:
        return RECORD_SUFFIXES[suffix]
    from qakb.formats import items, markdown

    own = items.item_lines(text)
    if own and own >= markdown.most_items(text):
        return items.FORMAT
    return markdown.AUTO


def _own_format(text: str, name: str) -> SourceFile | None:
    """The file read in the project's own format when it has ``N. `Question``` lines and reads
    cleanly that way: the strict reader is fast, and a Markdown reading (a full parse, ten times
    slower on a 10,000-item bank) is then only asked when the strict one refuses the file. `None`
    when the file has no such lines, or when a Markdown reading finds more items than it has
    (`detect` then picks that reading); the strict reader's error otherwise."""
    from qakb.formats import items, markdown

    own = items.item_lines(text)
    if not own:
        return None
    try:
        return items.parse_text(text, name)
    except ParseError:
        if own < markdown.most_items(text):
            return None
        raise


def parse_bank_text(text: str, name: str, format: str | None = None,
                    options: ReadOptions = ReadOptions()) -> SourceFile:
    """Read a text bank (Markdown, CSV, TSV, JSON, YAML) in `format`, or in the format detected."""
    readers = _text_readers()
    if format is None and Path(name).suffix.lower() not in RECORD_SUFFIXES:
        own = _own_format(text, name)
        if own is not None:
            return own
    chosen = format or detect(name, text)
    if chosen not in readers:
        known = ", ".join(format_names())
        raise ParseError(name, 0, f"unknown format {chosen!r}; the formats are: {known}")
    return readers[chosen](text, name, options)


def read_bank_file(path: Path, format: str | None = None, options: ReadOptions = ReadOptions()) -> SourceFile:
    """Read one bank file where it is; errors name the file as the user would type it."""
    shown = shown_path(path)
    chosen = format or options.formats.get(path.name)
    try:
        data = read_bytes(path)
        if chosen == "apkg" or (chosen is None and path.suffix.lower() == ".apkg"):
            from qakb.formats import apkg

            return apkg.parse_apkg(data, path.name)
        return parse_bank_text(decode_text(data, path.name), path.name, chosen, options)
    except ParseError as error:
        raise ParseError(shown, error.line, error.message) from None
    except RecursionError:
        raise ParseError(shown, 0, "its structure is nested too deeply to read (lists or quotes hundreds of "
                         "levels deep); flatten it") from None


SKIPPED_SHOWN = 3


def describe(source: SourceFile, shown_name: str | None = None) -> list[str]:
    """What was read from one bank file, as `qakb new` and `qakb build` print it: the format, the
    questions, sections and unanswered ones, and the lines skipped before the first question."""
    from qakb.formats.markdown import DESCRIPTIONS

    name = shown_name or source.name
    kind = DESCRIPTIONS.get(source.format, {"items": "the project's items (N. `Question`)",
                                            "apkg": "an Anki deck"}.get(source.format, f"{source.format} records"))
    sections = len(source.sections)
    parts = [f"{len(source.questions)} question{'s' if len(source.questions) != 1 else ''}"
             + (f" in {sections} section{'s' if sections != 1 else ''}" if sections else ""),
             f"{source.unanswered} without an answer" if source.unanswered else ""]
    lines = [f"{name}: {source.format} ({kind}): " + ", ".join(part for part in parts if part)]
    if source.skipped:
        lines[0] += f"; {len(source.skipped)} line(s) skipped before the first question:"
        lines += [f"    {name}:{skipped.line}: {skipped.text[:80]}" for skipped in source.skipped[:SKIPPED_SHOWN]]
        if len(source.skipped) > SKIPPED_SHOWN:
            lines.append(f"    … and {len(source.skipped) - SKIPPED_SHOWN} more")
    return lines
