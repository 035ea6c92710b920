"""`qakb eval --banks SPEC`: leave-one-bank-out evaluation over the banks a spec file lists.

The spec (YAML; `scripts/eval-banks.yml` is this repository's) lists banks in different
fields, each with its files and its query sets:

    root: ..                      # the paths below are relative to this folder (itself relative to the spec)
    banks:
      - name: react
        field: front-end (React)
        content: [../shared/banks/react-interview-questions/README.md]   # files or folders
        heldout: [tests/data/heldout/react.yml]    # reported on when this bank is held out; fitted on otherwise
        dev: []                                    # only fitted on (labelled or off-topic queries)
        offtopic: [tests/data/heldout/offtopic.yml]  # queries the bank does not answer: reported on, as heldout
        tuned: false                               # the static encoder's settings were chosen on this bank

A bank whose content is absent (`../shared/banks/` beside a plain clone) or that has no
held-out set yet is skipped with a printed note; so is a missing query file.

Each bank is held out in turn: whatever is fitted across banks (the fusion weights, the
calibration behind the relevance cue: `qakb.fitting`) is fitted on the *other* banks' queries
(their held-out, dev and off-topic sets), and the held-out bank's queries are only scored. A
query set the held-out bank is scored on never trains, with one exception: an off-topic set it
shares with other banks (the same queries, checked against several banks). That set is split by
position: one fit trains on its even entries (asked of the other banks) and scores the held-out
bank's queries at odd positions, a second fit the other way round, so every query is scored by
constants fitted without it. Banks marked `tuned` had the engine's other settings (the static
encoder's) chosen on their dev sets, and the report marks them.

Per bank, for BM25, the static encoder, the fused ranking (what the browser ranks with,
`Engine.search`) and the transformer (exact cosine of all-MiniLM-L6-v2 vectors over the same
documents): recall@1, recall@5 and MRR, over all queries and per query kind; then the cue's
figures: the share of off-topic queries told "No close question", the share of bank queries
told so, and the share of "Strong match" hits (top 5 of every query) that are relevant.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from qakb import caches, fitting
from qakb.engine import Engine
from qakb.engine.calibration import CALIBRATION, CUE_LEVELS, NO_MATCH_BELOW
from qakb.engine.ranking import FUSION_DEFAULTS
from qakb.evaluate import (
    DEPTH, METHODS, OFF_TOPIC, EvalQuery, first_relevant_rank, index_for_content, load_queries, recall_and_mrr,
    relevant_rows, transformer_rankings,
)
from qakb.parse import bank_files

CUE_HITS = 5  # the hits the search box shows, whose cues are counted
STRONG = CUE_LEVELS[0][1]
METHOD_TITLES = {"bm25": "BM25", "static": "static", "fused": "fused", "transformer": "transformer"}
SPEC_KEYS = {"name", "field", "content", "heldout", "dev", "offtopic", "tuned"}
HALVES = 2  # the fits of a bank that shares an off-topic set with the banks it is fitted on


class SpecError(ValueError):
    """A bank spec that cannot be read: `file:line: what`."""


@dataclass(frozen=True)
class BankSpec:
    name: str
    field: str
    content: tuple[Path, ...]  # bank files, or folders standing for their bank files
    heldout: tuple[Path, ...]
    dev: tuple[Path, ...] = ()
    offtopic: tuple[Path, ...] = ()
    tuned: bool = False


@dataclass(frozen=True)
class PreparedBank:
    spec: BankSpec
    index_dir: Path
    items: int


@dataclass(frozen=True)
class Constants:
    """What is fitted across banks, as the engine takes it."""
    bm25_weight: float
    passage_weight: float
    calibration: dict
    no_match_below: float
    cue_levels: tuple
    fitted_on: tuple[str, ...]  # the banks; none: the engine's shipped constants (nothing to fit on)

    def apply(self, engine: Engine) -> Engine:
        engine.bm25_weight, engine.passage_weight = self.bm25_weight, self.passage_weight
        engine.calibration, engine.no_match_below = self.calibration, self.no_match_below
        engine.cue_levels = self.cue_levels
        return engine


@dataclass(frozen=True)
class Cell:
    method: str
    kind: str  # "all" or a query kind
    queries: int
    recall_at_1: float
    recall_at_5: float
    mrr: float


@dataclass(frozen=True)
class Cues:
    off_topic_queries: int
    off_topic_told_none: int  # off-topic queries told "No close question"
    bank_queries: int
    bank_told_none: int  # bank queries told so (each a miss)
    strong_hits: int  # "Strong match" hits in the top CUE_HITS of every query, off-topic ones included
    strong_relevant: int
    strong_first: int = 0  # bank queries whose first hit is a "Strong match"


@dataclass(frozen=True)
class BankResult:
    name: str
    field: str
    items: int
    tuned: bool
    constants: list[Constants]  # one fit, or one per half of a shared off-topic set (HALVES)
    cells: list[Cell]
    cues: Cues


@dataclass(frozen=True)
class Report:
    results: list[BankResult]
    notes: list[str] = field(default_factory=list)  # banks and files skipped, and why


# -- the spec --------------------------------------------------------------------------------

def read_spec(spec_file: Path) -> tuple[list[BankSpec], list[str]]:
    """The banks whose content is present, and a note for each bank or query file skipped."""
    text = Path(spec_file).read_text(encoding="utf-8")
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            spec = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise SpecError(f"{spec_file}:{mark.line + 1 if mark else 0}: not YAML: {error}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("banks"), list) or not spec["banks"]:
        raise SpecError(f"{spec_file}:1: a bank spec is a mapping with `banks:`, a list of banks "
                        "(name, field, content, heldout; dev, offtopic, tuned optional)")
    root = (Path(spec_file).parent / str(spec.get("root", "."))).resolve()
    bank_nodes = next(value for key, value in node.value if key.value == "banks").value
    banks, notes, names = [], [], set()
    for entry, entry_node in zip(spec["banks"], bank_nodes):
        bank = _bank(entry, root, f"{spec_file}:{entry_node.start_mark.line + 1}")
        if bank.name in names:
            raise SpecError(f"{spec_file}:{entry_node.start_mark.line + 1}: a second bank named {bank.name!r}")
        names.add(bank.name)
        missing = [path for path in bank.content if not path.exists()]
        if missing:
            notes.append(f"bank {bank.name} skipped: {missing[0]} is absent")
            continue
        present = {}
        for kind in ("heldout", "dev", "offtopic"):
            present[kind] = tuple(path for path in getattr(bank, kind) if path.is_file())
            notes += [f"bank {bank.name}: {kind} set {path} is absent, left out"
                      for path in getattr(bank, kind) if not path.is_file()]
        if not present["heldout"]:
            notes.append(f"bank {bank.name} skipped: no held-out query set yet")
            continue
        banks.append(BankSpec(bank.name, bank.field, bank.content, present["heldout"], present["dev"],
                              present["offtopic"], bank.tuned))
    return banks, notes


def _bank(entry, root: Path, where: str) -> BankSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise SpecError(f"{where}: a bank needs `name:`")
    if unknown := set(entry) - SPEC_KEYS:
        raise SpecError(f"{where}: bank {entry['name']}: unknown key(s) {', '.join(sorted(unknown))} "
                        f"(known: {', '.join(sorted(SPEC_KEYS))})")

    def paths(key: str, required: bool) -> tuple[Path, ...]:
        value = entry.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(each, str) for each in value) or (required and not value):
            raise SpecError(f"{where}: bank {entry['name']}: `{key}:` is a list of paths")
        return tuple((root / each).resolve() for each in value)

    return BankSpec(name=entry["name"], field=str(entry.get("field", "")), content=paths("content", True),
                    heldout=paths("heldout", True), dev=paths("dev", False), offtopic=paths("offtopic", False),
                    tuned=bool(entry.get("tuned", False)))


def stage_bank(bank: BankSpec, work: Path) -> Path:
    """`work/<bank>/content/`: the bank's listed files, copied into one content folder (kept when unchanged)."""
    content = work / bank.name / "content"
    content.mkdir(parents=True, exist_ok=True)
    files = [found for path in bank.content for found in (bank_files(path) if path.is_dir() else [path])]
    names = [path.name for path in files]
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise SpecError(f"bank {bank.name}: two listed files are named {twice}; a content folder holds each name once")
    for path in files:
        copy = content / path.name
        if not copy.is_file() or copy.read_bytes() != path.read_bytes():
            shutil.copyfile(path, copy)
    for stale in set(bank_files(content)) - {content / name for name in names}:
        stale.unlink()
    return content


def prepare(bank: BankSpec, work: Path, cache_dir: Path) -> PreparedBank:
    """The bank staged and its index built (or found in the cache: keyed by its content and the index code)."""
    index_dir = index_for_content(stage_bank(bank, work), cache_dir)
    return PreparedBank(bank, index_dir, len(Engine.open(index_dir).metadata))


# -- what is fitted across banks ---------------------------------------------------------------

def gather_queries(bank: PreparedBank) -> fitting.BankQueries:
    """The bank's queries a fit for another bank may train on: its held-out, dev and off-topic sets."""
    return fitting.gather(bank.spec.name, bank.index_dir, [*bank.spec.heldout, *bank.spec.dev, *bank.spec.offtopic])


def training_sets(held_out: BankSpec, others: list[fitting.BankQueries]) -> list[list[fitting.BankQueries]]:
    """What each fit for `held_out` trains on: the other banks' queries, none that it scores.

    Several lists: a fit per half (HALVES) of an off-topic set the held-out bank shares with the
    others; fit h trains without the set's entries at positions h, h + HALVES, ... and scores the
    held-out bank's queries at those positions (in every set)."""
    scored = set(held_out.heldout) | set(held_out.offtopic)
    training = [bank.without(lambda query: query.source in scored and not query.off_topic) for bank in others]
    shared = {query.source for bank in training for query in bank.queries if query.source in scored}
    if not shared:
        return [training]
    return [[bank.without(lambda query, half=half: query.source in shared and query.position % HALVES == half)
             for bank in training] for half in range(HALVES)]


def fit_constants(training: list[list[fitting.BankQueries]]) -> list[Constants]:
    """The fusion weights (one fit: only labelled queries count, and none is shared) and a calibration per
    training set; the engine's shipped constants when the other banks have no labelled or no off-topic query."""
    queries = [query for bank in training[0] for query in bank.queries]
    if not any(query.off_topic for query in queries) or all(query.off_topic for query in queries):
        return [Constants(FUSION_DEFAULTS["bm25_weight"], FUSION_DEFAULTS["passage_weight"], CALIBRATION,
                          NO_MATCH_BELOW, CUE_LEVELS, ())]
    fusion = fitting.fit_fusion(training[0])
    constants = []
    for banks in training:
        calibration = fitting.fit_calibration(banks, fusion)
        constants.append(Constants(fusion["bm25_weight"], fusion["passage_weight"], calibration.models,
                                   calibration.no_match_below, calibration.cue_levels,
                                   tuple(bank.name for bank in banks)))
    return constants


# -- scoring one held-out bank ------------------------------------------------------------------

def evaluate_bank(bank: PreparedBank, constants: list[Constants], transformer: bool = True) -> BankResult:
    """The bank's held-out and off-topic queries scored; the query at position i of its set with constants[i % len]."""
    queries = [(query, position) for path in bank.spec.heldout for position, query in enumerate(load_queries(path))
               if query.kind != OFF_TOPIC]
    off_topic = [(query, position) for path in bank.spec.offtopic
                 for position, query in enumerate(load_queries(path)) if query.kind == OFF_TOPIC]
    engines = [each.apply(Engine.open(bank.index_dir)) for each in constants]
    metadata = engines[0].metadata
    relevant = relevant_rows([query for query, _ in queries], metadata)
    row_of = {item["id"]: row for row, item in enumerate(metadata)}
    rankings = {method: [[row for row, _ in engines[0].rank(q.query, method)[:DEPTH]] for q, _ in queries]
                for method in ("bm25", "static")}
    # The fused ranking as the search box gets it, cues included (the fits differ in the cue only).
    fused_hits = [engines[position % len(engines)].search(q.query, k=DEPTH) for q, position in queries]
    rankings["fused"] = [[row_of[hit.id] for hit in hits] for hits in fused_hits]
    if transformer:
        rankings["transformer"] = transformer_rankings(bank.index_dir, [q.query for q, _ in queries])
    plain = [query for query, _ in queries]
    cells = [cell for method in METHODS if method in rankings
             for cell in score_cells(method, plain, relevant, rankings[method])]
    off_topic_hits = [engines[position % len(engines)].search(q.query, k=CUE_HITS) for q, position in off_topic]
    cues = count_cues([[(hit, row_of[hit.id] in rows) for hit in hits[:CUE_HITS]]
                       for hits, rows in zip(fused_hits, relevant)],
                      [[(hit, False) for hit in hits] for hits in off_topic_hits])
    return BankResult(bank.spec.name, bank.spec.field, bank.items, bank.spec.tuned, constants, cells, cues)


def score_cells(method: str, queries: list[EvalQuery], relevant: list[frozenset[int]],
                rankings: list[list[int]]) -> list[Cell]:
    """One cell for all queries, then one per query kind (alphabetical)."""
    cells = []
    for kind in ["all"] + sorted({query.kind for query in queries}):
        ranks = [first_relevant_rank(ranking, rows) for query, rows, ranking in zip(queries, relevant, rankings)
                 if kind in ("all", query.kind)]
        cells.append(Cell(method, kind, len(ranks), *recall_and_mrr(ranks)))
    return cells


def count_cues(bank_hits: list[list[tuple]], off_topic_hits: list[list[tuple]]) -> Cues:
    """The cue's figures from each query's shown hits, as (hit, relevant) pairs, best first."""
    def told_none(hits) -> bool:  # a search with no hit at all says nothing close either
        return not hits or not hits[0][0].close

    shown = [pair for hits in bank_hits + off_topic_hits for pair in hits[:CUE_HITS]]
    strong = [relevant for hit, relevant in shown if hit.cue == STRONG]
    return Cues(off_topic_queries=len(off_topic_hits), off_topic_told_none=sum(map(told_none, off_topic_hits)),
                bank_queries=len(bank_hits), bank_told_none=sum(map(told_none, bank_hits)),
                strong_hits=len(strong), strong_relevant=sum(strong),
                strong_first=sum(1 for hits in bank_hits if hits and hits[0][0].cue == STRONG))


# -- the whole run -----------------------------------------------------------------------------

def run(spec_file: Path, cache_dir: Path, work: Path | None = None, only: tuple[str, ...] = (),
        transformer: bool = True, log=print) -> Report:
    """Every bank of the spec held out in turn (`only`: just these banks reported; all still train)."""
    banks, notes = read_spec(spec_file)
    for note in notes:
        log(f"note: {note}")
    if unknown := set(only) - {bank.name for bank in banks}:
        raise SpecError(f"{spec_file}: no bank named {', '.join(sorted(unknown))} to evaluate "
                        f"(present: {', '.join(bank.name for bank in banks) or 'none'})")
    work = work or caches.eval_banks(cache_dir)
    prepared = []
    for bank in banks:
        log(f"bank {bank.name}: building its index (cached after the first time)")
        prepared.append(prepare(bank, work, cache_dir))
    log("finding the engine's evidence for every bank's queries (what the fits train on)")
    queries = [gather_queries(bank) for bank in prepared]
    results = []
    for held_out in prepared:
        if only and held_out.spec.name not in only:
            continue
        log(f"bank {held_out.spec.name}: fitting on the other banks, scoring its held-out queries")
        others = [each for bank, each in zip(prepared, queries) if bank is not held_out]
        results.append(evaluate_bank(held_out, fit_constants(training_sets(held_out.spec, others)), transformer))
    return Report(results, notes)


# -- the report --------------------------------------------------------------------------------

def format_report(report: Report) -> str:
    """Rows bank x kind, columns method x (recall@1, recall@5, MRR); then the mean of banks and the cues."""
    if not report.results:
        return "no bank to report on" + "".join(f"\n  note: {note}" for note in report.notes)
    methods = [m for m in METHODS if any(cell.method == m for r in report.results for cell in r.cells)]
    kinds = ["all"] + sorted({c.kind for r in report.results for c in r.cells} - {"all"})
    block = 17  # "0.000 0.000 0.000"
    lines = ["Leave-one-bank-out: each bank's held-out queries, anything fitted across banks taken from the others",
             ""]
    lines += [f"  {r.name}{'*' if r.tuned else ''}: {r.field}, {r.items} items, "
              f"{next(c.queries for c in r.cells if c.kind == 'all')} queries" for r in report.results]
    lines += ["", f"{'':<33}" + " | ".join(f"{METHOD_TITLES[m]:^{block}}" for m in methods).rstrip(),
              f"{'bank':<14} {'kind':<12} {'n':>3}  " + " | ".join(f"{'r@1':>5} {'r@5':>5} {'MRR':>5}" for _ in methods)]
    for result in report.results:
        by_key = {(c.method, c.kind): c for c in result.cells}
        for index, kind in enumerate(k for k in kinds if ("fused", k) in by_key):
            name = (result.name + ("*" if result.tuned else "")) if index == 0 else ""
            lines.append(f"{name:<14} {kind:<12} {by_key['fused', kind].queries:>3}  " + " | ".join(
                _triple(by_key.get((m, kind))) for m in methods))
    lines.append("")
    for kind in kinds:
        cells = {m: [c for r in report.results for c in r.cells if c.method == m and c.kind == kind] for m in methods}
        banks = len(cells["fused"])
        lines.append(f"{'mean of banks' if kind == 'all' else '':<14} {kind:<12} {banks:>3}b " + " | ".join(
            _triple(_mean(cells[m])) for m in methods))
    lines += ["", "recall@k: share of queries with a relevant item in the top k; MRR: mean of 1/rank of the first",
              f"relevant item (0 beyond the top {DEPTH}); n: queries; 'mean of banks': the unweighted mean over the "
              "banks (b) that have the kind.", "",
              f"The relevance cue (fused; '{STRONG}' counted over the top {CUE_HITS} hits of every query)",
              f"{'bank':<14} {'off-topic told no close':>24} {'bank queries told so':>21} "
              f"{'strong hits relevant':>21} {'first hit strong':>17}"]
    for result in report.results:
        cues = result.cues
        lines.append(f"{result.name:<14} {_share(cues.off_topic_told_none, cues.off_topic_queries):>24} "
                     f"{_share(cues.bank_told_none, cues.bank_queries):>21} "
                     f"{_share(cues.strong_relevant, cues.strong_hits):>21} "
                     f"{_share(cues.strong_first, cues.bank_queries):>17}")
    lines += ["", "Fitted without the bank (qakb.fitting, on the other banks' held-out, dev and off-topic sets;",
              "two fits where it shares an off-topic set, each scoring the queries the other trained on):",
              f"{'bank':<14} {'bm25_weight':>11} {'passage_weight':>14} {'no close below':>16} {'strong from':>15}"]
    for result in report.results:
        first = result.constants[0]
        lines.append(f"{result.name:<14} {first.bm25_weight:>11} {first.passage_weight:>14} "
                     f"{' / '.join(f'{c.no_match_below:.3f}' for c in result.constants):>16} "
                     f"{' / '.join(f'{c.cue_levels[0][0]:.3f}' for c in result.constants):>15}"
                     + ("  (the engine's own: no other bank with labelled and off-topic queries to fit on)"
                        if not first.fitted_on else ""))
    if any(r.tuned for r in report.results):
        lines.append("* the engine's other settings (the static encoder's) were chosen on this bank's dev set.")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def _triple(cell: Cell | None) -> str:
    if cell is None:
        return f"{'-':^17}"
    return f"{cell.recall_at_1:.3f} {cell.recall_at_5:.3f} {cell.mrr:.3f}"


def _mean(cells: list[Cell]) -> Cell | None:
    if not cells:
        return None
    count = len(cells)
    return Cell(cells[0].method, cells[0].kind, sum(c.queries for c in cells),
                sum(c.recall_at_1 for c in cells) / count, sum(c.recall_at_5 for c in cells) / count,
                sum(c.mrr for c in cells) / count)


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} {part / whole:.3f}" if whole else "-"


def report_json(report: Report) -> str:
    return json.dumps({"results": [asdict(result) for result in report.results], "notes": report.notes}, indent=2)
