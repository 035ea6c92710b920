"""How well do discovered topics agree with topics people made?

Two references:

- the data-science test bank (tests/data/ds-bank/) against its own ``## Section``
  headings, discovered with the headings hidden;
- the embedded ML bank (content/) against the placement by the hand-written
  content/topics.yml.

Prints the adjusted Rand index (ARI: 1 = the same partition, 0 = no better than
chance) and normalised mutual information for the clustering qakb uses and for
the alternatives it was chosen over, then the ML bank's discovered topics beside
the hand-written ones. Embeddings use the build's document text and its cache.

    .venv/bin/python scripts/topic_agreement.py
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qakb import caches
from qakb.discover import cluster, kmeans_partition
from qakb.embed import Embedder
from qakb.markup import document_text, render_answers
from qakb.parse import Question, parse_content
from qakb.topics import automatic_placement, place_questions

ROOT = Path(__file__).resolve().parent.parent
DS_BANK = ROOT / "tests" / "data" / "ds-bank"
ML_BANK = ROOT / "content"


@dataclass(frozen=True)
class Bank:
    name: str
    questions: list[Question]
    vectors: np.ndarray
    titles: dict[str, str]
    reference: list[str]  # the reference topic of each question
    reference_name: str


def ward_partition(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(points)


VARIANTS = {
    "k-means, 5 principal components (qakb)": dict(dimensions=5, partition=kmeans_partition),
    "k-means, all 384 dimensions": dict(dimensions=None, partition=kmeans_partition),
    "Ward, 5 principal components": dict(dimensions=5, partition=ward_partition),
    "Ward, all 384 dimensions": dict(dimensions=None, partition=ward_partition),
}


def load(folder: Path, embedder: Embedder) -> tuple[list[Question], np.ndarray, dict[str, str]]:
    bank = parse_content(folder)
    questions = list(bank.questions)
    answers = render_answers(questions, folder)
    vectors = embedder.encode([document_text(question, answers[question.anchor]) for question in questions])
    return questions, vectors, {source.name: source.title for source in bank.files}


def agreement(reference: list[str], labels) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return adjusted_rand_score(reference, labels), normalized_mutual_info_score(reference, labels)


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def numbers(questions: list[Question]) -> str:
    return ", ".join(str(question.number) for question in questions)


def main() -> None:
    embedder = Embedder(caches.embeddings(Path(os.environ.get("QAKB_CACHE_DIR", ROOT / ".cache"))))
    ds_questions, ds_vectors, ds_titles = load(DS_BANK, embedder)
    ml_questions, ml_vectors, ml_titles = load(ML_BANK, embedder)
    hand = place_questions(ml_questions, ml_vectors, ML_BANK / "topics.yml", embedder.encode, ml_titles)
    banks = [
        Bank("ds-bank, headings hidden", [replace(q, section="") for q in ds_questions], ds_vectors, ds_titles,
             [q.section for q in ds_questions], "its sections"),
        Bank("ML bank", ml_questions, ml_vectors, ml_titles,
             [hand.topic_of[q.anchor] for q in ml_questions], "content/topics.yml"),
    ]
    rows = []
    for variant, options in VARIANTS.items():
        for bank in banks:
            found = cluster(bank.vectors, **options)
            ari, nmi = agreement(bank.reference, found.labels)
            rows.append([variant, bank.name, f"{len(bank.questions)} / {len(set(bank.reference))}",
                         str(found.k), f"{found.silhouette:.3f}", f"{ari:.3f}", f"{nmi:.3f}"])
    print("Discovered topics against the reference (k chosen by the highest silhouette):\n")
    print(table(rows, ["clustering", "bank", "questions / reference topics", "topics found",
                       "silhouette", "ARI", "NMI"]))

    for bank in banks:
        placement = automatic_placement(bank.questions, bank.vectors, bank.titles)
        assert placement.origin == "discovered"
        ari, nmi = agreement(bank.reference, [placement.topic_of[q.anchor] for q in bank.questions])
        print(f"\nqakb's placement, {bank.name}: {len(placement.topics)} topics, "
              f"ARI {ari:.3f}, NMI {nmi:.3f} against {bank.reference_name}")

    discovered = automatic_placement(ml_questions, ml_vectors, ml_titles)
    hand_title = {topic.slug: topic.title for topic in hand.topics}
    rows = []
    for topic in discovered.topics:
        members = [q for q in ml_questions if discovered.topic_of[q.anchor] == topic.slug]
        overlap = Counter(hand_title[hand.topic_of[question.anchor]] for question in members)
        rows.append([topic.title, numbers(members), "; ".join(f"{title} ({count})" for title, count in overlap.items())])
    print("\nThe ML bank's discovered topics (content/topics.yml set aside):\n")
    print(table(rows, ["discovered topic", "items", "hand-written topics of those items"]))
    rows = [[topic.title, numbers([q for q in ml_questions if hand.topic_of[q.anchor] == topic.slug])]
            for topic in hand.topics]
    print("\nThe hand-written topics (content/topics.yml):\n")
    print(table(rows, ["hand-written topic", "items"]))
    embedder.close()


if __name__ == "__main__":
    main()
