"""Topics with more questions than `page_size` are split into pages: anchors, links, nav, index URLs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import markdown
import pytest

from projects import make_project, qakb
from qakb.pages import page_parts, page_path, page_url
from qakb.markup import render_answers
from qakb.parse import Bank, assign_anchors, parse_text
from qakb.plugin import site_nav
from qakb.render import NAV_FILE, render_pages
from qakb.topics import Topic

# Seven questions about two made-up subjects; the first topic gets five, the second two.
BANK = """\
## Orchards
1. `When should apple trees be pruned?`
In late winter, before the buds swell.

2. ??? `Why do pears ripen off the tree?`
Picked mature but hard, they soften evenly in storage.

3. `How far apart are cherry trees planted?`
About six metres, so the crowns do not touch.

4. `What does grafting join?`
A scion of the wanted variety to a rootstock.

5. `Which pests bore into plums?`
Plum moth larvae.

## Hives
6. `How many queens does a colony keep?`
One, as a rule.

7. `When is honey taken off?`
Once the cells are capped with wax.
"""
ORCHARDS, HIVES = Topic("orchards", "Orchards", ""), Topic("hives", "Hives", "")


def split_site(page_size: int):
    source = parse_text(BANK, "farm.md")
    questions, _ = assign_anchors(list(source.questions))
    bank = Bank(files=(source.__class__(source.name, source.title, source.urls, tuple(questions)),), warnings=())
    topic_of = {q.anchor: ORCHARDS if q.number <= 5 else HIVES for q in questions}
    # Every question's related list names the last orchard question and the first hive question.
    related_of = {q.anchor: [other for other in (questions[4], questions[5]) if other is not q] for q in questions}
    part_of = page_parts(questions, topic_of, page_size)
    pages = render_pages(bank, render_answers(questions, Path(".")), (ORCHARDS, HIVES), topic_of, related_of,
                         "Farm", part_of=part_of)
    return pages, questions, part_of


def html_of(pages: dict[str, str], path: str) -> str:
    return markdown.markdown(pages[path].split("---\n", 2)[2], extensions=["attr_list", "tables", "toc"])


def test_questions_fill_pages_in_bank_order_and_urls_name_the_page():
    _, questions, part_of = split_site(2)
    assert [part_of[q.anchor] for q in questions] == [1, 1, 2, 2, 3, 1, 1]
    assert page_path("orchards", 1) == "topics/orchards.md"
    assert page_path("orchards", 3) == "topics/orchards/page-3.md"
    assert page_url("orchards", "x", 3) == "topics/orchards/page-3/#x"
    assert page_url("orchards", "x") == "topics/orchards/#x"


def test_each_question_is_on_exactly_the_page_its_url_names():
    pages, questions, part_of = split_site(2)
    topic_pages = [path for path in pages if path.startswith("topics/")]
    assert topic_pages == ["topics/orchards.md", "topics/orchards/page-2.md", "topics/orchards/page-3.md",
                           "topics/hives.md"]
    for question in questions:
        topic = "orchards" if question.number <= 5 else "hives"
        holder = page_path(topic, part_of[question.anchor])
        for path in topic_pages:
            ids = re.findall(r'<h2 id="([^"]+)"', html_of(pages, path))
            assert ids.count(question.anchor) == (1 if path == holder else 0), (question.anchor, path)


def test_related_links_review_links_and_pager_lead_to_the_split_pages():
    pages, questions, _ = split_site(2)
    last_orchard, first_hive = questions[4].anchor, questions[5].anchor
    first = pages["topics/orchards.md"]
    assert f"(orchards/page-3.md#{last_orchard})" in first
    assert f"(hives.md#{first_hive})" in first
    third = pages["topics/orchards/page-3.md"]
    assert f"(../hives.md#{first_hive})" in third and f"(#{last_orchard})" not in third
    assert "Question 5 of 5 · Pages: [1](../orchards.md) · [2](page-2.md) · **3**" in third
    assert "Questions 1–2 of 5 · Pages: **1** · [2](orchards/page-2.md) · [3](orchards/page-3.md)" in first
    assert '<p class="qakb-pager">' in html_of(pages, "topics/orchards/page-2.md")
    assert f"(topics/orchards.md#{questions[1].anchor})" in pages["review.md"]
    # The home page counts the whole topic and links its first page.
    assert "| [Orchards](topics/orchards.md) | 5 |" in pages["index.md"]
    assert "# Orchards (3 of 3)" in third and "Pages" not in pages["topics/hives.md"]


def test_nav_lists_a_split_topic_as_a_section_of_its_pages(tmp_path):
    pages, _, _ = split_site(2)
    (tmp_path / "pages").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "pages" / NAV_FILE).write_text(pages[NAV_FILE], encoding="utf-8")
    nav = site_nav(tmp_path / "pages", tmp_path / "docs")
    assert {"Topics": [{"Orchards": [{"Questions 1–2": "topics/orchards.md"},
                                     {"Questions 3–4": "topics/orchards/page-2.md"},
                                     {"Question 5": "topics/orchards/page-3.md"}]},
                       {"Hives": "topics/hives.md"}]} in nav


def test_below_the_page_size_nothing_is_split():
    pages, questions, part_of = split_site(5)
    assert set(part_of.values()) == {1}
    assert "Pages:" not in pages["topics/orchards.md"]
    assert all("pages" not in entry for entry in json.loads(pages[NAV_FILE]))


@pytest.mark.slow
def test_a_site_built_with_small_pages_holds_every_answer_where_the_index_says(tmp_path):
    project = make_project(tmp_path / "project")
    mkdocs = project / "mkdocs.yml"
    text = mkdocs.read_text(encoding="utf-8")
    assert "      related_max: 5\n" in text
    mkdocs.write_text(text.replace("      related_max: 5\n", "      related_max: 5\n      page_size: 4\n"),
                      encoding="utf-8")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr
    assert "every item is in the site and the index once" in result.stderr
    site = project / "site"
    rows = json.loads((project / "search_index" / "metadata.json").read_text(encoding="utf-8"))
    assert any("/page-2/#" in row["url"] for row in rows)
    for row in rows:
        page, _, anchor = row["url"].partition("#")
        assert f'id="{anchor}"' in (site / page / "index.html").read_text(encoding="utf-8"), row["url"]
    links = json.loads((project / "build" / "pages" / "links.json").read_text(encoding="utf-8"))
    assert {anchor: links[anchor] for anchor in links if anchor in {row["id"] for row in rows}} == \
        {row["id"]: row["url"] for row in rows}
    # The nav shows a split topic's pages; each related link lands on a page that holds its anchor.
    split_topic = next(row["topic"] for row in rows if "/page-2/#" in row["url"])
    first_page = (site / "topics" / split_topic / "index.html").read_text(encoding="utf-8")
    assert "Questions 1–4" in first_page and "Questions 5–" in first_page
    for page in sorted(site.glob("topics/**/index.html")):
        html = page.read_text(encoding="utf-8")
        for href in re.findall(r'<li><a href="([^"#]*)#([^"]+)">', html.split("qakb-related-title", 1)[-1]):
            target = (page.parent / href[0] / "index.html").resolve() if href[0] else page
            assert f'id="{href[1]}"' in target.read_text(encoding="utf-8"), (page, href)
