"""The Anki deck: notes, tags, media, the note type, and ids that survive rebuilds, reordering and rewording.

An .apkg is a zip holding the SQLite collection `collection.anki2`, a `media` file naming the
numbered media entries, and those entries."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from projects import ROOT
from qakb.anchors import update_record
from qakb.anki import NEEDS_REVIEW_TAG, deck_file_name, deck_id, write_deck
from qakb.markup import render_answers
from qakb.parse import parse_content
from qakb.topics import Topic

IMAGE = ROOT / "tests" / "data" / "ds-bank" / "images" / "bias-variance.png"
BANK = """# Flashcards bank
> https://example.org/

## Basics

1. `What is the bias-variance trade-off?` 👶
Error splits as $\\text{bias}^2 + \\text{variance} + \\sigma^2$:

$$
\\mathbb{E}[(y - \\hat f)^2] = b^2 + v + \\sigma^2
$$

![Bias and variance](images/chart.png)

2. ??? `How do you fit a line in Python <fast>?` 🚀
```python
import numpy as np
slope, intercept = np.polyfit(x, y, 1)
```
<script>alert(1)</script>

3. `What is a p-value?`
The probability of data at least as extreme as observed, if the null hypothesis holds.
"""
TOPICS = {"basics": Topic("basics", "Basics & more", "")}


def make_bank(tmp_path: Path, text: str = BANK) -> Path:
    content = tmp_path / "content"
    (content / "images").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(IMAGE, content / "images" / "chart.png")
    (content / "bank.md").write_text(text, encoding="utf-8")
    return content


def deck(tmp_path: Path, content: Path, previous=None, name: str = "deck.apkg", timestamp: int = 1_700_000_000):
    questions = list(parse_content(content).questions)
    record = update_record(previous, questions).record
    answers = render_answers(questions, content)
    path = tmp_path / name
    write_deck(path, questions, answers, {q.anchor: TOPICS["basics"] for q in questions}, record,
               "Flashcards & co", timestamp, site_url="https://example.org/site/")
    return path, record


def read_deck(path: Path) -> dict:
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        media = json.loads(package.read("media"))
        files = {name: package.read(number) for number, name in media.items()}
        collection = path.with_suffix(".anki2")
        collection.write_bytes(package.read("collection.anki2"))
        dates = {info.date_time for info in package.infolist()}
    connection = sqlite3.connect(collection)
    try:
        notes = [{"id": note_id, "guid": guid, "mod": mod, "tags": tags.split(),
                  "fields": dict(zip(["Question", "Answer", "Topic", "Difficulty", "Link"], fields.split("\x1f")))}
                 for note_id, guid, mod, tags, fields in connection.execute(
                     "SELECT id, guid, mod, tags, flds FROM notes ORDER BY id")]
        cards = connection.execute("SELECT nid, did, due FROM cards").fetchall()
        decks = json.loads(connection.execute("SELECT decks FROM col").fetchone()[0])
        models = json.loads(connection.execute("SELECT models FROM col").fetchone()[0])
    finally:
        connection.close()
    return {"names": names, "media": files, "notes": notes, "cards": cards, "decks": decks, "models": models,
            "dates": dates}


def by_question(notes: list[dict]) -> dict[str, dict]:
    return {note["fields"]["Question"]: note for note in notes}


def test_one_note_per_question_with_the_answer_as_the_site_renders_it(tmp_path):
    path, _ = deck(tmp_path, make_bank(tmp_path))
    found = read_deck(path)
    notes = by_question(found["notes"])
    assert sorted(notes) == ["How do you fit a line in Python &lt;fast&gt;?", "What is a p-value?",
                             "What is the bias-variance trade-off?"]
    first = notes["What is the bias-variance trade-off?"]["fields"]
    # Math keeps the \( \) and \[ \] delimiters Anki's MathJax typesets.
    assert '<span class="arithmatex">\\(\\text{bias}^2' in first["Answer"]
    assert '<div class="arithmatex">\\[' in first["Answer"] and "\\]</div>" in first["Answer"]
    # Images are named as media files, and the media travel in the package.
    media_name = next(iter(found["media"]))
    assert media_name.endswith("-chart.png") and f'src="{media_name}"' in first["Answer"]
    assert found["media"][media_name] == IMAGE.read_bytes() and "qakb-media:" not in first["Answer"]
    assert first["Topic"] == "Basics &amp; more" and first["Difficulty"] == "easy"
    assert first["Link"] == "https://example.org/site/topics/basics/#what-is-the-bias-variance-trade-off"
    code = notes["How do you fit a line in Python &lt;fast&gt;?"]["fields"]["Answer"]
    assert '<div class="highlight">' in code and '<span class="kn">import</span>' in code
    assert "<script" not in code and "alert" not in code


def test_tags_name_topic_difficulty_and_review(tmp_path):
    path, _ = deck(tmp_path, make_bank(tmp_path))
    notes = by_question(read_deck(path)["notes"])
    assert notes["What is the bias-variance trade-off?"]["tags"] == ["topic::basics", "difficulty::easy"]
    assert notes["How do you fit a line in Python &lt;fast&gt;?"]["tags"] == [
        "topic::basics", "difficulty::hard", NEEDS_REVIEW_TAG]
    assert notes["What is a p-value?"]["tags"] == ["topic::basics"]


def test_deck_note_type_and_cards(tmp_path):
    path, record = deck(tmp_path, make_bank(tmp_path))
    found = read_deck(path)
    assert found["decks"][str(deck_id(record.namespace))]["name"] == "Flashcards & co"
    (model,) = found["models"].values()
    assert [field["name"] for field in model["flds"]] == ["Question", "Answer", "Topic", "Difficulty", "Link"]
    assert ".qakb-answer .highlight .kn" in model["css"], "code is coloured in Anki too"
    assert sorted(due for _, _, due in found["cards"]) == [1, 2, 3], "new cards come in bank order"
    assert {did for _, did, _ in found["cards"]} == {deck_id(record.namespace)}
    assert {nid for nid, _, _ in found["cards"]} == {note["id"] for note in found["notes"]}
    assert {note["mod"] for note in found["notes"]} == {1_700_000_000}
    assert found["dates"] == {(1980, 1, 1, 0, 0, 0)}


def test_the_same_input_gives_the_same_bytes(tmp_path):
    content = make_bank(tmp_path)
    first, record = deck(tmp_path, content, name="a.apkg")
    second, _ = deck(tmp_path, content, previous=record, name="b.apkg")
    assert first.read_bytes() == second.read_bytes()


def ids(found: dict) -> dict[str, tuple]:
    return {note["fields"]["Answer"][:40]: (note["guid"], note["id"]) for note in found["notes"]}


def test_ids_survive_reordering_and_rewording(tmp_path):
    content = make_bank(tmp_path)
    original, record = deck(tmp_path, content, name="original.apkg")
    before = read_deck(original)
    head, items = BANK.split("## Basics\n")
    first_two, last = items.split("\n3. ")
    reordered = f"{head}## Basics\n\n3. {last}\n{first_two}"
    (content / "bank.md").write_text(reordered.replace("What is a p-value?", "Define the p-value."),
                                     encoding="utf-8")
    assert [q.question for q in parse_content(content).questions][0] == "Define the p-value."
    edited, _ = deck(tmp_path, content, previous=record, name="edited.apkg")
    after = read_deck(edited)
    assert ids(after) == ids(before)
    assert after["decks"].keys() == before["decks"].keys() and after["models"].keys() == before["models"].keys()


@pytest.mark.parametrize("site_name, expected", [("ML / DL Interview Q&A", "ml-dl-interview-q-a.apkg"),
                                                 ("Données", "donnees.apkg")])
def test_deck_file_name_is_the_site_name(site_name, expected):
    assert deck_file_name(site_name) == expected
