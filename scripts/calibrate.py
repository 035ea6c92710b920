"""Fit the engine's relevance calibration (qakb.engine.calibration.CALIBRATION) and report it on held-out queries.

A hit's confidence is a logistic regression of "this hit answers the query" on its evidence
(item cosine, best passage cosine, share of the query's words it contains, share of
the query's words the bank uses at all). It is fitted on
the top 5 hits of the dev query sets of both test banks, where a hit is positive when the
query set lists it as relevant, and of off-topic dev queries (tests/data/offtopic-dev.yml),
whose hits are all negative. The "no close question" threshold is the highest that keeps
at most 5% of dev queries with a relevant top hit from being called off-topic.

    .venv/bin/python scripts/calibrate.py        # prints the constants, then the held-out report

Held-out query sets and tests/data/offtopic-holdout.yml are only reported on.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from eval_sets import BANKS, OFF_TOPIC, queries_file
from qakb.evaluate import index_for_content, load_queries
from qakb.engine import Engine
from qakb.engine.calibration import CALIBRATION, NO_MATCH_BELOW

ROOT = Path(__file__).resolve().parents[1]

HIT_FEATURES = ("item_cosine", "passage_cosine", "coverage", "known", "gap")
QUERY_FEATURES = ("item_cosine", "passage_cosine", "coverage", "known")
K = 5
KEEP_ABOVE = 0.97  # share of dev bank queries the "no close question" threshold must keep


def query_hits(engine: Engine, query: str) -> list[tuple[int, dict]]:
    found = engine.evidence(query)
    if found is None:
        return []
    ranked = engine._ranked(found, "fused")
    best = ranked[0][1] if ranked else 0.0
    return [(row, engine.features(found, row, best, score)) for row, score in ranked[:K]]


def collect(split: str) -> list[dict]:
    """One record per query: bank, off-topic or not, the top-K hits' features and relevance."""
    records = []
    off_topic = yaml.safe_load(OFF_TOPIC[split].read_text(encoding="utf-8"))
    for bank in BANKS:
        name = bank.name
        engine = Engine.open(index_for_content(bank.content, ROOT / ".cache"))
        numbers = [item["number"] for item in engine.metadata]
        for query in load_queries(queries_file(bank, split)):
            hits = query_hits(engine, query.query)
            records.append({"bank": name, "off_topic": False, "hits": [f for _, f in hits],
                            "relevant": [numbers[row] in query.relevant for row, _ in hits]})
        for query in off_topic:
            hits = query_hits(engine, query)
            records.append({"bank": name, "off_topic": True, "hits": [f for _, f in hits],
                            "relevant": [False] * len(hits)})
    return [record for record in records if record["hits"]]


def fit(X, y, names) -> dict:
    model = LogisticRegression(C=10.0, max_iter=1000).fit(np.array(X), np.array(y))
    return {"intercept": round(float(model.intercept_[0]), 3),
            **{name: round(float(c), 3) for name, c in zip(names, model.coef_[0])}}


def probability(weights: dict, features: dict) -> float:
    logit = weights["intercept"] + sum(w * features[name] for name, w in weights.items() if name != "intercept")
    return 1 / (1 + math.exp(-logit))


def main() -> None:
    dev = collect("dev")
    hit_model = fit([[f[n] for n in HIT_FEATURES] for r in dev for f in r["hits"]],
                    [label for r in dev for label in r["relevant"]], HIT_FEATURES)
    query_model = fit([[r["hits"][0][n] for n in QUERY_FEATURES] for r in dev],
                      [not r["off_topic"] for r in dev], QUERY_FEATURES)
    kept = sorted(probability(query_model, r["hits"][0]) for r in dev if not r["off_topic"])
    threshold = math.floor(kept[int((1 - KEEP_ABOVE) * len(kept))] * 100) / 100
    constants = {"hit": hit_model, "query": query_model}
    print("CALIBRATION =", constants)
    print("NO_MATCH_BELOW =", threshold)
    if constants != CALIBRATION or threshold != NO_MATCH_BELOW:
        print("(qakb.engine differs: paste these into qakb/engine/calibration.py)")
    report("dev", constants, threshold, dev)
    report("held-out", constants, threshold, collect("held-out"))


def report(split: str, constants: dict, threshold: float, records: list[dict]) -> None:
    print(f"\n{split}")
    print("  reliability of the hit confidence (top 5 hits): range, hits, mean predicted, share relevant")
    pairs = [(probability(constants["hit"], f), label) for r in records for f, label in zip(r["hits"], r["relevant"])]
    for low, high in ((0, 0.15), (0.15, 0.35), (0.35, 0.6), (0.6, 1.01)):
        chosen = [(p, label) for p, label in pairs if low <= p < high]
        if chosen:
            print(f"    {low:.2f}-{min(high, 1):.2f}  {len(chosen):5d}  {np.mean([p for p, _ in chosen]):.3f}  "
                  f"{np.mean([label for _, label in chosen]):.3f}")
    for name in (bank.name for bank in BANKS):
        bank = [r for r in records if r["bank"] == name and not r["off_topic"]]
        off = [r for r in records if r["bank"] == name and r["off_topic"]]
        said = lambda r: probability(constants["query"], r["hits"][0]) < threshold  # noqa: E731
        print(f"  {name}: off-topic queries told 'no close question' {sum(map(said, off))}/{len(off)}; "
              f"bank queries told so {sum(map(said, bank))}/{len(bank)} "
              f"(top hit relevant in {sum(1 for r in bank if said(r) and r['relevant'][0])} of them)")


if __name__ == "__main__":
    main()
