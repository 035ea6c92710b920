"""The semantic search box, exercised in real headless Chromium the way a reader uses it.

Covers: paraphrase -> expected question first -> Enter lands on the answer; keyboard
only; the keyword fallback when Pyodide cannot load or the index is stale; parity with
the Python engine (`qakb ask`) on every query of tests/data/queries.yml; no request
leaves the local server; hostile bank content and queries stay text; a site hosted
under a sub-path; axe-core over the home page, a topic page and open results.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from conftest import serve
from projects import ROOT, make_project, qakb
from qakb.engine import Engine

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUERIES = yaml.safe_load((ROOT / "tests" / "data" / "queries.yml").read_text(encoding="utf-8"))
PARAPHRASE = "what happens if every neuron starts with the same weights"
SEARCH_INPUT = '[data-md-component="search-query"]'
OPTION = ".qakb-search__option"
STATUS = ".qakb-search__status"
BOOT_TIMEOUT_MS = 60_000
FALLBACK_MESSAGE = "Semantic search could not load; showing keyword results only."
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
HOSTILE_QUESTION = 'What does <script>window.__pwned = "script"</script> do to <img src=x onerror="window.__pwned = \'img\'">?'
HOSTILE_BANK = """## Hostile bank
> https://example.org/source

1. `{question}`
An answer with <script>window.__pwned = "answer"</script> and <img src="data:image/gif;base64,R0lGOD" onerror="alert('answer')">.
A [trick](javascript:alert('link')) link and <a href="javascript:alert(1)">a raw one</a>.

2. `What is gradient descent?`
An optimisation method that follows the negative gradient of the loss.
""".format(question=HOSTILE_QUESTION)


def relevant_questions(query: str, engine: Engine) -> set[str]:
    numbers = next(item["relevant"] for item in QUERIES if item["query"] == query)
    return {row["question"] for row in engine.metadata if row["number"] in numbers}


def type_query(page, text: str) -> None:
    """Put `text` in the search box, ending with a real keystroke (Material searches on key events)."""
    page.click(SEARCH_INPUT)
    page.fill(SEARCH_INPUT, text[:-1])
    page.keyboard.type(text[-1:])


def wait_for_engine(page) -> None:
    page.wait_for_function("window.qakbSearch && window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)


def option_questions(page) -> list[str]:
    return page.locator(f"{OPTION} .qakb-search__question").all_text_contents()


def wait_for_results_of(page, query: str) -> None:
    page.wait_for_function(
        """query => document.querySelector('[data-md-component="search-query"]').value === query
                    && document.querySelectorAll('.qakb-search__option').length > 0
                    && window.__qakbLastQuery === query""",
        arg=query, timeout=BOOT_TIMEOUT_MS)


def record_last_query(page) -> None:
    page.add_init_script(
        "document.addEventListener('qakb-search:results', e => { window.__qakbLastQuery = e.detail.query; });")


def search_from(page, url: str, query: str) -> None:
    """Open `url`, type `query` into the search box and wait for its semantic results."""
    record_last_query(page)
    page.goto(url)
    type_query(page, query)
    wait_for_results_of(page, query)


@pytest.fixture(scope="module")
def engine(built_site) -> Engine:
    return Engine.open(built_site / "search_index")


def test_paraphrase_finds_the_question_and_enter_opens_its_answer(open_page, site_server, engine):
    browser = open_page()
    page = browser.page
    record_last_query(page)
    page.goto(site_server.url)
    page.click(SEARCH_INPUT)
    page.wait_for_selector(f"{STATUS}:has-text('Loading semantic search')", timeout=5_000)
    page.keyboard.type(PARAPHRASE, delay=15)
    wait_for_results_of(page, PARAPHRASE)

    first = page.locator(OPTION).first
    assert first.locator(".qakb-search__question").text_content() in relevant_questions(PARAPHRASE, engine)
    assert first.locator(".qakb-search__topic").text_content()
    assert first.locator(".qakb-search__relevance-label").text_content()
    expected_url = first.get_attribute("href")
    anchor = expected_url.split("#", 1)[1]

    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == expected_url
    assert page.url.startswith(site_server.url + "topics/")
    target = page.locator(f"[id='{anchor}']")
    assert target.is_visible()
    # The opened answer is highlighted: its heading sits in the highlight box.
    assert page.locator(f".qakb-highlight [id='{anchor}']").count() == 1
    assert page.locator(".qakb-highlight .qakb-answer").count() == 1
    assert not browser.errors


def test_keyboard_alone_moves_through_results_and_opens_one(open_page, site_server):
    browser = open_page()
    page = browser.page
    record_last_query(page)
    page.goto(site_server.url)
    page.keyboard.press("/")  # Material's shortcut focuses the search box
    page.keyboard.type("vanishing gradient", delay=15)
    wait_for_results_of(page, "vanishing gradient")
    search_box = page.locator(SEARCH_INPUT)
    assert search_box.get_attribute("role") == "combobox"
    assert search_box.get_attribute("aria-expanded") == "true"

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = page.locator(OPTION).nth(1)
    assert second.get_attribute("aria-selected") == "true"
    assert search_box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    page.keyboard.press("ArrowUp")
    assert page.locator(OPTION).first.get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowDown")
    expected_url = second.get_attribute("href")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == expected_url


def test_results_follow_the_newest_query(open_page, site_server, engine):
    page = open_page().page
    record_last_query(page)
    page.goto(site_server.url)
    type_query(page, "convolution pooling layers")
    wait_engine_and_results = "window.__qakbLastQuery === 'convolution pooling layers'"
    page.wait_for_function(wait_engine_and_results, timeout=BOOT_TIMEOUT_MS)
    final = "what happens if every neuron starts with the same weights"
    for end in range(10, len(final) + 1, 7):
        page.fill(SEARCH_INPUT, final[:end])
    page.fill(SEARCH_INPUT, final)
    wait_for_results_of(page, final)
    page.wait_for_timeout(300)  # any late answer to an older query would land by now
    assert option_questions(page) == [hit.question for hit in engine.search(final, 5)]


def test_keyword_results_remain_when_pyodide_is_missing(open_page, built_site, tmp_path):
    broken_site = tmp_path / "site"
    shutil.copytree(built_site, broken_site, ignore=shutil.ignore_patterns("pyodide"))
    server = serve(broken_site)
    try:
        browser = open_page()
        page = browser.page
        page.goto(server.url)
        type_query(page, "gradient descent")
        page.wait_for_selector(f"{STATUS}:has-text('{FALLBACK_MESSAGE}')", timeout=BOOT_TIMEOUT_MS)
        page.wait_for_selector(".md-search-result__item", timeout=10_000)
        assert page.locator(OPTION).count() == 0
        assert page.locator(".md-search-result__item").count() > 0
    finally:
        server.stop()


def test_an_index_that_does_not_match_its_manifest_is_refused_in_favour_of_keyword_results(
        open_page, built_site, tmp_path):
    stale_site = tmp_path / "site"
    shutil.copytree(built_site, stale_site)
    manifest_path = stale_site / "search_index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    # A half-uploaded rebuild: the new manifest beside an older metadata file.
    manifest["files"]["metadata.json"]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    for suffix in (".gz", ".br"):
        manifest_path.with_name(manifest_path.name + suffix).unlink(missing_ok=True)
    server = serve(stale_site)
    try:
        page = open_page().page
        page.goto(server.url)
        type_query(page, "gradient descent")
        page.wait_for_selector(f"{STATUS}:has-text('{FALLBACK_MESSAGE}')", timeout=BOOT_TIMEOUT_MS)
        assert page.locator(OPTION).count() == 0
    finally:
        server.stop()


def test_browser_top5_equals_the_python_engine_on_every_query(open_page, site_server, engine):
    page = open_page().page
    page.goto(site_server.url)
    page.evaluate("window.qakbSearch.start()")
    wait_for_engine(page)
    queries = [item["query"] for item in QUERIES]
    browser_results = page.evaluate(
        "async queries => { const out = []; for (const q of queries) out.push(await window.qakbSearch.search(q, 5)); return out; }",
        queries)
    mismatches = []
    for query, hits in zip(queries, browser_results):
        expected = [(hit.id, hit.score, hit.cue, hit.snippet, hit.marks) for hit in engine.search(query, 5)]
        if [(hit["id"], hit["score"], hit["cue"], hit["snippet"], hit["marks"]) for hit in hits] != expected:
            mismatches.append(query)
    assert len(queries) >= 60
    assert not mismatches, f"browser and Python engine disagree on {len(mismatches)} queries: {mismatches[:5]}"


def test_results_show_the_passage_that_matched_and_the_page_highlights_it(open_page, site_server, engine):
    page = open_page().page
    search_from(page, site_server.url, "what does dropout do against overfitting")
    first = page.locator(OPTION).first
    assert "dropout" in first.locator(".qakb-search__question").text_content().lower()
    snippet = first.locator(".qakb-search__snippet")
    assert snippet.locator("mark").all_text_contents() == ["Dropout", "overfitting"]
    expected = engine.search("what does dropout do against overfitting", 1)[0]
    assert snippet.text_content() == expected.snippet and 12 <= len(expected.snippet.split()) <= 32
    assert first.locator(".qakb-search__relevance-label").text_content() == expected.cue != "Weak match"
    first.click()
    page.wait_for_url(f"**/#{expected.id}")
    highlighted = page.wait_for_function(
        "() => CSS.highlights.has('qakb-passage') && [...CSS.highlights.get('qakb-passage')][0].toString()",
        timeout=10_000).json_value()
    assert " ".join(highlighted.split()) == expected.snippet
    in_view = page.evaluate("""() => { const r = [...CSS.highlights.get('qakb-passage')][0].getBoundingClientRect();
                                       return r.top >= 0 && r.bottom <= innerHeight; }""")
    assert in_view


def test_an_off_topic_query_says_no_question_is_close(open_page, site_server):
    page = open_page().page
    search_from(page, site_server.url, "banana bread recipe")
    assert page.locator(STATUS).text_content() == "No close question in this bank; the nearest are weak matches."
    labels = page.locator(f"{OPTION} .qakb-search__relevance-label").all_text_contents()
    assert labels and set(labels) == {"Weak match"} and len(labels) <= 3


def test_superseded_searches_are_dropped_not_queued(open_page, site_server, engine):
    """Forty searches sent at once, as fast typing would: the worker runs only the newest few."""
    page = open_page().page
    page.goto(site_server.url)
    page.evaluate("window.qakbSearch.start()")
    wait_for_engine(page)
    words = "why does the training loss of my deep network suddenly become nan after a few epochs".split()
    queries = [" ".join(words[: 1 + i % len(words)]) + " " * (i // len(words)) for i in range(40)]
    results = page.evaluate("qs => Promise.all(qs.map(q => window.qakbSearch.search(q, 5)))", queries)
    ran = [hits for hits in results if hits is not None]
    assert results[-1] is not None and len(ran) <= 3, f"{len(ran)} of 40 searches ran"
    assert [hit["id"] for hit in results[-1]] == [hit.id for hit in engine.search(queries[-1], 5)]


@pytest.mark.parametrize("query", [
    "", "   \t ", "x" * 10_000, "why 🤖 nan 🔥🔥", "لماذا تصبح الخسارة", "\x00\x07\x1b[31m loss \u202e",
    "<img src=x onerror=alert(1)>", "' OR 1=1 --",
], ids=["empty", "whitespace", "10k", "emoji", "rtl", "control", "html", "sql"])
def test_odd_queries_return_quickly_without_error(open_page, site_server, query):
    browser = open_page()
    page = browser.page
    page.goto(site_server.url)
    page.evaluate("window.qakbSearch.start()")
    wait_for_engine(page)
    started = time.perf_counter()
    hits = page.evaluate("q => window.qakbSearch.search(q, 5)", query)
    assert time.perf_counter() - started < 2.0
    assert isinstance(hits, list) and len(hits) <= 5
    type_query(page, query)
    page.wait_for_timeout(300)
    assert not browser.errors and not browser.dialogs


def test_every_request_goes_to_the_local_server(open_page, site_server):
    browser = open_page()
    page = browser.page
    search_from(page, site_server.url, "how does dropout work")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    semantic = [url for url in browser.requests if "/assets/pyodide/" in url or "/search_index/" in url]
    assert semantic, "the semantic search made no request at all"
    foreign = [url for url in browser.requests if not url.startswith(site_server.url)]
    assert not foreign, f"requests left the local server: {foreign}"


def test_search_works_when_the_site_is_hosted_under_a_sub_path(open_page, built_site, tmp_path):
    (tmp_path / "kb").symlink_to(built_site, target_is_directory=True)
    server = serve(tmp_path, "kb/")
    try:
        browser = open_page()
        page = browser.page
        search_from(page, server.url, "what is dropout")
        assert page.locator(OPTION).first.get_attribute("href").startswith(server.url + "topics/")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.startswith(server.url + "topics/")
        assert all(url.startswith(server.url) for url in browser.requests)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    """A site of the hostile bank, built with `pyodide_snapshot: false` so that the
    search's normal (no-snapshot) start-up is exercised too."""
    project = make_project(tmp_path_factory.mktemp("hostile") / "project", {"hostile.md": HOSTILE_BANK})
    mkdocs_file = project / "mkdocs.yml"
    mkdocs_file.write_text(mkdocs_file.read_text(encoding="utf-8").replace(
        "pyodide_snapshot: true", "pyodide_snapshot: false"), encoding="utf-8")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list((project / "site" / "assets" / "pyodide").glob("qakb-snapshot-*")), "snapshot not turned off"
    return project / "site"


def test_hostile_content_renders_as_text_on_pages_and_in_results(open_page, hostile_site):
    server = serve(hostile_site)
    try:
        browser = open_page()
        page = browser.page
        search_from(page, server.url, "what does script do to img <img src=x onerror=alert('query')>")
        option = page.locator(OPTION).filter(has_text="<script>").first
        assert option.locator(".qakb-search__question").text_content() == HOSTILE_QUESTION
        assert option.locator("script, img").count() == 0
        with page.expect_navigation():
            option.click()
        page.wait_for_load_state("networkidle")
        content = page.locator(".md-content")
        assert "<script>" in content.inner_text()
        assert "onerror" in content.inner_text()
        assert content.locator("script, [onerror], a[href^='javascript:']").count() == 0
        assert content.locator(".qakb-answer img").count() == 1, "the answer's (broken) image stays, without its handler"
        assert page.evaluate("window.__pwned") is None
        assert not browser.dialogs, f"content ran as script: {browser.dialogs}"
    finally:
        server.stop()


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} - "
        + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
                    for node in violation["nodes"][:3])
        for violation in results["violations"] if violation["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(open_page, site_server, color_scheme):
    page = open_page(color_scheme).page
    record_last_query(page)
    found = {}
    page.goto(site_server.url)
    found["home"] = axe_violations(page)
    # Material's instant navigation makes every link absolute.
    page.goto(page.locator(".md-content a[href*='/topics/']").first.evaluate("link => link.href"))
    found["topic page"] = axe_violations(page)
    type_query(page, "why does my loss turn into nan")
    wait_for_results_of(page, "why does my loss turn into nan")
    page.keyboard.press("ArrowDown")
    found["open search results"] = axe_violations(page)
    assert not any(found.values()), json.dumps(found, indent=1)
