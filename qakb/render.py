"""Render the generated Markdown pages: a home page and one page per topic.

Bank text is untrusted: question text is escaped for Markdown and HTML, and
answers are emitted as escaped HTML blocks, so nothing in the bank becomes
markup, a link or a script. Only inline `code` spans are kept as code.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from dataclasses import dataclass

from qakb.index import page_path
from qakb.parse import Bank, Question
from qakb.topics import Topic

NAV_FILE = "nav.json"
# Python-Markdown's backslash escapes, plus '|' which the tables extension adds.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>])")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_INLINE_CODE = re.compile(r"`([^`]+)`")
SHORT_LINE_CHARS = 80


@dataclass(frozen=True)
class TopicPage:
    topic: Topic
    questions: tuple[Question, ...]


def markdown_text(text: str) -> str:
    """Text that Markdown shows literally: '<' and '&' become entities, specials are escaped."""
    escaped = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIALS.sub(r"\\\1", escaped)


def inline_html(text: str) -> str:
    return _INLINE_CODE.sub(r"<code>\1</code>", html.escape(text, quote=True))


def answer_blocks(lines: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Group answer lines into ('p', [line]) and ('ul', [items]) blocks.

    Lines written as bullets become list items; a run of two or more short lines
    that do not end a sentence (the list of activation functions, the steps of an
    algorithm, multiple-choice options) becomes a list too, so one-item-per-line
    answers keep their structure. Every other line is a paragraph of its own.
    """
    blocks: list[tuple[str, list[str]]] = []
    run: list[str] = []

    def flush_run() -> None:
        if len(run) >= 2:
            blocks.append(("ul", list(run)))
        else:
            blocks.extend(("p", [line]) for line in run)
        run.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            flush_run()
            continue
        if _BULLET.match(line):
            flush_run()
            item = _BULLET.sub("", line)
            if blocks and blocks[-1][0] == "bullets":
                blocks[-1][1].append(item)
            else:
                blocks.append(("bullets", [item]))
            continue
        if len(line) <= SHORT_LINE_CHARS and not line.endswith((".", "!", "?", ":")):
            run.append(line)
            continue
        flush_run()
        blocks.append(("p", [line]))
    flush_run()
    return [("ul" if kind == "bullets" else kind, items) for kind, items in blocks]


def answer_html(question: Question) -> str:
    parts = []
    for kind, items in answer_blocks(question.answer_lines):
        if kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in items) + "</ul>")
        else:
            parts.append(f"<p>{inline_html(items[0])}</p>")
    return f'<div class="qakb-answer">\n' + "\n".join(parts) + "\n</div>"


def link_between(from_page: str, to_page: str, anchor: str) -> str:
    if from_page == to_page:
        return f"#{anchor}"
    return f"{posixpath.relpath(to_page, posixpath.dirname(from_page))}#{anchor}"


def question_section(
    question: Question, page: str, topic_of: dict[str, Topic], related: list[Question], show_source: bool,
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
    lines += [answer_html(question), ""]
    if related:
        lines += ['<p class="qakb-related-title">Related questions</p>', ""]
        for other in related:
            other_topic = topic_of[other.anchor]
            target = link_between(page, page_path(other_topic.slug), other.anchor)
            lines.append(f"- [{markdown_text(other.question)}]({target}) · *{markdown_text(other_topic.title)}*")
        lines.append("")
    return "\n".join(lines)


def front_matter(title: str, description: str) -> str:
    # JSON strings are valid YAML scalars and need no further quoting rules.
    return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\ndescription: {json.dumps(description, ensure_ascii=False)}\n---\n"


def topic_page(
    page: TopicPage, bank: Bank, topic_of: dict[str, Topic], related_of: dict[str, list[Question]],
) -> str:
    path = page_path(page.topic.slug)
    show_source = len(bank.files) > 1
    parts = [
        front_matter(page.topic.title, page.topic.description),
        f"# {markdown_text(page.topic.title)}",
        "",
        markdown_text(page.topic.description),
        "",
    ]
    parts += [question_section(q, path, topic_of, related_of[q.anchor], show_source) for q in page.questions]
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


def home_page(pages: list[TopicPage], bank: Bank) -> str:
    titles = [source.title for source in bank.files if source.title]
    title = titles[0] if len(titles) == 1 else "Interview questions and answers"
    total = sum(len(page.questions) for page in pages)
    lines = [
        front_matter(title, f"{_count(total, 'question')} in {_count(len(pages), 'topic')}"),
        f"# {markdown_text(title)}",
        "",
        f"{_count(total, 'question')} in {_count(len(pages), 'topic')}. Browse a topic below, or type a question in "
        "natural language into the search box at the top: the closest questions are found in your "
        "browser, with no server.",
        "",
        "| Topic | Questions | About |",
        "| --- | ---: | --- |",
    ]
    for page in pages:
        lines.append(
            f"| [{markdown_text(page.topic.title)}]({page_path(page.topic.slug)}) | {len(page.questions)} "
            f"| {markdown_text(page.topic.description)} |"
        )
    return "\n".join(lines) + "\n"


def render_pages(
    bank: Bank, topics: tuple[Topic, ...], topic_of: dict[str, Topic], related_of: dict[str, list[Question]],
) -> dict[str, str]:
    """All generated files, keyed by path relative to the pages folder, in topic order."""
    pages = [
        TopicPage(topic, tuple(q for q in bank.questions if topic_of[q.anchor].slug == topic.slug))
        for topic in topics
    ]
    pages = [page for page in pages if page.questions]
    files = {"index.md": home_page(pages, bank)}
    for page in pages:
        files[page_path(page.topic.slug)] = topic_page(page, bank, topic_of, related_of)
    nav = [{"title": page.topic.title, "path": page_path(page.topic.slug)} for page in pages]
    files[NAV_FILE] = json.dumps(nav, ensure_ascii=False, indent=1) + "\n"
    return files
