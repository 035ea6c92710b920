"""Site settings: the `qakb` plugin's options in the site's mkdocs.yml, with defaults for the embedded bank.

    plugins:
      - search
      - qakb:
          content_dir: content
          pyodide_snapshot: false

`qakb build` and `qakb ask` read them here; `mkdocs build` hands the same options to
the plugin (qakb.plugin). Paths are relative to the folder holding mkdocs.yml. The
built site goes to mkdocs' own `site_dir`. Only PyYAML is imported, not mkdocs: every
`qakb ask` reads these settings first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
import yaml_env_tag

PLUGIN_NAME = "qakb"
MKDOCS_FILE = "mkdocs.yml"
CACHE_DIR_ENV = "QAKB_CACHE_DIR"
DEFAULTS = {
    "content_dir": "content",
    "topics_file": "content/topics.yml",
    "index_dir": "search_index",
    "pages_dir": "build/pages",
    "cache_dir": ".cache",
    "related_min": 3,
    "related_max": 5,
    # A topic with more questions than this is split into pages of this many (in bank order):
    # ~300 KB of HTML a page on the synthetic bank, and every topic of the embedded bank on one page.
    "page_size": 100,
    # Ship a Pyodide memory snapshot: Python's start-up skipped (~1.5 s less to the first
    # result) for 4.4-5.3 MB more (brotli; 26 MB raw) on a first visit, twice the rest of
    # the search beyond Pyodide core: off by default (README, Performance).
    "pyodide_snapshot": False,
    # When the browser starts the semantic search: "idle" (once the page has loaded) or
    # "focus" (on first focus of the search box).
    "search_start": "idle",
    # Boot with a standard-library archive of only the modules the search loads (0.8 MB
    # instead of 2.5 MB; not with a snapshot, which needs the whole one).
    "trim_stdlib": True,
    # From this many questions the index is written in shards (qakb.shards) that the browser
    # fetches as queries need them, instead of whole before the first result (0: never).
    "shard_above": 3000,
    "shard_list_size": 64,  # questions per shard list (a query fetches ~8 lists and their neighbours' texts)
    # A bank file's format by file name ({"bank.md": "bold"}), where detection guesses wrong
    # (`qakb new --format` writes it); the formats are listed by `qakb new --help`.
    "formats": {},
    # Section names that mean a difficulty ({"Junior": "easy", "Senior": "hard"}), added to the
    # built-in ones (junior/middle/senior, beginner/intermediate/advanced, easy/medium/hard).
    "difficulty_sections": {},
}
SEARCH_STARTS = ("idle", "focus")
MKDOCS_SITE_DIR, MKDOCS_DOCS_DIR = "site", "docs"  # mkdocs' own defaults for site_dir and docs_dir
_KINDS = {str: "a path", int: "a whole number", bool: "true or false", dict: "a mapping"}


@dataclass(frozen=True)
class Settings:
    root: Path
    site_name: str
    site_description: str
    content_dir: Path
    docs_dir: Path  # the hand-written pages (mkdocs.yml's docs_dir)
    topics_file: Path
    index_dir: Path
    pages_dir: Path
    site_dir: Path
    cache_dir: Path
    related_min: int
    related_max: int
    pyodide_snapshot: bool
    page_size: int = DEFAULTS["page_size"]
    shard_above: int = DEFAULTS["shard_above"]
    shard_list_size: int = DEFAULTS["shard_list_size"]
    site_url: str = ""
    formats: tuple[tuple[str, str], ...] = ()
    difficulty_sections: tuple[tuple[str, str], ...] = ()

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
    options = plugin_options(mkdocs, path) or {}
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{path}: unknown option(s) of the {PLUGIN_NAME} plugin: {', '.join(unknown)} "
                         f"(known: {', '.join(DEFAULTS)})")
    values = {**DEFAULTS, **options}
    for name, value in values.items():
        kind = type(DEFAULTS[name])
        # bool is an int to Python, never to a reader of mkdocs.yml.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"{path}: the {PLUGIN_NAME} plugin's option {name} must be {_KINDS[kind]}, "
                             f"not {value!r}")
    if values["page_size"] < 1:
        raise ValueError(f"{path}: the {PLUGIN_NAME} plugin's option page_size (questions a topic page holds) "
                         f"must be 1 or more, not {values['page_size']}")
    if values["shard_above"] < 0 or values["shard_list_size"] < 1:
        raise ValueError(f"{path}: the {PLUGIN_NAME} plugin's options shard_above (0: never shard) and "
                         f"shard_list_size (1 or more) cannot be {values['shard_above']} and {values['shard_list_size']}")
    if values["search_start"] not in SEARCH_STARTS:
        raise ValueError(f"{path}: the {PLUGIN_NAME} plugin's option search_start must be one of "
                         f"{', '.join(SEARCH_STARTS)}, not {values['search_start']!r}")
    _check_mappings(path, values)
    if not isinstance(mkdocs.get("site_name"), str) or not mkdocs["site_name"].strip():
        raise ValueError(f"{path}: site_name is missing; mkdocs needs it (the site's title)")
    return Settings(
        root=root,
        site_name=mkdocs["site_name"],
        site_description=str(mkdocs.get("site_description") or ""),
        content_dir=root / values["content_dir"],
        docs_dir=root / str(mkdocs.get("docs_dir") or MKDOCS_DOCS_DIR),
        topics_file=root / values["topics_file"],
        index_dir=root / values["index_dir"],
        pages_dir=root / values["pages_dir"],
        site_dir=root / str(mkdocs.get("site_dir") or MKDOCS_SITE_DIR),
        cache_dir=cache_folder(root, values["cache_dir"]),
        related_min=values["related_min"],
        related_max=values["related_max"],
        pyodide_snapshot=values["pyodide_snapshot"],
        page_size=values["page_size"],
        shard_above=values["shard_above"],
        shard_list_size=values["shard_list_size"],
        site_url=str(mkdocs.get("site_url") or ""),
        formats=tuple(sorted(values["formats"].items())),
        difficulty_sections=tuple(sorted(values["difficulty_sections"].items())),
    )


def _check_mappings(path: Path, values: dict) -> None:
    """The `formats` and `difficulty_sections` options name known formats and difficulties."""
    from qakb.bank import DIFFICULTIES
    from qakb.formats import format_names

    for name, allowed in (("formats", format_names()), ("difficulty_sections", DIFFICULTIES)):
        for key, value in values[name].items():
            if not isinstance(key, str) or value not in allowed:
                raise ValueError(f"{path}: the {PLUGIN_NAME} plugin's option {name} maps {key!r} to {value!r}; "
                                 f"each value must be one of {', '.join(allowed)}")
