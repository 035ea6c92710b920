"""Opening search_index/: its manifest read and checked first, then the layout it names."""

from __future__ import annotations

import json
from pathlib import Path

from qakb.engine.format import MANIFEST_FILE, Manifest, ManifestError, SearchIndexError, index_error
from qakb.engine.sharded import ShardedIndex
from qakb.engine.storage import Storage
from qakb.engine.whole import WholeIndex


def read_manifest(index_dir: Path, content_hash: str | None = None) -> Manifest:
    """The index's manifest, if it is of this format version (and built from `content_hash`, if given)."""
    try:
        data = json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise index_error(index_dir, f"{MANIFEST_FILE} is missing or unreadable") from None
    try:
        manifest = Manifest.from_json(data)
    except ManifestError as error:
        raise index_error(index_dir, str(error)) from None
    except (KeyError, TypeError, ValueError) as error:
        raise index_error(index_dir, f"unreadable ({error})") from None
    if content_hash is not None and manifest.content_hash != content_hash:
        raise index_error(index_dir, "it was built from other content")
    return manifest


def open_index(index_dir, content_hash: str | None = None) -> Storage:
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir, content_hash)
    layout = WholeIndex if manifest.whole is not None else ShardedIndex
    try:
        return layout.open(index_dir, manifest)
    except SearchIndexError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise index_error(index_dir, f"unreadable ({error})") from None
