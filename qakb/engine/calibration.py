"""How sure a hit is: calibrated probabilities from a hit's evidence, and the cue a reader sees."""

from __future__ import annotations

import math

# Two logistic regressions over the features `Engine.features` computes for a hit:
#   "hit":   does this hit answer the query: item and best-passage cosine, "coverage" (idf-weighted share
#            of the query's words the item contains), "known" (share of the query's words the bank uses
#            at all), "gap" (fused score minus the best hit's), "rank" (0 for the first hit), "next_gap"
#            (fused score minus the next hit's) and "bm25_share" (its BM25 score over the best one's);
#   "query": does the bank answer the query at all, from the first hit's cosines, coverage, "known" and
#            "unknown" (how many of the query's words the bank never uses; for a given share, a long
#            query has more of them, hence its positive weight).
# Fitted by scripts/calibrate.py (qakb.fitting) on all five banks of scripts/eval-banks.yml (718
# labelled queries of their held-out and dev sets, 390 off-topic ones), each bank weighing the same.
# NO_MATCH_BELOW: the lowest threshold at which 97 % of those off-topic queries are told "No close
# question" (mean of banks); "Strong match" from the lowest hit probability at which, in every bank,
# 93 % of the Strong hits are relevant. `qakb eval --banks` fits them the same way without the bank it
# reports on: scripts/SEARCH_QUALITY.md has those held-out figures.
CALIBRATION = {
    "hit": {"intercept": -5.985, "item_cosine": 1.632, "passage_cosine": 2.492, "coverage": 0.6, "known": 2.221,
            "gap": 3.708, "rank": -0.388, "next_gap": 4.497, "bm25_share": 1.138},
    "query": {"intercept": -9.24, "item_cosine": 3.927, "passage_cosine": 4.067, "coverage": 3.671, "known": 6.245,
              "unknown": 0.317},
}
NO_MATCH_BELOW = 0.465
# The cue a hit shows, by its "hit" probability (on a query with no close question: "Weak match").
CUE_LEVELS = ((0.8047, "Strong match"), (0.35, "Good match"), (0.15, "Fair match"), (0.0, "Weak match"))


def probability(model: str, features: dict[str, float], calibration: dict = CALIBRATION) -> float:
    """The probability `calibration[model]` gives for these features (see `Engine.features`)."""
    weights = calibration[model]
    logit = weights["intercept"] + sum(weight * features[name] for name, weight in weights.items()
                                       if name != "intercept")
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


def cue_of(confidence: float, levels: tuple = CUE_LEVELS) -> str:
    """The name of the first of `levels` ((lowest confidence, name), ..., highest first) that `confidence` reaches."""
    return next(name for lowest, name in levels if confidence >= lowest)
