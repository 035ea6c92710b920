"""Practice mode, progress bars and the hide-answers switch: the generated files, then the
pages driven in real headless Chromium the way a reader uses them (reveal, rate, reload,
come back when due, offline, export and import on another device, reset, a phone's width)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from qakb.markup import render_answers
from qakb.pages import metadata_rows
from qakb.parse import Bank, assign_anchors, parse_text
from qakb.render import (PRACTICE_ANSWERS, PRACTICE_ANSWERS_FORMAT, PRACTICE_PAGE, PRACTICE_TOPICS,
                         PRACTICE_TOPICS_FORMAT, render_pages)
from qakb.topics import Topic

STORAGE_KEY = "qakb-practice:/"  # practice-store.js: the format's name and the site's root path
CARD = ".qakb-card"
QUESTION = ".qakb-card__question"
# A fixed morning (UTC, the browser's zone here), so that "today" has hours to spare either side.
START = datetime(2030, 1, 15, 9, 0, tzinfo=timezone.utc)
PHONE = {"width": 390, "height": 844}
TAP_MIN_PX = 44
BANK = """# A bank
1. `What is a tensor?`
An array with any number of axes; see ![a plot](plot.png).

2. `What is $x$?`
A variable: $x^2$.
"""


def test_the_practice_page_and_its_answers_file_are_generated_with_progress_slots(tmp_path):
    (tmp_path / "plot.png").write_bytes(b"\x89PNG stand-in")
    source = parse_text(BANK, "bank.md")
    questions, _ = assign_anchors(list(source.questions))
    bank = Bank(files=(source.__class__(source.name, source.title, source.urls, tuple(questions)),), warnings=())
    topic = Topic(slug="basics", title="Basics", description="")
    answers = render_answers(questions, tmp_path)
    pages = render_pages(bank, answers, (topic,), {q.anchor: topic for q in questions},
                         {q.anchor: [] for q in questions}, "Site & co")

    assert 'id="qakb-practice" data-qakb-site="Site &amp; co"' in pages[PRACTICE_PAGE]
    data = json.loads(pages[PRACTICE_ANSWERS])
    assert data["format"] == PRACTICE_ANSWERS_FORMAT and data["version"] == 2 and "more" not in data
    assert data["answers"] == {q.anchor: answers[q.anchor].html.strip() for q in questions}
    assert data["questions"] == metadata_rows(questions, {q.anchor: topic for q in questions}, {})
    assert "qakb-media:" in data["answers"][questions[0].anchor], "practice.js points media at the site's media/"
    assert 'class="arithmatex"' in data["answers"][questions[1].anchor], "math.js typesets it when revealed"
    assert '<span class="qakb-progress" data-qakb-topic="basics"></span>' in pages["index.md"]
    assert f"[Practice]({PRACTICE_PAGE})" in pages["index.md"]
    assert '<div class="qakb-progress" data-qakb-topic="basics"></div>' in pages["topics/basics.md"]
    topics = json.loads(pages[PRACTICE_TOPICS])
    assert topics == {"format": PRACTICE_TOPICS_FORMAT, "version": 1, "topics": {"basics": [q.anchor for q in questions]}}


def test_a_big_bank_s_practice_answers_are_cut_into_parts_the_first_names(tmp_path, monkeypatch):
    """Hosts refuse files over 25 MiB; a 100,000-question bank's answers are ~75 MB."""
    import qakb.render

    text = "## Basics\n\n" + "".join(f"{n}. `Question {n}?`\nAnswer number {n}, " + "words " * 40 + "\n\n"
                                      for n in range(1, 31))
    source = parse_text(text, "bank.md")
    questions, _ = assign_anchors(list(source.questions))
    bank = Bank(files=(source.__class__(source.name, source.title, source.urls, tuple(questions)),), warnings=())
    topic = Topic(slug="basics", title="Basics", description="")
    answers = render_answers(questions, tmp_path)
    monkeypatch.setattr(qakb.render, "PRACTICE_PART_BYTES", 3_000)
    pages = render_pages(bank, answers, (topic,), {q.anchor: topic for q in questions},
                         {q.anchor: [] for q in questions}, "Site")
    first = json.loads(pages[PRACTICE_ANSWERS])
    parts = [first] + [json.loads(pages[name]) for name in first["more"]]
    assert len(parts) >= 3 and first["more"] == [f"practice/answers-{n:03d}.json" for n in range(1, len(parts))]
    sizes = [len(pages[name].encode()) for name in [PRACTICE_ANSWERS, *first["more"]]]
    assert max(sizes) <= 3_000 + 300 and min(sizes[:-1]) > 3_000 - 600  # the budget, give or take an entry and the framing
    assert [row["id"] for part in parts for row in part["questions"]] == [q.anchor for q in questions]
    assert {key: value for part in parts for key, value in part["answers"].items()} == {
        q.anchor: answers[q.anchor].html.strip() for q in questions}
    assert all(set(part["answers"]) == {row["id"] for row in part["questions"]} for part in parts)


# ---- in the browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rows(built_site) -> list[dict]:
    return json.loads((built_site / "search_index" / "metadata.json").read_text(encoding="utf-8"))


def stored(page) -> dict:
    return json.loads(page.evaluate("key => localStorage.getItem(key) || 'null'", STORAGE_KEY) or "null") or {}


def open_practice(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{CARD} :is({QUESTION}, .qakb-card__done)")


def shown_question(page) -> str:
    return page.locator(QUESTION).text_content()


def rate(page, rating: str) -> None:
    page.click(".qakb-card__reveal")
    page.click(f".qakb-rate--{rating}")


def due_today(page) -> str:
    return page.locator(".qakb-practice__count--due").text_content()


@pytest.mark.browser
@pytest.mark.slow
def test_practice_reveals_rates_and_brings_each_question_back_only_when_due(open_page, site_server, rows):
    browser = open_page()
    page = browser.page
    page.clock.install(time=START)
    practice = site_server.url + "practice/"
    open_practice(page, practice)
    assert shown_question(page) == rows[0]["question"], "new questions come in bank order"
    assert due_today(page) == "0 due today"
    assert page.locator(".qakb-practice__count").nth(1).text_content() == f"{len(rows)} new"
    assert page.locator(".qakb-card__answer").is_hidden()

    # Everything a session needs is loaded with the page: it goes on offline. (The semantic search
    # starts once the page has loaded; it is let finish first, so its downloads are not cut off.)
    page.evaluate("window.qakbSearch.start().then(() => true, () => false)")
    page.context.set_offline(True)
    page.keyboard.press("Space")
    assert page.locator(".qakb-card__answer .qakb-answer").is_visible()
    assert page.locator(".qakb-rate--good .qakb-rate__when").text_content() == "10 min"
    page.keyboard.press("3")  # Good: back in 10 minutes
    assert shown_question(page) == rows[1]["question"]
    assert due_today(page) == "1 due today"
    rate(page, "easy")  # Easy: back in days
    assert shown_question(page) == rows[2]["question"]
    page.context.set_offline(False)

    page.reload()
    page.wait_for_selector(QUESTION)
    assert shown_question(page) == rows[2]["question"], "nothing practised is due yet"
    cards = stored(page)["cards"]
    assert set(cards) == {rows[0]["id"], rows[1]["id"]}, "kept under the questions' stable ids"
    assert [review[:2] for review in stored(page)["reviews"]] == [[rows[0]["id"], 3], [rows[1]["id"], 4]]

    page.clock.fast_forward("11:00")
    page.reload()
    page.wait_for_selector(QUESTION)
    assert shown_question(page) == rows[0]["question"], "a due question comes before new ones"
    assert page.locator(".qakb-card__badge").text_content() == "Due"
    rate(page, "good")

    # Both are now reviews, due in days: each comes back on its day, not the day before.
    due = {row["question"]: datetime.fromisoformat(stored(page)["cards"][row["id"]]["due"].replace("Z", "+00:00"))
           for row in rows[:2]}
    first, first_due = min(due.items(), key=lambda item: item[1])
    assert first_due - START > timedelta(days=1)
    page.clock.set_system_time(first_due - timedelta(days=1))
    page.reload()
    page.wait_for_selector(QUESTION)
    assert shown_question(page) not in due
    page.clock.set_system_time(first_due)
    page.reload()
    page.wait_for_selector(QUESTION)
    assert shown_question(page) == first
    assert not browser.errors


@pytest.mark.browser
@pytest.mark.slow
def test_practice_reads_every_part_of_a_big_bank_s_answers(open_page, built_site, rows, tmp_path):
    """A bank whose answers are cut into parts (PRACTICE_PART_BYTES): the page practises them all.
    The built site's one answers file, cut into three as a build of a bigger bank writes them."""
    import shutil

    from conftest import serve

    site = shutil.copytree(built_site, tmp_path / "site")
    whole = json.loads((site / PRACTICE_ANSWERS).read_text(encoding="utf-8"))
    cuts = [0, len(whole["questions"]) // 3, 2 * len(whole["questions"]) // 3, len(whole["questions"])]
    names = [PRACTICE_ANSWERS, "practice/answers-001.json", "practice/answers-002.json"]
    for number, name in enumerate(names):
        questions = whole["questions"][cuts[number]:cuts[number + 1]]
        part = {"format": whole["format"], "version": whole["version"], "questions": questions,
                "answers": {row["id"]: whole["answers"][row["id"]] for row in questions},
                **({"more": names[1:]} if number == 0 else {})}
        (site / name).write_text(json.dumps(part), encoding="utf-8")
        for suffix in (".gz", ".br"):
            (site / f"{name}{suffix}").unlink(missing_ok=True)
    server = serve(site)
    try:
        browser = open_page()
        open_practice(browser.page, server.url + "practice/")
        assert browser.page.locator(".qakb-practice__count").nth(1).text_content() == f"{len(rows)} new"
        assert shown_question(browser.page) == rows[0]["question"]
        assert not browser.errors
    finally:
        server.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_progress_exports_imports_on_another_device_and_resets_only_when_confirmed(open_page, site_server, rows,
                                                                                    tmp_path):
    practice = site_server.url + "practice/"
    page = open_page().page
    open_practice(page, practice)
    rate(page, "again")
    rate(page, "easy")
    page.click(".qakb-practice__undo")  # a slip of the finger
    assert list(stored(page)["cards"]) == [rows[0]["id"]] and len(stored(page)["reviews"]) == 1
    assert shown_question(page) == rows[1]["question"] and page.locator(".qakb-card__answer").is_visible()
    page.click(".qakb-rate--hard")
    with page.expect_download() as download:
        page.click("text=Export progress")
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert exported.name.endswith(".json") and exported.name.startswith("ml-dl-interview-q-a-practice-")
    assert data["format"] == "qakb-practice" and data["version"] == 1 and data["site"] == "ML / DL Interview Q&A"
    assert data["cards"] == stored(page)["cards"] and len(data["reviews"]) == 2

    page.click("text=Reset progress…")
    page.locator(".qakb-practice__dialog button[value=cancel]").click()
    assert stored(page)["cards"] == data["cards"], "cancelling the reset keeps everything"
    page.click("text=Reset progress…")
    assert page.locator(".qakb-practice__dialog").is_visible()
    page.locator(".qakb-practice__dialog button[value=reset]").click()
    assert stored(page) == {}
    assert shown_question(page) == rows[0]["question"] and due_today(page) == "0 due today"

    other_device = open_page().page
    open_practice(other_device, practice)
    other_device.set_input_files(".qakb-practice__file", str(exported))
    other_device.wait_for_selector(".qakb-practice__data-message:has-text('Imported')")
    assert stored(other_device)["cards"] == data["cards"]
    assert due_today(other_device) == "2 due today"
    assert shown_question(other_device) == rows[2]["question"], "imported questions come back when due"

    not_progress = tmp_path / "other.json"
    not_progress.write_text('{"format": "something-else"}', encoding="utf-8")
    other_device.set_input_files(".qakb-practice__file", str(not_progress))
    other_device.wait_for_selector(".qakb-practice__data-message:has-text('Nothing imported')")
    assert stored(other_device)["cards"] == data["cards"]


@pytest.mark.browser
@pytest.mark.slow
def test_a_rating_shows_in_the_progress_bars_and_answers_hide_for_self_testing(open_page, site_server, rows):
    topic = rows[0]["topic"]
    in_topic = [row for row in rows if row["topic"] == topic]
    assert len(in_topic) >= 3
    page = open_page().page
    open_practice(page, site_server.url + f"practice/?topic={topic}")
    assert shown_question(page) == in_topic[0]["question"]
    rate(page, "again")

    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(site_server.url + f"topics/{topic}/")
    panel = page.locator(".qakb-progress__panel")
    panel.wait_for()
    label = panel.locator(".qakb-bar__track").get_attribute("aria-label")
    assert label.startswith(f"1 of {len(in_topic)} seen: 1 due"), label
    assert panel.locator(".qakb-bar__segment--due").evaluate("e => e.getBoundingClientRect().width") > 0
    assert page.locator(f"[id='{in_topic[0]['id']}'] ~ .qakb-meta .qakb-status").first.text_content() == "Due"
    page.goto(site_server.url)
    row_bar = page.locator(f".qakb-progress[data-qakb-topic='{topic}'] .qakb-bar__legend")
    row_bar.wait_for()
    assert row_bar.text_content() == f"1/{len(in_topic)} seen · 1 due"
    # The bars read the small per-topic id list, not the whole metadata the practice page needs.
    assert any(url.endswith("practice/topics.json") for url in fetched)
    assert not any(url.endswith("metadata.json") for url in fetched), fetched

    page.goto(site_server.url + f"topics/{topic}/")
    answers = page.locator(".md-content .qakb-answer")
    toggle = page.locator(".qakb-hide-toggle")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert all(answer.is_hidden() for answer in answers.all())
    page.locator(".qakb-reveal").first.click()
    assert answers.first.is_visible() and answers.nth(1).is_hidden()
    # The switch is remembered; a link to one answer shows that answer.
    page.goto(site_server.url + f"topics/{topic}/#{in_topic[2]['id']}")
    page.reload()
    page.locator(".qakb-hide-toggle[aria-pressed='true']").wait_for()
    assert answers.nth(2).is_visible() and answers.first.is_hidden()
    page.locator(".qakb-hide-toggle").click()
    assert all(answer.is_visible() for answer in answers.all())


@pytest.mark.browser
@pytest.mark.slow
def test_progress_under_a_former_anchor_moves_to_the_reworded_question(open_page, site_server, rows):
    page = open_page().page
    former = "what-was-this-question-called-before"
    card = {"due": "2020-01-01T00:00:00.000Z", "stability": 3.2, "difficulty": 5.0, "elapsed_days": 0,
            "scheduled_days": 3, "learning_steps": 0, "reps": 2, "lapses": 0, "state": 2,
            "last_review": "2019-12-29T00:00:00.000Z"}
    page.add_init_script(f"""if (!localStorage.getItem({json.dumps(STORAGE_KEY)})) localStorage.setItem(
        {json.dumps(STORAGE_KEY)}, {json.dumps(json.dumps({"format": "qakb-practice", "version": 1,
                                                           "cards": {former: card}, "reviews": []}))});""")
    page.route("**/links.json", lambda route: route.fulfill(json={former: rows[5]["url"]}))
    open_practice(page, site_server.url + "practice/")
    assert shown_question(page) == rows[5]["question"], "its progress made it due"
    assert list(stored(page)["cards"]) == [rows[5]["id"]]


@pytest.mark.browser
@pytest.mark.slow
def test_on_a_phone_nothing_overflows_and_every_control_is_big_enough_to_tap(open_page, site_server, rows):
    page = open_page().page
    page.set_viewport_size(PHONE)
    open_practice(page, site_server.url + "practice/")
    page.click(".qakb-card__reveal")
    page.click(".qakb-practice__choice > summary")
    small = page.evaluate("""min => [...document.querySelectorAll(
            '.qakb-practice button:not(dialog button), .qakb-practice summary, .qakb-practice label')]
        .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect().height])
        .filter(([, height]) => height > 0 && height < min)""", TAP_MIN_PX)
    assert not small, small
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto(site_server.url + f"topics/{rows[0]['topic']}/")
    page.click(".qakb-hide-toggle")
    small = page.evaluate("""min => [...document.querySelectorAll('.qakb-progress button, .qakb-progress a, .qakb-reveal')]
        .map(e => [e.textContent.trim(), e.getBoundingClientRect().height]).filter(([, height]) => height > 0 && height < min)""",
                          TAP_MIN_PX)
    assert not small, small
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(site_server.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations_in_practice_and_progress(open_page, site_server, rows, color_scheme):
    from test_browser import axe_violations

    page = open_page(color_scheme).page
    open_practice(page, site_server.url + "practice/")
    page.click(".qakb-card__reveal")
    page.click(".qakb-practice__choice > summary")
    found = {"practice, answer shown": axe_violations(page)}
    page.click(".qakb-rate--good")
    found["practice, after a rating"] = axe_violations(page)
    page.goto(site_server.url + f"topics/{rows[0]['topic']}/")
    page.click(".qakb-hide-toggle")
    found["topic page, answers hidden"] = axe_violations(page)
    assert not any(found.values()), json.dumps(found, indent=1)
