"""Fit the constants the engine ships on every bank of a bank spec, and print them.

    .venv/bin/python scripts/calibrate.py [--spec scripts/eval-banks.yml]

The fused ranking's weights (qakb.engine.ranking.FUSION_DEFAULTS) and the relevance cue
(qakb.engine.calibration: CALIBRATION, NO_MATCH_BELOW, CUE_LEVELS) are fitted by qakb.fitting
on every bank's held-out, dev and off-topic query sets at once; `qakb eval --banks` fits them in
the same way without the bank it reports on, and its figures are the held-out ones. The figures
printed here are on the banks fitted on. Paste the printed constants into those two modules when
they differ (the script says so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from qakb import caches, fitting
from qakb.eval_banks import gather_queries, prepare, read_spec
from qakb.engine.calibration import CALIBRATION, CUE_LEVELS, NO_MATCH_BELOW, probability
from qakb.engine.ranking import FUSION_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "scripts" / "eval-banks.yml")
    args = parser.parse_args()
    specs, notes = read_spec(args.spec)
    for note in notes:
        print(f"note: {note}")
    cache_dir = ROOT / ".cache"
    banks = [gather_queries(prepare(spec, caches.eval_banks(cache_dir), cache_dir)) for spec in specs]
    fusion = fitting.fit_fusion(banks)
    calibration = fitting.fit_calibration(banks, fusion)
    print(f"Fitted on {', '.join(bank.name for bank in banks)}: "
          f"{sum(not q.off_topic for bank in banks for q in bank.queries)} labelled and "
          f"{sum(q.off_topic for bank in banks for q in bank.queries)} off-topic queries\n")
    print("# qakb/engine/ranking.py")
    print(f"FUSION_DEFAULTS = {fusion}")
    print("# qakb/engine/calibration.py")
    print("CALIBRATION = {")
    for model in ("hit", "query"):
        print(f"    {model!r}: {calibration.models[model]},")
    print("}")
    print(f"NO_MATCH_BELOW = {calibration.no_match_below}")
    print(f"CUE_LEVELS = {calibration.cue_levels}")
    shipped = (FUSION_DEFAULTS, CALIBRATION, NO_MATCH_BELOW, CUE_LEVELS)
    if (fusion, calibration.models, calibration.no_match_below, calibration.cue_levels) != shipped:
        print("\n(qakb.engine differs: paste these into qakb/engine/ranking.py and qakb/engine/calibration.py)")
    else:
        print("\n(qakb.engine ships these)")
    report(banks, fusion, calibration)


def report(banks: list[fitting.BankQueries], fusion: dict, calibration: fitting.Calibration) -> None:
    """The cue on the banks it was fitted on (qakb eval --banks gives the held-out figures)."""
    print("\nOn the banks fitted on (not held out):")
    print(f"{'bank':<14} {'off-topic told no close':>24} {'bank queries told so':>21} {'strong hits relevant':>21}")
    for bank in banks:
        shown = fitting.shown_hits(bank, fusion)
        close = [probability("query", hits[0][0], calibration.models) >= calibration.no_match_below
                 for _, hits in shown]
        off = [not near for (query, _), near in zip(shown, close) if query.off_topic]
        on = [not near for (query, _), near in zip(shown, close) if not query.off_topic]
        strong = [relevant for (_, hits), near in zip(shown, close) if near for features, relevant in hits
                  if probability("hit", features, calibration.models) >= calibration.cue_levels[0][0]]
        print(f"{bank.name:<14} {share(off):>24} {share(on):>21} {share(strong):>21}")


def share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} {np.mean(flags):.3f}" if flags else "-"


if __name__ == "__main__":
    main()
