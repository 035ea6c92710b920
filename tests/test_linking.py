"""Linking to answers and the review list, in real headless Chromium on this project's built site:
the copy-link button (clipboard, announcement, tap size), links whose anchor is not on the opened
page, and the "Needs review" badges and page."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
ANCHOR = "what-are-activation-functions"


def assert_tap_target(control) -> None:
    box = control.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, f"a phone's tap target is 44 px: {box}"


def test_copy_link_copies_the_answers_address_and_announces_it(open_page, site_server):
    browser = open_page()
    page = browser.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_server.url.rstrip("/"))
    page.goto(site_server.url + "topics/activation-functions/?from=somewhere")
    button = page.locator(f".qakb-copy-link[data-qakb-anchor='{ANCHOR}']")
    assert button.is_visible() and button.text_content() == "Copy link"
    assert page.locator(".qakb-copy-link").count() == page.locator("p.qakb-meta").count() == 3
    button.click()
    announcer = page.locator(".qakb-announcer")
    page.wait_for_function("document.querySelector('.qakb-announcer').textContent !== ''")
    assert (announcer.get_attribute("role"), announcer.get_attribute("aria-live")) == ("status", "polite")
    assert announcer.text_content() == "Link to this answer copied to the clipboard."
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{site_server.url}topics/activation-functions/#{ANCHOR}"
    assert button.text_content() == "Link copied"
    assert page.evaluate("document.activeElement.dataset.qakbAnchor") == ANCHOR, "focus stays on the button"
    page.wait_for_function(f"document.querySelector(\"[data-qakb-anchor='{ANCHOR}']\").textContent === 'Copy link'")

    # A study partner opens the copied link: the answer is in view and highlighted.
    partner = open_page().page
    partner.goto(copied)
    partner.wait_for_selector(f".qakb-highlight [id='{ANCHOR}']")
    assert partner.locator(f".qakb-highlight .qakb-copy-link[data-qakb-anchor='{ANCHOR}']").count() == 1

    page.set_viewport_size(PHONE)
    assert_tap_target(button)
    assert not browser.errors


def test_an_anchor_that_is_not_on_the_page_opens_its_question_where_it_is_now(open_page, site_server, built_site):
    """A link of another page (the home page here, or a topic the question has left) still lands on it."""
    links = json.loads((built_site / "links.json").read_text(encoding="utf-8"))
    assert links["what-is-a-cnn"] == "topics/convolutional-networks/#what-is-a-cnn"
    browser = open_page()
    page = browser.page
    for opened in (site_server.url + "#what-is-a-cnn", site_server.url + "topics/hyperparameters/#what-is-a-cnn"):
        page.goto(opened)
        page.wait_for_url(site_server.url + "topics/convolutional-networks/#what-is-a-cnn")
        page.wait_for_selector(".qakb-highlight [id='what-is-a-cnn']")
    page.goto(site_server.url + "topics/hyperparameters/#no-such-question")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("topics/hyperparameters/#no-such-question"), "an unknown anchor leaves the page alone"
    assert not browser.errors


def test_flagged_answers_are_badged_and_listed_by_topic_on_the_review_page(open_page, site_server):
    browser = open_page()
    page = browser.page
    page.goto(site_server.url)
    page.locator(".md-nav--primary a.md-nav__link", has_text="Needs review").first.click()
    page.wait_for_url(site_server.url + "review/")
    assert page.locator(".md-content h1").text_content().startswith("Needs review")
    topics = page.locator(".md-content h2").all_text_contents()
    assert len(topics) >= 5 and "Convolutional neural networks (CNNs)" in " ".join(topics), topics
    questions = page.locator(".md-content li a")
    assert questions.count() == 10
    page.locator(".md-content li a", has_text="What is a CNN?").click()
    page.wait_for_url(site_server.url + "topics/convolutional-networks/#what-is-a-cnn")
    badge = page.locator("[id='what-is-a-cnn'] + p.qakb-meta .qakb-review-badge")
    assert badge.is_visible() and badge.text_content() == "Needs review"
    assert "check it against the sources" in badge.get_attribute("title")
    assert page.locator(".md-content .admonition").count() == 0, "a badge, not a warning box"
    page.set_viewport_size(PHONE)
    assert_tap_target(badge)
    not_flagged = page.locator("[id='what-are-the-different-layers-on-cnn'] + p.qakb-meta .qakb-review-badge")
    assert not_flagged.count() == 0
    badge.click()
    page.wait_for_url(site_server.url + "review/")
    assert not browser.errors
