"""Anki decks (.apkg): each note's front and back fields, its deck and tags.

An .apkg is a zip holding the collection, an SQLite database: ``collection.anki21``
in exports made with "Support older Anki versions" ticked, else ``collection.anki2``
(read in that order), and a ``media`` JSON map of the numbered media files. Exports
of Anki 2.1.50+ without that box hold ``collection.anki21b``, compressed with zstd
(not in the standard library): those are refused with the box to tick.

A note's fields are split at ``\\x1f``; its note type names them (``col.models`` in
the old schema, the ``notetypes`` and ``fields`` tables in the new one). The front is
the field named Front or Question (else the first), the back the one named Back or
Answer (else the second). The question is the front as plain text; the answer is the
back's HTML as it is (the site sanitises HTML when it renders answers). Images the deck
holds (PNG, JPEG, GIF, WebP, AVIF) are put into the ``<img>`` tags as ``data:`` URLs, so
the bank stays one file and the site shows them; other media (sound, SVG) are listed in
a warning. The section is the deck of the note's first card
(``Parent::Child`` gives ``Child``); tags are the note's tags.

Decks written by ``qakb export anki`` (`qakb.anki`; their note type is
``"<deck> (qakb)"`` with fields Question, Answer, Topic, Difficulty, Link and maybe
Prompt) read back field by field: the topic is the section, the difficulty, link and
prompt are the question's own; the ``topic::`` and ``difficulty::`` tags that repeat
fields are dropped, and ``needs-review`` marks the question as needing review.

Notes come in deck order: new cards' ``due`` is their place in the deck; when some
cards were studied (their ``due`` is a date), in creation order (note id). A deck
has no line numbers: each question's `number` and `line` are its note's place in
that order (1, 2, ...), so messages say ``deck.apkg:3:`` for the third note.

Standard library only (zipfile, sqlite3, html.parser).
"""

from __future__ import annotations

import base64
import io
import json
import re
import sqlite3
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

from qakb.bank import DIFFICULTIES, ParseError, Question, SourceFile
from qakb.formats.records import answer_lines, trimmed_lines

FORMAT = "apkg"
COLLECTION_NAMES = ("collection.anki21", "collection.anki2")
COMPRESSED_COLLECTION = "collection.anki21b"
# A collection this large is not a question bank (and a zip may claim any size): refuse before reading it.
MAX_COLLECTION_BYTES = 256 * 1024 * 1024
FIELD_SEPARATOR = "\x1f"
FRONT_NAMES = ("front", "question")
BACK_NAMES = ("back", "answer")
# What `qakb.anki` writes (its FIELDS, PROMPT_FIELD, NEEDS_REVIEW_TAG); tests/test_records.py checks they agree.
OWN_NOTE_TYPE_SUFFIX = " (qakb)"
OWN_FIELDS = ("Question", "Answer", "Topic", "Difficulty", "Link")
OWN_PROMPT_FIELD = "Prompt"
OWN_TAG_PREFIXES = ("topic::", "difficulty::")
OWN_REVIEW_TAG = "needs-review"
NEW_CARD = 0
# What reading a damaged or unusual zip may raise (encrypted entries: RuntimeError; bad deflate data: zlib.error).
UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError, EOFError, ValueError)
MEDIA_SHOWN = 5
# Image types a data: URL in an answer may carry (qakb.markup lets these through its sanitiser).
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".avif": "image/avif"}
MAX_IMAGE_BYTES = 4 * 1024 * 1024
_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["']?)([^"'\s>]+)\2""", re.IGNORECASE)
MAX_MEDIA_MAP_BYTES = 16 * 1024 * 1024


# Each note type's name and field names, by its id.
NoteTypes = dict[int, tuple[str, list[str]]]


@dataclass(frozen=True)
class _Note:
    """A note as the collection stores it, with its first card's deck and place."""
    note_type: int
    tags: str
    fields: list[str]
    deck: int | None


def parse_apkg(data: bytes, name: str) -> SourceFile:
    """Read an Anki deck package's notes as questions, in deck order."""
    with _opened_package(data, name) as package:
        collection = _collection_bytes(package, name)
        media = _media_names(package)
        images = _images(package)
    note_types, decks, notes = _read_collection(collection, name)
    warnings = []
    questions = []
    for position, note in enumerate(notes, start=1):
        question = _question(note, note_types.get(note.note_type), decks, name, position)
        if question is None:
            warnings.append(f"{name}:{position}: note {position} has an empty front (question) field, skipped")
        else:
            questions.append(question)
    if not questions:
        raise ParseError(name, 0, "no questions found: the deck holds no notes with a front (question) field")
    questions = [_with_images(question, images) for question in questions]
    others = [medium for medium in media if medium not in images]
    if others:
        more = len(others) - MEDIA_SHOWN
        shown = ", ".join(others[:MEDIA_SHOWN]) + (f" and {more} more" if more > 0 else "")
        warnings.append(f"{name}: the deck holds {len(others)} media file(s) the site does not show ({shown}): "
                        "only PNG, JPEG, GIF, WebP and AVIF images under 4 MiB are shown")
    return SourceFile(name=name, title="", urls=(), questions=tuple(questions), warnings=tuple(warnings),
                      format=FORMAT)


# --- the package ----------------------------------------------------------------------------

def _opened_package(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except UNPACK_ERRORS:
        raise ParseError(name, 0, "not an Anki deck package (not a zip file); in Anki use File > Export > "
                         "'Anki Deck Package (*.apkg)'") from None


def _collection_bytes(package: zipfile.ZipFile, name: str) -> bytes:
    """The collection database's bytes: the newest uncompressed one the package holds."""
    names = set(package.namelist())
    if COMPRESSED_COLLECTION in names:
        raise ParseError(name, 0, "this deck was exported in Anki's newer compressed format (collection.anki21b), "
                         "which qakb cannot read; export it again from Anki with 'Support older Anki versions' ticked")
    chosen = next((candidate for candidate in COLLECTION_NAMES if candidate in names), None)
    if chosen is None:
        raise ParseError(name, 0, "a zip file but not an Anki deck package: no collection.anki2 inside; in Anki "
                         "use File > Export > 'Anki Deck Package (*.apkg)'")
    try:
        with package.open(chosen) as entry:
            collection = entry.read(MAX_COLLECTION_BYTES + 1)
    except UNPACK_ERRORS as error:
        raise ParseError(name, 0, f"the package's {chosen} cannot be unpacked ({error}); export the deck again") \
            from None
    if len(collection) > MAX_COLLECTION_BYTES:
        raise ParseError(name, 0, f"the collection is over {MAX_COLLECTION_BYTES // (1024 * 1024)} MiB unpacked, too "
                         "large for a question bank; export only the deck you mean")
    return collection


def _media_names(package: zipfile.ZipFile) -> list[str]:
    """The media files' names (the ``media`` map); a missing, oversized or unreadable map only means none
    are listed. (A zip entry never unpacks to more than the size it declares.)"""
    try:
        if package.getinfo("media").file_size > MAX_MEDIA_MAP_BYTES:
            return []
        media = json.loads(package.read("media"))
    except (KeyError, *UNPACK_ERRORS):  # ValueError: not JSON
        return []
    return sorted(str(value) for value in media.values()) if isinstance(media, dict) else []


# --- the collection -------------------------------------------------------------------------

def _read_collection(collection: bytes, name: str) -> tuple[NoteTypes, dict[int, str], list[_Note]]:
    """The note types (name, field names), deck names and notes of a collection database.

    sqlite3 reads only files, so the database is copied to a temporary folder first."""
    with tempfile.TemporaryDirectory(prefix="qakb-apkg-") as scratch:
        path = Path(scratch) / "collection.db"
        path.write_bytes(collection)
        try:
            connection = sqlite3.connect(path)
            try:
                tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                note_types = _note_types(connection, tables)
                decks = _decks(connection, tables)
                notes = _notes(connection)
            finally:
                connection.close()
        except (sqlite3.Error, ValueError, TypeError, AttributeError) as error:
            # ValueError/TypeError/AttributeError: col.models or col.decks is not the JSON Anki writes.
            raise ParseError(name, 0, f"the collection inside is not an Anki collection qakb can read ({error}); "
                             "export the deck again from Anki as 'Anki Deck Package (*.apkg)'") from None
    return note_types, decks, notes


def _note_types(connection: sqlite3.Connection, tables: set[str]) -> NoteTypes:
    """Each note type's name and field names in order: the ``notetypes``/``fields`` tables of the newer
    schema when present, else the ``col.models`` JSON of the old one."""
    if {"notetypes", "fields"} <= tables:
        fields: dict[int, list[str]] = {}
        for note_type, field_name in connection.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
            fields.setdefault(note_type, []).append(field_name)
        return {note_type: (type_name, fields.get(note_type, []))
                for note_type, type_name in connection.execute("SELECT id, name FROM notetypes")}
    models = json.loads(connection.execute("SELECT models FROM col").fetchone()[0] or "{}")
    return {int(model_id): (model.get("name", ""),
                            [field["name"] for field in sorted(model.get("flds", []), key=lambda f: f.get("ord", 0))])
            for model_id, model in models.items()}


def _decks(connection: sqlite3.Connection, tables: set[str]) -> dict[int, str]:
    """Each deck's full name (``Parent::Child``): the ``decks`` table when present (names joined by
    ``\\x1f`` there), else the ``col.decks`` JSON."""
    if "decks" in tables:
        return {deck_id: deck_name.replace(FIELD_SEPARATOR, "::")
                for deck_id, deck_name in connection.execute("SELECT id, name FROM decks")}
    decks = json.loads(connection.execute("SELECT decks FROM col").fetchone()[0] or "{}")
    return {int(deck_id): deck.get("name", "") for deck_id, deck in decks.items()}


def _notes(connection: sqlite3.Connection) -> list[_Note]:
    """The notes in deck order (new cards' ``due`` is their place in the deck; once some are studied,
    creation order), each with its first card's deck."""
    rows = connection.execute(
        "SELECT notes.id, notes.mid, notes.tags, notes.flds, cards.did, cards.type, cards.due FROM notes "
        "LEFT JOIN cards ON cards.id = (SELECT id FROM cards WHERE nid = notes.id ORDER BY ord, id LIMIT 1)"
    ).fetchall()
    all_new = all(card_type == NEW_CARD for *_, card_type, _ in rows)
    rows.sort(key=lambda row: (row[6], row[0]) if all_new else row[0])
    return [_Note(note_type, tags or "", (fields or "").split(FIELD_SEPARATOR), deck)
            for _, note_type, tags, fields, deck, _, _ in rows]


# --- notes to questions ---------------------------------------------------------------------

def _images(package: zipfile.ZipFile) -> dict[str, str]:
    """The deck's images by file name, as data: URLs (a missing or unreadable entry is left out)."""
    try:
        if package.getinfo("media").file_size > MAX_MEDIA_MAP_BYTES:
            return {}
        media = json.loads(package.read("media"))
    except (KeyError, *UNPACK_ERRORS):
        return {}
    images = {}
    for entry, file_name in (media.items() if isinstance(media, dict) else ()):
        kind = IMAGE_TYPES.get(Path(str(file_name)).suffix.lower())
        try:
            if kind is None or package.getinfo(str(entry)).file_size > MAX_IMAGE_BYTES:
                continue
            images[str(file_name)] = f"data:{kind};base64," + base64.b64encode(package.read(str(entry))).decode()
        except (KeyError, *UNPACK_ERRORS):
            continue
    return images


def _with_images(question: Question, images: dict[str, str]) -> Question:
    """The question with its <img> tags naming the deck's images as data: URLs."""
    if not images:
        return question

    def inline(lines: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_IMG_SRC.sub(lambda match: match.group(1) + '"' + images.get(match.group(3), match.group(3)) + '"'
                                  if match.group(3) in images else match.group(0), line) for line in lines)

    return replace(question, answer_lines=inline(question.answer_lines), prompt_lines=inline(question.prompt_lines))


def _question(note: _Note, note_type: tuple[str, list[str]] | None, decks: dict[int, str], name: str,
              position: int) -> Question | None:
    """The question a note gives, or None when its front is empty."""
    type_name, field_names = note_type or ("", [])
    if _is_own(type_name, field_names):
        return _own_question(note, field_names, name, position)
    values = dict(zip((field.lower() for field in field_names), note.fields))
    front = next((values[key] for key in FRONT_NAMES if key in values), note.fields[0])
    back = next((values[key] for key in BACK_NAMES if key in values),
                note.fields[1] if len(note.fields) > 1 else "")
    text = plain_text(front)
    if not text:
        return None
    deck = decks.get(note.deck, "")
    return Question(number=position, question=text, answer_lines=_answer(back), needs_review=False, source=name,
                    line=position, section=deck.split("::")[-1].strip(), tags=tuple(note.tags.split()))


def _is_own(type_name: str, field_names: list[str]) -> bool:
    """A note type `qakb.anki` wrote: its name and its fields."""
    return type_name.endswith(OWN_NOTE_TYPE_SUFFIX) and tuple(field_names[:len(OWN_FIELDS)]) == OWN_FIELDS \
        and field_names[len(OWN_FIELDS):] in ([], [OWN_PROMPT_FIELD])


def _own_question(note: _Note, field_names: list[str], name: str, position: int) -> Question | None:
    """A note of the project's own deck read back field by field, its derived tags turned back into the record."""
    values = dict(zip(field_names, note.fields))
    text = plain_text(values.get("Question", ""))
    if not text:
        return None
    tags = note.tags.split()
    difficulty = values.get("Difficulty", "").strip()
    link = plain_text(values.get("Link", ""))
    return Question(
        number=position, question=text, answer_lines=_answer(values.get("Answer", "")),
        needs_review=OWN_REVIEW_TAG in tags, source=name, line=position, section=plain_text(values.get("Topic", "")),
        difficulty=difficulty if difficulty in DIFFICULTIES else "",
        prompt_lines=trimmed_lines(values.get(OWN_PROMPT_FIELD, "")), urls=(link,) if link else (),
        tags=tuple(tag for tag in tags if tag != OWN_REVIEW_TAG and not tag.startswith(OWN_TAG_PREFIXES)),
    )


def _answer(back: str) -> tuple[str, ...]:
    """The back field's HTML lines; () when it has no text and no image, or only a placeholder (TBD, TODO, ...)."""
    if "<img" not in back.lower() and not answer_lines(plain_text(back)):
        return ()
    return trimmed_lines(back)


class _TextCollector(HTMLParser):
    """The text of an HTML fragment: tags dropped (line-breaking ones as spaces), entities decoded,
    script and style contents left out."""
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})
    HIDDEN = frozenset({"script", "style"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in self.HIDDEN
        if tag in self.BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN and self.hidden > 0
        if tag in self.BREAKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def plain_text(html_text: str) -> str:
    """An HTML field as one line of plain text (a question's text is never HTML)."""
    collector = _TextCollector()
    collector.feed(html_text)
    collector.close()
    return " ".join("".join(collector.parts).split())
