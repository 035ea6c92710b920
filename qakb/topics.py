"""Topics: every question goes to exactly one topic, decided in this order.

1. ``topics.yml`` when the project has one: a question goes to the topic whose
   title + description embedding is most similar to the question's own embedding
   (question + answer), unless the file pins it by anchor.
2. Otherwise the bank's own ``## Section`` headings: one topic per section name.
3. Otherwise topics discovered in the questions (`qakb.discover`).

`qakb topics --write` saves the second or third kind as a ``topics.yml`` that
places every question where it was, so an editor can start from it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import yaml

from qakb.parse import ParseError, Question, read_text, slugify

if TYPE_CHECKING:
    from qakb.session import BuildSession

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    description: str

    @property
    def document(self) -> str:
        """The text embedded to compare questions with this topic."""
        return f"{self.title}. {self.description}"


@dataclass(frozen=True)
class Pin:
    anchor: str
    topic: str
    line: int


@dataclass(frozen=True)
class TopicPlan:
    path: str
    topics: tuple[Topic, ...]
    pins: tuple[Pin, ...]


def load_topics(path: Path) -> TopicPlan:
    """Read and check ``topics.yml``; errors name the file and line."""
    if not path.is_file():
        raise ParseError(path, 0, "topics file not found; list the topics (slug, title, description) there")
    text = read_text(path)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ParseError(path, mark.line + 1 if mark else 0, f"not valid YAML: {error}") from None
    if not isinstance(root, yaml.MappingNode):
        raise ParseError(path, 1, "expected a mapping with 'topics:' (and optional 'pins:')")
    fields = {key.value: value for key, value in root.value}
    unknown = set(fields) - {"topics", "pins"}
    if unknown:
        raise ParseError(path, 1, f"unknown key(s) {sorted(unknown)}; only 'topics' and 'pins' are read")
    topics = _read_topics(path, fields.get("topics"))
    known = {topic.slug for topic in topics}
    pins = _read_pins(path, fields.get("pins"), known)
    return TopicPlan(path=str(path), topics=topics, pins=pins)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _read_topics(path: Path, node: yaml.Node | None) -> tuple[Topic, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ParseError(path, _line(node) if node else 1, "'topics' must be a non-empty list")
    topics: list[Topic] = []
    seen: dict[str, int] = {}
    for entry in node.value:
        if not isinstance(entry, yaml.MappingNode):
            raise ParseError(path, _line(entry), "each topic must be a mapping with slug, title, description")
        values = {key.value: value for key, value in entry.value}
        for field in ("slug", "title", "description"):
            value = values.get(field)
            if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
                raise ParseError(path, _line(entry), f"topic is missing a non-empty '{field}'")
        slug = values["slug"].value
        if not _SLUG.match(slug):
            raise ParseError(path, _line(values["slug"]), f"topic slug {slug!r} must be lowercase words joined by '-'")
        if slug in seen:
            raise ParseError(path, _line(values["slug"]), f"topic slug {slug!r} is used twice (first at line {seen[slug]})")
        seen[slug] = _line(values["slug"])
        topics.append(Topic(slug=slug, title=values["title"].value.strip(),
                            description=" ".join(values["description"].value.split())))
    return tuple(topics)


def _read_pins(path: Path, node: yaml.Node | None, known_topics: set[str]) -> tuple[Pin, ...]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~")):
        return ()
    if not isinstance(node, yaml.MappingNode):
        raise ParseError(path, _line(node), "'pins' must map question anchors to topic slugs")
    pins = []
    for key, value in node.value:
        if value.value not in known_topics:
            raise ParseError(
                path, _line(value),
                f"pin for '{key.value}' names unknown topic {value.value!r}; known topics: {', '.join(sorted(known_topics))}",
            )
        pins.append(Pin(anchor=key.value, topic=value.value, line=_line(key)))
    return tuple(pins)


def assign_topics(
    questions: list[Question],
    plan: TopicPlan,
    question_vectors: np.ndarray,
    topic_vectors: np.ndarray,
) -> dict[str, str]:
    """Map each question's anchor to a topic slug. Vectors are L2-normalised, row-aligned."""
    anchors = {question.anchor for question in questions}
    for pin in plan.pins:
        if pin.anchor not in anchors:
            raise ParseError(
                plan.path, pin.line,
                f"pin names question anchor '{pin.anchor}', which no question has (renamed or removed?)",
            )
    pinned = {pin.anchor: pin.topic for pin in plan.pins}
    best = np.argmax(question_vectors @ topic_vectors.T, axis=1)
    return {
        question.anchor: pinned.get(question.anchor, plan.topics[int(choice)].slug)
        for question, choice in zip(questions, best)
    }


ORIGIN_TOPICS_FILE = "topics.yml"
ORIGIN_SECTIONS = "sections"
ORIGIN_DISCOVERED = "discovered"
MAX_SLUG_CHARS = 48
DESCRIPTION_TERMS = 6


@dataclass(frozen=True)
class Placement:
    """The site's topics in page order, each question's topic slug (by anchor), and where they came from."""
    topics: tuple[Topic, ...]
    topic_of: dict[str, str]
    origin: str
    warnings: tuple[str, ...] = ()


def place_questions(
    questions: Sequence[Question],
    vectors: np.ndarray,
    topics_file: Path,
    embed: Callable[[list[str]], np.ndarray],
    titles: dict[str, str],
    session: BuildSession | None = None,
) -> Placement:
    """Place every question: by `topics_file` if it exists, else by the bank's sections, else by discovery.

    `vectors` are the questions' L2-normalised document vectors, row-aligned with
    `questions`; `embed` encodes topic descriptions (with a topics file) or key terms;
    `titles` maps each bank file's name to its title; `session` keeps the term counts
    that name topics and describe sections for its next build (`qakb.discover`).
    """
    if topics_file.is_file():
        plan = load_topics(topics_file)
        topic_vectors = embed([topic.document for topic in plan.topics])
        topic_of = assign_topics(list(questions), plan, vectors, topic_vectors)
        empty = [topic.slug for topic in plan.topics if topic.slug not in set(topic_of.values())]
        warnings = (f"{plan.path}: topic(s) with no questions get no page: {', '.join(empty)}",) if empty else ()
        return Placement(topics=plan.topics, topic_of=topic_of, origin=ORIGIN_TOPICS_FILE, warnings=warnings)
    return automatic_placement(questions, vectors, titles, session, embed)


def automatic_placement(questions: Sequence[Question], vectors: np.ndarray, titles: dict[str, str],
                        session: BuildSession | None = None,
                        embed: Callable[[list[str]], np.ndarray] | None = None) -> Placement:
    """The placement without a topics file: the bank's sections if it has any, else discovered topics.

    `embed` (the model, where it is at hand) orders each topic's key terms (`qakb.discover`)."""
    if any(question.section for question in questions):
        return section_placement(questions, titles, session, vectors, embed)
    return discovered_placement(questions, vectors, titles, session, embed)


def section_placement(questions: Sequence[Question], titles: dict[str, str],
                      session: BuildSession | None = None, vectors: np.ndarray | None = None,
                      embed: Callable[[list[str]], np.ndarray] | None = None) -> Placement:
    """A topic per section name, in order of first appearance; one name in two files is one topic.

    Questions before a file's first section (or in a file without sections) go to
    a topic named after their file's title. Each topic's description lists its key terms.
    """
    names = [question.section or _file_title(question.source, titles) for question in questions]
    keys = [slugify(name) for name in names]
    first_name: dict[str, str] = {}
    for key, name in zip(keys, names):
        first_name.setdefault(key, name)
    label_of = {key: label for label, key in enumerate(first_name)}
    labels = [label_of[key] for key in keys]
    taken: set[str] = set()
    slugs = [_topic_slug(name, taken) for name in first_name.values()]
    from qakb.discover import description_from_terms

    descriptions = [description_from_terms(terms) for terms in _topic_terms(questions, labels, vectors, embed, session)]
    topics = tuple(Topic(slug=slug, title=_one_line(name), description=description)
                   for slug, name, description in zip(slugs, first_name.values(), descriptions))
    return Placement(topics=topics,
                     topic_of={question.anchor: slugs[label] for question, label in zip(questions, labels)},
                     origin=ORIGIN_SECTIONS)


def discovered_placement(questions: Sequence[Question], vectors: np.ndarray, titles: dict[str, str],
                         session: BuildSession | None = None,
                         embed: Callable[[list[str]], np.ndarray] | None = None) -> Placement:
    """Topics found by clustering the vectors and named by their key terms."""
    # Imported here: scikit-learn loads only for banks without a topics file.
    from qakb.discover import cluster, description_from_terms, title_from_terms

    labels = cluster(vectors).labels
    terms = _topic_terms(questions, labels, vectors, embed, session)
    if len(terms) == 1:
        sources = {question.source for question in questions}
        only_title = titles.get(next(iter(sources)), "") if len(sources) == 1 else ""
        names = [_one_line(only_title) or title_from_terms(terms[0]) or "Questions"]
    else:
        names = _distinct_titles(terms)
    taken: set[str] = set()
    slugs = [_topic_slug(name, taken) for name in names]
    topics = tuple(Topic(slug=slug, title=name, description=description_from_terms(topic_terms))
                   for slug, name, topic_terms in zip(slugs, names, terms))
    return Placement(topics=topics,
                     topic_of={question.anchor: slugs[int(label)] for question, label in zip(questions, labels)},
                     origin=ORIGIN_DISCOVERED)


def _topic_terms(questions: Sequence[Question], labels: list[int] | np.ndarray, vectors: np.ndarray | None,
                 embed: Callable[[list[str]], np.ndarray] | None, session: BuildSession | None) -> list[list[str]]:
    """Each topic's key terms (DESCRIPTION_TERMS of them): class-based TF-IDF's best, ordered by
    the model where it is at hand (`qakb.discover`)."""
    from qakb.discover import CANDIDATE_TERMS, characteristic_terms, representative_terms, topic_centroids

    documents = [(question.question, question.answer) for question in questions]
    if embed is None or vectors is None:
        return characteristic_terms(documents, labels, top=DESCRIPTION_TERMS, session=session)
    candidates = characteristic_terms(documents, labels, top=CANDIDATE_TERMS, session=session)
    return representative_terms(candidates, topic_centroids(vectors, labels), embed, DESCRIPTION_TERMS)


def _distinct_titles(terms: list[list[str]]) -> list[str]:
    """A title per topic from its first two terms, more where two topics would share one."""
    from qakb.discover import title_from_terms

    titles: list[str] = []
    for topic_terms in terms:
        count = 2
        title = title_from_terms(topic_terms, count) or "Questions"
        while title in titles and count < len(topic_terms):
            count += 1
            title = title_from_terms(topic_terms, count)
        suffix = 1
        base = title
        while title in titles:
            suffix += 1
            title = f"{base} ({suffix})"
        titles.append(title)
    return titles


def _file_title(source: str, titles: dict[str, str]) -> str:
    title = _one_line(titles.get(source, ""))
    return title or Path(source).stem.replace("-", " ").replace("_", " ").capitalize()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _topic_slug(name: str, taken: set[str]) -> str:
    """A slug topics.yml accepts (ASCII lowercase words joined by '-'), unique among `taken`."""
    words = [word for word in slugify(name).split("-") if re.fullmatch(r"[a-z0-9]+", word)]
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > MAX_SLUG_CHARS and slug:
            break
        slug = f"{slug}-{word}" if slug else word
    base = slug or "topic"
    slug, suffix = base, 1
    while slug in taken:
        suffix += 1
        slug = f"{base}-{suffix}"
    taken.add(slug)
    return slug


_WRITTEN_HEADER = """\
# Topics of the bank, written by `qakb topics --write` from {origin}.
# Every question goes to the topic whose title + description is most similar in
# meaning (all-MiniLM-L6-v2 embeddings) to the question and its answer; `pins`
# (question anchor: topic slug) overrides that choice. The pins below keep each
# question in the topic it was {verb}; delete a pin to let the descriptions decide.
# Edit titles and descriptions freely, add or merge topics: this file now decides.
"""


def topics_file_text(
    placement: Placement,
    questions: Sequence[Question],
    vectors: np.ndarray,
    embed: Callable[[list[str]], np.ndarray],
) -> str:
    """A topics.yml that reproduces `placement`: its topics, and a pin for each question
    that the descriptions alone would place in another topic."""
    topics = [replace(topic, title=_one_line(topic.title),
                      description=_one_line(topic.description) or _one_line(topic.title))
              for topic in placement.topics]
    plan = TopicPlan(path="", topics=tuple(topics), pins=())
    by_similarity = assign_topics(list(questions), plan, vectors, embed([topic.document for topic in topics]))
    pins = {question.anchor: placement.topic_of[question.anchor] for question in questions
            if by_similarity[question.anchor] != placement.topic_of[question.anchor]}
    body = yaml.safe_dump(
        {"topics": [{"slug": topic.slug, "title": topic.title, "description": topic.description} for topic in topics]},
        sort_keys=False, allow_unicode=True, width=100,
    )
    pins_text = yaml.safe_dump({"pins": pins}, sort_keys=False, allow_unicode=True, width=100)
    origin = "the bank's sections" if placement.origin == ORIGIN_SECTIONS else "topics discovered in the questions"
    verb = "in" if placement.origin == ORIGIN_SECTIONS else "discovered in"
    return f"{_WRITTEN_HEADER.format(origin=origin, verb=verb)}{body}\n# question anchor: topic slug\n{pins_text}"


def write_topics_file(
    path: Path,
    placement: Placement,
    questions: Sequence[Question],
    vectors: np.ndarray,
    embed: Callable[[list[str]], np.ndarray],
) -> int:
    """Write `placement` as a topics file at `path`, checked to read back to the same placement.

    Returns the number of pins written. The file appears only once the check passed.
    """
    text = topics_file_text(placement, questions, vectors, embed)
    draft = path.with_name(f".{path.name}.draft")
    draft.write_text(text, encoding="utf-8")
    try:
        plan = load_topics(draft)
        again = assign_topics(list(questions), plan, vectors, embed([topic.document for topic in plan.topics]))
        if again != placement.topic_of:
            moved = sorted(anchor for anchor in again if again[anchor] != placement.topic_of[anchor])
            raise ValueError(f"{path}: the written topics would move {len(moved)} question(s), e.g. {moved[:3]}; "
                             "not written")
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return len(plan.pins)
