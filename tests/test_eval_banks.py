"""`qakb eval --banks`: the leave-one-bank-out evaluation, its scoring and its mapping of question texts to items.

Fast: scoring, the text-to-item mapping, the spec and the hold-out plumbing on tiny in-memory data.
Slow: one run end to end on the embedded bank, the transformer's figures checked against vectors
computed here.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from projects import ROOT, qakb
from qakb import eval_banks, fitting
from qakb.engine.calibration import CALIBRATION, CUE_LEVELS, NO_MATCH_BELOW
from qakb.engine.ranking import Hit
from qakb.eval_banks import (
    BankResult, BankSpec, Cell, Constants, Cues, PreparedBank, Report, SpecError, count_cues, format_report,
    read_spec, score_cells, stage_bank,
)
from qakb.fitting import BankQueries, Calibration, LabelledQuery
from qakb.evaluate import (
    METHODS, EvalQuery, QuerySetError, first_relevant_rank, load_queries, question_key, recall_and_mrr,
    relevant_rows,
)

METADATA = [
    {"id": "tcp", "number": 1, "question": "What is the difference between TCP and UDP?"},
    {"id": "state", "number": 2, "question": "What is `useState` for?"},
    {"id": "dup-a", "number": 3, "question": "What is AWS Direct Connect?"},
    {"id": "dup-b", "number": 4, "question": "What is AWS  Direct\nConnect?"},
]


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- query sets and relevant items ---------------------------------------------------------

def test_query_sets_name_items_by_text_or_number_and_off_topic_queries_by_kind(tmp_path):
    queries = load_queries(write(tmp_path / "q.yml", """\
        # a header
        - query: "tcp vs udp"
          relevant: ["What is the difference between TCP and UDP?", 2]
          kind: keyword
        - query: "boil an egg"
          kind: offtopic
        """))
    assert queries == [
        EvalQuery("tcp vs udp", frozenset({"What is the difference between TCP and UDP?", 2}), "keyword",
                  f"{tmp_path / 'q.yml'}:2"),
        EvalQuery("boil an egg", frozenset(), "offtopic", f"{tmp_path / 'q.yml'}:5"),
    ]


@pytest.mark.parametrize("entries, line, message", [
    ('- query: "x"\n  relevant: [1]\n- query: ""\n  relevant: [1]\n', 3, "an entry needs `query:`"),
    ('- query: "x"\n  kind: keyword\n', 1, "`relevant:` names no item"),
    ('- query: "x"\n  relevant: ["A?"]\n  kind: offtopic\n', 1, "an off-topic query (kind: offtopic) names no"),
    ('- query: "x"\n  relevant: [true]\n', 1, "`relevant:` is a list of item numbers or question texts"),
    ('query: "x"\n', 1, "a query set is a YAML list"),
    ('- query: "x\n', 2, "not YAML"),
])
def test_a_malformed_query_set_is_refused_at_its_line(tmp_path, entries, line, message):
    path = write(tmp_path / "q.yml", entries)
    with pytest.raises(QuerySetError, match=re.escape(f"{path}:{line}: {message}")):
        load_queries(path)


def test_question_texts_match_with_whitespace_collapsed_and_backticks_dropped():
    assert question_key("What is `useState`  for?\n") == "What is useState for?"
    queries = [EvalQuery("q1", frozenset({" What is useState for? "}), "keyword"),
               EvalQuery("q2", frozenset({"What is AWS Direct Connect?"}), "keyword"),
               EvalQuery("q3", frozenset({1, "What is `useState` for?"}), "keyword")]
    # A text two items share stands for both; numbers and texts mix.
    assert relevant_rows(queries, METADATA) == [frozenset({1}), frozenset({2, 3}), frozenset({0, 1})]


def test_a_relevant_text_that_names_no_question_fails_naming_the_query():
    queries = [EvalQuery("tcp vs udp", frozenset({"What is the difference between TCP and IP?"}), "keyword",
                         "sets/net.yml:7")]
    with pytest.raises(QuerySetError) as error:
        relevant_rows(queries, METADATA)
    assert str(error.value) == ("sets/net.yml:7: query 'tcp vs udp': relevant question "
                                "'What is the difference between TCP and IP?' is not in the bank")
    with pytest.raises(QuerySetError, match="relevant item number 9 is not in the bank"):
        relevant_rows([EvalQuery("x", frozenset({9}), "keyword")], METADATA)


# -- scoring ------------------------------------------------------------------------------

def test_ranks_recall_and_mrr_by_hand():
    assert first_relevant_rank([5, 3, 0], frozenset({0, 3})) == 2
    assert first_relevant_rank(list(range(20)), frozenset({10})) is None  # beyond the top 10
    assert first_relevant_rank([], frozenset({1})) is None
    # ranks 1, 2, 6, none: recall@1 1/4, recall@5 2/4, MRR (1 + 1/2 + 1/6) / 4
    assert recall_and_mrr([1, 2, 6, None]) == pytest.approx((0.25, 0.5, (1 + 1 / 2 + 1 / 6) / 4))
    with pytest.raises(ValueError):
        recall_and_mrr([])


def test_cells_cover_all_queries_then_each_kind():
    queries = [EvalQuery("a", frozenset({1}), "typo"), EvalQuery("b", frozenset({1}), "keyword"),
               EvalQuery("c", frozenset({1}), "typo")]
    relevant = [frozenset({0}), frozenset({1}), frozenset({2})]
    rankings = [[0, 1], [2, 3, 1], [9, 8]]  # ranks 1, 3, none
    assert score_cells("bm25", queries, relevant, rankings) == [
        Cell("bm25", "all", 3, 1 / 3, 2 / 3, (1 + 1 / 3) / 3),
        Cell("bm25", "keyword", 1, 0.0, 1.0, 1 / 3),
        Cell("bm25", "typo", 2, 0.5, 0.5, 0.5),
    ]


def hit(cue: str, close: bool = True) -> Hit:
    return Hit(id="x", number=1, question="?", topic="t", topic_title="T", url="u", needs_review=False,
               difficulty="", score=1.0, confidence=0.5, cue=cue, close=close, snippet="", marks=[], passage=-1)


def test_cue_figures_count_no_close_question_and_how_many_strong_hits_are_relevant():
    strong, fair = hit("Strong match"), hit("Fair match")
    bank = [[(strong, True), (strong, False), (fair, True)],
            [(hit("Weak match", close=False), True)],
            [],  # a query with no hit at all: nothing close either
            [(strong, True)] + [(strong, False)] * 5]  # only the top 5 are shown
    off_topic = [[(hit("Weak match", close=False), False)], [(strong, False), (fair, False)]]
    assert count_cues(bank, off_topic) == Cues(off_topic_queries=2, off_topic_told_none=1, bank_queries=4,
                                               bank_told_none=2, strong_hits=8, strong_relevant=2,
                                               strong_first=2)  # the first and the fourth bank query


# -- the spec ------------------------------------------------------------------------------

def test_the_spec_skips_absent_banks_and_query_sets_with_a_note(tmp_path):
    write(tmp_path / "banks" / "net.md", "# Net\n\n1. `What is TCP?`\nA protocol.\n")
    write(tmp_path / "sets" / "net.yml", '- query: "tcp"\n  relevant: ["What is TCP?"]\n  kind: keyword\n')
    spec = write(tmp_path / "specs" / "banks.yml", """\
        root: ..
        banks:
          - name: net
            field: networking
            content: [banks/net.md]
            heldout: [sets/net.yml, sets/net-2.yml]
            offtopic: sets/off.yml
            tuned: true
          - name: elsewhere
            content: [../shared/none.md]
            heldout: [sets/net.yml]
          - name: unwritten
            content: [banks/net.md]
            heldout: [sets/later.yml]
        """)
    banks, notes = read_spec(spec)
    assert banks == [BankSpec("net", "networking", (tmp_path / "banks" / "net.md",), (tmp_path / "sets" / "net.yml",),
                              (), (), True)]
    assert notes == [
        f"bank net: heldout set {tmp_path / 'sets' / 'net-2.yml'} is absent, left out",
        f"bank net: offtopic set {tmp_path / 'sets' / 'off.yml'} is absent, left out",
        f"bank elsewhere skipped: {tmp_path.parent / 'shared' / 'none.md'} is absent",
        f"bank unwritten: heldout set {tmp_path / 'sets' / 'later.yml'} is absent, left out",
        "bank unwritten skipped: no held-out query set yet",
    ]


@pytest.mark.parametrize("banks, line, message", [
    ("  - name: a\n    content: [x.md]\n    heldout: [q.yml]\n    weights: 3\n", 3, "unknown key(s) weights"),
    ("  - name: a\n    heldout: [q.yml]\n", 3, "bank a: `content:` is a list of paths"),
    ("  - field: x\n", 3, "a bank needs `name:`"),
    ("  - name: a\n    content: [x.md]\n    heldout: [q.yml]\n  - name: a\n    content: [x.md]\n"
     "    heldout: [q.yml]\n", 6, "a second bank named 'a'"),
])
def test_a_malformed_spec_is_refused_at_its_line(tmp_path, banks, line, message):
    spec = write(tmp_path / "spec.yml", "# banks\nbanks:\n" + banks)
    with pytest.raises(SpecError, match=re.escape(f"{spec}:{line}: ") + ".*" + re.escape(message)):
        read_spec(spec)


def test_a_bank_is_staged_as_one_content_folder_of_its_files(tmp_path):
    one = write(tmp_path / "a" / "golang.md", "# Go\n")
    two = write(tmp_path / "b" / "sql.md", "# SQL\n")
    folder = write(tmp_path / "c" / "git.md", "# git\n").parent
    bank = BankSpec("mixed", "", (one, two, folder), ())
    content = stage_bank(bank, tmp_path / "work")
    assert sorted(path.name for path in content.iterdir()) == ["git.md", "golang.md", "sql.md"]
    two.write_text("# SQL, edited\n", encoding="utf-8")
    stage_bank(BankSpec("mixed", "", (one, two), ()), tmp_path / "work")
    assert sorted(path.name for path in content.iterdir()) == ["golang.md", "sql.md"]  # git.md no longer listed
    assert (content / "sql.md").read_text(encoding="utf-8") == "# SQL, edited\n"
    with pytest.raises(SpecError, match="two listed files are named golang.md"):
        stage_bank(BankSpec("twice", "", (one, write(tmp_path / "d" / "golang.md", "#\n")), ()), tmp_path / "work")


# -- leave one bank out ------------------------------------------------------------------------

def test_each_bank_is_scored_with_constants_fitted_on_the_other_banks_only(tmp_path, monkeypatch):
    names = ["ml", "ds", "react", "faq"]
    off_topic = {"ml": "off-2.yml", "ds": "off-2.yml", "react": "off.yml", "faq": "off.yml"}  # shared, as in the real spec
    spec = write(tmp_path / "spec.yml", "banks:\n" + "".join(
        f"  - name: {name}\n    content: [{name}.md]\n    heldout: [{name}.yml]\n    dev: [{name}-dev.yml]\n"
        f"    offtopic: [{off_topic[name]}]\n    tuned: {name == 'ml'}\n" for name in names))
    for name in names:
        for path in (f"{name}.md", f"{name}.yml", f"{name}-dev.yml"):
            write(tmp_path / path, "# x\n")
    for path in set(off_topic.values()):
        write(tmp_path / path, "# x\n")

    def gather_queries(bank):  # three labelled queries in each of its sets, four off-topic ones
        queries = [LabelledQuery("q", frozenset({0}), path, position) for path in (*bank.spec.heldout, *bank.spec.dev)
                   for position in range(3)]
        queries += [LabelledQuery("q", frozenset(), bank.spec.offtopic[0], position) for position in range(4)]
        return BankQueries(bank.spec.name, engine=None, queries=tuple(queries), evidence=(None,) * len(queries))

    fits = []

    def fit_fusion(training):
        fits.append(("fusion", training))
        return {"bm25_weight": len(training) / 10, "passage_weight": 0.5}

    def fit_calibration(training, fusion):
        fits.append(("calibration", training))
        return Calibration(CALIBRATION, len(fits) / 100, CUE_LEVELS)

    def evaluate_bank(bank, constants, transformer=True):
        return BankResult(bank.spec.name, "", 1, bank.spec.tuned, constants, [], Cues(0, 0, 0, 0, 0, 0))

    monkeypatch.setattr(eval_banks, "prepare", lambda bank, work, cache: PreparedBank(bank, tmp_path / bank.name, 1))
    monkeypatch.setattr(eval_banks, "gather_queries", gather_queries)
    monkeypatch.setattr(fitting, "fit_fusion", fit_fusion)
    monkeypatch.setattr(fitting, "fit_calibration", fit_calibration)
    monkeypatch.setattr(eval_banks, "evaluate_bank", evaluate_bank)
    report = eval_banks.run(spec, tmp_path / "cache", log=lambda message: None)
    assert [result.name for result in report.results] == names
    # Per held-out bank: one fusion fit, then a calibration per half of the off-topic set it shares.
    assert [kind for kind, _ in fits] == ["fusion", "calibration", "calibration"] * len(names)
    for held_out, index in zip(names, range(0, len(fits), 3)):
        result = report.results[names.index(held_out)]
        assert len(result.constants) == 2 and result.constants[0].bm25_weight == 0.3
        assert all(each.fitted_on == tuple(sorted(set(names) - {held_out}, key=names.index))
                   for each in result.constants)
        scored = {tmp_path / f"{held_out}.yml", tmp_path / off_topic[held_out]}
        for step, (kind, training) in enumerate(fits[index:index + 3]):
            assert held_out not in [bank.name for bank in training]  # never the bank it is scored on
            for bank in training:
                sources = {(query.source, query.position, query.off_topic) for query in bank.queries}
                assert tmp_path / f"{bank.name}-dev.yml" in {source for source, _, _ in sources}  # the rest trains
                leaked = {(source, position) for source, position, off in sources if source in scored}
                assert all(off for source, _, off in sources if source in scored)  # no labelled query it is scored on
                # Of the off-topic set it shares: calibration h trains on the entries it does not score (the
                # fusion fit, on labelled queries only, is handed the first calibration's banks).
                half = max(step - 1, 0)
                shared = off_topic[bank.name] == off_topic[held_out]
                assert leaked == ({(tmp_path / off_topic[held_out], p) for p in range(4) if p % 2 != half}
                                  if shared else set()), (held_out, kind, bank.name)
    fits.clear()
    only = eval_banks.run(spec, tmp_path / "cache", only=("react",), log=lambda message: None)
    assert [result.name for result in only.results] == ["react"]
    assert [sorted(bank.name for bank in training) for _, training in fits] == [["ds", "faq", "ml"]] * 3
    with pytest.raises(SpecError, match="no bank named nope"):
        eval_banks.run(spec, tmp_path / "cache", only=("nope",), log=lambda message: None)


def test_a_bank_that_shares_no_query_set_gets_one_fit():
    held_out = BankSpec("solo", "", (), (Path("solo.yml"),), (), (Path("solo-off.yml"),))
    other = BankQueries("other", engine=None, queries=(LabelledQuery("q", frozenset(), Path("off.yml"), 0),
                                                       LabelledQuery("q", frozenset({1}), Path("o.yml"), 0)),
                        evidence=(None, None))
    assert eval_banks.training_sets(held_out, [other]) == [[other]]


def test_with_nothing_to_fit_on_a_bank_gets_the_engines_shipped_constants():
    off_topic_only = BankQueries("other", engine=None, queries=(LabelledQuery("q", frozenset(), Path("o.yml"), 0),),
                                 evidence=(None,))
    for training in ([], [off_topic_only]):
        [shipped] = eval_banks.fit_constants([training])
        assert (shipped.calibration, shipped.no_match_below, shipped.cue_levels, shipped.fitted_on) == (
            CALIBRATION, NO_MATCH_BELOW, CUE_LEVELS, ())


# -- the report --------------------------------------------------------------------------------

def constants(no_match_below: float = 0.5) -> Constants:
    return Constants(0.4, 0.5, CALIBRATION, no_match_below, ((0.75, "Strong match"), *CUE_LEVELS[1:]), ("b",))


def test_the_table_has_a_row_per_bank_and_kind_and_a_block_per_method():
    cells = [Cell(method, kind, 2, 0.5, 1.0, 0.75) for method in METHODS for kind in ("all", "keyword", "typo")]
    report = Report([BankResult("a", "networking", 10, True, [constants(0.5), constants(0.25)], cells,
                                Cues(4, 3, 2, 0, 5, 4, 1)),
                     BankResult("b", "cooking", 20, False, [constants(NO_MATCH_BELOW)],
                                [cell for cell in cells if cell.kind != "typo"], Cues(0, 0, 2, 1, 0, 0))],
                    ["bank c skipped: x is absent"])
    table = format_report(report)
    assert "BM25" in table and "transformer" in table
    assert re.search(r"^a\*\s+all\s+2\s+" + r" \| ".join(["0.500 1.000 0.750"] * 4) + "$", table, re.M)
    assert re.search(r"^\s+typo\s+2\s+0.500", table, re.M)
    assert re.search(r"^b\s+all\s+2\s+0.500", table, re.M)
    assert re.search(r"^\s+typo\s+1b 0.500", table, re.M)  # mean of the banks that have the kind
    assert re.search(r"^a\s+3/4 0.750\s+0/2 0.000\s+4/5 0.800\s+1/2 0.500$", table, re.M)
    assert re.search(r"^b\s+-\s+1/2 0.500\s+-\s+0/2 0.000$", table, re.M)
    # What was fitted without each bank: two fits for a, one for b.
    assert re.search(r"^a\s+0.4\s+0.5\s+0.500 / 0.250\s+0.750 / 0.750$", table, re.M)
    assert re.search(rf"^b\s+0.4\s+0.5\s+{NO_MATCH_BELOW:.3f}\s+0.750$", table, re.M)
    assert "* the engine's other settings (the static encoder's) were chosen on this bank's dev set" in table
    assert table.endswith("note: bank c skipped: x is absent")


# -- end to end ----------------------------------------------------------------------------------

QUERIES = """\
- query: "why do people switch off random neurons while a network trains"
  relevant: ["What is the meaning of dropout in Deep Learning?", "What Is Dropout and Batch Normalization?"]
  kind: paraphrase
- query: "LSTM"
  relevant: ["How Does an LSTM Network Work?", "What is the use of LSTM?"]
  kind: keyword
- query: "backpropogation"
  relevant: ["What is backpropagation?"]
  kind: typo
- query: "I am training a very deep network and the updates reaching the first layers get so tiny that those layers stop learning at all, what is going on and how would I notice it?"
  relevant: ["What Are Vanishing and Exploding Gradients?", "How to know whether your model is suffering from the problem of Vanishing Gradients?", "What is a vanishing gradient when using RNNs?"]
  kind: long
- query: "Walk me through how the Adam optimizer works."
  relevant: ["Explain the Adam optimization algorithm."]
  kind: interviewer
- query: "what goes wrong when every neuron computes the same output because nothing breaks the symmetry"
  relevant: ["Can we initialize the weights of a network to start from zero?", "Explain why the Initialization process of weights and bias is important for NN?"]
  kind: inside
"""
OFF_TOPIC = """\
- query: "how long should an egg boil"
  kind: offtopic
- query: "cheapest train from paris to lyon"
  kind: offtopic
- query: "how do I patch a bicycle inner tube"
  kind: offtopic
"""


@pytest.mark.slow
def test_eval_banks_end_to_end_on_the_embedded_bank(tmp_path, monkeypatch):
    write(tmp_path / "ml.yml", QUERIES)
    write(tmp_path / "off.yml", OFF_TOPIC)
    spec = write(tmp_path / "spec.yml", f"""\
        root: {ROOT}
        banks:
          - name: ml-dl
            field: machine learning
            content: [content/ml-dl-interview-qa.md]
            heldout: [{tmp_path / 'ml.yml'}]
            offtopic: [{tmp_path / 'off.yml'}]
          - name: absent
            content: [{tmp_path / 'no-such-bank.md'}]
            heldout: [{tmp_path / 'ml.yml'}]
        """)
    # float32 on both sides, so the vectors computed below are the ones the index holds.
    monkeypatch.setenv("QAKB_EMBED_PRECISION", "fp32")
    result = qakb(ROOT, "eval", "--banks", str(spec), "--work", str(tmp_path / "work"),
                  "--json", str(tmp_path / "report.json"))
    assert result.returncode == 0, result.stderr
    assert f"note: bank absent skipped: {tmp_path / 'no-such-bank.md'} is absent" in result.stderr
    kinds = ["inside", "interviewer", "keyword", "long", "paraphrase", "typo"]
    for kind in ["all", *kinds]:
        assert re.search(rf"^\S*\s+{kind}\s+\d+\s+" + r" \| ".join([r"[01]\.\d{3} [01]\.\d{3} [01]\.\d{3}"] * 4),
                         result.stdout, re.M), (kind, result.stdout)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    [bank] = report["results"]
    cells = {(cell["method"], cell["kind"]): cell for cell in bank["cells"]}
    assert set(cells) == {(method, kind) for method in METHODS for kind in ["all", *kinds]}
    for cell in cells.values():
        assert cell["queries"] == (6 if cell["kind"] == "all" else 1)
        assert all(0.0 <= cell[name] <= 1.0 for name in ("recall_at_1", "recall_at_5", "mrr")), cell
    assert bank["cues"]["off_topic_queries"] == 3 and bank["cues"]["bank_queries"] == 6
    assert 0 <= bank["cues"]["strong_relevant"] <= bank["cues"]["strong_hits"] <= 5 * 9

    # The transformer's cells from vectors computed here: each kind holds one query, so its MRR is that
    # query's reciprocal rank by cosine of the model's own vectors of the query and of every item's text.
    from qakb.embed import load_model
    from qakb.markup import answers_and_documents
    from qakb.parse import parse_content

    questions = list(parse_content(tmp_path / "work" / "ml-dl" / "content").questions)
    _, documents = answers_and_documents(questions, tmp_path / "work" / "ml-dl" / "content")
    model = load_model()
    items = model.encode(documents, normalize_embeddings=True, convert_to_numpy=True)
    queries = load_queries(tmp_path / "ml.yml")
    vectors = model.encode([query.query for query in queries], normalize_embeddings=True, convert_to_numpy=True)
    for query, vector in zip(queries, vectors):
        order = list(np.argsort(-(items @ vector), kind="stable"))
        relevant = {row for row, question in enumerate(questions)
                    if question_key(question.question) in {question_key(text) for text in query.relevant}}
        rank = next((position for position, row in enumerate(order[:10], 1) if row in relevant), None)
        assert cells["transformer", query.kind]["mrr"] == pytest.approx(1 / rank if rank else 0.0), query.query
