"""The documentation covers what a user can reach: every plugin option (with its default) and
every `qakb` command in the README, and a docstring atop every module of the package."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from projects import ROOT
from qakb.cli import parser
from qakb.config import OPTIONS, PLUGIN_NAME

README = ROOT / "README.md"
PACKAGE = ROOT / "qakb"
_FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def fenced_blocks(language: str) -> list[str]:
    return [body for lang, body in _FENCED.findall(README.read_text(encoding="utf-8")) if lang == language]


def readme_plugin_options() -> dict:
    """The options of the README's mkdocs.yml block that shows the qakb plugin with its defaults."""
    for block in fenced_blocks("yaml"):
        settings = yaml.safe_load(block)
        if isinstance(settings, dict):
            for entry in settings.get("plugins") or []:
                if isinstance(entry, dict) and PLUGIN_NAME in entry:
                    return entry[PLUGIN_NAME]
    pytest.fail("the README has no ```yaml block with the qakb plugin's options")


def test_every_plugin_option_is_in_the_readme_with_its_default():
    assert readme_plugin_options() == {option.name: option.default for option in OPTIONS}


def test_every_command_is_in_the_readmes_command_list():
    subcommands = next(action for action in parser()._actions if action.dest == "command").choices
    listed = {match[1] for block in fenced_blocks("sh") for match in re.finditer(r"qakb (\w+)", block)}
    assert sorted(set(subcommands) - listed) == []


def modules() -> list:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py" and "assets" not in path.parts)


@pytest.mark.parametrize("path", modules(), ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_every_module_says_what_it_is_for(path):
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), f"{path} has no module docstring"


ARCHITECTURE = PACKAGE / "ARCHITECTURE.md"


def test_every_module_is_named_in_the_architecture_document():
    """qakb/ARCHITECTURE.md's module table names every module, as `qakb.x.y` or `qakb/x/y.py`:
    a new module gets its line there."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = []
    for path in modules():
        relative = path.relative_to(ROOT).with_suffix("")
        dotted = ".".join(relative.parts)
        named = re.search(rf"(?<![\w.]){re.escape(dotted)}(?![\w])", text)
        if not named and relative.with_suffix(".py").as_posix() not in text:
            missing.append(dotted)
    assert missing == [], f"not in {ARCHITECTURE.relative_to(ROOT)}'s module table: {missing}"
