"""Anki decks (.apkg): each note's front and back fields, its deck and tags."""

from __future__ import annotations

from qakb.bank import ParseError, SourceFile


def parse_apkg(data: bytes, name: str) -> SourceFile:
    raise ParseError(name, 0, "Anki decks are not read yet")
