"""The constants fitted across banks: the fused ranking's weights and the relevance cue's calibration.

`qakb.eval_banks` fits them on every bank but the one it reports on; `scripts/calibrate.py` fits
the ones the engine ships (`qakb.engine.ranking.FUSION_DEFAULTS`, `qakb.engine.calibration`) on
every bank. A bank brings labelled queries (a query and the items that answer it) and off-topic
queries (that it does not answer); the engine's evidence for each is found once (`gather`), then

- `fit_fusion`: bm25_weight and passage_weight by grid search, maximising the fused ranking's
  MRR on the labelled queries, averaged over banks (each bank counts the same);
- `fit_calibration`, with those weights, from the features the engine computes at run time
  (`Engine.features`), both regressions weighing each bank the same:
  - "query": a logistic regression of "the bank answers this query" on its top hit's features
    (each bank's labelled and off-topic queries weighing the same); "No close question" below
    the lowest probability that tells OFF_TOPIC_TOLD of the off-topic queries so (mean of banks);
  - "hit": a logistic regression of "this hit answers the query" on the top CUE_HITS hits of every
    query (an off-topic query's hits answer nothing); "Strong match" from the lowest probability
    at which, in every bank, STRONG_RELEVANT of the hits shown as Strong are relevant.

Build side: numpy and scikit-learn here; the engine only reads the constants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qakb.engine import Engine
from qakb.engine.calibration import CUE_LEVELS, probability
from qakb.engine.ranking import Evidence
from qakb.evaluate import DEPTH, OFF_TOPIC, load_queries, relevant_rows

BM25_WEIGHTS = tuple(round(0.05 * step, 2) for step in range(31))  # 0 to 1.5
PASSAGE_WEIGHTS = tuple(round(0.1 * step, 1) for step in range(16))  # 0 to 1.5
QUERY_FEATURES = ("item_cosine", "passage_cosine", "coverage", "known", "unknown")
HIT_FEATURES = ("item_cosine", "passage_cosine", "coverage", "known", "gap", "rank", "next_gap", "bm25_share")
CUE_HITS = 5  # the hits the search box shows
# Targets on the banks fitted on, above what held-out banks are to reach (90 % of off-topic
# queries told "No close question", 85 % of Strong hits relevant): a margin for banks unlike them.
OFF_TOPIC_TOLD = 0.97
STRONG_RELEVANT = 0.93
REGULARISATION = 1.0  # scikit-learn's C
DIGITS = 3  # the coefficients as the engine keeps them


@dataclass(frozen=True)
class LabelledQuery:
    text: str
    relevant: frozenset[int]  # the bank's rows that answer it; none: an off-topic query
    source: Path  # the query set it comes from
    position: int  # its place in that set, from 0

    @property
    def off_topic(self) -> bool:
        return not self.relevant


@dataclass(frozen=True)
class BankQueries:
    """One bank's engine and queries, each with the evidence the engine found for it."""
    name: str
    engine: Engine
    queries: tuple[LabelledQuery, ...]
    evidence: tuple[Evidence, ...]

    def without(self, dropped: Callable[[LabelledQuery], bool]) -> BankQueries:
        kept = [(query, found) for query, found in zip(self.queries, self.evidence) if not dropped(query)]
        return replace(self, queries=tuple(query for query, _ in kept), evidence=tuple(found for _, found in kept))


@dataclass(frozen=True)
class Calibration:
    """The cue's constants, as the engine takes them (qakb.engine.calibration)."""
    models: dict  # {"hit": {...}, "query": {...}}: CALIBRATION
    no_match_below: float  # NO_MATCH_BELOW
    cue_levels: tuple  # CUE_LEVELS


def gather(name: str, index_dir: Path, query_files: list[Path]) -> BankQueries:
    """A bank's labelled and off-topic queries from its query sets, each with the engine's evidence."""
    engine = Engine.open(index_dir)
    entries = [(query, path, position) for path in query_files
               for position, query in enumerate(load_queries(path))]
    labelled = [query for query, _, _ in entries if query.kind != OFF_TOPIC]
    rows = iter(relevant_rows(labelled, engine.metadata))
    queries, evidence = [], []
    for query, path, position in entries:
        relevant = frozenset() if query.kind == OFF_TOPIC else next(rows)
        found = engine.evidence(query.query)
        if found is None:  # no word at all: nothing to rank
            continue
        queries.append(LabelledQuery(query.query, relevant, path, position))
        evidence.append(replace(found, passage={}))  # each passage's cosine: only snippets need it
    return BankQueries(name, engine, tuple(queries), tuple(evidence))


# -- fusion ------------------------------------------------------------------------------------

def fit_fusion(banks: list[BankQueries]) -> dict[str, float]:
    """The grid's weights with the highest fused MRR on the banks' labelled queries, averaged over banks."""
    grid = [(bm25, passage) for bm25 in BM25_WEIGHTS for passage in PASSAGE_WEIGHTS]
    bm25_weights = np.array([bm25 for bm25, _ in grid])[:, None]
    passage_weights = np.array([passage for _, passage in grid])[:, None]
    per_bank = []
    for bank in banks:
        labelled = [(query, found) for query, found in zip(bank.queries, bank.evidence) if not query.off_topic]
        if labelled:
            total = np.zeros(len(grid))
            for query, found in labelled:
                rows, item, passage, bm25 = fused_parts(found)
                best = max(found.bm25.values(), default=0.0) or 1.0
                total += reciprocal_ranks(item + passage_weights * passage + bm25_weights * bm25 / best, rows,
                                          query.relevant)
            per_bank.append(total / len(labelled))
    if not per_bank:
        raise ValueError("no labelled query to fit the fusion weights on")
    bm25, passage = grid[int(np.argmax(np.mean(per_bank, axis=0)))]
    return {"bm25_weight": bm25, "passage_weight": passage}


def fused_parts(found: Evidence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows the fused ranking ranks and, for each, its item cosine, best passage cosine and BM25
    score (0 where it has none), as Engine.rank_evidence adds them up."""
    rows = sorted(set(found.item) | {row for row in found.bm25 if row in found.rows})
    item = np.array([found.item.get(row, 0.0) for row in rows])
    passage = np.array([found.best_passage.get(row, 0.0) if row in found.item else 0.0 for row in rows])
    bm25 = np.array([found.bm25.get(row, 0.0) if row in found.rows else 0.0 for row in rows])
    return np.array(rows), item, passage, bm25


def reciprocal_ranks(scores: np.ndarray, rows: np.ndarray, relevant: frozenset[int]) -> np.ndarray:
    """1 / rank of the first relevant row under each line of `scores` (0 beyond DEPTH); ties go to the lower row."""
    best = np.full(scores.shape[0], np.inf)
    for column in np.flatnonzero(np.isin(rows, list(relevant))):
        own = scores[:, column:column + 1]
        ahead = (scores > own) | ((scores == own) & (rows < rows[column]))
        best = np.minimum(best, 1 + ahead.sum(axis=1))
    return np.where(best <= DEPTH, 1.0 / best, 0.0)


# -- the cue -----------------------------------------------------------------------------------

def fit_calibration(banks: list[BankQueries], fusion: dict[str, float]) -> Calibration:
    """The cue's regressions and thresholds from the banks' queries, ranked with `fusion`'s weights."""
    return calibrate([(bank.name, query, hits) for bank in banks for query, hits in shown_hits(bank, fusion)])


def calibrate(shown: list[tuple[str, LabelledQuery, list[tuple[dict, bool]]]]) -> Calibration:
    """The cue's regressions and thresholds from each query's shown hits: (bank, query, [(features, relevant)])."""
    bank_of = np.array([name for name, _, _ in shown])
    off_topic = np.array([query.off_topic for _, query, _ in shown])
    tops = [hits[0][0] for _, _, hits in shown]
    query_model = logistic_fit(tops, ~off_topic, list(zip(bank_of, off_topic)), QUERY_FEATURES)
    said = np.array([probability("query", features, {"query": query_model}) for features in tops])

    # "No close question" below the lowest threshold telling OFF_TOPIC_TOLD of off-topic queries so (mean of banks).
    candidates = thresholds(said)
    told = [shares_below(said[off_topic & (bank_of == name)], candidates) for name in dict.fromkeys(bank_of)
            if np.any(off_topic & (bank_of == name))]
    no_match_below = lowest(candidates, np.mean(told, axis=0) >= OFF_TOPIC_TOLD if told else candidates >= 0)

    hits = [(name, features, relevant, p >= no_match_below)
            for (name, _, query_hits), p in zip(shown, said) for features, relevant in query_hits]
    hit_bank = np.array([name for name, *_ in hits])
    relevant = np.array([each for _, _, each, _ in hits])
    hit_model = logistic_fit([features for _, features, _, _ in hits], relevant, [(name,) for name in hit_bank],
                             HIT_FEATURES)
    confidence = np.array([probability("hit", features, {"hit": hit_model}) for _, features, _, _ in hits])
    on_close = np.array([close for *_, close in hits])

    # "Strong match" from the lowest threshold at which, in every bank, STRONG_RELEVANT of its Strong hits are relevant.
    candidates = thresholds(confidence[on_close])
    enough = np.ones(len(candidates), bool)
    for name in dict.fromkeys(hit_bank):
        mine = on_close & (hit_bank == name)
        order = np.argsort(confidence[mine], kind="stable")
        ranked, relevant_ranked = confidence[mine][order], relevant[mine][order]
        start = np.searchsorted(ranked, candidates, side="left")  # the first hit at or above each candidate
        strong = len(ranked) - start
        relevant_strong = np.concatenate([np.cumsum(relevant_ranked[::-1])[::-1], [0]])[start]
        enough &= (strong == 0) | (relevant_strong >= STRONG_RELEVANT * strong)
    strong_from = lowest(candidates, enough)
    levels = ((strong_from, CUE_LEVELS[0][1]), *((min(floor, strong_from), name) for floor, name in CUE_LEVELS[1:]))
    return Calibration({"hit": hit_model, "query": query_model}, no_match_below, levels)


def logistic_fit(features: list[dict], labels: np.ndarray, groups: list[tuple], names: tuple[str, ...]) -> dict:
    """A logistic regression of `labels` on the named features, each group weighing the same, as the engine keeps it."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=REGULARISATION, max_iter=10_000)
    model.fit(np.array([[each[name] for name in names] for each in features]), labels,
              sample_weight=equal_weights(groups))
    return {"intercept": round(float(model.intercept_[0]), DIGITS),
            **{name: round(float(weight), DIGITS) for name, weight in zip(names, model.coef_[0])}}


def shown_hits(bank: BankQueries, fusion: dict[str, float]) -> list[tuple[LabelledQuery, list[tuple[dict, bool]]]]:
    """Each query's top CUE_HITS hits under `fusion`'s weights: their features (Engine.features) and relevance."""
    engine = Engine(bank.engine.storage)
    engine.bm25_weight, engine.passage_weight = fusion["bm25_weight"], fusion["passage_weight"]
    shown = []
    for query, found in zip(bank.queries, bank.evidence):
        ranked = engine.rank_evidence(found)
        if ranked:
            shown.append((query, [(engine.features(found, ranked, position), row in query.relevant)
                                  for position, (row, _) in enumerate(ranked[:CUE_HITS])]))
    return shown


def equal_weights(groups: list[tuple]) -> np.ndarray:
    """Sample weights under which every group weighs the same, averaging 1."""
    _, index, counts = np.unique([repr(group) for group in groups], return_inverse=True, return_counts=True)
    weights = 1.0 / counts[index]
    return weights * len(groups) / weights.sum()


def thresholds(values: np.ndarray) -> np.ndarray:
    """The candidate thresholds among `values`: each, rounded to 4 digits (as the engine keeps them), once, ascending."""
    return np.unique(np.round(values, 4))


def shares_below(values: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """For each candidate, the share of `values` below it."""
    return np.searchsorted(np.sort(values), candidates, side="left") / len(values)


def lowest(candidates: np.ndarray, good: np.ndarray) -> float:
    """The lowest candidate that is `good`, else one just above them all."""
    if good.any():
        return float(candidates[np.argmax(good)])
    return round(float(candidates[-1]) + 1e-4, 4) if len(candidates) else 1.0
