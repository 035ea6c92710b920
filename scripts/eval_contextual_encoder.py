"""An experiment (issue 22): a small contextual query encoder over the static token rows.

The browser's static encoder sums a query's int8 token rows (`qakb.engine.encoder`): every token
counts the same wherever it stands. This script trains, on top of each bank's own table (the
rows the browser gets, unchanged), a small layer that lets the tokens of a query see each other:

- attnpool: a weighted sum, each token's weight a softmax of a tiny MLP of its row;
- selfattn: one single-head self-attention layer (64-d queries, keys and values) with a residual, then the sum;
- conv: a width-3 convolution (64 hidden units, ReLU) with a residual, then the sum.

Each layer starts as the static encoder (its output weights are zero, or its attention uniform)
and is distilled from the transformer exactly as the table is: its targets are the transformer's
vectors of the table's own training texts (`qakb.query_encoder.training_texts`) projected on the
bank's 64 axes, cosine loss. The layer's weights live in the transformer's 384-d space (a token's
row is lifted through the bank's axes), so one layer can be trained on several banks and applied
to another; at run time it folds into 64-d matrices. Two ways of training:

- per bank: on the bank's own training texts, as a build would;
- leave one bank out: once on the other banks' training texts, applied to the held-out bank.

Then each variant's query vector replaces the static encoder's (BM25, passages, the fusion weights
unchanged: the weights are fitted without the held-out bank as `qakb eval --banks` fits them) and
the held-out queries of scripts/eval-banks.yml are ranked. The epoch kept is the one with the best
cosine on a tenth of the training texts left out of training; no query set chooses anything
(--dev prints the two test banks' dev sets, which may). --latency times the forward pass in
pure Python (lists and the engine's `dot`), after checking it against torch.

    .venv/bin/python scripts/eval_contextual_encoder.py [--kinds attnpool,selfattn,conv] [--modes bank,lobo]
        [--corpus WORK_DIR] [--dev] [--latency KIND/MODE [--python /path/to/python3.13]] [--epochs 10]

--corpus adds texts the table was not fitted to: a sample of scripts/train_general_table.py's corpus.
Reads the indexes `qakb eval --banks` built (cached in .cache/eval-index/) and the transformer
vectors cached in .cache; trains on CPU with torch, one thread: seconds a bank for attnpool, up to
~4 min a bank for selfattn with --corpus, and lobo's folds ~4x a bank's. The results are in
scripts/SEARCH_QUALITY.md, "A small contextual query encoder".
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qakb.engine.arrays import dot  # noqa: E402  (stdlib: the timing below runs under any Python 3.11+)

HIDDEN = 64  # attnpool's MLP, selfattn's query/key width, conv's channels
TIMED_TOKENS = (5, 12, 40)


# -- the forward pass in pure Python, as the engine would run it (standard library only) ----------

def plain_encode(weights: dict, rows: list[list[float]]) -> list[float] | None:
    """The layer's unit vector of a query from its token rows (the static table's, dequantised), with
    the layer folded into the bank's 64 dimensions (`folded`)."""
    summed = [sum(column) for column in zip(*rows)]
    kind = weights["kind"]
    if kind == "attnpool":
        logits = [dot(weights["out"], [math.tanh(dot(w, row) + b) for w, b in zip(weights["hidden"], weights["bias"])])
                  for row in rows]
        top = max(logits)
        vector = [0.0] * len(summed)
        for logit, row in zip(logits, rows):
            share = math.exp(logit - top)
            vector = [v + share * x for v, x in zip(vector, row)]
    elif kind == "selfattn":
        # The layer's output is summed over positions, so only each key's total attention counts.
        column = [0.0] * len(rows)
        for row in rows:
            query = [dot(w, row) for w in weights["qk"]]
            logits = [dot(query, key) for key in rows]
            top = max(logits)
            shares = [math.exp(logit - top) for logit in logits]
            total = sum(shares)
            column = [c + share / total for c, share in zip(column, shares)]
        attended = [0.0] * len(summed)
        for weight, row in zip(column, rows):
            attended = [a + weight * x for a, x in zip(attended, row)]
        vector = [s + dot(w, attended) for s, w in zip(summed, weights["mix"])]
    else:  # conv: width 3, zero-padded, ReLU, summed, then mapped back
        zero = [0.0] * len(summed)
        padded_rows = [zero, *rows, zero]
        active = [0.0] * len(weights["bias"])
        for position in range(1, len(padded_rows) - 1):
            window = padded_rows[position - 1] + padded_rows[position] + padded_rows[position + 1]
            active = [a + max(0.0, dot(w, window) + b) for a, w, b in zip(active, weights["hidden"], weights["bias"])]
        vector = [s + dot(w, active) for s, w in zip(summed, weights["out"])]
    norm = math.sqrt(dot(vector, vector))
    return [x / norm for x in vector] if norm else None


def time_plain(sample_file: Path, repeats: int = 300) -> dict:
    """Median and p95 ms of the layer's forward pass, token rows read from int8 as the engine reads them,
    for the first 5, 12 and 40 tokens of the sample; and the static encoder's sum of the same rows."""
    sample = json.loads(Path(sample_file).read_text())
    dim, values, scales = sample["dim"], array("b", sample["values"]), array("f", sample["scales"])
    found = {"python": sys.version.split()[0], "sumprod": hasattr(math, "sumprod")}
    for count in TIMED_TOKENS:
        layer_ms, static_ms = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            rows = [[scales[t] * v for v in values[t * dim:(t + 1) * dim]] for t in range(count)]
            plain_encode(sample["weights"], rows)
            layer_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            total = [0.0] * dim
            for t in range(count):  # `StaticEncoder.encode`'s loop
                scale, start = scales[t], t * dim
                total = [x + scale * v for x, v in zip(total, values[start:start + dim])]
            static_ms.append((time.perf_counter() - started) * 1000)
        layer_ms.sort()
        found[count] = {"median": statistics.median(layer_ms), "p95": layer_ms[int(0.95 * len(layer_ms))],
                        "static_median": statistics.median(static_ms)}
    return found


if __name__ == "__main__" and sys.argv[1:2] == ["--time-plain"]:
    print(json.dumps(time_plain(Path(sys.argv[2]))))
    sys.exit(0)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from qakb import caches, eval_banks, fitting, query_encoder  # noqa: E402
from qakb.embed import Embedder, encode_texts  # noqa: E402
from qakb.engine import Engine  # noqa: E402
from qakb.evaluate import DEPTH, OFF_TOPIC, first_relevant_rank, load_queries, recall_and_mrr, relevant_rows  # noqa: E402
from qakb.index import search_transformer  # noqa: E402
from qakb.markup import answers_and_documents  # noqa: E402
from qakb.parse import parse_content  # noqa: E402

SPEC = ROOT / "scripts" / "eval-banks.yml"
CACHE = ROOT / ".cache"
KINDS = ("attnpool", "selfattn", "conv")
MAX_TRAIN_TOKENS = 64  # training texts cut to this many tokens (a query has at most 48 words)
VALIDATION_SHARE = 0.1
WIDTH = 384  # the transformer's dimensions, where the layer's weights live


@dataclass
class Bank:
    name: str
    engine: Engine
    rows: np.ndarray  # the browser's table, dequantised: float32, rows x 64
    basis: np.ndarray  # 384 x 64, the bank's axes
    scale: float  # median norm of a table row: the layer sees rows divided by it
    ids: list[list[int]]  # each training text's token ids (rows of the table)
    targets: np.ndarray  # the training texts' transformer vectors on the bank's axes, unit length
    validation: np.ndarray  # bool per training text: left out of training, picks the epoch
    queries: list  # held-out EvalQuery, off-topic left out
    relevant: list[frozenset[int]]
    dev: list  # (EvalQuery, relevant rows) of its dev sets (ml-dl and data-science only)


def load_bank(prepared: eval_banks.PreparedBank, model: query_encoder.DistilledModel, embedder: Embedder,
              general: tuple[list[str], np.ndarray] | None = None) -> Bank:
    """The bank's index (as `qakb eval --banks` built it), its table, axes and training texts with targets;
    `general`: texts and transformer vectors added to the training texts (the general table's corpus)."""
    content = caches.eval_banks(CACHE) / prepared.spec.name / "content"
    _, documents = answers_and_documents(list(parse_content(content).questions), content)
    settings = query_encoder.StaticSettings()
    texts = query_encoder.training_texts(documents, settings)

    def not_cached(_texts):
        raise RuntimeError(f"bank {prepared.spec.name}: its static table is not cached; run `qakb eval --banks` first")

    table = query_encoder.cached_table(model, texts, not_cached, settings, CACHE)
    engine = Engine.open(prepared.index_dir)
    encoder = engine.encoder
    int8 = np.frombuffer(encoder.values.tobytes(), np.int8).reshape(encoder.rows, encoder.dim)
    if not np.array_equal(int8, table.rows):
        raise RuntimeError(f"bank {prepared.spec.name}: the cached table is not the index's")
    rows = int8.astype(np.float32) * np.frombuffer(encoder.scales.tobytes(), np.float32)[:, None]
    ids = [[i for i in encoder.token_ids(text) if i < encoder.rows] for text in texts]
    vectors = embedder.encode(texts)
    if general is not None:
        texts, vectors = texts + general[0], np.concatenate([vectors, general[1]])
        ids += [[i for i in encoder.token_ids(text) if i < encoder.rows] for text in general[0]]
    targets = query_encoder.project_documents(vectors, table.basis)
    validation = np.array([int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32 < VALIDATION_SHARE
                           for text in texts])
    queries = [q for path in prepared.spec.heldout for q in load_queries(path) if q.kind != OFF_TOPIC]
    dev = [q for path in prepared.spec.dev for q in load_queries(path) if q.kind != OFF_TOPIC]
    used = np.unique(np.concatenate([np.array(each, dtype=np.int64) for each in ids if each]))
    return Bank(prepared.spec.name, engine, rows, table.basis.astype(np.float32),
                float(np.median(np.linalg.norm(rows[used], axis=1))), ids, targets, validation, queries,
                relevant_rows(queries, engine.metadata), list(zip(dev, relevant_rows(dev, engine.metadata))))


# -- the layer, in torch ------------------------------------------------------------------------

class ContextLayer(torch.nn.Module):
    """Token rows (n, L, 64) of one bank in, one 64-d vector per text out; weights in 384-d space."""

    def __init__(self, kind: str, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.kind = kind
        if kind == "attnpool":
            self.hidden = torch.nn.Linear(WIDTH, HIDDEN)
            self.out = torch.nn.Parameter(torch.zeros(HIDDEN))  # uniform weights: the static encoder
        elif kind == "selfattn":
            self.q, self.k, self.v = (torch.nn.Linear(WIDTH, HIDDEN, bias=False) for _ in range(3))
            self.out = torch.nn.Parameter(torch.zeros(WIDTH, HIDDEN))
        elif kind == "conv":
            self.hidden = torch.nn.Linear(3 * WIDTH, HIDDEN)
            self.out = torch.nn.Parameter(torch.zeros(WIDTH, HIDDEN))
        else:
            raise ValueError(kind)

    def forward(self, rows: torch.Tensor, mask: torch.Tensor, basis: torch.Tensor, scale: float) -> torch.Tensor:
        lifted = (rows / scale) @ basis.T  # (n, L, 384)
        if self.kind == "attnpool":
            score = torch.tanh(self.hidden(lifted)) @ self.out
            weight = torch.softmax(score.masked_fill(~mask, -1e9), dim=1)
            return (weight[..., None] * rows).sum(1)
        if self.kind == "selfattn":
            attention = self.q(lifted) @ self.k(lifted).transpose(1, 2) / math.sqrt(HIDDEN)
            attention = torch.softmax(attention.masked_fill(~mask[:, None, :], -1e9), dim=-1)
            context = (attention @ self.v(lifted)) @ self.out.T
        else:
            before = torch.nn.functional.pad(lifted, (0, 0, 1, 0))[:, :-1]
            after = torch.nn.functional.pad(lifted, (0, 0, 0, 1))[:, 1:]
            context = torch.relu(self.hidden(torch.cat([before, lifted, after], dim=-1))) @ self.out.T
        mixed = rows + scale * (context @ basis)
        return (mixed * mask[..., None]).sum(1)


def padded(bank: Bank, chosen: list[int], limit: int = MAX_TRAIN_TOKENS) -> tuple[torch.Tensor, torch.Tensor]:
    lists = [bank.ids[i][:limit] for i in chosen]
    width = max(1, max(len(each) for each in lists))
    index = np.zeros((len(lists), width), np.int64)
    mask = np.zeros((len(lists), width), bool)
    for position, each in enumerate(lists):
        index[position, :len(each)] = each
        mask[position, :len(each)] = True
    return torch.from_numpy(bank.rows[index] * mask[..., None]), torch.from_numpy(mask)


def cosine_loss(vectors: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return 1 - (vectors * targets).sum(1) / vectors.norm(dim=1).clamp_min(1e-9)


def validation_cosine(layer: ContextLayer | None, banks: list[Bank]) -> float:
    """Mean cosine with the target on the left-out training texts (None: the static encoder), mean of banks."""
    means = []
    with torch.no_grad():
        for bank in banks:
            chosen = [i for i in np.flatnonzero(bank.validation) if bank.ids[i]]
            losses = []
            for first in range(0, len(chosen), 256):
                part = chosen[first:first + 256]
                rows, mask = padded(bank, part)
                vectors = rows.sum(1) if layer is None else layer(rows, mask, torch.from_numpy(bank.basis), bank.scale)
                losses.append(cosine_loss(vectors, torch.from_numpy(bank.targets[part])))
            means.append(1 - float(torch.cat(losses).mean()))
    return float(np.mean(means))


def train(kind: str, banks: list[Bank], epochs: int, learning_rate: float = 1e-3, batch: int = 64,
          seed: int = 0) -> tuple[ContextLayer, int, float]:
    """The layer trained on `banks`' training texts; kept at the epoch with the best validation cosine."""
    layer = ContextLayer(kind, seed)
    optimiser = torch.optim.Adam(layer.parameters(), lr=learning_rate, weight_decay=1e-5)
    generator = np.random.default_rng(seed)
    batches = []
    for number, bank in enumerate(banks):
        usable = [i for i in np.flatnonzero(~bank.validation) if bank.ids[i]]
        batches.append((number, usable))
    best = (validation_cosine(None, banks), 0, copy.deepcopy(layer.state_dict()))
    for epoch in range(1, epochs + 1):
        work = []
        for number, usable in batches:
            order = generator.permutation(usable)
            work += [(number, order[first:first + batch].tolist()) for first in range(0, len(order), batch)]
        for position in generator.permutation(len(work)):
            number, chosen = work[position]
            bank = banks[number]
            rows, mask = padded(bank, chosen)
            loss = cosine_loss(layer(rows, mask, torch.from_numpy(bank.basis), bank.scale),
                               torch.from_numpy(bank.targets[chosen])).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        score = validation_cosine(layer, banks)
        if score > best[0]:
            best = (score, epoch, copy.deepcopy(layer.state_dict()))
    layer.load_state_dict(best[2])
    return layer, best[1], best[0]


# -- query vectors and rankings ------------------------------------------------------------------

def query_vector(layer: ContextLayer, bank: Bank, text: str) -> list[float] | None:
    ids = [i for i in bank.engine.encoder.token_ids(text) if i < bank.engine.encoder.rows]
    if not ids:
        return None
    with torch.no_grad():
        rows = torch.from_numpy(bank.rows[ids])[None]
        vector = layer(rows, torch.ones(1, len(ids), dtype=torch.bool), torch.from_numpy(bank.basis), bank.scale)[0]
    norm = float(vector.norm())
    return None if norm == 0 else (vector / norm).tolist()


def rankings(bank: Bank, layer: ContextLayer | None, queries: list, weights: dict) -> dict[str, list[list[int]]]:
    """Static and fused top-DEPTH rows of each query, the encoder's vector replaced by the layer's."""
    engine = bank.engine
    engine.bm25_weight, engine.passage_weight = weights["bm25_weight"], weights["passage_weight"]
    if layer is None:
        engine.encoder.__dict__.pop("encode", None)
    else:
        engine.encoder.encode = lambda text: query_vector(layer, bank, text)
    try:
        return {method: [[row for row, _ in engine.rank(query.query, method)[:DEPTH]] for query in queries]
                for method in ("static", "fused")}
    finally:
        engine.encoder.__dict__.pop("encode", None)


def scores(queries: list, relevant: list[frozenset[int]], ranked: list[list[int]], kind: str = "all") -> tuple:
    ranks = [first_relevant_rank(rows, wanted) for query, wanted, rows in zip(queries, relevant, ranked)
             if kind in ("all", query.kind)]
    return recall_and_mrr(ranks)


def agreement(layer: ContextLayer | None, bank: Bank, teacher: np.ndarray) -> float:
    """Mean cosine of the held-out queries' vectors with the transformer's, on the bank's axes."""
    projected = query_encoder.project_documents(teacher, bank.basis)
    found = []
    for query, target in zip(bank.queries, projected):
        text = bank.engine.read_query(query.query)
        vector = bank.engine.encoder.encode(text) if layer is None else query_vector(layer, bank, text)
        found.append(0.0 if vector is None else float(np.dot(vector, target)))
    return float(np.mean(found))



# -- folding a trained layer into the bank's 64 dimensions, and timing it ---------------------------

def folded(layer: ContextLayer, bank: Bank) -> dict:
    """`plain_encode`'s weights: the layer's 384-d matrices taken through the bank's axes (and row scale)."""
    basis = torch.from_numpy(bank.basis)
    with torch.no_grad():
        if layer.kind == "attnpool":
            return {"kind": "attnpool", "hidden": (layer.hidden.weight @ basis / bank.scale).tolist(),
                    "bias": layer.hidden.bias.tolist(), "out": layer.out.tolist()}
        if layer.kind == "selfattn":
            query, key = layer.q.weight @ basis / bank.scale, layer.k.weight @ basis / bank.scale
            return {"kind": "selfattn", "qk": (key.T @ query / math.sqrt(HIDDEN)).tolist(),
                    "mix": (basis.T @ layer.out @ layer.v.weight @ basis).tolist()}
        weight = layer.hidden.weight
        hidden = torch.cat([weight[:, i * WIDTH:(i + 1) * WIDTH] @ basis / bank.scale for i in range(3)], 1)
        return {"kind": "conv", "hidden": hidden.tolist(), "bias": layer.hidden.bias.tolist(),
                "out": (basis.T @ layer.out * bank.scale).tolist()}


def latency(layer: ContextLayer, bank: Bank, pythons: list[str]) -> dict[str, dict]:
    """`time_plain` under each Python (this one and e.g. a 3.12+ with math.sumprod, as Pyodide has), on the
    bank's table and the tokens of its first questions; the plain forward is checked against torch first."""
    encoder = bank.engine.encoder
    text = " ".join(bank.engine.metadata[row]["question"] for row in range(len(bank.engine.metadata)))
    ids = [i for i in encoder.token_ids(text) if i < encoder.rows][:max(TIMED_TOKENS)]
    weights = folded(layer, bank)
    for count in TIMED_TOKENS:
        with torch.no_grad():
            expected = layer(torch.from_numpy(bank.rows[ids[:count]])[None], torch.ones(1, count, dtype=torch.bool),
                             torch.from_numpy(bank.basis), bank.scale)[0]
        got = plain_encode(weights, bank.rows[ids[:count]].tolist())
        if not np.allclose(got, (expected / expected.norm()).numpy(), atol=1e-4):
            raise AssertionError(f"the pure-Python {layer.kind} differs from torch at {count} tokens")
    sample = {"dim": encoder.dim, "weights": weights, "scales": [encoder.scales[i] for i in ids],
              "values": [v for i in ids for v in encoder.values[i * encoder.dim:(i + 1) * encoder.dim]]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.json"
        path.write_text(json.dumps(sample))
        return {python: json.loads(subprocess.run([python, __file__, "--time-plain", str(path)], check=True,
                                                  capture_output=True, text=True).stdout) for python in pythons}


# -- the run -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--modes", default="bank,lobo", help="bank: trained per bank; lobo: on the other banks")
    parser.add_argument("--corpus", type=Path, help="a scripts/train_general_table.py WORK_DIR: add a sample of its "
                        "texts (corpus.txt) and their transformer vectors (corpus-vectors.npy) to the training texts")
    parser.add_argument("--corpus-sample", type=int, default=10_000)
    parser.add_argument("--dev", action="store_true", help="also score the two test banks' dev sets")
    parser.add_argument("--latency", default="", help="KIND/MODE: time its pure-Python forward pass on ml-dl's table")
    parser.add_argument("--python", action="append", default=[],
                        help="also time under this interpreter (e.g. a 3.12+, with math.sumprod as in Pyodide)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a shared 2-core machine; the layers are small
    kinds, modes = args.kinds.split(",") if args.kinds else [], args.modes.split(",")

    specs, notes = eval_banks.read_spec(SPEC)
    for note in notes:
        print("note:", note)
    prepared = [eval_banks.prepare(spec, caches.eval_banks(CACHE), CACHE) for spec in specs]
    model = query_encoder.distilled_model(CACHE)
    general = None
    if args.corpus:
        texts = (args.corpus / "corpus.txt").read_text(encoding="utf-8").split("\n")
        vectors = np.load(args.corpus / "corpus-vectors.npy", mmap_mode="r")
        if len(texts) != len(vectors):
            raise SystemExit(f"{args.corpus}: {len(texts)} texts but {len(vectors)} vectors")
        chosen = np.sort(np.random.default_rng(0).choice(len(texts), args.corpus_sample, replace=False))
        general = ([texts[i] for i in chosen], np.asarray(vectors[chosen], dtype=np.float32))
    embedder = Embedder(caches.embeddings(CACHE))
    try:
        banks = [load_bank(each, model, embedder, general) for each in prepared]
    finally:
        embedder.close()
    print("fusion weights fitted without each bank (qakb.fitting, as qakb eval --banks)", flush=True)
    gathered = [eval_banks.gather_queries(each) for each in prepared]
    weights = {}
    for held_out, spec in zip(banks, specs):
        others = [each for each in gathered if each.name != held_out.name]
        weights[held_out.name] = fitting.fit_fusion(eval_banks.training_sets(spec, others)[0])
        print(f"  {held_out.name}: {weights[held_out.name]}", flush=True)
    teacher = {bank.name: encode_texts([q.query for q in bank.queries]) for bank in banks}
    transformer = {bank.name: [[row for row, _ in hits] for hits in search_transformer(
        next(p.index_dir for p in prepared if p.spec.name == bank.name), teacher[bank.name], DEPTH)]
        for bank in banks}

    layers: dict[tuple[str, str, str], ContextLayer] = {}
    for kind in kinds:
        for mode in modes:
            for bank in banks:
                started = time.time()
                training = [bank] if mode == "bank" else [other for other in banks if other is not bank]
                layer, epoch, cosine = train(kind, training, args.epochs)
                layers[kind, mode, bank.name] = layer
                print(f"trained {kind:8} {mode:4} for {bank.name:12}: epoch {epoch:2}, validation cosine {cosine:.4f} "
                      f"(static {validation_cosine(None, training):.4f}), {time.time() - started:.0f} s", flush=True)

    variants = [("static", None)] + [(f"{kind}/{mode}", (kind, mode)) for kind in kinds for mode in modes]
    print("\nheld-out queries: fused r@1 / r@5 / MRR, paraphrase r@5; static MRR; teacher agreement of the query vector")
    table = {}
    for bank in banks:
        for name, key in variants:
            layer = None if key is None else layers[key[0], key[1], bank.name]
            ranked = rankings(bank, layer, bank.queries, weights[bank.name])
            fused, static = scores(bank.queries, bank.relevant, ranked["fused"]), scores(
                bank.queries, bank.relevant, ranked["static"])
            paraphrase = scores(bank.queries, bank.relevant, ranked["fused"], "paraphrase")
            table[bank.name, name] = (*fused, paraphrase[1], static[2], agreement(layer, bank, teacher[bank.name]))
        transformer_all = scores(bank.queries, bank.relevant, transformer[bank.name])
        transformer_paraphrase = scores(bank.queries, bank.relevant, transformer[bank.name], "paraphrase")
        table[bank.name, "transformer"] = (*transformer_all, transformer_paraphrase[1], transformer_all[2], 1.0)
    names = [name for name, _ in variants] + ["transformer"]
    for bank in banks + [None]:
        label = bank.name if bank else "mean of banks"
        for name in names:
            cells = [table[each.name, name] for each in banks] if bank is None else [table[bank.name, name]]
            values = np.mean(cells, axis=0)
            print(f"{label:14} {name:16} {values[0]:.3f} / {values[1]:.3f} / {values[2]:.3f}, {values[3]:.3f}; "
                  f"static {values[4]:.3f}; agreement {values[5]:.3f}")
            label = ""

    if args.dev:
        print("\ndev sets (may choose settings): fused r@1 / r@5 / MRR, shipped fusion weights")
        for bank in banks:
            if not bank.dev:
                continue
            queries, relevant = [q for q, _ in bank.dev], [rows for _, rows in bank.dev]
            for name, key in variants:
                layer = None if key is None else layers[key[0], key[1], bank.name]
                ranked = rankings(bank, layer, queries, {"bm25_weight": 0.4, "passage_weight": 0.3})
                print(f"{bank.name:14} {name:16} " + " / ".join(
                    f"{x:.3f}" for x in scores(queries, relevant, ranked["fused"])))

    if args.latency:
        kind, mode = args.latency.split("/")
        bank = banks[0]
        print(f"\nlatency of {kind}/{mode}'s forward pass in pure Python on {bank.name}'s table (token rows read "
              "from int8 included): median / p95 ms; the static encoder's sum of the same rows, median ms")
        for python, found in latency(layers[kind, mode, bank.name], bank, [sys.executable, *args.python]).items():
            print(f"  Python {found['python']} ({'math.sumprod' if found['sumprod'] else 'no math.sumprod'}): " + "; ".join(
                f"{count} tokens {found[str(count)]['median']:.2f} / {found[str(count)]['p95']:.2f} "
                f"(static {found[str(count)]['static_median']:.3f})" for count in TIMED_TOKENS))

if __name__ == "__main__":
    main()
