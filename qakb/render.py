"""Render the generated Markdown pages: a home page, one page per topic, the practice page and
the list of answers that need review.

Bank text is untrusted. Question texts and titles are escaped for Markdown and
HTML; answers come already rendered and sanitised by `qakb.markup` and are
placed as raw HTML blocks, so nothing in the bank becomes markup it was not
allowed to be, a link it was not allowed to be, or a script.
"""

from __future__ import annotations

import functools
import html
import json
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from qakb.markup import Answer
from qakb.pages import NAV_FILE, PRACTICE_PAGE, REVIEW_PAGE, metadata_rows, page_path
from qakb.parse import DIFFICULTIES, Bank, Question
from qakb.topics import Topic

# The practice page's questions and answers (assets/qakb/practice.js reads them): this file, and
# the further parts it names once it would pass PRACTICE_PART_BYTES (hosts refuse files over 25 MiB:
# a 100,000-question bank's answers are ~75 MB).
PRACTICE_ANSWERS = "practice/answers.json"
PRACTICE_ANSWERS_FORMAT = "qakb-practice-answers"
PRACTICE_PART_BYTES = 8_000_000
# The question ids of each topic, for the progress bars every page draws (progress.js): a
# fraction of the practice page's files (at 10,000 questions 75 kB gzip against ~800 kB).
PRACTICE_TOPICS = "practice/topics.json"
PRACTICE_TOPICS_FORMAT = "qakb-practice-topics"
REVIEW_MEANING = "The bank marks this answer for review: check it against the sources before relying on it."
NO_ANSWER = "No answer yet"
# Above a question's related questions: the questions that ask the same (`qakb.duplicates`).
ALSO_ASKED = "Also asked as"
LINKS_FILE = "links.json"
# Python-Markdown's backslash escapes, plus '|' (tables) and '$' (math). Not '(' and ')': an
# escaped "\(" is what pymdownx.arithmatex reads as inline math ("(CNNs)" became math), and
# with '[' escaped no link can start.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]#+\-.!|>$])")


@dataclass(frozen=True)
class TopicPage:
    """A topic's questions; on a topic split into pages, the questions of its page `part` of `parts`,
    the first of them the topic's question number `first` (counting from 1) of `total`."""
    topic: Topic
    questions: tuple[Question, ...]
    part: int = 1
    parts: int = 1
    first: int = 1
    total: int = 0

    @property
    def path(self) -> str:
        return page_path(self.topic.slug, self.part)

    @property
    def heading(self) -> str:
        if self.parts == 1:
            return self.topic.title
        return f"{self.topic.title} ({self.part} of {self.parts})"

    @property
    def span(self) -> str:
        """Which of the topic's questions this page holds, as the nav and the pager name it."""
        last = self.first + len(self.questions) - 1
        return f"Question {last}" if last == self.first else f"Questions {self.first}–{last}"


def markdown_text(text: str) -> str:
    """Text that Markdown shows literally: '<' and '&' become entities, specials are escaped."""
    escaped = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIALS.sub(r"\\\1", escaped)


def answer_html(answer: Answer) -> str:
    return f'<div class="qakb-answer">\n{answer.html.strip()}\n</div>'


def prompt_html(answer: Answer) -> str:
    """What belongs to the question (a multiple-choice question's code and options), shown above its answer."""
    return f'<div class="qakb-prompt">\n{answer.prompt_html.strip()}\n</div>' if answer.prompt_html else ""


def no_answer_html() -> str:
    """Where an unanswered question's answer would be: it is shown and searchable, never practised."""
    return f'<p class="qakb-no-answer">{NO_ANSWER}</p>'


def item_sources_html(urls: tuple[str, ...]) -> str:
    """The item's own sources (a bank's per-item ``Source`` lines), as links."""
    if not urls:
        return ""
    links = ", ".join(f'<a href="{html.escape(url)}">{html.escape(urlsplit(url).netloc or url)}</a>' for url in urls)
    return f'<p class="qakb-item-sources">Source{"s" if len(urls) > 1 else ""}: {links}</p>'


def link_between(from_page: str, to_page: str, anchor: str) -> str:
    if from_page == to_page:
        return f"#{anchor}"
    return f"{_relative_path(to_page, posixpath.dirname(from_page))}#{anchor}"


@functools.lru_cache(maxsize=1 << 16)
def _relative_path(path: str, start: str) -> str:
    """posixpath.relpath, once per pair: 10,000 questions' related links join a few hundred pages."""
    return posixpath.relpath(path, start)


def page_url_between(from_page: str, to_page: str) -> str:
    """The URL of the generated page `to_page` seen from `from_page` (both .md paths), as raw HTML needs it:
    mkdocs rewrites Markdown links, not HTML ones (directory URLs, like `qakb.pages.page_url`)."""
    def directory(page: str) -> str:
        return "." if page == "index.md" else page.removesuffix(".md")
    return posixpath.relpath(directory(to_page), directory(from_page)) + "/"


def difficulty_label(difficulty: str) -> str:
    return (f'<span class="qakb-difficulty" data-qakb-difficulty="{difficulty}">'
            f'<span class="qakb-visually-hidden">Difficulty: </span>{difficulty.capitalize()}</span>')


def review_badge(page: str) -> str:
    """A compact "Needs review" flag, linked to the page that lists them all and says what it means."""
    return (f'<a class="qakb-review-badge" href="{page_url_between(page, REVIEW_PAGE)}" '
            f'title="{REVIEW_MEANING}">Needs review</a>')


def copy_link_button(anchor: str) -> str:
    """Copies the answer's absolute URL (assets/qakb/links.js, which also shows it: useless without script)."""
    return (f'<button type="button" class="qakb-copy-link" data-qakb-anchor="{html.escape(anchor)}" '
            f'aria-describedby="{html.escape(anchor)}" hidden>Copy link</button>')


def question_section(
    question: Question, answer: Answer, page: str, page_of: dict[str, str], topic_of: dict[str, Topic],
    related: list[Question], show_source: bool, also_asked: list[Question] = (),
) -> str:
    """A question's heading, answer, near-duplicates ("Also asked as") and related questions."""
    meta = f'<span class="qakb-number">Q{question.number}</span>'
    if question.difficulty:
        meta += f" {difficulty_label(question.difficulty)}"
    if question.needs_review:
        meta += f" {review_badge(page)}"
    if show_source:
        meta += f' <span class="qakb-source">{html.escape(question.source)}</span>'
    meta += f" {copy_link_button(question.anchor)}"
    lines = [
        f"## {markdown_text(question.question)} {{ #{question.anchor} }}",
        "",
        f'<p class="qakb-meta">{meta}</p>',
        "",
    ]
    for part in (prompt_html(answer), answer_html(answer) if question.answered else no_answer_html(),
                 item_sources_html(question.urls)):
        if part:
            lines += [part, ""]
    shown_apart = {other.anchor for other in also_asked}
    for title, others in ((ALSO_ASKED, also_asked),
                          ("Related questions", [other for other in related if other.anchor not in shown_apart])):
        if others:
            lines += [f'<p class="qakb-related-title">{title}</p>', ""]
            for other in others:
                other_topic = topic_of[other.anchor]
                target = link_between(page, page_of[other.anchor], other.anchor)
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
    page: TopicPage, bank: Bank, answers: dict[str, Answer], page_of: dict[str, str], topic_of: dict[str, Topic],
    related_of: dict[str, list[Question]], also_asked: dict[str, list[Question]] | None = None,
) -> str:
    also_asked = also_asked or {}
    show_source = len(bank.files) > 1
    parts = [
        front_matter(page.heading, page.topic.description),
        f"# {markdown_text(page.heading)}",
        "",
    ]
    if page.topic.description:
        parts += [markdown_text(page.topic.description), ""]
    parts += [progress_placeholder("div", page.topic.slug), ""]
    parts += pager(page)
    parts += difficulty_filter(page.questions)
    parts += [question_section(q, answers[q.anchor], page.path, page_of, topic_of, related_of[q.anchor], show_source,
                               also_asked.get(q.anchor, ()))
              for q in page.questions]
    parts += pager(page)
    parts += sources_section(page, bank)
    return "\n".join(parts)


def pager(page: TopicPage) -> list[str]:
    """On a topic split into pages: which questions this page holds, and links to the topic's other pages."""
    if page.parts == 1:
        return []
    links = " · ".join(f"**{part}**" if part == page.part
                       else f"[{part}]({link_between(page.path, page_path(page.topic.slug, part), '').rstrip('#')})"
                       for part in range(1, page.parts + 1))
    return [f"{page.span} of {page.total} · Pages: {links}", "{ .qakb-pager }", ""]


def split_pages(page: TopicPage, part_of: dict[str, int]) -> list[TopicPage]:
    """A topic's pages: its questions grouped by the page `part_of` gives each (`qakb.pages.page_parts`)."""
    by_part: dict[int, list[Question]] = {}
    for question in page.questions:
        by_part.setdefault(part_of.get(question.anchor, 1), []).append(question)
    pages, first = [], 1
    for part in sorted(by_part):
        pages.append(TopicPage(page.topic, tuple(by_part[part]), part, len(by_part), first, len(page.questions)))
        first += len(by_part[part])
    return pages


def difficulty_filter(questions: tuple[Question, ...]) -> list[str]:
    """Chips that show only the questions of the chosen difficulties (assets/qakb/filter.js, which
    also shows them); none on a page without difficulty marks."""
    counts = Counter(question.difficulty for question in questions if question.difficulty)
    if not counts:
        return []
    chips = "".join(
        f'<button type="button" class="qakb-chip" data-qakb-difficulty="{level}" aria-pressed="false">'
        f'{level.capitalize()} <span class="qakb-chip__count">{counts[level]}</span></button>'
        for level in DIFFICULTIES if counts[level])
    return [f'<div class="qakb-filter" role="group" aria-label="Show only questions of a difficulty" hidden>'
            f'<span class="qakb-filter__label" aria-hidden="true">Difficulty</span>{chips}'
            f'<span class="qakb-filter__status" role="status"></span></div>', ""]


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


def progress_placeholder(tag: str, topic_slug: str) -> str:
    """Where assets/qakb/progress.js draws a topic's practice progress (and, on its page, the
    hide-answers switch); it stays empty without JavaScript."""
    return f'<{tag} class="qakb-progress" data-qakb-topic="{html.escape(topic_slug)}"></{tag}>'


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def home_page(pages: list[TopicPage], bank: Bank, site_name: str, site_description: str, deck_file: str = "") -> str:
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
        "at the top: the closest questions are found in your browser, with no server. "
        f"[Practice]({PRACTICE_PAGE}) tests you with hidden answers and spaced repetition.",
        "",
    ]
    lines += home_extras(pages, deck_file)
    described = any(page.topic.description for page in pages)
    lines += ["| Topic | Questions | Your progress |" + (" About |" if described else ""),
              "| --- | ---: | --- |" + (" --- |" if described else "")]
    for page in pages:
        row = (f"| [{markdown_text(page.topic.title)}]({page_path(page.topic.slug)}) | {len(page.questions)} "
               f"| {progress_placeholder('span', page.topic.slug)} |")
        lines.append(row + (f" {markdown_text(page.topic.description)} |" if described else ""))
    return "\n".join(lines) + "\n"


def home_extras(pages: list[TopicPage], deck_file: str) -> list[str]:
    """The answers flagged for review, and the Anki deck, when there are any."""
    lines = []
    flagged = sum(question.needs_review for page in pages for question in page.questions)
    unanswered = sum(not question.answered for page in pages for question in page.questions)
    if flagged:
        lines += [f"{_count(flagged, 'answer')} {'is' if flagged == 1 else 'are'} marked for review in the bank: "
                  f"[see the list]({REVIEW_PAGE}).", ""]
    if unanswered:
        lines += [f"{_count(unanswered, 'question')} {'has' if unanswered == 1 else 'have'} no answer yet: "
                  f"[see the list]({REVIEW_PAGE}#{NO_ANSWER.lower().replace(' ', '-')}).", ""]
    if deck_file:
        rated = any(question.difficulty for page in pages for question in page.questions)
        lines += [f"Study with flashcards: [download the Anki deck]({deck_file}) (one note per question, "
                  f"tagged by topic{' and difficulty' if rated else ''}; importing a newer deck updates the notes "
                  "it imported before).", ""]
    return lines


def review_page(pages: list[TopicPage], page_of: dict[str, str]) -> str | None:
    """The questions the bank flags `???` and those with no answer yet, grouped by topic; None if there are none."""
    flagged = _by_topic(pages, lambda question: question.needs_review)
    unanswered = _by_topic(pages, lambda question: not question.answered)
    if not flagged and not unanswered:
        return None
    total = sum(len(questions) for _, questions in flagged)
    missing = sum(len(questions) for _, questions in unanswered)
    summary = ", ".join(part for part in (total and f"{_count(total, 'answer')} the bank marks for review",
                                          missing and f"{_count(missing, 'question')} with no answer yet") if part)
    lines = [front_matter("Needs review", summary + "."), "# Needs review", ""]
    if flagged:
        lines += [f"The bank marks {'this answer' if total == 1 else f'these {total} answers'} for review (`???` "
                  "or the bank's own mark): check them against the sources before relying on them.", ""]
        lines += _review_list(flagged, page_of, "##")
    if unanswered:
        lines += [f"## {NO_ANSWER}", "",
                  f"{'This question has' if missing == 1 else f'These {missing} questions have'} no answer in the "
                  "bank: they are shown and found by search, but left out of practice and the Anki deck.", ""]
        lines += _review_list(unanswered, page_of, "###")
    return "\n".join(lines)


def _by_topic(pages: list[TopicPage], chosen) -> list[tuple[TopicPage, list[Question]]]:
    grouped = [(page, [question for question in page.questions if chosen(question)]) for page in pages]
    return [(page, questions) for page, questions in grouped if questions]


def _review_list(grouped: list[tuple[TopicPage, list[Question]]], page_of: dict[str, str], level: str) -> list[str]:
    lines = []
    for page, questions in grouped:
        lines += [f"{level} {markdown_text(page.topic.title)}", ""]
        lines += [f"- [{markdown_text(question.question)}]({page_of[question.anchor]}#{question.anchor}) "
                  f"· Q{question.number}" for question in questions]
        lines.append("")
    return lines


def practice_page(site_name: str) -> str:
    """The practice page: assets/qakb/practice.js builds it from the PRACTICE_ANSWERS files; the
    site's name goes into the export file's name and contents."""
    return "\n".join([
        front_matter("Practice", "Test yourself one question at a time, with spaced repetition."),
        "# Practice",
        "",
        f'<div class="qakb-practice" id="qakb-practice" data-qakb-site="{html.escape(site_name)}">',
        '<p class="qakb-practice__loading">Loading the questions… (practice needs JavaScript.)</p>',
        "</div>",
        "",
    ])


def practice_answers(bank: Bank, answers: dict[str, Answer], topic_of: dict[str, Topic],
                     part_of: dict[str, int]) -> dict[str, str]:
    """The practice page's files: each answered question's row (`metadata_rows`) and sanitised HTML,
    fetched once when the page opens, so a session works offline and reveals at once. PRACTICE_ANSWERS
    holds them up to PRACTICE_PART_BYTES and names the further parts ("more"), of as many bytes each."""
    answered = [question for question in bank.questions if question.answered]
    parts: list[list[tuple[dict, str, str]]] = [[]]
    size = 0
    for question, row in zip(answered, metadata_rows(answered, topic_of, part_of)):
        answer = answers[question.anchor]
        entry = (row, answer.html.strip(), answer.prompt_html.strip() if answer.prompt_html else "")
        # Its row, its answer (and prompt) under its id again: what it adds to a part's file.
        entry_size = len(json.dumps(entry, ensure_ascii=False).encode("utf-8")) + len(row["id"]) * (2 if entry[2] else 1)
        if parts[-1] and size + entry_size > PRACTICE_PART_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(entry)
        size += entry_size
    names = [PRACTICE_ANSWERS] + [f"practice/answers-{number:03d}.json" for number in range(1, len(parts))]
    files = {}
    for name, part in zip(names, parts):
        data = {"format": PRACTICE_ANSWERS_FORMAT, "version": 2, "questions": [row for row, _, _ in part],
                "answers": {row["id"]: answer for row, answer, _ in part}}
        prompts = {row["id"]: prompt for row, _, prompt in part if prompt}
        if prompts:
            data["prompts"] = prompts
        if name == PRACTICE_ANSWERS and len(names) > 1:
            data["more"] = names[1:]
        files[name] = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    return files


def practice_topics(pages: list[TopicPage]) -> str:
    data = {"format": PRACTICE_TOPICS_FORMAT, "version": 1,
            "topics": {page.topic.slug: [question.anchor for question in page.questions] for page in pages}}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def render_pages(
    bank: Bank, answers: dict[str, Answer], topics: tuple[Topic, ...], topic_of: dict[str, Topic],
    related_of: dict[str, list[Question]], site_name: str, site_description: str = "", deck_file: str = "",
    part_of: dict[str, int] | None = None, also_asked: dict[str, list[Question]] | None = None,
) -> dict[str, str]:
    """All generated files, keyed by path relative to the pages folder, in topic order.

    `part_of` is the page of its topic each question is on (`qakb.pages.page_parts`; default: one page a topic).
    `also_asked`: each question's near-duplicates (`qakb.duplicates.also_asked`), listed under it.
    """
    pages = [
        TopicPage(topic, tuple(q for q in bank.questions if topic_of[q.anchor].slug == topic.slug))
        for topic in topics
    ]
    pages = [page for page in pages if page.questions]
    part_of = part_of or {}
    files = {"index.md": home_page(pages, bank, site_name, site_description, deck_file),
             PRACTICE_PAGE: practice_page(site_name), **practice_answers(bank, answers, topic_of, part_of),
             PRACTICE_TOPICS: practice_topics(pages)}
    page_of = {question.anchor: page_path(topic_of[question.anchor].slug, part_of.get(question.anchor, 1))
               for question in bank.questions}
    nav = []
    for page in pages:
        split = split_pages(page, part_of)
        for part in split:
            files[part.path] = topic_page(part, bank, answers, page_of, topic_of, related_of, also_asked)
        entry = {"title": page.topic.title, "path": page.path}
        if len(split) > 1:
            entry["pages"] = [{"title": part.span, "path": part.path} for part in split]
        nav.append(entry)
    review = review_page(pages, page_of)
    if review:
        files[REVIEW_PAGE] = review
    files[NAV_FILE] = json.dumps(nav, ensure_ascii=False, indent=1) + "\n"
    return files
