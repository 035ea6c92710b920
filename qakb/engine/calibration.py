"""How sure a hit is: calibrated probabilities from a hit's evidence, and the cue a reader sees."""

from __future__ import annotations

import math

# Two logistic regressions, fitted on the dev query sets of both test banks and on off-topic
# dev queries (scripts/calibrate.py; held-out sets only reported on):
#   "hit":   is this hit relevant to the query, from its own evidence and its gap to the best hit
#   "query": does the bank answer the query at all, from the best hit's evidence
# Features: item and best-passage cosine, "coverage" (idf-weighted share of the query's words the
# item contains), "known" (share of the query's words the bank uses anywhere), "gap" (fused
# score minus the best hit's). A query whose "query" probability is below NO_MATCH_BELOW has no
# close question (the threshold keeps 97% of dev bank queries above it).
CALIBRATION = {
    "hit": {"intercept": -5.115, "item_cosine": 1.639, "passage_cosine": 4.526, "coverage": 0.385, "known": 1.83,
            "gap": 7.393},
    "query": {"intercept": -8.741, "item_cosine": 4.192, "passage_cosine": 7.914, "coverage": 1.951, "known": 5.942},
}
NO_MATCH_BELOW = 0.56
# The cue a hit shows, by its "hit" probability (on a query with no close question: "Weak match").
CUE_LEVELS = ((0.6, "Strong match"), (0.35, "Good match"), (0.15, "Fair match"), (0.0, "Weak match"))


def probability(model: str, features: dict[str, float], calibration: dict = CALIBRATION) -> float:
    """The probability `calibration[model]` gives for these features (see `Engine.features`)."""
    weights = calibration[model]
    logit = weights["intercept"] + sum(weight * features[name] for name, weight in weights.items()
                                       if name != "intercept")
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


def cue_of(confidence: float, levels: tuple = CUE_LEVELS) -> str:
    """The name of the first of `levels` ((lowest confidence, name), ..., highest first) that `confidence` reaches."""
    return next(name for lowest, name in levels if confidence >= lowest)
