"""Site settings: the `qakb` plugin's options in the site's mkdocs.yml, with defaults for the embedded bank.

    plugins:
      - search
      - qakb:
          content_dir: content
          pyodide_snapshot: false

Each option is defined once, in `OPTIONS`: its name, kind, default, what it does and its
check. `qakb build` and `qakb ask` read them here (`load_settings`); `mkdocs build` hands
the same options to the plugin, whose config class is made from `OPTIONS` (qakb.plugin);
both check them with `validate_options`. Paths are relative to the folder holding
mkdocs.yml. The built site goes to mkdocs' own `site_dir`. Only PyYAML is imported, not
mkdocs: every `qakb ask` reads these settings first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
import yaml_env_tag

PLUGIN_NAME = "qakb"
MKDOCS_FILE = "mkdocs.yml"
CACHE_DIR_ENV = "QAKB_CACHE_DIR"
SEARCH_STARTS = ("eager", "idle", "focus")
PRECOMPRESS_CHOICES = ("none", "gzip", "brotli", "both")
MKDOCS_SITE_DIR, MKDOCS_DOCS_DIR = "site", "docs"  # mkdocs' own defaults for site_dir and docs_dir
# What a reader of mkdocs.yml writes for each kind of option; a path is relative to mkdocs.yml's folder.
_KINDS = {Path: "a path", str: "text", int: "a whole number", bool: "true or false", dict: "a mapping"}


@dataclass(frozen=True)
class Option:
    """One option of the qakb plugin: `qakb build` and `qakb ask` read it from mkdocs.yml
    (`load_settings`), mkdocs hands it to the plugin (`qakb.plugin.QakbConfig`, made from `OPTIONS`)."""
    name: str
    kind: type  # one of _KINDS: Path and str are YAML text, Path resolved against mkdocs.yml's folder
    default: object
    doc: str
    # Given every option's value, each of the right kind: what is wrong with this one (None: nothing).
    check: Callable[[Mapping], str | None] | None = None


def _page_size_check(values: Mapping) -> str | None:
    if values["page_size"] < 1:
        return ("the qakb plugin's option page_size (questions a topic page holds) must be 1 or more, "
                f"not {values['page_size']}")
    return None


def _search_start_check(values: Mapping) -> str | None:
    if values["search_start"] not in SEARCH_STARTS:
        return (f"the qakb plugin's option search_start must be one of {', '.join(SEARCH_STARTS)}, "
                f"not {values['search_start']!r}")
    return None


def _precompress_check(values: Mapping) -> str | None:
    if values["precompress"] not in PRECOMPRESS_CHOICES:
        return (f"the qakb plugin's option precompress must be one of {', '.join(PRECOMPRESS_CHOICES)}, "
                f"not {values['precompress']!r}")
    return None


def _shards_check(values: Mapping) -> str | None:
    if values["shard_above"] < 0 or values["shard_list_size"] < 1:
        return ("the qakb plugin's options shard_above (0: never shard) and shard_list_size (1 or more) "
                f"cannot be {values['shard_above']} and {values['shard_list_size']}")
    return None


def _offline_check(values: Mapping) -> str | None:
    if values["offline_auto_mb"] < 0:
        return ("the qakb plugin's option offline_auto_mb (the largest site saved for offline use unasked, in MB; "
                f"0: always ask) cannot be negative, not {values['offline_auto_mb']}")
    return None


def _mapping_check(name: str, allowed: Callable[[], tuple[str, ...]]) -> Callable[[Mapping], str | None]:
    """A check that every value of the mapping option `name` is one of `allowed()` (read only if the mapping is set)."""
    def check(values: Mapping) -> str | None:
        if not values[name]:
            return None
        choices = allowed()
        for key, value in values[name].items():
            if not isinstance(key, str) or value not in choices:
                return (f"the qakb plugin's option {name} maps {key!r} to {value!r}; "
                        f"each value must be one of {', '.join(choices)}")
        return None
    return check


def _format_names() -> tuple[str, ...]:
    from qakb.formats import format_names

    return tuple(format_names())


def _difficulties() -> tuple[str, ...]:
    from qakb.bank import DIFFICULTIES

    return tuple(DIFFICULTIES)


OPTIONS = (
    Option("content_dir", Path, "content", "the bank files (any format) and their images"),
    Option("topics_file", Path, "content/topics.yml", "the topics questions are placed in, if the file exists"),
    Option("index_dir", Path, "search_index", "the search index `qakb build` writes"),
    Option("pages_dir", Path, "build/pages", "the generated pages (never edit them)"),
    Option("cache_dir", Path, ".cache", "model, embeddings, the npm runtime, the engine wheel, compressed "
                                        f"files ({CACHE_DIR_ENV} names another)"),
    Option("related_min", int, 3, "the fewest related questions listed under an answer"),
    Option("related_max", int, 5, "the most related questions listed under an answer"),
    # ~300 KB of HTML a page on the synthetic bank, and every topic of the embedded bank on one page.
    Option("page_size", int, 100, "a topic with more questions is split into pages of this many (in bank order)",
           _page_size_check),
    # Off: Python's start-up skipped (~1.5 s less to the first result) for 4.4-5.3 MB more (brotli;
    # 26 MB raw) on a first visit, twice the rest of the search beyond Pyodide core (README, Performance).
    Option("pyodide_snapshot", bool, False, "ship a Pyodide memory snapshot of the engine imported"),
    Option("search_start", str, "idle", "when the browser starts the semantic search: eager (from the "
                                        "page's head), idle (once the page has loaded) or focus (on the search box's first focus)", _search_start_check),
    # 0.8 MB instead of 2.5 MB; not with a snapshot, which needs the whole archive.
    Option("trim_stdlib", bool, True, "ship only the standard-library modules the search imports"),
    # none: GitHub Pages, Cloudflare Pages and Netlify compress on the fly and never send a copy, and the
    # copies more than double a site's files (9,842 instead of 4,135 at 10,000 questions; Cloudflare takes 20,000).
    Option("precompress", str, "none", "write NAME.gz and/or NAME.br beside the site's compressible files, for "
                                       "hosts that send such copies (nginx gzip_static/brotli_static, Caddy "
                                       "precompressed, qakb serve): none, gzip, brotli or both",
           _precompress_check),
    Option("shard_above", int, 3000, "from this many questions the index is written in shards (qakb.shards) "
                                     "that the browser fetches as queries need them (0: never)", _shards_check),
    # A query fetches ~8 lists and their neighbours' texts.
    Option("shard_list_size", int, 64, "questions per shard list", _shards_check),
    # 25 MB: not much more than a visit that searches downloads anyway (Pyodide and the index: 14 MB raw); above it
    # the first visit keeps only what browsing and the search need, and the footer offers the rest.
    Option("offline_auto_mb", int, 25, "a site of at most this many MB is saved for offline use on a first "
                                       "visit; a bigger one offers it in the footer, with its size "
                                       "(0: always offer)", _offline_check),
    Option("formats", dict, {}, "a bank file's format by file name ({bank.md: bold}), where detection guesses "
                                "wrong (`qakb new --format` writes it; the formats: `qakb new --help`)",
           _mapping_check("formats", _format_names)),
    Option("difficulty_sections", dict, {}, "section names that mean a difficulty ({Junior: easy, Senior: hard}), "
                                            "besides junior/middle/senior, beginner/intermediate/advanced and "
                                            "easy/medium/hard", _mapping_check("difficulty_sections", _difficulties)),
)


class OptionError(ValueError):
    """A mistake in the qakb plugin's options; `option` names the one at fault (None: not one of them)."""

    def __init__(self, option: str | None, message: str):
        super().__init__(message)
        self.option = option


def validate_options(options: Mapping) -> dict:
    """The plugin's options, every one of them (defaults where `options` sets none), checked;
    an `OptionError` at the first mistake."""
    known = {option.name: option for option in OPTIONS}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OptionError(None, f"unknown option(s) of the {PLUGIN_NAME} plugin: {', '.join(unknown)} "
                                f"(known: {', '.join(known)})")
    values = {option.name: options.get(option.name, option.default) for option in OPTIONS}
    for option in OPTIONS:
        value = values[option.name]
        kind = str if option.kind is Path else option.kind
        # bool is an int to Python, never to a reader of mkdocs.yml.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise OptionError(option.name, f"the {PLUGIN_NAME} plugin's option {option.name} must be "
                                           f"{_KINDS[option.kind]}, not {value!r}")
    for option in OPTIONS:
        complaint = option.check(values) if option.check else None
        if complaint:
            raise OptionError(option.name, complaint)
    return values


@dataclass(frozen=True)
class Settings:
    """A site folder's settings: mkdocs.yml's own, then one field per plugin option (`OPTIONS`), a path
    option resolved against the folder and a mapping as sorted pairs."""
    root: Path
    site_name: str
    site_description: str
    docs_dir: Path  # the hand-written pages (mkdocs.yml's docs_dir)
    site_dir: Path
    site_url: str
    content_dir: Path
    topics_file: Path
    index_dir: Path
    pages_dir: Path
    cache_dir: Path
    related_min: int
    related_max: int
    page_size: int
    pyodide_snapshot: bool
    search_start: str
    trim_stdlib: bool
    precompress: str
    shard_above: int
    shard_list_size: int
    offline_auto_mb: int
    formats: tuple[tuple[str, str], ...]
    difficulty_sections: tuple[tuple[str, str], ...]

    @property
    def read_options(self):
        """How the content folder's banks are read (`qakb.formats.ReadOptions`)."""
        from qakb.formats import SECTION_DIFFICULTIES, ReadOptions

        return ReadOptions(formats=dict(self.formats),
                           difficulty_sections={**SECTION_DIFFICULTIES,
                                                **{name.lower(): level for name, level in self.difficulty_sections}})

    @property
    def mkdocs_file(self) -> Path:
        return self.root / MKDOCS_FILE

    @property
    def staging_dir(self) -> Path:
        return self.root / "build" / "staging"


class _MkdocsYamlLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without importing anything: `!ENV` is resolved as mkdocs does,
    other tags (`!!python/name:...`, `!relative`) become plain values, unused here."""


def _untagged(loader: yaml.SafeLoader, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_MkdocsYamlLoader.add_constructor("!ENV", yaml_env_tag.construct_env_tag)
_MkdocsYamlLoader.add_constructor(None, _untagged)


def read_mkdocs_file(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_MkdocsYamlLoader)
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must be a mapping of mkdocs settings (site_name: ..., plugins: ...)")
    return data


def plugin_options(mkdocs: dict, path: Path) -> dict | None:
    """The options of the qakb plugin in mkdocs.yml's `plugins` (None: the plugin is not enabled).

    `plugins` is a list of names and one-key mappings, or one mapping, as mkdocs accepts.
    """
    for name, options in _plugin_entries(mkdocs.get("plugins") or []):
        if name == PLUGIN_NAME:
            if options is not None and not isinstance(options, dict):
                raise ValueError(f"{path}: the options of the {PLUGIN_NAME} plugin must be a mapping")
            return options or {}
    return None


def _plugin_entries(plugins: list | dict):
    if isinstance(plugins, dict):
        yield from plugins.items()
        return
    for item in plugins:
        if isinstance(item, dict) and len(item) == 1:
            yield next(iter(item.items()))
        else:
            yield item, {}


def cache_folder(root: Path, configured: str) -> Path:
    """The cache: the configured folder, unless QAKB_CACHE_DIR names another (tests share one)."""
    return root / (os.environ.get(CACHE_DIR_ENV) or configured)


def load_settings(root: Path) -> Settings:
    """Settings of the site folder `root`, read from its mkdocs.yml."""
    root = root.resolve()
    path = root / MKDOCS_FILE
    if not path.is_file():
        raise ValueError(f"{root} has no {MKDOCS_FILE}, so it is not a qakb site folder: make one with "
                         "`qakb new DIR --bank FILE.md`, then run qakb inside it (or pass --project DIR)")
    mkdocs = read_mkdocs_file(path)
    try:
        values = validate_options(plugin_options(mkdocs, path) or {})
    except OptionError as error:
        raise ValueError(f"{path}: {error}") from None
    return site_settings(root, mkdocs, values)


def site_settings(root: Path, mkdocs: Mapping, values: Mapping) -> Settings:
    """Settings of the site folder `root` from mkdocs' settings (mkdocs.yml as read, or the config mkdocs
    made of it: its folders are then absolute already) and the plugin's options checked by `validate_options`."""
    if not isinstance(mkdocs.get("site_name"), str) or not mkdocs["site_name"].strip():
        raise ValueError(f"{root / MKDOCS_FILE}: site_name is missing; mkdocs needs it (the site's title)")
    return Settings(
        root=root,
        site_name=mkdocs["site_name"],
        site_description=str(mkdocs.get("site_description") or ""),
        docs_dir=root / str(mkdocs.get("docs_dir") or MKDOCS_DOCS_DIR),
        site_dir=root / str(mkdocs.get("site_dir") or MKDOCS_SITE_DIR),
        site_url=str(mkdocs.get("site_url") or ""),
        **{option.name: _setting(root, option, values[option.name]) for option in OPTIONS},
    )


def _setting(root: Path, option: Option, value):
    """An option's value as `Settings` holds it: a path resolved, a mapping as sorted pairs (hashable)."""
    if option.name == "cache_dir":
        return cache_folder(root, value)
    if option.kind is Path:
        return root / value
    if option.kind is dict:
        return tuple(sorted(value.items()))
    return value
