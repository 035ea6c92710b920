"""`qakb new`: a site folder that `qakb build` and `qakb serve` run as it is.

    DIR/
      mkdocs.yml      the site's name and description, Material theme, `plugins: [search, qakb]`
      content/        the bank file(s), and the images they show, at the same relative paths
      docs/about.md   a hand-written page about the search, the user's to edit
      README.md       how to build, serve, edit and publish; the bank format in brief
      .gitignore      the generated folders
      requirements.txt                 what a build machine installs: this qakb, CPU-only torch
      .github/workflows/pages.yml      builds the site and publishes it on GitHub Pages

All the site's code is the qakb package (its mkdocs plugin), so nothing else is copied.
Banks are parsed and their images resolved before anything is written, with the
messages a build would give; the folder appears in one rename, complete or not at all.
"""

from __future__ import annotations

import importlib.metadata
import ipaddress
import json
import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from qakb.formats import format_names, read_bank_file
from qakb.parse import ParseError, SourceFile, bank_files

TEMPLATE_DIR = Path(__file__).with_name("site_template")
EXAMPLE_BANK = "example-bank.md"
CONTENT_DIR = "content"
# Template file -> where it goes in the new folder. The templates name $site_name, $site_name_yaml,
# $site_description_yaml, $site_url_line, $qakb_requirement and $torch_version (`$$` is a dollar sign).
SITE_FILES = {
    "mkdocs.yml": "mkdocs.yml",
    "README.md": "README.md",
    "gitignore": ".gitignore",
    "docs/about.md": "docs/about.md",
    "requirements.txt": "requirements.txt",
}
# Copied as they are: GitHub's `${{ }}` expressions are no template placeholders.
VERBATIM_FILES = {
    "github-pages.yml": ".github/workflows/pages.yml",
}
WORKFLOW = VERBATIM_FILES["github-pages.yml"]
URL_EXAMPLE = "https://USER.github.io/REPO/"  # a GitHub Pages project site's address
# A host name's labels (urlsplit gives it in lower case).
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?")


class NewSiteError(ValueError):
    """`qakb new` cannot make the folder; the message says why and what to do."""


@dataclass(frozen=True)
class NewSite:
    folder: Path
    site_name: str
    banks: tuple[str, ...]
    images: tuple[str, ...]
    questions: int
    warnings: tuple[str, ...]
    sources: tuple[tuple[Path, SourceFile], ...] = ()
    site_url: str | None = None
    # Why requirements.txt's qakb line may not install on another machine; None when it will.
    requirement_note: str | None = None


@dataclass(frozen=True)
class _Bank:
    path: Path
    source: SourceFile
    images: tuple[Path, ...]


def new_site(folder: Path, banks: list[Path], title: str | None = None, format: str | None = None,
             url: str | None = None) -> NewSite:
    """Make `folder` (absent or empty) a site of `banks` (files, or folders of bank files: one topic
    per file), or of an example bank if none is given. `format` names the banks' format where
    detection would guess wrong; it is kept in mkdocs.yml for the builds. `url` is the address the
    site will be published at, mkdocs.yml's `site_url`."""
    site_url = checked_site_url(url) if url is not None else None
    folder = folder.resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise NewSiteError(f"{folder} already exists and is not empty; name a new folder (qakb new never "
                           "writes into a folder that holds anything)")
    if format is not None and format not in format_names():
        raise NewSiteError(f"unknown format {format!r}; the formats are: {', '.join(format_names())}")
    read = [_read_bank(path, format) for path in _bank_paths(banks)] or [_read_bank(TEMPLATE_DIR / EXAMPLE_BANK)]
    names = [bank.path.name for bank in read]
    if len(set(names)) != len(names):
        raise NewSiteError(f"two banks have the same file name ({', '.join(sorted(names))}); "
                           "rename one: content/ holds them side by side")
    site_name = (title or "").strip() or read[0].source.title.strip() or folder.name
    questions = sum(len(bank.source.questions) for bank in read)
    description = f"{questions} interview questions and answers, with semantic search that runs in your browser."
    distribution = importlib.metadata.distribution("qakb")
    qakb_line, requirement_note = qakb_requirement(distribution.version, distribution.read_text("direct_url.json"))
    values = {
        "site_name": site_name,
        # JSON strings are YAML strings: any title is quoted safely in mkdocs.yml.
        "site_name_yaml": json.dumps(site_name, ensure_ascii=False),
        "site_description_yaml": json.dumps(description, ensure_ascii=False),
        "formats_option": _formats_option(names, format),
        "site_url_line": f"site_url: {json.dumps(site_url)}" if site_url else f"# site_url: {URL_EXAMPLE}",
        "qakb_requirement": qakb_line,
        # The local label (+cpu) names the index the wheel came from, which requirements.txt names.
        "torch_version": importlib.metadata.version("torch").split("+")[0],
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.qakb-new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        images = _write_content(staging / CONTENT_DIR, read)
        for template, target in SITE_FILES.items():
            text = Template((TEMPLATE_DIR / template).read_text(encoding="utf-8")).substitute(values)
            (staging / target).parent.mkdir(parents=True, exist_ok=True)
            (staging / target).write_text(text, encoding="utf-8")
        for template, target in VERBATIM_FILES.items():
            (staging / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(TEMPLATE_DIR / template, staging / target)
        if folder.exists():  # empty, and perhaps the user's current folder: fill it, keep it
            for entry in staging.iterdir():
                entry.rename(folder / entry.name)
        else:
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return NewSite(folder=folder, site_name=site_name, banks=tuple(names), images=images, questions=questions,
                   warnings=tuple(warning for bank in read for warning in bank.source.warnings),
                   sources=tuple((bank.path, bank.source) for bank in read), site_url=site_url,
                   requirement_note=requirement_note)


def checked_site_url(url: str) -> str:
    """`url` as mkdocs.yml's `site_url`, ending in `/`; a NewSiteError says what is wrong with it."""
    example = f"for example {URL_EXAMPLE}"
    try:
        parts = urlsplit(url)
    except ValueError as error:  # an unclosed [ of an IPv6 address
        raise NewSiteError(f"--url {url!r} is not a web address ({error}); {example}") from None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise NewSiteError(f"--url {url!r} is not a web address: give the full address the site will be "
                           f"published at, starting with https:// ({example})")
    if any(character.isspace() or not character.isprintable() for character in url):
        raise NewSiteError(f"--url {url!r} holds spaces or control characters; write a space in a path as %20")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise NewSiteError(f"--url {url!r} has a query or a fragment (after ? or #); give the site's own "
                           f"address ({example})")
    if parts.username is not None:
        raise NewSiteError(f"--url {url!r} holds a user name or password (before @); a published site's "
                           "address has none")
    try:
        parts.port
    except ValueError:
        raise NewSiteError(f"--url {url!r} has a port that is not a number from 0 to 65535") from None
    if not _is_host(parts.hostname or ""):
        raise NewSiteError(f"--url {url!r}: {parts.hostname!r} is not a host name ({example})")
    return url if url.endswith("/") else url + "/"


def _is_host(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return bool(_HOST_NAME.fullmatch(name))
    return True


def qakb_requirement(version: str, direct_url: str | None) -> tuple[str, str | None]:
    """requirements.txt's line for the qakb installed here (from its PEP 610 `direct_url.json`, absent
    when it came from an index), and why that line may not install elsewhere (None if it will)."""
    if direct_url is None:
        return f"qakb=={version}", None
    origin = json.loads(direct_url)
    url = origin.get("url", "")
    vcs = origin.get("vcs_info")
    if vcs and not url.startswith("file:"):
        return f"qakb @ {vcs['vcs']}+{url}@{vcs['commit_id']}", None
    if "archive_info" in origin and url.startswith("https://"):
        return f"qakb @ {url}", None
    return f"qakb=={version}", (
        f"requirements.txt names qakb=={version}, but qakb is installed here from {url}: if that version is "
        "not on PyPI, write where a build machine gets it in its place (qakb @ git+https://…@TAG, or a "
        "wheel's https:// address)")


def _bank_paths(banks: list[Path]) -> list[Path]:
    """The bank files named: a folder stands for the bank files in it."""
    paths = []
    for path in banks:
        if path.is_dir():
            inside = bank_files(path)
            if not inside:
                raise NewSiteError(f"{path}: the folder holds no bank files (Markdown, CSV, TSV, JSON, YAML, .apkg)")
            paths += inside
        elif not path.is_file():
            raise NewSiteError(f"{path}: no such bank file")
        else:
            paths.append(path)
    return paths


def _formats_option(names: list[str], format: str | None) -> str:
    """The plugin's `formats` option line for mkdocs.yml, when a format was named."""
    if format is None:
        return ""
    mapping = json.dumps({name: format for name in names}, ensure_ascii=False)
    return f"      # The banks' format, named with qakb new --format (else each file's is detected).\n" \
           f"      formats: {mapping}\n"


def _read_bank(path: Path, format: str | None = None) -> _Bank:
    """Read a bank where it is and find the images it shows, as the build will."""
    from qakb.markup import AnswerRenderer

    source = read_bank_file(path, format)
    try:
        renderer = AnswerRenderer(path.parent)
        answers = [renderer.render(question) for question in source.questions]
    except ParseError as error:
        raise ParseError(path, error.line, error.message) from None
    media = [item.source for answer in answers for item in answer.media]
    missing = tuple(warning for answer in answers for warning in answer.missing_images)
    return _Bank(path=path, source=replace(source, warnings=source.warnings + missing),
                 images=tuple(dict.fromkeys(media)))


def _write_content(content: Path, banks: list[_Bank]) -> tuple[str, ...]:
    """Copy the banks, and each image to the same path relative to its bank; the copied images."""
    content.mkdir(parents=True)
    copied: dict[str, Path] = {}
    for bank in banks:
        shutil.copyfile(bank.path, content / bank.path.name)
        for image in bank.images:
            relative = image.relative_to(bank.path.parent.resolve()).as_posix()
            if relative in copied:
                if copied[relative].read_bytes() != image.read_bytes():
                    raise NewSiteError(f"two banks show different images under the same path {relative} "
                                       f"({copied[relative]} and {image}); rename one")
                continue
            (content / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, content / relative)
            copied[relative] = image
    return tuple(sorted(copied))
