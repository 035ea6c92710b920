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


@pytest.mark.parametrize("text", ["a|b", "x_y_", "[t](u)", "<i>", "&copy;", "`c`", "1. item", "# h", "\\"])
def test_markdown_text_round_trips_literally(text):
    html = markdown.markdown(markdown_text(text), extensions=["tables"])
    assert html.removeprefix("<p>").removesuffix("</p>") == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
