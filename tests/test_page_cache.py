"""The plugin's page cache: a rebuild converts only the generated pages whose inputs changed,
and its site is byte for byte the one a build without the cache makes."""

from __future__ import annotations

import functools
import sqlite3

import pytest
from mkdocs.exceptions import Abort
from mkdocs.structure.pages import Page
from test_plugin import build_handed_over, make_site

from qakb import caches
from qakb.plugin.page_cache import stable

# The stand-in runtime lies in the site's own cache folder.
pytestmark = pytest.mark.usefixtures("site_cache_dir")


def build_counting_renders(site, monkeypatch) -> list[str]:
    """Build `site` with mkdocs; the pages whose Markdown was converted, by source path (a kept page
    reaches `Page.render` with none: the plugin's on_page_markdown handed mkdocs "")."""
    converted = []
    render = Page.render

    def counting(page, config, files):
        if page.markdown:
            converted.append(page.file.src_uri)
        return render(page, config, files)

    monkeypatch.setattr(Page, "render", counting)
    build_handed_over(site, strict=True)
    monkeypatch.setattr(Page, "render", render)
    return sorted(converted)


def site_bytes(site) -> dict[str, bytes]:
    return {path.relative_to(site).as_posix(): path.read_bytes() for path in sorted(site.rglob("*")) if path.is_file()}


def rows(site, kind: str) -> int:
    with sqlite3.connect(caches.results(site / "cache")) as db:
        return db.execute("SELECT COUNT(*) FROM entries WHERE kind = ?", (kind,)).fetchone()[0]


def checking_anchors(site):
    with (site / "mkdocs.yml").open("a", encoding="utf-8") as mkdocs_yml:
        mkdocs_yml.write("validation:\n  anchors: warn\n")
    return site


@pytest.mark.slow
def test_a_rebuild_converts_only_changed_generated_pages_and_makes_the_same_site(tmp_path, monkeypatch):
    site = checking_anchors(make_site(tmp_path / "site"))
    generated = site / "build" / "pages"
    (generated / "topics" / "b.md").write_text("# Topic B\n\nSee [topic A](a.md#topic-a).\n", encoding="utf-8")
    first = build_counting_renders(site, monkeypatch)
    assert first == ["about.md", "index.md", "topics/a.md", "topics/b.md"]
    assert rows(site, "page") == 3 and rows(site, "search") == 4
    built_first = site_bytes(site / "site")

    # Nothing changed: only the hand-written page is converted again, and the site is the same.
    assert build_counting_renders(site, monkeypatch) == ["about.md"]
    assert site_bytes(site / "site") == built_first

    # One page changed: it alone is converted; the kept pages' anchors still serve links into them.
    (generated / "topics" / "b.md").write_text("# Topic B\n\nSee [topic A](a.md#topic-a) again.\n", encoding="utf-8")
    assert build_counting_renders(site, monkeypatch) == ["about.md", "topics/b.md"]
    cached_site = site_bytes(site / "site")
    caches.results(site / "cache").unlink()
    build_counting_renders(site, monkeypatch)
    assert site_bytes(site / "site") == cached_site  # same bytes as a build from nothing

    # A link to an anchor a kept page does not have is still reported under --strict.
    (generated / "topics" / "b.md").write_text("# Topic B\n\nSee [topic A](a.md#no-such-anchor).\n", encoding="utf-8")
    with pytest.raises(Abort, match="warnings"):
        build_handed_over(site, strict=True)


@pytest.mark.slow
def test_a_page_rendered_with_a_warning_is_not_kept(tmp_path, monkeypatch):
    site = make_site(tmp_path / "site")
    generated = site / "build" / "pages"
    (generated / "topics" / "a.md").write_text("# Topic A\n\n[gone](missing.md)\n", encoding="utf-8")
    build_handed_over(site, strict=False)  # the warning is logged, the build goes on
    assert rows(site, "page") == 1  # index.md only
    with pytest.raises(Abort):  # converted again, so --strict reports it again
        build_counting_renders(site, monkeypatch)


def test_extension_options_key_the_same_in_every_run():
    def format_fence(source, language, css_class, options, md, **kwargs):
        return source

    class Option:
        pass

    options = {"custom_fences": [{"name": "math", "format": format_fence, "class": Option()}],
               "names": {"b", "a"}, "partial": functools.partial(len)}
    keyed = stable(options)
    assert keyed["custom_fences"][0]["format"].endswith("format_fence")
    assert "0x" not in repr(keyed)
    assert keyed["names"] == ["a", "b"]
    assert keyed == stable(dict(reversed(list(options.items()))))


@pytest.mark.slow
def test_the_search_entries_of_hand_written_pages_are_kept_too(tmp_path, monkeypatch):
    site = make_site(tmp_path / "site")
    for number in range(6):  # more hand-written pages than twice the generated ones
        (site / "docs" / f"notes-{number}.md").write_text(f"# Notes {number}\n\nText {number}.\n", encoding="utf-8")
    build_counting_renders(site, monkeypatch)
    assert rows(site, "page") == 2 and rows(site, "search") == 9  # index, topic A; those, about and the notes
