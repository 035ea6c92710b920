"""Measure the in-browser semantic search in headless Chromium on localhost; print a table.

    python scripts/bench_browser.py [--site site] [--runs 3] [--queries tests/data/queries.yml]

Cold start: a fresh profile (empty cache) loads the home page, the search box is
focused and a query typed at once; measured from navigation start to the first
semantic result on screen. Warm latency: once the engine is up, 50 real queries
through the same worker path the search box uses (query sent -> ranked hits back),
and through the box itself (keystroke -> results drawn, which includes the widget's
throttle). Typing: long (30-word) questions typed with real key events at machine
speed; for every keystroke, the time until results for that text or a newer one are
drawn (superseded searches are dropped, so nothing queues). Bytes: what the semantic
search downloads beyond the Pyodide core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from playwright.sync_api import sync_playwright

from qakb.serve import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SEARCH_INPUT = '[data-md-component="search-query"]'
COLD_QUERY = "why does my loss turn into NaN"
WARM_QUERIES = 50
TIMEOUT_MS = 120_000
RECORD_RESULTS = """
document.addEventListener('qakb-search:results', event => {
  window.__qakbResults = window.__qakbResults || [];
  const entry = {query: event.detail.query, at: performance.now()};
  window.__qakbResults.push(entry);
  requestAnimationFrame(() => { entry.drawn = performance.now(); });
});
document.addEventListener('input', event => {
  if (!event.target.matches('[data-md-component="search-query"]')) return;
  window.__qakbKeys = window.__qakbKeys || [];
  window.__qakbKeys.push({value: event.target.value, at: performance.now()});
}, true);
"""
# Thirty-word questions, as someone pasting or typing a whole interview question would.
LONG_QUERIES = [
    "in my last interview they asked why a deep network trained with sigmoid activations stops learning in the "
    "first layers and what I would change in the architecture to fix it",
    "we trained a convolutional model on a small image dataset and the validation accuracy is much worse than the "
    "training accuracy so which regularisation methods would you try first",
    "can you explain step by step what happens when an input vector goes through the network and how the error "
    "is pushed back to update every weight",
    "my recurrent network forgets information from the beginning of long sentences so how do gates in an LSTM "
    "help it keep the useful parts for many steps",
    "what is the practical difference between batch gradient descent and mini batch training when the dataset does "
    "not fit in memory and how do I pick the size",
    "why should the weights of a neural network not all start at zero and what initialisation schemes are used "
    "instead for networks with relu units",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def byte_category(path: str) -> str:
    if "/assets/pyodide/qakb-snapshot-" in path:  # made for this engine by the site build
        return "semantic search"
    if "/assets/pyodide/" in path:
        return "pyodide core"
    if "/search_index/" in path or "/assets/qakb/" in path:
        return "semantic search"
    return "page"


def cold_start(browser, url: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    downloaded: dict[str, int] = {}

    def count(response) -> None:
        downloaded[urlsplit(response.url).path] = int(response.headers.get("content-length", 0))

    page.on("response", count)
    page.add_init_script(RECORD_RESULTS)
    page.goto(url)
    page.click(SEARCH_INPUT)
    page.keyboard.type(COLD_QUERY)
    page.wait_for_function("window.__qakbResults && window.__qakbResults.length > 0", timeout=TIMEOUT_MS)
    first_result_ms = page.evaluate("window.__qakbResults[0].at")
    boot_ms = page.evaluate("window.qakbSearch.start().then(r => r.bootMs)")
    page.wait_for_load_state("networkidle")
    return {"context": context, "page": page, "first_result_ms": first_result_ms, "boot_ms": boot_ms,
            "downloaded": downloaded}


def warm_latencies(page, queries: list[str]) -> tuple[list[float], list[float]]:
    engine_ms = page.evaluate(
        """async queries => {
             const times = [];
             for (const query of queries) {
               const started = performance.now();
               await window.qakbSearch.search(query, 5);
               times.push(performance.now() - started);
             }
             return times;
           }""", queries)
    typing_ms = []
    for query in queries:
        typing_ms.append(page.evaluate(
            """query => new Promise(resolve => {
                 const input = document.querySelector('[data-md-component="search-query"]');
                 const started = performance.now();
                 document.addEventListener('qakb-search:results', function done(event) {
                   if (event.detail.query !== query) return;
                   document.removeEventListener('qakb-search:results', done);
                   requestAnimationFrame(() => resolve(performance.now() - started));
                 });
                 input.value = query;
                 input.dispatchEvent(new Event('input', {bubbles: true}));
               })""", query))
    return engine_ms, typing_ms


def typing_latencies(page, queries: list[str]) -> tuple[list[float], list[float]]:
    """Per keystroke: ms until results for its text or a newer one were drawn; and per query, last key -> its results."""
    per_key, final = [], []
    for query in queries:
        page.fill(SEARCH_INPUT, "")
        page.evaluate("window.__qakbKeys = []; window.__qakbResults = [];")
        page.keyboard.type(query)
        page.wait_for_function(
            "q => (window.__qakbResults || []).some(r => r.query === q && r.drawn)", arg=query, timeout=TIMEOUT_MS)
        keys = page.evaluate("window.__qakbKeys")
        drawn = [r for r in page.evaluate("window.__qakbResults") if r.get("drawn")]
        order = {key["value"]: index for index, key in enumerate(keys)}
        for index, key in enumerate(keys):
            later = [r["drawn"] for r in drawn if order.get(r["query"], -1) >= index and r["drawn"] >= key["at"]]
            if later:
                per_key.append(min(later) - key["at"])
        final.append(next(r["drawn"] for r in drawn if r["query"] == query) - keys[-1]["at"])
    return per_key, final


def size(count: int) -> str:
    return f"{count / 1e6:.2f} MB" if count >= 100_000 else f"{count / 1e3:.1f} kB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--runs", type=int, default=3, help="cold starts to take the median of (default 3)")
    parser.add_argument("--queries", type=Path, default=ROOT / "tests" / "data" / "queries.yml")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"error: {args.site} has no built site; run `make build` first", file=sys.stderr)
        return 1
    queries = [item["query"] for item in yaml.safe_load(args.queries.read_text(encoding="utf-8"))][:WARM_QUERIES]

    server = make_server(args.site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            colds = []
            for _ in range(args.runs):
                if colds:
                    colds[-1]["context"].close()
                colds.append(cold_start(browser, url))
            engine_ms, typing_ms = warm_latencies(colds[-1]["page"], queries)
            long_engine_ms, _ = warm_latencies(colds[-1]["page"], LONG_QUERIES)
            per_key_ms, last_key_ms = typing_latencies(colds[-1]["page"], LONG_QUERIES)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()

    downloaded = colds[-1]["downloaded"]
    by_category: dict[str, int] = {}
    for path, count in downloaded.items():
        by_category[byte_category(path)] = by_category.get(byte_category(path), 0) + count
    semantic_files = sorted(((count, path) for path, count in downloaded.items()
                             if byte_category(path) == "semantic search"), reverse=True)
    figures = {
        "cold_start_ms": statistics.median(run["first_result_ms"] for run in colds),
        "cold_start_runs_ms": [run["first_result_ms"] for run in colds],
        "worker_boot_ms": statistics.median(run["boot_ms"] for run in colds),
        "warm_engine_p50_ms": percentile(engine_ms, 0.5),
        "warm_engine_p95_ms": percentile(engine_ms, 0.95),
        "warm_typing_p50_ms": percentile(typing_ms, 0.5),
        "warm_typing_p95_ms": percentile(typing_ms, 0.95),
        "long_engine_p50_ms": percentile(long_engine_ms, 0.5),
        "long_engine_max_ms": max(long_engine_ms),
        "typing_30_words_per_key_p50_ms": percentile(per_key_ms, 0.5),
        "typing_30_words_per_key_p95_ms": percentile(per_key_ms, 0.95),
        "typing_30_words_last_key_max_ms": max(last_key_ms),
        "typing_keystrokes": len(per_key_ms),
        "semantic_bytes": by_category.get("semantic search", 0),
        "pyodide_core_bytes": by_category.get("pyodide core", 0),
        "semantic_files": {path: count for count, path in semantic_files},
        "queries": len(queries),
    }

    rows = [
        (f"cold start: page load -> first semantic result (median of {args.runs}, fresh profile)",
         f"{figures['cold_start_ms'] / 1000:.2f} s"),
        ("  of which worker boot: Pyodide + engine + index, from first focus",
         f"{figures['worker_boot_ms'] / 1000:.2f} s"),
        (f"warm query latency p50 / p95 ({len(queries)} queries; query -> ranked hits)",
         f"{figures['warm_engine_p50_ms']:.1f} / {figures['warm_engine_p95_ms']:.1f} ms"),
        ("warm keystroke -> results drawn p50 / p95 (includes the 60 ms throttle)",
         f"{figures['warm_typing_p50_ms']:.1f} / {figures['warm_typing_p95_ms']:.1f} ms"),
        (f"30-word queries: query -> ranked hits p50 / max ({len(LONG_QUERIES)} queries)",
         f"{figures['long_engine_p50_ms']:.1f} / {figures['long_engine_max_ms']:.1f} ms"),
        (f"typing 30-word queries at machine speed: keystroke -> results drawn p50 / p95 "
         f"({figures['typing_keystrokes']} keys)",
         f"{figures['typing_30_words_per_key_p50_ms']:.0f} / {figures['typing_30_words_per_key_p95_ms']:.0f} ms"),
        ("  last keystroke -> its results drawn, worst of the queries",
         f"{figures['typing_30_words_last_key_max_ms']:.0f} ms"),
        ("bytes for semantic search beyond the Pyodide core", size(figures["semantic_bytes"])),
        *((f"  {Path(path).name}", size(count)) for count, path in semantic_files),
        ("Pyodide core (interpreter, wasm, stdlib, lock file)", size(figures["pyodide_core_bytes"])),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"Browser search benchmark: headless Chromium ({CHROMIUM}), {url}, site {args.site}")
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label.ljust(width)} | {value} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
