"""[tool.qakb] settings: defaults, overrides and mistakes."""

from __future__ import annotations

import re

import pytest

from qakb.config import load_settings


def test_defaults_without_a_pyproject(tmp_path, monkeypatch):
    monkeypatch.delenv("QAKB_CACHE_DIR", raising=False)
    settings = load_settings(tmp_path)
    assert settings.content_dir == tmp_path / "content"
    assert settings.site_dir == tmp_path / "site"
    assert (settings.related_min, settings.related_max, settings.pyodide_snapshot) == (3, 5, True)


def test_overrides_and_cache_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.qakb]\nsite_dir = "public"\nrelated_max = 4\npyodide_snapshot = false\n', encoding="utf-8")
    monkeypatch.setenv("QAKB_CACHE_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings(tmp_path)
    assert (settings.site_dir, settings.related_max, settings.pyodide_snapshot) == (tmp_path / "public", 4, False)
    assert settings.cache_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize("line, message", [
    ("colour = 1", "unknown [tool.qakb] setting(s): colour"),
    ('pyodide_snapshot = "yes"', "pyodide_snapshot must be true or false"),
])
def test_mistakes_are_named(tmp_path, line, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.qakb]\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_settings(tmp_path)
