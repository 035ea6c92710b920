"""The transformer's precision: bfloat16 where the CPU multiplies it natively, float32 elsewhere,
and cached vectors never mixed between the two."""

from __future__ import annotations

import numpy as np
import pytest

from qakb import embed
from qakb.session import BuildSession


@pytest.fixture
def chosen_precision(monkeypatch):
    """Set QAKB_EMBED_PRECISION for one test (precision() is cached for the process)."""

    def choose(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("QAKB_EMBED_PRECISION", raising=False)
        else:
            monkeypatch.setenv("QAKB_EMBED_PRECISION", value)
        embed.precision.cache_clear()

    yield choose
    embed.precision.cache_clear()


def test_the_environment_chooses_the_precision_and_an_unknown_one_is_refused(chosen_precision):
    chosen_precision("fp32")
    assert embed.precision() == "fp32"
    assert embed.vectors_key() == embed.MODEL_NAME  # the key vectors had before bfloat16
    chosen_precision("bf16")
    assert embed.precision() == "bf16"
    assert embed.vectors_key() == f"{embed.MODEL_NAME}@bf16"
    chosen_precision("fp16")
    with pytest.raises(ValueError, match="QAKB_EMBED_PRECISION='fp16': use one of fp32, bf16"):
        embed.precision()


def test_without_a_choice_the_cpu_flags_decide(chosen_precision, monkeypatch, tmp_path):
    chosen_precision(None)
    cpuinfo = tmp_path / "cpuinfo"
    real_path = embed.Path

    def fake_path(name, *rest):
        return cpuinfo if name == "/proc/cpuinfo" else real_path(name, *rest)

    monkeypatch.setattr(embed, "Path", fake_path)
    for flags, expected in (("fpu sse2 avx2 avx512f", "fp32"), ("fpu avx512f avx512_bf16 avx512_vnni", "bf16"),
                            ("fpu amx_tile amx_bf16", "bf16"), ("fpu avx512_bf16x", "fp32")):
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
        embed.precision.cache_clear()
        assert embed.precision() == expected, flags
    cpuinfo.unlink()  # no /proc/cpuinfo (not Linux): float32
    embed.precision.cache_clear()
    assert embed.precision() == "fp32"


def test_vectors_cached_at_one_precision_are_not_served_at_the_other(chosen_precision, monkeypatch, tmp_path):
    made = []

    def fake_encode(texts, batch_size=32):
        made.append((embed.precision(), list(texts)))
        return np.full((len(texts), embed.DIMENSION), 1.0 if embed.precision() == "fp32" else 2.0, np.float32)

    monkeypatch.setattr(embed, "encode_texts", fake_encode)
    cache = tmp_path / "embeddings.sqlite"
    kept = BuildSession().vectors  # what a watching process keeps from build to build: keyed by precision too
    for precision, value in (("fp32", 1.0), ("bf16", 2.0), ("fp32", 1.0)):
        chosen_precision(precision)
        embedder = embed.Embedder(cache, kept=kept)
        assert embedder.encode(["one text"])[0, 0] == value
        embedder.close()
    assert made == [("fp32", ["one text"]), ("bf16", ["one text"])]  # the third came from the cache


@pytest.mark.slow
def test_bfloat16_vectors_are_the_float32_vectors_to_four_decimals(chosen_precision):
    texts = ["Why does my loss turn into NaN after a few epochs?",
             "Batch normalisation keeps each layer's inputs at zero mean and unit variance, "
             "which lets the network train with higher learning rates.",
             "```python\nfor step in range(10):\n    loss.backward()\n```"]
    chosen_precision("fp32")
    full = embed.encode_texts(texts)
    chosen_precision("bf16")
    half = embed.encode_texts(texts)
    assert full.dtype == half.dtype == np.float32
    assert np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)
    cosines = (full * half).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    assert not np.array_equal(full, half)  # the products really ran in bfloat16
