"""Train the general token table shipped as qakb/data/general_table.npz (`qakb.general_table`).

    .venv/bin/python scripts/train_general_table.py WORK_DIR [--epochs 3]

Run by hand, once, when the model or its tokenizer changes; never by a build. Each stage keeps its
output in WORK_DIR and is skipped when it is there: corpus.txt (~200,000 texts, ~1 min),
corpus-vectors.npy (the transformer's vectors: ~35 min on 2 busy cores under bfloat16),
trained.npy (the rows: ~4-15 min an epoch), then the packed table (~7 MB) written into the package.

The corpus is what a Debian machine with this project's .venv has offline: Debian's package
descriptions, man pages (sections 1, 5, 7 and 8, at most 35,000 sentences of them), docstrings of
Python's standard library (600 sentences a top-level module at most) and of the installed packages
(2,500 each), the installed packages' descriptions, the two test banks of this repository, and
40,000 short word windows of all that. ../shared/banks/ is left out on purpose (its held-out sets
measure banks the table never saw).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

from qakb import general_table, query_encoder
from qakb.engine.encoder import StaticEncoder

ROOT = Path(__file__).resolve().parent.parent
CAPS = {"man": 35_000}
BANKS = [ROOT / "content" / "ml-dl-interview-qa.md", ROOT / "tests" / "data" / "ds-bank" / "data-science-qa.md"]


def gather() -> list[str]:
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=False).stdout
    packages = Path(sysconfig.get_paths()["purelib"])
    sources = {
        "debian": general_table.debian_descriptions(dump),
        "stdlib": general_table.python_tree_texts(Path(sysconfig.get_paths()["stdlib"]), per_package=600),
        "packages": general_table.python_tree_texts(packages, per_package=2500),
        "metadata": [text for dist in importlib.metadata.distributions() for text in _described(dist)],
        "man": [text for section in ("man1", "man5", "man7", "man8")
                for path in sorted(Path("/usr/share/man", section).glob("*.gz")) for text in _man_page(path)],
        "banks": [text for path in BANKS if path.is_file()
                  for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
                  for text in general_table.sentences(paragraph)],
    }
    for name, texts in sources.items():
        print(f"{name}: {len(texts)} texts", flush=True)
    return general_table.corpus_texts(sources, CAPS)


def _described(dist) -> list[str]:
    body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
    paragraphs = [p for p in re.split(r"\n\s*\n", body)[:40] if not p.lstrip().startswith(("```", "    ", "|", "<", ".."))]
    return [dist.metadata.get("Summary") or ""] + [s for p in paragraphs for s in general_table.sentences(p)]


def _man_page(path: Path) -> list[str]:
    try:
        return general_table.man_page_texts(gzip.open(path, "rt", errors="replace").read())
    except OSError:
        return []


def embedded(texts: list[str]) -> np.ndarray:
    from qakb.embed import encode_texts

    import torch

    torch.set_num_threads(1)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding in a batch
    vectors = np.zeros((len(texts), 384), np.float32)
    for first in range(0, len(order), 8192):
        chosen = order[first:first + 8192]
        vectors[chosen] = encode_texts([texts[i] for i in chosen], batch_size=64)
        print(f"embedded {first + len(chosen)} / {len(texts)}", flush=True)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--reg", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=general_table.GENERAL_TABLE_FILE)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    corpus_file, vectors_file, trained_file = (args.work / name for name in
                                               ("corpus.txt", "corpus-vectors.npy", "trained.npy"))
    if not corpus_file.exists():
        corpus_file.write_text("\n".join(text.replace("\n", " ") for text in gather()), encoding="utf-8")
    texts = corpus_file.read_text(encoding="utf-8").split("\n")
    if not vectors_file.exists():
        np.save(vectors_file, embedded(texts))
    targets = np.load(vectors_file)
    model = query_encoder.distilled_model(ROOT / ".cache")
    encoder = StaticEncoder(model.tokens, model.chars, b"", 0, 1, query_encoder.ENCODER_SPEC)
    token_lists = [encoder.token_ids(text) for text in texts]
    if not trained_file.exists():
        from model2vec.distill.inference import compute_weights

        weighted = model.embeddings.astype(np.float64) * compute_weights(len(model.embeddings), 1e-4)[:, None]
        sample = np.random.default_rng(0).permutation(len(texts))[:40_000]
        start = general_table.ridge_mapped_rows(weighted, [token_lists[i] for i in sample], targets[sample])
        started = time.perf_counter()
        rows = general_table.fit_rows(start, token_lists, targets, epochs=args.epochs,
                                      learning_rate=args.learning_rate, reg=args.reg, batch=512)
        print(f"trained {args.epochs} epochs in {time.perf_counter() - started:.0f} s", flush=True)
        np.save(trained_file, rows.astype(np.float32))
    general_table.save(general_table.pack(np.load(trained_file), model.tokens), args.out)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
