"""Real banks as their authors publish them, made into one site with `qakb new` and built as a user would.

The site holds the banks in ../shared/banks/ (where that folder exists: a plain clone has
none, and those tests skip) beside the test banks of every format in tests/data/banks/,
written for these tests. One build serves every test of the module.

Counts are our own, read off each file by hand:
- theory.md: 166 questions, whole-line bold paragraphs ``**Question? 👶**`` (the file has 168
  lines starting with ``**``: two, ``**Bias** is …`` and ``**Bias-variance trade-off** is …``,
  are answer text), 19 sections holding questions, 14 answered "Answer here" (no answer);
- FAQGURU: 1,611 ``### Question`` headings in 31 files, one topic per file (its ``## Title``),
  2 questions with nothing under them ("What do you like about React?" and its TypeScript twin);
- React: 416 numbered list items opening with a heading (415 ``N.  ### Question``, one
  ``154. #### Question``); the ``### Why function is preferred over object for setState()?``
  after ``**(OR)**`` inside item 31 rewords that item's question and stays in its answer; 10
  sections holding questions (the 11th, "Disclaimer", holds none); one question with no answer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from conftest import serve
from projects import ROOT, qakb

pytestmark = [pytest.mark.slow]

BANKS = ROOT.parent / "shared" / "banks"
THEORY = BANKS / "data-science-interviews" / "theory.md"
FAQGURU = BANKS / "faqguru" / "topics" / "en"
REACT = BANKS / "react-interview-questions" / "README.md"
OWN = ROOT / "tests" / "data" / "banks"
OWN_FILES = ("quiz.md", "cluster-faq.md", "records.csv", "records.tsv", "records.json", "records.yaml", "deck.apkg")
PHONE = {"width": 390, "height": 844}
needs_banks = pytest.mark.skipif(not BANKS.is_dir(), reason=f"{BANKS} is absent (a plain clone): real banks not tested")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("real") / "site-folder"
    banks = [OWN / name for name in OWN_FILES]
    if BANKS.is_dir():
        banks += [THEORY, FAQGURU, REACT]
    made = qakb(ROOT, "new", str(folder), "--title", "Real banks", *(f"--bank={path}" for path in banks))
    assert made.returncode == 0, made.stderr
    built = qakb(folder, "build", timeout=1800)
    assert built.returncode == 0, built.stderr[-4000:]
    assert "every item is in the site and the index once" in built.stderr
    return folder, made.stderr + built.stderr


@pytest.fixture(scope="module")
def metadata(site) -> list[dict]:
    folder, _ = site
    return json.loads((folder / "search_index" / "metadata.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def server(site):
    served = serve(site[0] / "site")
    yield served
    served.stop()


def per_file(metadata: list[dict]) -> Counter:
    return Counter(row["source"] for row in metadata)


def page_text(folder: Path, url: str) -> str:
    return (folder / "site" / url.split("#")[0] / "index.html").read_text(encoding="utf-8")


# --- what was read --------------------------------------------------------------------

@needs_banks
def test_every_question_of_every_real_bank_is_read(site, metadata):
    counts = per_file(metadata)
    assert counts["theory.md"] == 166
    assert counts["README.md"] == 416
    faqguru = {path.name for path in FAQGURU.glob("*.md")}
    assert len(faqguru) == 31 and sum(counts[name] for name in faqguru) == 1611
    assert counts["golang.md"] == 19 and counts["code-problems.md"] == 27


@needs_banks
def test_each_file_says_its_format_counts_and_skipped_preamble(site):
    _, output = site
    assert re.search(r"theory\.md: bold \(a bold paragraph per question\): 166 questions in 19 sections, "
                     r"14 without an answer; 32 line\(s\) skipped before the first question:", output)
    assert re.search(r"README\.md: headings \(a heading per question\): 416 questions in 10 sections, "
                     r"1 without an answer; \d+ line\(s\) skipped", output)
    assert re.search(r"golang\.md: headings \(a heading per question\): 19 questions; 19 line\(s\) skipped", output)
    assert "theory.md:3: <table>" in output  # the first skipped lines are shown
    assert "Traceback" not in output


@needs_banks
def test_sections_and_files_become_topics(site, metadata):
    folder, _ = site
    topics_of = {}
    for row in metadata:
        topics_of.setdefault(row["source"], set()).add(row["topic_title"])
    assert len(topics_of["theory.md"]) == 19 and "Gradient boosting" in topics_of["theory.md"]
    assert topics_of["README.md"] >= {"Core React", "React Router", "Old Q&A"}
    assert "Disclaimer" not in topics_of["README.md"]
    assert topics_of["golang.md"] == {"Golang"} and topics_of["c.md"] == {"C#"}  # one topic per file, its title
    nav = json.loads((folder / "build" / "pages" / "nav.json").read_text(encoding="utf-8"))
    assert len(nav) >= 19 + 10 + 31


@needs_banks
def test_unanswered_questions_are_shown_listed_and_not_practised(site, metadata):
    folder, _ = site
    by_question = {row["question"]: row for row in metadata}
    unanswered = by_question["What is the ranking problem? Which models can you use to solve them?"]
    page = page_text(folder, unanswered["url"])
    section = page[page.index(f'id="{unanswered["id"]}"'):]
    assert section.index('class="qakb-no-answer">No answer yet<') < section.index("<h2", 10)
    review = (folder / "site" / "review" / "index.html").read_text(encoding="utf-8")
    assert unanswered["id"] in review and "What do you like about React?" in review
    answers = json.loads((folder / "site" / "practice" / "answers.json").read_text(encoding="utf-8"))["answers"]
    assert unanswered["id"] not in answers
    assert len(answers) == len(metadata) - 14 - 2 - 1 - own_unanswered()


def own_unanswered() -> int:
    """Unanswered questions in the test banks of tests/data/banks (read through the same readers)."""
    from qakb.formats import read_bank_file

    return sum(read_bank_file(OWN / name).unanswered for name in OWN_FILES)


@needs_banks
def test_item_sources_and_back_to_top_lines(site, metadata):
    folder, _ = site
    row = next(row for row in metadata if row["question"] == "What is Go?")
    page = page_text(folder, row["url"])
    section = page[page.index(f'id="{row["id"]}"'):page.index("<h2", page.index(f'id="{row["id"]}"') + 10)]
    assert 'class="qakb-item-sources">Source: <a href="https://www.tutorialspoint.com/go/go_interview_questions.htm"' \
        in section
    assert "Back to top" not in section and "###### Source" not in section


# --- every format, every time ---------------------------------------------------------

def test_every_test_bank_format_is_read(site, metadata):
    counts = per_file(metadata)
    for name in OWN_FILES:
        assert counts[name] >= 4, (name, counts[name])
    _, output = site
    for name, format in (("quiz.md", "headings"), ("cluster-faq.md", "details"), ("records.csv", "csv"),
                         ("records.tsv", "tsv"), ("records.json", "json"), ("records.yaml", "yaml"),
                         ("deck.apkg", "apkg")):
        assert re.search(rf"{re.escape(name)}: {format} ", output), (name, format)


def test_multiple_choice_shows_code_and_options_with_the_question(site, metadata):
    folder, _ = site
    outputs = [row for row in metadata if row["question"].startswith("What's the output?")]
    assert len(outputs) == 2 and len({row["id"] for row in outputs}) == 2
    page = page_text(folder, outputs[0]["url"])
    start = page.index(f'id="{outputs[0]["id"]}"')
    section = page[start:page.index("<h2", start + 10)]
    prompt = section.index('class="qakb-prompt"')
    assert prompt < section.index("ReferenceError") < section.index('class="qakb-answer"')
    assert section.index('class="qakb-answer"') < section.index("Answer: B")
    assert "<details" not in section[section.index('class="qakb-answer"'):]


# --- in the browser, at phone width ---------------------------------------------------

def _phone_page(open_page, server, path: str, color_scheme: str = "light"):
    browser = open_page(color_scheme)
    page = browser.page
    page.set_viewport_size(PHONE)
    page.goto(server.url + path)
    page.wait_for_load_state("networkidle")
    return browser


def _overflow(page) -> int:
    """How far the page is wider than the phone (0: nothing scrolls sideways but code and tables)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.browser
@needs_banks
@pytest.mark.parametrize("source", ["theory.md", "README.md", "golang.md"])
def test_a_page_of_each_real_bank_reads_at_phone_width(site, metadata, server, open_page, source, tmp_path):
    pages = Counter(row["url"].split("#")[0] for row in metadata if row["source"] == source)
    browser = _phone_page(open_page, server, pages.most_common(1)[0][0])  # its fullest page
    page = browser.page
    assert _overflow(page) <= 0
    assert page.locator("h2.qakb-question, .md-content h2").count() >= 3
    assert page.locator(".qakb-answer").count() >= 1
    assert not browser.errors and not browser.dialogs
    page.screenshot(path=str(tmp_path / f"{source}.png"), full_page=False)


@pytest.mark.browser
def test_a_multiple_choice_item_reads_at_phone_width(site, metadata, server, open_page):
    row = next(row for row in metadata if row["question"].startswith("What's the output?"))
    browser = _phone_page(open_page, server, row["url"].split("#")[0], "dark")
    page = browser.page
    assert _overflow(page) <= 0
    prompt = page.locator(".qakb-prompt").first
    assert "ReferenceError" in prompt.inner_text()
    assert prompt.locator("pre code").count() == 1
    assert not browser.errors and not browser.dialogs
