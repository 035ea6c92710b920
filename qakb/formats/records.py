"""Records: CSV and TSV with a header row, JSON and YAML lists of question/answer records."""

from __future__ import annotations

from qakb.bank import ParseError, SourceFile

KINDS = ("csv", "tsv", "json", "yaml")


def parse_records(text: str, name: str, kind: str, options) -> SourceFile:
    raise ParseError(name, 1, f"{kind} banks are not read yet")
