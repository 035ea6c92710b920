"""Limits that keep an untrusted answer from hanging or crashing the build.

Python-Markdown is not linear on every input: each '[' it cannot close sends its
link patterns to the end of the paragraph (4,000 '[' take 3 s, and the time grows
with the square), and lists hundreds of levels deep exhaust Python's recursion.
Two guards, both in `qakb.markup.AnswerRenderer.render`:

- `structure_problem` reads an answer's Markdown source before it is rendered and
  names the first line whose structure no real answer has: lists, quotes, HTML
  elements or brackets nested more than `MAX_NESTING` deep. It is one pass of
  regular expressions, and tells the bank's author which line to fix.
- `within_deadline` bounds the rendering itself, whatever the input: a watchdog
  thread interrupts the rendering thread once its time is up (the thread's CPU
  time, so that a busy machine does not refuse what a quiet one renders), by raising
  `RenderTimeout` in it (CPython's `PyThreadState_SetAsyncExc`, the way Ctrl+C
  interrupts the main thread). Answers are rendered in the main thread of
  `qakb build`, in the thread that builds for `qakb serve --watch`, and in
  whatever thread a caller uses: unlike a SIGALRM timer this works in any of
  them, and unlike a worker process it costs about a microsecond an answer, not
  a process start-up (longer than rendering a whole bank) on every build.
  Python code is interrupted between two bytecodes; a single long call into C
  (a regular expression, the sanitiser) finishes first. The renderer that was
  interrupted is thrown away.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import time

# Real answers nest lists and quotes 3 or 4 deep; Python-Markdown's recursion gives out at 200 to 400.
MAX_NESTING = 40
# Answers render in milliseconds (the slowest of the two banks here: 25 ms). Each answer gets 2 s at
# most: this, plus the moment the interrupted thread takes to notice: it finishes its call into C first,
# and one of Python-Markdown's regular expressions over a 5 MB paragraph holds on for 0.5 s.
RENDER_SECONDS = 1.0

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
# One container opened at the start of a line: a quote, or a list item's marker.
_CONTAINER = re.compile(r"[ \t]{0,3}(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))[ \t]?")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
# A line of one of - * _ and spaces is a horizontal rule (`- - -`), not lists, however long.
_RULE = re.compile(r"[ \t]*([-*_])(?:[ \t]*\1)*[ \t]*")
_BACKTICKS = re.compile(r"`+")
_BRACKET = re.compile(r"\\.|\]\(|[\[\]()]")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*?(/?)>")
# Elements that hold others and are closed explicitly: void elements (<br>) and those whose end
# tag may be left out (<p>, <li>) never close, so counting them would make flat HTML look deep.
HTML_CONTAINERS = frozenset(
    "a abbr article aside b bdi bdo blockquote center cite code del details dfn div dl em fieldset figcaption "
    "figure font footer form header i ins kbd label main mark nav ol pre q s samp section small span strong "
    "sub summary sup table u ul var".split())


# --- structure ---------------------------------------------------------------------------

_LINK_OPENERS = (f"more than {MAX_NESTING} '[' or '(' of links nested or left open in one line; Markdown "
                 "looks for the end of each one, which takes time: close them, write \\[ for a bracket "
                 "that opens no link, or put the text in `code` or a code block")


def structure_problem(lines: tuple[str, ...] | list[str]) -> tuple[int, str] | None:
    """The index of the first line nested deeper than `MAX_NESTING`, and what to do about it; None if none is."""
    list_indents: list[int] = []  # the indentation of each list item the line is inside
    html_depth = 0
    fence = ""
    for index, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence or opening:  # code: nothing in it is structure
            if not fence:
                fence = opening.group(1)
            elif line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
                fence = ""
            continue
        if _list_depth(line.expandtabs(4), list_indents) + _containers(line.lstrip()) > MAX_NESTING:
            return index, f"lists or quotes nested more than {MAX_NESTING} levels deep; flatten the list or quote"
        # Code spans are cut out only from a line that looks too deep with them: most lines have none to cut.
        if _too_many_link_openers(line) and _too_many_link_openers(_without_code_spans(line)):
            return index, _LINK_OPENERS
        deeper = _html_depth(line, html_depth)
        html_depth = _html_depth(_without_code_spans(line), html_depth) if deeper > MAX_NESTING else deeper
        if html_depth > MAX_NESTING:
            return index, (f"HTML elements nested more than {MAX_NESTING} levels deep; close the elements you open, "
                           "or flatten them")
    return None


def link_opener_problem(lines: tuple[str, ...] | list[str]) -> tuple[int, str] | None:
    """The index of the first line outside code with more link brackets open than `MAX_NESTING`, and
    what to do; None if none has. A bank file's readers check this before parsing it: CommonMark link
    labels take time quadratic in them, in the parser and in Python-Markdown alike."""
    fence = ""
    for index, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence or opening:
            if not fence:
                fence = opening.group(1)
            elif line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
                fence = ""
            continue
        if _too_many_link_openers(line) and _too_many_link_openers(_without_code_spans(line)):
            return index, _LINK_OPENERS
    return None


def _containers(line: str) -> int:
    """How many quotes and list items a line opens at its start (`> > - 1. text`: 4), counted up to
    `MAX_NESTING` + 1: a line of megabytes is not read to its end."""
    count, position = 0, 0
    while count <= MAX_NESTING and (match := _CONTAINER.match(line, position)):
        count, position = count + 1, match.end()
    return 0 if count > MAX_NESTING and _RULE.fullmatch(line) else count


def _list_depth(line: str, indents: list[int]) -> int:
    """How many list items a line sits inside by its indentation; updates `indents` (the open items) as
    `qakb.markup.markdown_source` nests them: a deeper marker is a child, a line at the margin ends the list."""
    indent = len(line) - len(line.lstrip())
    if _LIST_ITEM.match(line):
        while indents and indent <= indents[-1]:
            indents.pop()
        depth = len(indents)
        indents.append(indent)
        return depth
    if line.strip() and not indent:
        indents.clear()
    return 0


def _without_code_spans(line: str) -> str:
    """The line without its `code spans`: nothing in them is a link or a tag. A backtick run is closed
    by the next run of the same length; one never closed is text."""
    if "`" not in line:
        return line
    runs = list(_BACKTICKS.finditer(line))
    closing: list[int | None] = [None] * len(runs)
    next_of_length: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = len(runs[index].group())
        closing[index] = next_of_length.get(length)
        next_of_length[length] = index
    kept, start, index = [], 0, 0
    while index < len(runs):
        end = closing[index]
        if end is None:
            index += 1
            continue
        kept.append(line[start:runs[index].start()])
        start, index = runs[end].end(), end + 1
    kept.append(line[start:])
    return "".join(kept)


def _too_many_link_openers(text: str) -> bool:
    """Whether more than `MAX_NESTING` link brackets are open at once in a line: '[' not yet closed,
    and '(' of a link's destination (after '](') and inside it. Each is a search to the end of the
    paragraph, so a line with no more '[' than `MAX_NESTING` starts no more searches than that."""
    if text.count("[") <= MAX_NESTING:
        return False
    brackets = parens = 0
    for match in _BRACKET.finditer(text):
        token = match.group()
        if token == "[":
            brackets += 1
        elif token == "]" and brackets:
            brackets -= 1
        elif token == "](" and brackets:
            brackets, parens = brackets - 1, parens + 1
        elif token == "(" and parens:
            parens += 1
        elif token == ")" and parens:
            parens -= 1
        if brackets + parens > MAX_NESTING:
            return True
    return False


def _html_depth(text: str, depth: int) -> int:
    """The HTML nesting after a line that starts at `depth`, or `MAX_NESTING` + 1 once it gets deeper."""
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.groups()
        if name.lower() not in HTML_CONTAINERS or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > MAX_NESTING:
            break
    return depth


# --- time ----------------------------------------------------------------------------------

class RenderTimeout(BaseException):
    """Raised in a thread whose `within_deadline` time is up. A BaseException, like KeyboardInterrupt,
    so that no `except Exception` in a library swallows it."""


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    """Have `thread` raise `exception` at its next bytecode; None drops one not raised yet."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None)  # None: a NULL pointer


# A render's time is its thread's CPU time, so a build on a busy machine (a CI runner, a test
# suite beside other work) does not refuse an answer that renders in time on a quiet one; a render
# still running after this many times its seconds by the wall clock is stopped whatever its CPU time.
WALL_CLOCK_BACKSTOP = 20


def _cpu_clock(thread: int) -> int | None:
    """The CPU-time clock of `thread` (a pthread id, as threading.get_ident gives on Unix), or None."""
    try:
        return time.pthread_getcpuclockid(thread)
    except (AttributeError, OSError):  # not on this platform: the wall clock alone
        return None


class _Deadline:
    def __init__(self, seconds: float):
        self.thread = threading.get_ident()
        self.seconds = seconds
        self.clock = _cpu_clock(self.thread)
        self.started = time.clock_gettime(self.clock) if self.clock is not None else 0.0
        now = time.monotonic()
        self.due = now + seconds
        self.backstop = now + seconds * WALL_CLOCK_BACKSTOP
        self.raised = False

    def remaining(self, now: float) -> float:
        """CPU seconds the thread may still use (0 when its time is up), checked once `due` passed."""
        if self.clock is None or now >= self.backstop:
            return 0.0
        try:
            used = time.clock_gettime(self.clock) - self.started
        except OSError:  # the thread has ended: its disarm is under way
            return 0.0
        return max(0.0, self.seconds - used)


class _Watchdog:
    """One daemon thread that raises `RenderTimeout` in each thread still working past its deadline.

    A deadline is ended by whichever of the watchdog (it raises) and its thread (it is done) first
    takes it out of `_pending`: `dict.pop` is atomic, so exactly one of them does. The thread never
    waits for a lock once its deadline is set: an exception raised just after a lock is taken
    would leave the lock held for good."""

    def __init__(self):
        self._condition = threading.Condition()  # wakes the watchdog for a deadline earlier than its wait
        self._pending: dict[_Deadline, bool] = {}
        self._wakes_at = float("inf")
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> _Deadline:
        deadline = _Deadline(seconds)
        with self._condition:  # before the deadline is pending: nothing can be raised in this thread yet
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="qakb-render-deadline", daemon=True)
                self._thread.start()
            self._pending[deadline] = True
            if deadline.due < self._wakes_at:
                self._condition.notify()
        return deadline

    def disarm(self, deadline: _Deadline) -> bool:
        """End `deadline` in its own thread; True if it had passed. No exception is pending on return."""
        if self._pending.pop(deadline, False):
            return False
        try:
            while not deadline.raised:  # the watchdog took it and is about to raise
                time.sleep(0.0001)
            _raise_in(deadline.thread, None)
        except RenderTimeout:
            pass  # raised here rather than in the work
        return True

    def _watch(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                for deadline in list(self._pending):
                    if deadline.due > now:
                        continue
                    remaining = deadline.remaining(now)
                    if remaining > 0.0:  # the thread waited for a core part of the time: wait for its CPU time
                        deadline.due = min(now + max(remaining, 0.01), deadline.backstop)
                    elif self._pending.pop(deadline, False):
                        _raise_in(deadline.thread, RenderTimeout)
                        deadline.raised = True
                self._wakes_at = min((deadline.due for deadline in list(self._pending)), default=float("inf"))
                self._condition.wait(self._wakes_at - now if self._wakes_at < float("inf") else None)


# Process machinery, not rebuild state: the one thread that times every render in the process,
# whichever build it is part of; it keeps nothing of a build for the next (a forked child makes its own).
_watchdog = _Watchdog()


def _new_watchdog_after_fork() -> None:
    """A forked child has none of its parent's threads (nor a usable copy of its lock)."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog_after_fork)


def within_deadline(seconds: float, work):
    """`work()`, or `RenderTimeout` once it has run `seconds`. Not to be nested in one thread: an outer
    deadline could pass while the inner one takes the watchdog's lock."""
    deadline = _watchdog.arm(seconds)
    try:
        return work()
    finally:
        if _watchdog.disarm(deadline):
            raise RenderTimeout
