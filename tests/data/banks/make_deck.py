"""Writes deck.apkg, the Anki deck tests/test_records.py reads, with genanki.

A deck as people export them from Anki rather than the project's own
(`qakb.anki`): two note types (Anki's Basic with Front/Back, and one whose
Question and Answer fields are not the first two), nested decks
(``Interview::Python``), tags, HTML in the fields, an image with its media file,
and one note whose back is still empty.

The bytes are the same on every run (with the same SQLite): fixed note-type, deck
and note ids, a fixed modification time and fixed zip entry dates. Run it again
after editing the notes:

    .venv/bin/python tests/data/banks/make_deck.py
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import genanki

DECK_PATH = Path(__file__).with_name("deck.apkg")
TIMESTAMP = 1_700_000_000
FIRST_ID = 1_600_000_000_000  # note and card ids (Anki's creation times, in ms), counted up from here
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
IMAGE_NAME = "tcp-handshake.png"

INTERVIEW_CARD = genanki.Model(
    1_234_567_001, "Interview card",
    fields=[{"name": "Source"}, {"name": "Question"}, {"name": "Answer"}],
    templates=[{"name": "Card 1", "qfmt": "{{Question}}", "afmt": "{{FrontSide}}<hr id=answer>{{Answer}}"}],
)

PYTHON_NOTES = [
    (genanki.BASIC_MODEL, ["What does <code>functools.lru_cache</code> do?",
                           "It remembers a function's results by argument, dropping the least recently used "
                           "ones once <i>maxsize</i> entries are stored."], ["python", "caching"]),
    (genanki.BASIC_MODEL, ["How do you read a file line by line without loading it whole?",
                           "Iterate over the file object:<br>\n<pre><code>with open(path) as lines:\n"
                           "    for line in lines:\n        handle(line)\n</code></pre>\n"
                           "Each step reads one line."], ["python", "io"]),
    (INTERVIEW_CARD, ["https://docs.python.org/3/reference/datamodel.html",
                      "What is the difference between <b>__str__</b> &amp; <b>__repr__</b>?",
                      "<div>__str__ is for people reading the output;</div><div>__repr__ is for developers and "
                      "should look like code that rebuilds the object.</div>"], ["python"]),
]
NETWORK_NOTES = [
    (genanki.BASIC_MODEL, ["What are the three steps of the TCP handshake?",
                           f'SYN, SYN-ACK, ACK.<br><img src="{IMAGE_NAME}">'], ["networking", "tcp"]),
    (genanki.BASIC_MODEL, ["Why does DNS mostly use UDP?", "One small request and one small reply: no connection "
                           "set-up is needed, and a lost packet is simply asked again."], ["networking", "dns"]),
    (INTERVIEW_CARD, ["", "When would you choose HTTP/3 over HTTP/2?", ""], ["networking", "http"]),
]


def one_pixel_png() -> bytes:
    """A valid 1×1 grey PNG, so the deck's media entry is a real image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) \
        + chunk(b"IEND", b"")


def build_decks() -> list[genanki.Deck]:
    """The two decks, each note with its place in the deck as its new card's position."""
    decks = [genanki.Deck(2_059_400_110, "Interview::Python"), genanki.Deck(2_059_400_120, "Interview::Networking")]
    position = itertools.count(1)
    for deck, notes in zip(decks, (PYTHON_NOTES, NETWORK_NOTES)):
        for model, fields, tags in notes:
            deck.add_note(genanki.Note(model=model, fields=fields, tags=tags, due=next(position)))
    return decks


def write_package(path: Path) -> None:
    """The collection with fixed ids and times, zipped with fixed entry dates (genanki's own
    `write_to_file` stamps the current time)."""
    with tempfile.TemporaryDirectory() as scratch:
        collection = Path(scratch) / "collection.anki2"
        connection = sqlite3.connect(collection)
        try:
            genanki.Package(build_decks()).write_to_db(connection.cursor(), TIMESTAMP, itertools.count(FIRST_ID))
            connection.commit()
        finally:
            connection.close()
        with zipfile.ZipFile(path, "w") as package:
            for name, data in (("collection.anki2", collection.read_bytes()),
                               ("media", json.dumps({"0": IMAGE_NAME}).encode()), ("0", one_pixel_png())):
                entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                entry.compress_type = zipfile.ZIP_DEFLATED
                package.writestr(entry, data)


if __name__ == "__main__":
    write_package(DECK_PATH)
    print(f"wrote {DECK_PATH}")
