"""The whole pipeline through the CLI, on a copy of the project: slow (loads the model, runs mkdocs)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import faiss
import numpy as np
import pytest

from projects import QAKB, ROOT, SEED, make_project, qakb, tree_bytes

pytestmark = pytest.mark.slow

EXPECTED_TOPICS = {
    "activation-functions": [1, 2, 3],
    "neural-network-fundamentals": [4, 5, 7, 8, 13, 39],
    "gradient-descent": [6, 30, 31, 32, 33, 36],
    "hyperparameters": [9, 10],
    "regularisation": [11, 12, 37],
    "weight-initialisation": [34, 35],
    "vanishing-exploding-gradients": [24, 25, 26, 27, 28, 38],
    "convolutional-networks": [14, 15, 16, 17, 18, 19],
    "recurrent-networks": [20, 21, 22, 23, 29],
    "generative-models": [40],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("seed") / "project")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr
    return project, result


def metadata(project: Path) -> list[dict]:
    return json.loads((project / "search_index" / "metadata.json").read_text(encoding="utf-8"))


def test_build_reports_progress(built):
    _, result = built
    assert "parsed 40 questions from 1 file(s)" in result.stderr
    assert "placed questions in 10 topics (topics.yml)" in result.stderr
    assert "every item is in the site and the index once" in result.stderr
    assert "Encoding tokens" not in result.stderr and "LOAD REPORT" not in result.stderr


def test_topic_assignment_on_the_seed(built):
    project, _ = built
    placed: dict[str, list[int]] = {}
    for row in metadata(project):
        placed.setdefault(row["topic"], []).append(row["number"])
    assert placed == EXPECTED_TOPICS


def test_every_question_has_its_heading_and_permalink(built):
    project, _ = built
    for row in metadata(project):
        page = (project / "site" / row["url"].split("#")[0] / "index.html").read_text(encoding="utf-8")
        anchor = row["url"].split("#")[1]
        assert page.count(f'id="{anchor}"') == 1
        assert f'<a class="headerlink" href="#{anchor}"' in page


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def test_related_links_resolve_across_topics(built):
    project, _ = built
    site = project / "site"
    pages = {}
    for html_file in site.rglob("*.html"):
        parser = _Links()
        parser.feed(html_file.read_text(encoding="utf-8"))
        pages[html_file] = parser
    cross_topic = 0
    for topic_page in (site / "topics").glob("*/index.html"):
        text = topic_page.read_text(encoding="utf-8")
        related = re.findall(r'<li><a href="([^"]+)">', text.split('qakb-related-title', 1)[1])
        assert related, topic_page
        for href in pages[topic_page].links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (topic_page.parent / unquote(parts.path)).resolve() if parts.path else topic_page
            if target.is_dir():
                target = target / "index.html"
            assert target in pages, f"{topic_page}: broken link {href}"
            if parts.fragment:
                assert unquote(parts.fragment) in pages[target].ids, f"{topic_page}: broken anchor {href}"
            if parts.path.startswith("../") and parts.fragment:
                cross_topic += 1
    assert cross_topic > 20


def test_related_lists_have_three_to_five_other_questions(built):
    project, _ = built
    page = (project / "build" / "pages" / "topics" / "activation-functions.md").read_text(encoding="utf-8")
    sections = page.split("\n## ")[1:-1]
    for section in sections:
        related = [line for line in section.splitlines() if line.startswith("- [")]
        anchor = re.search(r"\{ #([^ ]+) \}", section).group(1)
        assert 3 <= len(related) <= 5
        assert not any(f"#{anchor})" in line for line in related)


def test_pages_end_with_their_sources_and_flag_reviews(built):
    project, _ = built
    page = (project / "site" / "topics" / "generative-models" / "index.html").read_text(encoding="utf-8")
    assert "Needs review" in page
    tail = page.split('id="sources"', 1)[1]
    assert 'href="https://www.interviewbit.com/deep-learning-interview-questions/"' in tail


def test_home_lists_topics_with_counts(built):
    project, _ = built
    home = (project / "build" / "pages" / "index.md").read_text(encoding="utf-8")
    for slug, numbers in EXPECTED_TOPICS.items():
        assert re.search(rf"\]\(topics/{slug}\.md\) \| {len(numbers)} \|", home), slug


def test_index_round_trip_with_faiss(built):
    project, _ = built
    index_dir = project / "search_index"
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["count"] == 40 and manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    for name, entry in manifest["files"].items():
        data = (index_dir / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"]), name
    passages = json.loads((index_dir / manifest["passages"]["file"]).read_text(encoding="utf-8"))
    assert len(passages) == 40 and all(passages)  # every answer of this bank has text
    rows_of = {"transformer": 40, "static": 40, "passages": sum(map(len, passages))}
    for kind, spec in manifest["indexes"].items():
        index = faiss.read_index(str(index_dir / spec["file"]))
        assert (index.ntotal, index.d, index.metric_type) == (rows_of[kind], spec["dim"],
                                                              faiss.METRIC_INNER_PRODUCT), kind
        vectors = index.reconstruct_n(0, index.ntotal)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3), kind
    rows = metadata(project)
    assert [row["number"] for row in rows] == list(range(1, 41))
    assert set(rows[0]) == {"id", "number", "question", "topic", "topic_title", "url", "needs_review", "difficulty",
                            "source"}
    # Each question is its own nearest neighbour in the transformer index.
    index = faiss.read_index(str(index_dir / "transformer.faiss"))
    _, nearest = index.search(index.reconstruct_n(0, 40), 1)
    assert nearest[:, 0].tolist() == list(range(40))


def test_ask_end_to_end(built):
    project, _ = built
    result = qakb(project, "ask", "why does my loss become nan")
    assert result.returncode == 0, result.stderr
    firsts = [line for line in result.stdout.splitlines() if line.startswith((" 1. ", " 2. "))]
    assert any("Exploding Gradients" in line for line in firsts)
    # Under each question: the passage of its answer that matched, the query's words marked.
    lines = qakb(project, "ask", "-k", "1", "what does dropout do against overfitting").stdout.splitlines()
    assert "dropout" in lines[0].lower() and "match" in lines[0]
    assert "**overfitting**" in lines[1] and len(lines[1].split()) <= 34
    off_topic = qakb(project, "ask", "banana bread recipe").stdout.splitlines()
    assert off_topic[0] == "no close question in this bank; the nearest ones:"
    assert all("Weak match" in line for line in off_topic if line[:3].strip().rstrip(".").isdigit())
    as_json = json.loads(qakb(project, "ask", "--json", "-k", "3", "convolution pooling layer").stdout)
    assert len(as_json) == 3 and as_json[0]["topic"] == "convolutional-networks"
    assert as_json[0]["url"].startswith("topics/convolutional-networks/#")
    exact = json.loads(qakb(project, "ask", "--exact", "--json", "why does my loss become nan").stdout)
    assert {hit["number"] for hit in exact[:3]} & {27, 28}
    # Output read by a program that went away (`qakb ask ... | head -1`): no traceback, not a success.
    env = {**os.environ, "QAKB_CACHE_DIR": str(ROOT / ".cache")}
    with subprocess.Popen([*QAKB, "--project", str(project), "ask", "gradient"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env) as gone:
        gone.stdout.close()  # no one reads what it writes
        stderr = gone.stderr.read().decode()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and gone.returncode != 0, stderr


def test_rebuild_is_byte_identical_and_reuses_embeddings(built, tmp_path):
    project, _ = built
    before_index, before_pages = tree_bytes(project / "search_index"), tree_bytes(project / "build" / "pages")
    before_site = tree_bytes(project / "site")
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr
    assert "(0 new, 40 from cache)" in result.stderr
    assert tree_bytes(project / "search_index") == before_index
    assert tree_bytes(project / "build" / "pages") == before_pages
    after_site = tree_bytes(project / "site")
    assert set(after_site) == set(before_site)
    assert [name for name in after_site if after_site[name] != before_site[name]
            and not name.startswith("sitemap.xml")] == []


def test_plain_mkdocs_build_strict_into_a_folder_outside_the_project(built, tmp_path):
    """The plugin runs the pipeline (with the index and pages of the build before it, nothing is new) and
    stages the site beside the folder it goes to, so that it is swapped in with a rename."""
    project, _ = built
    result = subprocess.run([str(Path(QAKB[0]).parent / "mkdocs"), "build", "--strict", "-q",
                             "-f", str(project / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                            capture_output=True, text=True, cwd=project,
                            env={**os.environ, "QAKB_CACHE_DIR": str(ROOT / ".cache")})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "topics" / "convolutional-networks" / "index.html").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]


BANK = SEED.name
BAD_BANKS = {
    "unclosed code fence": (lambda text: text.replace("5. `What is the use of the loss function?`\n",
                                                      "5. `What is the use of the loss function?`\n```python\n"),
                            f"content/{BANK}:39: the code fence ``` opened here in item 5 is never closed"),
    "empty answer": (lambda text: text.replace(
        "Use the ReLU activation function instead of the sigmoid function\n"
        "Initialize neural networks using Xavier initialization that works with tanh activation.\n", ""),
        f"content/{BANK}:232: item 38 has an empty answer"),
    "duplicated number": (lambda text: text.replace("7. `What is forward", "6. `What is forward"),
                          f"content/{BANK}:49: item number 6 is used twice (first at line 41)"),
    "non-UTF-8 bytes": (lambda text: text.replace("Tanh", "Tanh \udce9"),
                        f"content/{BANK}:19: not valid UTF-8 (byte 0xe9)"),
}


def _write(bank: Path, text: str) -> None:
    bank.write_bytes(text.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("problem", sorted(BAD_BANKS))
def test_bad_input_keeps_previous_site_and_index(built, problem):
    project, _ = built
    before = tree_bytes(project / "search_index"), tree_bytes(project / "site")
    bank = project / "content" / BANK
    good = bank.read_text(encoding="utf-8")
    edit, message = BAD_BANKS[problem]
    try:
        _write(bank, edit(good))
        result = qakb(project, "build")
        assert result.returncode == 1
        error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(error_lines) == 1 and message in error_lines[0], result.stderr
        assert (tree_bytes(project / "search_index"), tree_bytes(project / "site")) == before
        assert qakb(project, "ask", "dropout").returncode == 1, "the index no longer matches the edited bank"
    finally:
        bank.write_text(good, encoding="utf-8")
    assert qakb(project, "ask", "dropout").returncode == 0


def test_a_missing_image_is_a_warning_and_shown_as_its_description(built):
    """A bank published without its images folder still builds (a real bank as its author publishes it)."""
    project, _ = built
    bank = project / "content" / BANK
    good = bank.read_text(encoding="utf-8")
    try:
        bank.write_text(good.replace("5. `What is the use of the loss function?`\n",
                                     "5. `What is the use of the loss function?`\n![a chart](img/loss.png)\n"),
                        encoding="utf-8")
        result = qakb(project, "build")
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
        assert any(f"content/{BANK}:39: image 'img/loss.png' not found" in line for line in warnings), result.stderr
        pages = "".join(path.read_text(encoding="utf-8") for path in (project / "site" / "topics").rglob("*.html"))
        assert '<span class="qakb-missing-image" title="image not found">[a chart]</span>' in pages
    finally:
        bank.write_text(good, encoding="utf-8")
        assert qakb(project, "build").returncode == 0


@pytest.mark.parametrize("setup, message", [
    ("pin", "names unknown topic 'gans'"),
    ("empty content", "no bank files in the content folder (looked for *.md"),
    ("huge file", "over the 8 MiB limit"),
])
def test_bad_project_input_keeps_previous_site_and_index(built, tmp_path, setup, message):
    project, _ = built
    before = tree_bytes(project / "search_index"), tree_bytes(project / "site")
    content = project / "content"
    saved = tmp_path / "content"
    shutil.copytree(content, saved)
    try:
        if setup == "pin":
            topics = content / "topics.yml"
            topics.write_text(topics.read_text(encoding="utf-8").replace(
                "pins: {}", "pins:\n  what-are-generative-adversarial-networks: gans"), encoding="utf-8")
        elif setup == "empty content":
            (content / BANK).unlink()
        else:
            with open(content / "huge.md", "wb") as handle:
                handle.truncate(50 * 1024 * 1024)
        result = qakb(project, "build")
        assert result.returncode == 1
        assert "\nerror: " in "\n" + result.stderr and message in result.stderr, result.stderr
        assert (tree_bytes(project / "search_index"), tree_bytes(project / "site")) == before
    finally:
        shutil.rmtree(content)
        shutil.copytree(saved, content)


def test_clashing_anchors_build_with_a_warning_and_both_kept(tmp_path):
    bank = "> https://example.org/\n1. `What is ReLU?`\nAn activation.\n\n2. `What is ReLU!`\nThe same, shouted.\n"
    project = make_project(tmp_path / "p", {"clash.md": bank})
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr
    assert "warning: clash.md:5: question text makes the same anchor as clash.md:2" in result.stderr
    ids = [row["id"] for row in metadata(project)]
    assert ids == ["what-is-relu", "what-is-relu-2"]


def test_ask_refuses_a_truncated_index(built, tmp_path):
    project, _ = built
    static_index = project / "search_index" / "static.faiss"
    saved = static_index.read_bytes()
    try:
        static_index.write_bytes(saved[: len(saved) // 2])
        result = qakb(project, "ask", "dropout")
        assert result.returncode == 1
        assert "static.faiss" in result.stderr and "qakb build" in result.stderr
    finally:
        static_index.write_bytes(saved)


def test_ask_refuses_an_index_of_other_content(built):
    project, _ = built
    bank = project / "content" / SEED.name
    good = bank.read_text(encoding="utf-8")
    try:
        bank.write_text(good + "\n41. `A new question?`\nIts answer.\n", encoding="utf-8")
        result = qakb(project, "ask", "dropout")
        assert result.returncode == 1
        assert "qakb build" in result.stderr
    finally:
        bank.write_text(good, encoding="utf-8")
    assert qakb(project, "ask", "dropout").returncode == 0


def test_killed_build_leaves_previous_site_and_index_serving(built):
    project, _ = built
    before = tree_bytes(project / "search_index"), tree_bytes(project / "site")
    bank = project / "content" / SEED.name
    good = bank.read_text(encoding="utf-8")
    bank.write_text(good.replace("What is a CNN?", "What is a convolutional network (CNN)?"), encoding="utf-8")
    try:
        process = subprocess.Popen([*QAKB, "--project", str(project), "build"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env={**os.environ,
                                                                   "QAKB_CACHE_DIR": str(ROOT / ".cache")})
        staging_site = project / "build" / "staging" / "site"
        deadline = time.monotonic() + 300
        while not staging_site.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the build ended before it could be killed mid-way"
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert (tree_bytes(project / "search_index"), tree_bytes(project / "site")) == before
    finally:
        bank.write_text(good, encoding="utf-8")
    result = qakb(project, "ask", "--json", "what is a cnn")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["question"] == "What is a CNN?"


def linkcheck(site: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run LinkChecker (with its anchor check) over `site` served on localhost."""
    import threading

    from qakb.serve import make_server

    config = tmp_path / "linkcheckerrc"
    config.write_text("[AnchorCheck]\n", encoding="utf-8")
    server = make_server(site, port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return subprocess.run(
            [str(Path(QAKB[0]).parent / "linkchecker"), "-f", str(config), "--no-status",
             "--ignore-url=/assets/pyodide/", f"http://127.0.0.1:{server.server_address[1]}/"],
            capture_output=True, text=True, timeout=300)
    finally:
        server.shutdown()
        server.server_close()


def test_link_checker_finds_no_broken_link_or_anchor(built, tmp_path):
    project, _ = built
    result = linkcheck(project / "site", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 warnings found. 0 errors found." in result.stdout


def test_link_checker_catches_a_broken_anchor(built, tmp_path):
    """The check above can fail: a site with one broken anchor does not pass."""
    import shutil

    project, _ = built
    broken = tmp_path / "site"
    shutil.copytree(project / "site", broken)
    page = broken / "topics" / "hyperparameters" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</article>", '<a href="../regularisation/#no-such-answer">x</a></article>', 1), encoding="utf-8")
    result = linkcheck(broken, tmp_path)
    assert "1 warning found" in result.stdout and "0 errors found" in result.stdout
    assert "no-such-answer" in result.stdout


def test_nothing_lost_check_fails_when_an_answer_is_missing_from_the_site(built, tmp_path):
    from qakb.build import BuildError, check_nothing_lost
    from qakb.parse import parse_content

    project, _ = built
    questions = list(parse_content(project / "content").questions)
    url_of = {row["id"]: row["url"] for row in metadata(project)}
    site = tmp_path / "site"
    shutil.copytree(project / "site", site)
    check_nothing_lost(questions, url_of, project / "search_index", site)
    page = site / "topics" / "generative-models" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        'id="what-are-generative-adversarial-networks"', 'id="something-else"'), encoding="utf-8")
    with pytest.raises(BuildError, match=r"ml-dl-interview-qa.md:239: item 40 appears 0 time\(s\)"):
        check_nothing_lost(questions, url_of, project / "search_index", site)
    with pytest.raises(BuildError, match="the index does not hold every item exactly once"):
        check_nothing_lost(questions[:-1], url_of, project / "search_index", project / "site")


def test_export_anki_writes_the_deck_the_site_offers(built, tmp_path, monkeypatch):
    import sqlite3
    import zipfile

    project, _ = built
    home = (project / "build" / "pages" / "index.md").read_text(encoding="utf-8")
    assert "[download the Anki deck](ml-dl-interview-q-a.apkg)" in home
    # The notes' modification time is the bank's mtime, which earlier tests moved: export with the site's.
    with zipfile.ZipFile(project / "site" / "ml-dl-interview-q-a.apkg") as package:
        (tmp_path / "site.anki2").write_bytes(package.read("collection.anki2"))
    connection = sqlite3.connect(tmp_path / "site.anki2")
    (modified,) = connection.execute("SELECT DISTINCT mod FROM notes").fetchone()
    connection.close()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(modified))
    result = qakb(project, "export", "anki", "-o", str(tmp_path / "deck.apkg"))
    assert result.returncode == 0, result.stderr
    assert "an Anki deck of 40 notes" in result.stdout
    assert (tmp_path / "deck.apkg").read_bytes() == (project / "site" / "ml-dl-interview-q-a.apkg").read_bytes()


def deck_guids(deck: Path, folder: Path) -> dict[str, str]:
    import sqlite3
    import zipfile

    with zipfile.ZipFile(deck) as package:
        (folder / "collection.anki2").write_bytes(package.read("collection.anki2"))
    connection = sqlite3.connect(folder / "collection.anki2")
    try:
        return {fields.split("\x1f")[1]: guid for guid, fields in connection.execute("SELECT guid, flds FROM notes")}
    finally:
        connection.close()


@pytest.mark.browser
def test_a_reworded_question_keeps_its_old_link_and_its_anki_note(built, tmp_path, open_page):
    """The record of former anchors lives in content/, so a copy of the project (a clean clone) has it."""
    from conftest import serve

    project, _ = built
    assert json.loads((project / "content" / "anchors.json").read_text(encoding="utf-8"))["format"] == "qakb-anchors"
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("mkdocs.yml", "docs", "content"):
        (shutil.copytree if (project / name).is_dir() else shutil.copy2)(project / name, clone / name)
    bank = clone / "content" / SEED.name
    bank.write_text(bank.read_text(encoding="utf-8").replace(
        "14. ??? `What is a CNN?`", "14. ??? `What is a convolutional neural network (CNN)?`"), encoding="utf-8")
    result = qakb(clone, "build")
    assert result.returncode == 0, result.stderr
    old, new = "what-is-a-cnn", "what-is-a-convolutional-neural-network-cnn"
    assert f"old links to #{old} now lead to #{new} (the same answer)" in result.stderr
    record = json.loads((clone / "content" / "anchors.json").read_text(encoding="utf-8"))
    assert {"anchor": new, "id": old, "former": [old]}.items() <= next(
        item for item in record["items"] if item["anchor"] == new).items()
    links = json.loads((clone / "site" / "links.json").read_text(encoding="utf-8"))
    assert links[old] == links[new] and links[new].endswith(f"/#{new}")
    assert deck_guids(clone / "site" / "ml-dl-interview-q-a.apkg", tmp_path) == {
        answer: guid for answer, guid in deck_guids(project / "site" / "ml-dl-interview-q-a.apkg", tmp_path).items()}

    server = serve(clone / "site")
    try:
        page = open_page().page
        topic_url = server.url + links[new].split("#")[0]
        for opened in (f"{topic_url}#{old}", f"{server.url}#{old}"):
            page.goto(opened)
            page.wait_for_url(f"{topic_url}#{new}")
            page.wait_for_selector(f".qakb-highlight [id='{new}']")
            assert page.locator(f"[id='{new}']").is_visible()
            header = page.locator(".md-header").bounding_box()
            box = page.locator(f"[id='{new}']").bounding_box()
            assert header["y"] + header["height"] <= box["y"] < page.viewport_size["height"] / 2, \
                "scrolled to the renamed question, below the sticky header"
    finally:
        server.stop()


def test_pages_written_by_the_worker_process_are_the_pages_written_in_process(built, tmp_path, monkeypatch):
    """A big bank's pages and deck are written by another process while the index is written;
    the seed, built with that process too, gives the same pages, links and deck byte for byte."""
    from qakb import build
    from qakb.config import load_settings

    project, _ = built
    copy = tmp_path / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("site", "build"))
    monkeypatch.setenv("QAKB_CACHE_DIR", str(ROOT / ".cache"))
    children = []
    real_popen = build.subprocess.Popen
    monkeypatch.setattr(build.subprocess, "Popen", lambda *args, **kwargs: children.append(args[0])
                        or real_popen(*args, **kwargs))
    build.build(load_settings(copy), log=lambda line: None)  # 40 questions: written here
    assert children == []
    in_process = tree_bytes(copy / "build" / "pages")
    monkeypatch.setattr(build, "PARALLEL_PAGES_FROM", 0)
    build.build(load_settings(copy), log=lambda line: None)
    assert [command[1:3] for command in children] == [["-m", "qakb.build"]]
    assert tree_bytes(copy / "build" / "pages") == in_process
