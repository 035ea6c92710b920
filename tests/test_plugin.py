"""The qakb mkdocs plugin on a tiny site folder: what it checks, what it adds, how it links media.

The site's generated pages, index and npm runtime are small stand-ins written by the
tests (the runtime as a filled install folder in the cache), so mkdocs runs for real
in a second or two and no network, Node or model is needed; the tests that run it are
marked slow, as every site build is.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import get_files

from qakb import caches
from qakb.plugin import (MARKDOWN_EXTENSIONS, MEDIA_DIR, MEDIA_URL_PREFIX, NAV_FILE, PRACTICE_PAGE, SCRIPTS,
                         STYLESHEETS, WIDGET_DIR, engine_wheel, katex, link_media, runtime, scheduler, search_assets)
from qakb.session import BuildSession

# The stand-in runtime lies in the site's own cache folder.
pytestmark = pytest.mark.usefixtures("site_cache_dir")

FONT_FACE = ('@font-face{font-family:KaTeX_Main;src:url(fonts/KaTeX_Main-Regular.woff2) format("woff2"),'
             'url(fonts/KaTeX_Main-Regular.woff) format("woff"),'
             'url(fonts/KaTeX_Main-Regular.ttf) format("truetype")}.katex{font:normal 1.21em KaTeX_Main}')
MKDOCS_YML = """site_name: Tiny bank
theme:
  name: {theme}
plugins:
  - search
  - qakb:
      cache_dir: cache
      pyodide_snapshot: false
      trim_stdlib: false
markdown_extensions:
  - toc:
      permalink: "#"
"""
TOPIC_PAGE = f"""# Topic A

<div class="answer"><p><img alt="a plot" src="{MEDIA_URL_PREFIX}plot.png"></p>
<p><a href="{MEDIA_URL_PREFIX}notes.pdf">notes</a></p></div>

Inline math \\(x^2\\).
"""


def make_site(folder: Path, theme: str = "material", nav: bool = True, index: bool = True,
              runtime_installed: bool = True) -> Path:
    """A site folder as `qakb build` leaves it for mkdocs, with stand-ins for the heavy parts."""
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "about.md").write_text("# About\n", encoding="utf-8")
    (folder / "mkdocs.yml").write_text(MKDOCS_YML.format(theme=theme), encoding="utf-8")
    pages = folder / "build" / "pages"
    (pages / "topics").mkdir(parents=True)
    (pages / MEDIA_DIR).mkdir()
    (pages / "index.md").write_text("# Tiny bank\n\n[Topic A](topics/a.md)\n", encoding="utf-8")
    (pages / "topics" / "a.md").write_text(TOPIC_PAGE, encoding="utf-8")
    (pages / MEDIA_DIR / "plot.png").write_bytes(b"\x89PNG stand-in")
    (pages / MEDIA_DIR / "notes.pdf").write_bytes(b"%PDF stand-in")
    if nav:
        (pages / NAV_FILE).write_text(json.dumps([{"title": "Topic A", "path": "topics/a.md"}]), encoding="utf-8")
    if index:
        (folder / "search_index").mkdir()
        (folder / "search_index" / "metadata.json").write_text("[]", encoding="utf-8")
        (folder / "search_index" / "manifest.json").write_text(json.dumps({
            "content_hash": "sha256:abc",
            "indexes": {"static": {"file": "static.faiss"}},
            "files": {"metadata.json": {"sha256": "11" * 32}},
            "upfront": ["metadata.json"],
        }), encoding="utf-8")
    if runtime_installed:
        node_modules = runtime.install_folder(folder / "cache") / "node_modules"
        pyodide = node_modules / "pyodide"
        pyodide.mkdir(parents=True)
        for name in search_assets.PYODIDE_BOOT_FILES:
            (pyodide / name).write_bytes(b"")
        (pyodide / "pyodide-lock.json").write_text(json.dumps({"info": {
            "arch": "wasm32", "platform": "emscripten_5_0_3", "python": "3.14.2", "abi_version": "2026_0"},
            "packages": {}}), encoding="utf-8")  # the engine's wheel is added to it
        reuse_engine_wheel(folder / "cache", pyodide / "pyodide-lock.json")
        (pyodide / "package.json").write_text('{"version": "314.0.7"}', encoding="utf-8")
        dist = node_modules / "katex" / "dist"
        (dist / "fonts").mkdir(parents=True)
        (dist / katex.SCRIPT).write_text("window.katex = {render() {}};", encoding="utf-8")
        (dist / katex.STYLESHEET).write_text(FONT_FACE, encoding="utf-8")
        for suffix in ("woff2", "woff", "ttf"):
            (dist / "fonts" / f"KaTeX_Main-Regular.{suffix}").write_bytes(b"font")
        fsrs = node_modules / "ts-fsrs"
        (fsrs / "dist").mkdir(parents=True)
        (fsrs / "dist" / scheduler.MODULE).write_text("export const fsrs = () => ({});", encoding="utf-8")
        (fsrs / scheduler.LICENSE).write_text("MIT License", encoding="utf-8")
    return folder


_built_engine: list[Path] = []


def reuse_engine_wheel(cache: Path, lock: Path) -> None:
    """Build the engine's wheel once for all these sites (same sources, same stand-in lock)."""
    if _built_engine:
        shutil.copytree(_built_engine[0], caches.engine_wheels(cache))
    else:
        engine_wheel.engine_wheel(cache, lock)
        _built_engine.append(caches.engine_wheels(cache))


@contextmanager
def handed_over(config):
    """What `qakb build` does around its mkdocs build (`qakb.build.run_mkdocs`): the plugin is handed a
    session, so it runs no pipeline and takes the pages and index as they are (here the stand-ins)."""
    plugin = config.plugins["qakb"]
    plugin.handed_over = BuildSession()
    try:
        yield config
    finally:
        plugin.handed_over = None


def build_handed_over(site: Path, **options) -> None:
    """mkdocs' build of `site`'s stand-in pages and index, as `qakb build` runs it."""
    config = load_config(str(site / "mkdocs.yml"), **options)
    with handed_over(config):
        mkdocs_build(config)


def configured(site: Path):
    """mkdocs' config of `site` after every plugin's on_config and on_pre_build, as a build has it
    before it collects the files."""
    config = load_config(str(site / "mkdocs.yml"))
    with handed_over(config):
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
    return config


def test_the_plugin_needs_material_and_its_search(tmp_path):
    with pytest.raises(PluginError, match="needs the Material theme"):
        configured(make_site(tmp_path / "a", theme="mkdocs"))
    site = make_site(tmp_path / "b")
    mkdocs_file = site / "mkdocs.yml"
    mkdocs_file.write_text(mkdocs_file.read_text(encoding="utf-8").replace("  - search\n", ""), encoding="utf-8")
    with pytest.raises(PluginError, match="add `- search` before `- qakb`"):
        configured(site)


@pytest.mark.parametrize("missing, message", [
    ("nav", r"build/pages/nav\.json is missing: run `qakb build`"),
    ("index", r"search_index/manifest\.json does not exist\. Run `qakb build`"),
])
def test_missing_generated_files_say_to_run_qakb_build(tmp_path, missing, message):
    with pytest.raises(PluginError, match=message):
        configured(make_site(tmp_path, **{missing: False}))


def test_a_missing_runtime_without_npm_says_to_install_node(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime.shutil, "which", lambda name: None)
    with pytest.raises(PluginError, match=r"pyodide 314\.0\.7.*install Node\.js 20\+ and npm"):
        configured(make_site(tmp_path, runtime_installed=False))


def fake_npm(folder: Path, script: str) -> None:
    folder.mkdir()
    npm = folder / "npm"
    npm.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)


def test_the_runtime_is_installed_once_with_npm_ci_from_the_pinned_lock(tmp_path, monkeypatch):
    fake_npm(tmp_path / "bin", 'test "$1" = ci && test -f package-lock.json && mkdir -p node_modules/pyodide '
                               '&& echo run >> "$QAKB_TEST_NPM_RUNS"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("QAKB_TEST_NPM_RUNS", str(tmp_path / "runs"))
    node_modules = runtime.runtime_packages(tmp_path / "cache")
    assert node_modules == runtime.install_folder(tmp_path / "cache") / "node_modules"
    assert (node_modules / "pyodide").is_dir()
    assert runtime.runtime_packages(tmp_path / "cache") == node_modules
    assert (tmp_path / "runs").read_text() == "run\n"
    assert [path.name for path in caches.npm(tmp_path / "cache").iterdir()] == [node_modules.parent.name]


def test_a_failed_npm_ci_leaves_nothing_that_looks_installed(tmp_path, monkeypatch):
    fake_npm(tmp_path / "bin", "mkdir -p node_modules/half; echo 'npm ERR! 404 katex' >&2; exit 1")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(PluginError, match=r"(?s)could not install the browser runtime.*npm ERR! 404 katex"):
        runtime.runtime_packages(tmp_path / "cache")
    assert list(caches.npm(tmp_path / "cache").iterdir()) == []


def test_the_runtime_versions_are_pinned_exactly():
    versions = runtime.pinned_versions()
    lock = json.loads((runtime.NPM_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert versions == {"katex": "0.19.1", "pyodide": "314.0.7", "ts-fsrs": "5.4.2"}
    for name, version in versions.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_markdown_extensions_and_page_assets_are_added_keeping_the_sites_own_options(tmp_path):
    config = configured(make_site(tmp_path))
    for name in MARKDOWN_EXTENSIONS:
        assert config.markdown_extensions.count(name) == 1
    assert config.mdx_configs["toc"]["permalink"] == "#"
    assert config.mdx_configs["pymdownx.arithmatex"]["generic"] is True
    assert [path for path in config.extra_css if path in STYLESHEETS] == list(STYLESHEETS)
    assert [str(script) for script in config.extra_javascript] == list(SCRIPTS)
    assert config.nav == [{"Home": "index.md"}, {"Topics": [{"Topic A": "topics/a.md"}]}, "about.md"]


def test_the_practice_page_comes_after_home_in_the_nav(tmp_path):
    site = make_site(tmp_path)
    (site / "build" / "pages" / PRACTICE_PAGE).write_text("# Practice\n", encoding="utf-8")
    assert configured(site).nav[:3] == [{"Home": "index.md"}, {"Practice": PRACTICE_PAGE},
                                        {"Topics": [{"Topic A": "topics/a.md"}]}]


def test_the_plugin_adds_pages_media_widget_runtime_index_and_katex(tmp_path):
    site = make_site(tmp_path)
    config = configured(site)
    files = config.plugins.on_files(get_files(config), config=config)
    uris = {file.src_uri for file in files}
    expected = {"index.md", "about.md", "topics/a.md", "media/plot.png", "media/notes.pdf",
                "search_index/manifest.json", "search_index/metadata.json",
                "assets/katex/katex.min.js", "assets/katex/katex.min.css", "assets/katex/fonts/KaTeX_Main-Regular.woff2",
                "assets/ts-fsrs/index.mjs", "assets/ts-fsrs/LICENSE",
                *(f"assets/qakb/{path.name}" for path in WIDGET_DIR.iterdir()),
                *(f"assets/pyodide/{name}" for name in search_assets.PYODIDE_BOOT_FILES)}
    assert expected <= uris
    assert NAV_FILE not in uris and not any(uri.endswith((".woff", ".ttf")) for uri in uris)
    assert {"assets/pyodide/pyodide-lock.json", f"assets/pyodide/{engine_wheel.wheel_name(engine_wheel.engine_sources())}"} <= uris
    assert files.get_file_from_path("assets/katex/katex.min.css").content_string == katex.woff2_only(FONT_FACE)


def test_a_hand_written_file_may_not_shadow_a_generated_one(tmp_path):
    site = make_site(tmp_path)
    (site / "docs" / "topics").mkdir()
    (site / "docs" / "topics" / "a.md").write_text("# Mine\n", encoding="utf-8")
    config = configured(site)
    with pytest.raises(PluginError, match="topics/a.md clashes with a file the qakb plugin adds"):
        config.plugins.on_files(get_files(config), config=config)


def test_katex_stylesheet_keeps_only_woff2():
    assert katex.woff2_only(FONT_FACE) == ('@font-face{font-family:KaTeX_Main;'
                                           'src:url(fonts/KaTeX_Main-Regular.woff2) format("woff2")}'
                                           '.katex{font:normal 1.21em KaTeX_Main}')


@pytest.mark.parametrize("page_url, expected", [
    ("", "media/plot.png"),
    ("topics/a/", "../../media/plot.png"),
    ("topics/a.html", "../media/plot.png"),
])
def test_media_placeholders_point_at_the_media_folder_from_each_page(page_url, expected):
    html = (f'<img alt="{MEDIA_URL_PREFIX}x" src="{MEDIA_URL_PREFIX}plot.png"> '
            f"<a href='{MEDIA_URL_PREFIX}plot.png'>x</a> <code>src=\"{MEDIA_URL_PREFIX}kept\"</code>")
    assert link_media(html, page_url) == (f'<img alt="{MEDIA_URL_PREFIX}x" src="{expected}"> '
                                          f"<a href='{expected}'>x</a> <code>src=\"{MEDIA_URL_PREFIX}kept\"</code>")


@pytest.mark.slow
def test_a_tiny_site_builds_with_the_widget_math_and_media(tmp_path):
    site = make_site(tmp_path)
    build_handed_over(site)
    built = site / "site"
    home = (built / "index.html").read_text(encoding="utf-8")
    page_config = home.split('<script id="__qakb_search" type="application/json">')[1].split("</script>")[0]
    # Nothing of the bank's: the browser reads the index's files from its manifest, so a
    # rebuild after an edit leaves the pages that did not change byte for byte the same.
    assert json.loads(page_config)["index"] == "search_index/"
    assert "sha256:abc" not in home and "11" * 32 not in home
    # The worker fetches the engine's wheel the lock file names, and checks it against the lock's sha256.
    lock = json.loads((built / "assets" / "pyodide" / "pyodide-lock.json").read_text(encoding="utf-8"))
    engine = lock["packages"]["qakb-engine"]
    assert (json.loads(page_config)["wheel"], json.loads(page_config)["wheel_sha256"]) == (
        "assets/pyodide/" + engine["file_name"], engine["sha256"])
    # The script that starts the worker is in the head, before the stylesheets it would otherwise wait for.
    head = home.split("</head>", 1)[0]
    assert head.index("window.qakbSearchWorker") < head.index('rel="stylesheet"')
    for script in SCRIPTS:
        assert f'<script src="{script}"></script>' in home
    topic = (built / "topics" / "a" / "index.html").read_text(encoding="utf-8")
    assert 'src="../../media/plot.png"' in topic and 'href="../../media/notes.pdf"' in topic
    assert MEDIA_URL_PREFIX not in topic
    assert '<span class="arithmatex">\\(x^2\\)</span>' in topic
    assert (built / "media" / "plot.png").read_bytes() == b"\x89PNG stand-in"
    assert not (built / NAV_FILE).exists()
    assert (built / "about" / "index.html").is_file()


@pytest.mark.slow
def test_a_sharded_banks_keyword_index_keeps_its_questions_not_their_answers(tmp_path):
    """Above `shard_above` the semantic search covers the answers, so Material's keyword index is
    rewritten after the build without the generated questions' text; the rest is as Material wrote it."""
    indexes = {}
    for name, sharded in (("whole", False), ("sharded", True)):
        site = make_site(tmp_path / name)
        (site / "docs" / "about.md").write_text("# About\n\n## Contact\n\nWrite to us.\n", encoding="utf-8")
        with (site / "build" / "pages" / "topics" / "a.md").open("a", encoding="utf-8") as page:
            page.write("\n## What is dropout? { #what-is-dropout }\n\nUnits dropped at random while training.\n")
        if sharded:
            manifest_file = site / "search_index" / "manifest.json"
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            manifest_file.write_text(json.dumps({**manifest, "shards": {"lists": 1}}), encoding="utf-8")
        build_handed_over(site)
        indexes[name] = (site / "site" / "search" / "search_index.json").read_text(encoding="utf-8")
    whole, sharded = json.loads(indexes["whole"]), json.loads(indexes["sharded"])
    texts = {entry["location"]: entry["text"] for entry in sharded["docs"]}
    assert texts["topics/a/#what-is-dropout"] == "" and texts["about/#contact"] == "<p>Write to us.</p>"
    for entry in whole["docs"]:
        if "#" in entry["location"] and not entry["location"].startswith("about/"):
            entry["text"] = ""
    assert sharded == whole
    assert indexes["sharded"] == json.dumps(sharded, separators=(",", ":"))


@pytest.mark.slow
def test_a_site_has_precompressed_copies_only_when_asked_and_a_file_over_the_host_limit_is_named(tmp_path, capfd):
    from qakb.plugin.host_limits import MAX_FILE_BYTES

    copies = {}
    for precompress in ("none", "both"):
        site = make_site(tmp_path / precompress)
        build_handed_over(site, plugins={"search": {}, "qakb": {"cache_dir": "cache", "trim_stdlib": False,
                                                                 "precompress": precompress}})
        built = site / "site"
        copies[precompress] = sorted(path.relative_to(built).as_posix() for path in built.rglob("*.[bg][rz]"))
        assert all(path.stat().st_size <= MAX_FILE_BYTES for path in built.rglob("*") if path.is_file())
    assert copies["none"] == ["sitemap.xml.gz"]  # mkdocs' own, always written
    assert "index.html.gz" in copies["both"] and "index.html.br" in copies["both"]
    assert "warning:" not in capfd.readouterr().err

    site = make_site(tmp_path / "big")
    with open(site / "docs" / "recording.bin", "wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)
    build_handed_over(site)
    assert ("warning: the site's recording.bin is 25.0 MiB: Cloudflare Pages refuses files over 25 MiB"
            in capfd.readouterr().err)
