"""Settings from the site's mkdocs.yml (the qakb plugin's options): defaults, overrides and mistakes."""

from __future__ import annotations

import re

import pytest

from projects import ROOT
from qakb.config import DEFAULTS, load_settings
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
    ("qakb:\n      search_start: click", "option search_start must be one of idle, focus, not 'click'"),
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


def test_the_plugin_offers_exactly_these_options_with_these_defaults():
    options = dict(QakbConfig._schema)
    assert set(options) == set(DEFAULTS)
    assert {name: option.default for name, option in options.items()} == DEFAULTS
