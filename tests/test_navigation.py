"""Search survives navigation: with Material's instant navigation, moving to another page
keeps the page's scripts, the search worker and its booted engine, and every page script
sets up the new page (highlight, copy-link buttons, progress and the hide switch, the
offline control).

Material only navigates instantly to pages listed in sitemap.xml, whose addresses come
from site_url (this project's says port 8000); the tests serve the site on a free port,
so the browser is given the sitemap a build with site_url at that port would have.
"""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEARCH_INPUT = '[data-md-component="search-query"]'
OPTION = ".qakb-search__option"
BOOT_TIMEOUT_MS = 60_000
_LOC = re.compile(r"<loc>(.*?)</loc>")


def sitemap_at(site_dir, site_url: str) -> str:
    """The built sitemap.xml with its addresses moved from the built site_url to `site_url`."""
    text = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
    built_root = min(_LOC.findall(text), key=len)  # the home page's address is the site's root
    return text.replace(f"<loc>{built_root}", f"<loc>{site_url}")


def open_instant(open_page, site_dir, server):
    browser = open_page()
    sitemap = sitemap_at(site_dir, server.url)
    browser.page.route("**/sitemap.xml", lambda route: route.fulfill(body=sitemap, content_type="application/xml"))
    return browser


def go(page, href: str) -> None:
    """Click the navigation's link to `href` and wait until its page is in place."""
    page.locator(f".md-nav--primary a.md-nav__link[href='{href}']").first.click()
    page.wait_for_selector(f".md-nav--primary a.md-nav__link--active[href='{href}']")


def topic_links(page) -> list[str]:
    links = page.locator(".md-nav--primary a.md-nav__link[href*='/topics/']")
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


def test_search_answers_on_the_next_page_without_starting_again(open_page, built_site, site_server):
    browser = open_instant(open_page, built_site, site_server)
    page = browser.page
    page.goto(site_server.url)
    page.evaluate("window.__sameDocument = true")
    page.click(SEARCH_INPUT)
    page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=BOOT_TIMEOUT_MS)
    page.keyboard.press("Escape")

    go(page, topic_links(page)[1])
    assert page.evaluate("window.__sameDocument") is True, "the link loaded a whole new page"
    assert page.evaluate("window.qakbSearch.engineStarts") == 1
    assert page.evaluate("window.qakbSearch.state") == "ready"
    # The new page's own scripts ran: copy-link buttons shown, the progress panel drawn.
    page.wait_for_selector(".qakb-progress__panel")
    assert page.locator(".qakb-copy-link").count() > 0
    assert page.locator(".qakb-copy-link[hidden]").count() == 0

    page.click(SEARCH_INPUT)
    page.keyboard.type("my loss becomes NaN after a few steps", delay=10)
    page.wait_for_selector(f"{OPTION} >> nth=0", timeout=10_000)
    expected = page.locator(OPTION).first.get_attribute("href")
    page.keyboard.press("Enter")  # a result opens instantly too, its answer highlighted
    page.wait_for_function("u => location.href === u", arg=expected)
    page.wait_for_selector(f".qakb-highlight [id='{expected.split('#', 1)[1]}']")
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.qakbSearch.engineStarts") == 1
    assert not browser.errors


def test_page_scripts_set_up_each_page_once(open_page, built_site, site_server):
    browser = open_instant(open_page, built_site, site_server)
    page = browser.page
    page.goto(site_server.url)
    page.evaluate("window.__sameDocument = true")
    links = topic_links(page)
    for href in [links[0], links[1], links[2], links[0]]:
        go(page, href)
        page.wait_for_selector(".qakb-progress__panel")
    assert page.evaluate("window.__sameDocument") is True
    # Back on the first topic after others: one panel, one switch, one offline control.
    assert page.locator(".qakb-progress__panel").count() == 1
    assert page.locator(".qakb-hide-toggle").count() == 1
    assert page.locator(".qakb-offline").count() == 1

    # With answers hidden, a link to one answer on this page shows it (one hashchange
    # listener, acting on this page's answers only).
    page.click(".qakb-hide-toggle")
    question = page.locator(".md-content h2[id]").nth(1).get_attribute("id")
    page.evaluate("id => { location.hash = id; }", question)
    page.wait_for_selector(".qakb-answer--revealed")
    assert page.locator(".qakb-answer--revealed").count() == 1
    page.click(".qakb-hide-toggle")
    assert not browser.errors


def test_without_instant_navigation_each_page_starts_the_search(open_page, site_server):
    """Served where its sitemap does not list it (site_url elsewhere), Material loads pages in
    full: every script still sets its page up, and the search starts on the new page."""
    browser = open_page()
    page = browser.page
    page.goto(site_server.url)
    page.evaluate("window.__sameDocument = true")
    with page.expect_navigation():
        page.locator(".md-nav--primary a.md-nav__link[href*='/topics/']").first.click()
    page.wait_for_selector(".qakb-progress__panel")
    assert page.evaluate("window.__sameDocument") is None
    hits = page.evaluate("q => window.qakbSearch.search(q, 5)", "what does dropout do")
    assert hits and page.evaluate("window.qakbSearch.engineStarts") == 1
    assert not browser.errors
