"""Answers: Markdown rendered as the site shows it, sanitised, and reduced to text for search."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from qakb.markup import MEDIA_URL_PREFIX, AnswerRenderer, html_text, markdown_source, render_answers, sanitize
from qakb.parse import ParseError, assign_anchors, parse_content, parse_text
from projects import SEED


def render_one(answer: str, content_dir: Path = Path("."), question: str = "Q?"):
    source = parse_text(f"1. `{question}`\n{answer}\n", "bank.md")
    anchored, _ = assign_anchors(list(source.questions))
    return AnswerRenderer(content_dir).render(anchored[0])


@pytest.fixture(scope="module")
def seed_answers():
    bank = parse_content(SEED.parent)
    answers = render_answers(list(bank.questions), SEED.parent)
    return {question.number: answers[question.anchor] for question in bank.questions}


def list_items(html: str) -> list[list[str]]:
    return [re.findall(r"<li>(.*?)</li>", block, re.S) for block in re.findall(r"<ul>(.*?)</ul>", html, re.S)]


@pytest.mark.parametrize("number, expected_list", [
    (1, ["ReLU", "Softmax", "Sigmoid", "Linear", "Tanh"]),
    (37, ["Dropout", "Pooling", "Data augmentation", "Early stopping"]),
    (6, ["Initialize biases and weights for the network",
         "Send input data through the network (the input layer)",
         "Calculate the difference (the error) between expected and predicted values",
         "Change values in neurons to minimize the loss function",
         "Multiple iterations to determine the best weights for efficient working"]),
    (24, ["alternate weight initialization schemes,", "unsupervised pre-training,", "layer-wise training, and"]),
])
def test_the_embedded_banks_one_per_line_answers_keep_their_lists(seed_answers, number, expected_list):
    assert expected_list in list_items(seed_answers[number].html)


def test_the_embedded_banks_prose_lines_stay_separate_paragraphs(seed_answers):
    assert seed_answers[2].html.count("<p>") == 2 and "<ul>" not in seed_answers[2].html
    # Item 1: three bullets, then a paragraph (not swallowed into the last bullet), then the list.
    assert re.fullmatch(r"<ul>.*</ul>\s*<p>Activation functions are entities.*</p>\s*<ul>.*</ul>",
                        seed_answers[1].html, re.S)


def test_markdown_features_render():
    answer = render_one(
        "Fit it in **three** _steps_ with `fit()`, see [the docs](https://example.org/docs):\n"
        "1. choose features\n"
        "2. minimise the error\n"
        "  - with gradient descent\n"
        "    - or in closed form\n"
        "3. check residuals\n\n"
        "| penalty | effect |\n|:--|--:|\n| L1 | sparse |\n\n"
        "> A quoted remark.\n\n"
        "The estimator is $\\hat\\beta = (X^TX)^{-1}X^Ty$ and\n\n$$\nR^2 = 1 - \\frac{SS_{res}}{SS_{tot}}\n$$\n\n"
        "```python\nfrom sklearn.linear_model import Ridge\n\nmodel = Ridge(alpha=1.0)\n```\n\n"
        "x<sub>i</sub> and R<sup>2</sup><br>done[^1].\n\n[^1]: A footnote.")
    html = answer.html
    assert "<strong>three</strong>" in html and "<em>steps</em>" in html and "<code>fit()</code>" in html
    assert re.search(r'<a href="https://example.org/docs"[^>]*>the docs</a>', html)
    assert re.search(r"<ol>\s*<li>choose features</li>", html)
    assert re.search(r"<li>minimise the error<ul>\s*<li>with gradient descent<ul>\s*<li>or in closed form</li>", html)
    assert '<th style="text-align:left">penalty</th>' in html and "<td>L1</td>" not in html
    assert "<blockquote>" in html
    assert '<span class="arithmatex">\\(\\hat\\beta = (X^TX)^{-1}X^Ty\\)</span>' in html
    assert '<div class="arithmatex">\\[' in html
    assert re.search(r'<div class="highlight"><pre><span></span><code[^>]*>'
                     r'<span class="kn">from</span>', html)
    assert "\n\n" in html.split("<pre>")[1].split("</pre>")[0], "blank lines inside code are kept"
    assert "<sub>i</sub>" in html and "<sup>2</sup>" in html and "<br>" in html
    assert 'id="q--fn:' in html and 'href="#q--fn:' in html, "footnote ids are prefixed by the question's anchor"
    text = answer.text
    assert "**" not in text and "<" not in text and "```" not in text and "|" not in text
    assert "Fit it in three steps with fit(), see the docs:" in text
    assert "from sklearn.linear_model import Ridge" in text
    assert "A footnote." in text and "↩" not in text


HOSTILE = """Fine text.
<script>alert('xss-script')</script>
<img src="data:image/gif;base64,broken" onerror="alert('xss-img')">
<a href="javascript:alert('xss-link')">click me</a> [md link](javascript:alert('xss-md'))
<iframe src="https://evil.example/"></iframe>
<style>body{display:none}</style>
<form action="https://evil.example/"><input name="q"><button>go</button></form>
<div onmouseover="alert('xss-div')" class="md-header" style="position:fixed;top:0">hover text</div>
<svg onload="alert('xss-svg')"><script>alert('xss-svg2')</script></svg>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>
<object data="x.swf"></object><embed src="x.swf"><meta http-equiv="refresh" content="0;url=https://evil.example/">
<p id="sources">clashing id</p>"""


def test_hostile_html_is_removed_and_allowed_html_kept():
    answer = render_one(HOSTILE)
    html = answer.html.lower()
    for banned in ("<script", "<iframe", "<style", "<form", "<input", "<button", "<svg", "<object", "<embed", "<meta",
                   "onerror", "onload", "onmouseover", "javascript:", "data:text", "position:fixed", "md-header",
                   "alert("):
        assert banned not in html, banned
    assert "hover text" in answer.html and "click me" in answer.html and "fine text." in html
    assert '<img src="data:image/gif;base64,broken">' in answer.html, "image data: URLs stay"
    assert 'id="q--sources"' in answer.html, "a bank's ids cannot take the page's own"
    assert "alert" not in answer.text and "display:none" not in answer.text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    ["<script>", "</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "<", ">", "\"", "'",
     "`", "```", "$", "$$", "\n", " ", "a", "1. ", "- ", "|", "[", "](", ")", "javascript:", "on", "load=",
     "<svg/onload=alert(1)>", "<style>", "&", "#", "*", "_", "data:text/html,", "<iframe>", "    "]),
    max_size=60).map("".join))
def test_no_input_yields_script_or_handlers(text):
    if not text.strip():
        return
    try:
        answer = render_one(text)
    except ParseError:
        return  # e.g. a relative image that does not exist: an error, never a page
    html = answer.html.lower()
    assert "<script" not in html and "<iframe" not in html and "<svg" not in html and "<style" not in html
    # The attributes a browser sees: no handler, no script URL (entities decoded, as the browser
    # does). Text inside a quoted value ("onerror=" in an escaped href) is no attribute.
    for tag, name, value in _attributes(answer.html):
        assert not name.lower().startswith("on"), (tag, name, value)
        if name.lower() in ("href", "src"):
            assert not re.match(r"\s*(javascript|data:text)", value or "", re.I), (tag, name, value)


def _attributes(html: str) -> list[tuple[str, str, str | None]]:
    from html.parser import HTMLParser

    found = []

    class Attributes(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend((tag, name, value) for name, value in attrs)

    parser = Attributes(convert_charrefs=True)
    parser.feed(html)
    parser.close()
    return found


def test_relative_images_are_copied_and_missing_ones_are_warnings(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "curve.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    answer = render_one("The curve:\n\n![Bias and variance](images/curve.png)", tmp_path)
    assert len(answer.media) == 1 and answer.media[0].source == tmp_path / "images" / "curve.png"
    assert f'src="{MEDIA_URL_PREFIX}{answer.media[0].name}"' in answer.html
    assert answer.media[0].name.endswith("-curve.png")
    assert "Bias and variance" in answer.text

    # A bank published without its images folder still builds: each missing image is a warning
    # at its line, and the page shows the image's description in its place.
    missing = render_one("Intro line.\n\n![missing chart](images/nope.png)", tmp_path)
    (warning,) = missing.missing_images
    assert warning.startswith(f"{tmp_path / 'bank.md'}:4: image 'images/nope.png' not found")
    assert '<span class="qakb-missing-image" title="image not found">[missing chart]</span>' in missing.html
    assert "<img" not in missing.html and missing.media == ()

    with pytest.raises(ParseError, match="outside the content folder"):
        render_one("![secret](../../etc/passwd)", tmp_path)

    remote = render_one("![remote](https://example.org/x.png)", tmp_path)
    assert 'src="https://example.org/x.png"' in remote.html and remote.media == ()


def test_hard_wrapped_prose_joins_but_short_lines_become_a_list():
    wrapped = render_one(
        "Regularisation adds a penalty on the size of the coefficients to the loss\n"
        "function, which trades a little bias for a large drop in variance when the\n"
        "features are many or strongly correlated with each other.")
    assert wrapped.html.count("<p>") == 1 and "<ul>" not in wrapped.html
    listed = render_one("Options:\n\nBatch gradient descent\nStochastic gradient descent")
    assert list_items(listed.html) == [["Batch gradient descent", "Stochastic gradient descent"]]


def test_loose_lists_keep_their_continuations_and_nesting_across_blank_lines():
    html = render_one("Steps:\n\n1. First step\n\n   More about it.\n\n2. Second\n  - sub a\n\n  - sub b\n\n"
                      "    ```python\n    x = 1\n    ```\n\nAfter the list.").html
    assert re.search(r"<li>\s*<p>First step</p>\s*<p>More about it.</p>\s*</li>", html)
    assert re.search(r"<p>Second</p>\s*<ul>\s*<li>\s*<p>sub a</p>\s*</li>\s*<li>\s*<p>sub b</p>", html)
    assert html.count("<ol>") == 1 and html.rstrip().endswith("<p>After the list.</p>")


def test_markdown_source_keeps_code_and_math_blocks_intact():
    source = markdown_source(["Code:", "```", "a", "", "- not a list", "```", "$$", "x", "$$", "After."])
    assert "```\na\n\n- not a list\n```" in source and "$$\nx\n$$" in source


def test_html_text_keeps_blocks_on_lines():
    assert html_text("<p>One <b>two</b></p><ul><li>three</li><li>four</li></ul>") == "One two\nthree\nfour"
    assert sanitize('<a href="#x" onclick="y">z</a>', "p--", {"x"}) == (
        '<a href="#p--x" rel="noopener noreferrer nofollow">z</a>')


def test_a_fence_whose_info_goes_on_after_the_language_is_code():
    """```jsx harmony (as the React bank writes it) is a jsx block, as GitHub shows it; its markup is not HTML."""
    answer = render_one('```jsx harmony\n<img src="images/{this.props.image}">\n```\n\nAfter.')
    assert '<div class="highlight">' in answer.html and "<img" not in answer.html
    assert answer.missing_images == () and "After." in answer.text


def test_details_content_is_markdown_as_github_shows_it():
    """A deep-dive <details> in an answer: its summary stays, its content is Markdown (not raw text)."""
    answer = render_one("Intro.\n\n<details>\n    <summary><b>See deep-dive answer</b></summary>\n"
                        "    The evolution:\n\n**2010: Origins**\n- one\n- two\n</details>\n\nAfter.")
    assert "<summary><b>See deep-dive answer</b></summary>" in answer.html
    assert "<p>The evolution:</p>" in answer.html and "<strong>2010: Origins</strong>" in answer.html
    assert "<li>one</li>" in answer.html and "**" not in answer.html


def test_after_a_blank_line_a_line_left_of_the_items_content_ends_the_list():
    """As in CommonMark: '**Component:**' under a list, indented less than its items' text, is a paragraph."""
    answer = render_one("  - one\n    more of one\n\n  **Component:**\n  - A function\n  - Or a class")
    assert "<p><strong>Component:</strong></p>" in answer.html
    assert answer.html.count("<ul>") == 2
