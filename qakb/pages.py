"""Where the generated pages are: their file names and each answer's URL.

The pages writer (`qakb.render`), the index (each hit's URL, `qakb.index`), the Anki deck
(each card's link, `qakb.anki`) and the mkdocs plugin (the site's navigation) all name the
same pages; the index and the practice page's files hold the same row of each question
(`metadata_rows`). Standard library only: the mkdocs plugin imports it, and none of them should
load the build's heavy stack (faiss, torch) to learn a URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qakb.parse import Question
    from qakb.topics import Topic

# The generated pages folder, besides the topic pages.
NAV_FILE = "nav.json"
PRACTICE_PAGE = "practice.md"
REVIEW_PAGE = "review.md"


def page_path(topic_slug: str, part: int = 1) -> str:
    """The generated Markdown page of a topic (or of its `part`-th page, when it is split), relative
    to the pages folder. The first page keeps the topic's own URL, so links made before a split still work."""
    return f"topics/{topic_slug}.md" if part == 1 else f"topics/{topic_slug}/page-{part}.md"


def page_url(topic_slug: str, anchor: str, part: int = 1) -> str:
    """Site-relative URL of one answer (mkdocs directory URLs)."""
    return f"{page_path(topic_slug, part).removesuffix('.md')}/#{anchor}"


def page_parts(questions: list[Question], topic_of: dict[str, Topic], page_size: int) -> dict[str, int]:
    """Which page of its topic each question is on (1, 2, ...): a topic's questions in bank order,
    `page_size` to a page."""
    seen: dict[str, int] = {}
    part_of = {}
    for question in questions:
        slug = topic_of[question.anchor].slug
        position = seen.get(slug, 0)
        seen[slug] = position + 1
        part_of[question.anchor] = position // page_size + 1
    return part_of


def metadata_rows(questions: list[Question], topic_of: dict[str, Topic], part_of: dict[str, int]) -> list[dict]:
    """Each question's row, as search_index/metadata.json and the practice page's files hold it."""
    return [
        {
            "id": question.anchor,
            "number": question.number,
            "question": question.question,
            "topic": topic_of[question.anchor].slug,
            "topic_title": topic_of[question.anchor].title,
            "url": page_url(topic_of[question.anchor].slug, question.anchor, part_of.get(question.anchor, 1)),
            "needs_review": question.needs_review,
            "difficulty": question.difficulty,
            "source": question.source,
        }
        for question in questions
    ]
