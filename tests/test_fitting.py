"""qakb.fitting: the fusion weights' grid search and the cue's calibration, on tiny synthetic data.

The fused arrays' agreement with Engine.rank_evidence on a real index is in tests/test_search.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from qakb import fitting
from qakb.engine.calibration import probability
from qakb.engine.ranking import Evidence
from qakb.fitting import BankQueries, LabelledQuery, calibrate, fit_fusion, lowest, reciprocal_ranks, shares_below


def evidence(item: dict[int, float], bm25: dict[int, float], passage: dict[int, float] | None = None) -> Evidence:
    return Evidence(text="q", terms=["q"], marked=["q"], item=item, passage={}, best_passage=passage or dict(item),
                    bm25=bm25, rows=range(len(item)))


def query(relevant: set[int], source: str = "set.yml", position: int = 0) -> LabelledQuery:
    return LabelledQuery("q", frozenset(relevant), Path(source), position)


def test_reciprocal_ranks_follow_the_engines_order_ties_to_the_lower_row():
    rows = np.array([0, 1, 2, 3])
    scores = np.array([[0.9, 0.5, 0.7, 0.1],    # row 2 second
                       [0.5, 0.5, 0.5, 0.5],    # a tie: row 2 after rows 0 and 1
                       [0.9, 0.8, 0.1, 0.7]])   # row 2 last of four
    assert reciprocal_ranks(scores, rows, frozenset({2})).tolist() == [1 / 2, 1 / 3, 1 / 4]
    assert reciprocal_ranks(scores, rows, frozenset({1, 2})).tolist() == [1 / 2, 1 / 2, 1 / 2]  # the first relevant
    deep = np.arange(20, 0, -1, dtype=float)[None, :]  # row 19 ranks 20th: beyond DEPTH counts 0
    assert reciprocal_ranks(deep, np.arange(20), frozenset({19})).tolist() == [0.0]


def test_the_fusion_fit_finds_the_only_bm25_weight_that_ranks_both_queries_right():
    # Query 1's answer (row 0) wins only with bm25_weight > 0.12 (0.5 + w > 0.62); query 2's answer
    # (row 0) only with bm25_weight < 0.18 (0.68 > 0.5 + w): of the grid, 0.15 alone ranks both first.
    bank = BankQueries("b", engine=None, queries=(query({0}), query({0}, position=1), query(set(), position=2)),
                       evidence=(evidence({0: 0.5, 1: 0.62}, {0: 3.0}), evidence({0: 0.68, 1: 0.5}, {1: 2.0}),
                                 evidence({0: 0.9, 1: 0.1}, {1: 5.0})))  # off-topic: not counted
    assert fit_fusion([bank]) == {"bm25_weight": 0.15, "passage_weight": 0.0}
    # Each bank weighs the same, however many queries it has: a second bank of one query that needs
    # bm25_weight >= 0.3 makes 0.3 the best mean (1 + 0.75) / 2 against 0.15's (1 + 0.5) / 2.
    other = BankQueries("c", engine=None, queries=(query({0}),), evidence=(evidence({0: 0.3, 1: 0.58}, {0: 1.0}),))
    assert fit_fusion([bank, other])["bm25_weight"] == 0.3
    with pytest.raises(ValueError, match="no labelled query"):
        fit_fusion([BankQueries("d", engine=None, queries=(query(set()),), evidence=(evidence({0: 1.0}, {}),))])


def features(cosine: float, rank: int = 0) -> dict[str, float]:
    """Synthetic hit features: `cosine` carries all the signal, the rest is the same for every hit."""
    return {"item_cosine": cosine, "passage_cosine": cosine, "coverage": 0.5, "known": 1.0, "unknown": 0.0,
            "gap": 0.0, "rank": float(rank), "next_gap": 0.0, "bm25_share": 0.5}


def synthetic_banks(seed: int = 3) -> list:
    """Two banks: a bank query's first hit has cosine 0.5-1.0, an off-topic one's 0.0-0.45; a hit is
    relevant exactly when its cosine is above 0.7."""
    draw = random.Random(seed)
    shown = []
    for bank in ("a", "b"):
        for number in range(200):
            off_topic = number % 2 == 0
            top = draw.uniform(0.0, 0.45) if off_topic else draw.uniform(0.5, 1.0)
            cosines = [top] + sorted((draw.uniform(0.0, top) for _ in range(4)), reverse=True)
            hits = [(features(cosine, rank), not off_topic and cosine > 0.7) for rank, cosine in enumerate(cosines)]
            shown.append((bank, query(set() if off_topic else {0}, position=number), hits))
    return shown


def test_calibration_recovers_the_thresholds_that_separate_the_synthetic_data():
    shown = synthetic_banks()
    calibration = calibrate(shown)
    said = [probability("query", hits[0][0], calibration.models) for _, _, hits in shown]
    told = [p < calibration.no_match_below for p in said]
    off_topic = [query.off_topic for _, query, _ in shown]
    # The lowest threshold telling OFF_TOPIC_TOLD of the off-topic queries "No close question": on
    # separable data, no bank query is told so.
    told_off_topic = [was_told for was_told, off in zip(told, off_topic) if off]
    assert fitting.OFF_TOPIC_TOLD <= sum(told_off_topic) / len(told_off_topic) < fitting.OFF_TOPIC_TOLD + 0.01
    assert not any(was_told for was_told, off in zip(told, off_topic) if not off)
    # Strong starts where hits are relevant: at the probability of cosine ~0.7, within the data's spacing.
    strong_from = calibration.cue_levels[0][0]
    strong = [(hit, relevant) for (_, query, hits), close in zip(shown, told) if not close
              for hit, relevant in hits if probability("hit", hit, calibration.models) >= strong_from]
    assert sum(relevant for _, relevant in strong) >= fitting.STRONG_RELEVANT * len(strong)
    assert min(hit["item_cosine"] for hit, _ in strong) == pytest.approx(0.7, abs=0.03)
    assert [name for _, name in calibration.cue_levels] == ["Strong match", "Good match", "Fair match", "Weak match"]
    assert [floor for floor, _ in calibration.cue_levels] == sorted((floor for floor, _ in calibration.cue_levels),
                                                                    reverse=True)
    assert set(calibration.models["hit"]) == {"intercept", *fitting.HIT_FEATURES}
    assert set(calibration.models["query"]) == {"intercept", *fitting.QUERY_FEATURES}


def test_the_off_topic_threshold_follows_the_target_on_the_mean_of_banks(monkeypatch):
    # Overlapping data: a stricter target tells more off-topic queries so, and more bank queries too.
    shown = [(bank, query, [(features(hits[0][0]["item_cosine"] + (0.3 if query.off_topic else 0.0)), relevant)
                            for _, relevant in hits[:1]])
             for bank, query, hits in synthetic_banks(seed=5)]
    thresholds = []
    for target in (0.8, 0.9, 0.99):
        monkeypatch.setattr(fitting, "OFF_TOPIC_TOLD", target)
        calibration = calibrate(shown)
        said = np.array([probability("query", hits[0][0], calibration.models) for _, _, hits in shown])
        off_topic = np.array([query.off_topic for _, query, _ in shown])
        banks = np.array([bank for bank, _, _ in shown])
        told = np.mean([np.mean(said[off_topic & (banks == bank)] < calibration.no_match_below) for bank in "ab"])
        assert told >= target
        thresholds.append(calibration.no_match_below)
    assert thresholds == sorted(thresholds) and thresholds[0] < thresholds[-1]


def test_lowest_threshold_and_shares():
    candidates = np.array([0.1, 0.2, 0.3])
    assert lowest(candidates, np.array([False, True, True])) == 0.2
    assert lowest(candidates, np.array([False, False, False])) == 0.3001  # none: above them all
    assert shares_below(np.array([0.05, 0.15, 0.25, 0.35]), candidates).tolist() == [0.25, 0.5, 0.75]


def test_a_bank_without_its_dropped_queries_keeps_their_evidence_in_step():
    bank = BankQueries("b", engine=None, queries=(query({0}, "x.yml", 0), query(set(), "off.yml", 0),
                                                  query(set(), "off.yml", 1)),
                       evidence=(evidence({0: 0.1}, {}), evidence({0: 0.2}, {}), evidence({0: 0.3}, {})))
    kept = bank.without(lambda each: each.source.name == "off.yml" and each.position % 2 == 0)
    assert [(each.source.name, each.position) for each in kept.queries] == [("x.yml", 0), ("off.yml", 1)]
    assert [found.item[0] for found in kept.evidence] == [0.1, 0.3]
