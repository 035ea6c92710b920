"""What the offline copy costs a reader, in headless Chromium on localhost.

    python scripts/bench_offline.py [--site site] [--idle 30]

A fresh profile opens the home page and is left alone for --idle seconds: every byte the
server sent meanwhile (to the page, its search worker and the offline copy's service worker
alike: qakb.serve.Traffic, as the server sends them: precompressed copies where the build
wrote them), by the part of the offline copy each file belongs to (qakb.plugin.offline). Then
the copy is saved as a reader who asks for it does (for a site above offline_auto_mb, the
footer's "Save only the search index", then "Save this site for offline use"; a smaller site
saves itself): the seconds until each is saved and the bytes sent for it.

The issue's goal for a 10,000-question site: at most 30 MB in 30 s idle. The synthetic site is
scripts/bench_scale.py's (/tmp/qakb-scale/p10000/site); tests/test_offline.py checks the same
on the seed bank with the threshold lowered (and on any project QAKB_OFFLINE_PROJECT names).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from qakb.plugin import offline
from qakb.serve import Traffic, make_server

from bench_browser import CHROMIUM, CHROMIUM_FLAGS  # scripts/ is on the path

ROOT = Path(__file__).resolve().parent.parent
SAVE_TIMEOUT_MS = 1_800_000
PART_NAMES = {offline.VISIT: "what visits need", offline.SEARCH: "the rest of the search index",
              offline.SITE: "the rest of the site"}


def megabytes(count: int) -> str:
    return f"{count / 1e6:.2f} MB"


def by_part(traffic: Traffic, since: int, parts: dict[str, int]) -> dict[str, int]:
    """Bytes sent for each part's files (and for what no part lists: sw.js, 304 answers' headers)."""
    totals: dict[str, int] = {}
    for path, _, sent in traffic.responses[since:]:
        part = parts.get(path.split("?", 1)[0])
        name = PART_NAMES[part] if part is not None else "sw.js and not-modified answers"
        totals[name] = totals.get(name, 0) + sent
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--idle", type=float, default=30, help="seconds the first visit is left alone (default 30)")
    args = parser.parse_args(argv)
    if not (args.site / offline.SERVICE_WORKER).is_file():
        print(f"error: {args.site} has no built site with an offline copy; run `qakb build` first", file=sys.stderr)
        return 1
    summary = json.loads((args.site / offline.SUMMARY).read_text(encoding="utf-8"))
    parts = {"/" + url: part for url, _, _, part, _ in offline.listed(args.site)["files"]}
    traffic = Traffic()
    server = make_server(args.site, "127.0.0.1", 0, quiet=True, site_url="", traffic=traffic)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            context = browser.new_context(service_workers="allow")
            page = context.new_page()
            page.goto(url)
            saved_at = None  # a site below offline_auto_mb saves itself: when it was saved
            while (now := page.evaluate("performance.now()")) < args.idle * 1000:
                if saved_at is None and page.evaluate("window.qakbOffline && window.qakbOffline.state") == "ready":
                    saved_at = now
                page.wait_for_timeout(200)
            idle = by_part(traffic, 0, parts)
            rows.append((f"first visit, {args.idle:.0f} s idle: sent ({len(traffic.responses)} responses)",
                         megabytes(traffic.total())))
            rows += [(f"  {name}", megabytes(sent)) for name, sent in sorted(idle.items(), key=lambda item: -item[1])]
            if saved_at is not None:
                rows.append(("  the whole site saved unasked, seconds after navigation start", f"{saved_at / 1000:.1f} s"))
            for level in [] if summary["auto"] else ["search", "site"]:
                since, started = len(traffic.responses), time.monotonic()
                page.click(f".qakb-offline__button[data-action={level}]")
                page.wait_for_function(
                    "(level) => window.qakbOffline.state === 'ready' && window.qakbOffline.level === level",
                    arg=level, timeout=SAVE_TIMEOUT_MS)
                sent = sum(size for _, _, size in traffic.responses[since:])
                what = "the whole site" if level == "site" else "the search index"
                rows.append((f"saving {what} ({megabytes(summary['bytes' if level == 'site' else 'search_bytes'])} "
                             f"kept): seconds, bytes sent", f"{time.monotonic() - started:.1f} s, {megabytes(sent)}"))
            context.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    print(f"Offline copy, headless Chromium ({CHROMIUM}) on localhost, site {args.site}: {summary['files']} files, "
          f"{megabytes(summary['bytes'])} (search alone {megabytes(summary['search_bytes'])}); "
          f"saved unasked on a first visit: {'yes' if summary['auto'] else 'no (above offline_auto_mb)'}")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"| {label.ljust(width)} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
