"""What each part of the fused ranking adds: every query set of both test banks, with one part off at a time.

    .venv/bin/python scripts/search_ablation.py

Parts switched off at run time (the index is the same): passage evidence (passage_weight 0),
the speller (query words taken as typed), and stopwords left in BM25. Prints fused
recall@1 / recall@5 / MRR per bank and query set; the indexes come from `qakb eval`'s cache.
"""

from __future__ import annotations

from pathlib import Path

from eval_sets import BANKS, SPLITS, queries_file
from qakb.engine import Engine
from qakb.engine.speller import Speller
from qakb.evaluate import index_for_content, load_queries

ROOT = Path(__file__).resolve().parents[1]

SETS = [(bank.name, split, bank.content, queries_file(bank, split)) for bank in BANKS for split in SPLITS]


def variants(engine: Engine):
    yield "fused (all parts)", engine
    yield "without passages", _with(engine, passage_weight=0.0)
    speller = Speller({}, frozenset())
    speller.fix = lambda word: word
    yield "without the speller", _with(engine, speller=speller)
    yield "stopwords kept in BM25", _with(engine, keep_stopwords=True)


def _with(engine, passage_weight=None, speller=None, keep_stopwords=False):
    copy = Engine(engine.storage)
    copy.speller = speller or engine.speller
    copy.bm25_weight, copy.passage_weight = engine.bm25_weight, engine.passage_weight
    if passage_weight is not None:
        copy.passage_weight = passage_weight
    if keep_stopwords:
        original = copy.evidence

        def evidence(query, method="fused"):
            found = original(query, method)
            if found is not None and method != "static":
                found.bm25 = copy.bm25.term_scores(found.terms)
            return found
        copy.evidence = evidence
    return copy


def measure(engine, queries) -> tuple[float, float, float]:
    numbers = [item["number"] for item in engine.metadata]
    ranks = []
    for query in queries:
        ranking = [numbers[row] for row, _ in engine.rank(query.query)[:10]]
        ranks.append(next((i + 1 for i, n in enumerate(ranking) if n in query.relevant), None))
    count = len(ranks)
    return (sum(r == 1 for r in ranks) / count, sum(1 for r in ranks if r and r <= 5) / count,
            sum(1 / r for r in ranks if r) / count)


def main() -> None:
    rows: dict[str, list[str]] = {}
    for bank, split, content, queries_file in SETS:
        engine = Engine.open(index_for_content(content, ROOT / ".cache"))
        queries = load_queries(queries_file)
        for name, variant in variants(engine):
            r1, r5, mrr = measure(variant, queries)
            rows.setdefault(name, []).append(f"{r1:.3f} / {r5:.3f} / {mrr:.3f}")
    print("| variant | " + " | ".join(f"{bank} {split}" for bank, split, _, _ in SETS) + " |")
    print("| --- |" + " ---: |" * len(SETS))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n(recall@1 / recall@5 / MRR)")


if __name__ == "__main__":
    main()
