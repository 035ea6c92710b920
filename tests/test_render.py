"""Generated pages: structure, links, and bank text that must never become markup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import markdown
import pytest

from qakb.parse import Bank, assign_anchors, parse_text
from qakb.markup import render_answers
from qakb.render import markdown_text, render_pages
from qakb.topics import Topic

HOSTILE = """\
> https://example.org/ok
1. `What does <script>alert("q")</script> do? [click](javascript:alert(1)) {#evil} ## *x*`
<img src="data:image/gif;base64,x" onerror="alert('a')"> and <script>alert("a")</script>
[a link](javascript:alert(2)) and ![img](data:image/gif;base64,x" onerror="alert(3)) and <https://evil.example/>
- bullet with `<b>code</b>` and &amp; entity & ampersand

2. `Second | pipe _under_ \\ back?`
Plain.
"""

TOPIC = Topic(slug="general", title="General <b>", description="All [questions](javascript:x).")


def rendered_html():
    source = parse_text(HOSTILE, "hostile.md")
    questions, _ = assign_anchors(list(source.questions))
    bank = Bank(files=(source.__class__(source.name, source.title, source.urls, tuple(questions)),), warnings=())
    topic_of = {q.anchor: TOPIC for q in questions}
    related_of = {questions[0].anchor: [questions[1]], questions[1].anchor: [questions[0]]}
    answers = render_answers(questions, Path("."))
    pages = render_pages(bank, answers, (TOPIC,), topic_of, related_of, "Site <i>name</i>", "About *this*.")
    text = pages["topics/general.md"].split("---\n", 2)[2]
    html = markdown.markdown(text, extensions=["attr_list", "tables", "admonition", "toc"])
    return pages, html, questions


def test_hostile_bank_text_renders_as_text():
    _, html, _ = rendered_html()
    assert "<script" not in html and "alert(&quot;a&quot;)" not in html
    assert not re.search(r'<[^>]*\son[a-z]+="', html), "no event handler attribute"
    assert "javascript:" not in re.findall(r'href="([^"]*)"', html).__str__()
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in html
    assert "&amp; entity &amp; ampersand" in html
    # The question heading shows its text literally and keeps the anchor from its text.
    heading = re.search(r'<h2 id="([^"]+)">(.*?)</h2>', html)
    assert heading.group(1).startswith("what-does-script-alert-q-script-do-click-javascript-alert-1-evil")
    assert "&lt;script&gt;" in heading.group(2) and "[click](javascript:alert(1))" in heading.group(2)
    assert "{#evil}" in heading.group(2) and "## *x*" in heading.group(2)


def test_related_links_point_at_anchors_and_show_text():
    _, html, questions = rendered_html()
    assert f'<a href="#{questions[1].anchor}">Second | pipe _under_ \\ back?</a>' in html


def test_home_and_nav():
    pages, _, _ = rendered_html()
    assert json.loads(pages["nav.json"]) == [{"title": "General <b>", "path": "topics/general.md"}]
    home = markdown.markdown(pages["index.md"].split("---\n", 2)[2], extensions=["tables"])
    assert "General &lt;b&gt;</a>" in home and '<td style="text-align: right;">2</td>' in home
    assert "2 questions in 1 topic. Browse a topic" in home
    assert pages["index.md"].startswith('---\ndescription: "About *this*."\n---\n'), "the theme titles the home page"
    assert "<h1>Site &lt;i&gt;name&lt;/i&gt;</h1>" in home and "<p>About *this*.</p>" in home


@pytest.mark.parametrize("text", ["a|b", "x_y_", "[t](u)", "<i>", "&copy;", "`c`", "1. item", "# h", "\\",
                                  "Networks (CNNs)", "$x$ and $$y$$", "\\(d\\)"])
def test_markdown_text_round_trips_literally(text):
    html = markdown.markdown(markdown_text(text), extensions=["tables", "pymdownx.arithmatex"],
                             extension_configs={"pymdownx.arithmatex": {"generic": True}})
    assert html.removeprefix("<p>").removesuffix("</p>") == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


RATED = """# Rated bank
> https://example.org/

1. `What is easy?` 👶
Easy.

2. ??? `What is <hard>?` [hard]
Hard.

3. ??? `What is unrated?`
No mark.
"""
TOPICS = (Topic("one", "One & only", ""), Topic("two", "Two", ""))


def rated_pages(text: str = RATED, deck_file: str = "") -> dict[str, str]:
    source = parse_text(text, "rated.md")
    questions, _ = assign_anchors(list(source.questions))
    bank = Bank(files=(source.__class__(source.name, source.title, source.urls, tuple(questions)),), warnings=())
    topic_of = {q.anchor: TOPICS[0] if q.number < 3 else TOPICS[1] for q in questions}
    answers = render_answers(questions, Path("."))
    return render_pages(bank, answers, TOPICS, topic_of, {q.anchor: [] for q in questions}, "Site", "",
                        deck_file=deck_file)


def page_html(pages: dict[str, str], path: str) -> str:
    return markdown.markdown(pages[path].split("---\n", 2)[2], extensions=["attr_list", "tables", "toc"])


def test_difficulty_shows_as_a_label_and_a_filter_only_where_the_bank_marks_it():
    pages = rated_pages()
    one = page_html(pages, "topics/one.md")
    assert ('<span class="qakb-difficulty" data-qakb-difficulty="easy"><span class="qakb-visually-hidden">'
            'Difficulty: </span>Easy</span>') in one
    assert 'data-qakb-difficulty="hard"><span class="qakb-visually-hidden">Difficulty: </span>Hard</span>' in one
    chips = re.findall(r'<button type="button" class="qakb-chip" data-qakb-difficulty="(\w+)" aria-pressed="false">'
                       r'\w+ <span class="qakb-chip__count">(\d+)</span></button>', one)
    assert chips == [("easy", "1"), ("hard", "1")]
    assert '<div class="qakb-filter" role="group"' in one and one.index("qakb-filter") < one.index("<h2")
    two = page_html(pages, "topics/two.md")
    assert "qakb-difficulty" not in two and "qakb-filter" not in two, "a page without marks has no label or filter"
    hostile_pages, _, _ = rendered_html()
    assert "qakb-difficulty" not in hostile_pages["topics/general.md"]
    assert "qakb-filter" not in hostile_pages["topics/general.md"]


def test_every_question_has_a_copy_link_button_for_its_anchor():
    one = page_html(rated_pages(), "topics/one.md")
    assert re.findall(r'<button type="button" class="qakb-copy-link" data-qakb-anchor="([^"]+)" '
                      r'aria-describedby="\1" hidden>Copy link</button>', one) == ["what-is-easy", "what-is-hard"]


def test_flagged_answers_have_a_badge_and_a_review_page_grouped_by_topic():
    pages = rated_pages()
    one = page_html(pages, "topics/one.md")
    assert re.findall(r'<a class="qakb-review-badge" href="([^"]+)" title="[^"]*for review[^"]*">Needs review</a>',
                      one) == ["../../review/"]
    assert "!!! warning" not in pages["topics/one.md"]
    review = page_html(pages, "review.md")
    assert pages["review.md"].startswith('---\ntitle: "Needs review"\n')
    assert "The bank marks these 2 answers for review" in review
    assert re.findall(r'<h2 id="[^"]+">(.*?)</h2>', review) == ["One &amp; only", "Two"]
    assert '<li><a href="topics/one.md#what-is-hard">What is &lt;hard&gt;?</a> · Q2</li>' in review
    assert '<li><a href="topics/two.md#what-is-unrated">What is unrated?</a> · Q3</li>' in review
    assert "[see the list](review.md)" in pages["index.md"]
    assert "review.md" not in rated_pages(RATED.replace("??? ", ""))
    assert "see the list" not in rated_pages(RATED.replace("??? ", ""))["index.md"]


def test_the_home_page_offers_the_anki_deck_when_there_is_one():
    assert "[download the Anki deck](site.apkg)" in rated_pages(deck_file="site.apkg")["index.md"]
    assert "Anki" not in rated_pages()["index.md"]


@pytest.mark.parametrize("from_page, to_page, url", [
    ("topics/one.md", "review.md", "../../review/"), ("index.md", "review.md", "review/"),
    ("review.md", "index.md", "../"), ("topics/one.md", "topics/two.md", "../two/")])
def test_page_urls_between_generated_pages(from_page, to_page, url):
    from qakb.render import page_url_between

    assert page_url_between(from_page, to_page) == url
