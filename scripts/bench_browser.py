"""Measure the in-browser semantic search in headless Chromium on localhost; print tables.

    python scripts/bench_browser.py [--site site] [--runs 3] [--queries tests/data/queries.yml] [--no-tradeoffs]

First visit. Cold: a fresh profile (empty HTTP and code cache) loads the home page, the
search box is clicked and a query typed at once; measured from navigation start to the
first semantic result on screen. Warm: the same profile opens the page again (HTTP cache
and V8's code cache filled) and does the same. The worker's boot phases (ms from its
start: interpreter, engine package, index) come from its `ready` message. Bytes: every
file the visit fetched, as a static host sends it: raw, and as its precompressed .gz / .br
copy where the build wrote one (qakb.plugin.compress), split into Pyodide core (the
interpreter, wasm, standard library, lock file) and what the search adds beyond it.

Trade-offs (unless --no-tradeoffs): the same figures for copies of the site that differ
in one option (qakb.plugin.site_variants): with the Pyodide memory snapshot, with the
whole standard library instead of the trimmed one, and with search_start: focus instead
of idle, each also measured as a reader who starts typing 3 s after the page loaded
(keystroke -> first result).

Against Pyodide itself (--ratio-runs N, default 5; 0 skips it): in one run, side by side, (a) a
blank page of the same origin that only imports the site's own Pyodide (assets/pyodide/) and
calls loadPyodide(): navigation start -> ready; (b) the home page, with a reader who clicks the
search box and types as soon as it shows: navigation start -> first semantic result. Each cold (a
fresh profile) and warm (the same profile again: HTTP cache, V8's code cache, and for the site its
saved offline copy). The two alternate which goes first; the ratio b / a of the medians is the
figure to hold (goal: 1.15). The blank page is also timed with the trimmed standard library the
site boots with (loadPyodide's stdLibURL), the fastest Pyodide start these files allow.
--ratio-variants adds the same for copies with search_start: eager and with pyodide_snapshot: true.

Warm latency: once the engine is up, 50 real queries through the same worker path the
search box uses (query sent -> ranked hits back), and through the box itself (keystroke ->
results drawn, which includes the widget's throttle). Typing: long (30-word) questions
typed with real key events at machine speed; for every keystroke, the time until results
for that text or a newer one are drawn (superseded searches are dropped, so nothing queues).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from playwright.sync_api import sync_playwright

from qakb.plugin.search_assets import PYODIDE_BOOT_FILES, SITE_RUNTIME_DIR
from qakb.plugin.site_variants import add_snapshot, copy_site, patch_search_config, search_config
from qakb.serve import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SEARCH_INPUT = '[data-md-component="search-query"]'
COLD_QUERY = "why does my loss turn into NaN"
# Puts `query` in the search box as typing would and resolves to the ms until its results are drawn.
TYPE_AND_WAIT = """query => new Promise(resolve => {
  const input = document.querySelector('[data-md-component="search-query"]');
  const started = performance.now();
  document.addEventListener('qakb-search:results', function done(event) {
    if (event.detail.query !== query) return;
    document.removeEventListener('qakb-search:results', done);
    requestAnimationFrame(() => resolve(performance.now() - started));
  });
  input.value = query;
  input.dispatchEvent(new Event('input', {bubbles: true}));
})"""
READER_PAUSE_MS = 3000  # a reader who looks at the page this long before typing
CORE_FILES = {SITE_RUNTIME_DIR + name for name in (*PYODIDE_BOOT_FILES, "pyodide-lock.json")}
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


def byte_category(site_path: str) -> str:
    if site_path in CORE_FILES or site_path.startswith(SITE_RUNTIME_DIR + "python_stdlib-"):  # trimmed stdlib
        return "core"
    if site_path.startswith((SITE_RUNTIME_DIR, "search_index/", "assets/qakb/")):
        return "search"  # the engine's wheel, the snapshot, the index, the widget
    return "page"


def visit(context, url: str, pause_ms: int = 0) -> dict:
    """Open url in this browser context, type a query (after pause_ms), wait for the first semantic result."""
    page = context.new_page()
    fetched: set[str] = set()

    # The page's and its search worker's requests, wherever answered from (network, HTTP
    # cache, the offline service worker), but not the service worker's own (its offline copy).
    def record(request) -> None:
        if request.service_worker is None:
            fetched.add(urlsplit(request.url).path)

    context.on("request", record)
    page.add_init_script(RECORD_RESULTS)
    page.goto(url)
    if pause_ms:
        page.wait_for_timeout(pause_ms)
    typed_at = page.evaluate("performance.now()")
    page.click(SEARCH_INPUT)
    page.keyboard.type(COLD_QUERY)
    page.wait_for_function("window.__qakbResults && window.__qakbResults.length > 0", timeout=TIMEOUT_MS)
    first_result_ms = page.evaluate("window.__qakbResults[0].at")
    booted = page.evaluate("window.qakbSearch.start()")
    page.wait_for_load_state("networkidle")
    context.remove_listener("request", record)
    return {"page": page, "first_result_ms": first_result_ms, "after_typing_ms": first_result_ms - typed_at,
            "boot_ms": booted["bootMs"], "phases": booted.get("phases") or {}, "fetched": fetched}


def first_visit(browser, url: str, runs: int, pause_ms: int = 0) -> dict:
    """Median cold (fresh profile) and warm (same profile, second visit) figures over `runs` profiles."""
    colds, warms = [], []
    for _ in range(runs):
        context = browser.new_context()
        colds.append(visit(context, url, pause_ms))
        # A returning reader comes back later: the first visit's offline copy is saved by then
        # (its service worker active) and its page is gone.
        cold_page = colds[-1]["page"]
        cold_page.evaluate("'serviceWorker' in navigator ? navigator.serviceWorker.ready.then(() => true) : true")
        cold_page.close()
        warms.append(visit(context, url, pause_ms))
        context.close()
    phases = sorted({name for run in colds for name in run["phases"]}, key=lambda name: colds[-1]["phases"].get(name, 0))
    return {
        "cold_ms": statistics.median(run["first_result_ms"] for run in colds),
        "cold_runs_ms": [round(run["first_result_ms"]) for run in colds],
        "warm_ms": statistics.median(run["first_result_ms"] for run in warms),
        "warm_runs_ms": [round(run["first_result_ms"]) for run in warms],
        "cold_after_typing_ms": statistics.median(run["after_typing_ms"] for run in colds),
        "warm_after_typing_ms": statistics.median(run["after_typing_ms"] for run in warms),
        "cold_boot_ms": statistics.median(run["boot_ms"] for run in colds),
        "warm_boot_ms": statistics.median(run["boot_ms"] for run in warms),
        "cold_phases_ms": {name: statistics.median(run["phases"].get(name, 0) for run in colds) for name in phases},
        "warm_phases_ms": {name: statistics.median(run["phases"].get(name, 0) for run in warms) for name in phases},
        "fetched": colds[-1]["fetched"],
    }


# A page of the site's origin that starts the site's own Pyodide and nothing else (routed by the
# benchmark, never written into the site): {stdlib} is "" or the stdLibURL option.
BLANK_PATH = "__qakb_bench_blank_pyodide.html"
BLANK_PAGE = """<!doctype html><meta charset="utf-8"><title>Pyodide alone</title>
<script type="module">
const {{ loadPyodide }} = await import("./{runtime}pyodide.mjs");
await loadPyodide({{ indexURL: new URL("./{runtime}", location.href).href{stdlib} }});
window.__pyodideReady = performance.now();
</script>"""


def blank_pyodide(context, url: str, stdlib: str | None = None) -> float:
    """ms from navigation start until a blank page of the site's origin has started Pyodide."""
    option = f', stdLibURL: new URL("./{stdlib}", location.href).href' if stdlib else ""
    body = BLANK_PAGE.format(runtime=SITE_RUNTIME_DIR, stdlib=option)
    page = context.new_page()
    page.route(url + BLANK_PATH, lambda route: route.fulfill(status=200, content_type="text/html", body=body))
    page.goto(url + BLANK_PATH, wait_until="commit")
    page.wait_for_function("window.__pyodideReady", timeout=TIMEOUT_MS)
    ready = page.evaluate("window.__pyodideReady")
    page.close()
    return ready


def typing_at_once(context, url: str) -> float:
    """ms from navigation start to the first semantic result, for a reader who types as soon as the box shows."""
    page = context.new_page()
    page.add_init_script(RECORD_RESULTS)
    page.goto(url, wait_until="commit")
    page.click(SEARCH_INPUT, timeout=TIMEOUT_MS)
    page.keyboard.type(COLD_QUERY)
    page.wait_for_function("window.__qakbResults && window.__qakbResults.length > 0", timeout=TIMEOUT_MS)
    first = page.evaluate("window.__qakbResults[0].at")
    # A returning reader comes back once the first visit's offline copy (if it saves one) is saved.
    page.wait_for_function("!window.qakbOffline || !['unknown', 'saving'].includes(window.qakbOffline.state)",
                           timeout=TIMEOUT_MS)
    page.close()
    return first


def against_pyodide(browser, url: str, site: Path, runs: int) -> dict:
    """Medians of (a) Pyodide alone on a blank page and (b) the site's first result, cold and warm, side by side."""
    stdlib = search_config(site).get("stdlib")
    times: dict[str, list[float]] = {}

    def record(name: str, measure) -> None:
        context = browser.new_context()
        times.setdefault(f"{name} cold", []).append(measure(context))
        times.setdefault(f"{name} warm", []).append(measure(context))
        context.close()

    for run in range(runs):
        order = [("pyodide", lambda context: blank_pyodide(context, url)),
                 ("site", lambda context: typing_at_once(context, url))]
        if stdlib:
            order.append(("pyodide trimmed", lambda context: blank_pyodide(context, url, stdlib)))
        for name, measure in order if run % 2 == 0 else order[::-1]:
            record(name, measure)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"medians_ms": medians, "runs_ms": {name: [round(value) for value in values] for name, values in times.items()},
            "ratio_cold": medians["site cold"] / medians["pyodide cold"],
            "ratio_warm": medians["site warm"] / medians["pyodide warm"]}


def ratio_variants(browser, site: Path, runs: int) -> list[tuple[str, dict]]:
    """against_pyodide for copies of the site with search_start: eager and with pyodide_snapshot: true."""
    found = []
    with tempfile.TemporaryDirectory(prefix="qakb-bench-") as scratch:
        eager_site = copy_site(site, Path(scratch) / "eager")
        patch_search_config(eager_site, start="eager")
        snapshot_site = copy_site(site, Path(scratch) / "snapshot")
        add_snapshot(snapshot_site, ROOT / ".cache")
        for variant, variant_site in (("search_start: eager (the worker starts in the page's head)", eager_site),
                                      ("pyodide_snapshot: true (Pyodide heap with the engine imported)", snapshot_site)):
            server, url = serving(variant_site)
            try:
                found.append((variant, against_pyodide(browser, url, variant_site, runs)))
            finally:
                server.shutdown()
                server.server_close()
    return found


def bytes_as_sent(site: Path, site_prefix: str, fetched: set[str]) -> dict:
    """{category: {"raw", "gz", "br"}} and per-file rows, for the files the visit requested, as a
    static host sends them: plain, or the precompressed copy for a browser accepting gzip / br."""
    totals: dict[str, dict[str, int]] = {}
    files = []
    for url_path in sorted(fetched):
        site_path = url_path[len(site_prefix):]
        path = site / (site_path + "index.html" if site_path.endswith("/") or not site_path else site_path)
        if not path.is_file():
            continue
        raw = path.stat().st_size
        sizes = {"raw": raw}
        for suffix in ("gz", "br"):
            copy = path.with_name(f"{path.name}.{suffix}")
            sizes[suffix] = copy.stat().st_size if copy.is_file() else raw
        category = byte_category(site_path)
        for key, value in sizes.items():
            totals.setdefault(category, {}).setdefault(key, 0)
            totals[category][key] += value
        files.append((category, site_path, sizes))
    return {"totals": totals, "files": sorted(files, key=lambda row: -row[2]["raw"])}


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
        typing_ms.append(page.evaluate(TYPE_AND_WAIT, query))
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


def serving(site: Path):
    server = make_server(site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d/" % server.server_address[1]


def mb(count: int) -> str:
    return f"{count / 1e6:.2f} MB"


def sizes(totals: dict, category: str) -> str:
    entry = totals.get(category, {})
    return f"{mb(entry.get('br', 0))} br / {mb(entry.get('gz', 0))} gz / {mb(entry.get('raw', 0))} raw"


def phase_text(phases: dict) -> str:
    return ", ".join(f"{name} {ms / 1000:.2f}" for name, ms in phases.items())


def tradeoff_rows(browser, site: Path, runs: int, default: dict, default_paused: dict) -> list[dict]:
    """The first-visit figures of site copies that differ in one option from the built site."""
    rows = [{"variant": "as built: no snapshot, trimmed stdlib, search_start idle, precompressed .br/.gz", **default,
             "paused": default_paused, "bytes": bytes_as_sent(site, "/", default["fetched"])}]
    with tempfile.TemporaryDirectory(prefix="qakb-bench-") as scratch:
        snapshot_site = copy_site(site, Path(scratch) / "snapshot")
        add_snapshot(snapshot_site, ROOT / ".cache")
        focus_site = copy_site(site, Path(scratch) / "focus")
        patch_search_config(focus_site, start="focus")
        full_stdlib_site = copy_site(site, Path(scratch) / "full-stdlib")
        patch_search_config(full_stdlib_site, stdlib=None)
        for variant, variant_site in (("pyodide_snapshot: true (Pyodide heap with the engine imported)", snapshot_site),
                                      ("trim_stdlib: false (Pyodide's whole python_stdlib.zip)", full_stdlib_site),
                                      ("search_start: focus (nothing before the box is focused)", focus_site)):
            server, url = serving(variant_site)
            try:
                figures = first_visit(browser, url, runs)
                paused = first_visit(browser, url, runs, READER_PAUSE_MS)
            finally:
                server.shutdown()
                server.server_close()
            rows.append({"variant": variant, **figures, "paused": paused,
                         "bytes": bytes_as_sent(variant_site, "/", figures["fetched"])})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--runs", type=int, default=3, help="profiles to take the medians over (default 3)")
    parser.add_argument("--queries", type=Path, default=ROOT / "tests" / "data" / "queries.yml")
    parser.add_argument("--no-tradeoffs", action="store_true", help="skip the snapshot / search_start variants")
    parser.add_argument("--ratio-runs", type=int, default=5,
                        help="profiles for the side-by-side against Pyodide alone (default 5; 0: skip it)")
    parser.add_argument("--ratio-only", action="store_true", help="only the side-by-side against Pyodide alone")
    parser.add_argument("--ratio-variants", action="store_true",
                        help="the side-by-side for copies with search_start: eager and pyodide_snapshot: true too")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"error: {args.site} has no built site; run `make build` first", file=sys.stderr)
        return 1
    queries = [item["query"] for item in yaml.safe_load(args.queries.read_text(encoding="utf-8"))][:WARM_QUERIES]

    server, url = serving(args.site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            ratio = against_pyodide(browser, url, args.site, args.ratio_runs) if args.ratio_runs else None
            if ratio:
                print_ratio(ratio, args.ratio_runs)
            if ratio and args.ratio_variants:
                print(f"\nThe same for copies that differ in one option (medians of {args.ratio_runs} profiles each)")
                print("| variant | first result cold / warm | Pyodide alone cold / warm | ratio cold / warm |")
                print("|---|---:|---:|---:|")
                for variant, figures in ratio_variants(browser, args.site, args.ratio_runs):
                    medians = figures["medians_ms"]
                    print(f"| {variant} | {medians['site cold'] / 1000:.2f} / {medians['site warm'] / 1000:.2f} s | "
                          f"{medians['pyodide cold'] / 1000:.2f} / {medians['pyodide warm'] / 1000:.2f} s | "
                          f"{figures['ratio_cold']:.2f} / {figures['ratio_warm']:.2f} |")
            if args.ratio_only:
                browser.close()
                return 0
            visit_figures = first_visit(browser, url, args.runs)
            paused = first_visit(browser, url, args.runs, READER_PAUSE_MS) if not args.no_tradeoffs else None
            context = browser.new_context()
            page = visit(context, url)["page"]
            engine_ms, typing_ms = warm_latencies(page, queries)
            long_engine_ms, _ = warm_latencies(page, LONG_QUERIES)
            per_key_ms, last_key_ms = typing_latencies(page, LONG_QUERIES)
            context.close()
            rows = [] if args.no_tradeoffs else tradeoff_rows(browser, args.site, args.runs, visit_figures, paused)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()

    sent = bytes_as_sent(args.site, "/", visit_figures["fetched"])
    totals = sent["totals"]
    figures = {
        **({"against_pyodide": ratio} if ratio else {}),
        **{key: value for key, value in visit_figures.items() if key != "fetched"},
        "bytes": totals,
        "search_files": {path: sizes_ for category, path, sizes_ in sent["files"] if category == "search"},
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
        "queries": len(queries),
        "tradeoffs": [{key: value for key, value in row.items() if key not in ("fetched", "paused", "bytes")}
                      | {"bytes": row["bytes"]["totals"], "typing_3s_after_load_cold_ms": row["paused"]["cold_after_typing_ms"],
                         "typing_3s_after_load_warm_ms": row["paused"]["warm_after_typing_ms"]} for row in rows],
    }

    first_visit_rows = [
        (f"cold: page load -> first semantic result (median of {args.runs} fresh profiles; runs "
         f"{', '.join(map(str, visit_figures['cold_runs_ms']))} ms)", f"{visit_figures['cold_ms'] / 1000:.2f} s"),
        (f"warm: the same, second visit in the same profile (HTTP + code cache; runs "
         f"{', '.join(map(str, visit_figures['warm_runs_ms']))} ms)", f"{visit_figures['warm_ms'] / 1000:.2f} s"),
        ("  worker boot cold / warm", f"{visit_figures['cold_boot_ms'] / 1000:.2f} / "
                                      f"{visit_figures['warm_boot_ms'] / 1000:.2f} s"),
        ("  boot phases cold, s since the worker got `boot`", phase_text(visit_figures["cold_phases_ms"])),
        ("  boot phases warm", phase_text(visit_figures["warm_phases_ms"])),
        ("bytes beyond Pyodide core (engine wheel, index, widget; snapshot if shipped)", sizes(totals, "search")),
        *((f"  {Path(path).name}", f"{mb(sizes_['br'])} br / {mb(sizes_['gz'])} gz / {mb(sizes_['raw'])} raw")
          for category, path, sizes_ in sent["files"] if category == "search" and sizes_["raw"] >= 10_000),
        ("Pyodide core (interpreter, wasm, stdlib, lock file)", sizes(totals, "core")),
    ]
    latency_rows = [
        (f"warm query latency p50 / p95 ({len(queries)} queries; query -> ranked hits)",
         f"{figures['warm_engine_p50_ms']:.1f} / {figures['warm_engine_p95_ms']:.1f} ms"),
        ("warm keystroke -> results drawn p50 / p95 (queries back to back: within the 60 ms throttle)",
         f"{figures['warm_typing_p50_ms']:.1f} / {figures['warm_typing_p95_ms']:.1f} ms"),
        (f"30-word queries: query -> ranked hits p50 / max ({len(LONG_QUERIES)} queries)",
         f"{figures['long_engine_p50_ms']:.1f} / {figures['long_engine_max_ms']:.1f} ms"),
        (f"typing 30-word queries at machine speed: keystroke -> results drawn p50 / p95 "
         f"({figures['typing_keystrokes']} keys)",
         f"{figures['typing_30_words_per_key_p50_ms']:.0f} / {figures['typing_30_words_per_key_p95_ms']:.0f} ms"),
        ("  last keystroke -> its results drawn, worst of the queries",
         f"{figures['typing_30_words_last_key_max_ms']:.0f} ms"),
    ]
    print(f"Browser search benchmark: headless Chromium ({CHROMIUM}), {url}, site {args.site}")
    print_table("First visit", first_visit_rows)
    print_table("Warm search", latency_rows)
    if rows:
        print(f"\nTrade-offs (median of {args.runs} profiles each; typing 3 s after load: keystroke -> first result)")
        print("| variant | cold | warm | typing 3 s after load, cold / warm | beyond core: br / gz / raw | core: br |")
        print("|---|---:|---:|---:|---:|---:|")
        for row in rows:
            totals_ = row["bytes"]["totals"]
            beyond, core = totals_.get("search", {}), totals_.get("core", {})
            print(f"| {row['variant']} | {row['cold_ms'] / 1000:.2f} s | {row['warm_ms'] / 1000:.2f} s | "
                  f"{row['paused']['cold_after_typing_ms'] / 1000:.2f} / {row['paused']['warm_after_typing_ms'] / 1000:.2f} s | "
                  f"{mb(beyond.get('br', 0))} / {mb(beyond.get('gz', 0))} / {mb(beyond.get('raw', 0))} | "
                  f"{mb(core.get('br', 0))} |")
        print("| no precompressed files (a host that sends files as they are) | (localhost: same) | | | "
              f"{mb(totals.get('search', {}).get('raw', 0))} | {mb(totals.get('core', {}).get('raw', 0))} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


RATIO_LABELS = {
    "pyodide": "Pyodide alone: a blank page of the site, navigation -> loadPyodide() ready",
    "pyodide trimmed": "  the same with the site's trimmed standard library",
    "site": "the site: typing as soon as the box shows, navigation -> first semantic result",
}


def print_ratio(ratio: dict, runs: int) -> None:
    medians, each = ratio["medians_ms"], ratio["runs_ms"]
    rows = []
    for visit in ("cold", "warm"):
        for name in RATIO_LABELS:
            if f"{name} {visit}" in medians:
                rows.append((f"{visit}: {RATIO_LABELS[name]} (runs {', '.join(map(str, each[f'{name} {visit}']))} ms)",
                             f"{medians[f'{name} {visit}'] / 1000:.2f} s"))
        trimmed = medians.get(f"pyodide trimmed {visit}")
        rows.append((f"{visit}: ratio site / Pyodide alone"
                     + (f" (against the trimmed-stdlib start: {medians[f'site {visit}'] / trimmed:.2f})" if trimmed else ""),
                     f"**{ratio[f'ratio_{visit}']:.2f}**"))
    print_table(f"First semantic result against Pyodide itself (medians of {runs} fresh profiles, side by side; "
                "goal <= 1.15)", rows)


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label.ljust(width)} | {value} |")


if __name__ == "__main__":
    sys.exit(main())
