"""The second test bank (tests/data/ds-bank: 70 Markdown items in 7 sections, with code in three
languages, tables, an image, math, nested and numbered lists, footnotes, raw and hostile HTML),
made into a site with `qakb new` and built as a user would, then read in real Chromium."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import serve
from projects import ROOT, qakb
from qakb.parse import parse_content

pytestmark = [pytest.mark.slow]

BANK_DIR = ROOT / "tests" / "data" / "ds-bank"
SECTIONS = ["Linear regression", "Classification and logistic regression", "Validation and metrics",
            "Regularisation and feature selection", "Decision trees and ensembles",
            "Clustering and unsupervised learning", "Statistics and probability"]
BOOT_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ds") / "site-folder"
    made = qakb(ROOT, "new", str(folder), "--bank", str(BANK_DIR / "data-science-qa.md"))
    assert made.returncode == 0, made.stderr
    built = qakb(folder, "build")
    assert built.returncode == 0, built.stderr[-3000:]
    assert "placed questions in 7 topics (sections)" in built.stderr
    assert "every item is in the site and the index once" in built.stderr
    return folder


@pytest.fixture(scope="module")
def bank():
    return parse_content(BANK_DIR)


@pytest.fixture(scope="module")
def server(site):
    served = serve(site / "site")
    yield served
    served.stop()


def page_html(site: Path, url: str) -> str:
    return (site / "site" / url.split("#")[0] / "index.html").read_text(encoding="utf-8")


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def test_sections_are_the_topics_in_bank_order_and_every_item_is_once_on_its_page(site, bank):
    nav = [entry["title"] for entry in json.loads((site / "build" / "pages" / "nav.json").read_text("utf-8"))]
    assert nav == SECTIONS
    metadata = json.loads((site / "search_index" / "metadata.json").read_text(encoding="utf-8"))
    assert sorted(row["number"] for row in metadata) == list(range(1, 71))
    section_of = {question.anchor: question.section for question in bank.questions}
    for row in metadata:
        assert row["topic_title"] == section_of[row["id"]]
        parser = _Ids()
        parser.feed(page_html(site, row["url"]))
        assert parser.ids.count(row["id"]) == 1, row


def test_code_is_highlighted_lists_are_lists_and_hostile_html_is_gone(site):
    pages = "".join(path.read_text(encoding="utf-8") for path in (site / "site" / "topics").rglob("index.html"))
    for keyword_class in ("kn", "k", "nf"):  # Pygments: import keyword, keyword, function name
        assert re.search(rf'<div class="highlight"><pre><span></span><code[^>]*>.*?<span class="{keyword_class}">',
                         pages, re.S)
    assert pages.count('<div class="highlight">') >= 8
    assert "<ol>" in pages and re.search(r"<li>.*?<ul>\s*<li>", pages, re.S), "numbered and nested lists"
    assert "<table>" in pages and "<blockquote>" in pages and 'class="footnote"' in pages
    assert "β<sub>j</sub>" in pages and "x<sub>1</sub>·x<sub>2</sub>" in pages, "the subscripts, with their text"
    answers = "".join(re.findall(r'<div class="qakb-answer">(.*?)\n</div>\n', pages, re.S))
    for banned in ("<script", "<iframe", "<style", "<form", "<svg", "onerror", "onload", "onmouseover",
                   "javascript:"):
        assert banned not in answers.lower(), banned
    assert "hover text" in answers and "click me" in answers, "the hostile markup's text stays readable"


@pytest.mark.browser
def test_in_the_browser_math_renders_the_image_loads_and_nothing_runs(server, open_page):
    browser = open_page()
    page = browser.page
    page.goto(server.url + "topics/regularisation-and-feature-selection/")
    page.wait_for_load_state("networkidle")
    math = page.evaluate("""() => ({
        total: document.querySelectorAll('.arithmatex').length,
        typeset: document.querySelectorAll('.arithmatex .katex').length,
        text: document.querySelector('.md-content').innerText})""")
    assert math["total"] > 5 and math["typeset"] == math["total"]
    assert "$" not in math["text"] and "\\(" not in math["text"] and "\\[" not in math["text"]
    image = page.locator(".qakb-answer img[alt='Bias and variance against model complexity']")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 480

    for topic in ("validation-and-metrics", "regularisation-and-feature-selection",
                  "clustering-and-unsupervised-learning"):
        page.goto(server.url + f"topics/{topic}/")
        page.wait_for_load_state("networkidle")
        for element in page.locator(".qakb-answer a, .qakb-answer div, .qakb-answer img").all()[:200]:
            element.hover(timeout=2000, force=True)
        assert page.locator(".md-content script, .md-content iframe, .md-content form").count() == 0
    assert not browser.dialogs, f"bank content ran as script: {browser.dialogs}"
    assert all(url.startswith(server.url) for url in browser.requests), "a request left the site"


@pytest.mark.browser
def test_search_on_the_second_bank_finds_its_question_and_shows_text_only(server, open_page):
    browser = open_page()
    page = browser.page
    page.add_init_script(
        "document.addEventListener('qakb-search:results', e => { window.__qakbLastQuery = e.detail.query; });")
    page.goto(server.url)
    query = "free text notes field leaking the label"
    page.click('[data-md-component="search-query"]')
    page.keyboard.type(query)
    page.wait_for_function("q => window.__qakbLastQuery === q", arg=query, timeout=BOOT_TIMEOUT_MS)
    questions = page.locator(".qakb-search__option .qakb-search__question").all_text_contents()
    assert "What is data leakage and how do you prevent it?" in questions[:3], questions
    assert page.locator(".qakb-search__option script, .qakb-search__option img").count() == 0
    assert not browser.dialogs


@pytest.mark.browser
def test_practice_typesets_math_shows_images_and_filters_by_difficulty(site, server, open_page):
    browser = open_page()
    page = browser.page
    page.goto(server.url + "practice/?topic=regularisation-and-feature-selection")
    page.wait_for_selector(".qakb-card__question")
    assert page.locator(".qakb-card__question").text_content() == "What is the bias-variance trade-off?"
    page.keyboard.press("Space")
    answer = page.locator(".qakb-card__answer")
    assert answer.locator(".arithmatex").count() == answer.locator(".arithmatex .katex").count() > 0
    image = answer.locator("img[alt='Bias and variance against model complexity']")
    page.wait_for_function("img => img.complete && img.naturalWidth === 480", arg=image.element_handle())

    metadata = json.loads((site / "search_index" / "metadata.json").read_text(encoding="utf-8"))
    hard = [row for row in metadata if row["difficulty"] == "hard"]
    page.click(".qakb-practice__choice > summary")
    page.get_by_label("All topics").check()
    page.get_by_label("Any difficulty").uncheck()
    page.get_by_label("Hard").check()
    assert page.locator(".qakb-practice__choice > summary").text_content().endswith(f"· Hard ({len(hard)})")
    assert page.locator(".qakb-card__question").text_content() == hard[0]["question"]
    assert "· Hard" in page.locator(".qakb-card__meta").text_content()
    assert not browser.errors


@pytest.mark.browser
def test_difficulty_chips_filter_a_topic_page_and_the_choice_carries_over(site, server, open_page, bank):
    from urllib.parse import parse_qs, urlsplit

    from test_browser import axe_violations

    levels = {question.anchor: question.difficulty for question in bank.questions}
    browser = open_page()
    page = browser.page
    page.goto(server.url + "topics/linear-regression/")
    chips = page.locator(".qakb-filter .qakb-chip")
    assert chips.all_text_contents() == ["Easy 3", "Medium 6", "Hard 1"]
    assert page.locator(".qakb-meta .qakb-difficulty").all_text_contents()[:2] == ["Difficulty: Easy",
                                                                                 "Difficulty: Medium"]

    def shown_questions() -> list[str]:
        return page.eval_on_selector_all(
            "h2[id] + p.qakb-meta", "metas => metas.filter(m => m.offsetParent).map(m => m.previousElementSibling.id)")

    assert len(shown_questions()) == 10
    page.get_by_role("button", name="Hard").click()
    assert page.get_by_role("button", name="Hard").get_attribute("aria-pressed") == "true"
    assert [levels[anchor] for anchor in shown_questions()] == ["hard"]
    assert page.locator(".qakb-filter__status").text_content() == "Showing 1 of 10 questions"
    assert page.locator(".md-sidebar--secondary .md-nav__link:visible").count() == 2, "the question and Sources"
    assert "?difficulty=hard" in page.url
    page.get_by_role("button", name="Easy").click()
    assert sorted({levels[anchor] for anchor in shown_questions()}) == ["easy", "hard"]
    assert parse_qs(urlsplit(page.url).query) == {"difficulty": ["easy,hard"]}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert axe_violations(page) == [], scheme

    # The next topic page opens with the same choice (localStorage) ...
    page.goto(server.url + "topics/validation-and-metrics/")
    assert {levels[anchor] for anchor in shown_questions()} <= {"easy", "hard"}
    assert page.get_by_role("button", name="Medium").get_attribute("aria-pressed") == "false"
    # ... but a link to a question the filter hides shows it, and clears the filter.
    medium = next(anchor for anchor, level in levels.items() if level == "medium"
                  and f'id="{anchor}"' in page_html(site, "topics/validation-and-metrics/"))
    page.goto(server.url + f"topics/validation-and-metrics/#{medium}")
    page.wait_for_function("id => document.getElementById(id).offsetParent !== null", arg=medium)
    # The target can show before the filter has cleared every question: wait for the page to settle.
    page.wait_for_function("() => [...document.querySelectorAll('h2[id] + p.qakb-meta')].every(m => m.offsetParent)")
    assert len(shown_questions()) == page.locator("p.qakb-meta").count()
    assert page.evaluate("localStorage.getItem('qakb-difficulty')") == ""

    page.set_viewport_size({"width": 390, "height": 844})
    for chip in chips.all():
        box = chip.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
    assert not browser.errors


def test_the_second_bank_has_its_review_page_and_difficulty_in_the_index(site):
    metadata = json.loads((site / "search_index" / "metadata.json").read_text(encoding="utf-8"))
    assert {row["difficulty"] for row in metadata} == {"easy", "medium", "hard"}
    review = page_html(site, "review/")
    assert review.count('<li><a href="../topics/') == 2
    assert "Needs review" in page_html(site, "topics/linear-regression/").split('class="qakb-meta"', 10)[9]
