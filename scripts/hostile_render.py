"""How long hostile answers take to render, each in its own process with a time cap.

    python scripts/hostile_render.py [--cap 30] [--only NAME ...]   # the hostile answers
    python scripts/hostile_render.py --banks [--rounds 5]            # the normal banks' render time
    python scripts/hostile_render.py --read [--cap 30]               # reading them as bank files

Bank content is untrusted: an answer is Markdown that `qakb.markup.AnswerRenderer` renders.
Each hostile answer below is rendered in a child process that is killed after `--cap`
seconds, so this script ends whatever the renderer does; it prints the render time, or
"refused: ..." (a `ParseError`, as the build reports it), or what went wrong otherwise.
`--banks` renders every answer of the two real banks in this repository, the best of
`--rounds`, to show what the protection costs a normal build. `--read` times what the
build does before rendering: reading each hostile answer as a one-item bank file.

Measured on the shared 2-core development machine (`--cap 60`), before `qakb.limits` and after.
"Refused" is a `ParseError` at the line named: the answer's line for the structure check, done
at once; the question's line for the deadline (1 s; 2 s at most in all, as one call into C is
finished before the thread notices). None of these gives a traceback any more.

    answer                             before                    after
    [ x 100k                           > 60 s (killed)           refused at once: > 40 '[' or '(' open in a line
    [](  x 33k                         > 60 s (killed)           refused at once: > 40 '[' or '(' open in a line
    [a] x 30k (reference links)        0.81 s                    0.73 s
    * x 50k                            0.00 s                    0.00 s
    _a x 25k                           0.26 s                    0.26 s
    *a **b ***c x 8k                   0.09 s                    0.12 s
    < x 100k                           0.24 s                    0.23 s
    ` x 100k                           0.10 s                    0.11 s
    ` `` ``` ... (440 lengths)         1.07 s                    1.01 s, refused: took over 1 s to render
    - x 400 on a line                  0.04 s                    refused at once: lists nested > 40 deep
    - x 5000 on a line                 RecursionError (0.5 s)    refused at once: lists nested > 40 deep
    list indented 400 levels           RecursionError (1.3 s)    refused at once at line 42: nested > 40 deep
    list indented 5000 levels          > 60 s (killed)           refused at once at line 42: nested > 40 deep
    > x 1000                           0.02 s                    refused at once: quotes nested > 40 deep
    5 MB paragraph                     1.46 s                    1.12 s, refused: took over 1 s to render
    table of 20k columns               1.05 s                    1.01 s, refused (0.96 s, rendered, on other runs)
    <div> x 10k                        0.24 s                    refused at once: HTML nested > 40 deep
    20k footnote refs and notes        19.87 s                   1.01 s, refused: took over 1 s to render
    [] x 2.5M (5 MB)                   9.92 s                    1.01 s, refused: took over 1 s to render
    ` a x 1.7M (5 MB)                  > 120 s (killed)          1.01 s, refused: took over 1 s to render
    $ x 100k                           0.02 s                    0.02 s
    $a$ x 25k                          1.97 s                    1.01 s, refused: took over 1 s to render

    the two real banks, 110 answers    0.086 s (`--banks`)       0.087 s (`--banks`, best of 15); in one
                                                                 process, alternating the guarded and the
                                                                 unguarded rendering, best of 15: +1 to 4 %
                                                                 (the structure check ~8 us an answer, the
                                                                 deadline under 1 us)

A real 50 kB answer (the data-science bank's answers run together) renders in 0.04 to 0.07 s,
15 to 25 times within the deadline. The 5000-level indented list is 12.5 MB as a file, over the
8 MiB limit of a bank file; built as a `Question` it still reaches the renderer.

`--read` found one input slow before rendering is reached: reading 100 kB of '[' as a bank file
takes 33 s (every other input here: under 1.1 s), in format detection and parsing
(`qakb.formats.markdown`: markdown-it-py's link labels, and the backtracking `_TRAILING_SOURCE`
regular expression, which runs in C where no deadline reaches). The renderer's guards do not
cover reading.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from qakb.bank import ParseError, Question

ROOT = Path(__file__).resolve().parent.parent

NORMAL_BANKS = (ROOT / "content" / "ml-dl-interview-qa.md", ROOT / "tests" / "data" / "ds-bank" / "data-science-qa.md")


def _nested_marker_list(depth: int) -> str:
    return "- " * depth + "a"


def _indented_list(depth: int) -> str:
    return "\n".join("    " * level + "- a" for level in range(depth))


def _table(columns: int) -> str:
    return "\n".join(("| a " * columns + "|", "|---" * columns + "|", "| b " * columns + "|"))


def _footnotes(count: int) -> str:
    return "".join(f"[^{i}]" for i in range(count)) + "\n\n" + "\n".join(f"[^{i}]: note {i}" for i in range(count))


HOSTILE = {
    "brackets: [ x 100k": lambda: "[" * 100_000,
    "link openers: [](  x 33k": lambda: "[](" * 33_334,
    "reference links: [a] x 30k": lambda: "[a]" * 30_000 + "\n\n[a]: https://example.org",
    "stars: * x 50k": lambda: "*" * 50_000,
    "underscores: _a x 25k": lambda: "_a" * 25_000,
    "emphasis chain: *a **b ***c x 8k": lambda: "*a **b ***c " * 8_000,
    "less-than: < x 100k": lambda: "<" * 100_000,
    "backticks: ` x 100k": lambda: "`" * 100_000,
    "backtick runs: ` `` ``` ... (440 lengths)": lambda: " ".join("`" * k for k in range(1, 441)),
    "list markers: - x 400 on a line": lambda: _nested_marker_list(400),
    "list markers: - x 5000 on a line": lambda: _nested_marker_list(5_000),
    "indented list: 400 levels": lambda: _indented_list(400),
    "indented list: 5000 levels": lambda: _indented_list(5_000),
    "blockquotes: > x 1000": lambda: ">" * 1_000 + " a",
    "paragraph: 5 MB": lambda: "word " * 1_000_000,
    "table: 20k columns": lambda: _table(20_000),
    "html: <div> x 10k": lambda: "<div>" * 10_000 + "a" + "</div>" * 10_000,
    "footnotes: 20k refs and notes": lambda: _footnotes(20_000),
    "closed brackets: [] x 2.5M (5 MB)": lambda: "[]" * 2_500_000,
    "code spans: ` a x 1.7M (5 MB)": lambda: "` a" * 1_700_000,
    "math: $ x 100k": lambda: "$" * 100_000,
    "math: $a$ x 25k": lambda: "$a$ " * 25_000,
}


def hostile_question(answer: str) -> Question:
    return Question(number=1, question="Q?", answer_lines=tuple(answer.split("\n")), needs_review=False,
                    source="hostile.md", line=1, anchor="hostile")


def render_case(name: str) -> dict:
    """Render one hostile answer here (the child's side): its time and outcome."""
    from qakb.markup import AnswerRenderer

    renderer = AnswerRenderer(ROOT)
    question = hostile_question(HOSTILE[name]())
    started = time.perf_counter()
    try:
        answer = renderer.render(question)
        outcome = f"rendered ({len(answer.html) / 1000:.0f} kB of HTML)"
    except ParseError as error:
        outcome = f"refused: {error}"
    return {"seconds": time.perf_counter() - started, "outcome": outcome}


def read_case(name: str) -> dict:
    """Read one hostile answer as a one-item bank file (the child's side of --read): its time and outcome.
    This is what the build does before it renders: detect the file's format, then parse it."""
    import tempfile

    from qakb.formats import read_bank_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.md"
        path.write_text(f"1. `Q?`\n{HOSTILE[name]()}\n", encoding="utf-8")
        started = time.perf_counter()
        try:
            source = read_bank_file(path)
            outcome = f"read ({len(source.questions)} question(s), {source.format})"
        except ParseError as error:
            outcome = f"refused: {error}"
        return {"seconds": time.perf_counter() - started, "outcome": outcome}


def run_case(name: str, cap: float, read: bool = False) -> dict:
    """Render (or with `read`, read) one hostile answer in a child process, killed after `cap` seconds."""
    started = time.perf_counter()
    command = [sys.executable, __file__, "--case", name] + (["--read"] if read else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return {"seconds": time.perf_counter() - started, "outcome": f"still rendering after {cap:g} s: killed"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"seconds": time.perf_counter() - started, "outcome": f"crashed: {last}"}
    return json.loads(done.stdout)


def bank_questions() -> list[tuple[Question, Path]]:
    from qakb.formats import read_bank_file
    from qakb.parse import assign_anchors

    questions = []
    for path in NORMAL_BANKS:
        anchored, _ = assign_anchors(list(read_bank_file(path).questions))
        questions += [(question, path.parent) for question in anchored]
    return questions


def time_banks(rounds: int) -> None:
    """Render every answer of the normal banks `rounds` times; print the best total and the slowest answer."""
    from qakb.markup import AnswerRenderer

    questions = bank_questions()
    renderers = {folder: AnswerRenderer(folder) for _, folder in questions}
    best, slowest = float("inf"), 0.0
    for _ in range(rounds):
        total = 0.0
        for question, folder in questions:
            started = time.perf_counter()
            renderers[folder].render(question)
            seconds = time.perf_counter() - started
            total += seconds
            slowest = max(slowest, seconds)
        best = min(best, total)
    print(f"{len(questions)} answers of {len(NORMAL_BANKS)} banks: {best:.3f} s in all (best of {rounds}), "
          f"slowest answer {slowest * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=30.0, help="seconds before a child is killed")
    parser.add_argument("--only", nargs="+", default=None, help="names (or the start of names) of the cases to run")
    parser.add_argument("--banks", action="store_true", help="time the normal banks instead")
    parser.add_argument("--read", action="store_true",
                        help="time reading each hostile answer as a bank file (format detection and parsing)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(read_case(args.case) if args.read else render_case(args.case)))
        return
    if args.banks:
        time_banks(args.rounds)
        return
    for name in HOSTILE:
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        result = run_case(name, args.cap, args.read)
        print(f"{name:45} {result['seconds']:8.2f} s  {result['outcome'][:160]}", flush=True)


if __name__ == "__main__":
    main()
