"""Measure the near-duplicate threshold (qakb.duplicates.NEAR_DUPLICATE_MIN_COSINE) on real banks.

Reads the hand-labelled pairs of scripts/near-duplicate-labels.yml, embeds the question texts
of the banks they come from with the build's embedder, and prints precision and recall at a few
cosine thresholds, with and without the rule for questions that point at shown code
(`qakb.duplicates.identified_together`); then the near-duplicate pairs `qakb build` finds in
FAQGURU's 31 files at the chosen threshold, and what comparing 10,000 questions costs.

    .venv/bin/python scripts/near_duplicates.py [--banks /work/shared/banks] [--all]

The labelled pairs were drawn per cosine bin (see the labels file); each is weighed by its
bin's count of all pairs over the labelled ones in it, so the figures estimate those of every
pair at cosine >= 0.75 (recall: of the same-question pairs at >= 0.75; pairs below 0.75 were
not labelled).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"

from qakb.bank import Question  # noqa: E402
from qakb.duplicates import (  # noqa: E402
    NEAR_DUPLICATE_MIN_COSINE, differ_in_negation, differ_in_numbers, near_duplicates, point_at_different_material,
    question_texts, similar_pairs,
)
from qakb.embed import Embedder  # noqa: E402
from qakb.formats import read_bank_file  # noqa: E402
from qakb.parse import anchored_bank, parse_content  # noqa: E402

LABELS = Path(__file__).with_name("near-duplicate-labels.yml")
CACHE = ROOT / ".cache" / "near-duplicates-embeddings.sqlite"
LOWEST = 0.75
THRESHOLDS = (0.80, 0.85, 0.87, 0.88, 0.89, 0.90, 0.905, 0.91, 0.915, 0.92, 0.93, 0.95)
# The table's columns: cosine alone, then with each rule of qakb.duplicates.TOLD_APART_BY added.
VARIANTS = (("cosine alone", ()), ("+ shown code", (point_at_different_material,)),
            ("+ negation, numbers (qakb)", (point_at_different_material, differ_in_negation,
                                          differ_in_numbers)))
SCALE = 10_000
EXAMPLES = 10


@dataclass
class LabelSet:
    questions: list[Question]
    vectors: np.ndarray
    cross_files_only: bool


def load_sets(banks: Path, embedder: Embedder) -> dict[str, LabelSet]:
    faqguru = parse_content(banks / "faqguru" / "topics" / "en")
    merged = anchored_bank([read_bank_file(banks / "react-interview-questions" / "README.md"),
                            read_bank_file(banks / "faqguru" / "topics" / "en" / "react.md")])
    sets = {}
    for name, bank, cross in (("faqguru", faqguru, False), ("react-merge", merged, True)):
        questions = list(bank.questions)
        sets[name] = LabelSet(questions, embedder.encode(question_texts(questions)), cross)
    return sets


def bin_of(cosine: float, edges: list[float]) -> int:
    return int(np.searchsorted(edges, cosine, side="right")) - 1


def population(label_set: LabelSet, edges: list[float]) -> np.ndarray:
    """How many pairs of the set (across files only, for a merge) fall in each bin."""
    rows, columns, scores = similar_pairs(label_set.vectors, edges[0])
    if label_set.cross_files_only:
        sources = np.array([question.source for question in label_set.questions])
        keep = sources[rows] != sources[columns]
        scores = scores[keep]
    counts = np.zeros(len(edges) - 1, dtype=np.int64)
    for score in scores:
        counts[min(bin_of(float(score), edges), len(counts) - 1)] += 1
    return counts


def find(questions: list[Question], side: dict) -> int:
    """The row of a labelled question: by file and text, the line telling apart texts asked twice."""
    matching = [row for row, question in enumerate(questions)
                if question.source == side["file"] and question.question == side["question"]]
    if not matching:
        raise SystemExit(f"{LABELS.name}: {side['file']}: no question {side['question']!r} (has the bank changed?)")
    return min(matching, key=lambda row: abs(questions[row].line - side["line"]))


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--banks", type=Path, default=Path("/work/shared/banks"))
    arguments.add_argument("--all", action="store_true", help="list every FAQGURU pair found, not 10")
    options = arguments.parse_args()
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    edges = [float(edge) for edge in labels["bins"]]

    embedder = Embedder(CACHE)
    try:
        sets = load_sets(options.banks, embedder)
    finally:
        embedder.close()

    # Each labelled pair: its bin, cosine, the variants that keep it, its label.
    measured = []
    for entry in labels["pairs"]:
        label_set = sets[entry["bank"]]
        a, b = sorted((find(label_set.questions, entry["a"]), find(label_set.questions, entry["b"])))
        cosine = float(label_set.vectors[a] @ label_set.vectors[b])
        first, second = label_set.questions[a], label_set.questions[b]
        kept = [not any(rule(first, second) for rule in rules) for _, rules in VARIANTS]
        measured.append((entry["bank"], min(bin_of(cosine, edges), len(edges) - 2), cosine, kept, entry["same"]))
    populations = {name: population(label_set, edges) for name, label_set in sets.items()}
    labelled = {}
    for bank, bin_index, *_ in measured:
        labelled[bank, bin_index] = labelled.get((bank, bin_index), 0) + 1
    weights = [populations[bank][bin_index] / labelled[bank, bin_index] for bank, bin_index, *_ in measured]

    print(f"{len(measured)} labelled pairs ({sum(same for *_, same in measured)} the same question), "
          f"weighed to {sum(int(p.sum()) for p in populations.values())} pairs at cosine >= {edges[0]}")
    for name, counts in populations.items():
        print(f"  {name}: pairs per bin {dict(zip((f'{edge:.2f}' for edge in edges), counts.tolist()))}")
    positives = sum(weight for weight, (*_, same) in zip(weights, measured) if same)
    print()
    print("precision / recall (labelled pairs reported: the same / not the same)")
    print("threshold | " + " | ".join(f"{name:<26}" for name, _ in VARIANTS))
    for threshold in THRESHOLDS:
        cells = []
        for variant in range(len(VARIANTS)):
            found = [(weight, same) for weight, (_, _, cosine, kept, same) in zip(weights, measured)
                     if cosine >= threshold and kept[variant]]
            true = sum(weight for weight, same in found if same)
            total = sum(weight for weight, _ in found)
            cells.append(f"{true / total if total else float('nan'):.3f} / {true / positives:.3f} "
                         f"({sum(same for _, same in found)}/{sum(not same for _, same in found)})")
        chosen = "  <- chosen" if abs(threshold - NEAR_DUPLICATE_MIN_COSINE) < 1e-9 else ""
        print(f"  {threshold:<7} | " + " | ".join(f"{cell:<26}" for cell in cells) + chosen)
    print(f"\nlabelled 'not the same' yet reported at {NEAR_DUPLICATE_MIN_COSINE}:")
    for entry, (_, _, cosine, kept, same) in zip(labels["pairs"], measured):
        if cosine >= NEAR_DUPLICATE_MIN_COSINE and kept[-1] and not same:
            print(f"  {cosine:.3f}  {entry['a']['file']}: {entry['a']['question']!r} / "
                  f"{entry['b']['file']}: {entry['b']['question']!r}")
    lost = [(entry, cosine) for entry, (_, _, cosine, kept, same) in zip(labels["pairs"], measured)
            if not kept[-1] and same]
    print(f"labelled 'the same' yet told apart by a rule (any cosine): {len(lost)}")
    for entry, cosine in lost:
        print(f"  {cosine:.3f}  {entry['a']['file']}: {entry['a']['question']!r} / "
              f"{entry['b']['file']}: {entry['b']['question']!r}")

    faqguru = sets["faqguru"]
    started = time.perf_counter()
    pairs = near_duplicates(faqguru.questions, faqguru.vectors)
    seconds = time.perf_counter() - started
    by_anchor = {question.anchor: question for question in faqguru.questions}
    across = sum(by_anchor[pair.first].source != by_anchor[pair.second].source for pair in pairs)
    print(f"\nFAQGURU, 31 files, {len(faqguru.questions)} questions: {len(pairs)} near-duplicate pairs at "
          f"{NEAR_DUPLICATE_MIN_COSINE} ({across} across files), in {seconds * 1000:.0f} ms")
    shown = pairs if options.all else pairs[::max(1, len(pairs) // EXAMPLES)][:EXAMPLES]
    for pair in shown:
        first, second = by_anchor[pair.first], by_anchor[pair.second]
        print(f"  {pair.cosine:.3f}  {first.source}:{first.line} {first.question!r}\n"
              f"         {second.source}:{second.line} {second.question!r}")

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((SCALE, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    questions = [Question(number=i + 1, question=f"question {i}", answer_lines=("answer",), needs_review=False,
                          source="scale.md", line=i + 1, anchor=f"q{i}") for i in range(SCALE)]
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        near_duplicates(questions, vectors)
        timings.append(time.perf_counter() - started)
    print(f"\n{SCALE:,} random questions: near_duplicates in {min(timings):.2f} s (best of 3; "
          f"{', '.join(f'{t:.2f}' for t in timings)})")


if __name__ == "__main__":
    main()
