"""What static hosts refuse, checked on the built site: a file over 25 MiB, more than 20,000 files.

Cloudflare Pages refuses a file over 25 MiB and a site of more than 20,000 files; GitHub
refuses a file over 100 MB. A site that breaks one of these limits still builds (nginx, Caddy
or S3 take it), and the build warns, naming each file with its size and what to change, so
that an upload does not fail later with a message about a file the reader never made.

What grows with the bank stays under 25 MiB up to 100,000 questions (scripts/PERFORMANCE.md):
`transformer.faiss` (1.5 kB a question, read only by `qakb ask --exact` and `qakb eval`) and a
sharded index's `metadata.json` (0.5 kB a question, read by no browser) are left out of the
site, the practice page's answers are cut into parts of ~8 MB (`qakb.render`), and the sharded
index's files hold a few dozen rows each. The largest that still grow are Material's keyword
index (0.21 kB a question: 21 MB at 100,000) and links.json (0.17 kB), which pass 25 MiB from
~125,000 questions. The optional Pyodide memory snapshot (26.3 MB) is over 25 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 25 * 1024 * 1024  # Cloudflare Pages' limit, the lowest of the common hosts
MAX_FILES = 20_000  # Cloudflare Pages' limit on a site's files


@dataclass(frozen=True)
class SiteSize:
    files: int
    largest: tuple[str, int]  # (path relative to the site, bytes)
    oversized: list[tuple[str, int]]  # files over MAX_FILE_BYTES, largest first


def site_size(site_dir: Path, max_file_bytes: int = MAX_FILE_BYTES) -> SiteSize:
    """How many files `site_dir` holds, its largest, and those over `max_file_bytes`."""
    sizes = [(path.relative_to(site_dir).as_posix(), path.stat().st_size)
             for path in site_dir.rglob("*") if path.is_file()]
    largest = max(sizes, key=lambda entry: (entry[1], entry[0]), default=("", 0))
    oversized = sorted((entry for entry in sizes if entry[1] > max_file_bytes), key=lambda entry: (-entry[1], entry[0]))
    return SiteSize(len(sizes), largest, oversized)


def warnings(size: SiteSize, precompress: str) -> list[str]:
    """What the build says about a site of `size` (its files named from the site's root: the site is
    built in a staging folder), built with the option `precompress`."""
    found = []
    for path, bytes_ in size.oversized:
        advice = ("leave pyodide_snapshot off there" if path.startswith("assets/pyodide/qakb-snapshot-")
                  else "only hosts without a per-file limit (nginx, Caddy, S3) take it")
        found.append(f"the site's {path} is {bytes_ / 2**20:.1f} MiB: Cloudflare Pages refuses files over "
                     f"{MAX_FILE_BYTES / 2**20:.0f} MiB (GitHub over 100 MB); {advice}")
    if size.files > MAX_FILES:
        advice = ("; precompress: none leaves out the .gz/.br copies, which Cloudflare Pages does not use"
                  if precompress != "none" else "")
        found.append(f"the site holds {size.files:,} files: Cloudflare Pages takes at most {MAX_FILES:,}{advice}")
    return found
