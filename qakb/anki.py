"""The Anki deck: one note per question, its answer as the site renders it.

`write_deck` writes an ``.apkg`` (a zip holding the SQLite collection
``collection.anki2``, the ``media`` name list and the images) with genanki:

- fields: the question (escaped), the answer (`qakb.markup`'s sanitised HTML, so
  code is highlighted and math stays ``\\(..\\)`` / ``\\[..\\]``, the delimiters Anki's
  MathJax reads), the topic, the difficulty and, when mkdocs.yml sets ``site_url``,
  a link to the answer on the site;
- tags: ``topic::<slug>``, ``difficulty::<level>``, ``needs-review``;
- a question with no answer yet gets no note; a bank with multiple-choice questions gets a
  sixth field, ``Prompt`` (the question's code and options), shown on the front;
- ids that survive rebuilds, reordering and rewording: the note guid and note id come
  from the anchor record's namespace and the item's id (`qakb.anchors`), the deck and
  note-type ids from the namespace alone, so importing a newer deck updates the notes
  it imported before instead of adding copies;
- the same bytes for the same input: notes, cards and note type carry `timestamp`
  as their modification time, and the zip's entries a fixed date.

Anki updates an imported note only when the new one's modification time is later, so
the build passes the bank files' newest mtime (or ``SOURCE_DATE_EPOCH``), which moves
forward whenever the bank is edited (`deck_timestamp`).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import sqlite3
import tempfile
import zipfile
from pathlib import Path

from pygments.formatters import HtmlFormatter

from qakb.anchors import AnchorRecord
from qakb.markup import MEDIA_URL_PREFIX, Answer
from qakb.pages import page_url
from qakb.parse import Question, slugify
from qakb.topics import Topic

DECK_SUFFIX = ".apkg"
FIELDS = ("Question", "Answer", "Topic", "Difficulty", "Link")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
NEEDS_REVIEW_TAG = "needs-review"
# Note and card ids are milliseconds in Anki (its "created" column); derived ids fall in 2001-2014.
_NOTE_ID_BASE = 1_000_000_000_000
_NOTE_ID_SPAN = 400_000_000_000
FRONT = """<div class="qakb-card-meta">{{Topic}}{{#Difficulty}} · {{Difficulty}}{{/Difficulty}}</div>
<div class="qakb-card-question">{{Question}}</div>"""
PROMPT_FIELD = "Prompt"
FRONT_WITH_PROMPT = FRONT + """
{{#Prompt}}<div class="qakb-answer qakb-card-prompt">{{Prompt}}</div>{{/Prompt}}"""
BACK = """{{FrontSide}}
<hr id="answer">
<div class="qakb-answer">{{Answer}}</div>
{{#Link}}<p class="qakb-card-link"><a href="{{Link}}">Open this answer on the site</a></p>{{/Link}}"""
CSS = """.card { font-family: system-ui, sans-serif; font-size: 18px; line-height: 1.5; text-align: left;
  max-width: 46em; margin: 0 auto; }
.qakb-card-meta { font-size: 0.8em; opacity: 0.75; }
.qakb-card-question { font-size: 1.15em; font-weight: 600; margin: 0.3em 0; }
.qakb-answer img { max-width: 100%; height: auto; }
.qakb-answer table { border-collapse: collapse; }
.qakb-answer th, .qakb-answer td { border: 1px solid #8884; padding: 0.2em 0.5em; }
.qakb-answer .highlight pre { background: #f8f8f8; color: #000; padding: 0.6em; overflow-x: auto;
  border-radius: 4px; font-size: 0.85em; }
.qakb-answer div.arithmatex { overflow-x: auto; }
.qakb-card-link { font-size: 0.8em; }
"""


def deck_file_name(site_name: str) -> str:
    """The deck's file name in the site: the site's name as a slug."""
    return slugify(site_name) + DECK_SUFFIX


def deck_timestamp(paths: list[Path]) -> int:
    """Modification time for the notes: SOURCE_DATE_EPOCH if set, else the newest bank file's mtime."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    return max(int(path.stat().st_mtime) for path in paths)


def _number(*parts: str, low: int, span: int) -> int:
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % span


def deck_id(namespace: str) -> int:
    return _number("qakb deck", namespace, low=1 << 30, span=1 << 30)


def note_type_id(namespace: str) -> int:
    return _number("qakb note type v1", namespace, low=1 << 30, span=1 << 30)


def note_guid(namespace: str, item_id: str) -> str:
    import genanki

    return genanki.guid_for(namespace, item_id)


def card_css() -> str:
    return CSS + HtmlFormatter(style="default").get_style_defs(".qakb-answer .highlight")


def anki_answer_html(answer: Answer, prompt: bool = False) -> str:
    """The site's answer (or prompt) HTML with images named as Anki's media (by file name)."""
    return (answer.prompt_html if prompt else answer.html).replace(f'src="{MEDIA_URL_PREFIX}', 'src="')


def note_ids(namespace: str, item_ids: list[str]) -> dict[str, int]:
    """A stable note id per item; a clash of two ids moves the later (by id text) one up."""
    ids: dict[str, int] = {}
    taken: set[int] = set()
    for item_id in sorted(item_ids):
        number = _number("qakb note", namespace, item_id, low=_NOTE_ID_BASE, span=_NOTE_ID_SPAN)
        while number in taken:
            number += 1
        taken.add(number)
        ids[item_id] = number
    return ids


def write_deck(
    path: Path, questions: list[Question], answers: dict[str, Answer], topic_of: dict[str, Topic],
    record: AnchorRecord, deck_name: str, timestamp: int, site_url: str = "", description: str = "",
) -> int:
    """Write the deck of the answered `questions` to `path`; return how many notes it holds."""
    import genanki

    questions = [question for question in questions if question.answered]
    namespace = record.namespace
    item_of = record.id_of()
    prompted = any(answers[question.anchor].prompt_html for question in questions)
    note_type = genanki.Model(
        note_type_id(namespace), f"{deck_name} (qakb)",
        fields=[{"name": name} for name in (*FIELDS, PROMPT_FIELD) if prompted or name != PROMPT_FIELD],
        templates=[{"name": "Question → answer", "qfmt": FRONT_WITH_PROMPT if prompted else FRONT, "afmt": BACK}],
        css=card_css(),
    )
    deck = genanki.Deck(deck_id(namespace), deck_name, description=html.escape(description))
    for position, question in enumerate(questions, start=1):
        topic = topic_of[question.anchor]
        link = f"{site_url.rstrip('/')}/{page_url(topic.slug, question.anchor)}" if site_url else ""
        tags = [f"topic::{topic.slug}"]
        if question.difficulty:
            tags.append(f"difficulty::{question.difficulty}")
        if question.needs_review:
            tags.append(NEEDS_REVIEW_TAG)
        deck.add_note(genanki.Note(
            model=note_type,
            fields=[html.escape(question.question), anki_answer_html(answers[question.anchor]),
                    html.escape(topic.title), question.difficulty, html.escape(link),
                    *([anki_answer_html(answers[question.anchor], prompt=True)] if prompted else [])],
            tags=tags, guid=note_guid(namespace, item_of[question.anchor]), due=position,
        ))
    media = sorted({item.name: item.source for question in questions
                    for item in answers[question.anchor].media}.items())
    ids = note_ids(namespace, [item_of[question.anchor] for question in questions])
    with tempfile.TemporaryDirectory() as scratch:
        collection = Path(scratch) / "collection.anki2"
        connection = sqlite3.connect(collection)
        try:
            # genanki takes a note's id, then its card's, from this iterator, note by note in the
            # deck's order: both get the note's stable id (the model has one template, so one card).
            stable_ids = (ids[item_of[question.anchor]] for question in questions for _ in ("note", "card"))
            genanki.Package(deck).write_to_db(connection.cursor(), timestamp, stable_ids)
            connection.commit()
        finally:
            connection.close()
        partial = path.with_name(path.name + ".partial")
        with zipfile.ZipFile(partial, "w") as package:
            _add(package, "collection.anki2", collection.read_bytes())
            _add(package, "media", json.dumps({str(index): name for index, (name, _) in enumerate(media)}).encode())
            for index, (_, source) in enumerate(media):
                _add(package, str(index), source.read_bytes())
        partial.replace(path)
    return len(questions)


def _add(package: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    package.writestr(entry, data)
