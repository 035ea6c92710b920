"""Discovered topics: clustering bounds and determinism, names by class-based TF-IDF, agreement with real sections."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace

import numpy as np
import pytest

from projects import ROOT, make_project, qakb
from qakb import caches
from qakb.discover import characteristic_terms, cluster, description_from_terms, title_from_terms
from qakb.parse import assign_anchors, parse_text
from qakb.topics import ORIGIN_DISCOVERED, discovered_placement

DS_BANK = ROOT / "tests" / "data" / "ds-bank"

THEMES = {
    "gradient descent": [
        "Gradient descent follows the gradient of the loss downhill.",
        "The learning rate sets the step of gradient descent.",
        "With a large learning rate, gradient descent overshoots.",
        "Stochastic gradient descent uses one example per step.",
        "Momentum smooths the steps of gradient descent.",
        "Adam adapts the learning rate of each weight.",
        "Gradient descent stops near a minimum of the loss.",
    ],
    "dropout": [
        "Dropout switches off random neurons in training.",
        "Dropout is a regulariser against overfitting.",
        "At test time dropout keeps all neurons and scales them.",
        "Dropout makes neurons less dependent on each other.",
        "A dropout rate of 0.5 drops half the neurons.",
        "Dropout and weight decay both fight overfitting.",
        "Without dropout a large network overfits quickly.",
    ],
    "convolution": [
        "A convolution slides a kernel over the image.",
        "Pooling shrinks the feature map of a convolution.",
        "Each kernel of a convolution yields one feature map.",
        "Padding keeps the feature map the size of the image.",
        "A stride of 2 halves the feature map.",
        "Convolution shares weights across the image.",
        "Stacked convolution layers see larger parts of the image.",
    ],
}


def synthetic_bank(per_theme: int = 5, seed: int = 0):
    """Questions on three themes, interleaved, with vectors in three tight, separate groups."""
    rng = np.random.default_rng(seed)
    lines, vectors = [], []
    for number in range(1, 3 * per_theme + 1):
        theme_index = (number - 1) % 3
        theme = list(THEMES)[theme_index]
        answer = THEMES[theme][(number - 1) // 3 % len(THEMES[theme])]
        lines.append(f"{number}. `Question {number} about {theme}?`\n{answer}\n")
        vectors.append(np.eye(16)[theme_index] * 4 + rng.normal(scale=0.3, size=16))
    source = parse_text("# Deep learning notes\n\n" + "\n".join(lines), "dl.md")
    questions = assign_anchors(list(source.questions))[0]
    vectors = np.array(vectors, dtype=np.float32)
    return questions, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_three_separate_groups_are_found_and_named_by_their_words():
    questions, vectors = synthetic_bank()
    placement = discovered_placement(questions, vectors, {"dl.md": "Deep learning notes"})
    assert placement.origin == ORIGIN_DISCOVERED
    groups = [[q.number for q in questions if placement.topic_of[q.anchor] == t.slug] for t in placement.topics]
    assert groups == [[1, 4, 7, 10, 13], [2, 5, 8, 11, 14], [3, 6, 9, 12, 15]]
    assert [t.title for t in placement.topics] == ["Gradient descent, step", "Dropout, neurons",
                                                   "Convolution, feature map"]
    assert [t.slug for t in placement.topics] == ["gradient-descent-step", "dropout-neurons",
                                                  "convolution-feature-map"]
    assert placement.topics[2].description == (
        "Key terms: convolution, feature map, image, kernel, halves, size.")


def test_discovery_is_deterministic():
    questions, vectors = synthetic_bank(per_theme=7, seed=3)
    noisy = vectors + np.random.default_rng(1).normal(scale=0.2, size=vectors.shape).astype(np.float32)
    first = discovered_placement(questions, noisy, {})
    assert discovered_placement(questions, noisy.copy(), {}) == first


@pytest.mark.parametrize("n", [6, 40, 200])
def test_topic_count_and_sizes_stay_within_bounds(n):
    vectors = np.random.default_rng(n).normal(size=(n, 32))
    found = cluster(vectors)
    sizes = np.bincount(found.labels)
    assert 2 <= found.k <= min(30, n // 3) and len(sizes) == found.k
    assert sizes.min() >= 3
    assert list(dict.fromkeys(found.labels)) == list(range(found.k))  # numbered in bank order
    assert set(found.silhouette_by_k) <= set(range(2, min(30, n // 3) + 1))
    assert found.silhouette == max(found.silhouette_by_k.values())


def test_k_means_takes_over_where_average_linkage_would_need_too_much_memory(monkeypatch):
    import qakb.discover as discover

    vectors = np.random.default_rng(5).normal(size=(60, 16))
    linked = cluster(vectors)
    monkeypatch.setattr(discover, "AVERAGE_LINKAGE_LIMIT", 59)
    by_kmeans = cluster(vectors)
    assert np.array_equal(by_kmeans.labels, cluster(vectors, method=discover.KMEANS).labels)
    assert not np.array_equal(by_kmeans.labels, linked.labels)


def test_a_bank_of_a_few_questions_is_one_topic_named_after_the_bank():
    questions, vectors = synthetic_bank(per_theme=1)
    placement = discovered_placement(questions, vectors, {"dl.md": "Deep learning notes"})
    assert [(t.slug, t.title) for t in placement.topics] == [("deep-learning-notes", "Deep learning notes")]
    assert set(placement.topic_of.values()) == {"deep-learning-notes"}
    assert cluster(vectors[:1]).k == 1


def test_class_based_tf_idf_prefers_what_sets_a_topic_apart():
    documents = [
        ("What is ReLU?", "ReLU keeps positive inputs of the network."),
        ("Why use ReLUs?", "A ReLU does not saturate for positive inputs in the network."),
        ("What is gradient descent?", "Gradient descent updates the network weights."),
        ("How does gradient descent pick steps?", "Gradient descent scales the gradient by the learning rate."),
    ]
    terms = characteristic_terms(documents, [0, 0, 1, 1], top=3)
    # "network" is in every text, so it characterises neither topic; the plural folds into "ReLU",
    # keeping the bank's own capitals, and the questions say it (more than "positive", which only
    # the answers say); "gradient" is inside the chosen "gradient descent".
    assert terms[0][0] == "ReLU" and "network" not in terms[0]
    assert terms[1][0] == "gradient descent" and "gradient" not in terms[1]
    assert title_from_terms(terms[1]).startswith("Gradient descent, ")


def test_a_word_repeated_in_one_answer_counts_once():
    documents = [
        ("What does a linear model predict?", "Prices: the prices of houses, the prices of flats, prices of cars."),
        ("What is a regression?", "A regression fits a line to the data."),
        ("How is a regression fitted?", "A regression is fitted by least squares."),
        ("What is a dropout?", "Dropout switches off neurons."),
    ]
    # Counted as often as it is written, "price" (5 times in one answer) would come first.
    terms = characteristic_terms(documents, [0, 0, 0, 1], top=8)[0]
    assert terms.index("prices") > terms.index("regression"), terms


def test_names_ignore_code_urls_and_markup():
    texts = [
        "What is a list?\n```python\nimport numpy as np\nnp.zeros(3)\n```\nSee <b>https://example.org/lists</b>.",
        "What is a tuple? An immutable list.",
        "What is a set? An unordered collection without duplicates.",
        "What is a frozen set? A set that cannot change.",
    ]
    words = {word for terms in characteristic_terms(texts, [0, 0, 1, 1]) for term in terms for word in term.split()}
    assert not words & {"import", "numpy", "np", "zeros", "https", "example", "org", "b"}


def test_a_title_keeps_a_names_own_capitals():
    assert title_from_terms(["useState", "hooks"]) == "useState, hooks"
    assert title_from_terms(["k-means", "DBSCAN"]) == "K-means, DBSCAN"
    assert title_from_terms(["ReLU"]) == "ReLU"


def test_terms_read_as_noun_phrases():
    """The issue's examples: "regularization looks" (a verb ends it), "avoid" (a verb), "typically" (an
    adverb) never name a topic; "the sum of" makes "sum" a noun, so it may."""
    documents = [
        ("How L1 regularization looks like?", "L1 regularization looks like a penalty. Avoid large weights."),
        ("How L2 regularization looks like?", "L2 regularization looks like the sum of squares, typically."),
        ("What does the L1 penalty avoid?", "It is typically used to avoid overfitting; avoid it on few features."),
        ("What is a decision tree?", "A tree of splits."),
        ("What is a random forest?", "Many trees on bootstrap samples."),
    ]
    terms = characteristic_terms(documents, [0, 0, 0, 1, 1], top=20)
    words = {word for term in terms[0] for word in term.split()}
    assert not {"looks", "avoid", "typically", "used"} & words, terms[0]
    assert {"regularization", "L1", "L2", "sum"} <= set(terms[0]), terms[0]


def test_the_model_orders_the_candidate_terms_by_likeness_to_the_topic():
    from qakb.discover import representative_terms

    table = {"sum": [1.0, 0.0, 0.0], "L2 regularization": [0.6, 0.8, 0.0], "ridge": [0.0, 0.6, 0.8],
             "tree": [0.0, 0.0, 1.0]}
    embed = lambda terms: np.array([table[term] for term in terms])  # noqa: E731
    centroids = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ordered = representative_terms([["sum", "L2 regularization", "ridge"], ["tree"]], centroids, embed, top=2)
    assert ordered == [["L2 regularization", "ridge"], ["tree"]]


def test_description_lists_the_terms():
    assert description_from_terms(["gradient descent", "Adam"]) == "Key terms: gradient descent, Adam."
    assert description_from_terms([]) == ""


# Banks with topics people made, read with those hidden: their `## Section`s, or (FAQGURU) their files.
# The real banks are in ../shared/banks/ beside the project; a plain clone has none, and they are skipped.
SHARED_BANKS = ROOT.parent / "shared" / "banks"
AGREEMENT_BANKS = {
    "ds-bank": [DS_BANK / "data-science-qa.md"],
    "faqguru: Go, SQL, git, AWS, design patterns, MongoDB": [
        SHARED_BANKS / "faqguru" / "topics" / "en" / f"{name}.md"
        for name in ("golang", "sql", "git", "aws", "design-patterns", "mongodb")],
}
# scripts/eval_topics.py measures every bank (SEARCH_QUALITY.md, "Topics"): ARI 0.456 on the ds-bank
# (0.485 before, with k-means in 5 dimensions; the same with float32 vectors) and 0.938 on the six
# files. The goal set for topics that generalise:
ARI_GOAL = 0.45


@pytest.fixture(scope="module")
def embedder():
    from qakb.embed import Embedder

    embedder = Embedder(caches.embeddings(ROOT / ".cache"))
    yield embedder
    embedder.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", AGREEMENT_BANKS)
def test_discovered_topics_agree_with_the_topics_people_made(name, embedder):
    from sklearn.metrics import adjusted_rand_score

    from qakb.formats import read_bank_file
    from qakb.markup import answers_and_documents
    from qakb.parse import anchored_bank

    files = AGREEMENT_BANKS[name]
    if not all(path.is_file() for path in files):
        pytest.skip(f"{files[0].parent} is absent (the real banks live beside the project)")
    bank = anchored_bank([read_bank_file(path) for path in files])
    questions = list(bank.questions)
    _, documents = answers_and_documents(questions, files[0].parent)
    vectors = embedder.encode(documents)
    real = [question.section if len(files) == 1 else question.source for question in questions]
    assert len(set(real)) > 1
    hidden = [replace(q, section="") for q in questions]
    placement = discovered_placement(hidden, vectors, {s.name: s.title for s in bank.files}, embed=embedder.encode)
    found = [placement.topic_of[q.anchor] for q in questions]
    ari = adjusted_rand_score(real, found)
    assert ari >= ARI_GOAL, f"ARI {ari:.3f} with the real topics hidden"
    assert all(topic.description.startswith("Key terms: ") for topic in placement.topics)


@pytest.mark.slow
def test_topics_command_on_a_site_without_topics_file(tmp_path):
    bank = DS_BANK / "data-science-qa.md"
    project = make_project(tmp_path / "site", bank={bank.name: bank.read_text(encoding="utf-8")})
    (project / "content" / "topics.yml").unlink()
    shutil.copytree(DS_BANK / "images", project / "content" / "images")

    shown = qakb(project, "topics")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("7 topics for ") and "from the bank's sections" in lines[0]
    assert "Linear regression  [linear-regression, " in shown.stdout

    written = qakb(project, "topics", "--write")
    assert written.returncode == 0, written.stderr
    assert "wrote content/topics.yml: 7 topics" in written.stderr
    again = qakb(project, "topics")
    assert again.stdout.splitlines()[0].endswith("from content/topics.yml")
    assert again.stdout.splitlines()[1:] == lines[1:]  # the file places every question where it was

    refused = qakb(project, "topics", "--write")
    assert refused.returncode == 1 and "--force" in refused.stderr


def test_terms_counted_again_after_edits_equal_terms_counted_afresh(monkeypatch):
    """`qakb serve --watch` keeps the corpus in its session and changes only the texts an edit changed: the result,
    and every count behind it, must be what a fresh count gives, through edits that add a word,
    remove one, fold a plural differently (mutex/mutexes, error/errors), move a text to another topic, and repeat one."""
    from qakb.session import BuildSession

    rng = random.Random(11)
    words = ["gradient", "descent", "Adam", "ReLU", "ReLUs", "kernel", "thread", "lock", "locks", "cache",
             "index", "query", "join", "table", "tables", "network", "layer", "batch", "norm", "error"]
    texts = [f"What is {rng.choice(words)} {rng.choice(words)}? " +
             " ".join(rng.choice(words) for _ in range(12)) + "." for _ in range(60)]
    labels = [index % 4 for index in range(60)]
    edits = [
        lambda: texts.__setitem__(3, texts[3] + " A brand new phrase about mutexes."),
        lambda: texts.__setitem__(11, texts[11] + " One mutex."),  # "mutexes" (above) now folds into "mutex"
        lambda: texts.__setitem__(5, "What is a lock? Locks and threads."),
        lambda: texts.__setitem__(7, texts[7] + " Many errors."),  # "errors" now folds into "error"
        lambda: labels.__setitem__(9, (labels[9] + 1) % 4),
        lambda: (texts.append(texts[0]), labels.append(labels[0])),  # the same text twice
        lambda: (texts.pop(20), labels.pop(20)),
        lambda: texts.__setitem__(7, texts[7].replace(" Many errors.", "")),
    ]
    session = BuildSession()
    characteristic_terms(texts, labels, session=session)
    for edit in edits:
        edit()
        kept = characteristic_terms(texts, labels, session=session)
        fresh_session = BuildSession()
        assert characteristic_terms(texts, labels, session=fresh_session) == kept
        for counts in ("entries", "lowered", "texts_with", "totals", "by_label", "spellings", "initial_spellings"):
            assert getattr(session.topic_corpus, counts) == getattr(fresh_session.topic_corpus, counts), counts
