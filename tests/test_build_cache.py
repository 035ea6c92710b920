"""A rebuild renders and signs only the answers that changed; the cached results are the same bytes."""

from __future__ import annotations

import pytest

from qakb.anchors import answer_signature
from qakb.build_cache import BuildCache
from qakb.markup import AnswerRenderer, answers_and_documents
from qakb.parse import assign_anchors, parse_text

BANK = """\
1. `Which knot holds a sail's sheet to its clew?`
A *bowline*: it does not slip and unties after load.

```text
loop, rabbit, tree
```

2. `What is a reef?`
Tying part of the sail down to make it smaller in strong wind, see $A = bh/2$.

3. `Where is the boom vang?`
![vang](vang.png) Between the boom and the mast's foot.
"""


def questions_of(text: str):
    questions, _ = assign_anchors(list(parse_text(text, "sailing.md").questions))
    return questions


@pytest.fixture
def renders(monkeypatch):
    rendered = []
    original = AnswerRenderer.render

    def counting(self, question):
        rendered.append(question.number)
        return original(self, question)

    monkeypatch.setattr(AnswerRenderer, "render", counting)
    return rendered


def test_cached_answers_equal_fresh_ones_and_only_edits_are_rendered_again(tmp_path, renders):
    (tmp_path / "vang.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    questions = questions_of(BANK)
    fresh = answers_and_documents(questions, tmp_path)
    cache = BuildCache(tmp_path / "cache")
    try:
        assert cache.answers(questions, tmp_path) == fresh
        renders.clear()
        assert cache.answers(questions, tmp_path) == fresh
        assert renders == [3], "the answer with an image is rendered every time, the others come from the cache"
        edited = questions_of(BANK.replace("make it smaller", "make it much smaller"))
        renders.clear()
        answers, documents = cache.answers(edited, tmp_path)
        assert renders == [2, 3] and "much smaller" in documents[1]
        assert (answers, documents) == answers_and_documents(edited, tmp_path)
    finally:
        cache.close()


def test_a_missing_image_is_reported_on_every_build(tmp_path):
    cache = BuildCache(tmp_path / "cache")
    try:
        for _ in range(2):  # an answer with a missing image is never taken from the cache
            answers, _ = cache.answers(questions_of(BANK), tmp_path)
            assert any("vang.png" in warning for answer in answers.values() for warning in answer.missing_images)
    finally:
        cache.close()


def test_cached_signatures_are_the_signatures(tmp_path):
    questions = questions_of(BANK)
    cache = BuildCache(tmp_path / "cache")
    try:
        first = cache.signatures(questions)
        changed = questions_of(BANK.replace("after load.", "after load. Also a clove hitch."))
        second = cache.signatures(changed)
    finally:
        cache.close()
    assert first == {q.anchor: answer_signature(q.answer) for q in questions}
    assert second == {q.anchor: answer_signature(q.answer) for q in changed}
    assert first[questions[0].anchor] != second[questions[0].anchor]


def test_what_the_last_build_used_serves_only_its_own_store_and_keeps_its_rows_recent(tmp_path):
    import sqlite3

    from qakb import caches
    from qakb.result_store import ResultStore
    from qakb.session import LastBuild

    one, other = ResultStore(tmp_path / "one"), ResultStore(tmp_path / "other")
    one.store("answer", {"a": "1", "b": "2", "c": "3"})
    kept = LastBuild("answer")
    assert kept.kept(one, ["a"]) == {}  # nothing kept yet
    kept.replace(one, {"a": 1, "b": 2})
    assert kept.kept(other, ["a", "b"]) == {}, "another project's store gets its own rows"
    with sqlite3.connect(caches.results(tmp_path / "one")) as db:
        before = dict(db.execute("SELECT key, used FROM entries"))
    assert kept.kept(one, ["a", "c", "z"]) == {"a": 1}
    with sqlite3.connect(caches.results(tmp_path / "one")) as db:
        after = dict(db.execute("SELECT key, used FROM entries"))
    assert after["a"] > before["a"] and after["b"] == before["b"] and after["c"] == before["c"]
    one.keep_recent("answer", 1)
    assert one.lookup("answer", ["a", "b", "c"]) == {"a": "1"}, "a kept row counts as used"
    one.close()
    other.close()
