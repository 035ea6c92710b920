"""Settings from the site's mkdocs.yml (the qakb plugin's options): defaults, overrides and mistakes."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from projects import ROOT
from qakb.config import OPTIONS, Settings, load_settings, validate_options
from qakb.plugin import QakbConfig

MINIMAL = "site_name: My bank\nplugins:\n  - search\n  - qakb\n"


def write_mkdocs(folder, text: str) -> None:
    (folder / "mkdocs.yml").write_text(text, encoding="utf-8")


def test_defaults_with_a_minimal_mkdocs_yml(tmp_path, monkeypatch):
    monkeypatch.delenv("QAKB_CACHE_DIR", raising=False)
    write_mkdocs(tmp_path, MINIMAL)
    settings = load_settings(tmp_path)
    assert settings.content_dir == tmp_path / "content"
    assert settings.site_dir == tmp_path / "site"
    assert settings.cache_dir == tmp_path / ".cache"
    assert (settings.site_name, settings.site_description) == ("My bank", "")
    assert (settings.related_min, settings.related_max, settings.pyodide_snapshot) == (3, 5, False)


def test_overrides_site_dir_and_cache_from_the_environment(tmp_path, monkeypatch):
    write_mkdocs(tmp_path, "site_name: My bank\nsite_description: Questions.\nsite_dir: public\nplugins:\n"
                           "  - search\n  - qakb:\n      related_max: 4\n      pyodide_snapshot: true\n")
    monkeypatch.setenv("QAKB_CACHE_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings(tmp_path)
    assert (settings.site_dir, settings.related_max, settings.pyodide_snapshot) == (tmp_path / "public", 4, True)
    assert settings.cache_dir == tmp_path / "elsewhere"
    assert settings.site_description == "Questions."


def test_mkdocs_tags_are_tolerated_and_env_is_resolved(tmp_path, monkeypatch):
    monkeypatch.setenv("QAKB_TEST_SITE_NAME", "From the environment")
    write_mkdocs(tmp_path, "site_name: !ENV [QAKB_TEST_SITE_NAME, fallback]\n"
                           "plugins: {search: {}, qakb: {content_dir: banks}}\n"
                           "markdown_extensions:\n  - pymdownx.emoji:\n"
                           "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
                           "extra_css: [!relative $config_dir/x.css]\n")
    settings = load_settings(tmp_path)
    assert settings.site_name == "From the environment"
    assert settings.content_dir == tmp_path / "banks"


def test_this_sites_settings():
    settings = load_settings(ROOT)
    assert settings.site_name == "ML / DL Interview Q&A"
    assert settings.topics_file == ROOT / "content" / "topics.yml"


def test_a_folder_without_mkdocs_yml_says_to_run_qakb_new(tmp_path):
    with pytest.raises(ValueError, match=r"no mkdocs\.yml.*`qakb new DIR --bank FILE\.md`"):
        load_settings(tmp_path)


@pytest.mark.parametrize("plugin, message", [
    ("qakb:\n      colour: 1", "mkdocs.yml: unknown option(s) of the qakb plugin: colour"),
    ("qakb:\n      pyodide_snapshot: yes please", "option pyodide_snapshot must be true or false"),
    ("qakb:\n      related_max: true", "option related_max must be a whole number"),
    ("qakb:\n      page_size: 0", "option page_size (questions a topic page holds) must be 1 or more, not 0"),
    ("qakb:\n      search_start: click", "option search_start must be one of eager, idle, focus, not 'click'"),
    ("qakb:\n      precompress: zstd", "option precompress must be one of none, gzip, brotli, both, not 'zstd'"),
    ("qakb:\n      precompress: true", "option precompress must be text"),
    ("qakb: [content]", "the options of the qakb plugin must be a mapping"),
])
def test_mistakes_are_named(tmp_path, plugin, message):
    write_mkdocs(tmp_path, f"site_name: x\nplugins:\n  - {plugin}\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings(tmp_path)


def test_missing_site_name_and_broken_yaml_are_named(tmp_path):
    write_mkdocs(tmp_path, "plugins: [search, qakb]\n")
    with pytest.raises(ValueError, match="site_name is missing"):
        load_settings(tmp_path)
    write_mkdocs(tmp_path, "site_name: [unclosed\n")
    with pytest.raises(ValueError, match="mkdocs.yml is not valid YAML"):
        load_settings(tmp_path)


# --- the one schema of options (qakb.config.OPTIONS) -------------------------------------------

def test_each_option_has_a_doc_a_kind_and_a_default_that_passes_its_own_checks():
    assert len({option.name for option in OPTIONS}) == len(OPTIONS)
    for option in OPTIONS:
        assert option.doc.strip(), option.name
        assert option.kind in (Path, str, int, bool, dict), option.name
    assert validate_options({}) == {option.name: option.default for option in OPTIONS}


def test_settings_hold_every_option(tmp_path):
    write_mkdocs(tmp_path, MINIMAL)
    settings = load_settings(tmp_path)
    assert {option.name for option in OPTIONS} <= {field.name for field in fields(Settings)}
    assert (settings.search_start, settings.trim_stdlib, settings.formats) == ("idle", True, ())


def test_the_plugin_config_is_made_from_the_schema():
    assert [(name, option.default) for name, option in QakbConfig._schema] == [
        (option.name, option.default) for option in OPTIONS]


MISTAKES = [
    ("related_max: true", "related_max", "option related_max must be a whole number, not True"),
    ("page_size: 0", "page_size", "option page_size (questions a topic page holds) must be 1 or more, not 0"),
    ("search_start: click", "search_start", "option search_start must be one of eager, idle, focus, not 'click'"),
    ("shard_list_size: 0", "shard_above",
     "options shard_above (0: never shard) and shard_list_size (1 or more) cannot be 3000 and 0"),
    ("offline_auto_mb: -1", "offline_auto_mb",
     "option offline_auto_mb (the largest site saved for offline use unasked, in MB; 0: always ask) cannot be "
     "negative, not -1"),
    ("formats: {bank.md: nonsense}", "formats",
     "option formats maps 'bank.md' to 'nonsense'; each value must be one of"),
]


@pytest.mark.parametrize("option, name, message", MISTAKES)
def test_mkdocs_reports_a_mistake_as_qakb_does(tmp_path, caplog, option, name, message):
    """One check for both readers of the options: `qakb build`/`qakb ask` (load_settings) and mkdocs."""
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    (tmp_path / "docs").mkdir()
    write_mkdocs(tmp_path, f"site_name: x\ntheme:\n  name: material\nplugins:\n  - search\n  - qakb:\n      {option}\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings(tmp_path)
    with pytest.raises(Abort):  # mkdocs logs the reason
        load_config(str(tmp_path / "mkdocs.yml"))
    assert f"Plugin 'qakb' option '{name}': the qakb plugin's {message}" in caplog.text
