"""The build's own machinery, without the model: the new site swapped in, the pages process and
the build lock, the ids read from a page (tests/test_build.py runs the whole build)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from projects import make_project
from qakb.build import element_ids


def test_element_ids_reads_every_id_attribute_and_no_text():
    page = ('<h3 id="what-is-x">What is <code>id="x"</code>?</h3><p>id=&quot;y&quot; in text</p>'
            "<a class='headerlink' id='z&amp;w' href='#z'>¶</a><div data-id=\"not-this\"></div>")
    assert element_ids(page) == ["what-is-x", "z&w"]


def test_the_replaced_folder_is_moved_aside_at_once_and_deleted_in_the_background(tmp_path, monkeypatch):
    from qakb import build
    from qakb.session import BuildSession

    trash = tmp_path / "build" / build.TRASH_DIR
    dest, new = tmp_path / "site", tmp_path / "build" / "staging-site"
    for folder, text in ((dest, "old"), (new, "new")):
        (folder / "page").mkdir(parents=True)
        (folder / "page" / "index.html").write_text(text)
    release = threading.Event()
    real_rmtree = shutil.rmtree

    def slow_rmtree(path, *args, **kwargs):  # the background deletion waits until released
        if Path(path).parent == trash:
            release.wait(10)
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(build.shutil, "rmtree", slow_rmtree)
    deletions = BuildSession().deletions
    build.swap_in(new, dest, trash, deletions)
    assert (dest / "page" / "index.html").read_text() == "new" and not new.exists()
    assert not (tmp_path / "site.previous").exists()
    [moved] = list(trash.iterdir())  # out of the way, not deleted yet
    build.empty_trash(trash, deletions)  # a rebuild starting now leaves what this session is deleting alone
    assert moved.exists()
    release.set()
    for thread in [t for t in threading.enumerate() if t.name == "qakb-discard"]:
        thread.join(10)
    assert list(trash.iterdir()) == []
    (trash / "site-left-by-a-killed-build" / "x").mkdir(parents=True)
    build.empty_trash(trash, deletions)
    assert list(trash.iterdir()) == []


def test_an_error_in_the_pages_process_is_raised_by_the_build(tmp_path):
    from qakb import build

    pages_dir = tmp_path / "staging" / "pages"
    pages_dir.mkdir(parents=True)
    broken = build.PagesJob(bank=None, answers={}, topics=(), topic_of={}, related_of={}, part_of={}, record=None,
                            deck_file="deck.apkg", pages_dir=pages_dir, links="{}", deck_timestamp=0,
                            site_name="Site", site_description="", site_url="")
    writing = build.PagesWriting(broken, in_parallel=True)
    with pytest.raises(AttributeError, match="NoneType"):
        writing.result()
    with pytest.raises(AttributeError, match="NoneType"):
        build.PagesWriting(broken, in_parallel=False)


def test_the_pages_process_holds_the_build_lock_while_it_writes(tmp_path):
    """If a build is killed while its child writes the pages, a new build must not start and clear
    the staging folder under it: the child holds the build's lock until it ends."""
    from qakb import build
    from qakb.config import load_settings

    project = make_project(tmp_path / "project")
    settings = load_settings(project)
    pages_dir = settings.staging_dir / "pages"
    pages_dir.mkdir(parents=True)
    slow = build.PagesJob(bank=None, answers={}, topics=(), topic_of={}, related_of={}, part_of={}, record=None,
                          deck_file="deck.apkg", pages_dir=pages_dir, links="{}", deck_timestamp=0,
                          site_name="Site", site_description="", site_url="")
    with build.build_lock(settings) as lock:
        writing = build.PagesWriting(slow, in_parallel=True, lock=lock)
        os.kill(writing.process.pid, signal.SIGSTOP)  # still starting Python: hold it there
    try:
        # The build's own hold has ended (its process "was killed"); the child's has not.
        with pytest.raises(build.BuildError, match=r"another build \(`qakb build` or a mkdocs command\) is running"):
            with build.build_lock(settings):
                pass
    finally:
        os.kill(writing.process.pid, signal.SIGCONT)
    writing.wait()
    with build.build_lock(settings):
        pass
