"""`make bench`: build time, query latency in CPython, search quality on every bank held out in turn
(`qakb eval --banks scripts/eval-banks.yml`), discovered topics against the banks' own
(scripts/eval_topics.py), then the browser figures.

Prints tables; asserts nothing. Run after `make build` (the Makefile does).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval_topics import topics_report
from qakb import eval_banks
from qakb.evaluate import load_queries
from qakb.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "tests" / "data" / "queries.yml"
BANK_SPEC = ROOT / "scripts" / "eval-banks.yml"
PROJECT_FILES = ("mkdocs.yml", "docs", "content")  # the site folder: settings, hand-written pages, bank


def project_copy(where: Path) -> Path:
    """This project's site folder, copied: the timed builds leave its site/ and search_index/ alone."""
    where.mkdir(parents=True)
    for name in PROJECT_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, where / name)
        else:
            shutil.copy2(ROOT / name, where / name)
    return where


def timed_build(project: Path, cache_dir: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qakb.cli", "--project", str(project), "build"], check=True,
                   capture_output=True, env={**os.environ, "QAKB_CACHE_DIR": str(cache_dir)})
    return time.perf_counter() - started


def build_figures() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as scratch:
        project = project_copy(Path(scratch) / "project")
        cold = timed_build(project, Path(scratch) / "cache")
        warm = timed_build(project, Path(scratch) / "cache")
        bank = project / "content" / "ml-dl-interview-qa.md"
        bank.write_text(bank.read_text(encoding="utf-8").replace("What is a CNN?", "What is a CNN, briefly?"),
                        encoding="utf-8")
        edited = timed_build(project, Path(scratch) / "cache")
    return [
        ("build, empty cache (distil + embed all + mkdocs)", f"{cold:.1f} s"),
        ("rebuild, nothing changed", f"{warm:.1f} s"),
        ("rebuild after editing one question", f"{edited:.1f} s"),
    ]


def engine_figures() -> list[tuple[str, str]]:
    index_dir = ROOT / "search_index"
    started = time.perf_counter()
    engine = Engine.open(index_dir)
    opened = time.perf_counter() - started
    latencies = []
    for query in load_queries(QUERIES):
        started = time.perf_counter()
        engine.search(query.query, k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    size = sum(path.stat().st_size for path in index_dir.iterdir())
    return [
        ("search_index/ size", f"{size / 1e6:.2f} MB"),
        ("Engine.open in CPython (checks + load)", f"{opened * 1000:.0f} ms"),
        (f"query latency in CPython, p50 / p95 over {len(latencies)} queries",
         f"{statistics.median(latencies):.2f} / {latencies[int(0.95 * (len(latencies) - 1))]:.2f} ms"),
    ]


def table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join([title, *(f"  {name.ljust(width)}  {value}" for name, value in rows)])


def main() -> int:
    print(table("Build", build_figures()), flush=True)
    print(table("Engine (CPython)", engine_figures()), flush=True)
    print(f"\nSearch quality (qakb eval --banks {BANK_SPEC.relative_to(ROOT)})", flush=True)
    report = eval_banks.run(BANK_SPEC, ROOT / ".cache", log=lambda message: print(message, file=sys.stderr))
    print(eval_banks.format_report(report), flush=True)
    print("\nTopics discovered with each bank's own topics hidden (scripts/eval_topics.py)", flush=True)
    print(topics_report(ROOT / ".cache"), flush=True)
    print()
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        # The first visit (against Pyodide itself) and its trade-offs, the second page (instant
        # navigation), and what the offline copy costs.
        scripts = [ROOT / "scripts" / "bench_browser.py", ROOT / "scripts" / "bench_navigation.py",
                   ROOT / "scripts" / "bench_offline.py"]
        return max(subprocess.run([sys.executable, str(script)], cwd=ROOT).returncode for script in scripts)
    print("Browser: skipped, /usr/bin/chromium is not installed (apt-get install chromium)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
