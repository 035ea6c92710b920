"""The `qakb` mkdocs plugin: everything a qakb site needs beyond its mkdocs.yml and content.

Enabled beside Material's search in mkdocs.yml (options and defaults: qakb.config):

    plugins:
      - search
      - qakb

The pipeline (`qakb.build`: read the banks, embed, index, write the topic pages into `pages_dir`,
with their images under media/, and the search index into `index_dir`) runs before mkdocs builds the
site: `qakb build` runs it and then mkdocs, and a plain `mkdocs build`, `mkdocs serve` or
`mkdocs gh-deploy` runs it inside the plugin's events (`qakb.plugin.pipeline`). The plugin adds what
it made to the site, with:

    navigation    Home, Practice, the topics in the order of the pages' nav.json, Needs
                  review (if the bank flags answers), then the hand-written pages of docs/
    templates     templates/main.html: each page names its search engine and index
    the widget    assets/qakb/: widget.js in Material's search box, its Pyodide worker,
                  math.js, which typesets math with KaTeX, the practice page and progress
                  bars (practice-store.js, practice.js, progress.js), copy-link buttons and
                  old anchors (links.js), the difficulty filter (filter.js), and their stylesheets
    the runtime   assets/pyodide/ with the engine as a wheel in its lock file, and search_index/ (search_assets.py),
                  assets/katex/ (katex.py), assets/ts-fsrs/ (scheduler.py), from the npm
                  packages runtime.py pins
    Markdown      the extensions the pages are written in (mkdocs.yml need not list them)
    compression   NAME.gz and NAME.br beside the site's compressible files, for hosts
                  (and `qakb serve`) that send them as they are (compress.py)
    page cache    a rebuild takes the unchanged topic pages' HTML and keyword-search
                  entries from the last build instead of converting them again (page_cache.py)
    offline       sw.js and offline.json at the site's root, written after the build from
                  the files mkdocs wrote (offline.py), and offline.js, their footer control
    keyword index for a sharded bank, Material's search_index.json rewritten after the build
                  without the generated questions' answer text

The hooks, in mkdocs' order (mkdocs/commands/build.py): on_startup (mkdocs' commands only) keeps
a session for `mkdocs serve`'s rebuilds; on_config only configures (checks, templates, extensions,
assets, and the staged site folder when the plugin runs the pipeline); on_pre_build runs the
pipeline, sets the nav, installs the npm runtime on a first build, makes the search assets and opens
the page cache; on_files adds the files; on_page_markdown and on_page_content skip and restore
unchanged pages; on_env names the engine to the templates; on_post_build rewrites, writes and
compresses what the build wrote, then checks the site and swaps it into place; on_serve watches the
bank folder.

What a rebuild reuses in memory (the page cache's rows, what compression learned of the site's
files, and the pipeline's own: `qakb.session`) is a `BuildSession`. `qakb build` makes one and hands
it to the plugin before mkdocs runs (`handed_over`, `qakb.build.run_mkdocs`); the plugin then runs
no pipeline of its own. `mkdocs serve` keeps one on the plugin for all its rebuilds (mkdocs keeps a
plugin that has an on_startup hook for the whole process). Any other build starts with a new one: it
reuses what the cache folder holds. Since mkdocs keeps the plugin between builds of one process,
every hook sets what it uses afresh, and `qakb build` takes its session back after its build.

Importable without the build-time stack (torch, faiss): mkdocs loads it for every build.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from mkdocs.config.base import BaseConfigOption, Config, ValidationError
from mkdocs.config.config_options import ExtraScriptValue
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from qakb.config import OPTIONS, OptionError, cache_folder, site_settings, validate_options
from qakb.markup import MARKDOWN_CONFIG, MEDIA_DIR, MEDIA_URL_PREFIX
from qakb.pages import NAV_FILE, PRACTICE_PAGE, REVIEW_PAGE
from qakb.plugin import compress, host_limits, katex, offline, scheduler, search_assets
from qakb.plugin.page_cache import PageCache
from qakb.plugin.pipeline import OwnBuild
from qakb.plugin.runtime import runtime_packages
from qakb.session import BuildSession

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
WIDGET_DIR = PACKAGE_DIR / "assets" / "qakb"
SITE_WIDGET_DIR = "assets/qakb/"
STYLESHEETS = (katex.SITE_DIR + katex.STYLESHEET, SITE_WIDGET_DIR + "answers.css", SITE_WIDGET_DIR + "widget.css",
               SITE_WIDGET_DIR + "practice.css", SITE_WIDGET_DIR + "questions.css",
               SITE_WIDGET_DIR + "accessibility.css", SITE_WIDGET_DIR + "offline.css")
# In this order: math.js calls KaTeX; progress.js and practice.js read practice-store.js (and
# practice.js math.js). widget.js starts search-worker.js itself, practice.js imports ts-fsrs itself.
SCRIPTS = (katex.SITE_DIR + katex.SCRIPT, SITE_WIDGET_DIR + "math.js", SITE_WIDGET_DIR + "widget.js",
           SITE_WIDGET_DIR + "practice-store.js", SITE_WIDGET_DIR + "progress.js", SITE_WIDGET_DIR + "practice.js",
           # links.js: copy-link buttons and old anchors; filter.js: the difficulty chips.
           SITE_WIDGET_DIR + "links.js", SITE_WIDGET_DIR + "filter.js",
           # offline.js: the service worker that keeps the site offline (offline.py), and its footer control.
           SITE_WIDGET_DIR + "offline.js")
# What the site's pages are written in, added by the plugin (a site's mkdocs.yml need not list them);
# options apply where mkdocs.yml sets none. The answers inside the generated pages are converted
# before, by qakb.markup, with a configuration that must differ: they become sanitised HTML blocks
# (code's language classes are in the sanitiser's allowlist), their headings sit at h4 and out of
# the page's table of contents, their footnote ids carry the question's anchor, and banks use inline
# syntax (abbreviations, definition lists, ^^insert^^, ==mark==, ~~delete~~) the site's pages do not.
# Only the form of math is shared: math.js typesets arithmatex's generic form, pages and answers alike.
MARKDOWN_EXTENSIONS = {
    "attr_list": {},
    "tables": {},
    "admonition": {},
    "toc": {"permalink": True},
    "footnotes": {},
    "pymdownx.highlight": {},
    "pymdownx.superfences": {},
    "pymdownx.arithmatex": MARKDOWN_CONFIG["pymdownx.arithmatex"],
}
SEARCH_PLUGINS = ("search", "material/search")
KEYWORD_INDEX = "search/search_index.json"  # Material's, in the site

# Rendered answers (qakb.markup) are raw HTML, which mkdocs does not rewrite: they name a
# bank's images as src="qakb-media:NAME", and the plugin points each at <site>/media/NAME from its page.
_MEDIA_ATTRIBUTE = re.compile(r'(\s(?:src|href)=)(["\'])' + re.escape(MEDIA_URL_PREFIX) + r'([^"\']*)\2')


class _SchemaOption(BaseConfigOption):
    """An option of qakb.config.OPTIONS as mkdocs holds it: its default; checked with the others."""

    def __init__(self, default):
        super().__init__()
        self.default = default


class _CheckedConfig(Config):
    def validate(self):
        """mkdocs' validation, then qakb.config's, the one `qakb build` and `qakb ask` run."""
        failed, warnings = super().validate()
        if not failed:
            try:
                self.update(validate_options(self))
            except OptionError as error:
                failed.append((error.option or "", ValidationError(str(error))))
        return failed, warnings


# The plugin's options, one per qakb.config.OPTIONS. `qakb build` points the folder options at its
# staging folders before mkdocs runs.
QakbConfig = type("QakbConfig", (_CheckedConfig,), {option.name: _SchemaOption(option.default) for option in OPTIONS})


class QakbPlugin(BasePlugin[QakbConfig]):
    handed_over: BuildSession | None = None
    """Set by `qakb build` for the one mkdocs build it runs (`qakb.build.run_mkdocs`): its pipeline
    has staged the pages and the index where the options point, and this is its session. None: the
    plugin runs the pipeline itself (`qakb.plugin.pipeline`)."""

    serving: BuildSession | None = None
    """`mkdocs serve`'s session, shared by its rebuilds (on_startup)."""

    served_inputs: str | None = None
    """The inputs' hash of the last build `mkdocs serve` made (`qakb.plugin.pipeline`)."""

    page_cache: PageCache | None = None  # this build's, from on_pre_build
    own_build: OwnBuild | None = None  # this build's pipeline, when the plugin runs it

    def on_startup(self, *, command, dirty) -> None:
        """Run by the mkdocs commands only. Having this hook makes mkdocs keep the plugin for the whole
        process, so `mkdocs serve`'s rebuilds share one session."""
        self.serving = BuildSession() if command == "serve" else None
        self.served_inputs = None

    def on_shutdown(self) -> None:
        self.serving = None

    def on_config(self, config):
        """Check the theme and the search, add the templates, Markdown extensions and page assets; without a
        session from `qakb build`, send the site into the staging folder (`qakb.plugin.pipeline`)."""
        self.page_cache, self.own_build = None, None  # mkdocs may keep the plugin from an earlier build
        if config.theme.name != "material":
            raise PluginError("the qakb plugin needs the Material theme: set `theme: name: material` in mkdocs.yml")
        if not any(name in config.plugins for name in SEARCH_PLUGINS):
            raise PluginError("the qakb plugin puts its search in Material's search box: "
                              "add `- search` before `- qakb` under plugins in mkdocs.yml")
        self.project_dir = Path(config.config_file_path).parent
        if self.handed_over is not None:
            self.session = self.handed_over
        else:
            self.session = self.serving if self.serving is not None else BuildSession()
            settings = site_settings(self.project_dir, config, self.config)
            self.own_build = OwnBuild(settings, config, self.session, serving=self.serving is not None,
                                      last_inputs=self.served_inputs)
        # After a custom_dir, if any: a site's own templates still come first.
        config.theme.dirs.insert(1 if config.theme.custom_dir else 0, str(TEMPLATES_DIR))
        add_markdown_extensions(config)
        add_page_assets(config)
        return config

    def on_pre_build(self, *, config) -> None:
        """Run the pipeline (unless `qakb build` did), set the nav, open the page cache and make the search
        assets (the runtime is installed here on a first build)."""
        if self.own_build is not None:
            self.pages_dir, index_dir = self.own_build.run()
        else:
            self.pages_dir, index_dir = self.project_dir / self.config.pages_dir, self.project_dir / self.config.index_dir
        config.nav = site_nav(self.pages_dir, Path(config.docs_dir))
        self.cache_dir = cache_folder(self.project_dir, self.config.cache_dir)
        self.page_cache = PageCache(self.cache_dir, config, self.pages_dir, self.session)
        self.node_modules = runtime_packages(self.cache_dir)
        self.search = search_assets.collect(self.node_modules, index_dir, self.cache_dir, self.config.pyodide_snapshot,
                                            self.config.search_start, self.config.trim_stdlib)
        search_plugin = next(config.plugins[name] for name in SEARCH_PLUGINS if name in config.plugins)
        if hasattr(search_plugin, "search_index"):  # Material's, configured in its on_config
            self.page_cache.cache_search_entries(search_plugin)

    def on_files(self, files: Files, *, config) -> Files:
        """Add the generated pages and their media, the widget, the runtime and the index."""
        for path in sorted(self.pages_dir.rglob("*")):
            if path.is_file() and path != self.pages_dir / NAV_FILE:
                add_file(files, File(path.relative_to(self.pages_dir).as_posix(), src_dir=str(self.pages_dir),
                                     dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls))
        for path in sorted(WIDGET_DIR.iterdir()):
            add_file(files, File.generated(config, SITE_WIDGET_DIR + path.name, abs_src_path=str(path)))
        for file in [*self.search.site_files(config), *katex.site_files(self.node_modules, config),
                     *scheduler.site_files(self.node_modules, config)]:
            add_file(files, file)
        self.generated_urls = {file.url for file in files.documentation_pages() if self.page_cache.generated(file)}
        return files

    def on_env(self, env, *, config, files):
        env.globals["qakb_search"] = self.search.page_config
        return env

    @event_priority(-100)  # last: the page cache keys a page by its Markdown as the other plugins left it
    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        return self.page_cache.markdown_to_convert(page, markdown, files)

    @event_priority(100)  # first: the other plugins see the page's HTML, kept or converted
    def on_page_content(self, html: str, *, page, config, files) -> str:
        return link_media(self.page_cache.converted_html(page, html, files), page.url)

    @event_priority(-100)  # last: after Material's search has written its index
    def on_post_build(self, *, config) -> None:
        """Trim the keyword index of a sharded bank, write the offline copy's service worker and compress
        the site, from the files mkdocs wrote; then, when the plugin ran the pipeline, check the site and
        put it in place."""
        site_dir = Path(config.site_dir)
        if "shards" in self.search.manifest:
            keyword_index_without_answers(site_dir / KEYWORD_INDEX, self.generated_urls)
        offline.write(site_dir, self.search.page_config["index"], self.search.manifest, self.search.boot_files(),
                      self.config.offline_auto_mb, self.session.compressed_files)
        # Last: it compresses the finished site, files written above included.
        compress.precompress_site(site_dir, self.cache_dir, lasting=search_assets.is_runtime_file,
                                  known_files=self.session.compressed_files, precompress=self.config.precompress)
        for warning in host_limits.warnings(host_limits.site_size(site_dir), self.config.precompress):
            print(f"warning: {warning}", file=sys.stderr)
        self.page_cache.finish()
        if self.own_build is not None:
            self.own_build.finish()
            if self.serving is not None:
                self.served_inputs = self.own_build.inputs

    def on_build_error(self, *, error) -> None:
        if self.page_cache is not None:
            self.page_cache.close()
        if self.own_build is not None:
            self.own_build.end()

    def on_serve(self, server, *, config, builder):
        """Rebuild on a change to the bank folder or the topics file (mkdocs watches docs/ and mkdocs.yml)."""
        settings = self.own_build.settings if self.own_build is not None else None
        if settings is not None:
            server.watch(str(settings.content_dir))
            if settings.topics_file.exists() and not settings.topics_file.is_relative_to(settings.content_dir):
                server.watch(str(settings.topics_file))
        return server


def keyword_index_without_answers(index_file: Path, generated_urls: set[str]) -> None:
    """Empty the text of the generated pages' question entries in Material's keyword index, keeping
    each question's title and address.

    Material's search fetches its whole index on every first visit: with the answers, 1.4 MB
    gzip at 10,000 questions (twice what the semantic search fetches before its first result),
    14 MB at 100,000; without them, 0.22 MB at 10,000. Only for a bank large enough for a
    sharded index (`shard_above`), whose semantic search covers the answers; hand-written pages,
    each page's own top entry and smaller banks keep their text. Written back as Material writes it."""
    if not index_file.is_file():  # the search plugin is disabled
        return
    index = json.loads(index_file.read_text(encoding="utf-8"))
    for entry in index["docs"]:
        url, hash_mark, _ = entry["location"].partition("#")
        if hash_mark and url in generated_urls:
            entry["text"] = ""
    index_file.write_text(json.dumps(index, separators=(",", ":"), default=str), encoding="utf-8")


def site_nav(pages_dir: Path, docs_dir: Path) -> list:
    """Home, Practice (when generated), the topics in nav.json's order, Needs review (when the bank
    flags answers), then the hand-written pages."""
    nav_file = pages_dir / NAV_FILE
    if not nav_file.is_file():
        raise PluginError(f"{nav_file} is missing: run `qakb build` to generate the topic pages")
    # A topic split into pages is a section of them; its first page keeps the topic's URL.
    topics = [{entry["title"]: [{part["title"]: part["path"]} for part in entry["pages"]] if "pages" in entry
               else entry["path"]} for entry in json.loads(nav_file.read_text(encoding="utf-8"))]
    hand_written = sorted(path.relative_to(docs_dir).as_posix() for path in docs_dir.rglob("*.md"))
    practice = [{"Practice": PRACTICE_PAGE}] if (pages_dir / PRACTICE_PAGE).is_file() else []
    review = [{"Needs review": REVIEW_PAGE}] if (pages_dir / REVIEW_PAGE).is_file() else []
    return [{"Home": "index.md"}, *practice, {"Topics": topics}, *review, *hand_written]


def add_markdown_extensions(config) -> None:
    for name, options in MARKDOWN_EXTENSIONS.items():
        if name not in config.markdown_extensions:
            config.markdown_extensions.append(name)
        configured = config.mdx_configs.setdefault(name, {})
        for option, value in options.items():
            configured.setdefault(option, value)


def add_page_assets(config) -> None:
    for path in STYLESHEETS:
        if path not in config.extra_css:
            config.extra_css.append(path)
    listed = {str(script) for script in config.extra_javascript}
    config.extra_javascript.extend(ExtraScriptValue(path) for path in SCRIPTS if path not in listed)


def add_file(files: Files, file: File) -> None:
    if files.get_file_from_path(file.src_uri) is not None:
        raise PluginError(f"the docs folder's {file.src_uri} clashes with a file the qakb plugin adds to the "
                          "site (a generated page, its media or a search asset); rename the hand-written one")
    files.append(file)


def link_media(html: str, page_url: str) -> str:
    """Point `src`/`href="qakb-media:NAME"` at media/NAME, relative to the page at `page_url`."""
    if MEDIA_URL_PREFIX not in html:  # most pages: a substring search, not a regex over 350 kB
        return html
    return _MEDIA_ATTRIBUTE.sub(
        lambda match: f"{match[1]}{match[2]}{get_relative_url(f'{MEDIA_DIR}/{match[3]}', page_url)}{match[2]}",
        html)
