"""The general token table: every token's row of the static encoder, trained once on a large and
varied text corpus and shipped with the package (`qakb/data/general_table.npz`); each bank's
table starts from it (`qakb.query_encoder`) instead of model2vec's bare distillation.

How it is made (`scripts/train_general_table.py`, about an hour on 2 cores, run by hand when the
model or the tokenizer changes; never at build time):

1. The corpus (`corpus_texts`): ~200,000 short texts gathered offline from what any Debian
   machine with the project installed has: Debian's package descriptions (`apt-cache
   dumpavail`), man pages, the docstrings of Python's standard library and of the installed
   packages (numpy, scikit-learn, torch, ...), the packages' descriptions, the two test banks of
   `tests/data/` and `content/`, plus short word windows of those texts (queries are short).
   The banks of `../shared/banks/` are left out: their held-out query sets measure what this
   table does for a bank it never saw.
2. The targets: the transformer's vector of every text (`qakb.embed`, cached on disk).
3. The rows: model2vec's distilled rows, SIF-weighted and mapped into the transformer's space
   by a ridge regression (`ridge_mapped_rows`), then trained as model2vec's tokenlearn does so
   that the mean of a text's token rows points along its target (`fit_rows`: cosine loss,
   Adam, pulled back towards the start).
4. Packed (`pack`): centred, cut to PACKED_DIMS principal axes (the ranking figures of the
   full table, measured on the development banks' sets), int8 per row with a float32 scale.

`fit_rows` is also the per-bank training (`qakb.query_encoder.trained_rows`).
"""

from __future__ import annotations

import ast
import hashlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERAL_TABLE_FILE = Path(__file__).parent / "data" / "general_table.npz"
PACKED_DIMS = 256
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
# Sections of a docstring past its prose (numpydoc, Google style, doctest, reST directives).
_DOC_SECTION = re.compile(r"\s*(Parameters|Returns|Yields|Examples?|See Also|Notes|Raises|Args|Attributes|>>>|\.\.|-{3,})")
_SKIPPED_FOLDERS = frozenset({"tests", "test", "testing", "_vendor", "vendored", "idlelib", "lib2to3", "site-packages"})


@dataclass(frozen=True)
class GeneralTable:
    vocab_digest: str  # sha256 of the tokenizer's tokens, "\n"-joined: the table fits that vocabulary only
    mean: np.ndarray  # 384 float32
    basis: np.ndarray  # 384 x PACKED_DIMS float32, orthonormal columns
    scales: np.ndarray  # float32 per token
    rows: np.ndarray  # int8, tokens x PACKED_DIMS

    def unpacked(self) -> np.ndarray:
        """Every token's row in the transformer's space (float32, tokens x 384)."""
        return ((self.rows.astype(np.float32) * self.scales[:, None]) @ self.basis.T + self.mean).astype(np.float32)


def vocab_digest(tokens: list[str]) -> str:
    return hashlib.sha256("\n".join(tokens).encode("utf-8")).hexdigest()


def pack(rows: np.ndarray, tokens: list[str], dims: int = PACKED_DIMS) -> GeneralTable:
    """`rows` (tokens x 384) centred, on their top `dims` principal axes, int8 with a scale a row."""
    rows = rows.astype(np.float64)
    mean = rows.mean(axis=0)
    _, vectors = np.linalg.eigh((rows - mean).T @ (rows - mean))
    basis = vectors[:, ::-1][:, :dims]
    reduced = (rows - mean) @ basis
    scales = np.abs(reduced).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.clip(np.rint(reduced / scales[:, None]), -127, 127).astype(np.int8)
    return GeneralTable(vocab_digest(tokens), mean.astype(np.float32), basis.astype(np.float32),
                        scales.astype(np.float32), quantised)


def save(table: GeneralTable, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        np.savez_compressed(file, vocab_digest=np.array(table.vocab_digest), mean=table.mean, basis=table.basis,
                            scales=table.scales, rows=table.rows)


def load(path: Path = GENERAL_TABLE_FILE) -> GeneralTable:
    with np.load(path) as saved:
        return GeneralTable(str(saved["vocab_digest"]), saved["mean"], saved["basis"], saved["scales"], saved["rows"])


def general_rows(tokens: list[str], path: Path = GENERAL_TABLE_FILE) -> np.ndarray:
    """The shipped table's rows for `tokens` (the distilled tokenizer's, in id order); an error
    naming what to do when the table was trained for another vocabulary."""
    table = load(path)
    if table.vocab_digest != vocab_digest(tokens) or len(table.rows) != len(tokens):
        raise ValueError(f"{path}: the general table was trained for another tokenizer vocabulary; "
                         "retrain it with scripts/train_general_table.py")
    return table.unpacked()


# -- training ---------------------------------------------------------------------------------

def ridge_mapped_rows(rows: np.ndarray, token_lists: list[list[int]], targets: np.ndarray,
                      ridge: float = 1.0) -> np.ndarray:
    """`rows` times the linear map that best sends a text's unit-length summed rows to its target."""
    features = np.zeros((len(token_lists), rows.shape[1]))
    for position, ids in enumerate(token_lists):
        if len(ids):
            total = rows[ids].sum(axis=0)
            features[position] = total / (np.linalg.norm(total) or 1.0)
    targets = targets.astype(np.float64)
    mapping = np.linalg.solve(features.T @ features + ridge * np.eye(rows.shape[1]), features.T @ targets)
    return rows.astype(np.float64) @ mapping


def fit_rows(rows: np.ndarray, token_lists: list[list[int]], targets: np.ndarray, epochs: int,
             learning_rate: float, reg: float, batch: int, seed: int = 0) -> np.ndarray:
    """The token rows after training: each text's summed rows should point along its target.

    Loss: mean (1 - cosine) over the texts, plus `reg` * squared distance of every row a batch
    touches from where it started. Adam, shuffled batches, one thread and a fixed seed, so a
    build is reproducible. Rows of tokens the texts never use stay as they were.
    """
    used = [i for i, ids in enumerate(token_lists) if len(ids)]
    if epochs <= 0 or not used:
        return rows.astype(np.float64)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        start = torch.tensor(rows, dtype=torch.float32)
        table = torch.nn.Parameter(start.clone())
        wanted = torch.tensor(targets[used], dtype=torch.float32)
        tokens = [torch.as_tensor(np.asarray(token_lists[i], dtype=np.int64)) for i in used]
        optimiser = torch.optim.Adam([table], lr=learning_rate)
        for _ in range(epochs):
            order = torch.randperm(len(used), generator=generator).tolist()
            for first in range(0, len(order), batch):
                chosen = order[first:first + batch]
                bag = torch.cat([tokens[i] for i in chosen])
                offsets = torch.tensor([0] + [len(tokens[i]) for i in chosen[:-1]]).cumsum(0)
                sums = torch.nn.functional.embedding_bag(bag, table, offsets, mode="sum")
                cosine = (sums * wanted[chosen]).sum(1) / sums.norm(dim=1).clamp_min(1e-9)
                touched = torch.unique(bag)
                drift = ((table[touched] - start[touched]) ** 2).sum(1).mean()
                loss = (1 - cosine).mean() + reg * drift
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    finally:
        torch.set_num_threads(threads)
    return table.detach().numpy().astype(np.float64)


# -- the corpus -------------------------------------------------------------------------------

def sentences(paragraph: str, shortest: int = 15, longest: int = 300) -> list[str]:
    """A paragraph's sentences, markup dropped, keeping those of mostly letters between the two lengths."""
    text = re.sub(r"\\-", "-", paragraph)
    text = re.sub(r"[`*_]{1,3}|:\w+:|\\f[BIRP]|\\\(..|\\&|\\e|\\s[-+]?\d", "", text)
    text = re.sub(r"\s+", " ", text).strip(" -*#>|")
    return [sentence for sentence in _SENTENCE_END.split(text)
            if shortest <= len(sentence) <= longest and sum(char.isalpha() for char in sentence) > 0.6 * len(sentence)]


def debian_descriptions(dump: str) -> list[str]:
    """The one-line descriptions of `apt-cache dumpavail`'s packages."""
    return [line.removeprefix("Description: ").strip() for line in dump.splitlines()
            if line.startswith("Description: ")]


def docstring_texts(source: str) -> list[str]:
    """The prose sentences of a Python file's docstrings (module, classes, functions), up to their
    first Parameters / Examples / doctest section."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for paragraph in re.split(r"\n\s*\n", ast.get_docstring(node) or "")[:4]:
                if _DOC_SECTION.match(paragraph):
                    break
                found += sentences(paragraph)
    return found


def python_tree_texts(root: Path, per_package: int) -> list[str]:
    """`docstring_texts` of every .py file under `root` but tests and vendored copies, at most
    `per_package` sentences for each top-level folder (so torch does not drown the rest)."""
    by_package: dict[str, list[str]] = {}
    for path in sorted(Path(root).rglob("*.py")):
        parts = path.relative_to(root).parts
        if _SKIPPED_FOLDERS.intersection(parts[:-1]):
            continue
        found = by_package.setdefault(parts[0], [])
        if len(found) < per_package:
            found += docstring_texts(path.read_text(encoding="utf-8", errors="replace"))
    return [text for found in by_package.values() for text in found]


def man_page_texts(troff: str, most: int = 30) -> list[str]:
    """A man page's NAME line and the sentences of its DESCRIPTION and OPTIONS, troff macros dropped."""
    paragraphs, current, kept_section = [], [], False
    for line in troff.splitlines():
        if line.startswith(".SH"):
            kept_section = line[3:].strip().strip('"').upper() in ("NAME", "DESCRIPTION", "OPTIONS")
            paragraphs, current = (paragraphs + [" ".join(current)] if current else paragraphs), []
            continue
        if not kept_section:
            continue
        if line.startswith((".PP", ".P", ".LP", ".TP", ".IP", ".sp", ".br")):
            paragraphs, current = (paragraphs + [" ".join(current)] if current else paragraphs), []
        elif line.startswith((".B ", ".I ", ".BR ", ".IR ", ".BI ", ".RB ", ".IB ")):
            current.append(line.split(" ", 1)[1].replace('"', ""))
        elif not line.startswith((".", "'")):
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    found = []
    for paragraph in paragraphs:
        if not found and " \\- " in paragraph:  # NAME: "ls \- list directory contents"
            found += sentences(paragraph.split(" \\- ", 1)[1], shortest=8)
        else:
            found += sentences(paragraph)
    return found[:most]


def word_windows(texts: list[str], count: int, seed: int = 0) -> list[str]:
    """`count` distinct runs of 2-8 words drawn from `texts` of at least 6 words (as short as queries)."""
    long = [text.split() for text in texts if len(text.split()) >= 6]
    rng = random.Random(seed)
    windows: dict[str, None] = {}
    for _ in range(count * 3 if long else 0):
        if len(windows) >= count:
            break
        words = rng.choice(long)
        length = min(rng.randint(2, 8), len(words))
        start = rng.randrange(len(words) - length + 1)
        windows[" ".join(words[start:start + length]).strip(".,;:()")] = None
    return list(windows)


def corpus_texts(sources: dict[str, Iterable[str]], caps: dict[str, int] | None = None, windows: int = 40_000,
                 seed: int = 0) -> list[str]:
    """Every source's texts once (in source order, the first source keeping a text two share), each
    source cut to its cap by a seeded draw, then `windows` word windows of them."""
    rng = random.Random(seed)
    seen: set[str] = set()
    texts: list[str] = []
    for name, found in sources.items():
        unique = [text for text in dict.fromkeys(found) if text not in seen and len(text) >= 8]
        cap = (caps or {}).get(name)
        if cap is not None and len(unique) > cap:
            chosen = set(rng.sample(range(len(unique)), cap))
            unique = [text for position, text in enumerate(unique) if position in chosen]
        seen.update(unique)
        texts += unique
    return texts + [window for window in word_windows(texts, windows, seed) if window not in seen]
