"""Measure the second page's time to a semantic result in headless Chromium on localhost.

    python scripts/bench_navigation.py [--site site] [--navigations 20] [--runs 3]

Instant: the home page is opened and the search engine started (once); then, page after
page, a topic link of the navigation is clicked and a query of tests/data/queries.yml
searched as soon as the new page is in place (Material's document$ announces it). Timed in
the page from the click to the ranked hits, and split into the page swap and the search.
Full load, for comparison (what every page costs without instant navigation, e.g. a site
served where its site_url does not point): a topic page is opened with a warm HTTP cache
and the same query searched at once; timed from navigation start to the hits.

Material navigates instantly only to pages its sitemap.xml lists, with addresses from
site_url; the site is served on a free port here, so the browser is given the sitemap a
build with site_url at that port would have. The offline copy's service worker is blocked
there, as it would download the whole site in the background of the measurement; what the
offline copy costs is scripts/bench_offline.py's.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright

from qakb.serve import make_server

from bench_browser import CHROMIUM, CHROMIUM_FLAGS, SEARCH_INPUT  # scripts/ is on the path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 120_000
_LOC = re.compile(r"<loc>(.*?)</loc>")

NAVIGATE_AND_SEARCH = """
async ({href, query}) => {
  const link = document.querySelector(`.md-nav--primary a.md-nav__link[href='${href}']`);
  let replayed = false;
  let subscription = null;
  const arrived = new Promise((resolve) => {
    subscription = window.document$.subscribe(() => {
      if (replayed) resolve(); else replayed = true;  // the first call replays the current page
    });
  });
  const clicked = performance.now();
  link.click();
  await arrived;
  subscription.unsubscribe();
  const swapped = performance.now();
  const hits = await window.qakbSearch.search(query, 5);
  const searched = performance.now();
  return {swap: swapped - clicked, search: searched - swapped, total: searched - clicked,
          starts: window.qakbSearch.engineStarts, hits: hits.length};
}
"""
FULL_LOAD_SEARCH = """
async (query) => {
  const hits = await window.qakbSearch.search(query, 5);
  return {total: performance.now(), hits: hits.length};
}
"""


def sitemap_at(site_dir: Path, site_url: str) -> str:
    text = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
    built_root = min(_LOC.findall(text), key=len)
    return text.replace(f"<loc>{built_root}", f"<loc>{site_url}")


def topic_links(page) -> list[str]:
    return page.eval_on_selector_all(".md-nav--primary a.md-nav__link[href*='/topics/']", "els => els.map(e => e.href)")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def instant_navigations(browser, url: str, site_dir: Path, queries: list[str], count: int) -> list[dict]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, service_workers="block")
    page = context.new_page()
    sitemap = sitemap_at(site_dir, url)
    page.route("**/sitemap.xml", lambda route: route.fulfill(body=sitemap, content_type="application/xml"))
    page.goto(url)
    page.click(SEARCH_INPUT)
    page.wait_for_function("window.qakbSearch.state === 'ready'", timeout=TIMEOUT_MS)
    page.keyboard.press("Escape")
    links = topic_links(page)
    figures = []
    for i in range(count):
        # Never the page already shown: Material ignores a link to the current page.
        href = links[i % len(links)] if links[i % len(links)] != page.url else links[(i + 1) % len(links)]
        figures.append(page.evaluate(NAVIGATE_AND_SEARCH, {"href": href, "query": queries[i % len(queries)]}))
        page.keyboard.press("Escape")
    context.close()
    if any(figure["starts"] != 1 for figure in figures):
        raise SystemExit("the engine started again on a later page: instant navigation did not keep it")
    return figures


def full_loads(browser, url: str, queries: list[str], runs: int) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, service_workers="block")
    page = context.new_page()
    page.goto(url)  # fills the HTTP cache: the later loads are warm
    page.evaluate("q => window.qakbSearch.search(q, 5)", queries[0])
    links = topic_links(page)
    totals = []
    for i in range(runs):
        page.goto(links[i % len(links)])
        totals.append(page.evaluate(FULL_LOAD_SEARCH, queries[i % len(queries)])["total"])
    context.close()
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--navigations", type=int, default=20, help="instant navigations to time (default 20)")
    parser.add_argument("--runs", type=int, default=3, help="full page loads to time (default 3)")
    parser.add_argument("--queries", type=Path, default=ROOT / "tests" / "data" / "queries.yml")
    args = parser.parse_args(argv)
    queries = [item["query"] for item in yaml.safe_load(args.queries.read_text(encoding="utf-8"))]

    server = make_server(args.site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            instant = instant_navigations(browser, url, args.site, queries, args.navigations)
            full = full_loads(browser, url, queries, args.runs)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()

    print(f"Second page to a semantic result, headless Chromium {CHROMIUM} on localhost ({args.site})")
    print(f"{'':38} {'median':>8} {'p90':>8} {'max':>8}")
    for name, key in (("instant: click -> hits (total)", "total"), ("  page swapped in (document$)", "swap"),
                      ("  search on the new page", "search")):
        values = [figure[key] for figure in instant]
        print(f"{name:38} {statistics.median(values):7.1f}ms {percentile(values, 0.9):7.1f}ms {max(values):7.1f}ms")
    print(f"{'full load, warm cache: start -> hits':38} {statistics.median(full):7.0f}ms "
          f"{percentile(full, 0.9):7.0f}ms {max(full):7.0f}ms")
    print(f"({len(instant)} instant navigations, the engine started once; {len(full)} full loads, each starting it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
