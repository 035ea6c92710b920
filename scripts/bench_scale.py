"""`make bench-scale`: qakb at 1k, 10k, 30k... questions of the synthetic bank (scripts/synthetic_bank.py).

    python scripts/bench_scale.py build [--sizes 1000 10000 30000] [--work /tmp/qakb-scale]

The build part makes a project per size (`qakb new --bank`), builds it from an empty cache
(no embeddings, distilled model or index caches; the npm runtime is copied in, as it is not
the build's work) under `/usr/bin/time -v`, then rebuilds it after editing one answer.
It prints one table: build time, each step's time (from the build's own `[  12.3s] ...`
lines), peak memory, index and site bytes, the site's files and its largest, and the one-answer
rebuild; then each site's files by kind. Results also go to <work>/scale-build.json. Asserts
nothing; the figures depend on the machine and its load.

    python scripts/bench_scale.py files --site DIR

The files part counts a built site's files by kind (pages, index shards by kind, .gz/.br copies,
Pyodide, other assets...), with bytes, and names its largest file.

    python scripts/bench_scale.py watch --project DIR [--rounds 2]

The watch part times one-answer rebuilds in a running `qakb serve --watch` (the model loaded
once) on a project already built: from saving the edit to the rebuilt site, for a sentence
appended to an answer and for a typo fixed in another, `--rounds` times each.

The functions (`make_scale_project`, `timed_build`, `build_figures`) are for other parts of
this script to call (the browser part measures the same projects).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

import brotli

from qakb import caches
from qakb.engine import Engine
from qakb.plugin.host_limits import MAX_FILE_BYTES, MAX_FILES, site_size
from qakb.serve import make_server
from qakb.shards import load_everything

from bench_browser import CHROMIUM, CHROMIUM_FLAGS, TYPE_AND_WAIT  # scripts/ is on the path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STEP = re.compile(r"^\[\s*([\d.]+)s\] (.*)$")
PEAK = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
# The build's step lines, in order, by a few words that start each one: the step's time is
# the gap since the line before.
STEPS = (("parse", "parsed"), ("markup", "rendered the answers"), ("embed", "embedded with"),
         ("topics+related", "placed questions"), ("static encoder+index", "trained the static"),
         ("pages", "rendered the topic pages"), ("anki", "wrote the Anki deck"), ("mkdocs+check", "built the site"))


@dataclass
class BuildRun:
    seconds: float
    peak_mb: float
    steps: dict[str, float] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


@dataclass
class ScaleRow:
    items: int
    cold: BuildRun
    one_answer: BuildRun
    index_mb: float
    site_mb: float
    pages: int
    site_files: int = 0
    largest_file: tuple[str, int] = ("", 0)
    files_by_kind: dict[str, list[int]] = field(default_factory=dict)


def make_scale_project(items: int, work: Path, seed: int = 0) -> Path:
    """A fresh project of `items` synthetic questions under `work`, with the npm runtime cache copied in."""
    bank = work / f"bank-{items}.md"
    if not bank.is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "synthetic_bank.py"), str(items), "-o", str(bank),
                        "--seed", str(seed)], check=True, capture_output=True)
    project = work / f"p{items}"
    shutil.rmtree(project, ignore_errors=True)
    banks = [arg for part in split_bank(bank) for arg in ("--bank", str(part))]
    subprocess.run([str(BIN / "qakb"), "new", str(project), *banks], check=True, capture_output=True)
    npm = caches.npm(ROOT / ".cache")
    if npm.is_dir():
        shutil.copytree(npm, caches.npm(project / ".cache"))
    return project


def split_bank(bank: Path, max_bytes: int = 6_000_000) -> list[Path]:
    """`bank` itself, or, if it is over `max_bytes` (a bank file may hold 8 MiB), files of whole
    sections of it beside it, each under the bank's own title and source lines."""
    text = bank.read_text(encoding="utf-8")
    if len(text.encode("utf-8")) <= max_bytes:
        return [bank]
    head, _, body = text.partition("\n## ")
    sections = ["## " + section for section in body.split("\n## ") if section.strip()]
    parts: list[list[str]] = [[]]
    for section in sections:
        if parts[-1] and len("".join(parts[-1]).encode("utf-8")) + len(section.encode("utf-8")) > max_bytes:
            parts.append([])
        parts[-1].append(section.rstrip("\n") + "\n\n")
    files = []
    for number, part in enumerate(parts, start=1):
        path = bank.with_name(f"{bank.stem}-part{number}.md")
        path.write_text(head.rstrip("\n") + "\n\n" + "".join(part), encoding="utf-8")
        files.append(path)
    return files


def timed_build(project: Path) -> BuildRun:
    """`qakb build` in `project` under /usr/bin/time -v: wall time, peak RSS, step times."""
    env = {key: value for key, value in os.environ.items() if key != "QAKB_CACHE_DIR"}
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", str(BIN / "qakb"), "build"], cwd=project, env=env,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"qakb build failed in {project}:\n{result.stderr[-3000:]}")
    peak = PEAK.search(result.stderr)
    run = BuildRun(seconds=seconds, peak_mb=int(peak[1]) / 1024 if peak else float("nan"))
    read_steps(run, result.stderr.splitlines())
    return run


def read_steps(run: BuildRun, lines: list[str]) -> None:
    """Add the build's `[  12.3s] ...` lines to run.log and each step's time to run.steps."""
    previous = 0.0
    for line in lines:
        match = STEP.match(line.rstrip("\n"))
        if not match:
            continue
        run.log.append(line.rstrip("\n"))
        at = float(match[1])
        for name, start in STEPS:
            if match[2].startswith(start):
                run.steps[name] = round(at - previous, 1)
        previous = at


def edit_one_answer(project: Path, sentence: str = "An edited line, added for the one-answer rebuild.") -> None:
    """Append a sentence to the first answer of the bank (a new text for one item only)."""
    bank = sorted((project / "content").glob("*.md"))[0]
    text = bank.read_text(encoding="utf-8")
    first = re.search(r"^1\. .*\n", text, flags=re.M)
    bank.write_text(text[:first.end()] + sentence + "\n\n" + text[first.end():], encoding="utf-8")


def fix_a_typo(project: Path, number: int) -> None:
    """Swap two letters of the first long word of answer `number` (of the first bank file)."""
    bank = sorted((project / "content").glob("*.md"))[0]
    text = bank.read_text(encoding="utf-8")
    starts = [match.start() for match in re.finditer(r"^\d+\. `", text, flags=re.M)]
    start = starts[number - 1]
    answer = text.index("\n", start) + 1
    word = re.compile(r"\b[a-z]{7,}\b").search(text, answer)
    swapped = word[0][0] + word[0][2] + word[0][1] + word[0][3:]
    bank.write_text(text[:word.start()] + swapped + text[word.end():], encoding="utf-8")


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def file_kind(path: str) -> str:
    """A site file's kind, for counting: its copies (.gz, .br) apart, index shards by their kind."""
    for suffix in (".gz", ".br"):
        if path.endswith(suffix):
            return f"{suffix} copies"
    name = path.rsplit("/", 1)[-1]
    if path.startswith("search_index/"):
        shard = re.match(r"(list|text|vectors|table|terms)-", name)
        return f"index {shard[1]}-*" if shard else "index, other"
    if path.startswith("assets/pyodide/"):
        return "Pyodide runtime and engine"
    if path.startswith("assets/") or path.startswith("search/"):
        return "theme, widget and keyword-search assets"
    if name.endswith(".html"):
        return "pages (.html)"
    if re.search(r"\.(png|jpe?g|gif|svg|webp|avif)$", name):
        return "images"
    return "other (practice, links, deck, sitemap, sw.js)"


def files_by_kind(site: Path) -> dict[str, list[int]]:
    """{kind: [files, bytes]} of a built site."""
    kinds: dict[str, list[int]] = {}
    for path in site.rglob("*"):
        if path.is_file():
            entry = kinds.setdefault(file_kind(path.relative_to(site).as_posix()), [0, 0])
            entry[0] += 1
            entry[1] += path.stat().st_size
    return dict(sorted(kinds.items(), key=lambda item: -item[1][0]))


def print_files(site: Path, kinds: dict[str, list[int]]) -> None:
    size = site_size(site)
    print(f"\n{site}: {size.files:,} files (Cloudflare Pages takes {MAX_FILES:,}), "
          f"{sum(entry[1] for entry in kinds.values()) / 1e6:.1f} MB; largest {size.largest[0]} "
          f"{size.largest[1] / 2**20:.1f} MiB; over {MAX_FILE_BYTES / 2**20:.0f} MiB: "
          f"{', '.join(path for path, _ in size.oversized) or 'none'}")
    print("| kind | files | MB |\n|---|---:|---:|")
    for kind, (count, total) in kinds.items():
        print(f"| {kind} | {count:,} | {total / 1e6:.2f} |")


def build_figures(items: int, work: Path) -> ScaleRow:
    project = make_scale_project(items, work)
    cold = timed_build(project)
    index_mb, site_mb = folder_mb(project / "search_index"), folder_mb(project / "site")
    pages = len(list((project / "build" / "pages" / "topics").rglob("*.md")))
    size = site_size(project / "site")
    kinds = files_by_kind(project / "site")
    edit_one_answer(project)
    one_answer = timed_build(project)
    return ScaleRow(items, cold, one_answer, index_mb, site_mb, pages, size.files, size.largest, kinds)


def watched_rebuilds(project: Path, rounds: int) -> list[BuildRun]:
    """One-answer rebuilds in `qakb serve --watch` on the built `project`: save -> rebuilt, with steps."""
    env = {key: value for key, value in os.environ.items() if key != "QAKB_CACHE_DIR"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(BIN / "qakb"), "serve", "--watch", "--port", str(port)], cwd=project, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()

    def until_built() -> list[str]:
        seen = []
        while not seen or "watching for changes" not in seen[-1]:
            seen.append(lines.get(timeout=1800))
            if seen[-1].startswith("error:"):
                raise RuntimeError("".join(seen))
        return seen

    runs = []
    try:
        until_built()
        for number in range(rounds):
            for kind, edit in (("append", lambda: edit_one_answer(project, f"A watched edit, number {number}.")),
                               ("typo", lambda: fix_a_typo(project, 2 + number))):
                time.sleep(1)
                started = time.perf_counter()
                edit()
                run = BuildRun(seconds=0.0, peak_mb=float("nan"), log=[kind])
                read_steps(run, until_built())
                run.seconds = time.perf_counter() - started
                runs.append(run)
                print(f"watched {kind}: {run.seconds:.1f} s {run.steps}", file=sys.stderr, flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return runs


def build_table(rows: list[ScaleRow]) -> str:
    names = [name for name, _ in STEPS]
    head = ["items", "build s", *names, "peak MB", "index MB", "site MB", "site files", "largest file MiB",
            "topic pages", "one-answer rebuild s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for row in rows:
        cells = [f"{row.items:,}", f"{row.cold.seconds:.0f}", *(f"{row.cold.steps.get(name, float('nan')):.1f}"
                                                                for name in names),
                 f"{row.cold.peak_mb:.0f}", f"{row.index_mb:.1f}", f"{row.site_mb:.0f}", f"{row.site_files:,}",
                 f"{row.largest_file[0]} {row.largest_file[1] / 2**20:.1f}", str(row.pages),
                 f"{row.one_answer.seconds:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- browser: a big index searched in headless Chromium ---------------------------------------
#
#     python scripts/bench_scale.py browser --index DIR [--whole DIR] [--site SITE] [--queries Q.yml ...]
#
# The index (sharded or not) is put into a copy of a built site (its pages do not matter: the
# search box, the worker and the engine do), served on localhost and searched in a fresh
# Chromium profile the way the box is used: a value typed, results drawn. Reported: bytes of
# search_index/ fetched before the first result (raw and gzip -6), bytes each further query
# fetches, keystroke -> results drawn for every query the first time (its shards fetched on
# the way) and again (all cached), and recall@10 of the engine as `qakb ask` and the browser
# run it against exhaustive search by the same engine (every list), and against the unsharded
# index (--whole) when given.
TIMEOUT_MS = 120_000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_queries(paths: list[Path]) -> list[str]:
    queries = []
    for path in paths:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            queries.append(item["query"] if isinstance(item, dict) else str(item))
    return list(dict.fromkeys(queries))


def site_with_index(site: Path, index_dir: Path, where: Path) -> Path:
    """A copy of `site` serving `index_dir` as its search index (the browser reads which files
    to fetch from the index's manifest, so the pages need no change)."""
    copy = where / "site"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("search_index"))
    shutil.copytree(index_dir, copy / "search_index")
    return copy


def recall_at_10(index_dir: Path, queries: list[str], whole: Path | None) -> dict:
    probed, full = Engine.open(index_dir), Engine.open(index_dir)
    load_everything(full)
    ids = lambda engine, q: [hit.id for hit in engine.search(q, 10)]  # noqa: E731
    found = total = 0
    for query in queries:
        expected = set(ids(full, query))
        found += len(expected & set(ids(probed, query)))
        total += len(expected)
    figures = {"recall_at_10_vs_exhaustive": found / total if total else 1.0}
    if whole is not None:
        flat = Engine.open(whole)
        found = total = 0
        for query in queries:
            expected = set(ids(flat, query))
            found += len(expected & set(ids(probed, query)))
            total += len(expected)
        figures["recall_at_10_vs_whole_index"] = found / total if total else 1.0
    return figures


def query_downloads(index_dir: Path, queries: list[str], k: int = 5) -> dict:
    """What each query downloads on its own, as the first search of a page that has fetched only the
    up-front files: the files a fresh engine reads for it (the worker fetches exactly the files the
    engine names), in CPython. Raw, gzip -6 (GitHub Pages compresses on the fly with gzip) and brotli
    -5 (Cloudflare's on-the-fly brotli), p50 / p95 / max; and by kind of file, mean gzip bytes."""
    compressed: dict[str, tuple[int, int, int]] = {}

    def sizes(name: str) -> tuple[int, int, int]:
        if name not in compressed:
            data = (index_dir / name).read_bytes()
            compressed[name] = (len(data), len(gzip.compress(data, 6)), len(brotli.compress(data, quality=5)))
        return compressed[name]

    totals, counts, by_kind = [], [], {}
    for query in queries:
        engine = Engine.open(index_dir)
        storage, read = engine.storage, []
        require = storage.require

        def recording(names, *args, require=require, storage=storage, read=read):
            read.extend(name for name in names if name not in storage.loaded)
            return require(names, *args)

        storage.require = recording
        engine.search(query, k)
        names = list(dict.fromkeys(read))
        totals.append([sum(sizes(name)[i] for name in names) for i in range(3)])
        counts.append(len(names))
        for name in names:
            kind = name.split("-")[0]
            by_kind[kind] = by_kind.get(kind, 0) + sizes(name)[1]
    figures = {"queries": len(queries), "files_p50": percentile(counts, 0.5), "files_p95": percentile(counts, 0.95),
               "gzip_by_kind_mean": {kind: total / len(queries) for kind, total in sorted(by_kind.items())}}
    for i, encoding in enumerate(("raw", "gzip", "brotli")):
        values = [row[i] for row in totals]
        figures.update({f"{encoding}_p50": percentile(values, 0.5), f"{encoding}_p95": percentile(values, 0.95),
                        f"{encoding}_max": max(values)})
    return figures


def browser_figures(site: Path, queries: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    server = make_server(site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    fetched: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_context().new_page()
            page.on("response", lambda response: fetched.append(urlsplit(response.url).path)
                    if response.status == 200 and "/search_index/" in response.url else None)
            keyword = []  # Material's own index, fetched as every page loads
            page.on("response", lambda response: keyword.append(response.url)
                    if response.status == 200 and response.url.endswith("/search/search_index.json") else None)
            page.goto(url)
            page.evaluate("window.qakbSearch.start()")
            page.wait_for_function("window.qakbSearch && window.qakbSearch.state === 'ready'", timeout=TIMEOUT_MS)
            per_query = []
            for query in queries:
                before = len(fetched)
                ms = page.evaluate(TYPE_AND_WAIT, query)
                page.wait_for_timeout(5)  # let the last responses be counted
                per_query.append((query, ms, fetched[before:]))
            again = [page.evaluate(TYPE_AND_WAIT, query) for query in queries]
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    index = site / "search_index"

    def size(names, compressed=False):
        total = 0
        for path in names:
            data = (index / path.rsplit("/", 1)[1]).read_bytes()
            total += len(gzip.compress(data, 6)) if compressed else len(data)
        return total

    upfront = [path for path in fetched[:len(fetched) - sum(len(f) for _, _, f in per_query)]
               if not path.endswith("/metadata.json")]
    first = per_query[0][2]
    further = [files for _, _, files in per_query[1:]]
    firsts = [ms for _, ms, _ in per_query]
    keyword_index = (site / "search" / "search_index.json").read_bytes() if keyword else b""
    return {
        "queries": len(queries),
        "keyword_index_bytes": len(keyword_index), "keyword_index_gzip": len(gzip.compress(keyword_index, 6)),
        "bytes_before_first_result": size(upfront + first), "gzip_before_first_result": size(upfront + first, True),
        "upfront_files": sorted(path.rsplit("/", 1)[1] for path in upfront),
        "bytes_per_further_query_p50": percentile([size(f) for f in further], 0.5),
        "bytes_per_further_query_p95": percentile([size(f) for f in further], 0.95),
        "bytes_per_further_query_max": max(size(f) for f in further),
        "gzip_per_further_query_p50": percentile([size(f, True) for f in further], 0.5),
        "gzip_per_further_query_p95": percentile([size(f, True) for f in further], 0.95),
        "files_per_further_query_p50": percentile([len(f) for f in further], 0.5),
        "first_time_ms_p50": percentile(firsts, 0.5), "first_time_ms_p95": percentile(firsts, 0.95),
        "first_time_ms_max": max(firsts), "slowest_query": max(per_query, key=lambda row: row[1])[0],
        "cached_ms_p50": percentile(again, 0.5), "cached_ms_p95": percentile(again, 0.95), "cached_ms_max": max(again),
    }


def run_browser(index_dir: Path, site: Path, query_files: list[Path], whole: Path | None) -> dict:
    queries = load_queries(query_files)
    with tempfile.TemporaryDirectory() as scratch:
        served = site_with_index(site, index_dir, Path(scratch))
        figures = browser_figures(served, queries)
    figures.update(recall_at_10(index_dir, queries, whole))
    figures["alone"] = query_downloads(index_dir, queries)
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    figures["items"] = manifest["count"]
    figures["lists"] = manifest.get("shards", {}).get("lists", 0)
    figures["index_bytes"] = sum(path.stat().st_size for path in index_dir.iterdir())
    return figures


def print_browser(figures: dict) -> None:
    kb = lambda n: f"{n / 1e3:.0f} kB"  # noqa: E731
    alone = figures["alone"]
    rows = [
        ("items / lists", f"{figures['items']} / {figures['lists']}"),
        ("search_index/ on disk", kb(figures["index_bytes"])),
        ("bytes before the first result (raw / gzip)",
         f"{kb(figures['bytes_before_first_result'])} / {kb(figures['gzip_before_first_result'])}"),
        ("  fetched before the first query", ", ".join(figures["upfront_files"])),
        ("Material's keyword index, fetched on page load (raw / gzip)",
         f"{kb(figures['keyword_index_bytes'])} / {kb(figures['keyword_index_gzip'])}"),
        ("bytes per further query p50 / p95 / max (raw)",
         f"{kb(figures['bytes_per_further_query_p50'])} / {kb(figures['bytes_per_further_query_p95'])} / "
         f"{kb(figures['bytes_per_further_query_max'])}"),
        ("bytes per further query p50 / p95 (gzip)",
         f"{kb(figures['gzip_per_further_query_p50'])} / {kb(figures['gzip_per_further_query_p95'])}"),
        ("bytes of a query alone (up-front files only) p50 / p95 / max, raw",
         f"{kb(alone['raw_p50'])} / {kb(alone['raw_p95'])} / {kb(alone['raw_max'])}"),
        ("  gzip -6", f"{kb(alone['gzip_p50'])} / {kb(alone['gzip_p95'])} / {kb(alone['gzip_max'])}"),
        ("  brotli -5", f"{kb(alone['brotli_p50'])} / {kb(alone['brotli_p95'])} / {kb(alone['brotli_max'])}"),
        ("  files p50 / p95; gzip mean by kind",
         f"{alone['files_p50']} / {alone['files_p95']}; "
         + ", ".join(f"{kind} {kb(total)}" for kind, total in alone["gzip_by_kind_mean"].items())),
        ("keystroke -> results drawn, first time (fetching shards) p50 / p95 / max",
         f"{figures['first_time_ms_p50']:.0f} / {figures['first_time_ms_p95']:.0f} / {figures['first_time_ms_max']:.0f} ms"),
        ("  slowest query", figures["slowest_query"]),
        ("keystroke -> results drawn, shards cached p50 / p95 / max",
         f"{figures['cached_ms_p50']:.0f} / {figures['cached_ms_p95']:.0f} / {figures['cached_ms_max']:.0f} ms"),
        ("recall@10 vs exhaustive search by the same engine", f"{figures['recall_at_10_vs_exhaustive']:.3f}"),
    ]
    if "recall_at_10_vs_whole_index" in figures:
        rows.append(("recall@10 vs the unsharded index", f"{figures['recall_at_10_vs_whole_index']:.3f}"))
    width = max(len(name) for name, _ in rows)
    print(f"\nBrowser at scale ({figures['queries']} queries)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["build", "browser", "watch", "files"], help="which figures to take")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/qakb-scale"))
    parser.add_argument("--index", type=Path, help="browser: the search_index/ folder to search")
    parser.add_argument("--whole", type=Path, help="browser: the same bank's unsharded index, for recall")
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="browser: a built site to host it; "
                                                                         "files: the site to count")
    parser.add_argument("--queries", type=Path, nargs="+", default=[], help="browser: YAML query lists")
    parser.add_argument("--project", type=Path, help="watch: a built project (e.g. <work>/p10000)")
    parser.add_argument("--rounds", type=int, default=2, help="watch: edits of each kind")
    args = parser.parse_args()
    if args.part == "watch":
        runs = watched_rebuilds(args.project, args.rounds)
        names = [name for name, _ in STEPS]
        print("| edit | save -> rebuilt s | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * (len(names) + 1))
        for run in runs:
            print(f"| {run.log[0]} | {run.seconds:.1f} | " + " | ".join(str(run.steps.get(name, "")) for name in names)
                  + " |")
        return
    if args.part == "files":
        print_files(args.site, files_by_kind(args.site))
        return
    if args.part == "browser":
        figures = run_browser(args.index, args.site, args.queries, args.whole)
        print_browser(figures)
        print(json.dumps(figures, indent=1))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for items in args.sizes:
        rows.append(build_figures(items, args.work))
        print(f"{items}: built in {rows[-1].cold.seconds:.0f} s; one-answer rebuild "
              f"{rows[-1].one_answer.seconds:.1f} s", file=sys.stderr, flush=True)
    (args.work / "scale-build.json").write_text(json.dumps([asdict(row) for row in rows], indent=1) + "\n",
                                                encoding="utf-8")
    print(build_table(rows))
    for row in rows:
        print_files(args.work / f"p{row.items}" / "site", row.files_by_kind)


if __name__ == "__main__":
    main()
