"""Topics: read ``topics.yml`` and place every question in exactly one topic.

A question goes to the topic whose title + description embedding is most
similar to the question's own embedding (question + answer), unless
``topics.yml`` pins it by anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from qakb.parse import ParseError, Question, read_text

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
