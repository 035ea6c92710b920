"""Helpers for tests that build whole projects: a copy of this project with other content."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "content" / "ml-dl-interview-qa.md"
QAKB = [sys.executable, "-m", "qakb.cli"]
# A site folder needs only these besides content/: the site's code is the qakb package.
PROJECT_FILES = ("mkdocs.yml", "docs")


def make_project(where: Path, bank: dict[str, str] | None = None, topics: str | None = None) -> Path:
    """A project folder with this project's site config and the given bank files (default: the seed)."""
    where.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, where / name)
        else:
            shutil.copy2(source, where / name)
    content = where / "content"
    content.mkdir()
    for name, text in (bank or {SEED.name: SEED.read_text(encoding="utf-8")}).items():
        (content / name).write_text(text, encoding="utf-8")
    (content / "topics.yml").write_text(
        topics if topics is not None else (ROOT / "content" / "topics.yml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return where


def qakb(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the qakb CLI on `project`, sharing this checkout's cache (model, embeddings, browser runtime)."""
    env = {**os.environ, "QAKB_CACHE_DIR": str(ROOT / ".cache")}
    return subprocess.run([*QAKB, "--project", str(project), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}
