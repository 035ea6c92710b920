"""Plain mkdocs commands in a qakb site: `mkdocs build`, `mkdocs gh-deploy` and `mkdocs serve` run the
whole pipeline through the plugin (qakb.plugin.pipeline), as `qakb build` does, with no `qakb build` first.

Each test works on a site `qakb new` made of its example bank, in a temporary folder, run by the
`mkdocs` command as a user types it; the cache (model, embeddings, runtime) is this checkout's."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import page_search_config
from projects import ROOT, qakb, tree_bytes
from test_watch import free_port, get, wait_for_line

pytestmark = pytest.mark.slow

MKDOCS = str(Path(sys.executable).parent / "mkdocs")
BANK = "content/example-bank.md"
QUESTIONS = 4  # in qakb/site_template/example-bank.md
# Git's identity for the commits gh-deploy makes (a test machine may have none).
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "qakb tests", "GIT_AUTHOR_EMAIL": "tests@example.org",
                "GIT_COMMITTER_NAME": "qakb tests", "GIT_COMMITTER_EMAIL": "tests@example.org"}


def environment() -> dict[str, str]:
    return {**os.environ, "QAKB_CACHE_DIR": str(ROOT / ".cache"), "NO_MKDOCS_2_WARNING": "1", **GIT_IDENTITY}


def mkdocs(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([MKDOCS, *args], cwd=project, capture_output=True, text=True, env=environment(),
                          timeout=timeout)


def outputs(project: Path) -> dict[str, dict[str, bytes]]:
    """What a build puts in place: the site, the search index and the generated pages."""
    return {name: tree_bytes(project / name) for name in ("site", "search_index", "build/pages")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A site `qakb new` made, then `mkdocs build --strict` in it, with no `qakb build` before."""
    project = tmp_path_factory.mktemp("plain-mkdocs") / "site"
    result = qakb(ROOT, "new", str(project))
    assert result.returncode == 0, result.stderr
    return project, mkdocs(project, "build", "--strict")


def copy_of(built, where: Path) -> Path:
    project, result = built
    assert result.returncode == 0, result.stderr[-3000:]
    return shutil.copytree(project, where / "site")


def test_mkdocs_build_in_a_new_site_runs_the_whole_pipeline(built):
    project, result = built
    assert result.returncode == 0, result.stderr[-3000:]
    for step in (f"parsed {QUESTIONS} questions from 1 file(s)", "embedded with all-MiniLM-L6-v2",
                 "wrote the search index", "every item is in the site and the index once",
                 "done: site/ and search_index/ are up to date"):
        assert step in result.stderr, step
    site = project / "site"
    assert page_search_config(site)["index"] == "search_index/"
    manifest = json.loads((project / "search_index" / "manifest.json").read_text(encoding="utf-8"))
    index = tree_bytes(project / "search_index")
    shipped = {name: data for name, data in tree_bytes(site / "search_index").items()
               if not name.endswith((".gz", ".br"))}
    assert set(manifest["files"]) <= set(index) and set(manifest["upfront"]) <= set(shipped)
    assert {name: index.get(name) for name in shipped} == shipped
    metadata = json.loads((site / "search_index" / "metadata.json").read_text(encoding="utf-8"))
    assert len(metadata) == QUESTIONS
    for item in metadata:
        page, _, anchor = item["url"].partition("#")
        assert f'id="{anchor}"' in (site / page / "index.html").read_text(encoding="utf-8"), item["url"]
    assert (site / "search" / "search_index.json").is_file()  # Material's keyword search, until ours is ready
    assert (site / "assets" / "pyodide" / "pyodide-lock.json").is_file()
    assert (project / "build" / "pages" / "nav.json").is_file()
    assert (project / "content" / "anchors.json").is_file()
    assert not (project / "build" / "staging").exists()


def test_qakb_build_after_it_writes_the_same_index_pages_and_site(built, tmp_path):
    project = copy_of(built, tmp_path)
    before = outputs(project)
    result = qakb(project, "build")
    assert result.returncode == 0, result.stderr[-3000:]
    after = outputs(project)
    assert after["search_index"] == before["search_index"] and after["build/pages"] == before["build/pages"]
    assert set(after["site"]) == set(before["site"])
    # The sitemap carries the build's date.
    assert [name for name in after["site"] if after["site"][name] != before["site"][name]
            and not name.startswith("sitemap.xml")] == []


def test_a_second_mkdocs_build_reuses_the_caches(built, tmp_path):
    project = copy_of(built, tmp_path)
    before = outputs(project)
    result = mkdocs(project, "build", "--strict")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"rendered the answers' Markdown (0 rendered, {QUESTIONS} from cache)" in result.stderr
    assert f"embedded with all-MiniLM-L6-v2 (0 new, {QUESTIONS} from cache)" in result.stderr
    assert "(0 question(s) embedded, the rest from cache)" in result.stderr
    assert "(0 new bank passages embedded)" in result.stderr
    after = outputs(project)
    assert after["search_index"] == before["search_index"] and after["build/pages"] == before["build/pages"]


def duplicate_number(project: Path) -> str:
    bank = project / BANK
    bank.write_text(bank.read_text(encoding="utf-8").replace("2. `How do you read", "1. `How do you read"),
                    encoding="utf-8")
    return f"{BANK}:11: item number 1 is used twice (first at line 5)"


def broken_link_in_a_hand_written_page(project: Path) -> str:
    with (project / "docs" / "about.md").open("a", encoding="utf-8") as page:
        page.write("\n[gone](no-such-page.md)\n")
    return "1 warning(s) in strict mode: the site, the index and the pages stay as they were"


@pytest.mark.parametrize("mistake", [duplicate_number, broken_link_in_a_hand_written_page])
def test_a_failed_mkdocs_build_says_why_and_leaves_the_last_site_index_and_pages(built, tmp_path, mistake):
    project = copy_of(built, tmp_path)
    before = outputs(project)
    message = mistake(project)
    result = mkdocs(project, "build", "--strict")
    assert result.returncode != 0
    assert any(line.startswith("ERROR") and line.endswith(message) for line in result.stderr.splitlines()), \
        result.stderr[-3000:]
    assert outputs(project) == before


def test_gh_deploy_pushes_the_built_site_to_the_gh_pages_branch(built, tmp_path):
    project = copy_of(built, tmp_path)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "the site's sources"],
                    ["remote", "add", "origin", str(remote)]):
        subprocess.run(["git", *command], cwd=project, check=True, env=environment())
    result = mkdocs(project, "gh-deploy", "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "every item is in the site and the index once" in result.stderr
    listed = subprocess.run(["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "gh-pages"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert {"index.html", ".nojekyll", "search/search_index.json", "assets/pyodide/pyodide-lock.json"} <= set(listed)
    assert {f"search_index/{name}" for name in tree_bytes(project / "site" / "search_index")} <= set(listed)
    deployed = subprocess.run(["git", "--git-dir", str(remote), "show", "gh-pages:index.html"],
                              capture_output=True, text=True, check=True).stdout
    assert deployed == (project / "site" / "index.html").read_text(encoding="utf-8")


def test_mkdocs_serve_rebuilds_after_a_bank_edit_and_after_a_fixed_mistake(built, tmp_path):
    project = copy_of(built, tmp_path)
    bank = project / BANK
    port = free_port()
    process = subprocess.Popen([MKDOCS, "serve", "--dev-addr", f"127.0.0.1:{port}"], cwd=project, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    page_url = f"http://127.0.0.1:{port}/topics/python/"
    try:
        first = wait_for_line(lines, "Serving on", 300)
        assert any("every item is in the site and the index once" in line for line in first)
        assert any("'content'" in line for line in first if "Watching paths" in line), "the bank folder is watched"
        text = bank.read_text(encoding="utf-8")
        assert "so it can be a dictionary key" in get(page_url)
        assert json.loads(get(f"http://127.0.0.1:{port}/search_index/manifest.json"))["files"]

        # Words no earlier run wrote (the cache is shared): the edited answer is rendered and embedded.
        edited = f"so it can be a key of a mapping (edit {time.time_ns()})"
        bank.write_text(text.replace("so it can be a dictionary key", edited), encoding="utf-8")
        rebuilt = wait_for_line(lines, "Reloading browsers", 300)
        assert any("(1 rendered, 3 from cache)" in line for line in rebuilt), "".join(rebuilt)
        assert any("(1 new, 3 from cache)" in line for line in rebuilt), "".join(rebuilt)
        assert edited in get(page_url)
        if any("updated content/anchors.json" in line for line in rebuilt):
            # The build's own write to the bank folder wakes mkdocs again: that build runs no pipeline.
            again = wait_for_line(lines, "Reloading browsers", 120)
            assert any("are as the last build left them" in line for line in again), "".join(again)
            assert not any("parsed" in line for line in again)

        # A mistake: the error at its line, and the index and pages in place are left as they were. (mkdocs
        # serve holds requests back until a build succeeds again, whatever failed: its own behaviour.)
        last_built = {name: tree_bytes(project / name) for name in ("search_index", "build/pages")}
        bank.write_text(text.replace("2. `How do you read", "1. `How do you read"), encoding="utf-8")
        failed = wait_for_line(lines, "An error happened during the rebuild", 120)
        assert any(f"{BANK}:11: item number 1 is used twice" in line for line in failed), "".join(failed)
        assert {name: tree_bytes(project / name) for name in last_built} == last_built

        bank.write_text(text, encoding="utf-8")
        wait_for_line(lines, "Reloading browsers", 300)
        assert "so it can be a dictionary key" in get(page_url)
    finally:
        process.terminate()
        process.wait(timeout=30)
