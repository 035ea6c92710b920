"""`qakb eval`: how well each ranking finds the relevant items of an evaluation set.

The evaluation set is a YAML list of {query, relevant: [item numbers], kind}.
Item numbers are metadata.json "number"s. For every method we report, over the
queries: recall@1 and recall@5 (the share of queries with a relevant item in the
top 1 / top 5, i.e. success@k) and MRR (mean of 1 / rank of the first relevant
item, 0 when none is in the top 10), plus the mean time per query.

Methods: "bm25", "static" and "fused" through the run-time engine (`qakb.engine`),
and "transformer": all-MiniLM-L6-v2 on both sides (queries encoded here,
documents from transformer.faiss), the ceiling the static encoder aims at.

Any folder of bank files can be measured (`qakb eval --content DIR`): its index
is built by the build's own stages (no site) and kept in the cache by content hash.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from qakb import caches
from qakb.parse import bank_files, content_hash, parse_content
from qakb.engine import Engine

ENGINE_METHODS = ("bm25", "static", "fused")
DEPTH = 10


@dataclass(frozen=True)
class EvalQuery:
    query: str
    relevant: frozenset[int]
    kind: str


@dataclass(frozen=True)
class EvalRow:
    method: str
    kind: str  # "all" or one query kind
    queries: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    ms_per_query: float


def load_queries(queries_file: Path) -> list[EvalQuery]:
    entries = yaml.safe_load(Path(queries_file).read_text(encoding="utf-8"))
    return [EvalQuery(entry["query"], frozenset(entry["relevant"]), entry.get("kind", "other"))
            for entry in entries]


def index_for_content(content_dir: Path, cache_dir: Path) -> Path:
    """The search index of `content_dir`'s banks alone, built once per content and kept under `cache_dir`."""
    from qakb.embed import Embedder
    from qakb.engine.format import MANIFEST_FILE
    from qakb.index import answer_passages, write_index
    from qakb.markup import answers_and_documents
    from qakb.topics import Topic

    digest = content_hash(bank_files(content_dir))
    # Keyed by the content and by the code that writes the index, so a changed builder rebuilds it.
    builders = hashlib.sha256(digest.encode())
    package = Path(__file__).parent
    writers = ["index.py", "index_files.py", "whole_index.py", "query_encoder.py", "markup.py", "pages.py"]
    engine = sorted(path.relative_to(package).as_posix() for path in (package / "engine").glob("*.py"))
    for module in writers + engine:
        builders.update((package / module).read_bytes())
    index_dir = caches.eval_indexes(cache_dir) / builders.hexdigest()[:16]
    if (index_dir / MANIFEST_FILE).is_file():
        return index_dir
    questions = list(parse_content(content_dir).questions)
    answers, documents = answers_and_documents(questions, content_dir)
    passages = [answer_passages(answers[question.anchor].text) for question in questions]
    everything = Topic(slug="all", title="All questions", description="")
    embedder = Embedder(caches.embeddings(cache_dir))
    try:
        partial = index_dir.with_name(index_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        write_index(partial, questions, documents, passages, {q.anchor: everything for q in questions},
                    embedder.encode(documents), digest, cache_dir, embed=embedder.encode)
        partial.replace(index_dir)
    finally:
        embedder.close()
    return index_dir


def run_evaluation(index_dir: Path, queries_file: Path, transformer: bool = True) -> list[EvalRow]:
    """One row per (method, kind), kind "all" first for each method."""
    queries = load_queries(queries_file)
    engine = Engine.open(index_dir)
    numbers = [item["number"] for item in engine.metadata]
    rows = []
    for method in ENGINE_METHODS:
        started = time.perf_counter()
        rankings = [[numbers[row] for row, _ in engine.rank(q.query, method)[:DEPTH]] for q in queries]
        elapsed = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
        rows.extend(_rows(method, queries, rankings, elapsed))
    if transformer:
        rankings, elapsed = _transformer_rankings(Path(index_dir), queries, numbers)
        rows.extend(_rows("transformer", queries, rankings, elapsed))
    return rows


def _transformer_rankings(index_dir: Path, queries: list[EvalQuery], numbers: list[int]):
    from qakb.embed import encode_texts, load_model
    from qakb.index import search_transformer

    load_model()
    started = time.perf_counter()
    vectors = encode_texts([q.query for q in queries])
    found = search_transformer(index_dir, vectors, DEPTH)
    elapsed = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
    return [[numbers[row] for row, _ in hits] for hits in found], elapsed


def _rows(method: str, queries: list[EvalQuery], rankings: list[list[int]], ms: float) -> list[EvalRow]:
    kinds = ["all"] + sorted({q.kind for q in queries})
    rows = []
    for kind in kinds:
        chosen = [(q, r) for q, r in zip(queries, rankings) if kind in ("all", q.kind)]
        ranks = [next((i + 1 for i, n in enumerate(ranking) if n in q.relevant), None) for q, ranking in chosen]
        count = len(ranks)
        rows.append(EvalRow(
            method=method, kind=kind, queries=count,
            recall_at_1=sum(1 for r in ranks if r == 1) / count,
            recall_at_5=sum(1 for r in ranks if r is not None and r <= 5) / count,
            mrr=sum(1 / r for r in ranks if r is not None) / count,
            ms_per_query=ms,
        ))
    return rows


def format_table(rows: list[EvalRow]) -> str:
    """The overall table, then recall@5 by query kind."""
    overall = [r for r in rows if r.kind == "all"]
    lines = [f"{'method':<12} {'queries':>7} {'recall@1':>8} {'recall@5':>8} {'MRR':>6} {'ms/query':>8}"]
    lines += [f"{r.method:<12} {r.queries:>7} {r.recall_at_1:>8.3f} {r.recall_at_5:>8.3f} {r.mrr:>6.3f} "
              f"{r.ms_per_query:>8.2f}" for r in overall]
    kinds = [r.kind for r in rows if r.method == overall[0].method and r.kind != "all"] if overall else []
    if kinds:
        by_key = {(r.method, r.kind): r for r in rows}
        lines += ["", "recall@5 by query kind", f"{'method':<12} " + " ".join(f"{k:>10}" for k in kinds)]
        lines += [f"{r.method:<12} " + " ".join(f"{by_key[r.method, k].recall_at_5:>10.3f}" for k in kinds)
                  for r in overall]
        lines.append(f"{'(queries)':<12} " + " ".join(f"{by_key[overall[0].method, k].queries:>10}" for k in kinds))
    return "\n".join(lines)


def rows_as_json(rows: list[EvalRow]) -> str:
    return json.dumps([r.__dict__ for r in rows], indent=2)
