"""Render the generated Markdown pages: a home page and one page per topic.

Bank text is untrusted. Question texts and titles are escaped for Markdown and
HTML; answers come already rendered and sanitised by `qakb.markup` and are
placed as raw HTML blocks, so nothing in the bank becomes markup it was not
allowed to be, a link it was not allowed to be, or a script.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from dataclasses import dataclass

from qakb.index import page_path
from qakb.markup import Answer
from qakb.parse import Bank, Question
from qakb.topics import Topic

NAV_FILE = "nav.json"
# Python-Markdown's backslash escapes, plus '|' which the tables extension adds.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>])")


@dataclass(frozen=True)
class TopicPage:
    topic: Topic
    questions: tuple[Question, ...]


def markdown_text(text: str) -> str:
    """Text that Markdown shows literally: '<' and '&' become entities, specials are escaped."""
    escaped = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIALS.sub(r"\\\1", escaped)


def answer_html(answer: Answer) -> str:
    return f'<div class="qakb-answer">\n{answer.html.strip()}\n</div>'


def link_between(from_page: str, to_page: str, anchor: str) -> str:
    if from_page == to_page:
        return f"#{anchor}"
    return f"{posixpath.relpath(to_page, posixpath.dirname(from_page))}#{anchor}"


def question_section(
    question: Question, answer: Answer, page: str, topic_of: dict[str, Topic], related: list[Question],
    show_source: bool,
) -> str:
    meta = f'<span class="qakb-number">Q{question.number}</span>'
    if show_source:
        meta += f' <span class="qakb-source">{html.escape(question.source)}</span>'
    lines = [
        f"## {markdown_text(question.question)} {{ #{question.anchor} }}",
        "",
        f'<p class="qakb-meta">{meta}</p>',
        "",
    ]
    if question.needs_review:
        lines += [
            '!!! warning "Needs review"',
            "    This answer is marked for review in the bank: check it against the sources before relying on it.",
            "",
        ]
    lines += [answer_html(answer), ""]
    if related:
        lines += ['<p class="qakb-related-title">Related questions</p>', ""]
        for other in related:
            other_topic = topic_of[other.anchor]
            target = link_between(page, page_path(other_topic.slug), other.anchor)
            lines.append(f"- [{markdown_text(other.question)}]({target}) · *{markdown_text(other_topic.title)}*")
        lines.append("")
    return "\n".join(lines)


def front_matter(title: str | None, description: str) -> str:
    """A page's title and description; the home page has no title of its own (the theme shows the site's name)."""
    # JSON strings are valid YAML scalars and need no further quoting rules.
    fields = {"title": title, "description": description}
    return "---\n" + "".join(f"{name}: {json.dumps(value, ensure_ascii=False)}\n"
                              for name, value in fields.items() if value is not None) + "---\n"


def topic_page(
    page: TopicPage, bank: Bank, answers: dict[str, Answer], topic_of: dict[str, Topic],
    related_of: dict[str, list[Question]],
) -> str:
    path = page_path(page.topic.slug)
    show_source = len(bank.files) > 1
    parts = [
        front_matter(page.topic.title, page.topic.description),
        f"# {markdown_text(page.topic.title)}",
        "",
    ]
    if page.topic.description:
        parts += [markdown_text(page.topic.description), ""]
    parts += [question_section(q, answers[q.anchor], path, topic_of, related_of[q.anchor], show_source)
              for q in page.questions]
    parts += sources_section(page, bank)
    return "\n".join(parts)


def sources_section(page: TopicPage, bank: Bank) -> list[str]:
    used = {question.source for question in page.questions}
    files = [source for source in bank.files if source.name in used and source.urls]
    if not files:
        return []
    lines = ["## Sources { #sources }", ""]
    for source in files:
        if len(files) > 1:
            lines += [f"**{markdown_text(source.title or source.name)}**", ""]
        lines += [f"- <{url}>" for url in source.urls]
        lines.append("")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def home_page(pages: list[TopicPage], bank: Bank, site_name: str, site_description: str) -> str:
    """The home page: the site's name and description (mkdocs.yml), the banks, and the topics with counts."""
    total = sum(len(page.questions) for page in pages)
    counts = f"{_count(total, 'question')} in {_count(len(pages), 'topic')}"
    lines = [front_matter(None, site_description or counts), f"# {markdown_text(site_name)}", ""]
    if site_description:
        lines += [markdown_text(site_description), ""]
    titled = [source for source in bank.files if source.title]
    banks = f" from {', '.join(f'*{markdown_text(source.title)}*' for source in titled)}" if titled else ""
    lines += [
        f"{counts}{banks}. Browse a topic below, or type a question in your own words into the search box "
        "at the top: the closest questions are found in your browser, with no server.",
        "",
    ]
    described = any(page.topic.description for page in pages)
    lines += ["| Topic | Questions |" + (" About |" if described else ""),
              "| --- | ---: |" + (" --- |" if described else "")]
    for page in pages:
        row = f"| [{markdown_text(page.topic.title)}]({page_path(page.topic.slug)}) | {len(page.questions)} |"
        lines.append(row + (f" {markdown_text(page.topic.description)} |" if described else ""))
    return "\n".join(lines) + "\n"


def render_pages(
    bank: Bank, answers: dict[str, Answer], topics: tuple[Topic, ...], topic_of: dict[str, Topic],
    related_of: dict[str, list[Question]], site_name: str, site_description: str = "",
) -> dict[str, str]:
    """All generated files, keyed by path relative to the pages folder, in topic order."""
    pages = [
        TopicPage(topic, tuple(q for q in bank.questions if topic_of[q.anchor].slug == topic.slug))
        for topic in topics
    ]
    pages = [page for page in pages if page.questions]
    files = {"index.md": home_page(pages, bank, site_name, site_description)}
    for page in pages:
        files[page_path(page.topic.slug)] = topic_page(page, bank, answers, topic_of, related_of)
    nav = [{"title": page.topic.title, "path": page_path(page.topic.slug)} for page in pages]
    files[NAV_FILE] = json.dumps(nav, ensure_ascii=False, indent=1) + "\n"
    return files
