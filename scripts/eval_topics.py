"""How well do discovered topics agree with the topics people gave their banks?

Each bank below has topics made by people: its sections, its files (FAQGURU: one field per
file), or the embedded bank's content/topics.yml. Its questions are read with those hidden
(no section, one file) and discovered as a bank without sections would be
(`qakb.topics.discovered_placement`); the discovered topics are compared with the real ones
by the adjusted Rand index (ARI: 1 = the same partition, 0 = no better than chance) and
normalised mutual information. Per bank: questions, real topics, topics found, ARI, NMI,
then each discovered topic's name and key terms beside the real topic most of its questions
have.

Embeddings are the build's (the question and its rendered answer), from the project's cache.
The real banks live in ../shared/banks/ beside the project; absent ones are skipped with a note.

    .venv/bin/python scripts/eval_topics.py            # the table (also part of `make bench`)
    .venv/bin/python scripts/eval_topics.py --terms    # and every discovered topic's key terms
    .venv/bin/python scripts/eval_topics.py --tune     # how qakb.discover's settings were chosen

`--tune` is the leave-one-bank-out choice of the clustering's settings (method, dimensions,
how the number of topics is chosen) and of the naming's (how many candidate terms): each
bank is held out in turn, the setting with the best mean over the other banks is picked, and
the held-out bank's figure with that pick is what the setting is worth on a bank it was not
chosen on. Clustering is judged by ARI; naming by how many real topics, named by qakb from
their own questions, get a title that shares a word with the name people gave them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qakb import caches, discover
from qakb.bank import Question
from qakb.embed import Embedder
from qakb.formats import read_bank_file
from qakb.markup import answers_and_documents
from qakb.parse import anchored_bank
from qakb.topics import DESCRIPTION_TERMS, Placement, discovered_placement, place_questions

ROOT = Path(__file__).resolve().parent.parent
SHARED_BANKS = ROOT.parent / "shared" / "banks"
SECTIONS, FILES, TOPICS_FILE = "sections", "files", "topics.yml"


@dataclass(frozen=True)
class TopicBank:
    name: str
    files: tuple[Path, ...]
    reference: str  # what the real topics are: SECTIONS, FILES or TOPICS_FILE (content/topics.yml)
    tuned: bool = True  # one of the banks `--tune` holds out in turn (not a part of another one)


FAQGURU = SHARED_BANKS / "faqguru" / "topics" / "en"
# The six files `qakb eval --banks scripts/eval-banks.yml` searches (and tests/test_discover.py checks).
FAQGURU_SIX = ("golang", "sql", "git", "aws", "design-patterns", "mongodb")
_FAQGURU_FILES = sorted(FAQGURU.glob("*.md")) or [FAQGURU / "golang.md"]
TOPIC_BANKS = (
    TopicBank("ml-dl (content/)", (ROOT / "content" / "ml-dl-interview-qa.md",), TOPICS_FILE),
    TopicBank("ds-bank (tests/data)", (ROOT / "tests" / "data" / "ds-bank" / "data-science-qa.md",), SECTIONS),
    TopicBank("data-science-interviews theory.md", (SHARED_BANKS / "data-science-interviews" / "theory.md",),
              SECTIONS),
    TopicBank("react-interview-questions", (SHARED_BANKS / "react-interview-questions" / "README.md",), SECTIONS),
    # FAQGURU's 31 files are tuned on as two banks that share no file, and reported whole.
    TopicBank("faqguru, 6 files", tuple(FAQGURU / f"{name}.md" for name in FAQGURU_SIX), FILES),
    TopicBank("faqguru, the other 25 files", tuple(path for path in _FAQGURU_FILES if path.stem not in FAQGURU_SIX),
              FILES),
    TopicBank("faqguru, 31 files", tuple(_FAQGURU_FILES), FILES, tuned=False),
)


@dataclass(frozen=True)
class LoadedBank:
    bank: TopicBank
    questions: list[Question]  # sections hidden
    vectors: np.ndarray
    titles: dict[str, str]
    reference: list[str]  # each question's real topic
    embed: object = None  # the model's encode, for naming; None once the model is closed


@dataclass(frozen=True)
class Agreement:
    bank: LoadedBank
    placement: Placement
    ari: float
    nmi: float


def present_banks(banks=TOPIC_BANKS) -> tuple[list[TopicBank], list[str]]:
    """The banks whose files all exist, and a note for each that does not."""
    present, notes = [], []
    for bank in banks:
        missing = [path for path in bank.files if not path.is_file()]
        if missing or not bank.files:
            notes.append(f"{bank.name}: skipped, {missing[0] if missing else 'no files'} is absent")
        else:
            present.append(bank)
    return present, notes


def load_bank(bank: TopicBank, embedder: Embedder) -> LoadedBank:
    """The bank read as the build reads it, embedded as the build embeds it, its real topics set aside."""
    parsed = anchored_bank([read_bank_file(path) for path in bank.files])
    questions = list(parsed.questions)
    _, documents = answers_and_documents(questions, bank.files[0].parent)
    vectors = embedder.encode(documents)
    titles = {source.name: source.title for source in parsed.files}
    if bank.reference == TOPICS_FILE:
        topics_file = bank.files[0].parent / "topics.yml"
        placement = place_questions(questions, vectors, topics_file, embedder.encode, titles)
        names = {topic.slug: topic.title for topic in placement.topics}
        reference = [names[placement.topic_of[question.anchor]] for question in questions]
    elif bank.reference == FILES:
        reference = [titles[question.source] or question.source for question in questions]
    else:
        reference = [question.section for question in questions]
    hidden = [replace(question, section="") for question in questions]
    return LoadedBank(bank, hidden, vectors, titles, reference, embedder.encode)


def agreement(loaded: LoadedBank, placement: Placement | None = None) -> Agreement:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    if placement is None:
        placement = discovered_placement(loaded.questions, loaded.vectors, loaded.titles, embed=loaded.embed)
    found = [placement.topic_of[question.anchor] for question in loaded.questions]
    return Agreement(loaded, placement, adjusted_rand_score(loaded.reference, found),
                     normalized_mutual_info_score(loaded.reference, found))


def summary_table(results: list[Agreement]) -> str:
    lines = ["| bank | questions | real topics | topics found | ARI | NMI | ARI of nearest real centroid "
             "| titled as the real topic |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for result in results:
        named = named_as_real(result)
        lines.append(f"| {result.bank.bank.name} | {len(result.bank.questions)} | {len(set(result.bank.reference))} "
                     f"| {len(result.placement.topics)} | {result.ari:.3f} | {result.nmi:.3f} "
                     f"| {nearest_centroid_ari(result.bank):.3f} | {sum(named)} of {len(named)} |")
    return "\n".join(lines)


def nearest_centroid_ari(bank: LoadedBank) -> float:
    """ARI of each question put in the real topic whose mean vector is nearest: how far the vectors
    separate the real topics when their centres are known, a reference that clustering, which is not
    told them, seldom reaches."""
    from sklearn.metrics import adjusted_rand_score

    names = list(dict.fromkeys(bank.reference))
    labels = [names.index(name) for name in bank.reference]
    centroids = discover.topic_centroids(bank.vectors, labels)
    return adjusted_rand_score(labels, np.argmax(bank.vectors @ centroids.T, axis=1))


def majority_real_topics(result: Agreement) -> list[tuple[str, int, int]]:
    """For each discovered topic: the real topic most of its questions have, how many do, of how many."""
    real_of = dict(zip((question.anchor for question in result.bank.questions), result.bank.reference))
    majorities = []
    for topic in result.placement.topics:
        members = [anchor for anchor, slug in result.placement.topic_of.items() if slug == topic.slug]
        real, count = Counter(real_of[anchor] for anchor in members).most_common(1)[0]
        majorities.append((real, count, len(members)))
    return majorities


def named_as_real(result: Agreement) -> list[bool]:
    """Whether each discovered topic's title shares a word with the real topic most of its questions have."""
    return [shares_a_word(topic.title, real) for topic, (real, _, _) in
            zip(result.placement.topics, majority_real_topics(result))]


_NAME_WORD = re.compile(r"[^\W_]+(?:[.#+][^\W_]*)*")
_NAME_STOP = frozenset("and or of in for the a to with on".split())


def shares_a_word(title: str, name: str) -> bool:
    """ "L2 regularization, L1 regularization" and "Regularisation": yes (words alike in their first
    five letters, or one the start of the other from four letters)."""
    def words(text: str) -> set[str]:
        found = _NAME_WORD.findall(text.lower())  # "vue.js", and its parts "vue" and "js"
        return {word for token in found for word in (token, *token.split(".")) if word and word not in _NAME_STOP}

    def alike(first: str, second: str) -> bool:
        if first == second or first[:5] == second[:5] and min(len(first), len(second)) >= 5:
            return True
        shorter, longer = sorted((first, second), key=len)
        return len(shorter) >= 4 and longer.startswith(shorter)

    return any(alike(first, second) for first in words(title) for second in words(name))


def topics_table(result: Agreement, terms: bool = True) -> str:
    """Each discovered topic: its size, title, key terms, and the real topic most of its questions have."""
    lines = [f"{result.bank.bank.name}: discovered topic (questions): key terms -> most of its questions' real topic"]
    for topic, (real, count, size) in zip(result.placement.topics, majority_real_topics(result)):
        described = f": {topic.description.removeprefix('Key terms: ').rstrip('.')}" if terms else ""
        lines.append(f"  {topic.title} ({size}){described} -> {real} ({count}/{size})")
    return "\n".join(lines)


def load_banks(embedder: Embedder, banks=TOPIC_BANKS) -> tuple[list[LoadedBank], list[str]]:
    present, notes = present_banks(banks)
    return [load_bank(bank, embedder) for bank in present], notes


def topics_report(cache_dir: Path) -> str:
    """`make bench`'s table: every present bank's agreement, embedded with the cache in `cache_dir`."""
    embedder = Embedder(caches.embeddings(cache_dir))
    try:
        return report(embedder)
    finally:
        embedder.close()


def report(embedder: Embedder, terms: bool = False) -> str:
    """The agreement table of every present bank (what `make bench` prints), and with `terms`, every topic."""
    loaded, notes = load_banks(embedder)
    results = [agreement(bank) for bank in loaded]
    parts = [summary_table(results), *notes]
    if terms:
        parts += ["", *("\n".join([topics_table(result), ""]) for result in results)]
    return "\n".join(parts)


# --- leave-one-bank-out choice of the settings -------------------------------------------------

SILHOUETTE = "silhouette"  # the number of topics with the best silhouette, as qakb chose it before
TUNED_DIMENSIONS = (5, 10, 20, 50)
TUNED_METHODS = (discover.AVERAGE_LINKAGE, discover.KMEANS)
TUNED_K_RULES = (SILHOUETTE, 0.75, 1.0, 1.5, 2.0)  # or topics per √n
TUNED_CANDIDATES = (6, 8, 12, 20, 30)


@dataclass(frozen=True)
class ClusteringSetting:
    method: str
    dimensions: int
    k_rule: str | float

    def __str__(self) -> str:
        rule = "k by silhouette" if self.k_rule == SILHOUETTE else f"k = {self.k_rule} √n"
        return f"{self.method}, {self.dimensions} dims, {rule}"


def clustering_labels(vectors: np.ndarray, setting: ClusteringSetting, memo: dict) -> np.ndarray:
    """The bank's topics under `setting` (memo: partitions already made, by dimensions, method and k)."""
    n = len(vectors)
    min_size = discover.minimum_topic_size(n)
    largest = min(discover.MAX_TOPICS, n // min_size)
    if (setting.dimensions, setting.method) not in memo:
        points = discover.reduce_dimensions(vectors, setting.dimensions)
        memo[(setting.dimensions, setting.method)] = (points, discover.partitions(points, setting.method), {})
    points, partition, made = memo[(setting.dimensions, setting.method)]

    def cut(k: int) -> np.ndarray:
        if k not in made:
            made[k] = discover.dissolve_small(points, partition(k), min_size)
        return made[k]

    if setting.k_rule != SILHOUETTE:
        return cut(max(2, min(round(setting.k_rule * np.sqrt(n)), largest)))
    scored = [(discover.silhouette(points, cut(k)), -k, k) for k in range(2, largest + 1) if len(np.unique(cut(k))) > 1]
    return cut(max(scored)[2])


def leave_one_bank_out(scores: dict[object, list[float]], names: list[str]) -> list[tuple[str, object, float]]:
    """For each bank: the setting with the best mean score over the other banks, and its score on this one."""
    picks = []
    for held_out, name in enumerate(names):
        def others(setting):
            values = [score for bank, score in enumerate(scores[setting]) if bank != held_out]
            return sum(values) / len(values)
        best = max(scores, key=others)
        picks.append((name, best, scores[best][held_out]))
    return picks


def tune_clustering(loaded: list[LoadedBank]) -> str:
    from sklearn.metrics import adjusted_rand_score

    memos = [{} for _ in loaded]
    settings = [ClusteringSetting(method, dimensions, rule) for method in TUNED_METHODS
                for dimensions in TUNED_DIMENSIONS for rule in TUNED_K_RULES]
    scores = {setting: [adjusted_rand_score(bank.reference, clustering_labels(bank.vectors, setting, memo))
                        for bank, memo in zip(loaded, memos)] for setting in settings}
    return _tuning_report("Clustering (ARI)", scores, loaded,
                          ClusteringSetting(discover.KMEANS, 5, SILHOUETTE),
                          ClusteringSetting(discover.AVERAGE_LINKAGE, discover.CLUSTERING_DIMENSIONS, SILHOUETTE),
                          "{:.3f}")


def real_topic_titles(bank: LoadedBank, candidates: int | None) -> list[bool]:
    """Name each real topic from its own questions; whether each title shares a word with the real name.
    `candidates` None: class-based TF-IDF alone, without the model."""
    from qakb.topics import _distinct_titles

    names = list(dict.fromkeys(bank.reference))
    labels = [names.index(name) for name in bank.reference]
    documents = [(question.question, question.answer) for question in bank.questions]
    if candidates is None:
        terms = discover.characteristic_terms(documents, labels, top=DESCRIPTION_TERMS)
    else:
        terms = discover.representative_terms(discover.characteristic_terms(documents, labels, top=candidates),
                                              discover.topic_centroids(bank.vectors, labels), bank.embed,
                                              DESCRIPTION_TERMS)
    return [shares_a_word(title, name) for title, name in zip(_distinct_titles(terms), names)]


def tune_naming(loaded: list[LoadedBank]) -> str:
    shares = {}
    for candidates in (None, *TUNED_CANDIDATES):
        named = [real_topic_titles(bank, candidates) for bank in loaded]
        shares[candidates] = [sum(titles) / len(titles) for titles in named]
    return _tuning_report("Naming (share of real topics whose title shares a word with their name; "
                          "candidate terms the model orders, None: no model)", shares, loaded, None,
                          discover.CANDIDATE_TERMS, "{:.2f}")


def _tuning_report(title: str, scores: dict, loaded: list[LoadedBank], before, shipped, number: str) -> str:
    names = [bank.bank.name for bank in loaded]
    lines = [f"{title}, leave one bank out:", "| held-out bank | picked on the other banks | held-out score |",
             "| --- | --- | ---: |"]
    for name, setting, score in leave_one_bank_out(scores, names):
        lines.append(f"| {name} | {setting} | {number.format(score)} |")
    best = max(scores, key=lambda setting: sum(scores[setting]))
    lines.append(f"\nPicked on all banks: {best} ({', '.join(number.format(value) for value in scores[best])})")
    lines.append(f"qakb's setting: {shipped} ({', '.join(number.format(value) for value in scores[shipped])})")
    if before is not None:
        lines.append(f"before: {before} ({', '.join(number.format(value) for value in scores[before])})")
    ranked = sorted(scores, key=lambda setting: -sum(scores[setting]))[:10]
    lines.append("The ten best on all banks' mean: " + "; ".join(
        f"{setting}: {number.format(sum(scores[setting]) / len(names))}" for setting in ranked))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", action="store_true", help="list every discovered topic with its key terms")
    parser.add_argument("--tune", action="store_true", help="choose the settings leaving one bank out")
    arguments = parser.parse_args(argv)
    cache_dir = Path(os.environ.get("QAKB_CACHE_DIR", ROOT / ".cache"))
    embedder = Embedder(caches.embeddings(cache_dir))
    try:
        if arguments.tune:
            loaded, notes = load_banks(embedder, [bank for bank in TOPIC_BANKS if bank.tuned])
            print("\n".join(notes))
            print(tune_clustering(loaded), flush=True)
            print()
            print(tune_naming(loaded))
            return 0
        print("Discovered topics against the banks' own (headings hidden)\n")
        print(report(embedder, terms=arguments.terms))
    finally:
        embedder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
