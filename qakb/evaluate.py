"""`qakb eval`: how well each ranking finds the relevant items of an evaluation set.

The evaluation set is a YAML list of {query, relevant, kind}. `relevant` names the items
that answer the query, by item number (metadata.json "number") or by exact question text
(whitespace collapsed, Markdown backticks dropped: the heading `What is `useState`?` is the
item "What is useState?"; a text that several items share stands for all of them); a query
of kind "offtopic" has none. For every method we report, over the queries: recall@1 and
recall@5 (the share of queries with a relevant item in the top 1 / top 5, i.e. success@k)
and MRR (mean of 1 / rank of the first relevant item, 0 when none is in the top 10), plus
the mean time per query.

Methods: "bm25", "static" and "fused" through the run-time engine (`qakb.engine`),
and "transformer": all-MiniLM-L6-v2 on both sides (queries encoded here,
documents from transformer.faiss), the ceiling the static encoder aims at.

Any folder of bank files can be measured (`qakb eval --content DIR`): its index
is built by the build's own stages (no site) and kept in the cache by content hash.
Several banks at once, each held out in turn, is `qakb.eval_banks` (`qakb eval --banks`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from qakb import caches
from qakb.parse import bank_files, content_hash, parse_content
from qakb.engine import Engine

ENGINE_METHODS = ("bm25", "static", "fused")
METHODS = (*ENGINE_METHODS, "transformer")
DEPTH = 10
OFF_TOPIC = "offtopic"


class QuerySetError(ValueError):
    """A query set that cannot be read, or that names an item the bank does not have: `file:line: what`."""


@dataclass(frozen=True)
class EvalQuery:
    query: str
    relevant: frozenset[int | str]  # item numbers or exact question texts; empty for an off-topic query
    kind: str
    where: str = ""  # "file:line" of its entry, for error messages


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
    """The query set's entries, each checked; an off-topic entry (kind "offtopic") names no item."""
    text = Path(queries_file).read_text(encoding="utf-8")
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            entries = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise QuerySetError(f"{queries_file}:{mark.line + 1 if mark else 0}: not YAML: {error}") from None
    if not isinstance(entries, list) or not entries:
        raise QuerySetError(f"{queries_file}:1: a query set is a YAML list of entries with `query:`, "
                            "`relevant:` and `kind:`")
    return [_query(entry, f"{queries_file}:{item.start_mark.line + 1}") for entry, item in zip(entries, node.value)]


def _query(entry, where: str) -> EvalQuery:
    if not isinstance(entry, dict) or not isinstance(entry.get("query"), str) or not entry["query"].strip():
        raise QuerySetError(f"{where}: an entry needs `query:` with the query's text")
    kind = entry.get("kind", "other")
    relevant = entry.get("relevant", [])
    if not isinstance(relevant, list) or not all(isinstance(label, (int, str)) and not isinstance(label, bool)
                                                 for label in relevant):
        raise QuerySetError(f"{where}: `relevant:` is a list of item numbers or question texts")
    if kind == OFF_TOPIC and relevant:
        raise QuerySetError(f"{where}: an off-topic query (kind: {OFF_TOPIC}) names no relevant item")
    if kind != OFF_TOPIC and not relevant:
        raise QuerySetError(f"{where}: `relevant:` names no item (an off-topic query has kind: {OFF_TOPIC})")
    return EvalQuery(entry["query"], frozenset(relevant), str(kind), where)


def question_key(text: str) -> str:
    """A question's text as query sets name it: whitespace collapsed, Markdown backticks dropped."""
    return " ".join(text.replace("`", "").split())


def relevant_rows(queries: list[EvalQuery], metadata: list[dict]) -> list[frozenset[int]]:
    """Each query's relevant index rows; a number or text that names no item is an error naming the query."""
    rows_of: dict[int | str, set[int]] = {}
    for row, item in enumerate(metadata):
        rows_of.setdefault(item["number"], set()).add(row)
        rows_of.setdefault(question_key(item["question"]), set()).add(row)
    found = []
    for query in queries:
        rows = set()
        for label in query.relevant:
            key = question_key(label) if isinstance(label, str) else label
            if key not in rows_of:
                named = f"question {label!r}" if isinstance(label, str) else f"item number {label}"
                raise QuerySetError(f"{query.where}: query {query.query!r}: relevant {named} is not in the bank")
            rows |= rows_of[key]
        found.append(frozenset(rows))
    return found


def first_relevant_rank(ranking: list[int], relevant: frozenset[int]) -> int | None:
    """The 1-based rank of the first relevant row in the top DEPTH of `ranking`, None when there is none."""
    return next((rank for rank, row in enumerate(ranking[:DEPTH], 1) if row in relevant), None)


def recall_and_mrr(ranks: list[int | None]) -> tuple[float, float, float]:
    """recall@1, recall@5 and MRR of queries whose first relevant item came at `ranks` (None: not in the top DEPTH)."""
    count = len(ranks)
    if not count:
        raise ValueError("no queries to score")
    return (sum(1 for rank in ranks if rank == 1) / count,
            sum(1 for rank in ranks if rank is not None and rank <= 5) / count,
            sum(1 / rank for rank in ranks if rank is not None) / count)


def index_for_content(content_dir: Path, cache_dir: Path) -> Path:
    """The search index of `content_dir`'s banks alone, built once per content and kept under `cache_dir`."""
    from qakb.embed import Embedder, vectors_key
    from qakb.engine.format import MANIFEST_FILE
    from qakb.index import answer_passages, write_index
    from qakb.markup import answers_and_documents
    from qakb.topics import Topic

    digest = content_hash(bank_files(content_dir))
    # Keyed by the content, the transformer's precision (QAKB_EMBED_PRECISION) and the code that writes
    # the index, so a changed builder rebuilds it.
    builders = hashlib.sha256(f"{digest}\0{vectors_key()}".encode())
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
        # One folder per process: two evaluations of the same content at once each write their own,
        # and the first to finish puts its index in place (the other's, the same, is dropped).
        partial = index_dir.with_name(f"{index_dir.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        write_index(partial, questions, documents, passages, {q.anchor: everything for q in questions},
                    embedder.encode(documents), digest, cache_dir, embed=embedder.encode)
        try:
            partial.replace(index_dir)
        except OSError:  # another evaluation put the same index in place first
            shutil.rmtree(partial, ignore_errors=True)
    finally:
        embedder.close()
    return index_dir


def run_evaluation(index_dir: Path, queries_file: Path, transformer: bool = True) -> list[EvalRow]:
    """One row per (method, kind), kind "all" first for each method."""
    queries = [query for query in load_queries(queries_file) if query.kind != OFF_TOPIC]
    if not queries:
        raise QuerySetError(f"{queries_file}:1: only off-topic queries: nothing to find")
    engine = Engine.open(index_dir)
    relevant = relevant_rows(queries, engine.metadata)
    rows = []
    for method in ENGINE_METHODS:
        started = time.perf_counter()
        rankings = [[row for row, _ in engine.rank(q.query, method)[:DEPTH]] for q in queries]
        elapsed = (time.perf_counter() - started) * 1000 / len(queries)
        rows.extend(_rows(method, queries, relevant, rankings, elapsed))
    if transformer:
        from qakb.embed import load_model

        load_model()  # loading the model once is not a query's time
        started = time.perf_counter()
        rankings = transformer_rankings(Path(index_dir), [q.query for q in queries])
        elapsed = (time.perf_counter() - started) * 1000 / len(queries)
        rows.extend(_rows("transformer", queries, relevant, rankings, elapsed))
    return rows


def transformer_rankings(index_dir: Path, texts: list[str]) -> list[list[int]]:
    """The top DEPTH rows of each text by exact cosine: the transformer's query vector against transformer.faiss."""
    from qakb.embed import encode_texts, load_model
    from qakb.index import search_transformer

    load_model()
    found = search_transformer(index_dir, encode_texts(texts), DEPTH)
    return [[row for row, _ in hits] for hits in found]


def _rows(method: str, queries: list[EvalQuery], relevant: list[frozenset[int]], rankings: list[list[int]],
          ms: float) -> list[EvalRow]:
    kinds = ["all"] + sorted({q.kind for q in queries})
    rows = []
    for kind in kinds:
        ranks = [first_relevant_rank(ranking, rows_of) for q, rows_of, ranking in zip(queries, relevant, rankings)
                 if kind in ("all", q.kind)]
        recall_at_1, recall_at_5, mrr = recall_and_mrr(ranks)
        rows.append(EvalRow(method=method, kind=kind, queries=len(ranks), recall_at_1=recall_at_1,
                            recall_at_5=recall_at_5, mrr=mrr, ms_per_query=ms))
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
