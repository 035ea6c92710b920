"""Record banks (CSV, TSV, JSON, YAML) and Anki decks read into Question records.

The files under tests/data/banks are read as a content folder reads them (format from the
suffix); malformed inputs fail at the right line; arbitrary text never raises anything
but a ParseError; and the project's own Anki deck reads back to the questions it was made from.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from qakb import anki
from qakb.anchors import update_record
from qakb.bank import ParseError, Question, SourceFile
from qakb.formats import apkg, parse_bank_text, read_bank_file
from qakb.markup import render_answers
from qakb.parse import anchored_bank
from qakb.topics import Topic

DATA = Path(__file__).parent / "data" / "banks"


def read(name: str) -> SourceFile:
    return read_bank_file(DATA / name)


def summary(source: SourceFile) -> list[tuple]:
    """Each question as (line, question, section, difficulty, tags, answered)."""
    return [(q.line, q.question, q.section, q.difficulty, q.tags, q.answered) for q in source.questions]


# --- the data files -----------------------------------------------------------------------------

def test_csv_file():
    source = read("records.csv")
    assert (source.format, source.title, source.warnings) == ("csv", "", ())
    assert summary(source) == [
        (2, "What does the GIL protect in CPython?", "Python", "medium", ("python", "concurrency"), True),
        (3, "How do you reverse a list in place?", "Python", "easy", ("python", "lists"), True),
        (11, "What does a LEFT JOIN return?", "SQL", "easy", ("sql", "joins"), True),
        (12, "Why add an index to a column?", "SQL", "medium", ("sql", "performance"), True),
        (13, "When is a window function better than GROUP BY?", "SQL", "hard", ("sql",), False),
        (14, "What does `yield` turn a function into?", "Python", "easy", ("python", "generators"), True),
    ]
    assert [q.number for q in source.questions] == [1, 2, 3, 4, 5, 6]
    assert source.questions[0].urls == ("https://docs.python.org/3/glossary.html#term-global-interpreter-lock",)
    assert source.questions[1].answer_lines == (
        "Call its `reverse` method:", "", "```python", "items = [1, 2, 3]", "items.reverse()  # items is now [3, 2, 1]",
        "```", "", "Slicing (`items[::-1]`) gives a reversed copy instead.")
    assert source.sections == ("Python", "SQL") and source.unanswered == 1


def test_tsv_file_with_its_columns_in_another_order_and_case():
    source = read("records.tsv")
    assert (source.format, source.warnings) == ("tsv", ())
    assert summary(source) == [
        (2, "What does `git rebase` do?", "Git", "easy", ("git",), True),
        (3, "How do you undo the last commit but keep its changes?", "Git", "medium", ("git", "undo"), True),
        (10, "What is a detached HEAD?", "Git", "hard", ("git",), True),
        (11, "What is the difference between TCP and UDP?", "Networking", "easy", ("networking", "tcp", "udp"), True),
        (12, "What does a CDN cache?", "Networking", "medium", ("networking",), False),
    ]
    assert source.questions[1].answer_lines[2:5] == ("```bash", "git reset --soft HEAD~1", "```")


def test_json_file_with_a_title_and_the_lines_of_its_records():
    source = read("records.json")
    assert (source.format, source.title, source.warnings) == ("json", "Statistics and machine learning", ())
    assert summary(source) == [
        (4, "What is overfitting?", "Machine learning", "easy", ("ml", "generalisation"), True),
        (11, "How do you compute a z-score?", "Statistics", "medium", ("statistics", "python"), True),
        (18, "What does a p-value of 0.03 mean?", "Statistics", "hard", ("statistics", "testing"), True),
        (25, "Why standardise features before k-means?", "Machine learning", "hard", ("ml", "clustering"), False),
        (32, "What is the bias of an estimator?", "Statistics", "medium", (), True),
    ]
    assert "```python" in source.questions[1].answer_lines
    assert source.questions[4].urls == ("https://en.wikipedia.org/wiki/Bias_of_an_estimator",)


def test_yaml_file():
    source = read("records.yaml")
    assert (source.format, source.title, source.warnings) == ("yaml", "", ())
    assert summary(source) == [
        (2, "What does the HTTP status 304 mean?", "HTTP", "easy", ("http", "caching"), True),
        (8, "How do you debounce a function in JavaScript?", "JavaScript", "medium", ("javascript", "timers"), True),
        (25, "What is the event loop?", "JavaScript", "easy", ("javascript",), True),
        (31, "What does the SameSite cookie attribute prevent?", "HTTP", "hard", ("http", "security"), False),
        (37, "Why is `==` discouraged in JavaScript?", "JavaScript", "hard", (), True),
    ]
    debounce = source.questions[1].answer_lines
    assert debounce[0] == "Wait for a pause in the calls before running it:" and debounce[2] == "```js"
    assert debounce[-1] == "```" and "      let timer;" not in debounce and "  let timer;" in debounce


def test_anki_deck_file():
    source = read("deck.apkg")
    assert source.format == "apkg"
    assert summary(source) == [
        (1, "What does functools.lru_cache do?", "Python", "", ("python", "caching"), True),
        (2, "How do you read a file line by line without loading it whole?", "Python", "", ("python", "io"), True),
        (3, "What is the difference between __str__ & __repr__?", "Python", "", ("python",), True),
        (4, "What are the three steps of the TCP handshake?", "Networking", "", ("networking", "tcp"), True),
        (5, "Why does DNS mostly use UDP?", "Networking", "", ("networking", "dns"), True),
        (6, "When would you choose HTTP/3 over HTTP/2?", "Networking", "", ("networking", "http"), False),
    ]
    code = source.questions[1].answer_lines
    assert "<pre><code>with open(path) as lines:" in code and "        handle(line)" in code
    # The deck's image travels inside the answer, as a data: URL of the PNG the deck holds.
    (answer,) = source.questions[3].answer_lines
    assert answer.startswith('SYN, SYN-ACK, ACK.<br><img src="data:image/png;base64,iVBORw0KGgo')
    assert source.warnings == ()


def test_the_deck_script_makes_the_committed_deck(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_deck", DATA / "make_deck.py")
    make_deck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_deck)
    made = tmp_path / "deck.apkg"
    make_deck.write_package(made)
    assert apkg.parse_apkg(made.read_bytes(), "deck.apkg") == read("deck.apkg")


# --- records in their variants ------------------------------------------------------------------

def test_columns_in_any_order_and_case_with_synonyms():
    text = "Tags,BACK,Level,Front,Category\n\"a;b\",Yes.,Intermediate,Is it?,Misc\n"
    (question,) = parse_bank_text(text, "f.csv").questions
    assert (question.question, question.answer_lines, question.difficulty, question.section, question.tags) == (
        "Is it?", ("Yes.",), "medium", "Misc", ("a", "b"))


def test_semicolon_separated_csv_as_excel_writes_it():
    (question,) = parse_bank_text("question;answer\nWhat is 1,5 + 1?;2,5\n", "f.csv").questions
    assert (question.question, question.answer_lines) == ("What is 1,5 + 1?", ("2,5",))


def test_questions_are_one_line_and_answers_lose_blank_edges():
    (question,) = parse_bank_text('question,answer\n"  What\n  is   it? ","\n\nIt is.\n\n"\n', "f.csv").questions
    assert (question.question, question.answer_lines, question.line) == ("What is it?", ("It is.",), 2)


@pytest.mark.parametrize("answer", ["", "***", "TBD", "todo", "To be completed", "-", "  TBD.  "])
def test_empty_or_placeholder_answers_mean_no_answer_yet(answer):
    (question,) = parse_bank_text(json.dumps([{"question": "Why?", "answer": answer}]), "f.json").questions
    assert not question.answered and question.answer_lines == ()


@pytest.mark.parametrize("level, expected", [
    ("easy", "easy"), ("E", "easy"), ("1", "easy"), ("Junior", "easy"), ("beginner", "easy"), ("👶", "easy"),
    ("medium", "medium"), ("m", "medium"), ("2", "medium"), ("middle", "medium"), ("intermediate", "medium"),
    ("⭐", "medium"), ("⭐\ufe0f", "medium"), ("hard", "hard"), ("H", "hard"), ("3", "hard"), ("senior", "hard"),
    ("advanced", "hard"), ("🚀", "hard"), ("expert", "hard"), ("", ""),
])
def test_difficulties_are_normalised(level, expected):
    source = parse_bank_text(f"question\tdifficulty\nWhy?\t{level}\n", "f.tsv")
    assert source.questions[0].difficulty == expected and source.warnings == ()


def test_warnings_name_the_line_and_what_is_wrong():
    text = ("question,answer,difficulty,notes,source\nWhy?,Because.,extreme,x,the manual\n"
            ",An answer with no question.,,,\nHow?,Like this.,easy,,,surplus\n")
    source = parse_bank_text(text, "f.csv")
    assert [q.question for q in source.questions] == ["Why?", "How?"]
    assert [q.number for q in source.questions] == [1, 2]
    assert source.questions[0].difficulty == "" and source.questions[0].urls == ()
    notes, difficulty, link, skipped, surplus = source.warnings
    assert notes.startswith("f.csv:1: ignoring column(s) 'notes'")
    assert difficulty.startswith("f.csv:2: difficulty 'extreme' not understood")
    assert link.startswith("f.csv:2: source 'the manual' has no http(s) link")
    assert skipped.startswith("f.csv:3: a record with no question, skipped")
    assert surplus.startswith("f.csv:4: 1 more field(s) than the header has columns")


def test_json_and_yaml_keys_not_read_are_named_once():
    text = "questions:\n  - question: Why?\n    hint: look up\n  - question: How?\n    hint: again\n    Q: twice\n"
    source = parse_bank_text(text, "f.yaml")
    (warning,) = source.warnings
    assert warning.startswith("f.yaml:2: ignoring key(s) 'hint', 'Q'")


def test_yaml_scalars_are_read_as_written_and_items_is_a_list_key():
    text = "title: Quiz\nitems:\n- question: Is Python interpreted?\n  answer: yes\n  difficulty: 2\n  tags: [1, on]\n"
    source = parse_bank_text(text, "f.yaml")
    (question,) = source.questions
    assert source.title == "Quiz"
    assert (question.answer_lines, question.difficulty, question.tags) == (("yes",), "medium", ("1", "on"))


def test_json_numbers_are_text_where_text_is_expected():
    text = '{"items": [{"question": "What is 6 x 7?", "answer": 42, "difficulty": 3, "tags": "maths"}]}'
    (question,) = parse_bank_text(text, "f.json").questions
    assert (question.answer_lines, question.difficulty, question.tags) == (("42",), "hard", ("maths",))


# --- malformed input ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, text, line, words", [
    ("f.csv", "prompt text,answer\nWhy?,Because.\n", 1, ["no question column", "'prompt text'", "front"]),
    ("f.tsv", "Frage\tAntwort\nWarum?\tDarum.\n", 1, ["no question column", "'Frage', 'Antwort'"]),
    ("f.csv", "question,answer\nWhy?,Because.\n\"How?,Like\nthis.\n", 3, ["never closed"]),
    ("f.csv", 'question,answer\nWhy?,"Because" he said\n', 2, ["expected after", "double quotes"]),
    ("f.csv", "question,answer\n", 1, ["no questions found", "header row"]),
    ("f.csv", "question,answer\n,orphan answer\n", 1, ["no questions found"]),
    ("f.json", '[\n  {"question": "Why?"},\n  {"question": "How?",}\n]', 3, ["not valid JSON"]),
    ("f.json", '[\n  {"question": "Why?"},\n  "How?"\n]', 3, ["should be a mapping", "'How?'"]),
    ("f.json", '[\n  {"question": "Why?"},\n\n  {"question": 42}\n]', 4, ["question should be text", "quotes"]),
    ("f.json", '[{"question": "Why?",\n  "answer": ["a", "b"]}]', 1, ["answer should be text, not a list"]),
    ("f.json", '{"title": "T",\n "questions":\n   {"question": "Why?"}}', 3, ['"questions" should be a list']),
    ("f.json", '{"title": "T", "entries": []}', 1, ["'questions' (or 'items') list", "'entries'"]),
    ("f.json", '"just text"', 1, ["a list of records"]),
    ("f.json", "[]", 1, ["no questions found"]),
    ("f.json", "", 1, ["no questions found"]),
    ("f.yaml", "- question: Why?\n  answer: [unclosed\n- question: How?\n", 3, ["not valid YAML"]),
    ("f.yaml", "- question: Why?\n- How?\n", 2, ["should be a mapping", "'How?'"]),
    ("f.yaml", "- question: Why?\n- question:\n    - a list\n", 2, ["question should be text, not a list"]),
    ("f.yaml", "- question: Why?\n  answer:\n    nested: mapping\n", 1, ["answer should be text, not a mapping",
                                                                          "'|' block"]),
    ("f.yaml", "title: T\nquestions: none\n", 2, ["questions: should be a list"]),
    ("f.yaml", "question: Why?\nanswer: Because.\n", 1, ["'questions' (or 'items') list"]),
    ("f.yaml", "# nothing yet\n", 1, ["no questions found", "- question:"]),
    ("f.yaml", "- question: a\n- question: b\x07\n", 2, ["not valid YAML"]),
])
def test_malformed_input_fails_at_its_line(name, text, line, words):
    with pytest.raises(ParseError) as caught:
        parse_bank_text(text, name)
    assert caught.value.line == line, caught.value
    for word in words:
        assert word in caught.value.message


def test_errors_name_the_file_as_the_user_typed_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bank.json").write_text('[{"question": "Why?"},\n 7]', encoding="utf-8")
    with pytest.raises(ParseError, match=r"^bank\.json:2: a record should be a mapping"):
        read_bank_file(Path("bank.json"))


# Text that reaches past the parsers' first checks: the syntax of every record format, mixed.
_TOKENS = st.sampled_from([
    "question", "answer", "Q", "tags", "topic", "level", "title", "questions", "items", "url", "TBD", "easy", "2",
    ",", ";", "\t", "\n", "\r\n", " ", '"', "'", ":", "- ", "[", "]", "{", "}", "|", ">", "#", "&a ", "*a", "!!int",
    "!!binary", "!!set", "<<", "~", "null", "---", "\\", "\x00", "\u2028", "é", "🚀", "9" * 30,
])
_TEXTS = st.one_of(st.text(), st.lists(_TOKENS, max_size=60).map("".join))


@pytest.mark.parametrize("name", ["f.csv", "f.tsv", "f.json", "f.yaml"])
def test_any_text_reads_or_fails_with_a_parse_error(name):
    @settings(max_examples=300, deadline=None)
    @given(_TEXTS)
    def reads_or_fails(text):
        try:
            source = parse_bank_text(text, name)
        except ParseError as error:
            assert error.line >= 0 and error.message
        else:
            assert source.questions and all(q.question and q.line >= 1 for q in source.questions)

    reads_or_fails()


# --- Anki decks ---------------------------------------------------------------------------------

def package(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def newer_schema_collection(path: Path) -> bytes:
    """A collection in the newer schema: note types, fields and decks in tables of their own
    (deck names joined by \\x1f), fields named in an order other than front, back."""
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE col (id integer primary key, models text, decks text);
        INSERT INTO col VALUES (1, '', '');
        CREATE TABLE notetypes (id integer primary key, name text);
        CREATE TABLE fields (ntid integer, ord integer, name text);
        CREATE TABLE decks (id integer primary key, name text);
        CREATE TABLE notes (id integer primary key, mid integer, tags text, flds text);
        CREATE TABLE cards (id integer primary key, nid integer, did integer, ord integer, type integer, due integer);
        INSERT INTO notetypes VALUES (7, 'Reversed basic');
        INSERT INTO fields VALUES (7, 1, 'Front'), (7, 0, 'Back');
        INSERT INTO decks VALUES (3, 'Languages' || char(31) || 'Rust');
        INSERT INTO notes VALUES (20, 7, ' rust ownership ', 'A value has one owner.' || char(31) || 'What is ownership?');
        INSERT INTO notes VALUES (10, 7, '', 'TBD' || char(31) || 'What is a lifetime?');
        INSERT INTO cards VALUES (100, 20, 3, 0, 0, 1), (101, 10, 3, 0, 0, 2);
    """)
    connection.commit()
    connection.close()
    return path.read_bytes()


def test_newer_schema_tables_name_the_fields_and_decks(tmp_path):
    data = package({"collection.anki21": newer_schema_collection(tmp_path / "c.db"), "media": b"{}"})
    source = apkg.parse_apkg(data, "rust.apkg")
    assert summary(source) == [(1, "What is ownership?", "Rust", "", ("rust", "ownership"), True),
                               (2, "What is a lifetime?", "Rust", "", (), False)]
    assert source.questions[0].answer_lines == ("A value has one owner.",) and source.warnings == ()


def test_the_newer_collection_is_preferred_to_the_placeholder_one(tmp_path):
    placeholder = b"an older Anki would read this: 'please update'"
    data = package({"collection.anki2": placeholder, "collection.anki21": newer_schema_collection(tmp_path / "c")})
    assert len(apkg.parse_apkg(data, "rust.apkg").questions) == 2


@pytest.mark.parametrize("data, words", [
    (b"PK\x03\x04 but not really a zip", ["not an Anki deck package", "Export"]),
    (b"# Just Markdown\n", ["not an Anki deck package"]),
    (package({"notes.txt": b"hello"}), ["no collection.anki2 inside"]),
    (package({"collection.anki21b": b"\x28\xb5\x2f\xfd", "collection.anki2": b""}),
     ["collection.anki21b", "Support older Anki versions"]),
    (package({"collection.anki2": b"SQLite? no."}), ["not an Anki collection qakb can read"]),
])
def test_what_is_not_a_readable_deck_is_refused_clearly(data, words):
    with pytest.raises(ParseError) as caught:
        apkg.parse_apkg(data, "deck.apkg")
    assert caught.value.line == 0
    for word in words:
        assert word in caught.value.message


def test_question_text_is_plain_text():
    assert apkg.plain_text("<div>What is <b>2 &lt; 3</b>?<br>Say&nbsp;why.</div><script>x()</script>") == \
        "What is 2 < 3? Say why."


def test_the_project_constants_for_its_own_deck_agree_with_qakb_anki():
    assert apkg.OWN_FIELDS == anki.FIELDS and apkg.OWN_PROMPT_FIELD == anki.PROMPT_FIELD
    assert apkg.OWN_REVIEW_TAG == anki.NEEDS_REVIEW_TAG


def test_the_projects_own_deck_reads_back_to_its_questions(tmp_path):
    def item(number, text, answer, section, difficulty="", review=False, prompt=()):
        return Question(number=number, question=text, answer_lines=tuple(answer), needs_review=review,
                        source="bank.md", line=number, section=section, difficulty=difficulty,
                        prompt_lines=tuple(prompt))

    written = [
        item(1, "What is a <tuple> & why is it immutable?", ["A fixed sequence; it can be a dict key."],
             "Python", "easy"),
        item(2, "What does this print?", ["`2`"], "Python", "medium", prompt=["```python", "print(1 + 1)", "```"]),
        item(3, "Why is this question unanswered?", [], "Python"),
        item(4, "How do you find duplicate rows?", ["Group and count:", "", "```sql",
                                                    "SELECT email FROM users GROUP BY email HAVING COUNT(*) > 1;",
                                                    "```"], "SQL", "hard", review=True),
    ]
    questions = list(anchored_bank([SourceFile("bank.md", "Bank", (), tuple(written))]).questions)
    topics = {"Python": Topic("python", "Python & friends", ""), "SQL": Topic("sql", "SQL", "")}
    content = tmp_path / "content"
    content.mkdir()
    deck = tmp_path / "site.apkg"
    anki.write_deck(deck, questions, render_answers(questions, content),
                    {q.anchor: topics[q.section] for q in questions}, update_record(None, questions).record,
                    "Interview & more", 1_700_000_000, site_url="https://example.org/kb/")

    source = read_bank_file(deck)
    answered = [q for q in questions if q.answered]
    assert [q.question for q in source.questions] == [q.question for q in answered]
    assert [(q.section, q.difficulty, q.needs_review, q.tags) for q in source.questions] == [
        ("Python & friends", "easy", False, ()), ("Python & friends", "medium", False, ()),
        ("SQL", "hard", True, ())]
    first, printed, duplicates = source.questions
    assert first.answer_lines == ("<p>A fixed sequence; it can be a dict key.</p>",)
    assert printed.prompt_lines and "print" in "\n".join(printed.prompt_lines)
    assert "<code>2</code>" in printed.answer and "print" not in printed.answer
    assert "HAVING" in duplicates.answer and "<div class=\"highlight\">" in duplicates.answer
    assert all(q.urls and q.urls[0].startswith("https://example.org/kb/topics/") for q in source.questions)
    assert source.warnings == ()
