"""`qakb serve --watch`: one process serves the site and rebuilds it when its inputs change."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from projects import QAKB, ROOT, SEED, make_project
from qakb.config import load_settings
from qakb.watch import inputs_hash, watch_and_build

BANK = """## A small bank

1. `What is a hash table?`
A table of buckets indexed by a hash of the key.

2. `What is a heap?`
A tree in which every parent is ordered before its children.
"""


def small_project(where: Path) -> Path:
    return make_project(where, bank={"bank.md": BANK}, topics="")


def test_the_inputs_hash_follows_the_bank_the_pages_and_mkdocs_yml_but_not_the_link_record(tmp_path):
    project = small_project(tmp_path / "p")
    (project / "content" / "topics.yml").unlink()
    settings = load_settings(project)
    first = inputs_hash(settings)
    (project / "content" / "anchors.json").write_text("{}", encoding="utf-8")  # the build writes it
    (project / "site").mkdir()
    (project / "site" / "index.html").write_text("built", encoding="utf-8")
    assert inputs_hash(settings) == first
    for path, text in ((project / "content" / "bank.md", BANK + "\n3. `What is a trie?`\nA prefix tree.\n"),
                       (project / "docs" / "about.md", "# About\n\nNew words.\n"),
                       (project / "mkdocs.yml", (project / "mkdocs.yml").read_text() + "\n# a comment\n"),
                       (project / "content" / "images" / "plot.png", "not really a png")):
        before = inputs_hash(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        assert inputs_hash(settings) != before, path


class Builds:
    """Records each build a watcher asks for, and fails the builds it is told to."""

    def __init__(self):
        self.done: queue.Queue[str] = queue.Queue()
        self.fail_next = False

    def __call__(self, settings) -> None:
        text = (settings.content_dir / "bank.md").read_text(encoding="utf-8")
        # What a build writes into the watched folders must not start another build.
        (settings.content_dir / "anchors.json").write_text(str(time.time()), encoding="utf-8")
        if self.fail_next:
            self.fail_next = False
            self.done.put("failed")
            raise ValueError("bank.md:3: something is wrong")
        self.done.put(text)

    def next(self, timeout: float = 10) -> str:
        return self.done.get(timeout=timeout)

    def none_within(self, seconds: float) -> bool:
        try:
            self.done.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


def test_the_watcher_builds_at_start_after_each_change_and_goes_on_after_a_failed_build(tmp_path):
    project = small_project(tmp_path / "p")
    bank = project / "content" / "bank.md"
    builds, stop, logged = Builds(), threading.Event(), []
    watcher = threading.Thread(target=watch_and_build, args=(project, builds, logged.append, stop), daemon=True)
    watcher.start()
    try:
        assert builds.next() == BANK
        assert builds.none_within(1.5), "the build's own write to anchors.json started another build"

        bank.write_text(BANK.replace("buckets", "slots"), encoding="utf-8")
        assert "slots" in builds.next()
        bank.write_text(BANK.replace("buckets", "slots"), encoding="utf-8")  # saved, nothing changed
        assert builds.none_within(1.5)

        builds.fail_next = True
        bank.write_text(BANK.replace("buckets", "bins"), encoding="utf-8")
        assert builds.next() == "failed"
        assert "error: bank.md:3: something is wrong" in logged
        assert builds.none_within(1.5), "a failed build is retried only after another change"
        bank.write_text(BANK.replace("buckets", "cells"), encoding="utf-8")
        assert "cells" in builds.next()

        # Several quick saves (a bank saved file by file) make one build of the last state.
        for word in ("one", "two", "three"):
            bank.write_text(BANK.replace("buckets", word), encoding="utf-8")
            time.sleep(0.05)
        assert "three" in builds.next()
        assert builds.none_within(1.5)
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_line(lines: queue.Queue, fragment: str, timeout: float) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"no line with {fragment!r} in {timeout} s; the output was:\n" + "".join(seen[-40:]))


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8")


@pytest.mark.slow
@pytest.mark.browser
def test_serve_watch_rebuilds_after_an_edit_and_keeps_serving_through_a_broken_save(tmp_path, open_page):
    project = make_project(tmp_path / "p")
    bank = project / "content" / SEED.name
    topics = project / "content" / "topics.yml"
    port = free_port()
    env = {**os.environ, "QAKB_CACHE_DIR": str(ROOT / ".cache")}
    process = subprocess.Popen([*QAKB, "--project", str(project), "serve", "--watch", "--port", str(port)],
                               stderr=subprocess.STDOUT, stdout=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        wait_for_line(lines, "watching for changes", 600)
        page_url = f"http://127.0.0.1:{port}/topics/activation-functions/"
        assert "keeping the value of the output" in get(page_url)
        build = get(f"http://127.0.0.1:{port}/__qakb_build")
        reader = open_page().page  # a reader who keeps the page open while the bank is edited
        reader.goto(page_url)

        text = bank.read_text(encoding="utf-8")
        # Words no earlier run wrote (the cache is shared): the edited answer is rendered and embedded.
        edited = f"holding the value of the output (edit {time.time_ns()})"
        bank.write_text(text.replace("keeping the value of the output", edited, 1), encoding="utf-8")
        rebuilt = wait_for_line(lines, "watching for changes", 300)
        assert any("1 rendered" in line for line in rebuilt), "".join(rebuilt)
        assert any("(1 new," in line for line in rebuilt), "one edited answer, one text embedded"
        page = get(page_url)
        assert edited in page and "keeping the value of the output" not in page
        assert get(f"http://127.0.0.1:{port}/__qakb_build") != build
        # The open page reloads itself (the watching server's script), with no reload by the reader.
        reader.wait_for_function("text => document.body.innerText.includes(text)", arg=edited, timeout=20_000)

        good_topics = topics.read_text(encoding="utf-8")
        topics.write_text("topics:\n  - [unclosed\n", encoding="utf-8")
        failed = wait_for_line(lines, "save a fix and it builds again", 120)
        assert any(line.startswith("error:") and "topics.yml" in line for line in failed), "".join(failed)
        assert edited in get(page_url), "the last site that built is still served"

        topics.write_text(good_topics, encoding="utf-8")
        wait_for_line(lines, "watching for changes", 300)
        assert edited in get(page_url)
    finally:
        process.terminate()
        process.wait(timeout=30)
