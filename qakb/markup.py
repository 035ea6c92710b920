"""Answers as the site shows them and as search reads them.

A bank's answer is Markdown. `AnswerRenderer` turns it into:

- **HTML for the pages**, through Python-Markdown with the extensions the site
  uses (fenced code with Pygments highlighting, tables, footnotes, math for
  KaTeX, ...), then through the `nh3` sanitiser with an allowlist: whatever the
  bank holds, no script, style, frame, form, event handler or ``javascript:`` /
  non-image ``data:`` URL reaches a page. This is the one place bank HTML is
  made safe.
- **plain text** for embeddings, BM25, related questions and snippets: the
  sanitised HTML's text, one line per block, without markup.
- **media**: images referenced relative to the bank file, copied into the site.

Bank content is untrusted, and Python-Markdown is neither linear nor iterative on
every input: an answer nested deeper than any real one, or one that keeps the
renderer busy for seconds, is refused with a `ParseError` at its line
(`qakb.limits`) instead of hanging or crashing the build.

Plain banks write one item per line (the embedded bank's list of activation
functions, the steps of an algorithm); `markdown_source` keeps that line
structure instead of letting Markdown join the lines into one paragraph, and
re-indents GitHub-style nested lists (2 spaces) to Python-Markdown's 4.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown
import nh3
from pygments.token import STANDARD_TYPES

from qakb.limits import RENDER_SECONDS, RenderTimeout, structure_problem, within_deadline
from qakb.bank import BankLines, ParseError, Question, shown_path

MEDIA_DIR = "media"
# Rendered answers are raw HTML blocks, which mkdocs does not rewrite; the qakb
# plugin replaces this prefix with the media folder's URL relative to each page.
MEDIA_URL_PREFIX = "qakb-media:"

MARKDOWN_EXTENSIONS = [
    "abbr", "attr_list", "def_list", "footnotes", "md_in_html", "sane_lists", "tables", "toc",
    "pymdownx.arithmatex", "pymdownx.betterem", "pymdownx.caret", "pymdownx.highlight",
    "pymdownx.inlinehilite", "pymdownx.mark", "pymdownx.superfences", "pymdownx.tilde",
]
MARKDOWN_CONFIG = {
    "footnotes": {"UNIQUE_IDS": False},  # ids are prefixed with the question anchor instead
    # Answer headings sit below the question's own heading (h2) and out of the page's table of contents.
    "toc": {"baselevel": 4, "toc_depth": 0},
    "pymdownx.arithmatex": {"generic": True},
    "pymdownx.highlight": {"anchor_linenums": False, "pygments_lang_class": True},
}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "code": {"class"},
    "details": {"open"},
}
# Classes the Markdown extensions emit; a bank's own classes are dropped, so it cannot
# borrow the theme's (a fake search box, a full-page overlay).
ALLOWED_CLASSES = {
    "span": set(STANDARD_TYPES.values()) - {""} | {"arithmatex", "filename", "hll"},
    "div": {"highlight", "arithmatex", "footnote"},
    "code": None,  # pymdownx.highlight's language-* classes: checked in _attribute_filter
    "a": {"footnote-ref", "footnote-backref"},
    "sup": {"footnote-ref"},
    "table": {"highlighttable"},
    "td": {"linenos", "code"},
}
URL_SCHEMES = {"http", "https", "mailto", "data"}
IMAGE_DATA_URL = re.compile(r"^data:image/(png|jpeg|gif|webp|avif);base64,", re.IGNORECASE)
_ID_ATTRIBUTE = re.compile(r'\bid="([^"]+)"')
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_IMG_SRC = re.compile(r'(\bsrc=")([^"]*)(")')
_IMG_ALT = re.compile(r'\balt="([^"]*)"')
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,40}$")

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])(\s+|$)")
_BLOCK_HTML = re.compile(
    r"^\s*</?(address|article|aside|blockquote|details|div|dl|figure|footer|form|h[1-6]|header|hr|iframe|"
    r"noscript|ol|p|pre|script|section|style|summary|table|tbody|td|tfoot|th|thead|tr|ul)\b", re.IGNORECASE)
_SENTENCE_END = (".", "!", "?", ":", ";")
SHORT_LINE_CHARS = 80
# Hard-wrapped prose: every line is of a wrapping width and the next line's first word would not have fit on it.
WRAPPED_LINE_MIN_CHARS = 50
WRAPPED_LINE_MAX_CHARS = 100
WRAP_SLACK_CHARS = 8
MARKDOWN_INDENT = 4


@dataclass(frozen=True)
class Media:
    """An image of the bank, copied into the site as media/<name>."""
    source: Path
    name: str


@dataclass(frozen=True)
class Answer:
    """A question's rendered answer, and its prompt (a multiple-choice question's code and options) if it has one.

    `text` is what search reads: the prompt's text, then the answer's."""
    html: str
    text: str
    media: tuple[Media, ...]
    prompt_html: str = ""
    # Images the answer names that do not exist, as `file:line: what` warnings: each is shown as
    # its description instead, so a bank published without its images folder still builds.
    missing_images: tuple[str, ...] = ()


def document_text(question: Question, answer: Answer) -> str:
    """The text embedded and indexed for a question: its question, then its answer's text."""
    return f"{question.question}\n{answer.text}"


# --- line structure -------------------------------------------------------------------

def _kind(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return "blank"
    if _LIST_ITEM.match(line):
        return "list"
    if line.startswith(("    ", "\t")):
        return "indented"
    if stripped.startswith("|"):
        return "table"
    if stripped.startswith(">"):
        return "quote"
    if stripped.startswith("#"):
        return "heading"
    if stripped.startswith("[^") and "]:" in stripped:
        return "footnote"
    if _BLOCK_HTML.match(line):
        return "html"
    return "text"


def _first_word(line: str) -> str:
    words = line.split()
    return words[0] if words else ""


def _hard_wrapped(lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    longest = max(len(line) for line in lines)
    return longest <= WRAPPED_LINE_MAX_CHARS and all(
        len(line) >= WRAPPED_LINE_MIN_CHARS and len(line) + 1 + len(_first_word(after)) > longest - WRAP_SLACK_CHARS
        for line, after in zip(lines, lines[1:])
    )


def _listy(line: str) -> bool:
    return len(line) <= SHORT_LINE_CHARS and not line.endswith(_SENTENCE_END)


def _text_blocks(lines: list[str]) -> list[str]:
    """Consecutive plain lines: one paragraph each, runs of short lines as a bullet list."""
    if _hard_wrapped(lines):
        return ["\n".join(lines)]
    blocks: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 2:
            blocks.append("\n".join(f"- {line}" for line in run))
        else:
            blocks.extend(run)
        run.clear()

    for line in (line.strip() for line in lines):
        if _listy(line):
            run.append(line)
        else:
            flush()
            blocks.append(line)
    flush()
    return blocks


def _shifted(line: str, shift: int) -> str:
    if shift >= 0:
        return " " * shift + line
    return line[min(-shift, len(line) - len(line.lstrip(" "))):]


def _nested_list(lines: list[str]) -> list[str]:
    """Re-indent a list by its structure, 4 spaces a level: any deeper marker is a child.

    Python-Markdown nests only at 4 spaces; banks written for GitHub nest at 2 or 3.
    Fenced code inside an item moves with its item, keeping its own indentation.
    """
    markers: list[int] = []  # the indentation of each open item's marker
    fence, fence_shift = "", 0
    out = []
    for line in lines:
        expanded = line.expandtabs(MARKDOWN_INDENT)
        indent = len(expanded) - len(expanded.lstrip())
        if fence:
            out.append(_shifted(expanded, fence_shift) if expanded.strip() else "")
            if expanded.strip().startswith(fence) and not expanded.strip()[len(fence):].strip():
                fence = ""
        elif not expanded.strip():
            out.append("")
        elif _LIST_ITEM.match(expanded):
            while markers and indent <= markers[-1]:
                markers.pop()
            out.append(" " * (MARKDOWN_INDENT * len(markers)) + expanded.lstrip())
            markers.append(indent)
        else:
            while len(markers) > 1 and indent <= markers[-1]:
                markers.pop()
            target = MARKDOWN_INDENT * max(1, len(markers))
            out.append(" " * target + expanded.lstrip())
            opening = _FENCE.match(expanded)
            if opening:
                fence, fence_shift = opening.group(1), target - indent
    return out


_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


_DETAILS_OPEN = re.compile(r"^(\s*<details\b)(?![^>]*\bmarkdown=)", re.IGNORECASE)


def _details_as_markdown(lines: tuple[str, ...] | list[str]) -> list[str]:
    """A ``<details>`` block's content is Markdown, as GitHub shows it: the tag gets ``markdown="1"``
    (md_in_html), and the lines of its opening HTML block (up to the first blank line, the ``<summary>``
    and any text beside it) lose their indentation, which would otherwise make them code."""
    out: list[str] = []
    in_opening = False
    fence = ""
    for line in lines:
        opening_fence = _FENCE.match(line)
        if fence or opening_fence:
            if not fence:
                fence = opening_fence.group(1)
            elif line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
                fence = ""
            out.append(line)
            continue
        details = _DETAILS_OPEN.match(line)
        if details:
            out.append(details.group(1).lstrip() + ' markdown="1"' + line[details.end():])
            in_opening = True
        elif in_opening and line.strip():
            out.append(line.strip())
        else:
            in_opening = False
            out.append(line)
    return out


def markdown_source(lines: tuple[str, ...] | list[str]) -> str:
    """An answer's lines as Markdown that keeps their line structure (see the module doc)."""
    lines = _details_as_markdown(lines)
    blocks: list[list[str]] = []
    fence = ""
    math = False
    group: list[str] = []
    group_kind = ""
    blank_in_list = False  # a blank line inside a list: the next line decides whether the list goes on
    item_content = 0  # the column the last list item's content starts at

    def close() -> None:
        nonlocal group, group_kind
        if group:
            if group_kind == "text":
                blocks.extend([block] for block in _text_blocks(group))
            elif group_kind == "list":
                blocks.append(_nested_list(group))
            else:
                blocks.append(group)
        group, group_kind = [], ""

    for line in lines:
        if fence or math:
            group.append(line)
            if fence and _FENCE.match(line) and line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
                fence = ""
            elif math and line.strip().endswith("$$"):
                math = False
            continue
        opening = _FENCE.match(line)
        if opening or line.strip().startswith("$$"):
            if group_kind != "list" or not line.startswith((" ", "\t")):
                close()
                group_kind = "code"
            elif blank_in_list:
                group.append("")
            blank_in_list = False
            group.append(_plain_fence_info(line) if opening else line)
            if opening:
                fence = opening.group(1)
            else:
                math = line.strip() == "$$" or not line.strip()[2:].rstrip().endswith("$$")
            continue
        kind = _kind(line)
        if kind == "blank":
            if group_kind == "list":
                blank_in_list = True
            else:
                close()
            continue
        if group_kind == "list" and (kind in ("list", "indented") or line[:1] in (" ", "\t")) \
                and not (blank_in_list and kind != "list" and _indent(line) < item_content):
            # After a blank line, a line left of the last item's content ends the list (CommonMark).
            kind = "list"
            if blank_in_list:
                group.append("")
        blank_in_list = False
        if kind != group_kind:
            close()
            group_kind = kind
        if kind == "list" and _LIST_MARKER.match(line):
            item_content = len(_LIST_MARKER.match(line).group(0))
        group.append(line)
    close()
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


# Words after the language, not an attribute list ({.class}) nor options (title="x", linenums="1").
_FENCE_INFO = re.compile(r"^(\s*(?:`{3,}|~{3,})\s*)([\w#.+-]+)\s+([^{\s=][^{=]*)$")


def _plain_fence_info(line: str) -> str:
    """A fence opening whose info string goes on after its language (```` ```jsx harmony ````, as GitHub
    reads it) keeps only the language: the fence extension would not take it for a fence at all."""
    match = _FENCE_INFO.match(line)
    return f"{match.group(1)}{match.group(2)}" if match else line


# --- HTML ------------------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    """The text of sanitised answer HTML: one line per block, footnote marks left out."""

    BLOCKS = {"p", "li", "div", "pre", "tr", "h4", "h5", "h6", "blockquote", "br", "dt", "dd", "table",
              "ul", "ol", "figcaption", "hr"}
    SKIPPED = {"footnote-ref", "footnote-backref"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.preformatted = 0

    def handle_starttag(self, tag, attrs):
        self.preformatted += tag == "pre"
        if self.skipping or set((dict(attrs).get("class") or "").split()) & self.SKIPPED:
            self.skipping += tag not in ("br", "img", "hr")
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img" and dict(attrs).get("alt"):
            self.parts.append(f" {dict(attrs)['alt']} ")

    def handle_endtag(self, tag):
        self.preformatted -= tag == "pre"
        if self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data if self.preformatted else data.replace("\n", " "))

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


def html_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return _MATH_DELIMITERS.sub(" ", extractor.text()).strip()


_MATH_DELIMITERS = re.compile(r"\\[()\[\]]")


class AnswerRenderer:
    """Renders the answers of one site build; `content_dir` is where bank files and their images are."""

    def __init__(self, content_dir: Path):
        self.content_dir = content_dir.resolve()
        self.markdown = _markdown()
        self._bank_lines = BankLines(self.content_dir)

    def render(self, question: Question) -> Answer:
        """The question's answer, or a `ParseError` at its line if it cannot be rendered in bounded
        time and depth (`qakb.limits`): bank content is untrusted."""
        try:
            return within_deadline(RENDER_SECONDS, lambda: self._checked_render(question))
        except RenderTimeout:
            self.markdown = _markdown()  # left mid-conversion
            raise ParseError(self._bank_file(question), question.line,
                             f"this answer took over {RENDER_SECONDS:g} s to render (answers take milliseconds): "
                             "something in it keeps Markdown busy, such as thousands of brackets, links or "
                             "footnotes in one paragraph; split it up, or put such text in a code block") from None
        except RecursionError:
            self.markdown = _markdown()
            raise ParseError(self._bank_file(question), question.line,
                             "this answer is nested too deeply to render (lists, quotes or HTML inside one "
                             "another hundreds of times); flatten it") from None

    def _checked_render(self, question: Question) -> Answer:
        """The answer, unless its Markdown has structure no real answer has (`structure_problem`)."""
        problem = structure_problem((*question.prompt_lines, *question.answer_lines))
        if problem:
            index, reason = problem
            raise ParseError(self._bank_file(question), question.line + 1 + index, reason)
        return self._render(question)

    def _render(self, question: Question) -> Answer:
        media: list[Media] = []
        missing: list[str] = []
        prompt = self._html(question, question.prompt_lines, f"{question.anchor}--q-", media, missing) \
            if question.prompt_lines else ""
        safe = self._html(question, question.answer_lines, f"{question.anchor}--", media, missing)
        text = "\n".join(part for part in (html_text(prompt), html_text(safe)) if part)
        return Answer(html=safe, text=text, media=tuple(media), prompt_html=prompt, missing_images=tuple(missing))

    def _html(self, question: Question, lines: tuple[str, ...], id_prefix: str, media: list[Media],
              missing: list[str]) -> str:
        """Sanitised HTML of some of a question's Markdown, its images added to `media` (or to `missing`)."""
        self.markdown.reset()
        raw = self.markdown.convert(markdown_source(lines))
        local_ids = set(_ID_ATTRIBUTE.findall(raw))
        safe = sanitize(raw, id_prefix=id_prefix, local_ids=local_ids)
        return _IMG_TAG.sub(lambda match: self._image(question, match.group(0), media, missing), safe)

    def _image(self, question: Question, tag: str, media: list[Media], missing: list[str]) -> str:
        """An <img> tag pointing at the site's copy of its image; a missing image becomes its description."""
        src = _IMG_SRC.search(tag)
        if not src:
            return tag
        try:
            return tag[:src.start(2)] + self._media_url(question, src.group(2), media) + tag[src.end(2):]
        except MissingImage as error:
            missing.append(str(error))
            alt = _IMG_ALT.search(tag)
            return f'<span class="qakb-missing-image" title="image not found">[{alt.group(1) if alt else "image"}]</span>'

    def _media_url(self, question: Question, src: str, media: list[Media]) -> str:
        """Copy a relative image into the site; leave absolute and data: URLs as they are."""
        url = src.replace("&amp;", "&")
        parts = urlsplit(url)
        if parts.scheme or url.startswith(("/", "//")) or not parts.path:
            return src
        path = (self.content_dir / unquote(parts.path)).resolve()
        line = self._line_of(question, parts.path)
        bank_file = self._bank_file(question)
        if not path.is_relative_to(self.content_dir):
            raise ParseError(bank_file, line, f"image {src!r} is outside the content folder; "
                             "keep a bank's images in the content folder (or a folder inside it)")
        if not path.is_file():
            raise MissingImage(bank_file, line, f"image {src!r} not found (looked for {path}); image paths are "
                               "relative to the bank file: add it (it is shown as its description meanwhile)")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        name = f"{digest}-{path.name}"
        media.append(Media(source=path, name=name))
        return MEDIA_URL_PREFIX + name

    def _bank_file(self, question: Question) -> str:
        return shown_path(self.content_dir / question.source)

    def _line_of(self, question: Question, text: str) -> int:
        """The first line of the bank file from the question's own on that mentions `text`."""
        in_file = self._bank_lines.first_mentioning(question.source, text, question.line)
        if in_file:
            return in_file
        # A question made in memory (no file): count from its own line, the answer right below it.
        return next((question.line + offset for offset, line in
                     enumerate((*question.prompt_lines, *question.answer_lines), start=1) if text in line),
                    question.line)


class MissingImage(ParseError):
    """An image an answer names is not there: a warning, not an error (`Answer.missing_images`)."""


def _markdown() -> markdown.Markdown:
    return markdown.Markdown(extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_CONFIG)


def _attribute_filter(id_prefix: str, local_ids: set[str]):
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return id_prefix + value
        if attribute == "href" and value.startswith("#") and value[1:] in local_ids:
            return "#" + id_prefix + value[1:]
        if attribute in ("href", "src") and value.lower().startswith("data:"):
            return value if tag == "img" and attribute == "src" and IMAGE_DATA_URL.match(value) else None
        if tag == "code" and attribute == "class":
            kept = " ".join(name for name in value.split() if _LANGUAGE_CLASS.match(name))
            return kept or None
        return value
    return keep


def sanitize(html: str, id_prefix: str = "", local_ids: set[str] = frozenset()) -> str:
    """Bank HTML with everything outside the allowlist removed; ids are prefixed to stay unique on a page."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math",
                            "form", "textarea", "select", "button"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: classes for tag, classes in ALLOWED_CLASSES.items() if classes is not None},
        attribute_filter=_attribute_filter(id_prefix, local_ids),
        url_schemes=URL_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_answers(questions: list[Question], content_dir: Path) -> dict[str, Answer]:
    """Each question's answer, keyed by anchor."""
    renderer = AnswerRenderer(content_dir)
    return {question.anchor: renderer.render(question) for question in questions}


def answers_and_documents(questions: list[Question], content_dir: Path) -> tuple[dict[str, Answer], list[str]]:
    """Each question's answer (by anchor) and its indexed text (`document_text`), row-aligned with `questions`."""
    answers = render_answers(questions, content_dir)
    return answers, [document_text(question, answers[question.anchor]) for question in questions]
